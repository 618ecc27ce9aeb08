#include "proxy/upstream/upstream_conn.h"

#include <span>

#include "proxy/log.h"
#include "proxy/net/tcp_socket.h"
#include "proxy/tls/tls_socket.h"
#include "proxy/upstream/pool.h"
#include "proxy/worker.h"

namespace edge::upstream {

namespace {

// Plain TCP, or TLS when the upstream has it: the session kept for this server is offered.
net::Socket* openSocket(Worker& worker, net::SocketHandler& handler, UpstreamPool& pool,
                        size_t server, tls::TlsSocket*& tls_socket) {
  std::span<char> buffer(worker.readBuffer(), Worker::kReadBufferSize);
  net::WaterMarks marks{UpstreamConn::kHighWater, UpstreamConn::kLowWater};
  const Runtime& runtime = pool.runtime();
  const size_t upstream = pool.index();
  const tls::ClientContext* tls = runtime.upstream_tls[upstream].get();
  if (tls == nullptr) {
    return net::TcpSocket::create(worker.loop(), handler, buffer, marks);
  }
  const config::HostPort& address = runtime.config->upstreams[upstream].servers[server];
  tls_socket = tls::TlsSocket::create(
      worker.loop(), handler, buffer, marks,
      tls::TlsSocketOptions{tls->newConnection(address), false,
                            &pool.sessionSlot(server)});
  return tls_socket;
}

}  // namespace

UpstreamConn::UpstreamConn(Worker& worker, std::shared_ptr<UpstreamPool> pool, size_t server,
                           const sockaddr_storage& address)
    : worker_(worker),
      pool_(std::move(pool)),
      server_(server),
      address_(address),
      socket_(openSocket(worker, *this, *pool_, server, tls_socket_)),
      timer_(worker.loop(), [this](TimerKind kind) { onTimer(kind); }),
      parser_(*this) {}

const config::UpstreamConfig& UpstreamConn::config() const { return pool_->config(); }

UpstreamConn* UpstreamConn::connect(Worker& worker, std::shared_ptr<UpstreamPool> pool,
                                    size_t server, const sockaddr_storage& address,
                                    UpstreamHandler& handler) {
  auto* conn = new UpstreamConn(worker, std::move(pool), server, address);
  conn->handler_ = &handler;
  conn->socket_->setNoDelay(true);
  const config::UpstreamConfig& cfg = conn->config();
  conn->timer_.start(TimerKind::Connect, cfg.connect_timeout);
  int rc = conn->socket_->connect(reinterpret_cast<const sockaddr*>(&conn->address_));
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

void UpstreamConn::onSocketConnected(int status) {
  if (status < 0 && tls_socket_ != nullptr && tls_socket_->failure() != tls::HandshakeFailure::None) {
    fail(UpstreamFailure::Kind::TlsFailed, "TLS handshake failed: " + tls_socket_->errorDetail());
    return;
  }
  if (status < 0) {
    fail(UpstreamFailure::Kind::ConnectFailed, uv_strerror(status));
    return;
  }
  state_ = State::Active;
  timer_.stop();
  startReading();
  handler_->onUpstreamReady();
}

void UpstreamConn::attach(UpstreamHandler& handler) {
  handler_ = &handler;
  state_ = State::Active;
  timer_.stop();
}

void UpstreamConn::beginExchange(bool head_request, bool upgrade) {
  ++exchanges_;
  parser_.expectResponse(head_request, upgrade);
  request_sent_ = false;
  response_done_ = false;
  keep_alive_ = false;
  read_paused_ = false;
  startReading();
}

void UpstreamConn::startReading() {
  if (read_paused_ || state_ == State::Closed) {
    return;
  }
  socket_->startReading();
}

void UpstreamConn::write(std::string&& bytes) {
  if (write_failed_ || state_ == State::Closed || bytes.empty()) {
    return;
  }
  // Most requests fit the socket buffer: the try-write sends them and skips uv_write's
  // epoll re-arm.
  socket_->write(std::move(bytes));
  socket_->flush();
  if (write_failed_ || socket_->queuedBytes() == 0) {
    return;
  }
  if (!request_sent_ && timer_.reason() == TimerKind::None) {
    // The upstream is not taking the request body: bound how long that may last.
    startIdleTimer();
  }
}

void UpstreamConn::onSocketWriteError(int status) {
  // The read side reports what the upstream did (an early response or a reset).
  write_failed_ = true;
  write_error_ = uv_strerror(status);
  if (state_ == State::Tunnel && handler_ != nullptr) {
    handler_->onUpstreamTunnelEnd(status);
  }
}

void UpstreamConn::onSocketWritable() {
  if (handler_ != nullptr) {
    handler_->onUpstreamWritable();
  }
}

void UpstreamConn::onSocketWriteProgress() {
  if (!request_sent_ && timer_.reason() == TimerKind::Idle) {
    if (socket_->queuedBytes() == 0) {
      timer_.stop();
    } else {
      startIdleTimer();
    }
  }
}

void UpstreamConn::requestSent() {
  request_sent_ = true;
  if (!parser_.started()) {
    timer_.start(TimerKind::FirstByte,
                 config().first_byte_timeout);
  }
}

void UpstreamConn::pauseReading() {
  read_paused_ = true;
  socket_->stopReading();
  if (timer_.reason() == TimerKind::Idle) {
    timer_.stop();  // a slow client is the downstream's timeout to enforce
  }
}

void UpstreamConn::resumeReading() {
  read_paused_ = false;
  startReading();
  if (state_ == State::Active && parser_.started() && timer_.reason() == TimerKind::None) {
    startIdleTimer();
  }
}

void UpstreamConn::becomeTunnel(UpstreamHandler& handler) {
  handler_ = &handler;
  state_ = State::Tunnel;
  timer_.stop();
}

void UpstreamConn::shutdownWrite() {
  if (state_ == State::Tunnel && socket_->shutdown() != 0 && handler_ != nullptr) {
    handler_->onUpstreamTunnelEnd(UV_ENOTCONN);
  }
}

void UpstreamConn::onSocketData(const char* data, size_t len) {
  if (state_ == State::Tunnel) {
    if (handler_ != nullptr && len > 0) {
      handler_->onUpstreamBody(data, len);
    }
    if (handler_ != nullptr && state_ == State::Tunnel) {
      handler_->onUpstreamReadBatchDone();
    }
    return;
  }
  if (state_ == State::Idle) {
    EDGE_LOG_DEBUG("upstream sent %zu unexpected bytes on an idle connection", len);
    pool_->forget(this);
    close();
    return;
  }
  if (state_ != State::Active || handler_ == nullptr) {
    return;
  }
  startIdleTimer();
  http::ResponseParser::Result r = parser_.execute(data, len);
  if ((state_ != State::Active && state_ != State::Tunnel) || handler_ == nullptr) {
    return;  // the handler abandoned us from a callback
  }
  if (r.outcome == http::ResponseParser::Outcome::Error) {
    fail(UpstreamFailure::Kind::BadResponse, parser_.error());
    return;
  }
  if (r.outcome == http::ResponseParser::Outcome::Switched) {
    if (state_ != State::Tunnel) {
      fail(UpstreamFailure::Kind::BadResponse, "the 101 was not taken as a tunnel");
      return;
    }
    // What came with the 101 is already the new protocol's.
    onSocketData(data + r.consumed, len - r.consumed);
    return;
  }
  if (r.outcome == http::ResponseParser::Outcome::MessageDone) {
    // Bytes after the response mean the upstream is out of step: never reuse it.
    finishExchange(keep_alive_ && r.consumed == len && request_sent_ && !write_failed_);
    return;
  }
  handler_->onUpstreamReadBatchDone();
}

void UpstreamConn::onSocketReadEnd(int status) {
  if (state_ == State::Tunnel) {
    if (handler_ != nullptr) {
      handler_->onUpstreamTunnelEnd(status);
    }
    return;
  }
  if (state_ == State::Idle) {
    pool_->forget(this);
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
  const char* why = status == UV_EOF ? "" : uv_strerror(status);
  std::string detail = parser_.error();
  if (tls_socket_ != nullptr && !tls_socket_->errorDetail().empty()) {
    // The TLS layer knows better than "protocol error" (a certificate the server wanted).
    detail += (detail.empty() ? "TLS: " : "; TLS: ") + tls_socket_->errorDetail();
  } else if (*why != '\0') {
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
  timer_.stop();
  const config::UpstreamConfig& cfg = config();
  if (reusable && !worker_.draining() && cfg.pool_max_idle > 0) {
    state_ = State::Idle;
    read_paused_ = false;
    startReading();  // notice when the server closes the idle connection
    timer_.start(TimerKind::PoolIdle, cfg.pool_idle_timeout);
    pool_->putIdle(this);
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
  timer_.close();
  socket_->close();
}

void UpstreamConn::onSocketClosed() { delete this; }

void UpstreamConn::startIdleTimer() {
  timer_.start(TimerKind::Idle, config().idle_timeout);
}

void UpstreamConn::onTimer(TimerKind kind) {
  const config::UpstreamConfig& cfg = config();
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
      pool_->forget(this);
      close();
      break;
    case TimerKind::None:
      break;
  }
}

}  // namespace edge::upstream
