#include "proxy/background_encoder.h"

#include "filters/compress/encoded_entry.h"
#include "proxy/log.h"
#include "proxy/worker.h"

namespace edge {

struct BackgroundEncoder::Job {
  uv_work_t req;
  BackgroundEncoder* owner;
  std::weak_ptr<const cache::CachedEntry> entry;  // evicted meanwhile: nothing to do
  const cache::CachedEntry* id;                   // its key in pending_
  size_t body_bytes;
  filters::EncodingLevels levels;
  std::string compressed;
};

BackgroundEncoder::BackgroundEncoder(Worker& worker) : worker_(worker) {}
BackgroundEncoder::~BackgroundEncoder() = default;

void BackgroundEncoder::requestBrotli(const cache::EntryPtr& entry) {
  const size_t body_bytes = entry->body ? entry->body->size() : 0;
  if (pending_.count(entry.get()) != 0 ||
      (!pending_.empty() && pending_bytes_ + body_bytes > kMaxPendingBytes)) {
    return;
  }
  const config::CompressionConfig& cfg = worker_.runtime().config->compression;
  waiting_.push_back(std::unique_ptr<Job>(new Job{{}, this, entry, entry.get(), body_bytes,
                                                  {cfg.gzip_level, cfg.brotli_quality}, {}}));
  pending_.insert(entry.get());
  pending_bytes_ += body_bytes;
  startNext();
}

void BackgroundEncoder::startNext() {
  while (!running_ && !waiting_.empty()) {
    Job* job = waiting_.front().release();
    waiting_.pop_front();
    if (job->entry.expired()) {  // evicted while it waited
      pending_.erase(job->id);
      pending_bytes_ -= job->body_bytes;
      delete job;
      continue;
    }
    job->req.data = job;
    const int rc = uv_queue_work(worker_.loop(), &job->req, &work, &done);
    if (rc != 0) {
      EDGE_LOG_WARN("cannot queue a Brotli encoding: %s", uv_strerror(rc));
      pending_.erase(job->id);
      pending_bytes_ -= job->body_bytes;
      delete job;
      continue;
    }
    running_ = true;
  }
}

void BackgroundEncoder::work(uv_work_t* req) {
  // Another thread: only the job's own data, and the entry's immutable body, kept alive by
  // the reference taken here for as long as the encoding runs.
  auto* job = static_cast<Job*>(req->data);
  if (const cache::EntryPtr entry = job->entry.lock()) {
    job->compressed = filters::compressBody(*entry->body, filters::Coding::Brotli, job->levels);
  }
}

void BackgroundEncoder::done(uv_work_t* req, int status) {
  std::unique_ptr<Job> job(static_cast<Job*>(req->data));
  BackgroundEncoder& owner = *job->owner;
  owner.pending_.erase(job->id);
  owner.pending_bytes_ -= job->body_bytes;
  owner.running_ = false;
  const cache::EntryPtr made_from = job->entry.lock();
  if (status == 0 && made_from && !job->compressed.empty()) {
    owner.store(*made_from, std::move(job->compressed));
  }
  if (status != UV_ECANCELED) {
    owner.startNext();
  }
}

void BackgroundEncoder::store(const cache::CachedEntry& made_from, std::string&& compressed) {
  cache::Store& store = worker_.cache().store;
  // Store the form only with the representation it was made from: the entry may have been
  // replaced (a new body) or purged meanwhile. Made from a copy of what is needed, so the
  // answer may come after `made_from` is gone.
  store.lookup(
      made_from.key,
      [vary = made_from.vary_values](const cache::CachedEntry& e) { return e.vary_values == vary; },
      [&store, body = made_from.body,
       compressed = std::make_shared<std::string>(std::move(compressed))](cache::EntryPtr current) {
        if (current && current->body == body && !current->encoded[1]) {
          std::shared_ptr<cache::CachedEntry> with_form = cache::cloneEntry(*current);
          with_form->encoded[1] =
              filters::encodedForm(*current, filters::Coding::Brotli, std::move(*compressed));
          store.insert(std::move(with_form));
        }
      });
}

}  // namespace edge
