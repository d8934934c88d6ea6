// Result intake, reconciliation, the log cap and submission expansion: the
// coordinator's decisions about what peers send, with a fake store and clock.
#include <gtest/gtest.h>

#include "common/clock.hpp"
#include "common/pipeline.hpp"
#include "coordinator/intake.hpp"
#include "coordinator/log_cap.hpp"
#include "coordinator/submission.hpp"

namespace yardstick {
namespace {

class CountingStore : public JobStore {
 public:
  void persist_transition(const Job&, JobState, const std::string&) override { ++count; }
  int count = 0;
};

class IntakeTest : public ::testing::Test {
 protected:
  Job& add(uint64_t id, JobState state, const std::string& agent, uint32_t attempt = 1) {
    Job j;
    j.id = id;
    j.name = "job" + std::to_string(id);
    j.state = state;
    j.agent = agent;
    j.attempt = attempt;
    j.retries = 2;
    table.add(j);
    return *table.find(id);
  }
  CountingStore store;
  FakeClock clock;
  JobTable table{store, clock};
};

TEST_F(IntakeTest, ResultOfTheRunningAttemptOnItsAgentIsStored) {
  Job& j = add(1, JobState::kRunning, "a", 2);
  EXPECT_EQ(judge_result(&j, {1, 2, 7}, "a").intake, Intake::kStore);
  Job& k = add(2, JobState::kAssigned, "a");
  EXPECT_EQ(judge_result(&k, {2, 1, 1}, "a").intake, Intake::kStore);
}

TEST_F(IntakeTest, OldAttemptOtherAgentOrUnknownJobIsRefused) {
  Job& j = add(1, JobState::kRunning, "b", 2);
  auto old = judge_result(&j, {1, 1, 3}, "a");
  EXPECT_EQ(old.intake, Intake::kRefuse);
  EXPECT_EQ(old.why, "attempt 2 is the current one");
  auto other = judge_result(&j, {1, 2, 3}, "a");
  EXPECT_EQ(other.intake, Intake::kRefuse);
  EXPECT_EQ(other.why, "the attempt is not this agent's");
  EXPECT_EQ(judge_result(nullptr, {9, 1, 1}, "a").intake, Intake::kRefuse);
  Job& queued = add(3, JobState::kQueued, "", 1);
  EXPECT_EQ(judge_result(&queued, {3, 1, 1}, "a").intake, Intake::kRefuse);
}

TEST_F(IntakeTest, LateCopyForAnEndedAttemptIsAcknowledgedNotStored) {
  Job& j = add(1, JobState::kSucceeded, "a");
  EXPECT_EQ(judge_result(&j, {1, 1, 4}, "a").intake, Intake::kDuplicate);
  EXPECT_EQ(judge_result(&j, {1, 1, 4}, "b").intake, Intake::kRefuse);
}

TEST_F(IntakeTest, HeldAttemptsThatAreNotTheAgentsAreAbandoned) {
  add(1, JobState::kRunning, "a", 1);
  add(2, JobState::kRunning, "b", 1);
  add(3, JobState::kRunning, "a", 3);
  auto r = reconcile_held(table, "a", {{1, 1}, {2, 1}, {3, 2}, {4, 1}}, false, 0, 1000);
  EXPECT_EQ(r.abandon, (std::vector<JobRef>{{2, 1}, {3, 2}, {4, 1}}));
  EXPECT_TRUE(r.lost.empty());
}

TEST_F(IntakeTest, CancelIsResentForHeldJobsThatHaveOne) {
  add(1, JobState::kRunning, "a").cancel_requested = true;
  add(2, JobState::kRunning, "a");
  auto r = reconcile_held(table, "a", {{1, 1}, {2, 1}}, false, 0, 1000);
  EXPECT_EQ(r.cancel_again, std::vector<uint64_t>{1});
}

TEST_F(IntakeTest, JobTheAgentDoesNotHoldIsLostAfterHelloAtOnceAfterHeartbeatOnlyPastGrace) {
  Job& j = add(1, JobState::kAssigned, "a");
  j.assigned_at_ms = 10'000;
  EXPECT_EQ(reconcile_held(table, "a", {}, true, 10'001, 1000).lost, std::vector<uint64_t>{1});
  EXPECT_TRUE(reconcile_held(table, "a", {}, false, 10'500, 1000).lost.empty());
  EXPECT_EQ(reconcile_held(table, "a", {}, false, 11'001, 1000).lost, std::vector<uint64_t>{1});
  EXPECT_TRUE(reconcile_held(table, "a", {{1, 1}}, false, 99'999, 1000).lost.empty());
}

TEST(LogCap, KeepsTheHeadAndTheTailAndCutsTheMiddle) {
  LogCap cap(100);  // 50 bytes of head, 50 of tail
  for (uint64_t seq = 1; seq <= 5; ++seq) {
    auto s = cap.add(seq, 10);
    EXPECT_TRUE(s.store);
    EXPECT_FALSE(s.place_marker);
    EXPECT_TRUE(s.drop.empty());
  }
  auto first_tail = cap.add(6, 10);
  EXPECT_TRUE(first_tail.store);
  EXPECT_TRUE(first_tail.place_marker);
  for (uint64_t seq = 7; seq <= 10; ++seq) EXPECT_TRUE(cap.add(seq, 10).drop.empty());
  auto over = cap.add(11, 10);  // the tail holds 60: its oldest goes
  EXPECT_EQ(over.drop, std::vector<uint64_t>{6});
  EXPECT_TRUE(over.update_marker);
  EXPECT_EQ(cap.cut_bytes(), 10u);
  EXPECT_EQ(cap.stored_bytes(), 100u);
  for (uint64_t seq = 12; seq <= 1000; ++seq) cap.add(seq, 10);
  EXPECT_EQ(cap.stored_bytes(), 100u);
  EXPECT_EQ(cap.cut_bytes(), 9900u);
  EXPECT_EQ(cap.cut_chunks(), 990u);
  EXPECT_NE(cap.marker_text().find("9900 bytes in 990 chunks"), std::string::npos);
}

TEST(LogCap, ResentChunksAreNotCountedTwiceAndCutOnesAreNotStoredAgain) {
  LogCap cap(100);
  for (uint64_t seq = 1; seq <= 20; ++seq) cap.add(seq, 10);
  const uint64_t stored = cap.stored_bytes(), cut = cap.cut_bytes();
  auto again = cap.add(20, 10);  // resent, still in the tail
  EXPECT_TRUE(again.store);
  EXPECT_TRUE(again.drop.empty());
  EXPECT_EQ(cap.stored_bytes(), stored);
  auto old = cap.add(7, 10);  // resent after it was cut
  EXPECT_FALSE(old.store);
  EXPECT_EQ(cap.cut_bytes(), cut);
}

TEST(LogCap, RebuiltFromWhatIsStoredGoesOnWhereItStopped) {
  // One head chunk, the marker, then two tail chunks.
  LogCap cap = LogCap::from_stored(100, {{1, 50}, {9, 10}, {10, 10}}, true, 1, 300, 30);
  auto s = cap.add(11, 40);  // the tail reaches 60: seq 9 goes
  EXPECT_EQ(s.drop, std::vector<uint64_t>{9});
  EXPECT_EQ(cap.cut_bytes(), 310u);
  LogCap fresh = LogCap::from_stored(100, {{1, 20}}, false, 1, 0, 0);
  EXPECT_FALSE(fresh.add(2, 20).place_marker);
  EXPECT_TRUE(fresh.add(3, 20).place_marker);
}

TEST(Submission, FanOutMakesOneJobPerMatchingMachinePinnedByName) {
  auto parsed = parse_pipeline(R"(pipeline: p
checkout: { repo: https://example.org/r.git }
env: { A: "1" }
jobs:
  build:
    on: { labels: [os=linux], machines: all }
    env: { B: "2" }
    steps: [{run: make}]
  report:
    needs: [build]
    steps: [{run: echo}]
)",
                               "p.yml");
  ASSERT_TRUE(parsed.ok());
  std::vector<ConnectedMachine> machines = {
      {7, "zeta", {"os=linux"}},
      {3, "alpha", {"os=linux"}},
      {5, "mac", {"os=darwin"}},
      {7, "zeta", {"os=linux", "gpu"}}};  // two agents on one machine
  auto jobs = expand_submission(*parsed.pipeline, 42, "abc123", "main", machines);
  ASSERT_EQ(jobs.size(), 3u);
  EXPECT_EQ(jobs[0].target_machine, "alpha");
  EXPECT_EQ(jobs[0].target_machine_id, 3u);
  EXPECT_EQ(jobs[1].target_machine, "zeta");
  EXPECT_EQ(jobs[2].name, "report");
  EXPECT_TRUE(jobs[2].target_machine.empty());
  for (const auto& j : jobs) {
    EXPECT_EQ(j.state, JobState::kPending);
    EXPECT_EQ(j.pipeline_id, 42u);
    EXPECT_EQ(j.spec.revision, "abc123");
    EXPECT_EQ(j.spec.checkout_repo, "https://example.org/r.git");
    EXPECT_EQ(j.spec.env.at("A"), "1");
  }
  EXPECT_EQ(jobs[0].spec.env.at("B"), "2");
  EXPECT_EQ(jobs[2].spec.env.count("B"), 0u);
}

TEST(Submission, JobsGetThePipelinesSecretsAndTheirOwn) {
  auto parsed = parse_pipeline(
      "pipeline: p\nsecrets: [A, B]\njobs:\n  x:\n    secrets: [B, C]\n    steps: [{run: x}]\n"
      "  y:\n    steps: [{run: y}]\n",
      "p.yml");
  ASSERT_TRUE(parsed.ok());
  auto jobs = expand_submission(*parsed.pipeline, 1, "", "", {});
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0].spec.secrets, (std::vector<std::string>{"A", "B", "C"}));
  EXPECT_EQ(jobs[1].spec.secrets, (std::vector<std::string>{"A", "B"}));
}

TEST(Submission, FanOutWithNoMatchingMachineWaitsAsOneJob) {
  auto parsed = parse_pipeline(
      "pipeline: p\njobs:\n  b:\n    on: { labels: [gpu=yes], machines: all }\n    steps: [{run: "
      "x}]\n",
      "p.yml");
  ASSERT_TRUE(parsed.ok());
  auto jobs = expand_submission(*parsed.pipeline, 1, "", "", {{1, "m", {"os=linux"}}});
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_TRUE(jobs[0].target_machine.empty());
  EXPECT_FALSE(jobs[0].target_machine_id.has_value());
}

}  // namespace
}  // namespace yardstick
