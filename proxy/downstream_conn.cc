#include "proxy/downstream_conn.h"

#include <unistd.h>

#include <span>

#include "proxy/log.h"
#include "proxy/net/tcp_socket.h"
#include "proxy/net_util.h"
#include "proxy/stream.h"
#include "proxy/tls/server_context.h"
#include "proxy/tls/tls_socket.h"
#include "proxy/worker.h"

namespace edge {

namespace {

constexpr config::Millis kLinger{2000};

}  // namespace

namespace {

net::Socket* openSocket(Worker& worker, net::SocketHandler& handler,
                        const tls::ServerContext* tls, tls::TlsSocket*& tls_socket) {
  std::span<char> buffer(worker.readBuffer(), Worker::kReadBufferSize);
  net::WaterMarks marks{DownstreamConn::kHighWater, DownstreamConn::kLowWater};
  if (tls == nullptr) {
    return net::TcpSocket::create(worker.loop(), handler, buffer, marks);
  }
  tls_socket = tls::TlsSocket::create(worker.loop(), handler, buffer, marks,
                                      tls::TlsSocketOptions{tls->newConnection(), true, nullptr});
  return tls_socket;
}

TlsFailure counted(tls::HandshakeFailure failure) {
  switch (failure) {
    case tls::HandshakeFailure::PlainHttp:
      return TlsFailure::PlainHttp;
    case tls::HandshakeFailure::UnknownSni:
      return TlsFailure::UnknownSni;
    case tls::HandshakeFailure::ClientCert:
      return TlsFailure::ClientCert;
    case tls::HandshakeFailure::Protocol:
      return TlsFailure::Protocol;
    case tls::HandshakeFailure::None:
    case tls::HandshakeFailure::Other:
      break;
  }
  return TlsFailure::Other;
}

}  // namespace

DownstreamConn::DownstreamConn(Worker& worker,
                               std::shared_ptr<const tls::ServerContext> tls)
    : worker_(worker),
      tls_context_(std::move(tls)),
      socket_(openSocket(worker, *this, tls_context_.get(), tls_socket_)),
      timer_(worker.loop(), [this](TimerKind kind) { onTimer(kind); }),
      parser_(*this, worker.runtime().config->limits),
      handshaking_(tls_context_ != nullptr),
      accepted_ms_(worker.nowMs()) {}

DownstreamConn::~DownstreamConn() { worker_.untrack(this); }

void DownstreamConn::accept(Worker& worker, uv_stream_t* listener, size_t listen_index) {
  start(worker, listen_index, [listener](net::Socket& socket) { return socket.accept(listener); });
}

void DownstreamConn::adopt(Worker& worker, int fd, size_t listen_index) {
  start(worker, listen_index, [fd](net::Socket& socket) {
    const int rc = socket.adopt(fd);
    if (rc != 0) {
      ::close(fd);  // never became the socket's
    }
    return rc;
  });
}

void DownstreamConn::start(Worker& worker, size_t listen_index,
                           const std::function<int(net::Socket&)>& open) {
  const auto& contexts = worker.runtime().listener_tls;
  auto* conn = new DownstreamConn(
      worker, listen_index < contexts.size() ? contexts[listen_index] : nullptr);
  worker.track(conn);
  if (open(*conn->socket_) != 0) {
    conn->close();
    return;
  }
  conn->socket_->setNoDelay(true);
  sockaddr_storage peer{};
  if (conn->socket_->peerName(peer) == 0) {
    conn->client_ip_ = net::ipString(peer);
  }
  conn->updateReading();
  conn->updateTimer();
}

// The TLS handshake is done: requests may come.
void DownstreamConn::onSocketConnected(int /*status*/) {
  handshaking_ = false;
  worker_.connectionCounters().handshakeDone(tls_socket_->resumed());
  client_tls_.emplace(filters::ClientTls{tls_socket_->peerSubject(),
                                          tls_context_->settings().client_subject_header,
                                          tls_socket_->protocolVersion()});
  updateTimer();
}

bool DownstreamConn::draining() const { return worker_.draining(); }

// ---- reading -------------------------------------------------------------------------------

void DownstreamConn::updateReading() {
  if (tunnel_) {
    return;  // the tunnel reads as its upstream takes the bytes
  }
  // Keep reading while a response is pending (pipelined bytes wait in pending_input_, up to
  // a bound): stopping and restarting the socket around every exchange costs syscalls.
  bool backlog_full = request_complete_ && pending_input_.size() >= kMaxPendingInput;
  bool want = !closed_ && (lingering_ || (!shutting_down_ && !backlog_full &&
                                          !paused_by_stream_ && !peer_eof_));
  if (want) {
    socket_->startReading();
  } else {
    socket_->stopReading();
  }
}

void DownstreamConn::onSocketData(const char* data, size_t len) {
  if (tunnel_) {
    tunnel_->fromClient(data, len);
    return;
  }
  if (lingering_) {
    return;  // discarding what the client still sends after our close notice
  }
  processInput(data, len);
}

void DownstreamConn::onSocketReadEnd(int status) {
  if (tunnel_) {
    tunnel_->clientEnded(status);
    return;
  }
  if (handshaking_) {
    // The handshake failed: nothing reached the parser. The socket has queued its alert (or
    // a plain-text 400 for plain HTTP); send it and close.
    worker_.connectionCounters().handshakeFailed(counted(tls_socket_->failure()));
    EDGE_LOG_DEBUG("client %s: TLS handshake failed: %s", client_ip_.c_str(),
                   tls_socket_->errorDetail().c_str());
    handshaking_ = false;
    closeGracefully();
    return;
  }
  if (status == UV_EOF && exchange_active_ && request_complete_ && !lingering_ &&
      !upgrade_requested_) {
    // Half-close after a full request: still answer it, then close. A client that ends its
    // side before the answer to an Upgrade has given up on the tunnel: that closes.
    peer_eof_ = true;
    close_after_response_ = true;
    return;
  }
  close();
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
  ++requests_seen_;
  exchange_active_ = true;
  if (http::hasToken(head.headers.joined("connection"), "upgrade")) {
    // Unless it becomes a tunnel, nothing sent after an Upgrade request is read as HTTP.
    close_after_response_ = true;
    upgrade_requested_ = true;
  }
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
  unflushed_ = true;
  socket_->write(std::move(bytes));
}

void DownstreamConn::sendShared(std::shared_ptr<const std::string> buffer, size_t offset,
                                size_t length) {
  if (length == 0) {
    return;
  }
  unflushed_ = true;
  socket_->writeShared(std::move(buffer), offset, length);
}

void DownstreamConn::flush() {
  if (!unflushed_ || closed_) {
    return;
  }
  unflushed_ = false;
  socket_->flush();  // may report writable, or a write error, before it returns
  updateTimer();
}

bool DownstreamConn::congested() { return socket_->congested(); }

void DownstreamConn::onSocketWritable() {
  if (tunnel_) {
    tunnel_->clientWritable();
    return;
  }
  if (stream_) {
    stream_->onDownstreamWritable();
  }
}

void DownstreamConn::onSocketWriteProgress() { updateTimer(); }

void DownstreamConn::onSocketWriteError(int /*status*/) {
  close();  // the client went away
}

// ---- end of an exchange ----------------------------------------------------------------------

void DownstreamConn::retireStream() {
  if (stream_) {
    worker_.deferDelete(std::move(stream_));
  }
}

void DownstreamConn::responseDone(bool close) {
  exchange_active_ = false;
  socket_->cancelWritable();
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
  if (tunnel_) {
    return;  // open until it ends or the drain timeout closes every connection
  }
  close_after_response_ = true;
  // A connection that has not sent a request yet may be one the listener took in its last
  // sweep, its request still in the socket: it gets a short grace instead (updateTimer).
  if (!exchange_active_ && !parser_.inMessage() && requests_seen_ > 0) {
    close();
    return;
  }
  updateTimer();
}

// ---- closing -------------------------------------------------------------------------------

void DownstreamConn::closeGracefully() {
  if (closed_ || shutting_down_) {
    return;
  }
  shutting_down_ = true;
  flush();
  updateReading();
  if (socket_->shutdown() != 0) {
    close();
    return;
  }
  updateTimer();
}

void DownstreamConn::onSocketShutdown(int status) {
  if (tunnel_) {
    if (status < 0) {
      close();
      return;
    }
    client_write_shut_ = true;
    return;  // the upstream's half-close reached the client; its side may still send
  }
  if (status < 0 || peer_eof_) {
    close();
    return;
  }
  // Read and drop what the client still sends, so closing does not reset the connection
  // and destroy the response before the client has read it.
  lingering_ = true;
  updateReading();
  timer_.start(TimerKind::Linger, kLinger);
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
  if (tunnel_) {
    tunnel_->stop();
    worker_.deferDelete(std::move(tunnel_));
  }
  timer_.close();
  socket_->close();
}

void DownstreamConn::onSocketClosed() { delete this; }

// ---- timers --------------------------------------------------------------------------------

void DownstreamConn::updateTimer() {
  if (closed_ || lingering_) {
    return;
  }
  const config::ClientTimeouts& t = worker_.runtime().config->client_timeouts;
  if (tunnel_) {
    timer_.start(TimerKind::TunnelIdle, t.tunnel_idle);
  } else if (handshaking_) {
    if (timer_.reason() != TimerKind::Handshake) {
      timer_.start(TimerKind::Handshake, tls_context_->settings().handshake_timeout);
    }
  } else if (socket_->queuedBytes() > 0) {
    timer_.start(TimerKind::SendIdle, t.send_idle);
  } else if (shutting_down_) {
    timer_.stop();
  } else if (!exchange_active_ && !parser_.inMessage()) {
    // Draining, and no request yet: a short grace for one to arrive (see drain()).
    const bool grace = close_after_response_ && requests_seen_ == 0;
    timer_.start(TimerKind::Keepalive, grace ? std::min(t.keepalive, kDrainGrace) : t.keepalive);
  } else if (parser_.inMessage() && !parser_.headComplete()) {
    if (timer_.reason() != TimerKind::Header) {
      timer_.start(TimerKind::Header, t.header);  // counted from the head's first byte
    }
  } else if (exchange_active_ && !request_complete_ && socket_->reading() && !paused_by_stream_) {
    timer_.start(TimerKind::BodyIdle, t.body_idle);
  } else {
    timer_.stop();  // waiting for the upstream: its own timeouts apply
  }
}

void DownstreamConn::onTimer(TimerKind kind) {
  const config::ClientTimeouts& t = worker_.runtime().config->client_timeouts;
  switch (kind) {
    case TimerKind::Handshake:
      worker_.connectionCounters().handshakeFailed(TlsFailure::Timeout);
      close();
      break;
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
    case TimerKind::TunnelIdle:
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

namespace edge {

// ---- tunnel --------------------------------------------------------------------------------

void DownstreamConn::startTunnel(upstream::UpstreamConn& upstream, std::string&& response_head,
                                 std::function<void(uint64_t, uint64_t)> on_close) {
  exchange_active_ = false;
  paused_by_stream_ = false;
  socket_->cancelWritable();
  retireStream();  // the caller, still on the stack: deleted once it has unwound
  TunnelOwner& owner = *this;
  tunnel_ = std::make_unique<Tunnel>(*socket_, upstream, owner, worker_.connectionCounters(),
                                     std::move(on_close));
  send(std::move(response_head));
  flush();
  // Bytes the client sent after its request head (before the 101) are the new protocol's.
  std::string early = std::move(pending_input_);
  pending_input_.clear();
  socket_->startReading();
  if (!early.empty()) {
    tunnel_->fromClient(early.data(), early.size());
  }
  updateTimer();
}

void DownstreamConn::onTunnelActivity() { updateTimer(); }

// The tunnel is over; what is still queued for the client goes out before the close.
void DownstreamConn::onTunnelOver(bool clean, bool client_write_shut) {
  tunnel_->stop();
  worker_.deferDelete(std::move(tunnel_));
  if (!clean || (client_write_shut && client_write_shut_)) {
    close();
    return;
  }
  peer_eof_ = true;  // nothing to linger for: the shutdown's completion closes
  shutting_down_ = true;
  socket_->stopReading();
  if (!client_write_shut && socket_->shutdown() != 0) {
    close();
    return;
  }
  updateTimer();
}

}  // namespace edge
