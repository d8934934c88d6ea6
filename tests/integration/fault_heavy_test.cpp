// Fault tests that load both cores for tens of seconds: they run alone
// (RUN_SERIAL), so that they neither slow nor disturb the timing of others.
#include <gtest/gtest.h>

#include <cstdio>

#include "tests/integration/harness.hpp"

namespace yardstick::test {
namespace {

using namespace std::chrono_literals;

TEST(Fault, LargeOutputIsCappedHeadAndTailWithFlatMemory) {
  Cluster::Options options;
  options.coordinator_args = {"--log-cap", std::to_string(4 << 20)};
  Cluster c(options);
  c.add_agent("a", "", "m1");
  // 1 GiB of numbered 100-byte lines.
  c.write_file("p.yml", R"(pipeline: big
jobs:
  loud:
    steps:
      - run: |
          echo FIRST LINE
          awk 'BEGIN { for (i = 0; i < 10737418; i++) printf "%099d\n", i }'
          echo LAST LINE
)");
  auto r = c.cli({"--timeout-ms", "30000", "submit", "--wait", "p.yml"});
  ASSERT_EQ(r.code, 0) << r.err;
  const int64_t job = c.scalar("SELECT id FROM jobs");
  const std::string log = c.stored_log(job, 1);
  EXPECT_LE(log.size(), (4u << 20) + 65536 * 2 + 512);
  EXPECT_GE(log.size(), (4u << 20) - 65536 * 2);
  EXPECT_EQ(log.rfind("FIRST LINE\n", 0), 0u);
  EXPECT_NE(log.find("LAST LINE\n"), std::string::npos);
  EXPECT_NE(log.find("bytes in"), std::string::npos);  // the marker
  EXPECT_NE(log.find("chunks of output cut here"), std::string::npos);
  EXPECT_GT(c.scalar("SELECT cut_bytes FROM log_cuts"), 1000ll << 20);
  // Memory stayed flat: neither process holds the output.
  const long coordinator_kb = peak_rss_kb(c.coordinator().pid());
  const long agent_kb = peak_rss_kb(c.agent("a").pid());
  EXPECT_LT(coordinator_kb, 128 * 1024) << "coordinator peak RSS";
  EXPECT_LT(agent_kb, 64 * 1024) << "agent peak RSS";
  std::printf("1 GiB of output: peak RSS coordinator %ld KiB, agent %ld KiB\n", coordinator_kb,
              agent_kb);
  RecordProperty("coordinator_peak_rss_kb", std::to_string(coordinator_kb));
  RecordProperty("agent_peak_rss_kb", std::to_string(agent_kb));
}

}  // namespace
}  // namespace yardstick::test
