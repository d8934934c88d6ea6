// Placement: labels, slots, priority, submission order, pinned machines.
#include <gtest/gtest.h>

#include "coordinator/job_table.hpp"
#include "coordinator/scheduler.hpp"

namespace yardstick {
namespace {

Job job(uint64_t id, Labels labels = {}, int32_t priority = 0) {
  Job j;
  j.id = id;
  j.name = "j" + std::to_string(id);
  j.state = JobState::kQueued;
  j.on_labels = std::move(labels);
  j.priority = priority;
  return j;
}

AgentCapacity agent(std::string name, Labels labels, uint32_t slots, uint64_t machine = 1,
                    std::string machine_name = "") {
  return {std::move(name), std::move(labels), machine, slots, slots, true, std::move(machine_name)};
}

std::vector<Job*> ptrs(std::vector<Job>& jobs) {
  std::vector<Job*> out;
  for (auto& j : jobs) out.push_back(&j);
  return out;
}

TEST(Scheduler, PlacesJobOnlyOnAgentWithAllItsLabels) {
  std::vector<Job> jobs = {job(1, {"os=linux", "tool=mold"})};
  auto p =
      schedule(ptrs(jobs), {agent("a", {"os=linux"}, 4), agent("b", {"os=linux", "tool=mold"}, 1)});
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].agent, "b");
}

TEST(Scheduler, JobWithNoMatchingAgentStaysQueued) {
  std::vector<Job> jobs = {job(1, {"tool=sccache"})};
  EXPECT_TRUE(schedule(ptrs(jobs), {agent("a", {"os=linux"}, 4)}).empty());
}

TEST(Scheduler, RespectsFreeSlots) {
  std::vector<Job> jobs = {job(1), job(2), job(3)};
  auto p = schedule(ptrs(jobs), {agent("a", {}, 2)});
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].job_id, 1u);
  EXPECT_EQ(p[1].job_id, 2u);
}

TEST(Scheduler, BusyAgentGetsNothing) {
  std::vector<Job> jobs = {job(1)};
  AgentCapacity a = agent("a", {}, 2);
  a.free_slots = 0;
  EXPECT_TRUE(schedule(ptrs(jobs), {a}).empty());
}

TEST(Scheduler, HigherPriorityFirstThenSubmissionOrder) {
  // The table hands the scheduler jobs in this order; check the table does it.
  FakeClock clock;
  struct NullStore : JobStore {
    void persist_transition(const Job&, JobState, const std::string&) override {}
  } store;
  JobTable table(store, clock);
  for (auto j : {job(1, {}, 0), job(2, {}, 10), job(3, {}, 0), job(4, {}, 10)}) table.add(j);
  auto queued = table.queued();
  ASSERT_EQ(queued.size(), 4u);
  EXPECT_EQ(queued[0]->id, 2u);
  EXPECT_EQ(queued[1]->id, 4u);
  EXPECT_EQ(queued[2]->id, 1u);
  EXPECT_EQ(queued[3]->id, 3u);
  auto p = schedule(queued, {agent("a", {}, 1)});
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].job_id, 2u);
}

TEST(Scheduler, JobThatFitsNowhereDoesNotBlockOthers) {
  std::vector<Job> jobs = {job(1, {"gpu"}), job(2)};
  auto p = schedule(ptrs(jobs), {agent("a", {}, 1)});
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].job_id, 2u);
}

TEST(Scheduler, JobsWhoseLabelsFoundNoAgentAreSkippedAndTheRestStillPlaced) {
  // Interleaved: gpu jobs (no agent has gpu) between plain ones. Each gpu
  // job after the first is skipped by its requirements; every plain job
  // still finds the slot meant for it, in order.
  std::vector<Job> jobs;
  for (uint64_t i = 1; i <= 8; ++i) jobs.push_back(job(i, i % 2 ? Labels{"gpu=yes"} : Labels{}));
  auto p = schedule(ptrs(jobs), {agent("a", {}, 2), agent("b", {}, 1)});
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].job_id, 2u);
  EXPECT_EQ(p[1].job_id, 4u);
  EXPECT_EQ(p[2].job_id, 6u);
}

TEST(Scheduler, APassEndsOnceNoSlotIsFreeAndPlacesExactlyTheFreeSlots) {
  std::vector<Job> jobs;
  for (uint64_t i = 1; i <= 10'000; ++i) jobs.push_back(job(i));
  std::vector<AgentCapacity> agents;
  for (int a = 0; a < 1000; ++a) agents.push_back(agent("a" + std::to_string(a), {}, 4));
  agents[7].free_slots = 0;     // busy
  agents[9].accepting = false;  // draining
  auto p = schedule(ptrs(jobs), agents);
  EXPECT_EQ(p.size(), 998u * 4);
  EXPECT_EQ(p.back().job_id, 998u * 4);  // in submission order, none skipped
}

TEST(Scheduler, SpreadsOverTheAgentWithMostFreeSlots) {
  std::vector<Job> jobs = {job(1), job(2)};
  auto p = schedule(ptrs(jobs), {agent("a", {}, 1), agent("b", {}, 2)});
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].agent, "b");
  EXPECT_EQ(p[1].agent, "a");  // b then has 1 free, a has 1: tie broken by name
}

TEST(Scheduler, PinnedJobRunsOnlyOnItsMachine) {
  // on.machines: all makes one job per machine, each pinned.
  std::vector<Job> jobs = {job(1), job(2)};
  jobs[0].target_machine_id = 7;
  jobs[1].target_machine_id = 8;
  auto p = schedule(ptrs(jobs), {agent("on7", {}, 4, 7), agent("on8", {}, 1, 8)});
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].agent, "on7");
  EXPECT_EQ(p[1].agent, "on8");
}

TEST(Scheduler, PinnedJobFollowsItsMachineNameAcrossAnUpgrade) {
  // The machine's fingerprint (and row id) changed with a new kernel; its
  // name did not, so the fan-out job still runs there and nowhere else.
  std::vector<Job> jobs = {job(1)};
  jobs[0].target_machine_id = 7;
  jobs[0].target_machine = "laptop";
  auto p = schedule(ptrs(jobs),
                    {agent("other", {}, 4, 7, "server"), agent("upgraded", {}, 1, 9, "laptop")});
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].agent, "upgraded");
}

TEST(Scheduler, MultiSlotJobNeedsThatManyFreeSlots) {
  std::vector<Job> jobs = {job(1), job(2)};
  jobs[0].spec.slots = 4;  // asks for more than the agent has: takes all of it
  auto p = schedule(ptrs(jobs), {agent("a", {}, 2)});
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].job_id, 1u);
}

TEST(Scheduler, AgentNotAcceptingGetsNothing) {
  std::vector<Job> jobs = {job(1)};
  AgentCapacity a = agent("a", {}, 2);
  a.accepting = false;
  EXPECT_TRUE(schedule(ptrs(jobs), {a}).empty());
}

}  // namespace
}  // namespace yardstick

namespace yardstick {
namespace {

TEST(Scheduler, ACalibrationGoesOnlyToItsAgentAndOnlyWhenItIsIdle) {
  Job cal = job(1);
  cal.target_agent = "b";
  cal.spec.kind = JobKind::kCalibrate;
  cal.spec.slots = kExclusiveSlots;
  std::vector<Job> jobs = {cal};
  // a is idle and has the most free slots, but it is not the agent asked.
  auto busy_b = agent("b", {}, 2);
  busy_b.free_slots = 1;  // running another job: a calibration would be noise
  EXPECT_TRUE(schedule(ptrs(jobs), {agent("a", {}, 4), busy_b}).empty());
  auto p = schedule(ptrs(jobs), {agent("a", {}, 4), agent("b", {}, 2)});
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].agent, "b");
}

}  // namespace
}  // namespace yardstick
