// Following a shared fetch: its head and body chunks stream into the chain as they arrive,
// or its stored entry is served whole; a follower that waits too long for the head, or that
// may not share what came back, goes upstream by itself.
#include "filters/cache/cache_filter.h"
#include "lib/cache/shared_cache.h"

namespace edge::filters {

void CacheFilter::followFlight(const cache::InFlightPtr& flight) {
  step_ = Step::Following;
  flight_ = flight;
  std::weak_ptr<Link> weak = link();
  WorkerMailbox* mailbox = &mailbox_;
  // The flight may publish from any worker: hop to ours, and only if we are still alive.
  subscription_ = flight->subscribe([mailbox, weak] {
    mailbox->post([weak] {
      if (std::shared_ptr<Link> link = weak.lock(); link && link->filter != nullptr) {
        link->filter->onFlightUpdate();
      }
    });
  });
}

void CacheFilter::startLockTimer() {
  uint64_t wait = static_cast<uint64_t>(config_.config->cache.lock_timeout.count());
  lock_timer_ = callbacks().startTimer(wait, [this] {
    if (step_ == Step::Following && !streaming_) {
      goUpstream(Outcome::Miss, "fwd=uri-miss; detail=lock-timeout");
    }
  });
}

void CacheFilter::stopFollowing() {
  if (subscription_) {
    subscription_->cancel();
    subscription_.reset();
  }
  flight_.reset();
  if (lock_timer_) {
    lock_timer_->cancel();
    lock_timer_.reset();
  }
}

void CacheFilter::onFlightUpdate() {
  if (step_ != Step::Following || !flight_) {
    return;
  }
  if (callbacks().responseDone()) {
    step_ = Step::Answered;  // a 304 at the head, a cut-off response, or the client left
    stopFollowing();
    return;
  }
  cache::InFlight::View view = flight_->read(*subscription_);
  using State = cache::InFlight::State;
  switch (view.state) {
    case State::Waiting:
      return;
    case State::Streaming:
      onFlightStreaming(view);
      return;
    case State::Complete:
      onFlightComplete(view);
      return;
    case State::Released:
      if (!leading_ && !streaming_) {
        goUpstream(Outcome::Miss, "fwd=uri-miss; detail=" + view.reason);
      }
      return;  // the leader is handed the response itself (onHandedOver)
    case State::Failed:
      onFlightFailed(view);
      return;
  }
}

void CacheFilter::onFlightStreaming(cache::InFlight::View& view) {
  if (!streaming_) {
    if (!mayServe(view.head->vary_values, view.head->headers)) {
      goUpstream(Outcome::Miss, "fwd=vary-miss");
      return;
    }
    if (purgedWhileFetched(view.head->tags, view.head->generation)) {
      goUpstream(Outcome::Miss, "fwd=uri-miss; detail=purged-while-fetching");
      return;
    }
    std::shared_ptr<Link> alive = link();
    sendFlightHead(*view.head);
    if (alive->filter == nullptr || callbacks().responseDone()) {
      return;  // answered 304 at the head, or gone
    }
  }
  sendFlightChunks(view.chunks, false);
}

void CacheFilter::onFlightComplete(cache::InFlight::View& view) {
  if (streaming_) {
    sendFlightChunks(view.chunks, true);
    return;
  }
  if (!leading_ && !mayServe(view.entry->vary_values, view.entry->headers)) {
    goUpstream(Outcome::Miss, "fwd=vary-miss");
    return;
  }
  if (purgedWhileFetched(view.entry->tags, view.entry->generation)) {
    goUpstream(Outcome::Miss, "fwd=uri-miss; detail=purged-while-fetching");
    return;
  }
  // No head was streamed: either the whole response arrived at once, or a 304 refreshed the
  // stale entry (only then is it a revalidation).
  bool refreshed = leading_ && revalidating_ && view.head == nullptr;
  Outcome outcome = !leading_ ? Outcome::Coalesced
                              : (refreshed ? Outcome::Revalidated : Outcome::Miss);
  ctx_->cache_detail = !leading_   ? "fwd=uri-miss; collapsed"
                       : refreshed ? "fwd=stale; fwd-status=304"
                       : revalidating_
                           ? "fwd=stale; fwd-status=" + std::to_string(view.entry->status)
                           : "fwd=uri-miss; stored";
  int64_t age = cache::evaluate(*view.entry, {}, cache::wallClockMs()).age_ms;
  serveEntry(view.entry, outcome, age);
}

void CacheFilter::onFlightFailed(const cache::InFlight::View& view) {
  if (!view.fallback) {
    ctx_->error = view.error;  // the fetch's own failure, not a guess from its reason
  }
  if (streaming_) {
    step_ = Step::Answered;
    stopFollowing();
    callbacks().failResponse(view.status, view.reason);
    return;
  }
  if (view.fallback && !leading_ &&
      !mayServe(view.fallback->vary_values, view.fallback->headers)) {
    // The leader's stale copy is another variant, or not for a request with credentials.
    goUpstream(Outcome::Miss, "fwd=vary-miss");
    return;
  }
  if (view.fallback) {
    ctx_->cache_detail = "hit; fwd=stale; fwd-status=" + std::to_string(view.status) +
                         "; detail=stale-if-error";
    int64_t age = cache::evaluate(*view.fallback, {}, cache::wallClockMs()).age_ms;
    serveEntry(view.fallback, Outcome::Stale, age);
    return;
  }
  step_ = Step::Answered;
  stopFollowing();
  ctx_->outcome = leading_ ? Outcome::Miss : Outcome::Coalesced;
  ctx_->cache_detail = "fwd=uri-miss; fwd-status=" + std::to_string(view.status);
  callbacks().localReply(view.status, view.reason, false, {});
}

void CacheFilter::sendFlightHead(const cache::FlightHead& head) {
  if (lock_timer_) {
    lock_timer_->cancel();
    lock_timer_.reset();
  }
  if (leading_) {
    ctx_->outcome = Outcome::Miss;
    ctx_->cache_detail = revalidating_ ? "fwd=stale; fwd-status=" + std::to_string(head.status)
                                       : "fwd=uri-miss";
    if (head.will_store) {
      ctx_->cache_detail += "; stored";
    }
  } else {
    ctx_->outcome = Outcome::Coalesced;
    ctx_->cache_detail = "fwd=uri-miss; collapsed";
  }
  ResponseHead response;
  response.status = head.status;
  response.reason = head.reason;
  response.headers = head.headers;
  response.content_length = head.content_length;
  // The origin never saw this client's conditionals; the body still streams into the cache
  // for the others if the client gets a 304.
  response.answer_conditionals_at_head = true;
  streaming_ = true;
  callbacks().sendResponseHeaders(std::move(response), false);
}

void CacheFilter::sendFlightChunks(std::vector<cache::Body>& chunks, bool end) {
  std::shared_ptr<Link> alive = link();
  for (cache::Body& chunk : chunks) {
    callbacks().sendResponseBody({std::move(chunk)});
    if (alive->filter == nullptr || callbacks().responseDone()) {
      return;
    }
  }
  if (end) {
    step_ = Step::Answered;
    stopFollowing();
  }
  // The end, or what arrived leaves now, compressed or not.
  callbacks().sendResponseBody({nullptr, end, !end});
}

}  // namespace edge::filters
