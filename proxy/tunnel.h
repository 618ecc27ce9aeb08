// A byte tunnel between a client connection and an upstream connection after a 101 Switching
// Protocols: bytes each way as they come, with backpressure both ways (a side whose peer is
// behind stops reading), and half-close carried across (an end of input on one side ends the
// other side's output; the tunnel is over when both have ended, or at the first error).
// Owned by the client connection, which keeps its socket and hands the tunnel its events; the
// upstream connection is the tunnel's until stop() abandons it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

#include "proxy/net/socket.h"
#include "proxy/upstream/upstream_conn.h"
#include "proxy/worker.h"

namespace edge {

class TunnelOwner {
 public:
  virtual ~TunnelOwner() = default;
  virtual void onTunnelActivity() = 0;  // bytes moved: the idle timeout starts again
  // Both sides ended (`clean`), or one broke: close. `client_write_shut`: the tunnel already
  // shut the client's write side down (the server ended first).
  virtual void onTunnelOver(bool clean, bool client_write_shut) = 0;
};

class Tunnel final : public Deferred, private upstream::UpstreamHandler {
 public:
  // Takes over `upstream` (from the 101's callback).
  // `on_close` (may be empty) hears the bytes from and to the client when the tunnel ends.
  Tunnel(net::Socket& client, upstream::UpstreamConn& upstream, TunnelOwner& owner,
         ConnectionCounters& counters, std::function<void(uint64_t, uint64_t)> on_close);
  ~Tunnel() override;
  Tunnel(const Tunnel&) = delete;
  Tunnel& operator=(const Tunnel&) = delete;

  // From the client connection's socket.
  void fromClient(const char* data, size_t len);
  void clientEnded(int status);
  void clientWritable();
  // Closes the upstream side now; the tunnel hears nothing more.
  void stop();

 private:
  // UpstreamHandler
  void onUpstreamReady() override {}
  void onUpstreamHead(http::ResponseHead&&) override {}
  void onUpstreamBody(const char* data, size_t len) override;
  void onUpstreamEnd() override {}
  void onUpstreamReadBatchDone() override;
  void onUpstreamWritable() override;
  void onUpstreamFailure(const upstream::UpstreamFailure& failure) override;
  void onUpstreamTunnelEnd(int status) override;

  void over(bool clean);

  net::Socket& client_;
  upstream::UpstreamConn* upstream_;  // null once stopped
  TunnelOwner& owner_;
  ConnectionCounters& counters_;
  std::function<void(uint64_t, uint64_t)> on_close_;
  uint64_t from_client_ = 0;
  uint64_t to_client_ = 0;
  bool client_ended_ = false;
  bool upstream_ended_ = false;
  bool client_write_shut_ = false;
  bool client_paused_ = false;    // the upstream is not taking the client's bytes
  bool upstream_paused_ = false;  // the client is not taking the upstream's bytes
};

}  // namespace edge
