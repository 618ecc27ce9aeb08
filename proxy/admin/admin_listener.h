// The admin API's own listener on the main thread's loop: one uv_tcp_t, short-lived
// connections (one request each, then closed), answers from AdminApi. It never sees proxied
// traffic and proxied listeners never see it.
//
// Ownership: open() returns the listener; close() stops it and closes every connection. The
// listener is deleted in its handle's close callback; each connection deletes itself when its
// socket reports onSocketClosed.
#pragma once

#include <uv.h>

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/invalidation_config.h"
#include "proxy/admin/admin_api.h"
#include "proxy/port_claim.h"

namespace edge::admin {

class AdminConn;

class AdminListener {
 public:
  // Binds and listens; null with `error` set on failure.
  // `digest`: the config's identity for port sharing (see proxy/port_claim.h).
  static AdminListener* open(uv_loop_t* loop, const config::AdminConfig& config, AdminApi& api,
                             std::string_view digest, std::string& error);
  void close();
  uint16_t port() const { return port_; }

 private:
  friend class AdminConn;
  AdminListener(uv_loop_t* loop, const config::AdminConfig& config, AdminApi& api)
      : loop_(loop), config_(config), api_(api) {}
  ~AdminListener() = default;
  static void onConnection(uv_stream_t* server, int status);

  uv_loop_t* loop_;
  const config::AdminConfig config_;
  AdminApi& api_;
  uv_tcp_t tcp_{};
  uint16_t port_ = 0;
  net::PortClaim claim_;
  std::set<AdminConn*> conns_;
  // Every connection reads into it; a read is handled before the next one.
  std::vector<char> read_buffer_ = std::vector<char>(64 * 1024);
};

}  // namespace edge::admin
