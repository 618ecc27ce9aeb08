#include "proxy/downstream_conn.h"

#include "proxy/log.h"
#include "proxy/net_util.h"
#include "proxy/stream.h"
#include "proxy/try_write.h"
#include "proxy/worker.h"

namespace edge {

struct DownstreamConn::WriteReq {
  uv_write_t req;
  std::vector<OutChunk> bufs;
  DownstreamConn* owner;
};

namespace {

constexpr uint64_t kLingerMs = 2000;

uint64_t ms(config::Millis d) { return static_cast<uint64_t>(d.count()); }

}  // namespace

DownstreamConn::DownstreamConn(Worker& worker)
    : worker_(worker), parser_(*this, worker.runtime().config->limits) {
  uv_tcp_init(worker.loop(), &tcp_);
  uv_timer_init(worker.loop(), &timer_);
  tcp_.data = this;
  timer_.data = this;
  shutdown_req_.data = this;
}

DownstreamConn::~DownstreamConn() { worker_.untrack(this); }

void DownstreamConn::accept(Worker& worker, uv_stream_t* listener) {
  auto* conn = new DownstreamConn(worker);
  worker.track(conn);
  if (uv_accept(listener, reinterpret_cast<uv_stream_t*>(&conn->tcp_)) != 0) {
    conn->close();
    return;
  }
  uv_tcp_nodelay(&conn->tcp_, 1);
  sockaddr_storage peer{};
  int len = sizeof peer;
  if (uv_tcp_getpeername(&conn->tcp_, reinterpret_cast<sockaddr*>(&peer), &len) == 0) {
    conn->client_ip_ = net::ipString(peer);
  }
  conn->updateReading();
  conn->updateTimer();
}

bool DownstreamConn::draining() const { return worker_.draining(); }

// ---- reading -------------------------------------------------------------------------------

void DownstreamConn::updateReading() {
  // Keep reading while a response is pending (pipelined bytes wait in pending_input_, up to
  // a bound): stopping and restarting the socket around every exchange costs syscalls.
  bool backlog_full = request_complete_ && pending_input_.size() >= kMaxPendingInput;
  bool want = !closed_ && (lingering_ || (!shutting_down_ && !backlog_full &&
                                          !paused_by_stream_ && !peer_eof_));
  auto* stream = reinterpret_cast<uv_stream_t*>(&tcp_);
  if (want && !reading_) {
    reading_ = true;
    uv_read_start(
        stream,
        [](uv_handle_t* h, size_t, uv_buf_t* buf) {
          auto* self = static_cast<DownstreamConn*>(h->data);
          buf->base = self->worker_.readBuffer();
          buf->len = Worker::kReadBufferSize;
        },
        [](uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
          static_cast<DownstreamConn*>(s->data)->onRead(nread, buf);
        });
  } else if (!want && reading_) {
    reading_ = false;
    uv_read_stop(stream);
  }
}

void DownstreamConn::onRead(ssize_t nread, const uv_buf_t* buf) {
  if (nread == 0 || closed_) {
    return;
  }
  if (nread < 0) {
    reading_ = false;
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
    if (nread == UV_EOF && exchange_active_ && request_complete_ && !lingering_) {
      // Half-close after a full request: still answer it, then close.
      peer_eof_ = true;
      close_after_response_ = true;
      return;
    }
    close();
    return;
  }
  if (lingering_) {
    return;  // discarding what the client still sends after our close notice
  }
  processInput(buf->base, static_cast<size_t>(nread));
}

void DownstreamConn::processInput(const char* data, size_t len) {
  if (request_complete_) {
    pending_input_.append(data, len);
    updateReading();
    return;
  }
  in_parser_ = true;
  http::RequestParser::Result r = parser_.execute(data, len);
  in_parser_ = false;
  if (closed_) {
    return;
  }
  if (r.outcome == http::RequestParser::Outcome::Error) {
    const http::ParseError& error = parser_.error();
    EDGE_LOG_DEBUG("client %s: %d %s", client_ip_.c_str(), error.status, error.reason.c_str());
    if (stream_ && stream_->responseStarted()) {
      abortResponse();
      return;
    }
    if (stream_) {
      stream_->onDownstreamGone();
      retireStream();
    }
    exchange_active_ = true;  // the error reply is this connection's last exchange
    replyLocally(error.status, error.reason, true);
    return;
  }
  if (r.outcome == http::RequestParser::Outcome::MessageDone) {
    request_complete_ = true;
    pending_input_.append(data + r.consumed, len - r.consumed);
  }
  updateReading();
  updateTimer();
}

void DownstreamConn::onRequestHead(http::RequestHead&& head) {
  exchange_active_ = true;
  request_http11_ = head.http11();
  request_is_head_ = head.method == "HEAD";
  request_has_body_ = head.hasBody();
  body_received_ = false;
  if (!head.keep_alive) {
    close_after_response_ = true;
  }
  stream_ = std::make_unique<Stream>(*this, worker_, std::move(head));
  stream_->start();  // may answer at once (no route, ...)
}

void DownstreamConn::onRequestBody(const char* data, size_t len) {
  if (stream_) {
    stream_->onRequestBody(data, len);
  }
}

void DownstreamConn::onRequestEnd() {
  // Set before the stream hears of it: a stream that answers right here (a batch refused or
  // answered from the cache) has read the whole body, so the connection stays reusable.
  body_received_ = true;
  if (stream_) {
    stream_->onRequestEnd();
  }
}

void DownstreamConn::pauseReading() {
  paused_by_stream_ = true;
  updateReading();
  updateTimer();
}

void DownstreamConn::resumeReading() {
  paused_by_stream_ = false;
  updateReading();
  updateTimer();
}

// ---- writing -------------------------------------------------------------------------------

void DownstreamConn::send(std::string&& bytes) {
  outbox_bytes_ += bytes.size();
  outbox_.emplace_back(std::move(bytes));
}

void DownstreamConn::sendShared(std::shared_ptr<const std::string> buffer, size_t offset,
                                size_t length) {
  if (length == 0) {
    return;
  }
  outbox_bytes_ += length;
  outbox_.emplace_back(std::move(buffer), offset, length);
}

void DownstreamConn::flush() {
  if (outbox_.empty() || closed_) {
    return;
  }
  auto* stream = reinterpret_cast<uv_stream_t*>(&tcp_);
  if (tryWriteFront(stream, outbox_) < 0) {
    close();
    return;
  }
  if (outbox_.empty()) {
    outbox_bytes_ = 0;
    onWriteProgress();
    return;
  }
  auto* wr = new WriteReq{{}, std::move(outbox_), this};
  outbox_.clear();
  outbox_bytes_ = 0;
  std::vector<uv_buf_t> bufs;
  bufs.reserve(wr->bufs.size());
  for (const OutChunk& chunk : wr->bufs) {
    std::string_view bytes = chunk.view();
    bufs.push_back(uv_buf_init(const_cast<char*>(bytes.data()), static_cast<unsigned>(bytes.size())));
  }
  int rc = uv_write(&wr->req, stream, bufs.data(),
                    static_cast<unsigned>(bufs.size()), [](uv_write_t* req, int status) {
                      auto* w = reinterpret_cast<WriteReq*>(req);
                      DownstreamConn* owner = w->owner;
                      delete w;
                      owner->onWriteDone(status);
                    });
  if (rc != 0) {
    delete wr;
    close();
    return;
  }
  updateTimer();
}

size_t DownstreamConn::queuedBytes() const {
  return outbox_bytes_ +
         uv_stream_get_write_queue_size(reinterpret_cast<const uv_stream_t*>(&tcp_));
}

bool DownstreamConn::congested() {
  if (queuedBytes() > kHighWater) {
    blocked_ = true;
    return true;
  }
  return false;
}

void DownstreamConn::onWriteDone(int status) {
  if (closed_) {
    return;
  }
  if (status < 0) {
    close();  // the client went away
    return;
  }
  onWriteProgress();
}

void DownstreamConn::onWriteProgress() {
  if (blocked_ && queuedBytes() < kLowWater) {
    blocked_ = false;
    if (stream_) {
      stream_->onDownstreamWritable();
    }
  }
  updateTimer();
}

// ---- end of an exchange ----------------------------------------------------------------------

void DownstreamConn::retireStream() {
  if (stream_) {
    worker_.deferDelete(std::move(stream_));
  }
}

void DownstreamConn::responseDone(bool close) {
  exchange_active_ = false;
  blocked_ = false;
  paused_by_stream_ = false;
  retireStream();
  flush();
  // A request body still arriving cannot be skipped safely: close instead of reusing.
  bool body_unread = request_has_body_ && !body_received_;
  if (close || close_after_response_ || draining() || body_unread) {
    closeGracefully();
    return;
  }
  if (in_parser_ || !pending_input_.empty()) {
    // Parsing now would re-enter llhttp or start the next exchange deep inside this one's
    // callbacks: let the stack unwind first.
    worker_.scheduleContinue(this);
    return;
  }
  continueAfterResponse();
}

void DownstreamConn::abortResponse() {
  exchange_active_ = false;
  if (stream_) {
    stream_->onDownstreamGone();
    retireStream();
  }
  closeGracefully();
}

void DownstreamConn::replyLocally(int status, const std::string& reason, bool close,
                                  std::string_view extra_headers) {
  http::ResponseConnection connection{close || closeAfterResponse(), request_http11_};
  send(http::localResponse(status, reason + "\n", connection, request_is_head_, extra_headers));
  responseDone(close);
}

void DownstreamConn::continueAfterResponse() {
  if (closed_ || shutting_down_ || !request_complete_) {
    return;
  }
  request_complete_ = false;
  request_has_body_ = false;
  parser_.resume();
  std::string input = std::move(pending_input_);
  pending_input_.clear();
  if (!input.empty()) {
    processInput(input.data(), input.size());
    return;
  }
  updateReading();
  updateTimer();
}

void DownstreamConn::drain() {
  close_after_response_ = true;
  if (!exchange_active_ && !parser_.inMessage()) {
    close();
  }
}

// ---- closing -------------------------------------------------------------------------------

void DownstreamConn::closeGracefully() {
  if (closed_ || shutting_down_) {
    return;
  }
  shutting_down_ = true;
  flush();
  updateReading();
  int rc = uv_shutdown(&shutdown_req_, reinterpret_cast<uv_stream_t*>(&tcp_),
                       [](uv_shutdown_t* req, int status) {
                         static_cast<DownstreamConn*>(req->data)->onShutdown(status);
                       });
  if (rc != 0) {
    close();
    return;
  }
  updateTimer();
}

void DownstreamConn::onShutdown(int status) {
  if (closed_) {
    return;
  }
  if (status < 0 || peer_eof_) {
    close();
    return;
  }
  // Read and drop what the client still sends, so closing does not reset the connection
  // and destroy the response before the client has read it.
  lingering_ = true;
  updateReading();
  startTimer(TimerKind::Linger, kLingerMs);
}

void DownstreamConn::close() {
  if (closed_) {
    return;
  }
  closed_ = true;
  if (stream_) {
    stream_->onDownstreamGone();
    retireStream();
  }
  auto on_close = [](uv_handle_t* h) {
    auto* self = static_cast<DownstreamConn*>(h->data);
    if (--self->open_handles_ == 0) {
      delete self;
    }
  };
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), on_close);
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), on_close);
}

// ---- timers --------------------------------------------------------------------------------

void DownstreamConn::updateTimer() {
  if (closed_ || lingering_) {
    return;
  }
  const config::ClientTimeouts& t = worker_.runtime().config->client_timeouts;
  if (queuedBytes() > 0) {
    startTimer(TimerKind::SendIdle, ms(t.send_idle));
  } else if (shutting_down_) {
    uv_timer_stop(&timer_);
    timer_kind_ = TimerKind::None;
  } else if (!exchange_active_ && !parser_.inMessage()) {
    startTimer(TimerKind::Keepalive, ms(t.keepalive));
  } else if (parser_.inMessage() && !parser_.headComplete()) {
    if (timer_kind_ != TimerKind::Header) {
      startTimer(TimerKind::Header, ms(t.header));  // counted from the head's first byte
    }
  } else if (exchange_active_ && !request_complete_ && reading_ && !paused_by_stream_) {
    startTimer(TimerKind::BodyIdle, ms(t.body_idle));
  } else {
    uv_timer_stop(&timer_);  // waiting for the upstream: its own timeouts apply
    timer_kind_ = TimerKind::None;
  }
}

void DownstreamConn::startTimer(TimerKind kind, uint64_t timeout_ms) {
  timer_kind_ = kind;
  uv_timer_start(&timer_, [](uv_timer_t* t) { static_cast<DownstreamConn*>(t->data)->onTimer(); },
                 timeout_ms, 0);
}

void DownstreamConn::onTimer() {
  TimerKind kind = timer_kind_;
  timer_kind_ = TimerKind::None;
  const config::ClientTimeouts& t = worker_.runtime().config->client_timeouts;
  switch (kind) {
    case TimerKind::Header:
      exchange_active_ = true;
      replyLocally(408, "request head not received within " + std::to_string(t.header.count()) +
                            " ms", true);
      break;
    case TimerKind::BodyIdle:
      if (stream_ && stream_->responseStarted()) {
        abortResponse();
      } else {
        if (stream_) {
          stream_->onDownstreamGone();
          retireStream();
        }
        replyLocally(408, "request body stalled for " + std::to_string(t.body_idle.count()) +
                              " ms", true);
      }
      break;
    case TimerKind::Keepalive:
    case TimerKind::SendIdle:
    case TimerKind::Linger:
      close();
      break;
    case TimerKind::None:
      break;
  }
}

}  // namespace edge
