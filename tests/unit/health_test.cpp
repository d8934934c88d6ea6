#include <gtest/gtest.h>

#include "agent/health.hpp"

using namespace yardstick;
using namespace std::chrono_literals;
using S = HealthGate::State;

namespace {

HealthSpec spec() {
  HealthSpec s;
  s.interval = 1s;
  s.success_threshold = 2;
  s.failure_threshold = 3;
  s.min_healthy = 10s;
  s.deadline = 60s;
  return s;
}

}  // namespace

TEST(HealthGate, PassesAfterSuccessThresholdAndMinHealthy) {
  HealthGate g(spec());
  EXPECT_EQ(g.record(false, 0s), S::kWaiting);
  EXPECT_EQ(g.record(true, 1s), S::kWaiting);  // one good check of two
  EXPECT_EQ(g.record(true, 2s), S::kHealthy);
  EXPECT_EQ(g.first_healthy(), 2000ms);
  for (int t = 3; t < 12; ++t) EXPECT_EQ(g.record(true, std::chrono::seconds(t)), S::kHealthy);
  EXPECT_EQ(g.record(true, 12s), S::kPassed);
  EXPECT_EQ(g.passed_at(), 12000ms);
  EXPECT_EQ(g.describe(""), "healthy after 2 s, stayed healthy 10 s");
}

TEST(HealthGate, FewerFailuresThanTheThresholdKeepItHealthy) {
  HealthGate g(spec());
  g.record(true, 0s);
  g.record(true, 1s);
  g.record(false, 2s);
  g.record(false, 3s);  // two in a row: still healthy
  EXPECT_EQ(g.record(true, 4s), S::kHealthy);
  EXPECT_EQ(g.record(false, 5s), S::kHealthy);
  EXPECT_EQ(g.record(false, 6s), S::kHealthy);
  EXPECT_EQ(g.record(false, 7s), S::kWaiting);  // three in a row: min_healthy starts over
  g.record(true, 8s);
  EXPECT_EQ(g.record(true, 9s), S::kHealthy);
  EXPECT_EQ(g.tick(18s), S::kHealthy);
  EXPECT_EQ(g.tick(19s), S::kPassed);
  EXPECT_EQ(g.first_healthy(), 1000ms);
  EXPECT_EQ(g.passed_at(), 19000ms);
}

TEST(HealthGate, TheDeadlineFailsAServiceThatNeverBecomesHealthy) {
  HealthGate g(spec());
  for (int t = 0; t < 60; ++t) EXPECT_EQ(g.record(false, std::chrono::seconds(t)), S::kWaiting);
  EXPECT_EQ(g.record(false, 60s), S::kDeadline);
  EXPECT_TRUE(g.done());
  EXPECT_EQ(g.record(true, 61s), S::kDeadline);  // over is over
  EXPECT_EQ(g.describe("HTTP 503, expected 200-399"),
            "not healthy by the 60 s deadline (61 checks, 61 failed; last: HTTP 503, expected "
            "200-399)");
}

TEST(HealthGate, FailuresInTheStartPeriodDoNotCount) {
  HealthSpec s = spec();
  s.success_threshold = 1;
  s.start_period = 5s;
  s.min_healthy = 6s;
  HealthGate g(s);
  g.record(true, 0s);
  // Four failures in a row, more than failure_threshold, but all in the start period.
  for (int t = 1; t < 5; ++t) EXPECT_EQ(g.record(false, std::chrono::seconds(t)), S::kHealthy);
  EXPECT_EQ(g.record(true, 5s), S::kHealthy);
  EXPECT_EQ(g.tick(6s), S::kPassed);
  EXPECT_EQ(g.passed_at(), 6000ms);
}

TEST(HealthGate, HealthyButNotForLongEnoughByTheDeadlineSaysSo) {
  HealthSpec s = spec();
  s.deadline = 8s;
  HealthGate g(s);
  g.record(true, 0s);
  g.record(true, 1s);
  EXPECT_EQ(g.tick(8s), S::kDeadline);
  EXPECT_NE(g.describe("").find("healthy at 1 s but not for 10 s"), std::string::npos)
      << g.describe("");
}
