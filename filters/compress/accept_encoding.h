// Content negotiation (RFC 9110 12.5.3) and the decision whether a response is worth
// compressing, as pure functions: the compress filter supplies the facts and acts on the answer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/http/headers.h"

namespace edge::filters {

enum class Coding { Identity, Gzip, Brotli };

// The content-coding token for Content-Encoding: "identity", "gzip", "br".
std::string_view codingToken(Coding coding);

// ---- Accept-Encoding ---------------------------------------------------------------------------

// Weights are kept in thousandths (q=0.5 is 500): qvalues have at most three decimals, so
// integers compare exactly.
constexpr int kMaxWeight = 1000;

// A parsed Accept-Encoding. A weight is absent when the request did not list that coding;
// `any` is the weight of "*", which applies to every coding not listed by name.
struct AcceptEncoding {
  bool present = false;  // the request carried the header (an empty value still counts)
  std::optional<int> identity;
  std::optional<int> gzip;  // "x-gzip" counts as gzip
  std::optional<int> br;
  std::optional<int> any;

  // The weight for `coding`: its own entry, else that of "*", else absent.
  std::optional<int> weightOf(Coding coding) const;
};

// Parses every Accept-Encoding field line joined with ", ". Names and the "q" parameter are
// case-insensitive. An element with a malformed or repeated weight, or any other parameter, is
// ignored as a whole; when a coding is listed twice the higher weight wins. Codings we never
// produce (deflate, zstd, ...) are skipped.
AcceptEncoding parseAcceptEncoding(std::string_view value, bool present);
AcceptEncoding parseAcceptEncoding(const http::Headers& request_headers);

// Chooses the coding of a response among those acceptable to the client:
// - no Accept-Encoding header: Identity (the client may not decode anything);
// - otherwise the highest weight above zero among the offered codings and identity, ties going
//   to Brotli, then gzip, then identity;
// - identity the request does not mention (by name or through "*") is still acceptable, as a
//   fallback ranked below every listed coding;
// - nullopt when nothing is acceptable ("identity;q=0", or "*;q=0" without identity, and no
//   offered coding allowed). The caller may answer 406 or, as nginx does, send identity anyway;
//   RFC 9110 12.5.3 permits both.
std::optional<Coding> chooseCoding(const AcceptEncoding& accept, bool offer_gzip, bool offer_br);

// ---- whether to compress -----------------------------------------------------------------------

struct CompressFacts {
  std::string_view method;
  int status = 0;
  const http::Headers& response_headers;
  std::optional<uint64_t> content_length;  // absent when the body is streamed
  bool client_http10 = false;
};

struct CompressConfig {
  uint64_t min_size = 1000;
  // Media types; '*' matches any run of characters ("text/*", "application/*+json").
  std::vector<std::string> types = {
      "application/json",       "application/*+json", "text/*",
      "application/javascript", "text/javascript",    "image/svg+xml",
      "application/xml",        "application/*+xml"};
};

enum class CompressVerdict {
  Compress,
  SkipNoBody,          // HEAD, 1xx, 204, 304, or a known empty body
  SkipStatus,          // anything but 200 and 203 (206 ranges address the identity bytes)
  SkipAlreadyEncoded,  // Content-Encoding other than identity
  SkipNoTransform,     // Cache-Control: no-transform
  SkipType,            // no Content-Type, or one outside CompressConfig::types
  SkipSmall,           // known length below CompressConfig::min_size
  SkipHttp10,          // HTTP/1.0 cannot frame a body of unknown length except by closing
};

// The rules of h2o and Envoy, checked in the order of the enum. The Accept-Encoding of the
// request is not consulted: that is chooseCoding's job.
CompressVerdict decideCompression(const CompressFacts& facts, const CompressConfig& config);

// True when the response as sent depends on Accept-Encoding, so it must carry
// "Vary: Accept-Encoding" even if this client gets identity: Compress, and SkipHttp10 (the same
// response goes out compressed to HTTP/1.1 clients).
bool variesByAcceptEncoding(CompressVerdict verdict);

// Adds Accept-Encoding to Vary: no duplicate (case-insensitive), and "Vary: *" stays as it is.
void addVaryAcceptEncoding(http::Headers& headers);

}  // namespace edge::filters
