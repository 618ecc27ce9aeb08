#include "proxy/cpu_limit.h"

#include <gtest/gtest.h>

namespace edge::cpu {
namespace {

TEST(CpuLimit, CgroupV2CpuMax) {
  EXPECT_EQ(quotaFromCpuMax("max 100000\n"), std::nullopt);
  EXPECT_DOUBLE_EQ(*quotaFromCpuMax("150000 100000\n"), 1.5);
  EXPECT_DOUBLE_EQ(*quotaFromCpuMax("200000 100000"), 2.0);
  EXPECT_DOUBLE_EQ(*quotaFromCpuMax("50000 100000\n"), 0.5);
  EXPECT_EQ(quotaFromCpuMax(""), std::nullopt);
  EXPECT_EQ(quotaFromCpuMax("garbage"), std::nullopt);
  EXPECT_EQ(quotaFromCpuMax("100000 0"), std::nullopt);
  EXPECT_EQ(quotaFromCpuMax("12x 100000"), std::nullopt);
}

TEST(CpuLimit, CgroupV1Cfs) {
  EXPECT_EQ(quotaFromCfs("-1\n", "100000\n"), std::nullopt);
  EXPECT_DOUBLE_EQ(*quotaFromCfs("300000\n", "100000\n"), 3.0);
  EXPECT_DOUBLE_EQ(*quotaFromCfs("25000", "100000"), 0.25);
  EXPECT_EQ(quotaFromCfs("", "100000"), std::nullopt);
  EXPECT_EQ(quotaFromCfs("100000", "-1"), std::nullopt);
}

TEST(CpuLimit, CgroupV2PathOfThisProcess) {
  EXPECT_EQ(cgroupV2Path("0::/\n"), "");
  EXPECT_EQ(cgroupV2Path("0::/system.slice/edge.service\n"), "/system.slice/edge.service");
  // Hybrid hierarchy: v1 controllers first, then the unified line.
  EXPECT_EQ(cgroupV2Path("12:cpu,cpuacct:/docker/abc\n1:name=systemd:/x\n0::/docker/abc\n"),
            "/docker/abc");
  EXPECT_EQ(cgroupV2Path("4:cpu:/only-v1\n"), std::nullopt);
  EXPECT_EQ(cgroupV2Path(""), std::nullopt);
}

TEST(CpuLimit, WorkersAreTheAffinityCappedByTheQuotaRoundedUp) {
  EXPECT_EQ(workerCount(8, std::nullopt), 8u);
  EXPECT_EQ(workerCount(8, 2.0), 2u);
  EXPECT_EQ(workerCount(8, 1.5), 2u);
  EXPECT_EQ(workerCount(8, 0.25), 1u);
  EXPECT_EQ(workerCount(1, 4.0), 1u);
  EXPECT_EQ(workerCount(0, std::nullopt), 1u);
  EXPECT_EQ(workerCount(0, 3.0), 3u);
}

TEST(CpuLimit, TheSystemGivesAtLeastOneWorker) {
  const CpuLimit limit = usableCpus();
  EXPECT_GE(limit.workers, 1u);
  EXPECT_GE(limit.affinity, limit.workers);
}

}  // namespace
}  // namespace edge::cpu
