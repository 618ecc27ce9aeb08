#include "proxy/upstream/exchange.h"

#include <utility>

#include <algorithm>

#include "lib/http/serializer.h"
#include "proxy/log.h"
#include "proxy/upstream/pool.h"
#include "proxy/worker.h"

namespace edge::upstream {
namespace {

constexpr size_t kPendingBodyHighWater = 256 * 1024;

constexpr std::string_view kNoServerLeft = ": no server left to try";
constexpr std::string_view kUnreachable = " is unreachable: ";

}  // namespace

filters::ErrorKind errorKindOf(UpstreamFailure::Kind kind, bool response_started) {
  using filters::ErrorKind;
  using Kind = UpstreamFailure::Kind;
  switch (kind) {
    case Kind::ConnectFailed:
      return ErrorKind::ConnectRefused;
    case Kind::ConnectTimeout:
      return ErrorKind::ConnectTimeout;
    case Kind::TlsFailed:
      return ErrorKind::UpstreamTls;
    case Kind::FirstByteTimeout:
      return ErrorKind::FirstByteTimeout;
    case Kind::IdleTimeout:
      // Before the head the server is connected but has not answered in time.
      return response_started ? ErrorKind::UpstreamReset : ErrorKind::FirstByteTimeout;
    case Kind::BadResponse:
      return ErrorKind::UpstreamProtocol;
    case Kind::ClosedBeforeResponse:
    case Kind::ClosedMidResponse:
      return ErrorKind::UpstreamReset;
  }
  return ErrorKind::UpstreamReset;
}

int failureStatus(UpstreamFailure::Kind kind) {
  using Kind = UpstreamFailure::Kind;
  const bool timeout =
      kind == Kind::ConnectTimeout || kind == Kind::FirstByteTimeout || kind == Kind::IdleTimeout;
  return timeout ? 504 : 502;
}

std::string failureReason(std::string_view name, UpstreamFailure::Kind kind,
                          std::string_view detail) {
  const std::string_view what =
      kind == UpstreamFailure::Kind::ConnectFailed ? kUnreachable : " failed: ";
  std::string reason(name);
  reason.append(what).append(detail);
  return reason;
}

UpstreamExchange::UpstreamExchange(Worker& worker, RuntimePtr runtime, size_t upstream,
                                   UpstreamRequest&& request, ExchangeSink& sink)
    : worker_(worker),
      runtime_(std::move(runtime)),
      upstream_(upstream),
      pool_(worker.upstreams().poolFor(runtime_, upstream)),
      request_(std::move(request)),
      sink_(&sink) {
  // A request without a body is complete from the start: the first-byte timeout runs as
  // soon as its head is written.
  body_complete_ = request_.framing.kind == http::BodyFraming::None;
  tried_servers_.assign(runtime_->config->upstreams[upstream_].servers.size(), false);
}

UpstreamExchange::~UpstreamExchange() {
  if (conn_ != nullptr) {
    conn_->abandon();
  }
}

std::string UpstreamExchange::upstreamName() const {
  const config::UpstreamConfig& cfg = runtime_->config->upstreams[upstream_];
  return "upstream \"" + cfg.name + "\" (" + cfg.servers[server_].str() + ")";
}

void UpstreamExchange::start() { acquireConnection(); }

void UpstreamExchange::cancel() {
  done_ = true;
  if (conn_ != nullptr) {
    conn_->abandon();
    conn_ = nullptr;
  }
}

void UpstreamExchange::acquireConnection() {
  size_t picked = pool_->balancer().pick(worker_.nowMs(), tried_servers_);
  if (picked == Balancer::kNone) {
    fail(502, upstreamName() + std::string(kNoServerLeft), filters::ErrorKind::ConnectRefused);
    return;
  }
  server_ = picked;
  record_.server = &runtime_->config->upstreams[upstream_].servers[server_];
  tried_servers_[server_] = true;
  address_ = pool_->runtime().addresses->upstream(pool_->index()).server(server_).pick();
  if (UpstreamConn* idle = pool_->takeIdle(server_, address_)) {
    idle->attach(*this);
    useConnection(idle);
    return;
  }
  connectFresh();
}

metrics::Slot UpstreamExchange::slot() const {
  const auto& slots = runtime_->upstream_slots;
  return upstream_ < slots.size() ? slots[upstream_] : metrics::NameSlots::kOther;
}

void UpstreamExchange::connectFresh() {
  worker_.upstreamCounters().connectStarted(slot());
  conn_ = UpstreamConn::connect(worker_, pool_, server_, address_, *this);
  if (conn_ == nullptr) {
    onUpstreamFailure(UpstreamFailure{UpstreamFailure::Kind::ConnectFailed, "cannot connect"});
  }
}

void UpstreamExchange::onUpstreamReady() { useConnection(conn_); }

void UpstreamExchange::useConnection(UpstreamConn* conn) {
  conn_ = conn;
  record_.connected_ms = worker_.nowMs();
  conn_->beginExchange(request_.expect_no_body, request_.upgrade);
  conn_->write(http::serializeRequestHead(request_.method, request_.target, request_.headers,
                                          request_.framing));
  head_sent_ = true;
  if (!pending_body_.empty()) {
    body_sent_ = true;
    conn_->write(std::move(pending_body_));
    pending_body_.clear();
  }
  if (body_complete_) {
    conn_->requestSent();
  }
  if (!conn_->congested()) {
    sink_->onExchangeWritable();
  }
}

void UpstreamExchange::sendBody(const char* data, size_t len) {
  if (done_) {
    return;
  }
  std::string framed;
  if (request_.framing.kind == http::BodyFraming::Chunked) {
    http::appendChunk(framed, std::string_view(data, len));
  } else {
    framed.assign(data, len);
  }
  if (conn_ != nullptr && head_sent_) {
    body_sent_ = true;
    conn_->write(std::move(framed));
  } else {
    pending_body_.append(framed);
  }
}

void UpstreamExchange::endBody() {
  if (done_ || request_.framing.kind == http::BodyFraming::None) {
    return;
  }
  body_complete_ = true;
  std::string last = request_.framing.kind == http::BodyFraming::Chunked
                         ? std::string(http::kLastChunk)
                         : std::string();
  if (conn_ != nullptr && head_sent_) {
    conn_->write(std::move(last));
    conn_->requestSent();
  } else {
    pending_body_.append(last);
  }
}

bool UpstreamExchange::congested() const {
  if (conn_ != nullptr && head_sent_) {
    return conn_->congested();
  }
  return pending_body_.size() > kPendingBodyHighWater;
}

void UpstreamExchange::pauseReading() {
  if (conn_ != nullptr) {
    conn_->pauseReading();
  }
}

void UpstreamExchange::resumeReading() {
  if (conn_ != nullptr) {
    conn_->resumeReading();
  }
}

void UpstreamExchange::onUpstreamWritable() { sink_->onExchangeWritable(); }

void UpstreamExchange::onUpstreamHead(http::ResponseHead&& head) {
  response_started_ = true;
  record_.first_byte_ms = worker_.nowMs();
  pool_->balancer().reportSuccess(server_);
  sink_->onExchangeHead(std::move(head));
}

UpstreamConn& UpstreamExchange::takeTunnelConnection() {
  done_ = true;
  return *std::exchange(conn_, nullptr);
}

void UpstreamExchange::onUpstreamBody(const char* data, size_t len) {
  sink_->onExchangeBody(data, len);
}

void UpstreamExchange::onUpstreamReadBatchDone() { sink_->onExchangeReadBatchDone(); }

void UpstreamExchange::onUpstreamEnd() {
  conn_ = nullptr;
  done_ = true;
  sink_->onExchangeEnd();
}

void UpstreamExchange::fail(int status, const std::string& reason, filters::ErrorKind kind) {
  done_ = true;
  record_.error = kind;
  if (conn_ != nullptr) {
    conn_->abandon();
    conn_ = nullptr;
  }
  sink_->onExchangeFailed(status, reason, response_started_);
}

void UpstreamExchange::onUpstreamFailure(const UpstreamFailure& failure) {
  bool was_reused = conn_ != nullptr && conn_->reused();
  conn_ = nullptr;
  head_sent_ = false;
  if (response_started_) {
    EDGE_LOG_WARN("%s: response broken off: %s", upstreamName().c_str(), failure.detail.c_str());
    worker_.upstreamCounters().failed(slot(), errorKindOf(failure.kind, true));
    fail(502, failure.detail, errorKindOf(failure.kind, true));
    return;
  }
  Balancer& balancer = pool_->balancer();
  UpstreamCounters& counters = worker_.upstreamCounters();
  counters.failed(slot(), errorKindOf(failure.kind, false));
  auto reportFailure = [&] {
    if (balancer.reportFailure(server_, worker_.nowMs())) {
      counters.ejected(slot());
    }
  };
  using Kind = UpstreamFailure::Kind;
  switch (failure.kind) {
    case Kind::ConnectFailed:
    case Kind::ConnectTimeout:
    case Kind::TlsFailed:
      reportFailure();
      // Nothing reached the server, so any method may go to the next one.
      if (!body_sent_ &&
          std::find(tried_servers_.begin(), tried_servers_.end(), false) != tried_servers_.end()) {
        EDGE_LOG_WARN("%s: %s; trying the next server", upstreamName().c_str(),
                      failure.detail.c_str());
        counters.retried(slot());
        acquireConnection();
        return;
      }
      break;
    case Kind::ClosedBeforeResponse:
      // Nothing of the body was lost with the connection (bytes still to come wait in
      // pending_body_), so the request can be sent again as it is.
      if (was_reused && !retried_ && !body_sent_ && http::isIdempotentMethod(request_.method)) {
        // The server closed a kept-alive connection as we reused it: one fresh attempt.
        retried_ = true;
        counters.retried(slot());
        connectFresh();
        return;
      }
      reportFailure();
      break;
    case Kind::FirstByteTimeout:
      reportFailure();
      break;
    case Kind::IdleTimeout:
    case Kind::BadResponse:
    case Kind::ClosedMidResponse:
      break;
  }
  std::string reason = failureReason(upstreamName(), failure.kind, failure.detail);
  EDGE_LOG_WARN("%s %s: %s", request_.method.c_str(), request_.target.c_str(), reason.c_str());
  fail(failureStatus(failure.kind), reason, errorKindOf(failure.kind, false));
}

}  // namespace edge::upstream
