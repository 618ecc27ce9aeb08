// Who may share a listening port. SO_REUSEPORT lets a second process bind the proxy's ports,
// and the kernel then splits new connections between the two: right for a binary upgrade (the
// new binary starts on the same ports, then the old one is stopped), wrong when the second
// process runs another config, or is another program altogether.
//
// So every listening address is claimed with an abstract Unix socket named after the address,
// a digest of the config and the process id (they show in /proc/net/unix, per network
// namespace, and vanish with the process). Before binding an address that something already
// listens on, the proxy reads the claims: it shares only with edge-proxy processes whose
// config digest is its own.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace edge::net {

// "edge-proxy/127.0.0.1:8080/<digest>/<pid>" (the abstract name, without its leading NUL).
std::string claimName(std::string_view address, std::string_view digest, pid_t pid);

// The abstract socket names ("@..." in the Path column, without the '@') in the text of
// /proc/net/unix.
std::vector<std::string> abstractSocketNames(std::string_view proc_net_unix);

// Why `address` (already listened on by someone) must not be shared by a process whose config
// digest is `digest`, given the claims in `names`; nullopt when it may be.
std::optional<std::string> shareProblem(const std::vector<std::string>& names,
                                        std::string_view address, std::string_view digest);

// True when a socket without SO_REUSEPORT cannot bind `addr`: someone listens there.
bool addressInUse(const sockaddr_storage& addr);

// Checks that `addr` (printed as `address`) is free or shared only with the same config;
// false with `error` otherwise.
bool maySharePort(const sockaddr_storage& addr, std::string_view address,
                  std::string_view digest, std::string& error);

// One claim, held for as long as the listener lives.
class PortClaim {
 public:
  PortClaim() = default;
  // Binds the claim's abstract socket; an empty claim (and a logged warning) when it cannot.
  static PortClaim make(std::string_view address, std::string_view digest);
  PortClaim(PortClaim&& other) noexcept;
  PortClaim& operator=(PortClaim&& other) noexcept;
  PortClaim(const PortClaim&) = delete;
  PortClaim& operator=(const PortClaim&) = delete;
  ~PortClaim();

 private:
  int fd_ = -1;
};

// The SHA-256 of `text` in hex, first 16 digits: a config's identity in claims.
std::string configDigest(std::string_view text);

}  // namespace edge::net
