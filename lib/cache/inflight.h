// One fetch of a cacheable key, shared by every request that wants it, on any worker.
// The fetch publishes the head, then body chunks as they arrive (so waiters stream the body
// while it downloads), then the stored entry; or it releases everyone (the answer is not
// shareable) or fails. Subscribers are told "something changed" through their own notify
// callback (which posts to their worker) at most once until they read again, and read what
// is new under the lock. Thread-safe; no event loop.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lib/cache/entry.h"
#include "lib/http/error_kind.h"
#include "lib/http/headers.h"

namespace edge::cache {

struct FlightHead {
  int status = 200;
  std::string reason;
  http::Headers headers;  // hop-by-hop removed
  std::optional<uint64_t> content_length;
  // The variant being fetched: a follower whose own values differ must not share it.
  std::vector<std::pair<std::string, std::string>> vary_values;
  bool will_store = true;  // false: shared with the waiters, then dropped
  // The store's purge generation when the request went upstream, and the entry's tags: a
  // purge that names them after that makes the response out of date for those who wait.
  uint64_t generation = 0;
  std::vector<std::string> tags{};
};

class InFlight {
 public:
  enum class State {
    Waiting,    // no response head yet
    Streaming,  // head known and shareable; body chunks arriving
    Complete,   // all of it: `entry` holds the response (stored, or too big to store)
    Released,   // the response is not shareable: subscribers fetch for themselves
    Failed,     // the fetch failed; `fallback` may hold a stale entry usable on error
  };

  class Subscription {
   public:
    void cancel();  // no more notifications; safe from any thread, idempotent

   private:
    friend class InFlight;
    std::function<void()> notify_;
    bool pending_ = false;  // notified and not yet read
    size_t cursor_ = 0;     // chunks already handed out
    std::atomic<bool> cancelled_{false};
  };
  using SubscriptionPtr = std::shared_ptr<Subscription>;

  struct View {
    State state = State::Waiting;
    std::shared_ptr<const FlightHead> head;  // set from Streaming on
    std::vector<Body> chunks;                // new since the last read
    EntryPtr entry;                          // Complete
    EntryPtr fallback;                       // Failed, when a stale entry may be served
    int status = 502;                        // Failed: the status to answer with
    std::string reason;                      // Failed / Released: why
    http::ErrorKind error = http::ErrorKind::None;  // Failed: what went wrong
  };

  explicit InFlight(std::string key) : key_(std::move(key)) {}
  const std::string& key() const { return key_; }

  // The callback runs on the publishing thread and must only schedule work (post).
  SubscriptionPtr subscribe(std::function<void()> notify);
  View read(Subscription& subscription);

  void publishHead(FlightHead head);
  void publishBody(Body chunk);
  void complete(EntryPtr entry);
  void release(std::string reason);
  // `error` says what went wrong (None: the origin answered with an error, not the proxy).
  void fail(int status, std::string reason, EntryPtr fallback, http::ErrorKind error);

 private:
  void notifyAllLocked(std::vector<std::function<void()>>& to_call);
  template <typename Fn>
  void update(Fn&& change);

  const std::string key_;
  mutable std::mutex mutex_;
  State state_ = State::Waiting;
  std::shared_ptr<const FlightHead> head_;
  std::vector<Body> chunks_;
  EntryPtr entry_;
  EntryPtr fallback_;
  int status_ = 502;
  std::string reason_;
  http::ErrorKind error_ = http::ErrorKind::None;
  std::vector<std::weak_ptr<Subscription>> subscribers_;
};

using InFlightPtr = std::shared_ptr<InFlight>;

}  // namespace edge::cache
