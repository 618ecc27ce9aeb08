// A Socket that speaks TLS over a TcpSocket: OpenSSL runs on in-memory BIOs (a memory BIO in,
// an outbox string out), so the loop never blocks and the TCP socket keeps its one write path (try-write, then queued writes with
// backpressure). Ciphertext read from TCP goes into the SSL; plaintext comes out to the
// handler. Plaintext written is encrypted at flush() and queued on the TCP socket.
//
// The handshake is part of opening: a server socket reports onSocketConnected(0) when the
// handshake is done (no data before it); a client socket reports onSocketConnected once TCP
// connected and the handshake finished, or failed (UV_EPROTO, with errorDetail()). A server
// handshake that fails ends reading with UV_EPROTO; failure() says why.
//
// Ownership as for every Socket: close() is the only way it dies; the handler hears
// onSocketClosed() once both the TCP socket and the socket's own idle handle have closed.
#pragma once

#include <openssl/ssl.h>
#include <uv.h>

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "proxy/net/backpressure.h"
#include "proxy/net/out_chunk.h"
#include "proxy/net/socket.h"

namespace edge::tls {

enum class HandshakeFailure { None, Protocol, PlainHttp, UnknownSni, ClientCert, Other };

class ClientSessionSlot;

struct TlsSocketOptions {
  SSL* ssl = nullptr;  // taken over; configured for its side by its context
  bool server = true;
  ClientSessionSlot* session_slot = nullptr;  // client: where resumable sessions are kept
};

class TlsSocket final : public net::Socket, private net::SocketHandler {
 public:
  static TlsSocket* create(uv_loop_t* loop, net::SocketHandler& handler,
                           std::span<char> read_buffer, net::WaterMarks marks,
                           TlsSocketOptions options);

  int accept(uv_stream_t* server) override;
  int adopt(int fd) override;
  int connect(const sockaddr* address) override;
  int setNoDelay(bool on) override { return tcp_->setNoDelay(on); }
  int peerName(sockaddr_storage& out) const override { return tcp_->peerName(out); }

  void startReading() override;
  void stopReading() override;
  bool reading() const override { return reading_; }

  void write(std::string&& bytes) override;
  void writeShared(std::shared_ptr<const std::string> buffer, size_t offset,
                   size_t length) override;
  void flush() override;
  size_t queuedBytes() const override { return pending_bytes_ + tcp_->queuedBytes(); }
  bool congested() override;
  void cancelWritable() override;

  int shutdown() override;
  void close() override;
  bool closed() const override { return closed_; }

  // After the handshake.
  bool resumed() const;
  std::string alpn() const;
  // The verified client certificate's subject (RFC 2253), or empty.
  std::string peerSubject() const;
  // "TLSv1.3", ... once the handshake is done.
  const char* protocolVersion() const;
  HandshakeFailure failure() const { return failure_; }
  const std::string& errorDetail() const { return error_detail_; }

  // For the server context's SNI callback.
  static TlsSocket* of(SSL* ssl);
  void noteUnknownSni() { unknown_sni_ = true; }

 private:
  int accepted(int rc);  // after accept or adopt: the handshake begins
  enum class State { Idle, Handshaking, Open, Failed };

  TlsSocket(uv_loop_t* loop, net::SocketHandler& handler, std::span<char> read_buffer,
            net::WaterMarks marks, TlsSocketOptions options);
  ~TlsSocket() override;

  // From the TCP socket.
  void onSocketConnected(int status) override;
  void onSocketData(const char* data, size_t len) override;
  void onSocketReadEnd(int status) override;
  void onSocketWritable() override;
  void onSocketWriteProgress() override;
  void onSocketWriteError(int status) override;
  void onSocketShutdown(int status) override;
  void onSocketClosed() override;

  void startHandshake();
  void advanceHandshake();
  void failHandshake(int ssl_error);
  void pump();
  void readPlaintext();
  void encryptPending();
  void sendCiphertext();
  void updateTcpReading();
  void schedulePump();
  bool hasBufferedInput() const;
  void checkRelieved();
  void closedOne();
  void shutdownOpen();

  net::SocketHandler& handler_;
  net::Socket* tcp_;  // frees itself after onSocketClosed
  const std::span<char> read_buffer_;
  SSL* ssl_;
  std::string outbox_;  // ciphertext for the peer, until sent; before out_, which writes it
  BIO* in_;   // ciphertext from the peer, owned by ssl_
  BIO* out_;  // appends to outbox_, owned by ssl_
  const bool server_;
  ClientSessionSlot* session_slot_;
  uv_idle_t pump_{};  // delivers plaintext left in the SSL when reading resumes
  net::Backpressure backpressure_;
  std::vector<net::OutChunk> pending_;  // plaintext not yet encrypted
  size_t pending_bytes_ = 0;
  std::string staging_;  // small chunks gathered into one record
  State state_ = State::Idle;
  HandshakeFailure failure_ = HandshakeFailure::None;
  std::string error_detail_;
  int tcp_end_ = 0;  // the TCP read end, reported once buffered plaintext is delivered
  int open_handles_ = 2;
  bool reading_ = false;
  bool pump_active_ = false;
  bool write_error_ = false;
  bool protocol_error_ = false;  // a bad record after the handshake
  bool shutdown_requested_ = false;  // during the handshake: shut down once it is done
  bool closed_ = false;
  bool unknown_sni_ = false;
};

}  // namespace edge::tls
