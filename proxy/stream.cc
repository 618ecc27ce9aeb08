#include "proxy/stream.h"

#include "config/route_rules.h"
#include "lib/cache/key.h"
#include "lib/cache/shared_cache.h"
#include "lib/http/serializer.h"
#include "lib/http/target.h"
#include "lib/http/via.h"
#include "proxy/background_encoder.h"
#include "proxy/client_side.h"
#include "proxy/log.h"
#include "proxy/timer.h"

namespace edge {
namespace {

// Splits an absolute-form target ("http://host:port/p?q") into authority and origin-form.
void splitAbsoluteForm(std::string_view target, std::string& authority, std::string& origin) {
  std::string_view rest = target.substr(target.find("://") + 3);
  size_t path_start = rest.find_first_of("/?");
  authority.assign(rest.substr(0, path_start));
  std::string_view path = path_start == std::string_view::npos ? "" : rest.substr(path_start);
  origin.clear();
  if (path.empty() || path[0] == '?') {
    origin.push_back('/');  // "http://h" and "http://h?q" have the root path
  }
  origin.append(path);
}

bool isUnsafeMethod(std::string_view method) {
  return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

}  // namespace

Stream::Stream(ClientSide& down, Worker& worker, http::RequestHead&& head)
    : down_(&down),
      worker_(worker),
      runtime_(worker.runtimePtr()),
      req_(std::move(head)),
      batch_runner_(worker),
      services_{&worker.cache(), &worker.encoder(), &batch_runner_},
      link_(std::make_shared<AdopterLink>(AdopterLink{this})) {
  ctx_.timings.accepted = down.acceptedMs();
  ctx_.timings.headers_read = worker.nowMs();
}

Stream::~Stream() {
  stopFollowing();
  link_->adopter = nullptr;
  closeContext();
  if (chain_) {
    chain_->log();
  }
  worker_.requestCounters().record(ctx_);
  if (ctx_.invalid_json) {
    EDGE_LOG_DEBUG("%s %s: the origin's JSON is invalid; sent unprojected", req_.method.c_str(),
                   ctx_.target.c_str());
  }
}

// ---- routing, the request filters and the upstream request --------------------------------

void Stream::start() {
  ctx_.method = req_.method;
  ctx_.head_request = req_.method == "HEAD";
  ctx_.client_http10 = !down_->requestHttp11();
  if (!resolveTarget()) {
    return;
  }
  if (isBatchRequest()) {
    makeChain(nullptr);  // the batch filter answers it
    chain_->startRequest(req_);
    return;
  }
  if (!route()) {
    return;
  }
  buildUpstreamRequest();
  makeChain(route_);
  chain_->startRequest(req_);  // on to onRequestFiltersDone unless a filter answers
}

void Stream::makeChain(const config::Route* route) {
  ctx_.host = host_;
  ctx_.client_ip = down_->clientIp();
  ctx_.route = route;
  ctx_.route_class = route != nullptr ? &runtime_->config->classOf(*route) : nullptr;
  ctx_.upstream_headers = route != nullptr ? &upstream_headers_ : nullptr;
  filters::ChainOwner& owner = *this;
  chain_ = std::make_unique<filters::FilterChain>(ctx_, owner);
  runtime_->filters.addFilters(*chain_, route, services_);
}

void Stream::onRequestFiltersDone() {
  const config::RouteClass& cls = runtime_->config->classOf(*route_);
  policy_ = cache::classifyRequest(req_.method, upstream_headers_, cls);
  if (policy_.disposition == cache::RequestDisposition::Lookup && !req_.hasBody()) {
    lookupCache();
    return;
  }
  passThrough(Outcome::Bypass, std::string("fwd=bypass; detail=") +
                                   (req_.hasBody() ? "body" : policy_.reason));
}

// The target in origin-form with its path normalised once: routing, the cache key, the batch
// check and the upstream request all read ctx_.target, so "/static/%2e%2e/api" can never
// match one route's rules and reach another route's resource.
bool Stream::resolveTarget() {
  const std::string* host_header = req_.headers.find("host");
  host_ = host_header != nullptr ? *host_header : std::string();
  std::string origin_form;
  if (req_.target.rfind("http://", 0) == 0 || req_.target.rfind("https://", 0) == 0) {
    splitAbsoluteForm(req_.target, host_, origin_form);
    req_.headers.set("Host", host_);  // RFC 9112 3.2.2: the target's authority wins over Host
  } else if (!req_.target.empty() && (req_.target[0] == '/' || req_.target == "*")) {
    origin_form = req_.target;
  } else {
    replyLocally(400, "request target must be a path (origin-form) or an absolute URI");
    return false;
  }
  // A stray '%' could be read as part of an escape by whoever decodes the path next, so the
  // resource it names would not be the one the proxy routed and keyed.
  if (http::hasMalformedEscape(std::string_view(origin_form).substr(0, origin_form.find('?')))) {
    replyLocally(400, "malformed percent-encoding in the request path: '%' must start %XX");
    return false;
  }
  ctx_.target = http::normaliseOriginForm(origin_form);
  return true;
}

bool Stream::isBatchRequest() const {
  const config::BatchConfig& batch = runtime_->config->batch;
  std::string_view target = ctx_.target;  // normalised origin-form
  return batch.enabled && target.substr(0, target.find('?')) == batch.path;
}

bool Stream::route() {
  std::string_view path = ctx_.target;
  path = path.substr(0, path.find('?'));
  route_ = runtime_->routes.match(host_, req_.method, path);
  if (route_ == nullptr) {
    replyLocally(404, "no route matches " + req_.method + " " + host_ + std::string(path));
    return false;
  }
  return true;
}

void Stream::buildUpstreamRequest() {
  const config::UpstreamConfig& cfg = runtime_->config->upstreamOf(*route_);
  upstream_headers_ = std::move(req_.headers);
  http::stripHopByHop(upstream_headers_);
  upstream_headers_.remove("expect");
  upstream_headers_.appendToList("X-Forwarded-For", down_->clientIp());
  upstream_headers_.set("X-Forwarded-Proto", "http");
  if (!host_.empty()) {
    upstream_headers_.set("X-Forwarded-Host", host_);
  }
  upstream_headers_.appendToList("Via", req_.http11() ? http::kVia : http::kVia10);
  if (cfg.host_header) {
    upstream_headers_.set("Host", *cfg.host_header);
  } else if (host_.empty()) {
    upstream_headers_.set("Host", cfg.servers[0].str());  // HTTP/1.0 client without Host
  }
  request_framing_ =
      http::upstreamRequestFraming(req_.has_content_length, req_.content_length, req_.chunked);
}

void Stream::passThrough(Outcome outcome, std::string detail) {
  ctx_.outcome = outcome;
  ctx_.cache_detail = std::move(detail);
  // The last use of the upstream headers: nothing looks at them once the request is gone.
  upstream::UpstreamRequest request{req_.method, ctx_.target, std::move(upstream_headers_),
                                    request_framing_, ctx_.head_request};
  upstream::ExchangeSink& sink = *this;
  exchange_ = std::make_unique<upstream::UpstreamExchange>(worker_, route_->upstream_index,
                                                           std::move(request), sink);
  if (req_.expect_continue && req_.hasBody()) {
    sendContinue();  // we read the body ourselves and stream it: the client may send it now
  }
  if (request_complete_) {
    exchange_->endBody();
  }
  exchange_->start();
}

void Stream::onRequestBody(const char* data, size_t len) {
  ctx_.bytes_in += len;
  if (chain_ && chain_->requestOwnedByFilter()) {
    chain_->sendRequestBody({std::make_shared<const std::string>(data, len)});
    return;
  }
  if (done_ || !exchange_) {
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
  if (exchange_ && !done_) {
    exchange_->endBody();
  }
}

void Stream::onExchangeWritable() {
  if (down_ != nullptr) {
    down_->resumeReading();
  }
}

// ---- pass-through response -------------------------------------------------------------------

void Stream::onExchangeHead(http::ResponseHead&& head) {
  noteExchange();
  if (down_ == nullptr) {
    return;
  }
  invalidateAfterUnsafeMethod(head);
  filters::ResponseHead response;
  response.status = head.status;
  response.reason = std::move(head.reason);
  response.headers = std::move(head.headers);
  http::stripHopByHop(response.headers);
  response.headers.appendToList("Via", http::kVia);
  if (head.has_content_length) {
    response.content_length = head.content_length;
  }
  source_started_ = true;
  chain_->sendHeaders(std::move(response), false);
}

void Stream::onExchangeBody(const char* data, size_t len) {
  if (down_ == nullptr || done_) {
    return;
  }
  chain_->sendBody({std::make_shared<const std::string>(data, len)});
  if (down_ != nullptr && down_->congested() && exchange_) {
    exchange_->pauseReading();  // resumed by onDownstreamWritable
  }
}

void Stream::onExchangeReadBatchDone() {
  if (down_ != nullptr && !done_) {
    chain_->sendBody({nullptr, false, true});  // what arrived leaves now, compressed or not
  }
}

void Stream::onDownstreamWritable() {
  if (exchange_ && !done_) {
    exchange_->resumeReading();
  }
}

void Stream::onExchangeEnd() {
  noteExchange();
  if (down_ != nullptr && !done_) {
    chain_->sendBody({nullptr, true});
  }
}

void Stream::onExchangeFailed(int status, const std::string& reason, bool after_head) {
  noteExchange();  // the error kind: a clean reply below reports the exchange's own
  if (down_ == nullptr || done_) {
    return;
  }
  if (after_head && replaceHeldResponse(status, reason)) {
    return;
  }
  if (after_head) {
    done_ = true;
    ctx_.error = filters::ErrorKind::Aborted;
    markDone();
    down_->abortResponse();
    return;
  }
  replyLocally(status, reason);
}

bool Stream::replaceHeldResponse(int status, const std::string& reason) {
  if (!chain_ || !chain_->holdingResponse()) {
    return false;
  }
  chain_->dropHeldResponse();
  source_started_ = false;
  replyLocally(status, reason);
  return true;
}

// Unsafe methods that succeed invalidate what the cache holds for their URL and for the
// Location / Content-Location they name on the same host (RFC 9111 section 4.4).
void Stream::invalidateAfterUnsafeMethod(const http::ResponseHead& head) {
  if (!isUnsafeMethod(req_.method) || head.status < 200 || head.status >= 400) {
    return;
  }
  auto purgeUrl = [&](std::string_view target) {
    std::string_view path = target.substr(0, target.find('?'));
    const config::Route* get_route = runtime_->routes.match(host_, "GET", path);
    if (get_route == nullptr || !runtime_->config->classOf(*get_route).cache) {
      return;
    }
    const config::RouteClass& cls = runtime_->config->classOf(*get_route);
    std::string pattern = cache::globEscape(cache::urlPrefix(host_, target, cls)) + "*";
    worker_.cache().store.purgeGlob(pattern, cache::PurgeMode::Hard);
  };
  purgeUrl(ctx_.target);
  for (const char* name : {"location", "content-location"}) {
    const std::string* value = head.headers.find(name);
    if (value == nullptr || value->empty()) {
      continue;
    }
    std::string_view url = *value;
    std::string same_host_prefix = "http://" + host_;
    if (url.starts_with(same_host_prefix)) {
      url.remove_prefix(same_host_prefix.size());
    }
    if (!url.empty() && url[0] == '/') {
      purgeUrl(url);
    }
  }
}

void Stream::replyLocally(int status, const std::string& reason) {
  done_ = true;
  stopFollowing();
  if (exchange_) {
    exchange_->cancel();
  }
  if (!key_.empty() && ctx_.outcome == Outcome::None) {
    ctx_.outcome = leading_ || flight_ == nullptr ? Outcome::Miss : Outcome::Coalesced;
    ctx_.cache_detail = "fwd=uri-miss; fwd-status=" + std::to_string(status);
  }
  noteLocalReply(status, reason);
  if (down_ != nullptr) {
    down_->replyLocally(status, reason, false, cacheHeaderLines());
  }
}

void Stream::onDownstreamGone() {
  if (!done_) {
    client_gone_ = true;  // else the stream itself broke its response off
  }
  closeContext();  // nothing changes it any more
  down_ = nullptr;
  done_ = true;
  if (chain_) {
    chain_->log();
    chain_.reset();  // the filters' waits (a running batch's items) are cancelled
  }
  stopFollowing();
  if (exchange_) {
    exchange_->cancel();
  }
}

// ---- the request context --------------------------------------------------------------------

// What the exchange saw (a pass-through, or a fetch this stream adopted): the upstream's
// timings and address, and why it failed.
void Stream::noteExchange() {
  if (!exchange_) {
    return;
  }
  const upstream::ExchangeRecord& record = exchange_->record();
  ctx_.timings.upstream_connected = record.connected_ms;
  ctx_.timings.upstream_first_byte = record.first_byte_ms;
  if (record.server != nullptr) {
    ctx_.upstream_server = record.server;
  }
  if (ctx_.error == filters::ErrorKind::None) {
    ctx_.error = record.error;
  }
}

// A reply of the proxy's own: its status, its error kind (unless the exchange told it
// already) and its time.
void Stream::noteLocalReply(int status, std::string_view reason) {
  ctx_.status = status;
  if (ctx_.error == filters::ErrorKind::None) {
    ctx_.error = status >= 500   ? upstream::errorKindOfReason(status, reason)
                 : status >= 400 ? filters::ErrorKind::BadRequest
                                 : filters::ErrorKind::None;
  }
  markDone();
  if (down_ != nullptr) {
    ctx_.timings.first_byte_out = ctx_.timings.done;
  }
}

// The response is over (sent, refused, broken off or abandoned); the first end counts.
void Stream::markDone() {
  if (ctx_.timings.done == 0) {
    ctx_.timings.done = worker_.nowMs();
  }
}

// Before the log phase: a response that started and never ended broke off (unless its client
// left), and a request still open ends now.
void Stream::closeContext() {
  noteExchange();
  if (response_started_ && !response_complete_ && !client_gone_ &&
      ctx_.error == filters::ErrorKind::None) {
    ctx_.error = filters::ErrorKind::Aborted;
  }
  markDone();
}

}  // namespace edge
