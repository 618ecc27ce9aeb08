#include "lib/cache/purge_log.h"

#include <fnmatch.h>

#include <algorithm>
#include <mutex>

namespace edge::cache {

bool globMatches(const std::string& pattern, const std::string& candidate) {
  return fnmatch(pattern.c_str(), candidate.c_str(), 0) == 0;
}

bool anyTagMatches(const CachedEntry& entry, const std::string& pattern) {
  return std::any_of(entry.tags.begin(), entry.tags.end(),
                     [&](const std::string& tag) { return globMatches(pattern, tag); });
}

bool hasTag(const CachedEntry& entry, std::string_view tag) {
  return std::find(entry.tags.begin(), entry.tags.end(), tag) != entry.tags.end();
}

bool PurgeRecord::matches(const CachedEntry& entry) const {
  switch (target) {
    case PurgeTarget::Key:
      return entry.key == text;
    case PurgeTarget::Tag:
      return hasTag(entry, text);
    case PurgeTarget::Glob:
      return globMatches(text, entry.key) || anyTagMatches(entry, text);
    case PurgeTarget::All:
      return true;
  }
  return true;
}

uint64_t PurgeLog::record(PurgeTarget target, std::string_view text, PurgeMode mode) {
  std::unique_lock lock(mutex_);
  const uint64_t number = generation_.load(std::memory_order_relaxed) + 1;
  records_.push_back(PurgeRecord{number, target, std::string(text), mode});
  if (records_.size() > capacity_) {
    records_.pop_front();
  }
  generation_.store(number, std::memory_order_release);
  return number;
}

PurgeLog::Verdict PurgeLog::check(const CachedEntry& entry, uint64_t stamp) const {
  if (stamp >= generation()) {
    return Verdict::Keep;  // the common case: no purge ran while it was fetched
  }
  std::shared_lock lock(mutex_);
  Verdict verdict = Verdict::Keep;
  size_t first = 0;
  if (records_.empty() || records_.front().generation > stamp + 1) {
    verdict = Verdict::Invalidate;  // purges it may have missed are forgotten: revalidate
  } else {
    first = static_cast<size_t>(stamp + 1 - records_.front().generation);
  }
  for (size_t i = first; i < records_.size(); ++i) {
    const PurgeRecord& purge = records_[i];
    if (purge.matches(entry)) {
      if (purge.mode == PurgeMode::Hard) {
        return Verdict::Drop;
      }
      verdict = Verdict::Invalidate;
    }
  }
  return verdict;
}

}  // namespace edge::cache
