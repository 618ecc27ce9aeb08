// Per-worker counters of connection events that are not requests: client connections (open
// now, accepted), TLS handshakes (done,
// resumed, failed by reason) and Upgrade tunnels (open now, opened, refused). One writer per
// counter (the worker's thread); the admin API sums the workers' on read.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proxy/worker_counter.h"

namespace edge {

enum class TlsFailure { Timeout, Protocol, PlainHttp, UnknownSni, ClientCert, Other };
inline constexpr size_t kTlsFailureCount = static_cast<size_t>(TlsFailure::Other) + 1;

// "timeout", "protocol", "plain_http", "unknown_sni", "client_cert", "other".
std::string_view tlsFailureName(TlsFailure failure);

struct ConnectionTotals {
  uint64_t connections_open = 0;
  uint64_t connections_accepted = 0;
  uint64_t tls_handshakes = 0;
  uint64_t tls_resumed = 0;
  std::array<uint64_t, kTlsFailureCount> tls_failures{};
  uint64_t tunnels_open = 0;
  uint64_t tunnels_opened = 0;
  uint64_t tunnels_refused = 0;

  ConnectionTotals& operator+=(const ConnectionTotals& other);
};

class alignas(64) ConnectionCounters {
 public:
  // The owning worker's thread only.
  void connectionOpened() {
    add(connections_accepted_, 1);
    add(connections_open_, 1);
  }
  void connectionClosed() { add(connections_open_, static_cast<uint64_t>(-1)); }
  void handshakeDone(bool resumed) {
    add(tls_handshakes_, 1);
    if (resumed) {
      add(tls_resumed_, 1);
    }
  }
  void handshakeFailed(TlsFailure failure) {
    add(tls_failures_[static_cast<size_t>(failure)], 1);
  }
  void tunnelOpened() {
    add(tunnels_opened_, 1);
    add(tunnels_open_, 1);
  }
  void tunnelClosed() { add(tunnels_open_, static_cast<uint64_t>(-1)); }
  void tunnelRefused() { add(tunnels_refused_, 1); }
  // Upgrade requests waiting for their answer hold a place under the limit, so several made at
  // once cannot all pass it. Worker thread only.
  void tunnelReserved() { ++tunnels_reserved_; }
  void tunnelReleased() { --tunnels_reserved_; }
  uint64_t tunnelsOpenOrReserved() const {
    return tunnels_open_.load(std::memory_order_relaxed) + tunnels_reserved_;
  }

  // Any thread.
  ConnectionTotals read() const;

 private:
  using Counter = WorkerCounter;
  static void add(Counter& counter, uint64_t n) { addOnOwner(counter, n); }

  Counter connections_open_{0};
  Counter connections_accepted_{0};
  Counter tls_handshakes_{0};
  Counter tls_resumed_{0};
  std::array<Counter, kTlsFailureCount> tls_failures_{};
  Counter tunnels_open_{0};
  Counter tunnels_opened_{0};
  Counter tunnels_refused_{0};
  uint64_t tunnels_reserved_ = 0;
};

}  // namespace edge
