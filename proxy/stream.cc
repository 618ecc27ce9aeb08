#include "proxy/stream.h"

#include <algorithm>

#include "proxy/downstream_conn.h"
#include "proxy/http/serializer.h"
#include "proxy/log.h"
#include "proxy/upstream/pool.h"

namespace edge {
namespace {

using upstream::UpstreamFailure;

constexpr size_t kPendingBodyHighWater = 256 * 1024;
constexpr std::string_view kVia11 = "1.1 edge-proxy";
constexpr std::string_view kVia10 = "1.0 edge-proxy";

// Splits an absolute-form target ("http://host:port/p?q") into authority and origin-form.
bool splitAbsoluteForm(std::string_view target, std::string& authority, std::string& origin) {
  size_t scheme_end = target.find("://");
  if (scheme_end == std::string_view::npos) {
    return false;
  }
  std::string_view rest = target.substr(scheme_end + 3);
  size_t path_start = rest.find_first_of("/?");
  authority.assign(rest.substr(0, path_start));
  origin = path_start == std::string_view::npos ? "/" : std::string(rest.substr(path_start));
  if (!origin.empty() && origin[0] == '?') {
    origin.insert(0, "/");
  }
  return true;
}

}  // namespace

Stream::Stream(DownstreamConn& down, Worker& worker, http::RequestHead&& head)
    : down_(&down), worker_(worker), req_(std::move(head)) {}

Stream::~Stream() {
  if (up_ != nullptr) {
    up_->abandon();
  }
}

std::string Stream::upstreamName() const {
  const config::UpstreamConfig& cfg = worker_.runtime().config->upstreams[upstream_];
  return "upstream \"" + cfg.name + "\" (" + cfg.servers[server_].str() + ")";
}

// ---- routing and the upstream request ----------------------------------------------------

void Stream::start() {
  const std::string* host_header = req_.headers.find("host");
  std::string host = host_header != nullptr ? *host_header : std::string();
  if (req_.target.rfind("http://", 0) == 0 || req_.target.rfind("https://", 0) == 0) {
    std::string authority;
    splitAbsoluteForm(req_.target, authority, upstream_target_);
    host = authority;  // RFC 9112 section 3.2.2: the target's authority wins over Host
    req_.headers.set("Host", authority);
  } else if (!req_.target.empty() && (req_.target[0] == '/' || req_.target == "*")) {
    upstream_target_ = req_.target;
  } else {
    replyLocally(400, "request target must be a path (origin-form) or an absolute URI");
    return;
  }
  std::string_view path = upstream_target_;
  path = path.substr(0, path.find('?'));
  const config::Route* route = worker_.runtime().routes.match(host, req_.method, path);
  if (route == nullptr) {
    replyLocally(404, "no route matches " + req_.method + " " + host + std::string(path));
    return;
  }
  upstream_ = route->upstream_index;
  request_is_head_ = req_.method == "HEAD";
  tried_servers_.assign(worker_.runtime().config->upstreams[upstream_].servers.size(), false);
  buildUpstreamRequest();
  if (req_.expect_continue && req_.hasBody()) {
    // We read the body ourselves and stream it; the client may start sending now.
    down_->send(std::string("HTTP/1.1 100 Continue\r\n\r\n"));
    down_->flush();
  }
  acquireConnection();
}

void Stream::buildUpstreamRequest() {
  const config::UpstreamConfig& cfg = worker_.runtime().config->upstreams[upstream_];
  const std::string* host = req_.headers.find("host");
  std::string client_host = host != nullptr ? *host : std::string();
  upstream_headers_ = std::move(req_.headers);
  http::stripHopByHop(upstream_headers_);
  upstream_headers_.remove("expect");
  upstream_headers_.appendToList("X-Forwarded-For", down_->clientIp());
  upstream_headers_.set("X-Forwarded-Proto", "http");
  if (!client_host.empty()) {
    upstream_headers_.set("X-Forwarded-Host", client_host);
  }
  upstream_headers_.appendToList("Via", req_.http11() ? kVia11 : kVia10);
  if (cfg.host_header) {
    upstream_headers_.set("Host", *cfg.host_header);
  } else if (client_host.empty()) {
    upstream_headers_.set("Host", cfg.servers[0].str());  // HTTP/1.0 client without Host
  }
  request_framing_ =
      http::upstreamRequestFraming(req_.has_content_length, req_.content_length, req_.chunked);
}

void Stream::acquireConnection() {
  upstream::UpstreamSet& set = worker_.upstreams();
  server_ = set.balancer(upstream_).pick(worker_.nowMs(), tried_servers_);
  if (server_ == upstream::Balancer::kNone) {
    server_ = 0;
    replyLocally(502, upstreamName() + ": no server left to try");
    return;
  }
  tried_servers_[server_] = true;
  step_ = Step::Connecting;
  if (upstream::UpstreamConn* idle = set.takeIdle(upstream_, server_)) {
    idle->attach(*this);
    useConnection(idle);
    return;
  }
  connectFresh();
}

void Stream::connectFresh() {
  step_ = Step::Connecting;
  up_ = upstream::UpstreamConn::connect(worker_, upstream_, server_, *this);
  if (up_ == nullptr) {
    onUpstreamFailure(UpstreamFailure{UpstreamFailure::Kind::ConnectFailed, "cannot connect"});
  }
}

void Stream::onUpstreamReady() { useConnection(up_); }

void Stream::useConnection(upstream::UpstreamConn* conn) {
  up_ = conn;
  step_ = Step::Sending;
  up_->beginExchange(request_is_head_);
  up_->write(http::serializeRequestHead(req_.method, upstream_target_, upstream_headers_,
                                        request_framing_));
  head_sent_upstream_ = true;
  if (!pending_body_.empty()) {
    body_sent_upstream_ = true;
    up_->write(std::move(pending_body_));
    pending_body_.clear();
  }
  if (request_complete_) {
    up_->requestSent();
  }
  if (up_->congested()) {
    down_->pauseReading();
  } else {
    down_->resumeReading();
  }
}

// ---- request body --------------------------------------------------------------------------

void Stream::onRequestBody(const char* data, size_t len) {
  if (step_ == Step::Done) {
    return;
  }
  std::string framed;
  if (request_framing_.kind == http::BodyFraming::Chunked) {
    http::appendChunk(framed, std::string_view(data, len));
  } else {
    framed.assign(data, len);
  }
  if (up_ != nullptr && head_sent_upstream_) {
    body_sent_upstream_ = true;
    up_->write(std::move(framed));
    if (up_->congested()) {
      down_->pauseReading();  // resumed by onUpstreamWritable
    }
    return;
  }
  pending_body_.append(framed);
  if (pending_body_.size() > kPendingBodyHighWater) {
    down_->pauseReading();  // resumed once a connection takes the bytes
  }
}

void Stream::onRequestEnd() {
  request_complete_ = true;
  if (step_ == Step::Done) {
    return;
  }
  std::string last = request_framing_.kind == http::BodyFraming::Chunked
                         ? std::string(http::kLastChunk)
                         : std::string();
  if (up_ != nullptr && head_sent_upstream_) {
    up_->write(std::move(last));
    up_->requestSent();
  } else {
    pending_body_.append(last);
  }
}

void Stream::onUpstreamWritable() {
  if (down_ != nullptr) {
    down_->resumeReading();
  }
}

// ---- response ------------------------------------------------------------------------------

void Stream::onUpstreamHead(http::ResponseHead&& head) {
  step_ = Step::Receiving;
  response_started_ = true;
  worker_.upstreams().balancer(upstream_).reportSuccess(server_);
  http::Headers headers = std::move(head.headers);
  http::stripHopByHop(headers);
  headers.appendToList("Via", kVia11);
  http::DownstreamResponseFraming framing = http::downstreamResponseFraming(
      {request_is_head_, head.status, head.has_content_length, head.content_length,
       down_->requestHttp11()});
  response_chunked_ = framing.framing.kind == http::BodyFraming::Chunked;
  response_must_close_ = framing.must_close;
  http::ResponseConnection connection{response_must_close_ || down_->closeAfterResponse(),
                                      down_->requestHttp11()};
  down_->send(http::serializeResponseHead(head.status, head.reason, headers, framing, connection));
}

void Stream::onUpstreamBody(const char* data, size_t len) {
  if (response_chunked_) {
    std::string chunk;
    http::appendChunk(chunk, std::string_view(data, len));
    down_->send(std::move(chunk));
  } else {
    down_->send(std::string(data, len));
  }
  if (up_ != nullptr && down_->congested()) {
    up_->pauseReading();  // resumed by onDownstreamWritable
  }
}

void Stream::onUpstreamReadBatchDone() { down_->flush(); }

void Stream::onDownstreamWritable() {
  if (up_ != nullptr) {
    up_->resumeReading();
  }
}

void Stream::onUpstreamEnd() {
  up_ = nullptr;
  if (response_chunked_) {
    down_->send(std::string(http::kLastChunk));
  }
  step_ = Step::Done;
  down_->responseDone(response_must_close_);
}

// ---- failures ------------------------------------------------------------------------------

void Stream::onUpstreamFailure(const UpstreamFailure& failure) {
  bool was_reused = up_ != nullptr && up_->reused();
  up_ = nullptr;
  head_sent_upstream_ = false;
  if (response_started_) {
    EDGE_LOG_WARN("%s: response broken off: %s", upstreamName().c_str(), failure.detail.c_str());
    step_ = Step::Done;
    down_->abortResponse();
    return;
  }
  upstream::Balancer& balancer = worker_.upstreams().balancer(upstream_);
  using Kind = UpstreamFailure::Kind;
  switch (failure.kind) {
    case Kind::ConnectFailed:
    case Kind::ConnectTimeout:
      balancer.reportFailure(server_, worker_.nowMs());
      // Nothing reached the server, so any method may go to the next one.
      if (!body_sent_upstream_ &&
          std::find(tried_servers_.begin(), tried_servers_.end(), false) != tried_servers_.end()) {
        EDGE_LOG_WARN("%s: %s; trying the next server", upstreamName().c_str(),
                      failure.detail.c_str());
        acquireConnection();
        return;
      }
      break;
    case Kind::ClosedBeforeResponse:
      if (was_reused && !retried_ && !req_.hasBody() && http::isIdempotentMethod(req_.method)) {
        // The server closed a kept-alive connection as we reused it: one fresh attempt.
        retried_ = true;
        connectFresh();
        return;
      }
      balancer.reportFailure(server_, worker_.nowMs());
      break;
    case Kind::FirstByteTimeout:
      balancer.reportFailure(server_, worker_.nowMs());
      break;
    case Kind::IdleTimeout:
    case Kind::BadResponse:
    case Kind::ClosedMidResponse:
      break;
  }
  bool timeout = failure.kind == Kind::ConnectTimeout || failure.kind == Kind::FirstByteTimeout ||
                 failure.kind == Kind::IdleTimeout;
  std::string what = failure.kind == Kind::ConnectFailed ? "is unreachable: " : "failed: ";
  std::string reason = upstreamName() + " " + what + failure.detail;
  EDGE_LOG_WARN("%s %s: %s", req_.method.c_str(), upstream_target_.c_str(), reason.c_str());
  replyLocally(timeout ? 504 : 502, reason);
}

void Stream::replyLocally(int status, const std::string& reason) {
  step_ = Step::Done;
  if (up_ != nullptr) {
    up_->abandon();
    up_ = nullptr;
  }
  down_->replyLocally(status, reason, false);
}

void Stream::onDownstreamGone() {
  down_ = nullptr;
  step_ = Step::Done;
  if (up_ != nullptr) {
    up_->abandon();
    up_ = nullptr;
  }
}

}  // namespace edge
