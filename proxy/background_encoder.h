// Makes the Brotli form of stored entries on libuv's thread pool: quality 11 shrinks JSON
// well below gzip but takes far too long for the request path. Until the form is stored,
// hits fall back to gzip or identity. Each form is made once and never replaced, so its
// strong ETag always names the same bytes. One per worker; the loop owns the queued work.
//
// One encoding per worker runs at a time (a quality-11 encoder holds megabytes of state), the
// queue behind it is bounded by the bodies waiting in it, and a waiting job holds its entry
// only weakly: under a flood of new entries the encoder falls behind, and neither the jobs
// nor the entries evicted meanwhile may hold memory the cache budget no longer counts. A
// request skipped because the queue is full is asked again by a later hit.
#pragma once

#include <uv.h>

#include <cstddef>
#include <deque>
#include <memory>
#include <unordered_set>

#include "filters/chain/services.h"
#include "lib/cache/entry.h"

namespace edge {

class Worker;

class BackgroundEncoder : public filters::BrotliQueue {
 public:
  // Bytes of bodies waiting to be encoded on one worker, at most.
  static constexpr size_t kMaxPendingBytes = 4u << 20;

  explicit BackgroundEncoder(Worker& worker);
  ~BackgroundEncoder() override;

  // Queues the Brotli form of `entry` unless this worker is already making it or its queue
  // is full.
  void requestBrotli(const cache::EntryPtr& entry) override;

 private:
  struct Job;
  void startNext();
  void store(const cache::CachedEntry& made_from, std::string&& compressed);
  static void work(uv_work_t* req);
  static void done(uv_work_t* req, int status);

  Worker& worker_;
  std::deque<std::unique_ptr<Job>> waiting_;
  bool running_ = false;
  std::unordered_set<const cache::CachedEntry*> pending_;  // waiting or running
  size_t pending_bytes_ = 0;
};

}  // namespace edge
