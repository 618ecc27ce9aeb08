#include "proxy/connection_counters.h"

namespace edge {

std::string_view tlsFailureName(TlsFailure failure) {
  switch (failure) {
    case TlsFailure::Timeout:
      return "timeout";
    case TlsFailure::Protocol:
      return "protocol";
    case TlsFailure::PlainHttp:
      return "plain_http";
    case TlsFailure::UnknownSni:
      return "unknown_sni";
    case TlsFailure::ClientCert:
      return "client_cert";
    case TlsFailure::Other:
      break;
  }
  return "other";
}

ConnectionTotals& ConnectionTotals::operator+=(const ConnectionTotals& other) {
  connections_open += other.connections_open;
  connections_accepted += other.connections_accepted;
  tls_handshakes += other.tls_handshakes;
  tls_resumed += other.tls_resumed;
  for (size_t i = 0; i < kTlsFailureCount; ++i) {
    tls_failures[i] += other.tls_failures[i];
  }
  tunnels_open += other.tunnels_open;
  tunnels_opened += other.tunnels_opened;
  tunnels_refused += other.tunnels_refused;
  return *this;
}

ConnectionTotals ConnectionCounters::read() const {
  auto load = [](const Counter& c) { return c.load(std::memory_order_relaxed); };
  ConnectionTotals totals;
  totals.connections_open = load(connections_open_);
  totals.connections_accepted = load(connections_accepted_);
  totals.tls_handshakes = load(tls_handshakes_);
  totals.tls_resumed = load(tls_resumed_);
  for (size_t i = 0; i < kTlsFailureCount; ++i) {
    totals.tls_failures[i] = load(tls_failures_[i]);
  }
  totals.tunnels_open = load(tunnels_open_);
  totals.tunnels_opened = load(tunnels_opened_);
  totals.tunnels_refused = load(tunnels_refused_);
  return totals;
}

}  // namespace edge
