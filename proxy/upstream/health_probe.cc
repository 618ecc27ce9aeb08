#include "proxy/upstream/health_probe.h"

#include <array>
#include <span>

#include "lib/http/response_parser.h"
#include "proxy/net/tcp_socket.h"
#include "proxy/tls/tls_socket.h"

namespace edge::upstream {

// One check: connect, send the GET, read up to the response head, then close. Frees itself in
// its socket's close callback; the probe hears at most one result, and none once it let go.
class CheckConn final : public net::SocketHandler, private http::ResponseSink {
 public:
  CheckConn(uv_loop_t* loop, HealthProbe& probe, std::shared_ptr<const ProbeSpec> shared)
      : probe_(&probe), parser_(*this), spec_(std::move(shared)) {
    const ProbeSpec& spec = *spec_;
    std::span<char> buffer(buffer_.data(), buffer_.size());
    if (spec.tls) {
      tls_ = tls::TlsSocket::create(loop, *this, buffer, {},
                                    tls::TlsSocketOptions{spec.tls->newConnection(spec.server),
                                                          false, nullptr});
      socket_ = tls_;
    } else {
      socket_ = net::TcpSocket::create(loop, *this, buffer);
    }
    request_ = "GET " + spec.check.path + " HTTP/1.1\r\nHost: " + spec.host +
               "\r\nUser-Agent: edge-proxy-health-check\r\nAccept: */*\r\n"
               "Connection: close\r\n\r\n";
    parser_.expectResponse(false);
  }

  void connect(const sockaddr_storage& address) {
    const int rc = socket_->connect(reinterpret_cast<const sockaddr*>(&address));
    if (rc != 0) {
      finish(false, 0, std::string("connect: ") + uv_strerror(rc));
    }
  }

  // The probe gives up on this check (timeout or stop): no result, just close.
  void abandon() {
    probe_ = nullptr;
    socket_->close();
  }

 private:
  void onSocketConnected(int status) override {
    if (status < 0) {
      const bool tls_failed = tls_ != nullptr && tls_->failure() != tls::HandshakeFailure::None;
      finish(false, 0,
             tls_failed ? "TLS handshake failed: " + tls_->errorDetail()
                        : std::string("connect: ") + uv_strerror(status));
      return;
    }
    socket_->write(std::move(request_));
    socket_->flush();
    socket_->startReading();
  }
  void onSocketData(const char* data, size_t len) override {
    const auto result = parser_.execute(data, len);
    if (result.outcome == http::ResponseParser::Outcome::Error) {
      finish(false, 0, "malformed response: " + parser_.error());
    }
  }
  void onSocketReadEnd(int status) override {
    finish(false, 0, status == UV_EOF ? "closed before a response"
                                      : std::string("read: ") + uv_strerror(status));
  }
  void onSocketWriteError(int status) override {
    finish(false, 0, std::string("write: ") + uv_strerror(status));
  }
  void onSocketClosed() override { delete this; }

  void onResponseHead(http::ResponseHead&& head) override {
    const bool passed = spec_->check.expects(head.status);
    finish(passed, head.status,
           passed ? std::string() : "status " + std::to_string(head.status) + " not expected");
  }
  void onResponseBody(const char*, size_t) override {}
  void onResponseEnd() override {}

  void finish(bool passed, int status, std::string error) {
    if (probe_ == nullptr) {
      return;
    }
    HealthProbe* probe = probe_;
    probe_ = nullptr;
    socket_->close();
    probe->onCheckDone(passed, status, std::move(error));
  }

  HealthProbe* probe_;
  net::Socket* socket_ = nullptr;
  tls::TlsSocket* tls_ = nullptr;
  http::ResponseParser parser_;
  std::shared_ptr<const ProbeSpec> spec_;
  std::string request_;
  std::array<char, 16 * 1024> buffer_{};
};

HealthProbe* HealthProbe::start(uv_loop_t* loop, std::shared_ptr<const ProbeSpec> spec,
                                const Target& target, OnChange on_change) {
  auto* probe = new HealthProbe(loop, std::move(spec), target, std::move(on_change));
  probe->schedule(std::chrono::milliseconds(0));
  return probe;
}

HealthProbe::HealthProbe(uv_loop_t* loop, std::shared_ptr<const ProbeSpec> spec,
                         const Target& target, OnChange on_change)
    : spec_(std::move(spec)),
      address_(target.address),
      health_(target.health),
      on_change_(std::move(on_change)),
      state_(spec_->check.healthy_threshold, spec_->check.unhealthy_threshold) {
  uv_timer_init(loop, &timer_);
  timer_.data = this;
  // A target kept across a new resolution keeps its health; a new one starts healthy.
  if (!health_->healthy.load(std::memory_order_relaxed)) {
    for (uint32_t i = 0; i < spec_->check.unhealthy_threshold; ++i) {
      state_.record(false);
    }
  }
}

void HealthProbe::schedule(std::chrono::milliseconds delay) {
  uv_timer_start(
      &timer_, [](uv_timer_t* t) { static_cast<HealthProbe*>(t->data)->onTimer(); },
      static_cast<uint64_t>(delay.count()), 0);
}

void HealthProbe::onTimer() {
  if (conn_ == nullptr) {
    beginCheck();
    return;
  }
  // The check in progress ran out of time.
  conn_->abandon();
  conn_ = nullptr;
  onCheckDone(false, 0, "timed out after " + std::to_string(spec_->check.timeout.count()) + "ms");
}

void HealthProbe::beginCheck() {
  conn_ = new CheckConn(timer_.loop, *this, spec_);
  schedule(spec_->check.timeout);
  conn_->connect(address_);  // may finish at once (then conn_ is null again)
}

void HealthProbe::onCheckDone(bool passed, int status, std::string error) {
  conn_ = nullptr;
  ++checks_;
  last_status_ = status;
  last_error_ = std::move(error);
  if (state_.record(passed)) {
    health_->healthy.store(state_.healthy(), std::memory_order_relaxed);
    if (on_change_) {
      on_change_(*this);
    }
  }
  if (!stopped_) {
    schedule(spec_->check.interval);
  }
}

void HealthProbe::stop() {
  stopped_ = true;
  if (conn_ != nullptr) {
    conn_->abandon();
    conn_ = nullptr;
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_),
           [](uv_handle_t* h) { delete static_cast<HealthProbe*>(h->data); });
}

}  // namespace edge::upstream
