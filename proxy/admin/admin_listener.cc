#include "proxy/admin/admin_listener.h"

#include <algorithm>
#include <span>
#include <string_view>

#include "proxy/admin/json_writer.h"
#include "lib/http/request_parser.h"
#include "lib/http/serializer.h"
#include "proxy/log.h"
#include "proxy/net/tcp_socket.h"
#include "proxy/net_util.h"
#include "proxy/port_claim.h"
#include "proxy/timer.h"

namespace edge::admin {

namespace {

constexpr size_t kMaxHeaderBytes = 8 * 1024;
constexpr uint64_t kRequestTimeoutMs = 10'000;  // the whole exchange, slow clients included
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

}  // namespace

// One admin connection: reads one request (bounded head and body, one deadline), answers it
// and closes once the answer is sent.
class AdminConn final : public http::RequestSink, private net::SocketHandler {
 public:
  static void accept(AdminListener& listener, uv_stream_t* server);
  void close();
  void detach() { listener_ = nullptr; }
  bool handling() const { return handling_; }

  void onRequestHead(http::RequestHead&& head) override;
  void onRequestBody(const char* data, size_t len) override;
  void onRequestEnd() override { done_ = true; }

 private:
  explicit AdminConn(AdminListener& listener)
      : listener_(&listener),
        socket_(net::TcpSocket::create(listener.loop_, *this,
                                       std::span<char>(listener.read_buffer_))),
        deadline_(Timer::create(listener.loop_, [this] { close(); })),
        parser_(*this, limits()) {}
  ~AdminConn() override = default;

  // The body limit is ours, not the parser's: it applies only once the token is checked.
  static config::Limits limits() { return config::Limits{kMaxHeaderBytes, 0}; }
  void refuseLargeBody();
  void respond(const AdminResponse& response);
  void send(std::string data, bool then_close);

  // SocketHandler
  void onSocketData(const char* data, size_t len) override;
  void onSocketReadEnd(int /*status*/) override { close(); }
  void onSocketWriteError(int /*status*/) override { close(); }
  void onSocketShutdown(int /*status*/) override { close(); }  // the answer is out
  void onSocketClosed() override { delete this; }

  AdminListener* listener_;
  net::Socket* socket_;  // frees itself after onSocketClosed
  Timer* deadline_;      // the same
  http::RequestParser parser_;
  AdminRequest request_;
  bool done_ = false;
  bool responded_ = false;
  bool closing_ = false;
  bool handling_ = false;  // inside AdminApi::handle
};

void AdminConn::accept(AdminListener& listener, uv_stream_t* server) {
  auto* conn = new AdminConn(listener);
  listener.conns_.insert(conn);
  if (conn->socket_->accept(server) != 0) {
    conn->close();
    return;
  }
  conn->deadline_->start(kRequestTimeoutMs);
  conn->socket_->startReading();
}

void AdminConn::onSocketData(const char* data, size_t len) {
  if (responded_) {
    return;
  }
  const http::RequestParser::Result result = parser_.execute(data, len);
  if (responded_) {  // refused at the head or for its body size
    return;
  }
  if (result.outcome == http::RequestParser::Outcome::Error) {
    const http::ParseError& error = parser_.error();
    respond({error.status,
             JsonWriter().beginObject().field("error", error.reason).endObject().take(), {}});
    return;
  }
  if (done_) {
    if (listener_ == nullptr) {
      respond(AdminResponse{503, "{\"error\":\"stopping\"}", {}});
      return;
    }
    // A POST /reload may close this listener from inside handle() (the admin address moved):
    // the answer still goes out, on this connection, which then closes.
    handling_ = true;
    AdminResponse response = listener_->api_.handle(request_);
    handling_ = false;
    respond(std::move(response));
  }
}

void AdminConn::onRequestHead(http::RequestHead&& head) {
  request_.method = std::move(head.method);
  request_.target = std::move(head.target);
  if (const std::string* auth = head.headers.find("authorization")) {
    request_.authorization = *auth;
  }
  if (listener_ == nullptr) {
    return;  // stopping: answered 503 once the request is in
  }
  if (auto refused = listener_->api_.refusal(request_.target, request_.authorization)) {
    respond(*refused);
    return;
  }
  if (head.has_content_length && head.content_length > listener_->api_.maxBody()) {
    refuseLargeBody();
    return;
  }
  if (head.expect_continue && head.hasBody()) {
    send(std::string(kContinue), false);
  }
}

void AdminConn::onRequestBody(const char* data, size_t len) {
  if (responded_) {
    return;
  }
  request_.body.append(data, len);
  if (listener_ != nullptr && request_.body.size() > listener_->api_.maxBody()) {
    refuseLargeBody();
  }
}

void AdminConn::refuseLargeBody() {
  const std::string reason = "request body is larger than the limit of " +
                             std::to_string(listener_->api_.maxBody()) + " bytes";
  respond({413, JsonWriter().beginObject().field("error", reason).endObject().take(), {}});
}

void AdminConn::respond(const AdminResponse& response) {
  responded_ = true;
  socket_->stopReading();
  // Bodies end with a newline; the metrics text has its own.
  const bool newline = response.body.empty() || response.body.back() != '\n';
  const bool typed = std::any_of(response.headers.begin(), response.headers.end(),
                                 [](const auto& h) { return h.first == "Content-Type"; });
  std::string out = "HTTP/1.1 " + std::to_string(response.status) + " " +
                    std::string(http::reasonPhrase(response.status)) +
                    (typed ? "" : "\r\nContent-Type: application/json") +
                    "\r\nCache-Control: no-store\r\n"
                    "Connection: close\r\nContent-Length: " +
                    std::to_string(response.body.size() + (newline ? 1 : 0)) + "\r\n";
  for (const auto& [name, value] : response.headers) {
    out += name + ": " + value + "\r\n";
  }
  out += "\r\n" + response.body + (newline ? "\n" : "");
  send(std::move(out), true);
}

void AdminConn::send(std::string data, bool then_close) {
  if (closing_) {
    return;
  }
  socket_->write(std::move(data));
  socket_->flush();  // a write error closes the connection before this returns
  // Closing waits for the answer to go out: the shutdown completes once it has.
  if (then_close && !closing_ && socket_->shutdown() != 0) {
    close();
  }
}

void AdminConn::close() {
  if (closing_) {
    return;
  }
  closing_ = true;
  if (listener_ != nullptr) {
    listener_->conns_.erase(this);
  }
  deadline_->close();
  socket_->close();
}

AdminListener* AdminListener::open(uv_loop_t* loop, const config::AdminConfig& config,
                                   AdminApi& api, std::string_view digest, std::string& error) {
  sockaddr_storage addr{};
  const config::HostPort address{config.host, config.port};
  if (!net::resolve(address, addr, error)) {
    return nullptr;
  }
  // SO_REUSEPORT, like the proxy's listeners, so a binary upgrade can start beside this
  // process; the claim check keeps anything else off the port.
  if (config.port != 0 && !net::maySharePort(addr, address.str(), digest, error)) {
    return nullptr;
  }
  const int fd = net::openListenSocket(addr, error);
  if (fd < 0) {
    return nullptr;
  }
  auto* listener = new AdminListener(loop, config, api);
  uv_tcp_init(loop, &listener->tcp_);
  listener->tcp_.data = listener;
  int rc = uv_tcp_open(&listener->tcp_, fd);
  if (rc == 0) {
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener->tcp_), 64, &onConnection);
  }
  if (rc != 0) {
    error = uv_strerror(rc);
    listener->close();
    return nullptr;
  }
  listener->port_ = net::boundPort(fd);
  listener->claim_ = net::PortClaim::make(config::HostPort{config.host, listener->port_}.str(), digest);
  return listener;
}

void AdminListener::close() {
  for (AdminConn* conn : std::set<AdminConn*>(conns_)) {
    conn->detach();
    if (!conn->handling()) {
      conn->close();
    }
  }
  conns_.clear();
  auto* handle = reinterpret_cast<uv_handle_t*>(&tcp_);
  if (!uv_is_closing(handle)) {
    uv_close(handle, [](uv_handle_t* h) { delete static_cast<AdminListener*>(h->data); });
  }
}

void AdminListener::onConnection(uv_stream_t* server, int status) {
  auto* self = static_cast<AdminListener*>(server->data);
  if (status < 0) {
    EDGE_LOG_WARN("admin: accept failed: %s", uv_strerror(status));
    return;
  }
  AdminConn::accept(*self, server);
}

}  // namespace edge::admin
