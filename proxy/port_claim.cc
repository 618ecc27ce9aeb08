#include "proxy/port_claim.h"

#include <netinet/in.h>
#include <openssl/evp.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "proxy/log.h"

namespace edge::net {
namespace {

constexpr std::string_view kPrefix = "edge-proxy/";

socklen_t addressLength(const sockaddr_storage& addr) {
  return addr.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
}

std::string readProcNetUnix() {
  std::ifstream file("/proc/net/unix");
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

}  // namespace

std::string claimName(std::string_view address, std::string_view digest, pid_t pid) {
  std::string name(kPrefix);
  name.append(address).append("/").append(digest).append("/").append(std::to_string(pid));
  return name;
}

std::vector<std::string> abstractSocketNames(std::string_view text) {
  std::vector<std::string> names;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    const std::string_view line = text.substr(start, end - start);
    start = end + 1;
    // The path is the last column; an abstract one starts with '@'.
    const size_t at = line.find(" @");
    if (at != std::string_view::npos) {
      names.emplace_back(line.substr(at + 2));
    }
  }
  return names;
}

std::optional<std::string> shareProblem(const std::vector<std::string>& names,
                                        std::string_view address, std::string_view digest) {
  std::string prefix(kPrefix);
  prefix.append(address).append("/");
  bool same_config = false;
  for (const std::string& name : names) {
    if (name.compare(0, prefix.size(), prefix) != 0) {
      continue;
    }
    const std::string_view rest = std::string_view(name).substr(prefix.size());
    const size_t slash = rest.find('/');
    const std::string_view their_digest = rest.substr(0, slash);
    const std::string_view pid =
        slash == std::string_view::npos ? std::string_view("?") : rest.substr(slash + 1);
    if (their_digest != digest) {
      return "already in use by another edge-proxy (pid " + std::string(pid) +
             ") running a different configuration; stop it first (a binary upgrade shares "
             "ports only between processes with the same configuration)";
    }
    same_config = true;
  }
  if (!same_config) {
    return std::string("already in use by another program");
  }
  return std::nullopt;
}

bool addressInUse(const sockaddr_storage& addr) {
  int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return false;
  }
  int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);  // TIME_WAIT is not "in use"
  if (addr.ss_family == AF_INET6) {
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
  }
  const bool in_use = ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), addressLength(addr)) != 0 &&
                      errno == EADDRINUSE;
  ::close(fd);
  return in_use;
}

bool maySharePort(const sockaddr_storage& addr, std::string_view address,
                  std::string_view digest, std::string& error) {
  if (!addressInUse(addr)) {
    return true;
  }
  if (auto problem = shareProblem(abstractSocketNames(readProcNetUnix()), address, digest)) {
    error = std::move(*problem);
    return false;
  }
  std::ifstream migrate("/proc/sys/net/ipv4/tcp_migrate_req");
  int value = 0;
  if (migrate >> value && value == 0) {
    EDGE_LOG_WARN("listen %.*s: sharing the port with the running edge-proxy; set "
                  "net.ipv4.tcp_migrate_req=1 so that connections queued on its sockets when it "
                  "stops move here instead of being reset",
                  static_cast<int>(address.size()), address.data());
  }
  return true;
}

PortClaim PortClaim::make(std::string_view address, std::string_view digest) {
  PortClaim claim;
  const std::string name = claimName(address, digest, ::getpid());
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  if (name.size() + 1 > sizeof un.sun_path) {
    EDGE_LOG_WARN("listen %.*s: claim name too long; port sharing is not checked",
                  static_cast<int>(address.size()), address.data());
    return claim;
  }
  std::memcpy(un.sun_path + 1, name.data(), name.size());  // sun_path[0] = 0: abstract
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::bind(fd, reinterpret_cast<const sockaddr*>(&un), len) != 0) {
    EDGE_LOG_WARN("listen %.*s: cannot claim the address (%s); port sharing is not checked",
                  static_cast<int>(address.size()), address.data(), std::strerror(errno));
    if (fd >= 0) {
      ::close(fd);
    }
    return claim;
  }
  claim.fd_ = fd;
  return claim;
}

PortClaim::PortClaim(PortClaim&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

PortClaim& PortClaim::operator=(PortClaim&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) {
      ::close(fd_);
    }
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

PortClaim::~PortClaim() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

std::string configDigest(std::string_view text) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < 8 && i < len; ++i) {
    hex.push_back(kHex[md[i] >> 4]);
    hex.push_back(kHex[md[i] & 15]);
  }
  return hex;
}

}  // namespace edge::net
