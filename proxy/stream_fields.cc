// Sparse fieldsets in the Stream: the selection is read from the query once, its parameters
// never reach the origin (which sends the whole representation, cached once), and JSON 200s
// are cut to it: stored entries through memoised projection entries, everything else when the
// body has been held back in full (stream_buffered.cc).
#include "lib/json/json_string.h"
#include "filters/fields/fields_filter.h"
#include "filters/fields/json_response.h"
#include "lib/cache/shared_cache.h"
#include "proxy/client_side.h"
#include "lib/http/serializer.h"
#include "proxy/log.h"
#include "proxy/stream.h"

namespace edge {

bool Stream::readFieldSelection() {
  const config::FieldsConfig& cfg = runtime_->config->classOf(*route_).fields;
  const size_t question = upstream_target_.find('?');
  if (!cfg.enabled || question == std::string::npos) {
    return true;
  }
  filters::json::QuerySelection query =
      filters::json::selectionFromQuery(std::string_view(upstream_target_).substr(question + 1));
  if (!query.present) {
    return true;
  }
  if (query.error) {
    std::string body = "{\"error\":";
    filters::json::appendJsonString(body, "malformed field selection in " + query.param + ": " +
                                               query.error->message + " at position " +
                                               std::to_string(query.error->position));
    body.append(",\"parameter\":");
    filters::json::appendJsonString(body, query.param);
    body.append(",\"position\":").append(std::to_string(query.error->position)).append("}");
    http::Headers headers;
    headers.add("Content-Type", "application/json");
    headers.add("Cache-Control", "no-store");
    sendComplete(400, "Bad Request", std::move(headers), std::move(body));
    return false;
  }
  upstream_target_ = filters::withoutFieldParams(upstream_target_);
  if (!query.selection.empty()) {
    fields_ = std::make_shared<const filters::json::FieldSelection>(std::move(query.selection));
  }
  return true;
}

bool Stream::projectable(const http::Headers& headers) const {
  return fields_ != nullptr && filters::isPlainJson(headers) && !filters::forbidsTransform(headers);
}

// The projection of a stored JSON 200 for this request's selection: the memoised one when it
// was cut from this very representation, else a new one (memoised if the class says so).
// Null when the body is not valid JSON: the entry is then served as it is.
cache::EntryPtr Stream::projectionOf(const cache::EntryPtr& entry) {
  const config::FieldsConfig& cfg = runtime_->config->classOf(*route_).fields;
  cache::MemoryStore& store = worker_.cache().store;
  std::string key = filters::projectionKey(entry->key, *fields_);
  if (cfg.memoize) {
    cache::EntryPtr memo = store.lookup(key, [&](const cache::CachedEntry& candidate) {
      return filters::isProjectionOf(candidate, *entry);
    });
    if (memo) {
      return memo;
    }
  }
  std::shared_ptr<cache::CachedEntry> projected =
      filters::projectEntry(*entry, *fields_, {cfg.envelope}, std::move(key));
  if (!projected) {
    countInvalidJson();
    return nullptr;
  }
  if (cfg.memoize) {
    store.insert(projected);
  }
  return projected;
}

void Stream::projectHeld(http::Headers& headers, std::string& body) {
  const config::FieldsConfig& cfg = runtime_->config->classOf(*route_).fields;
  if (!filters::projectBody(headers, body, *fields_, {cfg.envelope})) {
    countInvalidJson();
  }
}

void Stream::countInvalidJson() {
  worker_.cache().invalid_json.fetch_add(1, std::memory_order_relaxed);
  EDGE_LOG_DEBUG("%s %s: the origin's JSON is invalid; sent unprojected", req_.method.c_str(),
                 upstream_target_.c_str());
}

}  // namespace edge
