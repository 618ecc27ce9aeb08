// One TCP connection to an upstream server, with its response parser and timers. It is either
// connecting, serving one exchange for a handler, or idle in the worker's pool. It dies only
// through close() -> uv_close -> delete in the last close callback; a handler that goes away
// calls abandon() and never hears from the connection again.
#pragma once

#include <uv.h>

#include <cstdint>
#include <string>

#include "lib/http/response_parser.h"

namespace edge {
class Worker;
}

namespace edge::upstream {

struct UpstreamFailure {
  enum class Kind {
    ConnectFailed,     // refused, unreachable: nothing was sent
    ConnectTimeout,    // nothing was sent
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
};

class UpstreamConn : private http::ResponseSink {
 public:
  static constexpr size_t kHighWater = 256 * 1024;
  static constexpr size_t kLowWater = 64 * 1024;

  // Starts connecting; the handler hears onUpstreamReady or onUpstreamFailure. Null when the
  // connect could not even start (the handler hears nothing).
  static UpstreamConn* connect(Worker& worker, size_t upstream, size_t server,
                               UpstreamHandler& handler);

  // For a connection taken from the pool.
  void attach(UpstreamHandler& handler);
  // Resets the parser for a new exchange; call before writing the request.
  void beginExchange(bool head_request);
  void write(std::string&& bytes);
  size_t writeQueueSize() const;
  bool congested() const { return writeQueueSize() > kHighWater; }
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
  size_t upstreamIndex() const { return upstream_; }
  size_t serverIndex() const { return server_; }

 private:
  enum class State { Connecting, Active, Idle, Closed };
  enum class TimerKind { None, Connect, FirstByte, Idle, PoolIdle };

  UpstreamConn(Worker& worker, size_t upstream, size_t server);
  ~UpstreamConn() = default;

  void onConnect(int status);
  void onRead(ssize_t nread, const uv_buf_t* buf);
  void onReadData(const char* data, size_t len);
  void onReadEnd(ssize_t status);
  void onWriteDone(int status);
  void onTimer();
  void fail(UpstreamFailure::Kind kind, std::string detail);
  void finishExchange(bool reusable);
  void startTimer(TimerKind kind, uint64_t ms);
  void startReading();

  // ResponseSink
  void onResponseHead(http::ResponseHead&& head) override;
  void onResponseBody(const char* data, size_t len) override;
  void onResponseEnd() override;

  Worker& worker_;
  const size_t upstream_;
  const size_t server_;
  uv_tcp_t tcp_{};
  uv_timer_t timer_{};
  uv_connect_t connect_req_{};
  int open_handles_ = 2;
  State state_ = State::Connecting;
  TimerKind timer_kind_ = TimerKind::None;
  UpstreamHandler* handler_ = nullptr;
  http::ResponseParser parser_;
  bool reading_ = false;
  bool read_paused_ = false;
  bool request_sent_ = false;
  bool response_done_ = false;
  bool keep_alive_ = false;
  bool write_failed_ = false;
  bool wants_writable_ = false;
  uint64_t exchanges_ = 0;
  std::string write_error_;

  struct WriteReq;
};

}  // namespace edge::upstream
