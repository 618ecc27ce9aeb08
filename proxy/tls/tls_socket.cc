#include "proxy/tls/tls_socket.h"

#include <openssl/err.h>
#include <openssl/x509.h>

#include "proxy/net/tcp_socket.h"
#include "proxy/tls/client_context.h"
#include "proxy/tls/outbox_bio.h"

namespace edge::tls {
namespace {

// Plaintext chunks smaller than this are gathered, so a response head and a small body go out
// as one record.
constexpr size_t kGatherBelow = 4096;
constexpr size_t kMaxRecord = 16 * 1024;

int socketIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

std::string openSslError(unsigned long code) {
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  // "error:0A000086:SSL routines::certificate verify failed" -> the part people read.
  std::string_view view(text);
  size_t colon = view.rfind(':');
  return std::string(colon == std::string_view::npos ? view : view.substr(colon + 1));
}

HandshakeFailure classify(unsigned long code) {
  if (ERR_GET_LIB(code) != ERR_LIB_SSL) {
    return HandshakeFailure::Other;
  }
  switch (ERR_GET_REASON(code)) {
    case SSL_R_HTTP_REQUEST:
    case SSL_R_HTTPS_PROXY_REQUEST:
      return HandshakeFailure::PlainHttp;
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
    case SSL_R_CERTIFICATE_VERIFY_FAILED:
    case SSL_R_NO_CERTIFICATES_RETURNED:
      return HandshakeFailure::ClientCert;
    default:
      return HandshakeFailure::Protocol;
  }
}

// What a client that spoke plain HTTP to a TLS port reads (nginx answers it the same way).
constexpr std::string_view kPlainHttpReply =
    "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 51\r\n"
    "Connection: close\r\n\r\na plain HTTP request was sent to a TLS (https) port\n";

}  // namespace

TlsSocket* TlsSocket::create(uv_loop_t* loop, net::SocketHandler& handler,
                             std::span<char> read_buffer, net::WaterMarks marks,
                             TlsSocketOptions options) {
  return new TlsSocket(loop, handler, read_buffer, marks, options);
}

TlsSocket::TlsSocket(uv_loop_t* loop, net::SocketHandler& handler, std::span<char> read_buffer,
                     net::WaterMarks marks, TlsSocketOptions options)
    : handler_(handler),
      tcp_(net::TcpSocket::create(loop, *this, read_buffer, marks)),
      read_buffer_(read_buffer),
      ssl_(options.ssl),
      in_(BIO_new(BIO_s_mem())),
      out_(newOutboxBio(&outbox_)),
      server_(options.server),
      session_slot_(options.session_slot),
      backpressure_(marks) {
  BIO_set_mem_eof_return(in_, -1);  // an empty input BIO means "wait", not end of stream
  SSL_set_bio(ssl_, in_, out_);
  SSL_set_ex_data(ssl_, socketIndex(), this);
  if (server_) {
    SSL_set_accept_state(ssl_);
  } else {
    SSL_set_connect_state(ssl_);
    if (session_slot_ != nullptr) {
      session_slot_->resume(ssl_);
    }
  }
  uv_idle_init(loop, &pump_);
  pump_.data = this;
}

TlsSocket::~TlsSocket() {
  // OpenSSL marks the session of a connection freed without a shutdown as not resumable. A
  // connection that ended without a TLS error (most just close: a pooled connection that idled
  // out) keeps its session good for the next one.
  if (state_ == State::Open && !protocol_error_) {
    SSL_set_shutdown(ssl_, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  }
  SSL_free(ssl_);
}

TlsSocket* TlsSocket::of(SSL* ssl) { return static_cast<TlsSocket*>(SSL_get_ex_data(ssl, socketIndex())); }

// ---- opening -------------------------------------------------------------------------------

int TlsSocket::accept(uv_stream_t* server) { return accepted(tcp_->accept(server)); }

int TlsSocket::adopt(int fd) { return accepted(tcp_->adopt(fd)); }

int TlsSocket::accepted(int rc) {
  if (rc == 0) {
    state_ = State::Handshaking;
    updateTcpReading();
  }
  return rc;
}

int TlsSocket::connect(const sockaddr* address) { return tcp_->connect(address); }

void TlsSocket::onSocketConnected(int status) {
  if (status < 0) {
    handler_.onSocketConnected(status);
    return;
  }
  state_ = State::Handshaking;
  updateTcpReading();
  advanceHandshake();  // the ClientHello
}

void TlsSocket::advanceHandshake() {
  ERR_clear_error();
  int rc = SSL_do_handshake(ssl_);
  if (rc == 1) {
    sendCiphertext();
    state_ = State::Open;
    updateTcpReading();
    handler_.onSocketConnected(0);  // first: what the flush below reports comes after it
    if (closed_) {
      return;
    }
    flush();  // plaintext written during the handshake
    if (shutdown_requested_ && !closed_) {
      shutdownOpen();
    }
    return;
  }
  int error = SSL_get_error(ssl_, rc);
  sendCiphertext();
  if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
    return;
  }
  failHandshake(error);
}

void TlsSocket::failHandshake(int ssl_error) {
  unsigned long code = ERR_peek_last_error();
  state_ = State::Failed;
  pending_.clear();
  pending_bytes_ = 0;
  if (unknown_sni_) {
    failure_ = HandshakeFailure::UnknownSni;
    error_detail_ = "no certificate for the requested server name";
  } else if (code != 0) {
    failure_ = classify(code);
    error_detail_ = openSslError(code);
  } else {
    failure_ = HandshakeFailure::Other;
    error_detail_ = ssl_error == SSL_ERROR_SYSCALL ? "connection closed during the handshake"
                                                    : "handshake failed";
  }
  if (!server_) {
    long verify = SSL_get_verify_result(ssl_);
    if (verify != X509_V_OK) {
      error_detail_ += ": ";
      error_detail_ += X509_verify_cert_error_string(verify);
    }
  }
  ERR_clear_error();
  if (failure_ == HandshakeFailure::PlainHttp) {
    tcp_->write(std::string(kPlainHttpReply));
    tcp_->flush();
  }
  tcp_->stopReading();
  reading_ = false;
  if (server_) {
    handler_.onSocketReadEnd(UV_EPROTO);
  } else {
    handler_.onSocketConnected(UV_EPROTO);
  }
}

bool TlsSocket::resumed() const { return SSL_session_reused(ssl_) == 1; }

std::string TlsSocket::alpn() const {
  const unsigned char* data = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(ssl_, &data, &len);
  return std::string(reinterpret_cast<const char*>(data), data != nullptr ? len : 0);
}

std::string TlsSocket::peerSubject() const {
  X509* peer = SSL_get0_peer_certificate(ssl_);
  if (peer == nullptr || SSL_get_verify_result(ssl_) != X509_V_OK) {
    return {};
  }
  BIO* bio = BIO_new(BIO_s_mem());
  X509_NAME_print_ex(bio, X509_get_subject_name(peer), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string subject(data, len > 0 ? static_cast<size_t>(len) : 0);
  BIO_free(bio);
  return subject;
}

// ---- reading -------------------------------------------------------------------------------

void TlsSocket::startReading() {
  if (reading_ || closed_) {
    return;
  }
  reading_ = true;
  updateTcpReading();
  if (state_ == State::Open && (hasBufferedInput() || tcp_end_ != 0)) {
    schedulePump();
  }
}

void TlsSocket::stopReading() {
  reading_ = false;
  updateTcpReading();
}

// The handshake reads whatever the handler wants; afterwards TCP reads only while the handler
// does, so a paused reader pushes back on the peer. After a failed handshake, what the peer
// still sends is read and dropped while the handler lingers.
void TlsSocket::updateTcpReading() {
  if (closed_) {
    return;
  }
  bool want = tcp_end_ == 0 && (state_ == State::Handshaking ||
                                 (state_ != State::Idle && reading_));
  if (want) {
    tcp_->startReading();
  } else {
    tcp_->stopReading();
  }
}

bool TlsSocket::hasBufferedInput() const {
  return SSL_pending(ssl_) > 0 || BIO_ctrl_pending(in_) > 0;
}

void TlsSocket::schedulePump() {
  if (!pump_active_) {
    pump_active_ = true;
    uv_idle_start(&pump_, [](uv_idle_t* idle) {
      auto* self = static_cast<TlsSocket*>(idle->data);
      self->pump_active_ = false;
      uv_idle_stop(idle);
      if (!self->closed_) {
        self->pump();
      }
    });
  }
}

void TlsSocket::onSocketData(const char* data, size_t len) {
  if (state_ == State::Failed) {
    return;  // lingering after a failed handshake: discarded
  }
  BIO_write(in_, data, static_cast<int>(len));
  pump();
}

void TlsSocket::pump() {
  if (state_ == State::Handshaking) {
    advanceHandshake();
  }
  if (state_ == State::Open && !closed_) {
    readPlaintext();
  }
}

void TlsSocket::readPlaintext() {
  while (reading_ && !closed_) {
    ERR_clear_error();
    int n = SSL_read(ssl_, read_buffer_.data(), static_cast<int>(read_buffer_.size()));
    if (n > 0) {
      handler_.onSocketData(read_buffer_.data(), static_cast<size_t>(n));
      continue;
    }
    int error = SSL_get_error(ssl_, n);
    sendCiphertext();  // a read may answer (a key update)
    if (error == SSL_ERROR_WANT_READ) {
      if (tcp_end_ != 0 && !hasBufferedInput()) {
        reading_ = false;  // everything before the TCP end is delivered
        handler_.onSocketReadEnd(tcp_end_);
      }
      return;
    }
    reading_ = false;
    updateTcpReading();
    if (error == SSL_ERROR_ZERO_RETURN) {
      handler_.onSocketReadEnd(UV_EOF);  // close_notify
    } else {
      protocol_error_ = true;
      error_detail_ = openSslError(ERR_peek_last_error());
      handler_.onSocketReadEnd(UV_EPROTO);
    }
    return;
  }
  if (!closed_) {
    sendCiphertext();
  }
}

void TlsSocket::onSocketReadEnd(int status) {
  tcp_end_ = status;
  if (state_ == State::Handshaking) {
    ERR_clear_error();
    failHandshake(SSL_ERROR_SYSCALL);
    return;
  }
  if (state_ == State::Failed && reading_) {
    reading_ = false;
    handler_.onSocketReadEnd(status);
    return;
  }
  if (state_ == State::Open && reading_) {
    readPlaintext();  // delivers what is left, then the end
  }
}

// ---- writing -------------------------------------------------------------------------------

void TlsSocket::write(std::string&& bytes) {
  if (closed_ || write_error_ || state_ == State::Failed || bytes.empty()) {
    return;
  }
  pending_bytes_ += bytes.size();
  pending_.emplace_back(std::move(bytes));
}

void TlsSocket::writeShared(std::shared_ptr<const std::string> buffer, size_t offset,
                            size_t length) {
  if (closed_ || write_error_ || state_ == State::Failed || length == 0) {
    return;
  }
  pending_bytes_ += length;
  pending_.emplace_back(std::move(buffer), offset, length);
}

void TlsSocket::flush() {
  if (closed_ || state_ != State::Open || write_error_) {
    return;
  }
  if (!pending_.empty()) {
    encryptPending();
    sendCiphertext();
  }
  tcp_->flush();
  if (!closed_) {
    checkRelieved();
  }
}

// Each plaintext chunk becomes records in the output BIO; small ones are gathered first.
void TlsSocket::encryptPending() {
  auto seal = [this](std::string_view bytes) {
    while (!bytes.empty()) {
      size_t n = std::min(bytes.size(), kMaxRecord);
      SSL_write(ssl_, bytes.data(), static_cast<int>(n));  // the outbox takes it all
      bytes.remove_prefix(n);
    }
  };
  for (const net::OutChunk& chunk : pending_) {
    std::string_view bytes = chunk.view();
    if (bytes.size() < kGatherBelow) {
      staging_.append(bytes);
      if (staging_.size() >= kGatherBelow) {
        seal(staging_);
        staging_.clear();
      }
      continue;
    }
    if (!staging_.empty()) {
      seal(staging_);
      staging_.clear();
    }
    seal(bytes);
  }
  if (!staging_.empty()) {
    seal(staging_);
    staging_.clear();
  }
  pending_.clear();
  pending_bytes_ = 0;
}

void TlsSocket::sendCiphertext() {
  if (outbox_.empty() || closed_) {
    return;
  }
  tcp_->write(std::move(outbox_));
  outbox_ = std::string();
  tcp_->flush();
}

bool TlsSocket::congested() {
  if (!backpressure_.congested(queuedBytes())) {
    return false;
  }
  tcp_->congested();  // so TCP says when its queue drains
  return true;
}

void TlsSocket::cancelWritable() {
  backpressure_.forget();
  tcp_->cancelWritable();
}

void TlsSocket::checkRelieved() {
  if (backpressure_.relieved(queuedBytes())) {
    handler_.onSocketWritable();
  }
}

void TlsSocket::onSocketWritable() { checkRelieved(); }

void TlsSocket::onSocketWriteProgress() {
  checkRelieved();
  if (!closed_) {
    handler_.onSocketWriteProgress();
  }
}

void TlsSocket::onSocketWriteError(int status) {
  if (write_error_) {
    return;
  }
  write_error_ = true;
  pending_.clear();
  pending_bytes_ = 0;
  backpressure_.forget();
  if (state_ == State::Handshaking && !server_) {
    failHandshake(SSL_ERROR_SYSCALL);
    return;
  }
  handler_.onSocketWriteError(status);
}

// ---- ending --------------------------------------------------------------------------------

int TlsSocket::shutdown() {
  if (closed_) {
    return UV_ENOTCONN;
  }
  if (state_ == State::Handshaking || (state_ == State::Idle && !server_)) {
    // What was written goes out once the handshake is done; then the shutdown.
    shutdown_requested_ = true;
    return 0;
  }
  if (state_ == State::Open) {
    flush();
    if (closed_) {
      return UV_ENOTCONN;
    }
    ERR_clear_error();
    SSL_shutdown(ssl_);  // queues close_notify; the peer's is not awaited
    sendCiphertext();
  }
  return tcp_->shutdown();
}

void TlsSocket::shutdownOpen() {
  int rc = shutdown();
  if (rc != 0 && !closed_) {
    handler_.onSocketShutdown(rc);
  }
}

void TlsSocket::onSocketShutdown(int status) { handler_.onSocketShutdown(status); }

void TlsSocket::close() {
  if (closed_) {
    return;
  }
  closed_ = true;
  reading_ = false;
  pending_.clear();
  pending_bytes_ = 0;
  tcp_->close();
  uv_close(reinterpret_cast<uv_handle_t*>(&pump_),
           [](uv_handle_t* h) { static_cast<TlsSocket*>(h->data)->closedOne(); });
}

void TlsSocket::onSocketClosed() { closedOne(); }

void TlsSocket::closedOne() {
  if (--open_handles_ == 0) {
    handler_.onSocketClosed();
    delete this;
  }
}

const char* TlsSocket::protocolVersion() const { return SSL_get_version(ssl_); }

}  // namespace edge::tls
