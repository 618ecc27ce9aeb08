// Sparse fieldsets applied to responses: the query parameters that carry a selection, the
// projected form of a stored entry (its own key, body and strong ETag), and the projection of
// a body held back in full. Pure: no event loop.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "lib/json/field_selection.h"
#include "lib/json/projection.h"
#include "lib/cache/entry.h"
#include "lib/http/headers.h"

namespace edge::filters {

// `target` without its `fields` and `fields[TYPE]` parameters (names compared decoded): the
// origin is asked for the whole representation, which every selection is cut from.
std::string withoutFieldParams(std::string_view target);

// Where projections of `base_key` are kept: one key per canonical selection.
std::string projectionKey(std::string_view base_key, const json::FieldSelection& selection);

// True when `projected` was cut from `base` as it is now (same body, same revalidation).
bool isProjectionOf(const cache::CachedEntry& projected, const cache::CachedEntry& base);

// The projection of a stored JSON 200 as an entry of its own under `key`: the projected body,
// the base's headers with the projection's strong ETag (projectionTag of the base's), the
// base's times, tags and Vary values, no encoded forms yet. Null when the body is not valid
// JSON (the caller serves the base unchanged and counts it).
std::shared_ptr<cache::CachedEntry> projectEntry(const cache::CachedEntry& base,
                                                 const json::FieldSelection& selection,
                                                 const json::ProjectionOptions& options,
                                                 std::string key);

// Projects a complete JSON body in place and gives it the projection's ETag: the base tag is
// the origin's, or one generated from the full body (as stored entries get). False, with
// nothing changed, when the body is not valid JSON.
bool projectBody(http::Headers& headers, std::string& body, const json::FieldSelection& selection,
                 const json::ProjectionOptions& options);

}  // namespace edge::filters
