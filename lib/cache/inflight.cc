#include "lib/cache/inflight.h"

namespace edge::cache {

void InFlight::Subscription::cancel() {
  cancelled_.store(true);
}

InFlight::SubscriptionPtr InFlight::subscribe(std::function<void()> notify) {
  auto sub = std::make_shared<Subscription>();
  sub->notify_ = std::move(notify);
  std::function<void()> call_now;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    subscribers_.push_back(sub);
    if (state_ != State::Waiting) {
      sub->pending_ = true;  // something is already there to read
      call_now = sub->notify_;
    }
  }
  if (call_now) {
    call_now();
  }
  return sub;
}

InFlight::View InFlight::read(Subscription& sub) {
  std::lock_guard<std::mutex> lock(mutex_);
  sub.pending_ = false;
  View view;
  view.state = state_;
  view.head = head_;
  if (sub.cursor_ < chunks_.size()) {
    view.chunks.assign(chunks_.begin() + static_cast<std::ptrdiff_t>(sub.cursor_), chunks_.end());
    sub.cursor_ = chunks_.size();
  }
  view.entry = entry_;
  view.fallback = fallback_;
  view.status = status_;
  view.reason = reason_;
  view.error = error_;
  return view;
}

void InFlight::notifyAllLocked(std::vector<std::function<void()>>& to_call) {
  std::erase_if(subscribers_, [](const std::weak_ptr<Subscription>& w) { return w.expired(); });
  for (const std::weak_ptr<Subscription>& weak : subscribers_) {
    std::shared_ptr<Subscription> sub = weak.lock();
    if (sub && !sub->cancelled_.load() && !sub->pending_) {
      sub->pending_ = true;
      to_call.push_back(sub->notify_);
    }
  }
}

template <typename Fn>
void InFlight::update(Fn&& change) {
  std::vector<std::function<void()>> to_call;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    change();
    notifyAllLocked(to_call);
  }
  for (auto& fn : to_call) {  // outside the lock: a callback may read at once
    fn();
  }
}

void InFlight::publishHead(FlightHead head) {
  auto shared = std::make_shared<const FlightHead>(std::move(head));
  update([&] {
    head_ = std::move(shared);
    state_ = State::Streaming;
  });
}

void InFlight::publishBody(Body chunk) {
  update([&] { chunks_.push_back(std::move(chunk)); });
}

void InFlight::complete(EntryPtr entry) {
  update([&] {
    entry_ = std::move(entry);
    state_ = State::Complete;
  });
}

void InFlight::release(std::string reason) {
  update([&] {
    reason_ = std::move(reason);
    state_ = State::Released;
  });
}

void InFlight::fail(int status, std::string reason, EntryPtr fallback, http::ErrorKind error) {
  update([&] {
    status_ = status;
    reason_ = std::move(reason);
    error_ = error;
    fallback_ = std::move(fallback);
    state_ = State::Failed;
  });
}

}  // namespace edge::cache
