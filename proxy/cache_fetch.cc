#include "proxy/cache_fetch.h"

#include "filters/compress/encoded_entry.h"
#include "filters/compress/stored_forms.h"
#include "filters/conditional/etag.h"
#include "proxy/background_encoder.h"
#include "lib/cache/cache_control.h"
#include "lib/cache/policy.h"
#include "lib/cache/shared_cache.h"
#include "lib/cache/tags.h"
#include "lib/http/per_request_headers.h"
#include "lib/http/via.h"
#include "proxy/log.h"

namespace edge {

void CacheFetch::start(Worker& worker, CacheFetchParams&& params) {
  auto* fetch = new CacheFetch(worker, std::move(params));
  fetch->exchange_->start();  // may fail at once; finish() then hands `fetch` to the graveyard
}

CacheFetch::CacheFetch(Worker& worker, CacheFetchParams&& params)
    : worker_(worker), params_(std::move(params)) {
  request_time_ms_ = cache::wallClockMs();
  // Before the request leaves: purges from now on are checked against what it brings back.
  generation_ = worker_.cache().store.generation();
  // A copy: the request headers are needed again for Vary values and tags.
  upstream::UpstreamRequest request = params_.request;
  upstream::ExchangeSink& sink = *this;
  exchange_ = std::make_unique<upstream::UpstreamExchange>(
      worker_, params_.runtime, params_.upstream, std::move(request), sink);
}

void CacheFetch::onExchangeHead(http::ResponseHead&& head) {
  response_time_ms_ = cache::wallClockMs();
  tellLeader();
  const config::RouteClass& cls = *params_.route_class;
  http::stripHopByHop(head.headers);
  http::stripPerRequestHeaders(head.headers);
  if (params_.stale && head.status == 304) {
    onNotModified(head);
    return;
  }
  cache::StoreDecision decision = cache::decideStore(
      {head.status, &head.headers, params_.request_credentialed_unscoped,
       params_.request_no_store},
      cls, response_time_ms_);
  if (decision.store && head.has_content_length && head.content_length > cls.max_object_size) {
    decision = {false, "too-large"};
  }
  auto vary = cache::varyHeaders(head.headers, cls);
  if (shareErrorWithWaiters(head)) {
    // An origin in trouble gets this one request, not one more from every waiter: they all
    // receive this answer, and it is not stored.
    do_not_store_ = true;
  } else if (!decision.store || !vary) {
    handOver(std::move(head), decision.store ? "vary" : decision.reason);
    return;
  } else {
    bool identity = head.headers.find("content-encoding") == nullptr;
    for (const std::string& name : *vary) {
      if (identity && name == "accept-encoding") {
        continue;  // we make every encoding of it ourselves: one entry serves them all
      }
      vary_values_.emplace_back(name,
                                cache::normaliseVaryValue(name, params_.request.headers.find(name)));
    }
  }
  filling_ = true;
  status_ = head.status;
  reason_ = head.reason;
  headers_ = std::move(head.headers);
  cache::FlightHead flight_head{status_, reason_, headers_, std::nullopt, vary_values_,
                               !do_not_store_};
  flight_head.headers.appendToList("Via", http::kVia);
  flight_head.generation = generation_;
  tags_ = cache::expandTags(*params_.route_class,
                            {params_.target, &params_.request.headers, &headers_});
  flight_head.tags = tags_;
  if (head.has_content_length) {
    flight_head.content_length = head.content_length;
  }
  params_.flight->publishHead(std::move(flight_head));
}

bool CacheFetch::shareErrorWithWaiters(const http::ResponseHead& head) const {
  if (head.status < 500) {
    return false;
  }
  // With a stale entry usable on error, handOver serves that instead.
  return !(params_.stale &&
           cache::evaluate(*params_.stale, {}, cache::wallClockMs()).usable_on_error);
}

void CacheFetch::onNotModified(const http::ResponseHead& head) {
  auto refreshed = cache::refreshFromNotModified(*params_.stale, head.headers,
                                                 *params_.route_class, request_time_ms_,
                                                 response_time_ms_);
  // The refreshed copy needs its own serving form; entries are immutable once shared.
  std::shared_ptr<cache::CachedEntry> entry = cache::cloneEntry(*refreshed);
  entry->generation = generation_;
  http::Headers with_via = entry->headers;
  with_via.appendToList("Via", http::kVia);
  entry->wire_headers = cache::wireHeaderBlock(with_via);
  worker_.cache().store.insert(entry);
  params_.flight->complete(entry);
  finish();
}

void CacheFetch::handOver(http::ResponseHead&& head, const char* reason) {
  cache::SharedCache& cache = worker_.cache();
  bool server_error = head.status >= 500;
  if (server_error && params_.stale &&
      cache::evaluate(*params_.stale, {}, cache::wallClockMs()).usable_on_error) {
    // stale-if-error: everyone gets the stale copy instead of the origin's error.
    params_.flight->fail(head.status, "origin answered " + std::to_string(head.status),
                         params_.stale, http::ErrorKind::None);
    finish();
    return;
  }
  if (!server_error) {
    int64_t now = cache::wallClockMs();
    cache.coalescer.markUncacheable(
        params_.flight->key(), now,
        now + params_.runtime->config->cache.hit_for_miss.count());
  }
  std::shared_ptr<AdopterLink> leader = params_.leader.lock();
  if (leader && leader->adopter != nullptr) {
    leader->adopter->adoptExchange(std::move(exchange_), std::move(head), reason);
  }
  params_.flight->release(std::string("not shareable: ") + reason);
  finish();
}

void CacheFetch::onExchangeBody(const char* data, size_t len) {
  if (!filling_) {
    return;
  }
  auto chunk = std::make_shared<const std::string>(data, len);
  body_size_ += len;
  if (body_size_ > params_.route_class->max_object_size) {
    do_not_store_ = true;  // keep streaming to the waiters; just never store it
  }
  chunks_.push_back(chunk);
  params_.flight->publishBody(std::move(chunk));
}

cache::EntryPtr CacheFetch::buildEntry() {
  auto entry = std::make_shared<cache::CachedEntry>();
  entry->key = params_.flight->key();
  entry->generation = generation_;
  entry->status = status_;
  entry->reason = reason_;
  entry->headers = std::move(headers_);
  auto body = std::make_shared<std::string>();
  body->reserve(body_size_);
  for (const cache::Body& chunk : chunks_) {
    body->append(*chunk);
  }
  entry->body = std::move(body);
  entry->vary_values = std::move(vary_values_);
  entry->tags = std::move(tags_);
  entry->route_class = params_.route_class->name;
  cache::fillFreshness(*entry, *params_.route_class, request_time_ms_, response_time_ms_);
  if (entry->status == 200 && entry->headers.find("etag") == nullptr) {
    // A strong validator of our own, so clients can revalidate with us. Added after the
    // freshness pass on purpose: entry->etag (sent upstream) stays the origin's, which has none.
    entry->headers.add("ETag", filters::generateEtag(*entry->body));
  }
  const filters::ChainFactory& factory = params_.runtime->filters;
  const bool compressible = filters::prepareStoredHeaders(*entry, factory.compression());
  http::Headers with_via = entry->headers;
  with_via.appendToList("Via", http::kVia);
  entry->wire_headers = cache::wireHeaderBlock(with_via);
  if (compressible && params_.route_class->compress_on_store && !do_not_store_) {
    // gzip now, so no hit ever waits for it; Brotli at quality 11 on the thread pool.
    filters::addGzipForm(*entry, factory.storedLevels());
  }
  return entry;
}

void CacheFetch::onExchangeEnd() {
  if (filling_) {
    cache::EntryPtr entry = buildEntry();
    if (!do_not_store_) {
      worker_.cache().store.insert(entry);
      worker_.cache().coalescer.clearUncacheable(entry->key);
      if (entry->encoded[filters::encodedSlot(filters::Coding::Gzip)]) {
        worker_.encoder().requestBrotli(entry);  // compressed at store time (the class says so)
      }
    }
    params_.flight->complete(std::move(entry));
  }
  finish();
}

void CacheFetch::onExchangeFailed(int status, const std::string& reason, bool after_head) {
  cache::EntryPtr fallback;
  if (!after_head && params_.stale &&
      cache::evaluate(*params_.stale, {}, cache::wallClockMs()).usable_on_error) {
    fallback = params_.stale;
  }
  tellLeader();
  params_.flight->fail(status, reason, fallback, exchange_->record().error);
  finish();
}

// The leading request's context gets what its fetch saw upstream (a follower's does not: the
// fetch was not its own).
void CacheFetch::tellLeader() {
  std::shared_ptr<AdopterLink> leader = params_.leader.lock();
  if (leader && leader->adopter != nullptr) {
    leader->adopter->noteLeadFetch(exchange_->record());
  }
}

void CacheFetch::finish() {
  if (finished_) {
    return;
  }
  finished_ = true;
  worker_.cache().coalescer.finish(params_.flight);
  worker_.deferDelete(std::unique_ptr<Deferred>(this));
}

}  // namespace edge
