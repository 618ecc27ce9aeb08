#include "proxy/port_claim.h"

#include <gtest/gtest.h>

namespace edge::net {
namespace {

constexpr const char* kProcNetUnix =
    "Num       RefCount Protocol Flags    Type St Inode Path\n"
    "0000000000000000: 00000002 00000000 00010000 0001 01 25391 /run/systemd/notify\n"
    "0000000000000000: 00000002 00000000 00000000 0002 01 5920107 "
    "@edge-proxy/127.0.0.1:8080/aaaa/100\n"
    "0000000000000000: 00000002 00000000 00000000 0002 01 5920108 "
    "@edge-proxy/[::1]:8080/bbbb/200\n"
    "0000000000000000: 00000003 00000000 00000000 0001 03 5920109\n"
    "0000000000000000: 00000002 00000000 00010000 0001 01 5920110 @/tmp/.X11-unix/X0\n";

TEST(PortClaim, AbstractNamesAreReadFromProcNetUnix) {
  const auto names = abstractSocketNames(kProcNetUnix);
  ASSERT_EQ(names.size(), 3u);
  EXPECT_EQ(names[0], "edge-proxy/127.0.0.1:8080/aaaa/100");
  EXPECT_EQ(names[1], "edge-proxy/[::1]:8080/bbbb/200");
  EXPECT_EQ(names[2], "/tmp/.X11-unix/X0");
}

TEST(PortClaim, ClaimNamesCarryAddressDigestAndPid) {
  EXPECT_EQ(claimName("127.0.0.1:8080", "aaaa", 100), "edge-proxy/127.0.0.1:8080/aaaa/100");
}

TEST(PortClaim, SharingIsAllowedOnlyWithTheSameConfig) {
  const auto names = abstractSocketNames(kProcNetUnix);
  EXPECT_EQ(shareProblem(names, "127.0.0.1:8080", "aaaa"), std::nullopt);
  const auto other = shareProblem(names, "127.0.0.1:8080", "cccc");
  ASSERT_TRUE(other.has_value());
  EXPECT_NE(other->find("another edge-proxy (pid 100) running a different configuration"),
            std::string::npos);
}

TEST(PortClaim, AnAddressWithoutAClaimBelongsToAnotherProgram) {
  const auto names = abstractSocketNames(kProcNetUnix);
  EXPECT_EQ(shareProblem(names, "127.0.0.1:9090", "aaaa"),
            std::optional<std::string>("already in use by another program"));
  // A claim on another port with a prefix of this one does not count.
  EXPECT_EQ(shareProblem(names, "127.0.0.1:808", "aaaa"),
            std::optional<std::string>("already in use by another program"));
}

TEST(PortClaim, ConfigDigestIsStableAndShort) {
  EXPECT_EQ(configDigest("listen: []\n"), configDigest("listen: []\n"));
  EXPECT_NE(configDigest("listen: []\n"), configDigest("listen: [] \n"));
  EXPECT_EQ(configDigest("x").size(), 16u);
}

}  // namespace
}  // namespace edge::net
