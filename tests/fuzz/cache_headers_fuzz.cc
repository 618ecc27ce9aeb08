// Response and request header values the cache reads: Cache-Control, Age (delta-seconds),
// HTTP dates (Date, Expires, Last-Modified), Vary and the normalised Vary values. The whole
// input is each parser's value; read as "Name: value" lines it is also a response header block
// for the freshness computation (Age, Date, Expires, Last-Modified, Cache-Control, Vary).
//
// Properties: delta-seconds are within 0..2^31; a parsed HTTP date formats to a date that
// parses back to the same instant; freshness and corrected age are never negative; Vary
// headers come out lower case; accept-encoding normalises to br, gzip or identity.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.h"
#include "fuzz_check.h"
#include "lib/cache/cache_control.h"
#include "lib/cache/policy.h"
#include "lib/cache/policy_internal.h"

namespace {

using namespace edge::cache;

constexpr int64_t kMaxDelta = int64_t{1} << 31;

void checkDelta(const std::optional<int64_t>& value) {
  FUZZ_CHECK(!value || (*value >= 0 && *value <= kMaxDelta), "delta-seconds out of range");
}

edge::http::Headers headerLines(std::string_view text) {
  edge::http::Headers headers;
  while (!text.empty()) {
    const size_t eol = std::min(text.find('\n'), text.size());
    const std::string_view line = text.substr(0, eol);
    const size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      headers.add(std::string(line.substr(0, colon)),
                  std::string(edge::http::trimOws(line.substr(colon + 1))));
    }
    text.remove_prefix(std::min(eol + 1, text.size()));
  }
  return headers;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const CacheControl cc = parseCacheControl(text);
  for (const auto* field : {&cc.max_age, &cc.s_maxage, &cc.min_fresh, &cc.max_stale,
                            &cc.stale_while_revalidate, &cc.stale_if_error}) {
    checkDelta(*field);
  }
  checkDelta(detail::parseDeltaSeconds(text));

  if (const std::optional<int64_t> date = parseHttpDate(text)) {
    const std::string formatted = formatHttpDate(*date);
    FUZZ_CHECK(parseHttpDate(formatted) == date, "an HTTP date does not survive formatting");
  }

  const std::string value(text);
  const std::string encoding = normaliseVaryValue("accept-encoding", &value);
  FUZZ_CHECK(encoding == "br" || encoding == "gzip" || encoding == "identity",
             "accept-encoding normalised to something else");
  normaliseVaryValue("accept-language", &value);

  const edge::http::Headers headers = headerLines(text);
  edge::config::RouteClass route_class;
  route_class.heuristic_freshness = size % 2 == 0;
  route_class.vary.push_back("x-fuzz");
  constexpr int64_t kNow = 1'700'000'000'000;  // a fixed instant keeps runs reproducible
  const CacheControl response_cc = parseCacheControl(headers.joined("cache-control"));
  const detail::Freshness freshness =
      detail::computeFreshness(headers, response_cc, route_class, kNow - 5, kNow);
  FUZZ_CHECK(freshness.lifetime_ms >= 0 && freshness.corrected_initial_age_ms >= 0 &&
                 freshness.stale_while_revalidate_ms >= 0 && freshness.stale_if_error_ms >= 0,
             "negative freshness or age");
  if (const auto vary = varyHeaders(headers, route_class)) {
    for (const std::string& name : *vary) {
      FUZZ_CHECK(name == edge::http::lowerAscii(name), "a Vary header name is not lower case");
    }
  }
  return 0;
}
