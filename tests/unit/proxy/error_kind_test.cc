// The error kinds of upstream failures, and the statuses and reasons the client sees for them.
// A shared fetch's followers get the kind with the failure (InFlight::View::error).
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

}  // namespace
}  // namespace edge::upstream
