// How many CPUs this process may use, for `workers: auto`: the CPUs of its affinity mask,
// capped by the cgroup CPU quota (v2 cpu.max, or v1 cpu.cfs_quota_us / cpu.cfs_period_us)
// rounded up, and at least 1. The parsing is pure; usableCpus() reads the system.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace edge::cpu {

// cgroup v2 cpu.max ("max 100000" or "150000 100000"): the quota in CPUs; nullopt for no
// limit or text that is not a quota.
std::optional<double> quotaFromCpuMax(std::string_view text);
// cgroup v1 cpu.cfs_quota_us and cpu.cfs_period_us: -1 means no limit.
std::optional<double> quotaFromCfs(std::string_view quota_us, std::string_view period_us);
// The cgroup v2 path of this process from /proc/self/cgroup ("0::/a/b" -> "/a/b").
std::optional<std::string> cgroupV2Path(std::string_view proc_self_cgroup);
// min(affinity, ceil(quota)), at least 1; affinity 0 means unknown (then 1 unless a quota).
unsigned workerCount(unsigned affinity_cpus, std::optional<double> quota_cpus);

struct CpuLimit {
  unsigned affinity = 0;        // CPUs in the affinity mask
  std::optional<double> quota;  // CPUs the cgroup quota allows
  unsigned workers = 1;
};
// Reads sched_getaffinity and the cgroup files of this process.
CpuLimit usableCpus();

}  // namespace edge::cpu
