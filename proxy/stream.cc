#include "proxy/stream.h"

#include <utility>

#include "config/route_rules.h"
#include "lib/http/serializer.h"
#include "lib/http/per_request_headers.h"
#include "lib/http/request_id.h"
#include "lib/http/target.h"
#include "lib/http/upgrade.h"
#include "lib/http/via.h"
#include "proxy/background_encoder.h"
#include "proxy/client_side.h"
#include "proxy/log.h"
#include "proxy/upstream/forward_headers.h"

namespace edge {

Stream::Stream(ClientSide& down, Worker& worker, http::RequestHead&& head)
    : down_(&down),
      worker_(worker),
      runtime_(worker.runtimePtr()),
      req_(std::move(head)),
      batch_runner_(worker),
      services_{&worker.cache(), &worker, &worker.encoder(), &batch_runner_},
      writer_(down, ctx_) {
  ctx_.timings.accepted = down.acceptedMs();
  ctx_.timings.headers_read = worker.nowMs();
}

Stream::~Stream() {
  if (tunnel_reserved_) {
    worker_.connectionCounters().tunnelReleased();
  }
  if (adopter_link_) {
    adopter_link_->adopter = nullptr;
  }
  closeContext();
  if (chain_) {
    chain_->log();
  }
  worker_.requestCounters().record(ctx_, classSlot());
  if (WorkerAccessLog* log = worker_.accessLog()) {
    log->request(ctx_);
  }
  if (ctx_.invalid_json) {
    EDGE_LOG_DEBUG("%s %s: the origin's JSON is invalid; sent unprojected", req_.method.c_str(),
                   ctx_.target.c_str());
  }
}

metrics::Slot Stream::classSlot() const {
  if (ctx_.route == nullptr || ctx_.route->class_index >= runtime_->class_slots.size()) {
    return metrics::NameSlots::kNone;
  }
  return runtime_->class_slots[ctx_.route->class_index];
}

// ---- Route ---------------------------------------------------------------------------------

// The target in origin-form with its path normalised once: routing, the cache key, the batch
// check and the upstream request all read ctx_.target, so "/static/%2e%2e/api" can never
// match one route's rules and reach another route's resource.
void Stream::start() {
  ctx_.method = req_.method;
  ctx_.head_request = req_.method == "HEAD";
  ctx_.client_http10 = !down_->requestHttp11();
  ctx_.client_ip = down_->clientIp();
  ctx_.client_tls = down_->clientTls();
  takeRequestId();
  if (const std::string* agent = req_.headers.find("user-agent")) {
    ctx_.user_agent = *agent;
  }
  if (const std::string* referer = req_.headers.find("referer")) {
    ctx_.referer = *referer;
  }
  const std::string* host_header = req_.headers.find("host");
  std::string_view host = host_header != nullptr ? std::string_view(*host_header) : "";
  http::ResolvedTarget resolved = http::resolveTarget(req_.target, host);
  if (resolved.error != nullptr) {
    replyLocally(400, resolved.error);
    return;
  }
  if (resolved.host != host) {
    req_.headers.set("Host", resolved.host);  // an absolute-form target's authority wins
  }
  ctx_.host = std::move(resolved.host);
  ctx_.target = std::move(resolved.target);

  const config::BatchConfig& batch = runtime_->config->batch;
  std::string_view path = std::string_view(ctx_.target).substr(0, ctx_.target.find('?'));
  if (batch.enabled && path == batch.path) {
    makeChain(nullptr);  // the batch filter answers it
  } else if (route()) {
    if (!offerUpgrade()) {
      return;
    }
    const std::optional<filters::ClientTls>& tls = down_->clientTls();
    upstream::ForwardedFrom from{down_->clientIp(), ctx_.host, req_.http11(),
                                 tls ? &*tls : nullptr, &runtime_->client_subject_headers};
    upstream_headers_ = upstream::forwardHeaders(std::move(req_.headers), from,
                                                 runtime_->config->upstreamOf(*route_));
    if (!upgrade_.empty()) {
      upstream_headers_.set("Connection", "upgrade");
      upstream_headers_.set("Upgrade", upgrade_);
    }
    request_framing_ = http::upstreamRequestFraming(req_.has_content_length,
                                                    req_.content_length, req_.chunked);
    makeChain(route_, upgrade_.empty());
  } else {
    return;
  }
  step_ = Step::RequestFilters;
  chain_->startRequest(req_);  // on to onRequestFiltersDone unless a filter answers
}

// The client's X-Request-Id when it is one well-formed header line, else a new one; either
// way the upstream request carries it, and so does the response (the writer adds it).
void Stream::takeRequestId() {
  const std::string* incoming = req_.headers.find("x-request-id");
  if (incoming != nullptr && req_.headers.count("x-request-id") == 1 &&
      http::validRequestId(*incoming)) {
    ctx_.request_id = *incoming;
    return;
  }
  ctx_.request_id = worker_.requestIds().next();
  req_.headers.set("X-Request-Id", ctx_.request_id);
}

bool Stream::route() {
  std::string_view path = ctx_.target;
  path = path.substr(0, path.find('?'));
  route_ = runtime_->routes.match(ctx_.host, req_.method, path);
  if (route_ == nullptr) {
    replyLocally(404, "no route matches " + req_.method + " " + ctx_.host + std::string(path));
    return false;
  }
  return true;
}

bool Stream::offerUpgrade() {
  // HTTP/1.0 has no Upgrade (RFC 9110 7.8): such a request, like one with a body, goes
  // upstream as a plain request (Upgrade is hop-by-hop).
  if (!down_->canTunnel() || req_.hasBody() || !req_.http11()) {
    return true;
  }
  upgrade_ = http::allowedUpgrade(req_.headers, route_->upgrade);
  if (upgrade_.empty()) {
    return true;
  }
  const size_t limit = runtime_->config->limits.max_tunnels;
  ConnectionCounters& counters = worker_.connectionCounters();
  if (counters.tunnelsOpenOrReserved() >= limit) {
    counters.tunnelRefused();
    upgrade_.clear();
    replyLocally(503, "too many open tunnels on this worker (limits.max_tunnels: " +
                          std::to_string(limit) + ")");
    return false;
  }
  counters.tunnelReserved();  // released when this stream ends, tunnel or not
  tunnel_reserved_ = true;
  return true;
}

void Stream::makeChain(const config::Route* route, bool with_filters) {
  ctx_.client_ip = down_->clientIp();
  ctx_.client_tls = down_->clientTls();
  ctx_.route = route;
  ctx_.route_class = route != nullptr ? &runtime_->config->classOf(*route) : nullptr;
  ctx_.upstream_headers = route != nullptr ? &upstream_headers_ : nullptr;
  filters::ChainOwner& owner = *this;
  chain_.emplace(ctx_, owner);
  if (with_filters) {
    runtime_->filters.addFilters(*chain_, route, services_);
  }
}

// ---- Upstream ------------------------------------------------------------------------------

// Every request filter let the request go (the cache filter has said why in ctx_.outcome):
// it goes upstream, or takes over the response of the fetch it led.
void Stream::onRequestFiltersDone() {
  step_ = Step::Upstream;
  if (adopted_exchange_) {
    exchange_ = std::move(adopted_exchange_);
    exchange_->setSink(*this);
    onExchangeHead(std::move(adopted_head_));
    return;
  }
  passThrough();
}

void Stream::passThrough() {
  // The last use of the upstream headers: nothing looks at them once the request is gone.
  upstream::UpstreamRequest request{req_.method, ctx_.target, std::move(upstream_headers_),
                                    request_framing_, ctx_.head_request, !upgrade_.empty()};
  upstream::ExchangeSink& sink = *this;
  exchange_ = std::make_unique<upstream::UpstreamExchange>(
      worker_, runtime_, route_->upstream_index, std::move(request), sink);
  if (req_.expect_continue && req_.hasBody()) {
    sendContinue();  // we read the body ourselves and stream it: the client may send it now
  }
  if (request_complete_) {
    exchange_->endBody();
  }
  exchange_->start();
}

// The fetch this request leads hands over a response nobody else may have (still streaming).
void Stream::adoptExchange(std::unique_ptr<upstream::UpstreamExchange> exchange,
                           http::ResponseHead&& head, const char* reason) {
  filters::FetchLeader* leader = std::exchange(fetch_leader_, nullptr);
  if (leader == nullptr || over()) {
    exchange->cancel();
    return;
  }
  adopted_exchange_ = std::move(exchange);
  adopted_head_ = std::move(head);
  leader->onHandedOver(reason);  // the cache filter lets the request go: onRequestFiltersDone
  if (adopted_exchange_) {
    adopted_exchange_->cancel();  // the filter was no longer waiting for it
    adopted_exchange_.reset();
  }
}

void Stream::onRequestBody(const char* data, size_t len) {
  ctx_.bytes_in += len;
  if (chain_ && chain_->requestOwnedByFilter()) {
    chain_->sendRequestBody({std::make_shared<const std::string>(data, len)});
    return;
  }
  if (over() || !exchange_) {
    return;
  }
  exchange_->sendBody(data, len);
  if (exchange_->congested()) {
    down_->pauseReading();  // resumed by onExchangeWritable
  }
}

void Stream::onRequestEnd() {
  request_complete_ = true;
  if (chain_ && chain_->requestOwnedByFilter()) {
    chain_->sendRequestBody({nullptr, true});
    return;
  }
  if (exchange_ && !over()) {
    exchange_->endBody();
  }
}

void Stream::onExchangeWritable() {
  if (down_ != nullptr) {
    down_->resumeReading();
  }
}

void Stream::onExchangeHead(http::ResponseHead&& head) {
  noteExchange();
  if (over()) {
    return;
  }
  if (head.status == 101) {  // only ever for an offered upgrade
    switchProtocols(std::move(head));
    return;
  }
  filters::ResponseHead response;
  response.status = head.status;
  response.reason = std::move(head.reason);
  response.headers = std::move(head.headers);
  http::stripHopByHop(response.headers);
  http::stripPerRequestHeaders(response.headers);  // the writer sends this request's id
  response.headers.appendToList("Via", http::kVia);
  if (head.has_content_length) {
    response.content_length = head.content_length;
  }
  chain_->sendHeaders(std::move(response), false);
}

void Stream::onExchangeBody(const char* data, size_t len) {
  if (over()) {
    return;
  }
  chain_->sendBody({std::make_shared<const std::string>(data, len)});
  if (down_ != nullptr && down_->congested() && exchange_) {
    exchange_->pauseReading();  // resumed by onDownstreamWritable
  }
}

void Stream::onExchangeReadBatchDone() {
  if (!over()) {
    chain_->sendBody({nullptr, false, true});  // what arrived leaves now, compressed or not
  }
}

void Stream::onDownstreamWritable() {
  if (exchange_ && !over()) {
    exchange_->resumeReading();
  }
}

void Stream::onExchangeEnd() {
  noteExchange();
  if (!over()) {
    chain_->sendBody({nullptr, true});
  }
}

void Stream::onExchangeFailed(int status, const std::string& reason, bool after_head) {
  noteExchange();  // the error kind: a clean reply below reports the exchange's own
  if (over()) {
    return;
  }
  if (after_head) {
    failResponse(status, reason);
    return;
  }
  replyLocally(status, reason);
}

// The upstream took the upgrade: the client gets the 101 and the connection becomes a tunnel.
// The Stream is over (its context logs the 101); the client side retires it.
void Stream::switchProtocols(http::ResponseHead&& head) {
  std::string problem = http::switchProblem(head.headers, upgrade_);
  if (!problem.empty()) {
    exchange_->cancel();
    ctx_.error = filters::ErrorKind::UpstreamProtocol;
    replyLocally(502, problem);
    return;
  }
  http::Headers headers = std::move(head.headers);
  std::string protocol = headers.joined("upgrade");
  http::stripHopByHop(headers);
  http::stripPerRequestHeaders(headers);
  headers.set("X-Request-Id", ctx_.request_id);
  headers.set("Connection", "upgrade");
  headers.set("Upgrade", std::move(protocol));
  headers.appendToList("Via", http::kVia);
  std::string bytes = "HTTP/1.1 101 ";
  bytes += head.reason.empty() ? "Switching Protocols" : head.reason;
  bytes += "\r\n" + http::headerLines(headers) + "\r\n";
  ctx_.status = 101;
  ctx_.bytes_out += bytes.size();
  ctx_.timings.first_byte_out = worker_.nowMs();
  upstream::UpstreamConn& conn = exchange_->takeTunnelConnection();
  if (std::exchange(tunnel_reserved_, false)) {
    worker_.connectionCounters().tunnelReleased();  // the tunnel counts as open from here
  }
  ClientSide* down = down_;
  step_ = Step::Done;
  markDone();
  down_ = nullptr;
  std::function<void(uint64_t, uint64_t)> on_close;
  if (WorkerAccessLog* log = worker_.accessLog()) {
    on_close = log->tunnel(ctx_, worker_.nowMs());
  }
  down->startTunnel(conn, std::move(bytes), std::move(on_close));
}

void Stream::replyLocally(int status, const std::string& reason) {
  localReply(status, reason, false, {});
}

// ---- Done ----------------------------------------------------------------------------------

void Stream::onDownstreamGone() {
  if (step_ != Step::Done) {
    client_gone_ = true;  // else the stream itself broke its response off
  }
  closeContext();  // nothing changes it any more
  down_ = nullptr;
  step_ = Step::Done;
  fetch_leader_ = nullptr;
  if (chain_) {
    chain_->log();
    chain_.reset();  // the filters' waits (a shared fetch, a batch's items) are cancelled
  }
  if (exchange_) {
    exchange_->cancel();
  }
}

}  // namespace edge
