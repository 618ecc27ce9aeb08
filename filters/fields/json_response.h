// Facts about JSON responses that the buffered-response path and the fields filter share.
// Pure: no event loop.
#pragma once

#include <string_view>

#include "lib/http/headers.h"

namespace edge::filters {

// application/json or application/*+json (a media type without parameters, any case).
bool isJsonMediaType(std::string_view media_type);

// A JSON media type, with no content coding applied.
bool isPlainJson(const http::Headers& headers);

// Cache-Control: no-transform (RFC 9110 7.7): the body must reach the client as sent.
bool forbidsTransform(const http::Headers& headers);

}  // namespace edge::filters
