// The cache half of Stream: look up, answer from an entry, lead or follow a fetch, serve
// stale while one refresh runs, and fall back to a fetch of its own when sharing is unsafe.
// What the client gets from an entry (its projection, a stored encoding, a 304) is the
// response filters' business: an entry goes into the chain as it is stored.
#include "lib/cache/key.h"
#include "lib/cache/shared_cache.h"
#include "proxy/client_side.h"
#include "proxy/stream.h"
#include "proxy/timer.h"

namespace edge {
namespace {

std::string secondsParam(std::string_view name, int64_t ms) {
  return std::string(name) + "=" + std::to_string(ms / 1000);
}

// RFC 9111 3.5: a response stored for anyone may answer a request with credentials only if
// it says so.
bool sharedWithCredentials(const http::Headers& headers) {
  cache::CacheControl cc = cache::parseCacheControl(headers.joined("cache-control"));
  return cc.is_public || cc.s_maxage.has_value() || cc.must_revalidate;
}

}  // namespace

void Stream::lookupCache() {
  const config::RouteClass& cls = runtime_->config->classOf(*route_);
  key_ = cache::buildKey({host_, ctx_.target, &upstream_headers_}, cls);
  std::weak_ptr<AdopterLink> weak = link_;
  worker_.cache().store.lookup(
      key_, [this](const cache::CachedEntry& e) { return varyMatches(e); },
      [weak](cache::EntryPtr entry) {
        // Inline from the memory tier; a later answer finds the stream gone or still here.
        if (std::shared_ptr<AdopterLink> link = weak.lock(); link && link->adopter != nullptr) {
          static_cast<Stream*>(link->adopter)->onLookupDone(std::move(entry));
        }
      });
}

void Stream::onLookupDone(cache::EntryPtr entry) {
  if (done_ || down_ == nullptr) {
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
    ctx_.outcome = Outcome::Miss;
    ctx_.cache_detail = "fwd=miss; detail=only-if-cached";
    replyLocally(504, "only-if-cached: no usable response is stored");
    return;
  }
  joinFetch(entry);
}

bool Stream::answerFromEntry(const cache::EntryPtr& entry, const cache::Evaluation& evaluation) {
  int64_t ttl = entry->freshness_lifetime_ms - evaluation.age_ms;
  switch (evaluation.verdict) {
    case cache::Verdict::Fresh:
      ctx_.cache_detail = "hit; " + secondsParam("ttl", ttl);
      serveEntry(entry, Outcome::Hit, evaluation.age_ms);
      return true;
    case cache::Verdict::StaleServable:
      ctx_.cache_detail = "hit; " + secondsParam("ttl", ttl) + "; detail=stale-while-revalidate";
      serveEntry(entry, Outcome::Stale, evaluation.age_ms);
      refreshInBackground(entry);
      return true;
    case cache::Verdict::MustRevalidate:
      return false;
  }
  return false;
}

void Stream::serveEntry(const cache::EntryPtr& entry, Outcome outcome, int64_t age_ms) {
  stopFollowing();
  ctx_.outcome = outcome;
  ctx_.entry_age_ms = age_ms;
  source_started_ = true;
  chain_->sendHeaders(filters::ResponseHead::fromEntry(entry), false);
  chain_->sendBody({entry->body, true});
}

// ---- fetching ------------------------------------------------------------------------------

void Stream::joinFetch(const cache::EntryPtr& stale) {
  cache::Coalescer::Joined joined =
      worker_.cache().coalescer.join(key_, cache::wallClockMs());
  switch (joined.role) {
    case cache::Coalescer::Role::HitForMiss:
      passThrough(Outcome::Miss, "fwd=uri-miss; detail=hit-for-miss");
      return;
    case cache::Coalescer::Role::Leader:
      leading_ = true;
      revalidating_ = stale != nullptr;
      followFlight(joined.flight);  // subscribe first: the fetch may publish at once
      startFetch(joined.flight, stale, true);
      return;
    case cache::Coalescer::Role::Follower: {
      followFlight(joined.flight);
      uint64_t wait = static_cast<uint64_t>(runtime_->config->cache.lock_timeout.count());
      follow_timer_ = Timer::create(worker_.loop(), [this] {
        follow_timer_->close();
        follow_timer_ = nullptr;
        if (!source_started_ && !done_) {
          stopFollowing();
          passThrough(Outcome::Miss, "fwd=uri-miss; detail=lock-timeout");
        }
      });
      follow_timer_->start(wait);
      return;
    }
  }
}

upstream::UpstreamRequest Stream::fetchRequest(const cache::EntryPtr& stale) const {
  upstream::UpstreamRequest request{"GET", ctx_.target, upstream_headers_, {}, false};
  // The fetch fills the cache with the whole representation: the client's own conditions
  // and ranges are answered from what it brings back.
  for (const char* name : {"if-none-match", "if-modified-since", "if-match",
                           "if-unmodified-since", "if-range", "range"}) {
    request.headers.remove(name);
  }
  if (stale) {
    cache::addValidators(*stale, request.headers);
  }
  return request;
}

void Stream::startFetch(const cache::InFlightPtr& flight, const cache::EntryPtr& stale,
                        bool lead) {
  CacheFetchParams params;
  params.runtime = runtime_;
  params.route_class = &runtime_->config->classOf(*route_);
  params.upstream = route_->upstream_index;
  params.request = fetchRequest(stale);
  params.target = ctx_.target;
  params.flight = flight;
  params.stale = stale;
  if (lead) {
    params.leader = link_;
  }
  params.request_credentialed_unscoped = policy_.credentialed_unscoped;
  params.request_no_store = policy_.cc.no_store;
  CacheFetch::start(worker_, std::move(params));
}

void Stream::refreshInBackground(const cache::EntryPtr& stale) {
  cache::Coalescer::Joined joined =
      worker_.cache().coalescer.join(key_, cache::wallClockMs());
  if (joined.role == cache::Coalescer::Role::Leader) {
    startFetch(joined.flight, stale, false);  // exactly one refresh per key
  }
}

// ---- following a fetch ---------------------------------------------------------------------

void Stream::followFlight(const cache::InFlightPtr& flight) {
  flight_ = flight;
  std::weak_ptr<AdopterLink> weak = link_;
  Worker* worker = &worker_;
  // The flight may publish from any worker: hop to ours, and only if we are still alive.
  subscription_ = flight->subscribe([worker, weak] {
    worker->post([weak] {
      if (std::shared_ptr<AdopterLink> link = weak.lock(); link && link->adopter != nullptr) {
        static_cast<Stream*>(link->adopter)->onFlightUpdate();
      }
    });
  });
}

void Stream::stopFollowing() {
  if (subscription_) {
    subscription_->cancel();
    subscription_.reset();
  }
  flight_.reset();
  if (follow_timer_ != nullptr) {
    follow_timer_->close();
    follow_timer_ = nullptr;
  }
}

void Stream::onFlightUpdate() {
  if (done_ || down_ == nullptr || !flight_) {
    return;
  }
  cache::InFlight::View view = flight_->read(*subscription_);
  using State = cache::InFlight::State;
  switch (view.state) {
    case State::Waiting:
      return;
    case State::Streaming:
      if (!source_started_) {
        if (!mayShare(*view.head)) {
          stopFollowing();
          passThrough(Outcome::Miss, "fwd=vary-miss");
          return;
        }
        if (purgedWhileFetched(view.head->tags, view.head->generation)) {
          stopFollowing();
          passThrough(Outcome::Miss, "fwd=uri-miss; detail=purged-while-fetching");
          return;
        }
        onFlightHead(*view.head);
        if (done_) {
          return;  // answered 304
        }
      }
      sendFlightChunks(view.chunks, false);
      return;
    case State::Complete:
      if (source_started_) {
        sendFlightChunks(view.chunks, true);
      } else if (!leading_ && !(varyMatches(*view.entry) &&
                                (!policy_.credentialed_unscoped ||
                                 sharedWithCredentials(view.entry->headers)))) {
        stopFollowing();
        passThrough(Outcome::Miss, "fwd=vary-miss");
      } else if (purgedWhileFetched(view.entry->tags, view.entry->generation)) {
        stopFollowing();
        passThrough(Outcome::Miss, "fwd=uri-miss; detail=purged-while-fetching");
      } else {
        // No head was streamed: either the whole response arrived at once, or a 304
        // refreshed the stale entry (only then is it a revalidation).
        bool refreshed = leading_ && revalidating_ && view.head == nullptr;
        Outcome outcome = !leading_ ? Outcome::Coalesced
                                    : (refreshed ? Outcome::Revalidated : Outcome::Miss);
        ctx_.cache_detail = !leading_   ? "fwd=uri-miss; collapsed"
                            : refreshed ? "fwd=stale; fwd-status=304"
                            : revalidating_
                                ? "fwd=stale; fwd-status=" + std::to_string(view.entry->status)
                                : "fwd=uri-miss; stored";
        int64_t age = cache::evaluate(*view.entry, {}, cache::wallClockMs()).age_ms;
        serveEntry(view.entry, outcome, age);
      }
      return;
    case State::Released:
      if (!leading_ && !source_started_) {
        stopFollowing();
        passThrough(Outcome::Miss, "fwd=uri-miss; detail=" + view.reason);
      }
      return;  // the leader was handed the response itself (adoptExchange)
    case State::Failed:
      if (source_started_ && replaceHeldResponse(view.status, view.reason)) {
        return;
      }
      if (source_started_) {
        done_ = true;
        stopFollowing();
        down_->abortResponse();
      } else if (view.fallback) {
        ctx_.cache_detail = "hit; fwd=stale; fwd-status=" + std::to_string(view.status) +
                            "; detail=stale-if-error";
        int64_t age = cache::evaluate(*view.fallback, {}, cache::wallClockMs()).age_ms;
        serveEntry(view.fallback, Outcome::Stale, age);
      } else {
        replyLocally(view.status, view.reason);
      }
      return;
  }
}

void Stream::onFlightHead(const cache::FlightHead& head) {
  if (follow_timer_ != nullptr) {
    follow_timer_->close();
    follow_timer_ = nullptr;
  }
  if (leading_) {
    ctx_.outcome = Outcome::Miss;
    ctx_.cache_detail = revalidating_ ? "fwd=stale; fwd-status=" + std::to_string(head.status)
                                      : "fwd=uri-miss";
    if (head.will_store) {
      ctx_.cache_detail += "; stored";
    }
  } else {
    ctx_.outcome = Outcome::Coalesced;
    ctx_.cache_detail = "fwd=uri-miss; collapsed";
  }
  filters::ResponseHead response;
  response.status = head.status;
  response.reason = head.reason;
  response.headers = head.headers;
  response.content_length = head.content_length;
  // The origin never saw this client's conditionals; the body still streams into the cache
  // for the others if the client gets a 304.
  response.answer_conditionals_at_head = true;
  source_started_ = true;
  chain_->sendHeaders(std::move(response), false);
}

void Stream::sendFlightChunks(std::vector<cache::Body>& chunks, bool end) {
  for (cache::Body& chunk : chunks) {
    if (done_ || down_ == nullptr) {
      return;
    }
    chain_->sendBody({std::move(chunk)});
  }
  if (!done_ && down_ != nullptr) {
    // The end, or what arrived leaves now, compressed or not.
    chain_->sendBody({nullptr, end, !end});
  }
}

// A purge (Redis, admin API) processed since the shared fetch went upstream names what it
// brings back: nobody may receive it now, so this request fetches for itself.
bool Stream::purgedWhileFetched(const std::vector<std::string>& tags, uint64_t generation) const {
  cache::CachedEntry probe;
  probe.key = key_;
  probe.tags = tags;
  return generation != 0 && worker_.cache().store.purgedSince(probe, generation);
}

bool Stream::mayShare(const cache::FlightHead& head) const {
  for (const auto& [name, value] : head.vary_values) {
    if (cache::normaliseVaryValue(name, upstream_headers_.find(name)) != value) {
      return false;
    }
  }
  return !policy_.credentialed_unscoped || sharedWithCredentials(head.headers);
}

bool Stream::varyMatches(const cache::CachedEntry& entry) const {
  for (const auto& [name, value] : entry.vary_values) {
    if (cache::normaliseVaryValue(name, upstream_headers_.find(name)) != value) {
      return false;
    }
  }
  return true;
}

void Stream::adoptExchange(std::unique_ptr<upstream::UpstreamExchange> exchange,
                           http::ResponseHead&& head, const char* reason) {
  stopFollowing();
  exchange_ = std::move(exchange);
  exchange_->setSink(*this);
  ctx_.outcome = Outcome::Miss;
  ctx_.cache_detail = std::string("fwd=uri-miss; detail=") + reason;
  onExchangeHead(std::move(head));
}

}  // namespace edge
