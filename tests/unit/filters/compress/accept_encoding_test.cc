#include "filters/compress/accept_encoding.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace edge::filters {
namespace {

constexpr std::optional<Coding> kNone = std::nullopt;

TEST(CodingToken, NamesEachCodingAsContentEncodingSpellsIt) {
  EXPECT_EQ(codingToken(Coding::Identity), "identity");
  EXPECT_EQ(codingToken(Coding::Gzip), "gzip");
  EXPECT_EQ(codingToken(Coding::Brotli), "br");
}

TEST(ParseAcceptEncoding, ReadsWeightsInThousandths) {
  const AcceptEncoding a = parseAcceptEncoding("gzip;q=0.8, br, *;q=0.1, identity;q=0", true);
  EXPECT_TRUE(a.present);
  EXPECT_EQ(a.gzip, 800);
  EXPECT_EQ(a.br, 1000);
  EXPECT_EQ(a.any, 100);
  EXPECT_EQ(a.identity, 0);
}

TEST(ParseAcceptEncoding, AbsentHeaderListsNothing) {
  const AcceptEncoding a = parseAcceptEncoding("", false);
  EXPECT_FALSE(a.present);
  EXPECT_FALSE(a.gzip || a.br || a.identity || a.any);
}

struct WeightCase {
  const char* header;
  std::optional<int> gzip;
};

TEST(ParseAcceptEncoding, AcceptsOnlyWellFormedQValues) {
  const std::vector<WeightCase> cases = {
      {"gzip", 1000},          {"gzip;q=1", 1000},     {"gzip;q=1.", 1000},
      {"gzip;q=1.000", 1000},  {"gzip;q=0", 0},        {"gzip;q=0.5", 500},
      {"gzip;q=0.05", 50},     {"gzip;q=0.001", 1},    {"GZIP;Q=0.5", 500},
      {"gzip ; q=0.5", 500},   {"\tgzip\t;\tq=0.5 ", 500},
      {"gzip;q=1.001", {}},    {"gzip;q=0.0001", {}},  {"gzip;q=2", {}},
      {"gzip;q=-1", {}},       {"gzip;q=.5", {}},      {"gzip;q=", {}},
      {"gzip;q=abc", {}},      {"gzip;q = 0.5", {}},   {"gzip;q=0.5;q=0.6", {}},
      {"gzip;level=9", {}},    {"gzip;", {}},          {"gz ip", {}},
  };
  for (const WeightCase& c : cases) {
    SCOPED_TRACE(c.header);
    EXPECT_EQ(parseAcceptEncoding(c.header, true).gzip, c.gzip);
  }
}

TEST(ParseAcceptEncoding, CountsXGzipAsGzip) {
  EXPECT_EQ(parseAcceptEncoding("x-gzip;q=0.4", true).gzip, 400);
}

TEST(ParseAcceptEncoding, KeepsTheHigherWeightOfARepeatedCoding) {
  EXPECT_EQ(parseAcceptEncoding("gzip;q=0.2, x-gzip;q=0.7, gzip;q=0.3", true).gzip, 700);
}

TEST(ParseAcceptEncoding, SkipsCodingsItNeverProduces) {
  const AcceptEncoding a = parseAcceptEncoding("deflate, zstd, compress", true);
  EXPECT_TRUE(a.present);
  EXPECT_FALSE(a.gzip || a.br || a.identity || a.any);
}

TEST(ParseAcceptEncoding, ReadsTheJoinedFieldLinesOfARequest) {
  http::Headers headers;
  headers.add("Accept-Encoding", "gzip;q=0.5");
  headers.add("accept-encoding", "br");
  const AcceptEncoding a = parseAcceptEncoding(headers);
  EXPECT_TRUE(a.present);
  EXPECT_EQ(a.gzip, 500);
  EXPECT_EQ(a.br, 1000);
  EXPECT_FALSE(parseAcceptEncoding(http::Headers()).present);
}

TEST(AcceptEncodingWeightOf, FallsBackToTheWildcard) {
  const AcceptEncoding a = parseAcceptEncoding("gzip;q=0.3, *;q=0.6", true);
  EXPECT_EQ(a.weightOf(Coding::Gzip), 300);
  EXPECT_EQ(a.weightOf(Coding::Brotli), 600);
  EXPECT_EQ(a.weightOf(Coding::Identity), 600);
  EXPECT_EQ(parseAcceptEncoding("gzip", true).weightOf(Coding::Brotli), std::nullopt);
}

struct NegotiationCase {
  const char* header;  // nullptr: no Accept-Encoding at all
  bool offer_gzip;
  bool offer_br;
  std::optional<Coding> expected;
};

TEST(ChooseCoding, FollowsTheWeightsTheTiesAndTheIdentityRules) {
  const std::vector<NegotiationCase> cases = {
      {nullptr, true, true, Coding::Identity},
      {"", true, true, Coding::Identity},
      {"gzip, br", true, true, Coding::Brotli},
      {"br, gzip", true, true, Coding::Brotli},
      {"gzip;q=1, br;q=0.9", true, true, Coding::Gzip},
      {"gzip, br", true, false, Coding::Gzip},
      {"gzip, br", false, true, Coding::Brotli},
      {"gzip, br", false, false, Coding::Identity},
      {"x-gzip", true, true, Coding::Gzip},
      {"gzip;q=0.5", true, true, Coding::Gzip},
      {"gzip;q=0.5, identity", true, true, Coding::Identity},
      {"gzip, identity", true, true, Coding::Gzip},
      {"gzip;q=0, br;q=0", true, true, Coding::Identity},
      {"*", true, true, Coding::Brotli},
      {"*", false, false, Coding::Identity},
      {"*;q=0.1, gzip;q=0.8", true, true, Coding::Gzip},
      {"gzip;q=0.8, br, *;q=0.1, identity;q=0", true, true, Coding::Brotli},
      {"gzip;q=0.8, br, *;q=0.1, identity;q=0", false, false, kNone},
      {"identity;q=0", true, true, kNone},
      {"identity;q=0, gzip", true, true, Coding::Gzip},
      {"*;q=0", true, true, kNone},
      {"*;q=0, identity", true, true, Coding::Identity},
      {"*;q=0, gzip;q=0.2", true, true, Coding::Gzip},
      {"gzip;q=abc", true, true, Coding::Identity},
      {"deflate", true, true, Coding::Identity},
      {"br;q=0.5, identity;q=0.5", true, true, Coding::Brotli},
      {"gzip;q=0.5, identity;q=0.5", true, true, Coding::Gzip},
  };
  for (const NegotiationCase& c : cases) {
    SCOPED_TRACE(c.header == nullptr ? "(absent)" : c.header);
    const AcceptEncoding accept =
        parseAcceptEncoding(c.header == nullptr ? "" : c.header, c.header != nullptr);
    EXPECT_EQ(chooseCoding(accept, c.offer_gzip, c.offer_br), c.expected);
  }
}

// ---- decideCompression -------------------------------------------------------------------------

http::Headers jsonHeaders() {
  http::Headers headers;
  headers.add("Content-Type", "application/json; charset=utf-8");
  return headers;
}

CompressVerdict decide(const http::Headers& headers, int status = 200,
                       std::optional<uint64_t> length = 5000, std::string_view method = "GET",
                       bool http10 = false) {
  return decideCompression(CompressFacts{.method = method,
                                         .status = status,
                                         .response_headers = headers,
                                         .content_length = length,
                                         .client_http10 = http10},
                           CompressConfig{});
}

TEST(DecideCompression, CompressesALargeJsonResponse) {
  EXPECT_EQ(decide(jsonHeaders()), CompressVerdict::Compress);
}

TEST(DecideCompression, CompressesAStreamedBodyOfUnknownLength) {
  EXPECT_EQ(decide(jsonHeaders(), 200, std::nullopt), CompressVerdict::Compress);
}

TEST(DecideCompression, CompressesA203LikeA200) {
  EXPECT_EQ(decide(jsonHeaders(), 203), CompressVerdict::Compress);
}

TEST(DecideCompression, SkipsResponsesWithoutABody) {
  EXPECT_EQ(decide(jsonHeaders(), 200, 5000, "HEAD"), CompressVerdict::SkipNoBody);
  EXPECT_EQ(decide(jsonHeaders(), 200, 5000, "head"), CompressVerdict::SkipNoBody);
  EXPECT_EQ(decide(jsonHeaders(), 100), CompressVerdict::SkipNoBody);
  EXPECT_EQ(decide(jsonHeaders(), 103), CompressVerdict::SkipNoBody);
  EXPECT_EQ(decide(jsonHeaders(), 204), CompressVerdict::SkipNoBody);
  EXPECT_EQ(decide(jsonHeaders(), 304), CompressVerdict::SkipNoBody);
  EXPECT_EQ(decide(jsonHeaders(), 200, 0), CompressVerdict::SkipNoBody);
}

TEST(DecideCompression, SkipsEveryStatusButOkAndNonAuthoritative) {
  for (int status : {201, 206, 301, 404, 500, 503}) {
    SCOPED_TRACE(status);
    EXPECT_EQ(decide(jsonHeaders(), status), CompressVerdict::SkipStatus);
  }
}

TEST(DecideCompression, SkipsABodyTheOriginAlreadyEncoded) {
  http::Headers headers = jsonHeaders();
  headers.add("Content-Encoding", "gzip");
  EXPECT_EQ(decide(headers), CompressVerdict::SkipAlreadyEncoded);
}

TEST(DecideCompression, TreatsAnIdentityContentEncodingAsUnencoded) {
  http::Headers headers = jsonHeaders();
  headers.add("Content-Encoding", " Identity ");
  EXPECT_EQ(decide(headers), CompressVerdict::Compress);
}

TEST(DecideCompression, HonoursNoTransformInAnyCaseAndPosition) {
  http::Headers headers = jsonHeaders();
  headers.add("Cache-Control", "max-age=60");
  headers.add("Cache-Control", "public, No-Transform");
  EXPECT_EQ(decide(headers), CompressVerdict::SkipNoTransform);
}

TEST(DecideCompression, MatchesContentTypesAgainstTheConfiguredPatterns) {
  const std::vector<std::pair<const char*, bool>> cases = {
      {"application/json", true},          {"APPLICATION/JSON;charset=utf-8", true},
      {"application/ld+json", true},       {"application/problem+json ; x=1", true},
      {"text/html", true},                 {"text/css", true},
      {"application/javascript", true},    {"image/svg+xml", true},
      {"application/atom+xml", true},      {"application/xml", true},
      {"image/png", false},                {"application/octet-stream", false},
      {"application/jsonx", false},        {"application/json+zip", false},
      {"text", false},                     {"text/", false},
      {"/json", false},                    {"", false},
  };
  for (const auto& [type, compressible] : cases) {
    SCOPED_TRACE(type);
    http::Headers headers;
    headers.add("Content-Type", type);
    EXPECT_EQ(decide(headers),
              compressible ? CompressVerdict::Compress : CompressVerdict::SkipType);
  }
}

TEST(DecideCompression, SkipsAResponseWithoutContentType) {
  EXPECT_EQ(decide(http::Headers()), CompressVerdict::SkipType);
}

TEST(DecideCompression, UsesTheConfiguredTypesAndMinimumSize) {
  http::Headers headers;
  headers.add("Content-Type", "image/png");
  const CompressConfig config{.min_size = 10, .types = {"image/*"}};
  const auto facts = [&](uint64_t length) {
    return CompressFacts{.method = "GET", .status = 200, .response_headers = headers,
                         .content_length = length, .client_http10 = false};
  };
  EXPECT_EQ(decideCompression(facts(10), config), CompressVerdict::Compress);
  EXPECT_EQ(decideCompression(facts(9), config), CompressVerdict::SkipSmall);
}

TEST(DecideCompression, SkipsABodyBelowTheMinimumSize) {
  EXPECT_EQ(decide(jsonHeaders(), 200, 999), CompressVerdict::SkipSmall);
  EXPECT_EQ(decide(jsonHeaders(), 200, 1000), CompressVerdict::Compress);
}

TEST(DecideCompression, SkipsHttp10ClientsOnlyWhenTheResponseWouldOtherwiseCompress) {
  EXPECT_EQ(decide(jsonHeaders(), 200, 5000, "GET", true), CompressVerdict::SkipHttp10);
  EXPECT_EQ(decide(jsonHeaders(), 200, 10, "GET", true), CompressVerdict::SkipSmall);
}

TEST(DecideCompression, VariesByAcceptEncodingWhenOtherClientsGetItCompressed) {
  EXPECT_TRUE(variesByAcceptEncoding(CompressVerdict::Compress));
  EXPECT_TRUE(variesByAcceptEncoding(CompressVerdict::SkipHttp10));
  EXPECT_FALSE(variesByAcceptEncoding(CompressVerdict::SkipSmall));
  EXPECT_FALSE(variesByAcceptEncoding(CompressVerdict::SkipAlreadyEncoded));
}

// ---- Vary --------------------------------------------------------------------------------------

TEST(AddVaryAcceptEncoding, CreatesVaryWhenAbsent) {
  http::Headers headers;
  addVaryAcceptEncoding(headers);
  EXPECT_EQ(headers.joined("vary"), "Accept-Encoding");
}

TEST(AddVaryAcceptEncoding, AppendsToAnExistingVary) {
  http::Headers headers;
  headers.add("Vary", "Origin");
  addVaryAcceptEncoding(headers);
  EXPECT_EQ(headers.joined("vary"), "Origin, Accept-Encoding");
  EXPECT_EQ(headers.count("vary"), 1u);
}

TEST(AddVaryAcceptEncoding, DoesNotDuplicateInAnyCaseOrLine) {
  http::Headers headers;
  headers.add("Vary", "Origin");
  headers.add("vary", "ACCEPT-ENCODING");
  addVaryAcceptEncoding(headers);
  EXPECT_EQ(headers.joined("vary"), "Origin, ACCEPT-ENCODING");
}

TEST(AddVaryAcceptEncoding, LeavesAWildcardVaryAlone) {
  http::Headers headers;
  headers.add("Vary", "*");
  addVaryAcceptEncoding(headers);
  EXPECT_EQ(headers.joined("vary"), "*");
}

TEST(AddVaryAcceptEncoding, ReplacesAnEmptyVary) {
  http::Headers headers;
  headers.add("Vary", " ");
  addVaryAcceptEncoding(headers);
  EXPECT_EQ(headers.joined("vary"), "Accept-Encoding");
}

}  // namespace
}  // namespace edge::filters
