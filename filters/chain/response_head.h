// A response on its way through the filter chain to the client. Either materialised (status,
// reason, headers) or served whole from the cache: then `entry` (or the stored encoded `form`)
// carries prebuilt wire headers and a shared body, so a hit goes out without rebuilding
// anything until a filter really changes it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "lib/cache/entry.h"
#include "lib/http/headers.h"

namespace edge::filters {

struct ResponseHead {
  int status = 0;
  std::string reason;
  http::Headers headers;  // authoritative unless `entry` is set and `materialised` is false
  std::optional<uint64_t> content_length;
  // Served whole from the cache: the entry, and the stored encoded form picked for this client.
  cache::EntryPtr entry;
  std::shared_ptr<const cache::CachedEntry::Encoded> form;
  // A filter replaced the entry's head (a 304, say): write `headers`, not the entry's block.
  bool materialised = true;
  // The body follows in one piece (held until complete, or from an entry).
  bool whole_body = false;
  // A filter held this response and let it go unchanged because it outgrew the filter's limit.
  bool released = false;
  // From a shared fetch: the origin never saw this client's conditionals, so a 304 is ours
  // to give as soon as the head is known.
  bool answer_conditionals_at_head = false;

  // An answer of the proxy's own with a JSON body of `body_size` bytes, sent whole, never
  // stored.
  static ResponseHead ownJson(int status, std::string_view reason, size_t body_size) {
    ResponseHead head;
    head.status = status;
    head.reason = std::string(reason);
    head.headers.add("Content-Type", "application/json");
    head.headers.add("Cache-Control", "no-store");
    head.content_length = body_size;
    head.whole_body = true;
    return head;
  }

  static ResponseHead fromEntry(cache::EntryPtr stored) {
    ResponseHead head;
    head.status = stored->status;
    head.reason = stored->reason;
    head.content_length = stored->body->size();
    head.entry = std::move(stored);
    head.materialised = false;
    head.whole_body = true;
    return head;
  }
};

// One piece of a response body; `data` may be null or empty (a pure flush or end marker).
struct BodyPiece {
  cache::Body data;
  bool end = false;    // the last piece
  bool flush = false;  // what has arrived should leave now (the end of a read batch)

  size_t size() const { return data ? data->size() : 0; }
};

}  // namespace edge::filters
