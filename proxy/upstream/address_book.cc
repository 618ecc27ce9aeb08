#include "proxy/upstream/address_book.h"

#include <netinet/in.h>

#include <cstring>

namespace edge::upstream {

ServerAddresses::ServerAddresses(AddressSetPtr initial) : set_(std::move(initial)) {}

void ServerAddresses::publish(AddressSetPtr set) {
  set_.store(std::move(set), std::memory_order_release);
  refreshHealth();
}

void ServerAddresses::refreshHealth() {
  const AddressSetPtr set = current();
  bool any = false;
  for (const Target& target : *set) {
    any = any || target.health->healthy.load(std::memory_order_relaxed);
  }
  any_healthy_.store(any, std::memory_order_relaxed);
}

sockaddr_storage ServerAddresses::pick() {
  const AddressSetPtr set = current();
  const size_t n = set->size();
  const uint32_t start = next_.fetch_add(1, std::memory_order_relaxed);
  for (size_t step = 0; step < n; ++step) {
    const Target& target = (*set)[(start + step) % n];
    if (target.health->healthy.load(std::memory_order_relaxed)) {
      return target.address;
    }
  }
  return (*set)[start % n].address;
}

UpstreamAddresses::UpstreamAddresses(std::vector<AddressSetPtr> initial) {
  for (AddressSetPtr& set : initial) {
    servers_.push_back(std::make_unique<ServerAddresses>(std::move(set)));
  }
}

bool sameAddress(const sockaddr_storage& a, const sockaddr_storage& b) {
  if (a.ss_family != b.ss_family) {
    return false;
  }
  if (a.ss_family == AF_INET) {
    const auto& x = reinterpret_cast<const sockaddr_in&>(a);
    const auto& y = reinterpret_cast<const sockaddr_in&>(b);
    return x.sin_port == y.sin_port && x.sin_addr.s_addr == y.sin_addr.s_addr;
  }
  if (a.ss_family == AF_INET6) {
    const auto& x = reinterpret_cast<const sockaddr_in6&>(a);
    const auto& y = reinterpret_cast<const sockaddr_in6&>(b);
    return x.sin6_port == y.sin6_port && x.sin6_scope_id == y.sin6_scope_id &&
           std::memcmp(&x.sin6_addr, &y.sin6_addr, sizeof x.sin6_addr) == 0;
  }
  return std::memcmp(&a, &b, sizeof a) == 0;
}

AddressSetPtr makeAddressSet(const std::vector<sockaddr_storage>& addresses,
                             const AddressSet* previous) {
  auto set = std::make_shared<AddressSet>();
  for (const sockaddr_storage& address : addresses) {
    std::shared_ptr<TargetHealth> health;
    if (previous != nullptr) {
      for (const Target& old : *previous) {
        if (sameAddress(old.address, address)) {
          health = old.health;
        }
      }
    }
    set->push_back(Target{address, health ? health : std::make_shared<TargetHealth>()});
  }
  return set;
}

}  // namespace edge::upstream
