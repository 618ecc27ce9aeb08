#include "proxy/stream.h"

#include "config/route_rules.h"
#include "filters/conditional/etag.h"
#include "proxy/batch_run.h"
#include "lib/cache/key.h"
#include "lib/cache/shared_cache.h"
#include "proxy/client_side.h"
#include "lib/http/serializer.h"
#include "lib/http/target.h"
#include "proxy/log.h"
#include "proxy/timer.h"

namespace edge {
namespace {

constexpr std::string_view kVia11 = "1.1 edge-proxy";
constexpr std::string_view kVia10 = "1.0 edge-proxy";

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

const char* outcomeLabel(int outcome) {
  static constexpr const char* kLabels[] = {"",      "HIT",         "MISS",     "STALE",
                                            "REVALIDATED", "COALESCED", "BYPASS"};
  return kLabels[outcome];
}

}  // namespace

Stream::Stream(ClientSide& down, Worker& worker, http::RequestHead&& head)
    : down_(&down),
      worker_(worker),
      runtime_(worker.runtimePtr()),
      req_(std::move(head)),
      link_(std::make_shared<AdopterLink>(AdopterLink{this})) {}

Stream::~Stream() {
  stopFollowing();
  link_->adopter = nullptr;
}

// ---- routing and the upstream request ----------------------------------------------------

void Stream::start() {
  request_is_head_ = req_.method == "HEAD";
  if (!resolveTarget()) {
    return;
  }
  if (isBatchRequest()) {
    startBatch();
    return;
  }
  if (!route()) {
    return;
  }
  buildUpstreamRequest();
  accept_ = filters::parseAcceptEncoding(upstream_headers_);
  // Kept apart: the upstream headers go away with a pass-through request, but a response held
  // back until complete is still checked against them.
  if (req_.method == "GET" || request_is_head_) {
    if (const std::string* inm = upstream_headers_.find("if-none-match")) {
      if_none_match_ = *inm;
    }
    if (const std::string* ims = upstream_headers_.find("if-modified-since")) {
      if_modified_since_ = *ims;
    }
  }
  if (!readFieldSelection()) {
    return;
  }
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
// check and the upstream request all read upstream_target_, so "/static/%2e%2e/api" can never
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
  upstream_target_ = http::normaliseOriginForm(origin_form);
  return true;
}

bool Stream::route() {
  std::string_view path = upstream_target_;
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
  upstream_headers_.appendToList("Via", req_.http11() ? kVia11 : kVia10);
  if (cfg.host_header) {
    upstream_headers_.set("Host", *cfg.host_header);
  } else if (host_.empty()) {
    upstream_headers_.set("Host", cfg.servers[0].str());  // HTTP/1.0 client without Host
  }
  request_framing_ =
      http::upstreamRequestFraming(req_.has_content_length, req_.content_length, req_.chunked);
}

void Stream::passThrough(Outcome outcome, std::string detail) {
  outcome_ = outcome;
  cache_detail_ = std::move(detail);
  if (fields_) {
    // The client holds a projection's validators: answered here once the whole body is in.
    upstream_headers_.remove("if-none-match");
    upstream_headers_.remove("if-modified-since");
  }
  // Our per-encoding tags mean nothing to the origin: it gets its own tags back.
  if (const std::string* inm = upstream_headers_.find("if-none-match")) {
    upstream_headers_.set("If-None-Match", filters::stripVariantSuffixes(*inm));
  }
  // The last use of the upstream headers: nothing looks at them once the request is gone.
  upstream::UpstreamRequest request{req_.method, upstream_target_, std::move(upstream_headers_),
                                    request_framing_, request_is_head_};
  upstream::ExchangeSink& sink = *this;
  exchange_ = std::make_unique<upstream::UpstreamExchange>(worker_, route_->upstream_index,
                                                           std::move(request), sink);
  if (req_.expect_continue && req_.hasBody()) {
    // We read the body ourselves and stream it; the client may start sending now.
    down_->send(std::string("HTTP/1.1 100 Continue\r\n\r\n"));
    down_->flush();
  }
  if (request_complete_) {
    exchange_->endBody();
  }
  exchange_->start();
}

void Stream::onRequestBody(const char* data, size_t len) {
  if (batch_mode_) {
    onBatchBody(data, len);
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
  if (batch_mode_) {
    runBatch();
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
  if (down_ == nullptr) {
    return;
  }
  invalidateAfterUnsafeMethod(head);
  http::Headers headers = std::move(head.headers);
  http::stripHopByHop(headers);
  headers.appendToList("Via", kVia11);
  std::optional<uint64_t> length;
  if (head.has_content_length) {
    length = head.content_length;
  }
  beginResponse(head.status, head.reason, headers, length);
}

void Stream::onExchangeBody(const char* data, size_t len) {
  if (down_ == nullptr) {
    return;
  }
  sendBodyBytes(data, len);
  if (down_->congested()) {
    exchange_->pauseReading();  // resumed by onDownstreamWritable
  }
}

void Stream::onExchangeReadBatchDone() {
  if (down_ != nullptr) {
    flushEncoder();  // what arrived leaves now, compressed or not
    down_->flush();
  }
}

void Stream::onDownstreamWritable() {
  if (exchange_ && !done_) {
    exchange_->resumeReading();
  }
}

void Stream::onExchangeEnd() {
  if (down_ != nullptr) {
    endResponse();
  }
}

void Stream::onExchangeFailed(int status, const std::string& reason, bool after_head) {
  if (down_ == nullptr || done_) {
    return;
  }
  if (after_head && failBuffered(status, reason)) {
    return;
  }
  if (after_head) {
    done_ = true;
    down_->abortResponse();
    return;
  }
  replyLocally(status, reason);
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
  purgeUrl(upstream_target_);
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
  if (!key_.empty() && outcome_ == Outcome::None) {
    outcome_ = leading_ || flight_ == nullptr ? Outcome::Miss : Outcome::Coalesced;
    cache_detail_ = "fwd=uri-miss; fwd-status=" + std::to_string(status);
  }
  if (down_ != nullptr) {
    down_->replyLocally(status, reason, false, cacheHeaderLines());
  }
}

void Stream::onDownstreamGone() {
  down_ = nullptr;
  done_ = true;
  batch_.reset();  // cancels the items still running
  stopFollowing();
  if (exchange_) {
    exchange_->cancel();
  }
}

// ---- response writer -------------------------------------------------------------------------

std::string Stream::cacheHeaderLines() const {
  if (outcome_ == Outcome::None) {
    return {};
  }
  std::string lines;
  lines.append("X-Cache: ").append(outcomeLabel(static_cast<int>(outcome_))).append("\r\n");
  lines.append("Cache-Status: edge-proxy; ").append(cache_detail_).append("\r\n");
  if (entry_age_ms_ >= 0) {
    lines.append("Age: ").append(std::to_string(cache::ageSeconds(entry_age_ms_))).append("\r\n");
  }
  return lines;
}

void Stream::beginResponse(int status, std::string_view reason, std::string_view header_lines,
                           std::optional<uint64_t> content_length) {
  http::DownstreamResponseFraming framing = http::downstreamResponseFraming(
      {request_is_head_, status, content_length.has_value(), content_length.value_or(0),
       down_->requestHttp11()});
  response_started_ = true;
  response_chunked_ = framing.framing.kind == http::BodyFraming::Chunked;
  response_must_close_ = framing.must_close;
  body_allowed_ = framing.framing.kind != http::BodyFraming::None;
  http::ResponseConnection connection{response_must_close_ || down_->closeAfterResponse(),
                                      down_->requestHttp11()};
  down_->send(http::serializeResponseHead(status, reason, header_lines, framing, connection,
                                          cacheHeaderLines()));
}

void Stream::beginResponse(int status, std::string_view reason, const http::Headers& origin_headers,
                           std::optional<uint64_t> content_length) {
  if (startBuffering(status, reason, origin_headers, content_length)) {
    return;
  }
  http::Headers encoded_headers;
  const http::Headers& headers =
      startStreamingEncoding(status, origin_headers, content_length, encoded_headers)
          ? encoded_headers
          : origin_headers;
  beginResponse(status, reason, std::string_view(http::headerLines(headers)),
                content_length);
}

void Stream::sendBodyPiece(cache::Body chunk) {
  if (!body_allowed_ || chunk->empty()) {
    return;
  }
  if (buffered_) {
    bufferBody(chunk->data(), chunk->size());
    return;
  }
  if (encoder_) {
    sendEncoded(*chunk);
    return;
  }
  if (response_chunked_) {
    std::string size_line;
    http::appendChunkHeader(size_line, chunk->size());
    down_->send(std::move(size_line));
    size_t size = chunk->size();
    down_->sendShared(std::move(chunk), 0, size);
    down_->send(std::string("\r\n"));
    return;
  }
  size_t size = chunk->size();
  down_->sendShared(std::move(chunk), 0, size);
}

void Stream::sendBodyBytes(const char* data, size_t len) {
  if (!body_allowed_) {
    return;
  }
  if (buffered_) {
    bufferBody(data, len);
    return;
  }
  if (encoder_) {
    sendEncoded(std::string_view(data, len));
    return;
  }
  sendFramed(std::string(data, len));
}

void Stream::endResponse() {
  if (buffered_) {
    finishBuffered();
    return;
  }
  if (encoder_ && body_allowed_) {
    finishEncoder();
    if (done_) {
      return;  // the encoder failed and the response was aborted
    }
  }
  if (response_chunked_) {
    down_->send(std::string(http::kLastChunk));
  }
  done_ = true;
  stopFollowing();
  down_->responseDone(response_must_close_);
}

}  // namespace edge
