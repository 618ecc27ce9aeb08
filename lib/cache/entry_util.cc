#include "lib/cache/entry.h"

namespace edge::cache {

std::string wireHeaderBlock(const http::Headers& headers) {
  std::string out;
  for (const http::Header& h : headers) {
    if (http::iequals(h.name, "age") || http::iequals(h.name, "date") ||
        http::iequals(h.name, "content-length") || http::iequals(h.name, "transfer-encoding")) {
      continue;
    }
    out.append(h.name).append(": ").append(h.value).append("\r\n");
  }
  return out;
}

std::shared_ptr<CachedEntry> cloneEntry(const CachedEntry& from) {
  auto to = std::make_shared<CachedEntry>();
  to->key = from.key;
  to->status = from.status;
  to->reason = from.reason;
  to->headers = from.headers;
  to->body = from.body;
  to->vary_values = from.vary_values;
  to->request_time_ms = from.request_time_ms;
  to->response_time_ms = from.response_time_ms;
  to->corrected_initial_age_ms = from.corrected_initial_age_ms;
  to->freshness_lifetime_ms = from.freshness_lifetime_ms;
  to->stale_while_revalidate_ms = from.stale_while_revalidate_ms;
  to->stale_if_error_ms = from.stale_if_error_ms;
  to->must_revalidate = from.must_revalidate;
  to->no_cache = from.no_cache;
  to->wire_headers = from.wire_headers;
  to->encoded = from.encoded;
  to->etag = from.etag;
  to->last_modified = from.last_modified;
  to->tags = from.tags;
  to->route_class = from.route_class;
  to->projected_from = from.projected_from;
  to->projected_from_time_ms = from.projected_from_time_ms;
  to->generation = from.generation;
  to->invalidated.store(from.invalidated.load(std::memory_order_relaxed),
                        std::memory_order_relaxed);
  return to;
}

}  // namespace edge::cache
