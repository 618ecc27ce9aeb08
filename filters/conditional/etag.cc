#include "filters/conditional/etag.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstdint>

#include "lib/http/headers.h"
#include "lib/cache/policy.h"

namespace edge::filters {
namespace {

using http::trimOws;

void skipOws(std::string_view& s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
}

// etagc = %x21 / %x23-7E / obs-text
bool isEtagChar(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte == 0x21 || (byte >= 0x23 && byte != 0x7F);
}

// Consumes one entity-tag from the front of `rest`; nullopt (with `rest` unspecified) when the
// text there is not one.
std::optional<EntityTag> takeEntityTag(std::string_view& rest) {
  EntityTag tag;
  if (rest.starts_with("W/")) {
    tag.weak = true;
    rest.remove_prefix(2);
  }
  if (rest.empty() || rest.front() != '"') {
    return std::nullopt;
  }
  const size_t close = rest.find('"', 1);
  if (close == std::string_view::npos) {
    return std::nullopt;
  }
  const std::string_view opaque = rest.substr(1, close - 1);
  if (!std::all_of(opaque.begin(), opaque.end(), isEtagChar)) {
    return std::nullopt;
  }
  tag.opaque = std::string(opaque);
  rest.remove_prefix(close + 1);
  return tag;
}

std::string_view suffixFor(Coding coding) {
  switch (coding) {
    case Coding::Gzip:
      return kGzipSuffix;
    case Coding::Brotli:
      return kBrotliSuffix;
    case Coding::Identity:
      break;
  }
  return {};
}

// Removes one of our variant suffixes; true when there was one.
bool stripSuffix(EntityTag& tag) {
  for (std::string_view suffix : {kGzipSuffix, kBrotliSuffix}) {
    if (std::string_view(tag.opaque).ends_with(suffix)) {
      tag.opaque.resize(tag.opaque.size() - suffix.size());
      return true;
    }
  }
  return false;
}

bool anyWeaklyEquals(std::string_view if_none_match, const EntityTag& current) {
  const std::optional<std::vector<EntityTag>> listed = parseEntityTagList(if_none_match);
  return listed && std::any_of(listed->begin(), listed->end(), [&](const EntityTag& tag) {
           return weakCompare(tag, current);
         });
}

constexpr std::string_view kBase64UrlAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Unpadded base64url (RFC 4648 section 5).
std::string base64Url(const unsigned char* data, size_t size) {
  std::string out;
  out.reserve((size * 4 + 2) / 3);
  for (size_t i = 0; i < size; i += 3) {
    const size_t n = std::min<size_t>(3, size - i);
    uint32_t group = static_cast<uint32_t>(data[i]) << 16;
    group |= n > 1 ? static_cast<uint32_t>(data[i + 1]) << 8 : 0;
    group |= n > 2 ? static_cast<uint32_t>(data[i + 2]) : 0;
    for (size_t c = 0; c <= n; ++c) {
      out.push_back(kBase64UrlAlphabet[(group >> (18 - 6 * c)) & 63]);
    }
  }
  return out;
}

constexpr std::array<std::string_view, 7> kNotModifiedHeaders = {
    "cache-control", "content-location", "date", "etag", "expires", "vary", "last-modified"};

}  // namespace

std::optional<EntityTag> parseEntityTag(std::string_view text) {
  std::string_view rest = trimOws(text);
  std::optional<EntityTag> tag = takeEntityTag(rest);
  if (!tag || !rest.empty()) {
    return std::nullopt;
  }
  return tag;
}

std::string formatEntityTag(const EntityTag& tag) {
  std::string out = tag.weak ? "W/\"" : "\"";
  out.append(tag.opaque).push_back('"');
  return out;
}

bool weakCompare(const EntityTag& a, const EntityTag& b) { return a.opaque == b.opaque; }

std::optional<std::vector<EntityTag>> parseEntityTagList(std::string_view text) {
  std::vector<EntityTag> tags;
  std::string_view rest = text;
  while (true) {
    while (!rest.empty() && (rest.front() == ',' || rest.front() == ' ' || rest.front() == '\t')) {
      rest.remove_prefix(1);
    }
    if (rest.empty()) {
      return tags;
    }
    std::optional<EntityTag> tag = takeEntityTag(rest);
    skipOws(rest);
    if (!tag || (!rest.empty() && rest.front() != ',')) {
      return std::nullopt;
    }
    tags.push_back(std::move(*tag));
  }
}

bool isWildcard(std::string_view if_none_match) { return trimOws(if_none_match) == "*"; }

bool ifNoneMatchMatches(std::string_view if_none_match, std::string_view current_etag) {
  if (isWildcard(if_none_match)) {
    return true;
  }
  const std::optional<EntityTag> current = parseEntityTag(current_etag);
  return current && anyWeaklyEquals(if_none_match, *current);
}

std::string variantTag(std::string_view base_etag, Coding coding) {
  std::optional<EntityTag> tag = parseEntityTag(base_etag);
  if (!tag || coding == Coding::Identity) {
    return std::string(base_etag);
  }
  tag->opaque.append(suffixFor(coding));
  return formatEntityTag(*tag);
}

std::string baseTag(std::string_view etag) {
  std::optional<EntityTag> tag = parseEntityTag(etag);
  if (!tag || !stripSuffix(*tag)) {
    return std::string(etag);
  }
  return formatEntityTag(*tag);
}

bool conditionMatchesVariant(std::string_view if_none_match, std::string_view base_etag,
                             Coding sending) {
  return ifNoneMatchMatches(if_none_match, variantTag(base_etag, sending));
}

std::string stripVariantSuffixes(std::string_view if_none_match) {
  std::optional<std::vector<EntityTag>> tags;
  if (!isWildcard(if_none_match)) {
    tags = parseEntityTagList(if_none_match);
  }
  if (!tags) {
    return std::string(if_none_match);
  }
  std::vector<EntityTag> bases;
  for (EntityTag& tag : *tags) {
    stripSuffix(tag);
    if (std::find(bases.begin(), bases.end(), tag) == bases.end()) {
      bases.push_back(std::move(tag));
    }
  }
  std::string out;
  for (const EntityTag& tag : bases) {
    out.append(out.empty() ? "" : ", ").append(formatEntityTag(tag));
  }
  return out;
}

std::string generateEtag(std::string_view body) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_Digest(body.data(), body.size(), digest.data(), &length, EVP_sha256(), nullptr);
  return formatEntityTag(EntityTag{.weak = false, .opaque = base64Url(digest.data(), 16)});
}

std::string projectionTag(std::string_view base_etag, std::string_view canonical_fields) {
  std::optional<EntityTag> base = parseEntityTag(base_etag);
  if (!base) {
    return "";
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_Digest(canonical_fields.data(), canonical_fields.size(), digest.data(), &length,
             EVP_sha256(), nullptr);
  base->opaque.append("-f").append(base64Url(digest.data(), 9));
  return formatEntityTag(*base);
}

bool notModifiedSince(std::string_view if_modified_since, std::string_view last_modified) {
  const std::optional<int64_t> since = cache::parseHttpDate(if_modified_since);
  const std::optional<int64_t> modified = cache::parseHttpDate(last_modified);
  return since && modified && *modified <= *since;
}

http::Headers notModifiedHeaders(const http::Headers& full_response_headers) {
  http::Headers out;
  for (const http::Header& h : full_response_headers) {
    const auto named = [&](std::string_view name) { return http::iequals(h.name, name); };
    const bool kept = std::any_of(kNotModifiedHeaders.begin(), kNotModifiedHeaders.end(), named);
    if (kept) {
      out.add(h.name, h.value);
    }
  }
  return out;
}

}  // namespace edge::filters
