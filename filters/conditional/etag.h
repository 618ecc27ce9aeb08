// Validators and conditional requests (RFC 9110 8.8.3, 13.1.1, 13.1.3, 15.4.5) as pure
// functions, including the entity tags of the encoded variants the compress filter produces.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "filters/compress/accept_encoding.h"
#include "lib/http/headers.h"

namespace edge::filters {

struct EntityTag {
  bool weak = false;
  std::string opaque;  // without the quotes

  bool operator==(const EntityTag&) const = default;
};

// entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, with surrounding OWS allowed. The "W/" prefix is
// case-sensitive; anything else (missing quotes, a quote or control byte inside) is rejected.
std::optional<EntityTag> parseEntityTag(std::string_view text);
std::string formatEntityTag(const EntityTag& tag);

// RFC 9110 8.8.3.2: weak comparison ignores the W/ prefix.
bool weakCompare(const EntityTag& a, const EntityTag& b);

// A comma-separated list of entity tags (commas inside the quotes are part of the tag). Empty
// elements are skipped; nullopt when any element is malformed. "*" is not a list: check
// isWildcard first.
std::optional<std::vector<EntityTag>> parseEntityTagList(std::string_view text);
bool isWildcard(std::string_view if_none_match);

// If-None-Match against the current representation's ETag, by weak comparison. "*" matches any
// current representation; a malformed list or an unparseable `current_etag` never matches.
bool ifNoneMatchMatches(std::string_view if_none_match, std::string_view current_etag);

// ---- tags of encoded variants ----------------------------------------------------------------
//
// A variant's tag is the base tag with a suffix inside the quotes: "abc" becomes "abc-ep-br",
// W/"abc" becomes W/"abc-ep-gz"; identity keeps the base tag. Strength is kept: the cache stores
// one encoded body per variant and serves those exact bytes.
//
// Any suffix is ambiguous: an origin tag that itself ends in "-ep-gz" reads as our gzip
// variant. The "-ep-" (edge-proxy) infix keeps that unlikely, where a bare "-gz" is common in
// origin tags. When it happens anyway, stripping asks the origin about a tag it never issued:
// a 200 where a 304 was possible. A wrong 304 would need the origin to have issued the stripped
// tag too, for other content.
inline constexpr std::string_view kGzipSuffix = "-ep-gz";
inline constexpr std::string_view kBrotliSuffix = "-ep-br";

// The tag of `coding`'s variant of `base_etag`; an unparseable base is returned unchanged.
std::string variantTag(std::string_view base_etag, Coding coding);

// The base tag of a variant tag (one trailing suffix removed); others are returned unchanged,
// as is anything unparseable.
std::string baseTag(std::string_view etag);

// If-None-Match against a resource kept in several encodings. A 304 is right only when the
// client holds the variant we would send now: a tag of another variant means the client cached
// a different encoding, which this response's headers would not describe. True for "*" or when
// some listed tag weakly equals variantTag(base_etag, sending).
bool conditionMatchesVariant(std::string_view if_none_match, std::string_view base_etag,
                             Coding sending);

// An If-None-Match list with our suffixes removed and duplicates dropped, for the request that
// goes upstream: "\"a-ep-gz\", W/\"b-ep-br\"" becomes "\"a\", W/\"b\"". "*" and malformed
// values are returned unchanged, for the origin to judge.
std::string stripVariantSuffixes(std::string_view if_none_match);

// A strong tag for a body without one: the first 128 bits of its SHA-256 in unpadded base64url
// (22 characters), quoted.
std::string generateEtag(std::string_view body);

// The tag of one projection of a representation (sparse fieldsets): the base tag with "-f" and
// 12 base64url characters of a SHA-256 of the canonical field set inside the quotes ("abc"
// becomes "abc-fXXXXXXXXXXXX"), strength kept. The same selection of the same base always gives
// the same tag, distinct selections distinct ones. An unparseable base gives "".
std::string projectionTag(std::string_view base_etag, std::string_view canonical_fields);

// If-Modified-Since: true when Last-Modified is at or before the given date (not modified);
// false when either date is invalid. The caller ignores If-Modified-Since when the request has
// If-None-Match or is not GET/HEAD (RFC 9110 13.1.3).
bool notModifiedSince(std::string_view if_modified_since, std::string_view last_modified);

// The headers a 304 carries (RFC 9110 15.4.5), copied in order from the full response's:
// Cache-Control, Content-Location, Date, ETag, Expires, Vary and Last-Modified.
http::Headers notModifiedHeaders(const http::Headers& full_response_headers);

}  // namespace edge::filters
