#include "filters/compress/accept_encoding.h"

#include <algorithm>
#include <array>
#include <utility>

#include "lib/http/headers.h"
#include "lib/cache/cache_control.h"

namespace edge::filters {
namespace {

using http::trimOws;

bool isDigit(char c) { return c >= '0' && c <= '9'; }

// tchar of RFC 9110 5.6.2.
bool isTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || isDigit(c)) {
    return true;
  }
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool isToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), isTokenChar);
}

// qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), in thousandths.
std::optional<int> parseQValue(std::string_view text) {
  if (text.empty() || (text[0] != '0' && text[0] != '1')) {
    return std::nullopt;
  }
  const int whole = text[0] - '0';
  text.remove_prefix(1);
  if (text.empty()) {
    return whole * kMaxWeight;
  }
  if (text[0] != '.' || text.size() > 4) {
    return std::nullopt;
  }
  int fraction = 0;
  int scale = 100;
  for (char c : text.substr(1)) {
    if (!isDigit(c) || (whole == 1 && c != '0')) {
      return std::nullopt;
    }
    fraction += (c - '0') * scale;
    scale /= 10;
  }
  return whole * kMaxWeight + fraction;
}

// The weight of one element's parameters (";q=0.5"); nullopt when they are malformed.
std::optional<int> parseWeight(std::string_view params) {
  std::optional<int> weight;
  while (!params.empty()) {
    params.remove_prefix(1);  // the ';'
    const size_t semi = params.find(';');
    const std::string_view param = trimOws(params.substr(0, semi));
    params = semi == std::string_view::npos ? std::string_view() : params.substr(semi);
    if (weight || param.size() < 2 || !http::iequals(param.substr(0, 2), "q=")) {
      return std::nullopt;
    }
    weight = parseQValue(param.substr(2));
    if (!weight) {
      return std::nullopt;
    }
  }
  return weight.value_or(kMaxWeight);
}

std::optional<int>* slotFor(AcceptEncoding& accept, std::string_view coding) {
  if (http::iequals(coding, "gzip") || http::iequals(coding, "x-gzip")) {
    return &accept.gzip;
  }
  if (http::iequals(coding, "br")) {
    return &accept.br;
  }
  if (http::iequals(coding, "identity")) {
    return &accept.identity;
  }
  if (coding == "*") {
    return &accept.any;
  }
  return nullptr;
}

void parseElement(AcceptEncoding& accept, std::string_view element) {
  const size_t semi = element.find(';');
  const std::string_view coding = trimOws(element.substr(0, semi));
  const std::optional<int> weight =
      parseWeight(semi == std::string_view::npos ? std::string_view() : element.substr(semi));
  if (!isToken(coding) || !weight) {
    return;
  }
  if (std::optional<int>* slot = slotFor(accept, coding)) {
    *slot = std::max(slot->value_or(0), *weight);
  }
}

// Glob match, case-insensitive, where '*' matches any run of characters.
bool globMatch(std::string_view pattern, std::string_view text) {
  const size_t star = pattern.find('*');
  if (star == std::string_view::npos) {
    return http::iequals(pattern, text);
  }
  if (text.size() < star || !http::iequals(pattern.substr(0, star), text.substr(0, star))) {
    return false;
  }
  const std::string_view rest = pattern.substr(star + 1);
  for (size_t skip = star; skip <= text.size(); ++skip) {
    if (globMatch(rest, text.substr(skip))) {
      return true;
    }
  }
  return false;
}

bool compressibleType(const http::Headers& headers, const CompressConfig& config) {
  const std::string* content_type = headers.find("content-type");
  if (content_type == nullptr) {
    return false;
  }
  const std::string_view media = trimOws(std::string_view(*content_type).substr(
      0, std::string_view(*content_type).find(';')));
  const size_t slash = media.find('/');
  if (slash == 0 || slash == std::string_view::npos || slash + 1 == media.size()) {
    return false;
  }
  return std::any_of(config.types.begin(), config.types.end(),
                     [&](const std::string& pattern) { return globMatch(pattern, media); });
}

bool alreadyEncoded(const http::Headers& headers) {
  bool encoded = false;
  for (const http::Header& h : headers) {
    if (http::iequals(h.name, "content-encoding")) {
      const std::string_view value = trimOws(h.value);
      encoded = encoded || (!value.empty() && !http::iequals(value, "identity"));
    }
  }
  return encoded;
}

bool hasNoBody(const CompressFacts& facts) {
  return http::iequals(facts.method, "HEAD") || facts.status < 200 || facts.status == 204 ||
         facts.status == 304 || facts.content_length == 0u;
}

}  // namespace

std::string_view codingToken(Coding coding) {
  switch (coding) {
    case Coding::Gzip:
      return "gzip";
    case Coding::Brotli:
      return "br";
    case Coding::Identity:
      break;
  }
  return "identity";
}

std::optional<int> AcceptEncoding::weightOf(Coding coding) const {
  const std::optional<int>& own =
      coding == Coding::Gzip ? gzip : (coding == Coding::Brotli ? br : identity);
  return own ? own : any;
}

AcceptEncoding parseAcceptEncoding(std::string_view value, bool present) {
  AcceptEncoding accept;
  accept.present = present;
  if (!present) {
    return accept;
  }
  while (!value.empty()) {
    const size_t comma = value.find(',');
    parseElement(accept, value.substr(0, comma));
    value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
  }
  return accept;
}

AcceptEncoding parseAcceptEncoding(const http::Headers& request_headers) {
  return parseAcceptEncoding(request_headers.joined("accept-encoding"),
                             request_headers.find("accept-encoding") != nullptr);
}

std::optional<Coding> chooseCoding(const AcceptEncoding& accept, bool offer_gzip, bool offer_br) {
  if (!accept.present) {
    return Coding::Identity;
  }
  // In order of preference, so that only a strictly higher weight displaces an earlier one.
  const std::array<std::pair<Coding, bool>, 3> candidates = {
      {{Coding::Brotli, offer_br}, {Coding::Gzip, offer_gzip}, {Coding::Identity, true}}};
  std::optional<Coding> best;
  int best_weight = 0;
  for (const auto& [coding, offered] : candidates) {
    const int weight = offered ? accept.weightOf(coding).value_or(0) : 0;
    if (weight > best_weight) {
      best = coding;
      best_weight = weight;
    }
  }
  if (!best && !accept.weightOf(Coding::Identity)) {
    return Coding::Identity;  // not excluded, so acceptable by default
  }
  return best;
}

CompressVerdict decideCompression(const CompressFacts& facts, const CompressConfig& config) {
  const http::Headers& headers = facts.response_headers;
  if (hasNoBody(facts)) {
    return CompressVerdict::SkipNoBody;
  }
  if (facts.status != 200 && facts.status != 203) {
    return CompressVerdict::SkipStatus;
  }
  if (alreadyEncoded(headers)) {
    return CompressVerdict::SkipAlreadyEncoded;
  }
  if (cache::parseCacheControl(headers.joined("cache-control")).no_transform) {
    return CompressVerdict::SkipNoTransform;
  }
  if (!compressibleType(headers, config)) {
    return CompressVerdict::SkipType;
  }
  if (facts.content_length && *facts.content_length < config.min_size) {
    return CompressVerdict::SkipSmall;
  }
  if (facts.client_http10) {
    return CompressVerdict::SkipHttp10;
  }
  return CompressVerdict::Compress;
}

bool variesByAcceptEncoding(CompressVerdict verdict) {
  return verdict == CompressVerdict::Compress || verdict == CompressVerdict::SkipHttp10;
}

void addVaryAcceptEncoding(http::Headers& headers) {
  if (headers.hasToken("vary", "*") || headers.hasToken("vary", "accept-encoding")) {
    return;
  }
  const bool no_vary = std::all_of(headers.begin(), headers.end(), [](const http::Header& h) {
    return !http::iequals(h.name, "vary") || trimOws(h.value).empty();
  });
  if (no_vary) {
    headers.set("Vary", "Accept-Encoding");  // replaces an empty Vary rather than append to it
    return;
  }
  headers.appendToList("Vary", "Accept-Encoding");
}

}  // namespace edge::filters
