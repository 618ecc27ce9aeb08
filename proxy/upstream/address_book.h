// Where each upstream server is, and whether active checks find it healthy. A server's name
// may resolve to several addresses; each is a target of its own. The main thread is the only
// writer: it publishes a new immutable address set when a name resolves differently, and the
// health of each address as checks pass or fail. Workers read both without locks: one atomic
// flag per server when the balancer picks, one atomic shared_ptr load when they connect.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "proxy/upstream/balancer.h"

namespace edge::upstream {

// The active health of one address; servers start healthy.
struct TargetHealth {
  std::atomic<bool> healthy{true};
};

struct Target {
  sockaddr_storage address;
  std::shared_ptr<TargetHealth> health;  // carried over while the address stays resolved
};

using AddressSet = std::vector<Target>;  // never changed once published
using AddressSetPtr = std::shared_ptr<const AddressSet>;

class ServerAddresses {
 public:
  explicit ServerAddresses(AddressSetPtr initial);

  AddressSetPtr current() const { return set_.load(std::memory_order_acquire); }
  // Main thread: a new set (health objects of kept addresses carried over by the caller).
  void publish(AddressSetPtr set);
  // Main thread: after a target's health changed.
  void refreshHealth();

  // Any address actively healthy (true while no check has failed).
  bool healthy() const { return any_healthy_.load(std::memory_order_relaxed); }
  // The address to connect to: round-robin over the healthy ones, over all when none is.
  sockaddr_storage pick();

 private:
  std::atomic<AddressSetPtr> set_;
  std::atomic<bool> any_healthy_{true};
  std::atomic<uint32_t> next_{0};
};

// One upstream's servers, in config order; the balancer's view of their health.
class UpstreamAddresses final : public ServerHealthView {
 public:
  explicit UpstreamAddresses(std::vector<AddressSetPtr> initial);

  size_t size() const { return servers_.size(); }
  ServerAddresses& server(size_t index) { return *servers_[index]; }
  const ServerAddresses& server(size_t index) const { return *servers_[index]; }
  bool healthy(size_t server) const override { return servers_[server]->healthy(); }

 private:
  std::vector<std::unique_ptr<ServerAddresses>> servers_;
};

class AddressBook {
 public:
  void add(std::vector<AddressSetPtr> servers) {
    upstreams_.push_back(std::make_unique<UpstreamAddresses>(std::move(servers)));
  }
  size_t size() const { return upstreams_.size(); }
  UpstreamAddresses& upstream(size_t index) { return *upstreams_[index]; }
  const UpstreamAddresses& upstream(size_t index) const { return *upstreams_[index]; }

 private:
  std::vector<std::unique_ptr<UpstreamAddresses>> upstreams_;
};

// A set of fresh targets for `addresses`, reusing the health of those already in `previous`.
AddressSetPtr makeAddressSet(const std::vector<sockaddr_storage>& addresses,
                             const AddressSet* previous);

// Same family, address and port.
bool sameAddress(const sockaddr_storage& a, const sockaddr_storage& b);

}  // namespace edge::upstream
