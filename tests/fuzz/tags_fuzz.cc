// Tag templates ({header.NAME}, {path.N}, {query.NAME}, literals) expanded against a request,
// plus the origin's Surrogate-Key and Cache-Tag headers. Input lines: the request target, then
// templates up to a "--" line, then "name: value" lines; names starting with "r-" become
// response headers without the prefix, the others request headers.
//
// Properties: no tag is empty (for non-empty templates) and no tag appears twice.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "config/config.h"
#include "fuzz_check.h"
#include "lib/cache/tags.h"

namespace {

std::string_view nextLine(std::string_view& text) {
  const size_t eol = std::min(text.find('\n'), text.size());
  const std::string_view line = text.substr(0, eol);
  text.remove_prefix(std::min(eol + 1, text.size()));
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::string_view target = nextLine(text);
  edge::config::RouteClass route_class;
  while (!text.empty()) {
    const std::string_view line = nextLine(text);
    if (line == "--") {
      break;
    }
    if (!line.empty()) {  // the loader refuses an empty template
      route_class.tags.emplace_back(line);
    }
  }
  edge::http::Headers request_headers;
  edge::http::Headers response_headers;
  while (!text.empty()) {
    const std::string_view line = nextLine(text);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      continue;
    }
    std::string_view name = line.substr(0, colon);
    std::string value(edge::http::trimOws(line.substr(colon + 1)));
    if (name.starts_with("r-")) {
      response_headers.add(std::string(name.substr(2)), std::move(value));
    } else {
      request_headers.add(edge::http::lowerAscii(name), std::move(value));
    }
  }
  const std::vector<std::string> tags =
      edge::cache::expandTags(route_class, {target, &request_headers, &response_headers});
  std::set<std::string_view> seen;
  for (const std::string& tag : tags) {
    FUZZ_CHECK(!tag.empty(), "an empty tag");
    FUZZ_CHECK(seen.insert(tag).second, "a duplicate tag");
  }
  return 0;
}
