// The error kinds of upstream failures: exact where the exchange is at hand, and read back
// from the status and reason a shared fetch's followers receive. Both must agree.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "proxy/upstream/exchange.h"

namespace edge::upstream {
namespace {

using filters::ErrorKind;
using Kind = UpstreamFailure::Kind;

constexpr std::string_view kName = "upstream \"app\" (127.0.0.1:8080)";

// Details as UpstreamConn and the response parser word them.
const std::vector<std::pair<Kind, std::string>>& beforeHead() {
  static const std::vector<std::pair<Kind, std::string>> failures = {
      {Kind::ConnectFailed, "connection refused"},
      {Kind::ConnectTimeout, "connect timed out after 100 ms"},
      {Kind::ClosedBeforeResponse, "upstream closed the connection before responding"},
      {Kind::ClosedBeforeResponse, " (connection reset by peer)"},
      {Kind::FirstByteTimeout, "no response within 200 ms"},
      {Kind::IdleTimeout, "no progress for 300 ms"},
      {Kind::BadResponse, "malformed response: Invalid header value char"},
      {Kind::BadResponse, "upstream sent the invalid status code 999"},
      {Kind::BadResponse, "upstream response head is larger than 64 KiB"},
      {Kind::ClosedMidResponse, "upstream closed the connection in the middle of a response head"},
  };
  return failures;
}

TEST(ErrorKindTest, FailuresBeforeTheHeadMapToTheirPhase) {
  EXPECT_EQ(errorKindOf(Kind::ConnectFailed, false), ErrorKind::ConnectRefused);
  EXPECT_EQ(errorKindOf(Kind::ConnectTimeout, false), ErrorKind::ConnectTimeout);
  EXPECT_EQ(errorKindOf(Kind::FirstByteTimeout, false), ErrorKind::FirstByteTimeout);
  EXPECT_EQ(errorKindOf(Kind::IdleTimeout, false), ErrorKind::FirstByteTimeout);
  EXPECT_EQ(errorKindOf(Kind::ClosedBeforeResponse, false), ErrorKind::UpstreamReset);
  EXPECT_EQ(errorKindOf(Kind::BadResponse, false), ErrorKind::UpstreamProtocol);
}

TEST(ErrorKindTest, FailuresAfterTheHeadAreBrokenResponses) {
  EXPECT_EQ(errorKindOf(Kind::ClosedMidResponse, true), ErrorKind::UpstreamReset);
  EXPECT_EQ(errorKindOf(Kind::IdleTimeout, true), ErrorKind::UpstreamReset);
  EXPECT_EQ(errorKindOf(Kind::BadResponse, true), ErrorKind::UpstreamProtocol);
}

TEST(ErrorKindTest, StatusesAndReasonsTheClientSeesAreUnchanged) {
  EXPECT_EQ(failureStatus(Kind::ConnectFailed), 502);
  EXPECT_EQ(failureStatus(Kind::ClosedBeforeResponse), 502);
  EXPECT_EQ(failureStatus(Kind::BadResponse), 502);
  EXPECT_EQ(failureStatus(Kind::ConnectTimeout), 504);
  EXPECT_EQ(failureStatus(Kind::FirstByteTimeout), 504);
  EXPECT_EQ(failureStatus(Kind::IdleTimeout), 504);
  EXPECT_EQ(failureReason(kName, Kind::ConnectFailed, "connection refused"),
            "upstream \"app\" (127.0.0.1:8080) is unreachable: connection refused");
  EXPECT_EQ(failureReason(kName, Kind::FirstByteTimeout, "no response within 200 ms"),
            "upstream \"app\" (127.0.0.1:8080) failed: no response within 200 ms");
}

TEST(ErrorKindTest, TheReasonTellsTheSameKindAsTheFailure) {
  for (const auto& [kind, detail] : beforeHead()) {
    const std::string reason = failureReason(kName, kind, detail);
    EXPECT_EQ(errorKindOfReason(failureStatus(kind), reason), errorKindOf(kind, false)) << reason;
  }
  // After the head the reason is the bare detail, always with 502.
  for (const auto& [kind, detail] :
       std::vector<std::pair<Kind, std::string>>{
           {Kind::ClosedMidResponse,
            "upstream closed the connection before the response body was complete"},
           {Kind::IdleTimeout, "no progress for 300 ms"},
           {Kind::BadResponse, "malformed response: Invalid character in chunk size"}}) {
    EXPECT_EQ(errorKindOfReason(502, detail), errorKindOf(kind, true)) << detail;
  }
}

TEST(ErrorKindTest, NoServerLeftIsARefusedConnect) {
  EXPECT_EQ(errorKindOfReason(502, std::string(kName) + ": no server left to try"),
            ErrorKind::ConnectRefused);
}

TEST(ErrorKindTest, RepliesThatAreNoUpstreamFailureHaveNoKind) {
  EXPECT_EQ(errorKindOfReason(504, "only-if-cached: no usable response is stored"),
            ErrorKind::None);
  EXPECT_EQ(errorKindOfReason(500, "anything"), ErrorKind::None);
  EXPECT_EQ(errorKindOfReason(404, "no route matches GET /x"), ErrorKind::None);
}

}  // namespace
}  // namespace edge::upstream
