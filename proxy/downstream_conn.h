// A client connection: reads and parses requests one at a time (pipelined bytes wait their
// turn), owns the active Stream, and writes responses with backpressure through its socket.
// It dies only through close(): its socket closes, and the connection deletes itself when
// the socket reports onSocketClosed.
#pragma once

#include <uv.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "proxy/client_side.h"
#include "lib/http/request_parser.h"
#include "lib/http/serializer.h"
#include "proxy/net/connection_timer.h"
#include "proxy/net/socket.h"
#include "proxy/tunnel.h"

namespace edge {
namespace tls {
class ServerContext;
class TlsSocket;
}  // namespace tls

class Stream;
class Worker;

class DownstreamConn : public ClientSide,
                       private http::RequestSink,
                       private net::SocketHandler,
                       private TunnelOwner {
 public:
  static constexpr size_t kHighWater = 256 * 1024;
  static constexpr size_t kLowWater = 64 * 1024;
  static constexpr size_t kMaxPendingInput = 64 * 1024;  // pipelined bytes read ahead

  // A connection from config listener `listen_index`: TLS when that listener has it.
  static void accept(Worker& worker, uv_stream_t* listener, size_t listen_index);
  // The same for a connection accepted outside libuv (its listener's last sweep).
  static void adopt(Worker& worker, int fd, size_t listen_index);

  // ClientSide, for the active Stream.
  void send(std::string&& bytes) override;
  void sendShared(std::shared_ptr<const std::string> buffer, size_t offset,
                  size_t length) override;
  void flush() override;
  bool congested() override;
  void pauseReading() override;
  void resumeReading() override;
  // Keep-alive continues with the next request unless `close`.
  void responseDone(bool close) override;
  void abortResponse() override;
  void replyLocally(int status, const std::string& reason, bool close,
                    std::string_view extra_headers = {}) override;
  bool closeAfterResponse() const override { return close_after_response_ || draining(); }
  bool requestHttp11() const override { return request_http11_; }
  const std::string& clientIp() const override { return client_ip_; }
  const std::optional<filters::ClientTls>& clientTls() const override { return client_tls_; }
  uint64_t acceptedMs() const override { return accepted_ms_; }
  bool draining() const;
  bool canTunnel() const override { return true; }
  void startTunnel(upstream::UpstreamConn& upstream, std::string&& response_head,
                   std::function<void(uint64_t, uint64_t)> on_close) override;

  // For the Worker.
  void drain();
  void close();
  void continueAfterResponse();

 private:
  static void start(Worker& worker, size_t listen_index,
                    const std::function<int(net::Socket&)>& open);
  enum class TimerKind { None, Handshake, Keepalive, Header, BodyIdle, SendIdle, Linger, TunnelIdle };

  DownstreamConn(Worker& worker, std::shared_ptr<const tls::ServerContext> tls);
  ~DownstreamConn() override;

  // RequestSink
  void onRequestHead(http::RequestHead&& head) override;
  void onRequestBody(const char* data, size_t len) override;
  void onRequestEnd() override;

  // SocketHandler
  void onSocketConnected(int status) override;  // TLS: the handshake is done
  void onSocketData(const char* data, size_t len) override;
  void onSocketReadEnd(int status) override;
  void onSocketWritable() override;
  void onSocketWriteProgress() override;
  void onSocketWriteError(int status) override;
  void onSocketShutdown(int status) override;
  void onSocketClosed() override;

  // TunnelOwner
  void onTunnelActivity() override;
  void onTunnelOver(bool clean, bool client_write_shut) override;

  void processInput(const char* data, size_t len);
  void updateReading();
  void updateTimer();
  void onTimer(TimerKind kind);
  void closeGracefully();
  void retireStream();

  Worker& worker_;
  // The listener's TLS context as it was at accept (a reload may build a new one): its SNI and
  // ALPN callbacks run during this connection's handshake.
  std::shared_ptr<const tls::ServerContext> tls_context_;
  tls::TlsSocket* tls_socket_ = nullptr;  // socket_ itself when the listener is TLS (set first)
  net::Socket* socket_;  // frees itself after onSocketClosed
  std::optional<filters::ClientTls> client_tls_;  // set once the handshake is done
  net::ConnectionTimer<TimerKind> timer_;
  http::RequestParser parser_;
  std::unique_ptr<Stream> stream_;
  std::unique_ptr<Tunnel> tunnel_;  // after a 101: the connection carries only tunnel bytes
  std::string client_ip_;
  std::string pending_input_;  // bytes read after a complete request: the next request(s)
  bool handshaking_ = false;       // TLS: no byte reaches the parser before it is done
  bool unflushed_ = false;         // sent since the last flush
  bool request_http11_ = true;
  bool request_is_head_ = false;
  bool request_has_body_ = false;
  bool exchange_active_ = false;   // from request head until the response is done
  bool request_complete_ = false;  // parser paused at the end of the current request
  bool body_received_ = false;     // the parser has delivered the whole request body
  bool paused_by_stream_ = false;
  bool in_parser_ = false;         // inside llhttp_execute: never re-enter it
  bool peer_eof_ = false;
  bool closed_ = false;            // socket close issued
  bool shutting_down_ = false;     // writes draining before close
  bool lingering_ = false;         // discarding input after our close notice
  bool close_after_response_ = false;
  uint64_t requests_seen_ = 0;  // request heads received on this connection
  // How long a connection with no request yet stays open once draining.
  static constexpr std::chrono::milliseconds kDrainGrace{1000};
  bool upgrade_requested_ = false;  // the request asked for an Upgrade (the last one here)
  bool client_write_shut_ = false;  // a tunnel's shutdown of our write side has completed
  uint64_t accepted_ms_;  // worker clock
};

}  // namespace edge
