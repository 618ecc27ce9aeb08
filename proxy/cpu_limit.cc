#include "proxy/cpu_limit.h"

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace edge::cpu {
namespace {

std::string_view trim(std::string_view text) {
  const size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) {
    return {};
  }
  const size_t end = text.find_last_not_of(" \t\r\n");
  return text.substr(begin, end - begin + 1);
}

// A whole number written in decimal digits only, or -1; nullopt otherwise.
std::optional<long long> integer(std::string_view text) {
  text = trim(text);
  const bool negative = !text.empty() && text.front() == '-';
  const std::string_view digits = negative ? text.substr(1) : text;
  if (digits.empty() || digits.size() > 18 ||
      digits.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  const long long value = std::atoll(std::string(digits).c_str());
  return negative ? -value : value;
}

std::optional<double> ratio(std::optional<long long> quota, std::optional<long long> period) {
  if (!quota || !period || *quota <= 0 || *period <= 0) {
    return std::nullopt;
  }
  return static_cast<double>(*quota) / static_cast<double>(*period);
}

std::optional<std::string> readFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::optional<double> minQuota(std::optional<double> a, std::optional<double> b) {
  if (!a) {
    return b;
  }
  return b ? std::min(*a, *b) : a;
}

// The tightest cpu.max from this process's cgroup up to the root of the mounted hierarchy.
std::optional<double> cgroupV2Quota() {
  std::optional<double> quota;
  std::string path;
  if (const auto self = readFile("/proc/self/cgroup")) {
    path = cgroupV2Path(*self).value_or("");
  }
  while (true) {
    if (const auto text = readFile("/sys/fs/cgroup" + path + "/cpu.max")) {
      quota = minQuota(quota, quotaFromCpuMax(*text));
    }
    if (path.empty() || path == "/") {
      break;
    }
    path.erase(path.rfind('/'));
  }
  return quota;
}

std::optional<double> cgroupV1Quota() {
  for (const char* dir : {"/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/cpu"}) {
    const auto quota = readFile(std::string(dir) + "/cpu.cfs_quota_us");
    const auto period = readFile(std::string(dir) + "/cpu.cfs_period_us");
    if (quota && period) {
      return quotaFromCfs(*quota, *period);
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<double> quotaFromCpuMax(std::string_view text) {
  text = trim(text);
  const size_t space = text.find(' ');
  if (space == std::string_view::npos) {
    return std::nullopt;
  }
  const std::string_view quota = text.substr(0, space);
  if (quota == "max") {
    return std::nullopt;
  }
  return ratio(integer(quota), integer(text.substr(space + 1)));
}

std::optional<double> quotaFromCfs(std::string_view quota_us, std::string_view period_us) {
  return ratio(integer(quota_us), integer(period_us));
}

std::optional<std::string> cgroupV2Path(std::string_view proc_self_cgroup) {
  size_t start = 0;
  while (start < proc_self_cgroup.size()) {
    size_t end = proc_self_cgroup.find('\n', start);
    if (end == std::string_view::npos) {
      end = proc_self_cgroup.size();
    }
    const std::string_view line = proc_self_cgroup.substr(start, end - start);
    if (line.starts_with("0::")) {
      std::string path(trim(line.substr(3)));
      if (!path.empty() && path.front() == '/') {
        while (path.size() > 1 && path.back() == '/') {
          path.pop_back();
        }
        return path == "/" ? std::string() : path;
      }
    }
    start = end + 1;
  }
  return std::nullopt;
}

unsigned workerCount(unsigned affinity_cpus, std::optional<double> quota_cpus) {
  unsigned count = affinity_cpus;
  if (quota_cpus) {
    // A quota of 1.5 CPUs keeps two threads busy part of the time: round up.
    const double cap = std::ceil(*quota_cpus - 1e-9);
    const unsigned limit = cap < 1.0 ? 1u : static_cast<unsigned>(std::min(cap, 65536.0));
    count = count == 0 ? limit : std::min(count, limit);
  }
  return std::max(1u, count);
}

CpuLimit usableCpus() {
  CpuLimit limit;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    limit.affinity = static_cast<unsigned>(CPU_COUNT(&set));
  } else {
    limit.affinity = std::thread::hardware_concurrency();
  }
  limit.quota = minQuota(cgroupV2Quota(), cgroupV1Quota());
  limit.workers = workerCount(limit.affinity, limit.quota);
  return limit;
}

}  // namespace edge::cpu
