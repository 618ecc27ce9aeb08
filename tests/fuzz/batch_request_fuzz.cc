// Batch request bodies (parseBatch: JSON shape, ids, dependsOn graph, limits) and item
// targets (targetProblem). The same bytes serve both.
//
// Properties: a parsed batch has 1..max_items items with unique ids and in-range dependsOn
// indices; every target targetProblem accepts is an origin-form path that cannot climb out
// ('/' first, no "//" start, no control bytes or spaces, no "." or ".." segment).
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <variant>

#include "filters/batch/batch_request.h"
#include "fuzz_check.h"

namespace {

using namespace edge::filters::batch;

void checkTarget(std::string_view target) {
  if (!targetProblem(target, "/batch").empty()) {
    return;
  }
  FUZZ_CHECK(!target.empty() && target.front() == '/', "accepted a target without a leading /");
  FUZZ_CHECK(!target.starts_with("//"), "accepted a target naming a host");
  for (unsigned char c : target) {
    FUZZ_CHECK(c > 0x20 && c < 0x7f, "accepted a target with a control, space or non-ASCII byte");
  }
  const std::string_view path = target.substr(0, target.find('?'));
  const std::string wrapped = std::string(path) + "/";
  FUZZ_CHECK(wrapped.find("/../") == std::string::npos && wrapped.find("/./") == std::string::npos,
             "accepted a target with a dot segment");
  FUZZ_CHECK(path != "/batch", "accepted the batch endpoint itself");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  checkTarget(text);
  const BatchLimits limits{.max_items = 8};
  const auto parsed = parseBatch(text, limits);
  if (const auto* error = std::get_if<BatchError>(&parsed)) {
    FUZZ_CHECK(!error->message.empty() && error->status >= 400, "error without a message");
    return 0;
  }
  const auto& items = std::get<std::vector<ItemRequest>>(parsed);
  FUZZ_CHECK(!items.empty() && items.size() <= limits.max_items, "item count out of limits");
  std::set<std::string> ids;
  for (size_t i = 0; i < items.size(); ++i) {
    FUZZ_CHECK(ids.insert(items[i].id).second, "duplicate item id accepted");
    for (size_t dep : items[i].depends_on) {
      FUZZ_CHECK(dep < items.size() && dep != i, "dependsOn out of range or on itself");
    }
    checkTarget(items[i].path);
  }
  return 0;
}
