#include "proxy/admin/admin_listener.h"

#include <memory>
#include <string_view>

#include "proxy/admin/json_writer.h"
#include "lib/http/request_parser.h"
#include "lib/http/serializer.h"
#include "proxy/log.h"
#include "proxy/net_util.h"

namespace edge::admin {

namespace {

constexpr size_t kMaxHeaderBytes = 8 * 1024;
constexpr uint64_t kRequestTimeoutMs = 10'000;  // the whole exchange, slow clients included
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// A write request that owns its bytes until libuv is done with them.
struct Write {
  uv_write_t req{};
  std::string data;
};

}  // namespace

// One admin connection: reads one request (bounded head and body, one deadline), answers it
// and closes.
class AdminConn final : public http::RequestSink {
 public:
  static void accept(AdminListener& listener, uv_stream_t* server);
  void close();
  void detach() { listener_ = nullptr; }

  void onRequestHead(http::RequestHead&& head) override;
  void onRequestBody(const char* data, size_t len) override;
  void onRequestEnd() override { done_ = true; }

 private:
  explicit AdminConn(AdminListener& listener)
      : listener_(&listener), parser_(*this, limits()) {}
  ~AdminConn() override = default;

  // The body limit is ours, not the parser's: it applies only once the token is checked.
  static config::Limits limits() { return config::Limits{kMaxHeaderBytes, 0}; }
  void refuseLargeBody();
  void onRead(ssize_t nread, const uv_buf_t* buf);
  void respond(const AdminResponse& response);
  void send(std::string data, bool then_close);
  void onHandleClosed();

  AdminListener* listener_;
  uv_tcp_t tcp_{};
  uv_timer_t timer_{};
  http::RequestParser parser_;
  AdminRequest request_;
  bool done_ = false;
  bool responded_ = false;
  bool closing_ = false;
  int open_handles_ = 2;
};

void AdminConn::accept(AdminListener& listener, uv_stream_t* server) {
  auto* conn = new AdminConn(listener);
  uv_tcp_init(listener.loop_, &conn->tcp_);
  uv_timer_init(listener.loop_, &conn->timer_);
  conn->tcp_.data = conn->timer_.data = conn;
  listener.conns_.insert(conn);
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&conn->tcp_)) != 0) {
    conn->close();
    return;
  }
  uv_timer_start(&conn->timer_, [](uv_timer_t* t) { static_cast<AdminConn*>(t->data)->close(); },
                 kRequestTimeoutMs, 0);
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(&conn->tcp_),
      [](uv_handle_t*, size_t suggested, uv_buf_t* buf) {
        buf->base = new char[suggested];
        buf->len = suggested;
      },
      [](uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
        const std::unique_ptr<char[]> owned(buf->base);
        static_cast<AdminConn*>(s->data)->onRead(nread, buf);
      });
}

void AdminConn::onRead(ssize_t nread, const uv_buf_t* buf) {
  if (nread < 0) {
    close();
    return;
  }
  if (nread == 0 || responded_) {
    return;
  }
  const http::RequestParser::Result result = parser_.execute(buf->base, static_cast<size_t>(nread));
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
    respond(listener_ != nullptr ? listener_->api_.handle(request_)
                                 : AdminResponse{503, "{\"error\":\"stopping\"}", {}});
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
  if (auto refused = listener_->api_.refusal(request_.authorization)) {
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
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
  std::string out = "HTTP/1.1 " + std::to_string(response.status) + " " +
                    std::string(http::reasonPhrase(response.status)) +
                    "\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n"
                    "Connection: close\r\nContent-Length: " +
                    std::to_string(response.body.size() + 1) + "\r\n";
  for (const auto& [name, value] : response.headers) {
    out += name + ": " + value + "\r\n";
  }
  out += "\r\n" + response.body + "\n";
  send(std::move(out), true);
}

void AdminConn::send(std::string data, bool then_close) {
  if (closing_) {
    return;
  }
  auto* write = new Write;
  write->data = std::move(data);
  write->req.data = then_close ? this : nullptr;
  uv_buf_t buf = uv_buf_init(write->data.data(), static_cast<unsigned>(write->data.size()));
  const int rc = uv_write(&write->req, reinterpret_cast<uv_stream_t*>(&tcp_), &buf, 1,
                          [](uv_write_t* req, int) {
                            std::unique_ptr<Write> done(reinterpret_cast<Write*>(req));
                            if (req->data != nullptr) {
                              static_cast<AdminConn*>(req->data)->close();
                            }
                          });
  if (rc != 0) {
    delete write;
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
  auto closed = [](uv_handle_t* h) { static_cast<AdminConn*>(h->data)->onHandleClosed(); };
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), closed);
}

void AdminConn::onHandleClosed() {
  if (--open_handles_ == 0) {
    delete this;
  }
}

AdminListener* AdminListener::open(uv_loop_t* loop, const config::AdminConfig& config,
                                   AdminApi& api, std::string& error) {
  sockaddr_storage addr{};
  if (!net::resolve(config::HostPort{config.host, config.port}, addr, error)) {
    return nullptr;
  }
  auto* listener = new AdminListener(loop, config, api);
  uv_tcp_init(loop, &listener->tcp_);
  listener->tcp_.data = listener;
  int rc = uv_tcp_bind(&listener->tcp_, reinterpret_cast<const sockaddr*>(&addr), 0);
  if (rc == 0) {
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener->tcp_), 64, &onConnection);
  }
  if (rc != 0) {
    error = uv_strerror(rc);
    listener->close();
    return nullptr;
  }
  sockaddr_storage bound{};
  int len = sizeof bound;
  uv_tcp_getsockname(&listener->tcp_, reinterpret_cast<sockaddr*>(&bound), &len);
  listener->port_ = ntohs(bound.ss_family == AF_INET6
                              ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                              : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return listener;
}

void AdminListener::close() {
  for (AdminConn* conn : std::set<AdminConn*>(conns_)) {
    conn->detach();
    conn->close();
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
