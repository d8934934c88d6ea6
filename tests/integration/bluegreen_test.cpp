// The blue/green example (deploy/examples/bluegreen) with a real nginx,
// watched by the deploy probe: a release switches without one failed
// request, a release that stops the old colour first shows its outage, and
// a release whose new version never becomes healthy leaves the old one
// serving.
#include <gtest/gtest.h>

#include <thread>

#include "agent/deploy_probe.hpp"
#include "agent/deploy_runner.hpp"
#include "common/http.hpp"
#include "tests/integration/bluegreen_site.hpp"

using namespace yardstick;
using namespace std::chrono_literals;

namespace {

class BlueGreen : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(run("up v1"), 0); }
  void TearDown() override { site_.down(HasFailure()); }
  int run(const std::string& args, const std::string& env = "") { return site_.run(args, env); }
  std::string url() const { return site_.url(); }
  ProbeSpec probe_spec() const {
    ProbeSpec p;
    p.url = url();
    p.interval = 20ms;
    p.timeout = 2s;
    return p;
  }
  yardstick::testing::BlueGreenSite site_;
};

}  // namespace

TEST_F(BlueGreen, AReleaseSwitchesWithoutOneFailedRequest) {
  Prober probe(probe_spec());
  probe.start();
  std::this_thread::sleep_for(200ms);
  const int64_t release_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count() -
                             probe.started_at_us();
  ASSERT_EQ(run("release v2"), 0);
  std::this_thread::sleep_for(200ms);
  probe.stop();
  ProbeSummary s = probe.summary();
  EXPECT_EQ(s.failed, 0u) << s.text();
  EXPECT_GT(s.sent, 20u);
  DeployResult r;
  auto window = switch_window(probe.records(), release_us, "v2", &r);
  ASSERT_TRUE(window) << "the probe never saw v2 after v1";
  EXPECT_EQ(r.old_version, "v1");
  EXPECT_EQ(http_get(url(), 2s).body, "v2\n");
}

TEST_F(BlueGreen, StoppingTheOldColourFirstIsAnOutageTheProbeMeasures) {
  Prober probe(probe_spec());
  probe.start();
  std::this_thread::sleep_for(200ms);
  ASSERT_EQ(run("release v2 --stop-old-first -- --ready-after 1"), 0);
  std::this_thread::sleep_for(200ms);
  probe.stop();
  ProbeSummary s = probe.summary();
  EXPECT_GT(s.failed, 5u) << s.text();
  // nginx answers 502 while no colour listens, then the new one answers 503
  // until it is ready: failures of kind "status".
  EXPECT_GT(s.failures["status"], 0u) << s.text();
  EXPECT_GT(s.longest_outage_ms, 300) << s.text();
  EXPECT_EQ(http_get(url(), 2s).body, "v2\n");
}

TEST_F(BlueGreen, ANewVersionThatNeverBecomesHealthyLeavesTheOldOneServing) {
  Prober probe(probe_spec());
  probe.start();
  EXPECT_EQ(run("release v2 -- --never-ready", "BLUEGREEN_HEALTH_TIMEOUT=2"), 1);
  EXPECT_EQ(run("rollback"), 0);
  probe.stop();
  EXPECT_EQ(probe.summary().failed, 0u) << probe.summary().text();
  EXPECT_EQ(http_get(url(), 2s).body, "v1\n");
}
