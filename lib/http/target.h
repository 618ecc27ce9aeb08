// Request targets: the one normal form of a path that routing, cache keys and the upstream
// request all use, so the three can never disagree about which resource is meant. Pure logic.
#pragma once

#include <string>
#include <string_view>

namespace edge::http {

// Percent-encoding normalised (RFC 3986 6.2.2): unreserved characters decoded, the hex digits
// of every other escape upper-cased ("%7e" -> "~", "%2f" -> "%2F"), and a '%' that starts no
// escape encoded as "%25", so that decoding can never complete an escape ("%7%41" would
// otherwise become "%7A", which a second pass reads as "z"): normalising twice changes nothing.
std::string normalisePercent(std::string_view text);

// True when some '%' in `text` is not followed by two hex digits.
bool hasMalformedEscape(std::string_view text);

// The path with percent-encoding normalised and then dot segments removed (RFC 3986 5.2.4),
// so "/static/%2e%2e/api" is "/api". Empty segments ("//") are kept; they may matter.
std::string normalisePath(std::string_view path);

// An origin-form target ("/p?q") with its path normalised; the query is left as it came.
// "*" (OPTIONS) is returned unchanged.
std::string normaliseOriginForm(std::string_view target);

// A request target as the proxy uses it: the authority (from an absolute-form target, which
// wins over Host by RFC 9112 3.2.2; else the Host header's value) and the normalised
// origin-form, or why the target is refused.
struct ResolvedTarget {
  std::string host;
  std::string target;
  const char* error = nullptr;  // set: answer 400 with this reason
};
ResolvedTarget resolveTarget(std::string_view request_target, std::string_view host_header);

}  // namespace edge::http
