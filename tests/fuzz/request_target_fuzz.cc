// Request targets as the proxy resolves them (lib/http/target, http::resolveTarget): origin-form
// or absolute-form, the authority split off, the path normalised once.
// Input: "target\nhost header".
// Properties: a refused target has a reason and nothing else; an accepted one is origin-form
// ("/..." or "*"), has no malformed escape left in its path, and resolves to itself again
// with the same host (so routing, the cache key and the upstream request can never read two
// different resources out of one request); an absolute-form authority holds no '/' or '?'.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lib/http/target.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t newline = text.find('\n');
  std::string_view target = text.substr(0, newline);
  std::string_view host = newline == std::string_view::npos ? "" : text.substr(newline + 1);

  edge::http::ResolvedTarget resolved = edge::http::resolveTarget(target, host);
  if (resolved.error != nullptr) {
    FUZZ_CHECK(*resolved.error != '\0', "a refused target without a reason");
    FUZZ_CHECK(resolved.target.empty(), "a refused target with a result");
    return 0;
  }
  const std::string& out = resolved.target;
  FUZZ_CHECK(!out.empty() && (out[0] == '/' || out == "*"), "result is not origin-form");
  std::string_view path = std::string_view(out).substr(0, out.find('?'));
  FUZZ_CHECK(!edge::http::hasMalformedEscape(path), "a malformed escape survived");
  edge::http::ResolvedTarget again = edge::http::resolveTarget(out, resolved.host);
  FUZZ_CHECK(again.error == nullptr, "a resolved target is refused the second time");
  FUZZ_CHECK(again.target == out, "resolving is not idempotent");
  FUZZ_CHECK(again.host == resolved.host, "the host changes on the second resolution");
  if (target.starts_with("http://") || target.starts_with("https://")) {
    FUZZ_CHECK(resolved.host.find_first_of("/?") == std::string::npos,
               "an authority holds a path");
  } else {
    FUZZ_CHECK(resolved.host == host, "an origin-form target changed the host");
  }
  return 0;
}
