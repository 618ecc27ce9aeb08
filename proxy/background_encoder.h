// Makes the Brotli form of stored entries on libuv's thread pool: quality 11 shrinks JSON
// well below gzip but takes far too long for the request path. Until the form is stored,
// hits fall back to gzip or identity. Each form is made once and never replaced, so its
// strong ETag always names the same bytes. One per worker; the loop owns the queued work.
#pragma once

#include <uv.h>

#include <unordered_set>

#include "proxy/cache/entry.h"

namespace edge {

class Worker;

class BackgroundEncoder {
 public:
  explicit BackgroundEncoder(Worker& worker) : worker_(worker) {}

  // Queues the Brotli form of `entry` unless this worker is already making it.
  void requestBrotli(const cache::EntryPtr& entry);

 private:
  struct Job;
  static void work(uv_work_t* req);
  static void done(uv_work_t* req, int status);

  Worker& worker_;
  std::unordered_set<const cache::CachedEntry*> pending_;
};

}  // namespace edge
