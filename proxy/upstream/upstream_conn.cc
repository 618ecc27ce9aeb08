#include "proxy/upstream/upstream_conn.h"

#include "proxy/log.h"
#include "proxy/upstream/pool.h"
#include "proxy/worker.h"

namespace edge::upstream {

struct UpstreamConn::WriteReq {
  uv_write_t req;
  std::string data;
  UpstreamConn* owner;
};

namespace {

uint64_t ms(config::Millis d) { return static_cast<uint64_t>(d.count()); }

}  // namespace

UpstreamConn::UpstreamConn(Worker& worker, size_t upstream, size_t server)
    : worker_(worker), upstream_(upstream), server_(server), parser_(*this) {
  uv_tcp_init(worker.loop(), &tcp_);
  uv_timer_init(worker.loop(), &timer_);
  tcp_.data = this;
  timer_.data = this;
  connect_req_.data = this;
}

UpstreamConn* UpstreamConn::connect(Worker& worker, size_t upstream, size_t server,
                                    UpstreamHandler& handler) {
  auto* conn = new UpstreamConn(worker, upstream, server);
  conn->handler_ = &handler;
  uv_tcp_nodelay(&conn->tcp_, 1);
  const sockaddr_storage& addr = worker.runtime().upstream_addresses[upstream][server];
  const config::UpstreamConfig& cfg = worker.runtime().config->upstreams[upstream];
  conn->startTimer(TimerKind::Connect, ms(cfg.connect_timeout));
  int rc = uv_tcp_connect(&conn->connect_req_, &conn->tcp_,
                          reinterpret_cast<const sockaddr*>(&addr), [](uv_connect_t* req, int status) {
                            static_cast<UpstreamConn*>(req->data)->onConnect(status);
                          });
  if (rc != 0) {
    // The caller is still on the stack: it sees null instead of a callback.
    EDGE_LOG_WARN("cannot start a connection to %s: %s",
                  cfg.servers[server].str().c_str(), uv_strerror(rc));
    conn->handler_ = nullptr;
    conn->close();
    return nullptr;
  }
  return conn;
}

void UpstreamConn::onConnect(int status) {
  if (state_ == State::Closed) {
    return;  // closed while connecting (UV_ECANCELED)
  }
  if (status < 0) {
    fail(UpstreamFailure::Kind::ConnectFailed, uv_strerror(status));
    return;
  }
  state_ = State::Active;
  uv_timer_stop(&timer_);
  timer_kind_ = TimerKind::None;
  startReading();
  handler_->onUpstreamReady();
}

void UpstreamConn::attach(UpstreamHandler& handler) {
  handler_ = &handler;
  state_ = State::Active;
  uv_timer_stop(&timer_);
  timer_kind_ = TimerKind::None;
}

void UpstreamConn::beginExchange(bool head_request) {
  ++exchanges_;
  parser_.expectResponse(head_request);
  request_sent_ = false;
  response_done_ = false;
  keep_alive_ = false;
  read_paused_ = false;
  startReading();
}

void UpstreamConn::startReading() {
  if (reading_ || read_paused_ || state_ == State::Closed) {
    return;
  }
  reading_ = true;
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(&tcp_),
      [](uv_handle_t* h, size_t, uv_buf_t* buf) {
        auto* self = static_cast<UpstreamConn*>(h->data);
        buf->base = self->worker_.readBuffer();
        buf->len = Worker::kReadBufferSize;
      },
      [](uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
        static_cast<UpstreamConn*>(s->data)->onRead(nread, buf);
      });
}

void UpstreamConn::write(std::string&& bytes) {
  if (write_failed_ || state_ == State::Closed || bytes.empty()) {
    return;
  }
  auto* stream = reinterpret_cast<uv_stream_t*>(&tcp_);
  if (writeQueueSize() == 0) {
    // Most requests fit the socket buffer: write now and skip uv_write's epoll re-arm.
    uv_buf_t now = uv_buf_init(bytes.data(), static_cast<unsigned>(bytes.size()));
    int n = uv_try_write(stream, &now, 1);
    if (n == static_cast<int>(bytes.size())) {
      return;
    }
    if (n > 0) {
      bytes.erase(0, static_cast<size_t>(n));
    } else if (n != UV_EAGAIN) {
      write_failed_ = true;  // the read side reports what the upstream did
      write_error_ = uv_strerror(n);
      return;
    }
  }
  auto* wr = new WriteReq{{}, std::move(bytes), this};
  uv_buf_t buf = uv_buf_init(wr->data.data(), static_cast<unsigned>(wr->data.size()));
  int rc = uv_write(&wr->req, stream, &buf, 1,
                    [](uv_write_t* req, int status) {
                      auto* w = reinterpret_cast<WriteReq*>(req);
                      UpstreamConn* owner = w->owner;
                      delete w;
                      owner->onWriteDone(status);
                    });
  if (rc != 0) {
    delete wr;
    write_failed_ = true;
    write_error_ = uv_strerror(rc);
    return;
  }
  if (!request_sent_ && timer_kind_ == TimerKind::None && writeQueueSize() > 0) {
    // The upstream is not taking the request body: bound how long that may last.
    startTimer(TimerKind::Idle, ms(worker_.runtime().config->upstreams[upstream_].idle_timeout));
  }
  if (congested()) {
    wants_writable_ = true;
  }
}

size_t UpstreamConn::writeQueueSize() const {
  return uv_stream_get_write_queue_size(reinterpret_cast<const uv_stream_t*>(&tcp_));
}

void UpstreamConn::onWriteDone(int status) {
  if (state_ == State::Closed) {
    return;
  }
  if (status < 0) {
    // The read side reports what the upstream did (an early response or a reset).
    write_failed_ = true;
    write_error_ = uv_strerror(status);
    return;
  }
  if (!request_sent_ && timer_kind_ == TimerKind::Idle) {
    if (writeQueueSize() == 0) {
      uv_timer_stop(&timer_);
      timer_kind_ = TimerKind::None;
    } else {
      startTimer(TimerKind::Idle, ms(worker_.runtime().config->upstreams[upstream_].idle_timeout));
    }
  }
  if (wants_writable_ && writeQueueSize() < kLowWater && handler_ != nullptr) {
    wants_writable_ = false;
    handler_->onUpstreamWritable();
  }
}

void UpstreamConn::requestSent() {
  request_sent_ = true;
  if (!parser_.started()) {
    startTimer(TimerKind::FirstByte,
               ms(worker_.runtime().config->upstreams[upstream_].first_byte_timeout));
  }
}

void UpstreamConn::pauseReading() {
  read_paused_ = true;
  if (reading_) {
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
    reading_ = false;
  }
  if (timer_kind_ == TimerKind::Idle) {
    uv_timer_stop(&timer_);  // a slow client is the downstream's timeout to enforce
    timer_kind_ = TimerKind::None;
  }
}

void UpstreamConn::resumeReading() {
  read_paused_ = false;
  startReading();
  if (parser_.started() && timer_kind_ == TimerKind::None) {
    startTimer(TimerKind::Idle, ms(worker_.runtime().config->upstreams[upstream_].idle_timeout));
  }
}

void UpstreamConn::onRead(ssize_t nread, const uv_buf_t* buf) {
  if (nread > 0) {
    onReadData(buf->base, static_cast<size_t>(nread));
  } else if (nread < 0) {
    onReadEnd(nread);
  }
}

void UpstreamConn::onReadData(const char* data, size_t len) {
  if (state_ == State::Idle) {
    EDGE_LOG_DEBUG("upstream sent %zu unexpected bytes on an idle connection", len);
    worker_.upstreams().forget(this);
    close();
    return;
  }
  if (state_ != State::Active || handler_ == nullptr) {
    return;
  }
  startTimer(TimerKind::Idle, ms(worker_.runtime().config->upstreams[upstream_].idle_timeout));
  http::ResponseParser::Result r = parser_.execute(data, len);
  if (state_ != State::Active || handler_ == nullptr) {
    return;  // the handler abandoned us from a callback
  }
  if (r.outcome == http::ResponseParser::Outcome::Error) {
    fail(UpstreamFailure::Kind::BadResponse, parser_.error());
    return;
  }
  if (r.outcome == http::ResponseParser::Outcome::MessageDone) {
    // Bytes after the response mean the upstream is out of step: never reuse it.
    finishExchange(keep_alive_ && r.consumed == len && request_sent_ && !write_failed_);
    return;
  }
  handler_->onUpstreamReadBatchDone();
}

void UpstreamConn::onReadEnd(ssize_t status) {
  reading_ = false;
  if (state_ == State::Idle) {
    worker_.upstreams().forget(this);
    close();
    return;
  }
  if (state_ != State::Active || handler_ == nullptr) {
    return;
  }
  if (status == UV_EOF && parser_.finish() == http::ResponseParser::Outcome::MessageDone) {
    finishExchange(false);  // a read-until-close body ended
    return;
  }
  const char* why = status == UV_EOF ? "" : uv_strerror(static_cast<int>(status));
  std::string detail = parser_.error();
  if (*why != '\0') {
    detail += std::string(" (") + why + ")";
  }
  fail(parser_.started() ? UpstreamFailure::Kind::ClosedMidResponse
                         : UpstreamFailure::Kind::ClosedBeforeResponse,
       detail);
}

void UpstreamConn::onResponseHead(http::ResponseHead&& head) {
  keep_alive_ = head.keep_alive;
  if (handler_ != nullptr) {
    handler_->onUpstreamHead(std::move(head));
  }
}

void UpstreamConn::onResponseBody(const char* data, size_t len) {
  if (handler_ != nullptr) {
    handler_->onUpstreamBody(data, len);
  }
}

void UpstreamConn::onResponseEnd() { response_done_ = true; }

void UpstreamConn::finishExchange(bool reusable) {
  UpstreamHandler* handler = handler_;
  handler_ = nullptr;
  uv_timer_stop(&timer_);
  timer_kind_ = TimerKind::None;
  const config::UpstreamConfig& cfg = worker_.runtime().config->upstreams[upstream_];
  if (reusable && !worker_.draining() && cfg.pool_max_idle > 0) {
    state_ = State::Idle;
    read_paused_ = false;
    startReading();  // notice when the server closes the idle connection
    startTimer(TimerKind::PoolIdle, ms(cfg.pool_idle_timeout));
    worker_.upstreams().putIdle(this);
  } else {
    close();
  }
  handler->onUpstreamEnd();
}

void UpstreamConn::fail(UpstreamFailure::Kind kind, std::string detail) {
  UpstreamHandler* handler = handler_;
  handler_ = nullptr;
  close();
  if (handler != nullptr) {
    handler->onUpstreamFailure(UpstreamFailure{kind, std::move(detail)});
  }
}

void UpstreamConn::abandon() {
  handler_ = nullptr;
  close();
}

void UpstreamConn::close() {
  if (state_ == State::Closed) {
    return;
  }
  state_ = State::Closed;
  auto on_close = [](uv_handle_t* h) {
    auto* self = static_cast<UpstreamConn*>(h->data);
    if (--self->open_handles_ == 0) {
      delete self;
    }
  };
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), on_close);
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), on_close);
}

void UpstreamConn::startTimer(TimerKind kind, uint64_t timeout_ms) {
  timer_kind_ = kind;
  uv_timer_start(&timer_, [](uv_timer_t* t) { static_cast<UpstreamConn*>(t->data)->onTimer(); },
                 timeout_ms, 0);
}

void UpstreamConn::onTimer() {
  TimerKind kind = timer_kind_;
  timer_kind_ = TimerKind::None;
  const config::UpstreamConfig& cfg = worker_.runtime().config->upstreams[upstream_];
  switch (kind) {
    case TimerKind::Connect:
      fail(UpstreamFailure::Kind::ConnectTimeout,
           "connect timed out after " + std::to_string(cfg.connect_timeout.count()) + " ms");
      break;
    case TimerKind::FirstByte:
      fail(UpstreamFailure::Kind::FirstByteTimeout,
           "no response within " + std::to_string(cfg.first_byte_timeout.count()) + " ms");
      break;
    case TimerKind::Idle:
      fail(UpstreamFailure::Kind::IdleTimeout,
           "no progress for " + std::to_string(cfg.idle_timeout.count()) + " ms");
      break;
    case TimerKind::PoolIdle:
      worker_.upstreams().forget(this);
      close();
      break;
    case TimerKind::None:
      break;
  }
}

}  // namespace edge::upstream
