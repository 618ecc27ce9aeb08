#include "proxy/background_encoder.h"

#include "filters/encoded_entry.h"
#include "proxy/log.h"
#include "proxy/worker.h"

namespace edge {

struct BackgroundEncoder::Job {
  uv_work_t req;
  BackgroundEncoder* owner;
  cache::EntryPtr entry;  // keeps the body alive while another thread reads it
  filters::EncodingLevels levels;
  std::string compressed;
};

void BackgroundEncoder::requestBrotli(const cache::EntryPtr& entry) {
  if (!pending_.insert(entry.get()).second) {
    return;
  }
  const config::CompressionConfig& cfg = worker_.runtime().config->compression;
  auto* job = new Job{{}, this, entry, {cfg.gzip_level, cfg.brotli_quality}, {}};
  job->req.data = job;
  int rc = uv_queue_work(worker_.loop(), &job->req, &work, &done);
  if (rc != 0) {
    EDGE_LOG_WARN("cannot queue a Brotli encoding: %s", uv_strerror(rc));
    pending_.erase(entry.get());
    delete job;
  }
}

void BackgroundEncoder::work(uv_work_t* req) {
  // Another thread: only the job's own data, and the entry's immutable body.
  auto* job = static_cast<Job*>(req->data);
  job->compressed = filters::compressBody(*job->entry->body, filters::Coding::Brotli, job->levels);
}

void BackgroundEncoder::done(uv_work_t* req, int status) {
  auto* job = static_cast<Job*>(req->data);
  job->owner->pending_.erase(job->entry.get());
  if (status == 0) {
    cache::MemoryStore& store = job->owner->worker_.cache().store;
    const cache::CachedEntry& made_from = *job->entry;
    // Store the form only with the representation it was made from: the entry may have been
    // replaced (a new body) or purged meanwhile.
    cache::EntryPtr current = store.lookup(made_from.key, [&](const cache::CachedEntry& e) {
      return e.vary_values == made_from.vary_values;
    });
    if (current && current->body == made_from.body && !current->encoded[1]) {
      std::shared_ptr<cache::CachedEntry> with_form = cache::cloneEntry(*current);
      with_form->encoded[1] =
          filters::encodedForm(*current, filters::Coding::Brotli, std::move(job->compressed));
      store.insert(std::move(with_form));
    }
  }
  delete job;
}

}  // namespace edge
