// One connection to an upstream server, with its response parser and timers. It is either
// connecting, serving one exchange for a handler, or idle in the worker's pool. It dies only
// through close(): its socket closes, and the connection deletes itself when the socket
// reports onSocketClosed. A handler that goes away calls abandon() and never hears from the
// connection again.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "lib/http/response_parser.h"
#include "proxy/net/connection_timer.h"
#include "config/config.h"
#include "proxy/net/socket.h"

namespace edge {
class Worker;
namespace tls {
class TlsSocket;
}
}

namespace edge::upstream {

class UpstreamPool;

struct UpstreamFailure {
  enum class Kind {
    ConnectFailed,     // refused, unreachable: nothing was sent
    ConnectTimeout,    // nothing was sent
    TlsFailed,         // connected, but the TLS handshake failed: nothing was sent
    ClosedBeforeResponse,  // closed or reset before any response byte
    FirstByteTimeout,
    IdleTimeout,       // stalled mid-exchange
    BadResponse,       // unparseable or over the limits
    ClosedMidResponse, // truncated body or head
  };
  Kind kind;
  std::string detail;
};

class UpstreamHandler {
 public:
  virtual ~UpstreamHandler() = default;
  virtual void onUpstreamReady() = 0;  // connected: the request may be written now
  virtual void onUpstreamHead(http::ResponseHead&& head) = 0;
  virtual void onUpstreamBody(const char* data, size_t len) = 0;
  // Response complete. The connection has left the handler (pooled or closing) on return.
  virtual void onUpstreamEnd() = 0;
  virtual void onUpstreamReadBatchDone() = 0;  // end of one socket read: a flush point
  virtual void onUpstreamWritable() = 0;       // request bytes drained below the low mark
  // The connection is closing; the handler must drop its pointer.
  virtual void onUpstreamFailure(const UpstreamFailure& failure) = 0;
  // A tunnel (after a 101): the server ended its side (UV_EOF) or the connection broke. The
  // connection stays open until the handler closes it (abandon()).
  virtual void onUpstreamTunnelEnd(int /*status*/) {}
};

class UpstreamConn : private http::ResponseSink, private net::SocketHandler {
 public:
  static constexpr size_t kHighWater = 256 * 1024;
  static constexpr size_t kLowWater = 64 * 1024;

  // Starts connecting; the handler hears onUpstreamReady or onUpstreamFailure. Null when the
  // connect could not even start (the handler hears nothing).
  static UpstreamConn* connect(Worker& worker, std::shared_ptr<UpstreamPool> pool, size_t server,
                               const sockaddr_storage& address, UpstreamHandler& handler);

  // For a connection taken from the pool.
  void attach(UpstreamHandler& handler);
  // Resets the parser for a new exchange; call before writing the request. `upgrade`: the
  // request offers a protocol upgrade, so a 101 turns the connection into a tunnel.
  void beginExchange(bool head_request, bool upgrade = false);
  // After a 101: every byte read goes to onUpstreamBody, HTTP is over on this connection and
  // no timer runs (the tunnel has its own). Called from the 101 head's callback.
  void becomeTunnel(UpstreamHandler& handler);
  // A tunnel whose client ended its side: end ours once everything queued is sent.
  void shutdownWrite();
  // Sent at once when the socket takes it (try-write), queued otherwise.
  void write(std::string&& bytes);
  // True above the high mark; the handler hears onUpstreamWritable below the low mark.
  bool congested() const { return socket_->congested(); }
  // The whole request is written (or queued): the first-byte timeout starts.
  void requestSent();
  void pauseReading();
  void resumeReading();
  // The handler goes away mid-exchange: the connection cannot be reused.
  void abandon();
  // Idle in the pool: the pool closes it when it is no longer wanted.
  void close();

  bool reused() const { return exchanges_ > 1; }
  bool responseStarted() const { return parser_.started(); }
  size_t serverIndex() const { return server_; }
  const sockaddr_storage& address() const { return address_; }

 private:
  enum class State { Connecting, Active, Idle, Tunnel, Closed };
  enum class TimerKind { None, Connect, FirstByte, Idle, PoolIdle };

  UpstreamConn(Worker& worker, std::shared_ptr<UpstreamPool> pool, size_t server,
               const sockaddr_storage& address);
  const config::UpstreamConfig& config() const;
  ~UpstreamConn() override = default;

  // SocketHandler
  void onSocketConnected(int status) override;
  void onSocketData(const char* data, size_t len) override;
  void onSocketReadEnd(int status) override;
  void onSocketWritable() override;
  void onSocketWriteProgress() override;
  void onSocketWriteError(int status) override;
  void onSocketClosed() override;

  void onTimer(TimerKind kind);
  void startIdleTimer();
  void fail(UpstreamFailure::Kind kind, std::string detail);
  void finishExchange(bool reusable);
  void startReading();

  // ResponseSink
  void onResponseHead(http::ResponseHead&& head) override;
  void onResponseBody(const char* data, size_t len) override;
  void onResponseEnd() override;

  Worker& worker_;
  // The pool it belongs to; it also holds the config snapshot its settings come from.
  const std::shared_ptr<UpstreamPool> pool_;
  const size_t server_;
  const sockaddr_storage address_;
  tls::TlsSocket* tls_socket_ = nullptr;  // socket_ itself for a TLS upstream (set first)
  net::Socket* socket_;  // frees itself after onSocketClosed
  net::ConnectionTimer<TimerKind> timer_;
  State state_ = State::Connecting;
  UpstreamHandler* handler_ = nullptr;
  http::ResponseParser parser_;
  bool read_paused_ = false;
  bool request_sent_ = false;
  bool response_done_ = false;
  bool keep_alive_ = false;
  bool write_failed_ = false;
  uint64_t exchanges_ = 0;
  std::string write_error_;
};

}  // namespace edge::upstream
