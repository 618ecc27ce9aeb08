// The body of a batch response: {"responses":[{"id":"a","status":200,"headers":{...},
// "body":...}, ...]} in request order. JSON bodies are embedded as JSON (their bytes, not
// re-serialised), other text as a string, anything else as base64 with
// "bodyEncoding":"base64". Pure: no event loop.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace edge::filters::batch {

struct ItemResponse {
  std::string id;
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // as received, any case
  std::string body;
};

// Appends one element of "responses". Framing and hop-by-hop headers are left out (the body
// is re-embedded); header names are lower-cased and repeated ones joined with ", ", except
// Set-Cookie, which is always an array of its values.
void appendItemResponse(std::string& out, const ItemResponse& item);

// A response made by the proxy for an item that did not get one from the pipeline (timeout,
// failed dependency, refused path): a JSON body {"error": message}.
ItemResponse errorResponse(std::string id, int status, std::string_view message);

}  // namespace edge::filters::batch
