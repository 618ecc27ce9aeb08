#include "lib/cache/cache_control.h"

#include <algorithm>
#include <array>
#include <string>

#include "lib/cache/policy_internal.h"
#include "lib/http/headers.h"

namespace edge::cache {
namespace {

// RFC 9111 1.2.2: a delta-seconds too large to represent is taken as 2^31.
constexpr int64_t kDeltaSecondsCap = 2147483648;

struct Directive {
  std::string_view name;
  std::string value;  // unquoted
  bool has_value = false;
};

bool isOws(char c) { return c == ' ' || c == '\t'; }

void skipOws(std::string_view& s) {
  while (!s.empty() && isOws(s.front())) {
    s.remove_prefix(1);
  }
}

using http::trimOws;

// Consumes and returns everything before the first of `stops` (or the rest).
std::string_view takeUntil(std::string_view& s, std::string_view stops) {
  const size_t end = std::min(s.find_first_of(stops), s.size());
  std::string_view taken = s.substr(0, end);
  s.remove_prefix(end);
  return taken;
}

// A quoted-string after its opening quote; an unterminated one takes the rest of the field.
std::string takeQuoted(std::string_view& s) {
  std::string out;
  while (!s.empty()) {
    char c = s.front();
    s.remove_prefix(1);
    if (c == '"') {
      break;
    }
    if (c == '\\' && !s.empty()) {
      c = s.front();
      s.remove_prefix(1);
    }
    out.push_back(c);
  }
  return out;
}

// Reads the next directive from `rest`; false when none is left. Commas inside a quoted value
// do not end the directive (no-cache="Set-Cookie, X-Foo").
bool nextDirective(std::string_view& rest, Directive& directive) {
  while (!rest.empty() && (isOws(rest.front()) || rest.front() == ',')) {
    rest.remove_prefix(1);
  }
  if (rest.empty()) {
    return false;
  }
  directive = Directive{};
  directive.name = trimOws(takeUntil(rest, "=,"));
  if (!rest.empty() && rest.front() == '=') {
    rest.remove_prefix(1);
    skipOws(rest);
    directive.has_value = true;
    if (!rest.empty() && rest.front() == '"') {
      rest.remove_prefix(1);
      directive.value = takeQuoted(rest);
    } else {
      directive.value = std::string(trimOws(takeUntil(rest, ",")));
    }
  }
  takeUntil(rest, ",");  // junk after a quoted value
  return true;
}

struct FlagDirective {
  std::string_view name;
  bool CacheControl::*field;
};

constexpr std::array<FlagDirective, 9> kFlags = {{
    {"no-store", &CacheControl::no_store},
    {"no-cache", &CacheControl::no_cache},
    {"private", &CacheControl::is_private},
    {"public", &CacheControl::is_public},
    {"must-revalidate", &CacheControl::must_revalidate},
    {"proxy-revalidate", &CacheControl::proxy_revalidate},
    {"no-transform", &CacheControl::no_transform},
    {"only-if-cached", &CacheControl::only_if_cached},
    {"immutable", &CacheControl::immutable},
}};

struct DeltaDirective {
  std::string_view name;
  std::optional<int64_t> CacheControl::*field;
  bool stale_on_conflict;  // freshness directives: conflicting duplicates mean stale (4.2.1)
};

constexpr std::array<DeltaDirective, 5> kDeltas = {{
    {"max-age", &CacheControl::max_age, true},
    {"s-maxage", &CacheControl::s_maxage, true},
    {"min-fresh", &CacheControl::min_fresh, false},
    {"stale-while-revalidate", &CacheControl::stale_while_revalidate, false},
    {"stale-if-error", &CacheControl::stale_if_error, false},
}};

// First occurrence wins, except that disagreeing freshness directives collapse to 0.
void applyDelta(std::optional<int64_t>& field, std::optional<int64_t> parsed,
                bool stale_on_conflict) {
  if (!parsed) {
    return;
  }
  if (!field) {
    field = parsed;
  } else if (stale_on_conflict && *field != *parsed) {
    field = 0;
  }
}

void applyDirective(CacheControl& cc, const Directive& directive) {
  for (const FlagDirective& flag : kFlags) {
    if (http::iequals(directive.name, flag.name)) {
      // Qualified forms (no-cache="Set-Cookie", private="X") apply to the whole response.
      cc.*flag.field = true;
      return;
    }
  }
  if (http::iequals(directive.name, "max-stale")) {
    if (!directive.has_value) {
      cc.max_stale_any = true;
    } else {
      applyDelta(cc.max_stale, detail::parseDeltaSeconds(directive.value), false);
    }
    return;
  }
  for (const DeltaDirective& delta : kDeltas) {
    if (http::iequals(directive.name, delta.name)) {
      std::optional<int64_t> parsed = detail::parseDeltaSeconds(directive.value);
      if (!parsed && delta.field == &CacheControl::max_age) {
        parsed = 0;  // RFC 9111 4.2.1: an invalid max-age means stale
      }
      applyDelta(cc.*delta.field, parsed, delta.stale_on_conflict);
      return;
    }
  }
}

}  // namespace

namespace detail {

std::optional<int64_t> parseDeltaSeconds(std::string_view text) {
  if (text.empty()) {
    return std::nullopt;
  }
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    value = std::min(value * 10 + (c - '0'), kDeltaSecondsCap);
  }
  return value;
}

}  // namespace detail

CacheControl parseCacheControl(std::string_view value) {
  CacheControl cc;
  Directive directive;
  while (nextDirective(value, directive)) {
    applyDirective(cc, directive);
  }
  return cc;
}

}  // namespace edge::cache
