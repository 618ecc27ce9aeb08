// What the filters of one worker may use beyond their request: the shared cache, the worker's
// mailbox and background Brotli encoder, the batch runner. Handed to every filter factory;
// outlives the chains.
#pragma once

#include <functional>

#include "lib/cache/entry.h"
#include "lib/cache/shared_cache.h"

namespace edge::filters {

namespace batch {
class BatchRunner;
}

// Makes the Brotli form of stored entries off the request path (see proxy/background_encoder).
class BrotliQueue {
 public:
  virtual ~BrotliQueue() = default;
  virtual void requestBrotli(const cache::EntryPtr& entry) = 0;
};

// The worker's mailbox, safe from any thread (a shared fetch publishes from the worker that
// runs it): `fn` runs later on this worker, never inline.
class WorkerMailbox {
 public:
  virtual ~WorkerMailbox() = default;
  virtual void post(std::function<void()> fn) = 0;
};

struct FilterServices {
  cache::SharedCache* cache = nullptr;
  WorkerMailbox* mailbox = nullptr;
  BrotliQueue* brotli = nullptr;
  batch::BatchRunner* batches = nullptr;
};

}  // namespace edge::filters
