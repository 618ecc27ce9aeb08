// The body of a batch request, read and checked before any item runs:
//   {"requests":[{"id":"a","method":"GET","path":"/sites/1","headers":{...},"body":...,
//                 "dependsOn":["b"]}, ...]}
// Pure: no event loop. Parsing uses simdjson.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace edge::filters::batch {

struct ItemRequest {
  std::string id;
  std::string method = "GET";
  std::string path;  // origin-form target, query included
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::optional<std::string> body;
  // The body was a JSON value (not a string): it is sent minified, as application/json
  // unless the item names a Content-Type.
  bool body_is_json = false;
  std::vector<size_t> depends_on;  // indices into the batch's items
};

struct BatchError {
  int status = 400;
  std::string message;  // says where: "requests[2].path: ..." or "invalid JSON at byte 17: ..."
};

struct BatchLimits {
  size_t max_items = 20;
};

// The items in request order, or why the batch as a whole is refused (invalid JSON with the
// byte offset of the error, a wrong shape, too many items, duplicate ids, a dependsOn naming
// an unknown id or forming a cycle).
std::variant<std::vector<ItemRequest>, BatchError> parseBatch(std::string_view body,
                                                               const BatchLimits& limits);

// Why an item may not request `target`, or "" when it may: only origin-form paths (no scheme,
// no host, no "//" authority), no dot segments that would climb out of the routes (also
// percent-encoded, with ";params", or through backslashes), no control characters, and never
// the batch endpoint itself.
std::string targetProblem(std::string_view target, std::string_view batch_path);

}  // namespace edge::filters::batch
