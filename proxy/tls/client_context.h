// The client side of TLS to one upstream: an SSL_CTX with its trust store, verification and
// client certificate, and a per-server slot that keeps the last session for resumption.
#pragma once

#include <openssl/ssl.h>

#include <deque>
#include <memory>
#include <string>

#include "config/config.h"
#include "proxy/tls/config_report.h"

namespace edge::tls {

// The sessions (tickets) a server gave us, each offered once on a later connection to it.
// Owned by one worker (its upstream pool), so no lock.
class ClientSessionSlot {
 public:
  static constexpr size_t kMaxSessions = 4;

  ClientSessionSlot() = default;
  ~ClientSessionSlot();
  ClientSessionSlot(const ClientSessionSlot&) = delete;
  ClientSessionSlot& operator=(const ClientSessionSlot&) = delete;

  // Offers the newest kept session (if any) on a new connection, whose new sessions come here.
  void resume(SSL* ssl);
  // Takes a reference to `session` (the context's new-session callback).
  void keep(SSL_SESSION* session);

 private:
  std::deque<SSL_SESSION*> sessions_;  // back: newest
};

class ClientContext {
 public:
  // Problems go to `report` with their place in the config file; null when there were any.
  static std::shared_ptr<const ClientContext> build(const config::UpstreamConfig& upstream,
                                                    const std::string& file,
                                                    ConfigReport& report);
  ~ClientContext();
  ClientContext(const ClientContext&) = delete;
  ClientContext& operator=(const ClientContext&) = delete;

  // A new client SSL for `server`: SNI and the name verified are the configured server name,
  // else the upstream's Host rewrite, else the server's host.
  SSL* newConnection(const config::HostPort& server) const;

 private:
  ClientContext(SSL_CTX* ctx, const config::UpstreamConfig& upstream);

  SSL_CTX* ctx_;
  const bool verify_;
  const std::string server_name_;  // may be empty: each server's host then
};

}  // namespace edge::tls
