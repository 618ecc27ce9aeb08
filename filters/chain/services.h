// What the filters of one worker may use beyond their request: the shared cache and the
// worker's background Brotli encoder. Handed to every filter factory; outlives the chains.
#pragma once

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

struct FilterServices {
  cache::SharedCache* cache = nullptr;
  BrotliQueue* brotli = nullptr;
  batch::BatchRunner* batches = nullptr;
};

}  // namespace edge::filters
