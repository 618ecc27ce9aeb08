// Request header values of conditional requests and content negotiation: ETag and
// If-None-Match (entity tags, lists, "*", our encoded-variant suffixes), If-Modified-Since and
// Accept-Encoding. Byte 0 picks the coding; the rest is every parser's value.
//
// Properties: a parsed entity tag formats to text that parses to the same tag; a variant
// tag's base is the tag it came from; a tag matches itself as If-None-Match; weights lie in
// 0..1000 and the coding chosen has a weight above zero (identity may be the unlisted
// fallback).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "filters/compress/accept_encoding.h"
#include "filters/conditional/etag.h"
#include "fuzz_check.h"

namespace {

using namespace edge::filters;

void checkWeight(const std::optional<int>& weight) {
  FUZZ_CHECK(!weight || (*weight >= 0 && *weight <= kMaxWeight), "weight out of range");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) {
    return 0;
  }
  const Coding coding = static_cast<Coding>(data[0] % 3);
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

  if (const std::optional<EntityTag> tag = parseEntityTag(text)) {
    const std::string formatted = formatEntityTag(*tag);
    FUZZ_CHECK(parseEntityTag(formatted) == tag, "entity tag does not survive formatting");
    FUZZ_CHECK(ifNoneMatchMatches(formatted, formatted), "a tag does not match itself");
    const std::string variant = variantTag(formatted, coding);
    FUZZ_CHECK(parseEntityTag(variant).has_value(), "variant tag does not parse");
    if (coding != Coding::Identity) {
      FUZZ_CHECK(parseEntityTag(baseTag(variant)) == tag, "variant tag loses its base");
      FUZZ_CHECK(conditionMatchesVariant(variant, formatted, coding),
                 "the variant tag does not match its own variant");
    }
    projectionTag(formatted, text);
  }
  if (const auto list = parseEntityTagList(text)) {
    for (const EntityTag& tag : *list) {
      FUZZ_CHECK(parseEntityTag(formatEntityTag(tag)) == tag, "list tag does not survive");
    }
  }
  stripVariantSuffixes(text);
  baseTag(text);
  notModifiedSince(text, text);

  const AcceptEncoding accept = parseAcceptEncoding(text, true);
  for (const auto* weight : {&accept.identity, &accept.gzip, &accept.br, &accept.any}) {
    checkWeight(*weight);
  }
  if (const std::optional<Coding> chosen = chooseCoding(accept, true, true)) {
    const std::optional<int> weight = accept.weightOf(*chosen);
    FUZZ_CHECK(*chosen == Coding::Identity ? !weight || *weight > 0 : weight && *weight > 0,
               "chose a coding the client refuses");
  }
  return 0;
}
