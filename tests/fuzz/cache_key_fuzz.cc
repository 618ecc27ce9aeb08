// Cache key normalisation: host, path (dot segments, percent-encoding), query (filtered by the
// class, sorted), key dimensions (headers, tenant, credential), and glob escaping for purges.
// Input: "target\nhost\nname: value" lines (request headers); byte 0 picks the class rules.
//
// Properties: the key starts with the URL prefix of its target (unsafe-method invalidation
// purges by that prefix); normalisation is idempotent (the normalised target normalises to
// itself); globEscape(text) matches exactly text under fnmatch(3), as the purge log uses it.
#include <fnmatch.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.h"
#include "fuzz_check.h"
#include "lib/cache/key.h"

namespace {

using namespace edge::cache;
using edge::config::CacheKeyConfig;

std::string_view nextLine(std::string_view& text) {
  const size_t eol = std::min(text.find('\n'), text.size());
  const std::string_view line = text.substr(0, eol);
  text.remove_prefix(std::min(eol + 1, text.size()));
  return line;
}

edge::config::RouteClass classFor(uint8_t rules) {
  edge::config::RouteClass route_class;
  route_class.name = "fuzz";
  if (rules & 1) {
    route_class.key.query_mode = CacheKeyConfig::QueryMode::IncludeOnly;
    route_class.key.query_params = {"page", "sort", "f*"};
  }
  if (rules & 2) {
    route_class.key.headers = {"accept-language", "x-version"};
  }
  if (rules & 4) {
    route_class.key.tenant_header = "x-org-id";
  }
  route_class.key.per_credential = (rules & 8) != 0;
  return route_class;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) {
    return 0;
  }
  const edge::config::RouteClass route_class = classFor(data[0]);
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::string_view target = nextLine(text);
  const std::string_view host = nextLine(text);
  edge::http::Headers headers;
  while (!text.empty()) {
    const std::string_view line = nextLine(text);
    const size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      headers.add(edge::http::lowerAscii(line.substr(0, colon)),
                  std::string(line.substr(colon + 1)));
    }
  }

  const std::string key = buildKey({host, target, &headers}, route_class);
  const std::string prefix = urlPrefix(host, target, route_class);
  FUZZ_CHECK(key.starts_with(prefix), "a key does not start with its URL prefix");

  // With a fixed host the normalised target is what lies between the two '|' of the prefix.
  constexpr std::string_view kHost = "example.com";
  const std::string fixed = urlPrefix(kHost, target, route_class);
  const std::string normalised = fixed.substr(kHost.size() + 1, fixed.size() - kHost.size() - 2);
  FUZZ_CHECK(urlPrefix(kHost, normalised, route_class) == fixed,
             "normalising a normalised target changes it");
  const std::string_view query = target.substr(std::min(target.find('?') + 1, target.size()));
  const std::string sorted = normaliseQuery(query, route_class.key);
  FUZZ_CHECK(normaliseQuery(sorted, route_class.key) == sorted,
             "normaliseQuery is not idempotent");

  if (key.find('\0') == std::string::npos) {
    FUZZ_CHECK(fnmatch(globEscape(key).c_str(), key.c_str(), 0) == 0,
               "an escaped key does not match itself");
  }
  return 0;
}
