// Small scanners over raw JSON text for the projector: what simdjson's On-Demand API does not
// give directly (a key's raw span, a token without its trailing whitespace, number syntax).
#pragma once

#include <cstddef>
#include <string_view>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace edge::filters::json {

inline bool isJsonSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// simdjson's raw spans run up to the next token, trailing whitespace included.
inline std::string_view trimJsonSpace(std::string_view text) {
  while (!text.empty() && isJsonSpace(text.back())) {
    text.remove_suffix(1);
  }
  return text;
}

// The text of a key between its quotes, as written, from just after the opening quote. The
// string must be known closed (simdjson's scan checked it) and 16 bytes must be readable from
// `start` (the input's padding guarantees it). `escaped` tells whether it holds a backslash.
inline std::string_view rawKey(const char* start, bool& escaped) {
  escaped = false;
#ifdef __SSE2__
  // Most keys are short and plain: one 16-byte look finds the quote and proves no backslash.
  const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(start));
  const auto quotes =
      static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(bytes, _mm_set1_epi8('"'))));
  const auto slashes =
      static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(bytes, _mm_set1_epi8('\\'))));
  if (quotes != 0 && (slashes & ((quotes & -quotes) - 1)) == 0) {
    return {start, static_cast<size_t>(__builtin_ctz(quotes))};
  }
#endif
  const char* end = start;
  while (*end != '"') {
    if (*end == '\\') {
      escaped = true;
      ++end;
    }
    ++end;
  }
  return {start, static_cast<size_t>(end - start)};
}

// RFC 8259 number syntax: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
bool isJsonNumber(std::string_view text);

}  // namespace edge::filters::json
