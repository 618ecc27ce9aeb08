// Conditional requests upstream and the 304 that refreshes a stored response.
#include <algorithm>
#include <array>
#include <memory>

#include "lib/cache/policy.h"

namespace edge::cache {
namespace {

// A 304 describes the stored representation, but these describe its framing or encoding
// (kept from the stored response) or the hop it arrived on.
constexpr std::array<std::string_view, 9> kNotUpdatedBy304 = {
    "content-length", "transfer-encoding", "content-encoding", "connection", "keep-alive",
    "proxy-connection", "te", "trailer", "upgrade"};

bool updatedBy304(std::string_view name) {
  return std::none_of(kNotUpdatedBy304.begin(), kNotUpdatedBy304.end(),
                      [&](std::string_view kept) { return http::iequals(kept, name); });
}

// RFC 9111 3.2: each field the 304 carries replaces every stored line of that name.
void updateHeaders(http::Headers& stored, const http::Headers& not_modified) {
  std::vector<std::string_view> replaced;
  for (const http::Header& header : not_modified) {
    if (!updatedBy304(header.name)) {
      continue;
    }
    const bool seen = std::any_of(replaced.begin(), replaced.end(), [&](std::string_view name) {
      return http::iequals(name, header.name);
    });
    if (!seen) {
      stored.remove(header.name);
      replaced.push_back(header.name);
    }
    stored.add(header.name, header.value);
  }
}

}  // namespace

void addValidators(const CachedEntry& entry, http::Headers& upstream_request_headers) {
  // The client's own validators describe its copy, not ours: a 304 for them could not
  // refresh this entry.
  upstream_request_headers.remove("if-none-match");
  upstream_request_headers.remove("if-modified-since");
  if (!entry.etag.empty()) {
    upstream_request_headers.set("If-None-Match", entry.etag);
  }
  if (!entry.last_modified.empty()) {
    upstream_request_headers.set("If-Modified-Since", entry.last_modified);
  }
}

EntryPtr refreshFromNotModified(const CachedEntry& stale, const http::Headers& not_modified_headers,
                                const config::RouteClass& route_class, int64_t request_time_ms,
                                int64_t response_time_ms) {
  std::shared_ptr<CachedEntry> fresh = cloneEntry(stale);
  fresh->invalidated.store(false, std::memory_order_relaxed);  // a successful revalidation
  fresh->wire_headers.clear();  // the headers change: whoever stores it serialises them anew
  fresh->encoded = {};           // their header blocks too; the next hit re-encodes
  updateHeaders(fresh->headers, not_modified_headers);
  if (not_modified_headers.find("date") == nullptr) {
    // RFC 9110 6.6.1: a recipient with a clock dates a message that lacks Date. Keeping the
    // stored Date would count the whole time since the first fetch as age.
    fresh->headers.set("Date", formatHttpDate(response_time_ms));
  }
  fillFreshness(*fresh, route_class, request_time_ms, response_time_ms);
  return fresh;
}

}  // namespace edge::cache
