#include "filters/cache/cache_filter.h"

#include "filters/cache/unsafe_invalidation.h"
#include "lib/cache/key.h"
#include "lib/cache/shared_cache.h"

namespace edge::filters {
namespace {

std::string secondsParam(std::string_view name, int64_t ms) {
  return std::string(name) + "=" + std::to_string(ms / 1000);
}

// RFC 9111 3.5, for a response stored or fetched for anyone.
bool sharedWithCredentials(const http::Headers& headers) {
  return cache::sharedWithCredentials(cache::parseCacheControl(headers.joined("cache-control")));
}

}  // namespace

CacheFilter::CacheFilter(const CacheFilterConfig& config, const FilterServices& services)
    : config_(config), cache_(*services.cache), mailbox_(*services.mailbox) {}

CacheFilter::~CacheFilter() {
  stopFollowing();
  if (link_) {
    link_->filter = nullptr;
  }
}

std::shared_ptr<CacheFilter::Link> CacheFilter::link() {
  if (!link_) {
    link_ = std::make_shared<Link>(Link{this});
  }
  return link_;
}

FilterStatus CacheFilter::onRequestHeaders(http::RequestHead& head) {
  ctx_ = &callbacks().context();
  method_ = head.method;
  const config::RouteClass& cls = *ctx_->route_class;
  const http::Headers& headers = *ctx_->upstream_headers;
  policy_ = cache::classifyRequest(head.method, headers, cls);
  if (policy_.disposition != cache::RequestDisposition::Lookup || head.hasBody()) {
    goUpstream(Outcome::Bypass, std::string("fwd=bypass; detail=") +
                                    (head.hasBody() ? "body" : policy_.reason));
    return FilterStatus::Continue;
  }
  key_ = cache::buildKey({ctx_->host, ctx_->target, &headers}, cls);
  step_ = Step::LookingUp;
  in_request_headers_ = true;
  std::shared_ptr<Link> alive = link();
  std::weak_ptr<Link> weak = alive;
  cache_.store.lookup(
      key_,
      [this](const cache::CachedEntry& entry) { return varyMatches(entry.vary_values); },
      [weak](cache::EntryPtr entry) {
        // Inline from the memory tier; a later answer finds the filter gone or still here.
        if (std::shared_ptr<Link> link = weak.lock(); link && link->filter != nullptr) {
          link->filter->onLookupDone(std::move(entry));
        }
      });
  if (alive->filter == nullptr) {
    return FilterStatus::Stop;  // answered inline, and the chain is gone with it
  }
  in_request_headers_ = false;
  return step_ == Step::Upstream ? FilterStatus::Continue : FilterStatus::Stop;
}

// The response the Stream brings from upstream (a pass-through or an adopted fetch).
FilterStatus CacheFilter::onResponseHeaders(ResponseHead& head, bool& /*end*/) {
  if (isUnsafeMethod(method_) && head.status >= 200 && head.status < 400) {
    invalidateAfterUnsafeMethod(cache_.store, *config_.config, *config_.routes, ctx_->host,
                                ctx_->target, head.headers);
  }
  return FilterStatus::Continue;
}

void CacheFilter::onLookupDone(cache::EntryPtr entry) {
  if (step_ != Step::LookingUp) {
    return;
  }
  if (entry && policy_.credentialed_unscoped && !sharedWithCredentials(entry->headers)) {
    entry = nullptr;
  }
  if (entry) {
    cache::Evaluation evaluation = cache::evaluate(*entry, policy_.cc, cache::wallClockMs());
    if (answerFromEntry(entry, evaluation)) {
      return;
    }
  }
  if (policy_.cc.only_if_cached) {
    step_ = Step::Answered;
    ctx_->outcome = Outcome::Miss;
    ctx_->cache_detail = "fwd=miss; detail=only-if-cached";
    callbacks().localReply(504, "only-if-cached: no usable response is stored", false, {});
    return;
  }
  joinFetch(entry);
}

bool CacheFilter::answerFromEntry(const cache::EntryPtr& entry,
                                  const cache::Evaluation& evaluation) {
  int64_t ttl = entry->freshness_lifetime_ms - evaluation.age_ms;
  switch (evaluation.verdict) {
    case cache::Verdict::Fresh:
      ctx_->cache_detail = "hit; " + secondsParam("ttl", ttl);
      serveEntry(entry, Outcome::Hit, evaluation.age_ms);
      return true;
    case cache::Verdict::StaleServable:
      ctx_->cache_detail =
          "hit; " + secondsParam("ttl", ttl) + "; detail=stale-while-revalidate";
      // The refresh first: the answer may end the request and the chain with it.
      refreshInBackground(entry);
      serveEntry(entry, Outcome::Stale, evaluation.age_ms);
      return true;
    case cache::Verdict::MustRevalidate:
      return false;
  }
  return false;
}

// The entry goes into the chain as it is stored: its projection, a stored encoding or a 304
// is the business of the filters before this one.
void CacheFilter::serveEntry(const cache::EntryPtr& entry, Outcome outcome, int64_t age_ms) {
  stopFollowing();
  step_ = Step::Answered;
  ctx_->outcome = outcome;
  ctx_->entry_age_ms = age_ms;
  std::shared_ptr<Link> alive = link();
  callbacks().sendResponseHeaders(ResponseHead::fromEntry(entry), false);
  if (alive->filter != nullptr) {
    callbacks().sendResponseBody({entry->body, true});
  }
}

// The request goes upstream by itself; the Stream's pass-through reports `outcome`.
void CacheFilter::goUpstream(Outcome outcome, std::string detail) {
  stopFollowing();
  step_ = Step::Upstream;
  ctx_->outcome = outcome;
  ctx_->cache_detail = std::move(detail);
  if (!in_request_headers_) {
    callbacks().continueRequest();
  }
}

// The fetch this request leads brought back a response nobody else may have: the Stream
// takes over its exchange as a pass-through.
void CacheFilter::onHandedOver(const char* reason) {
  if (step_ == Step::Following && !streaming_) {
    goUpstream(Outcome::Miss, std::string("fwd=uri-miss; detail=") + reason);
  }
}

// ---- fetching ------------------------------------------------------------------------------

void CacheFilter::joinFetch(const cache::EntryPtr& stale) {
  cache::Coalescer::Joined joined = cache_.coalescer.join(key_, cache::wallClockMs());
  switch (joined.role) {
    case cache::Coalescer::Role::HitForMiss:
      goUpstream(Outcome::Miss, "fwd=uri-miss; detail=hit-for-miss");
      return;
    case cache::Coalescer::Role::Leader:
      leading_ = true;
      revalidating_ = stale != nullptr;
      followFlight(joined.flight);  // subscribe first: the fetch may publish at once
      startFetch(joined.flight, stale, true);
      return;
    case cache::Coalescer::Role::Follower:
      followFlight(joined.flight);
      startLockTimer();
      return;
  }
}

void CacheFilter::startFetch(const cache::InFlightPtr& flight, const cache::EntryPtr& stale,
                             bool lead) {
  CacheFetchRequest request;
  request.headers = *ctx_->upstream_headers;
  // The fetch fills the cache with the whole representation: the client's own conditions
  // and ranges are answered from what it brings back.
  for (const char* name : {"if-none-match", "if-modified-since", "if-match",
                           "if-unmodified-since", "if-range", "range"}) {
    request.headers.remove(name);
  }
  if (stale) {
    cache::addValidators(*stale, request.headers);
  }
  request.flight = flight;
  request.stale = stale;
  request.credentialed_unscoped = policy_.credentialed_unscoped;
  request.no_store = policy_.cc.no_store;
  callbacks().startCacheFetch(std::move(request), lead ? this : nullptr);
}

void CacheFilter::refreshInBackground(const cache::EntryPtr& stale) {
  cache::Coalescer::Joined joined = cache_.coalescer.join(key_, cache::wallClockMs());
  if (joined.role == cache::Coalescer::Role::Leader) {
    startFetch(joined.flight, stale, false);  // exactly one refresh per key
  }
}

// ---- sharing -------------------------------------------------------------------------------

bool CacheFilter::varyMatches(
    const std::vector<std::pair<std::string, std::string>>& vary_values) const {
  for (const auto& [name, value] : vary_values) {
    if (cache::normaliseVaryValue(name, ctx_->upstream_headers->find(name)) != value) {
      return false;
    }
  }
  return true;
}

// A response fetched for another request may answer this one: same variant, and shareable
// with a request that carries credentials.
bool CacheFilter::mayServe(const std::vector<std::pair<std::string, std::string>>& vary_values,
                           const http::Headers& response_headers) const {
  return varyMatches(vary_values) &&
         (!policy_.credentialed_unscoped || sharedWithCredentials(response_headers));
}

// A purge (Redis, admin API) processed since the shared fetch went upstream names what it
// brings back: nobody may receive it now, so this request fetches for itself.
bool CacheFilter::purgedWhileFetched(const std::vector<std::string>& tags,
                                     uint64_t generation) const {
  cache::CachedEntry probe;
  probe.key = key_;
  probe.tags = tags;
  return generation != 0 && cache_.store.purgedSince(probe, generation);
}

}  // namespace edge::filters
