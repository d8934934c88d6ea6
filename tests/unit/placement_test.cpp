// Placement (coordinator/placement.hpp) and the agent channel's leases, on
// a fake store and clock: why a queued job waits is a typed note, set and
// cleared as agents come and go; a job no agent takes fails after the queue
// timeout; an agent silent past its lease loses its jobs; agents heard
// from are written as seen in one statement.
#include <gtest/gtest.h>

#include "tests/unit/coordinator_rig.hpp"

namespace yardstick::test {
namespace {

Job& queued(CoordinatorRig& rig, uint64_t id, Labels labels = {}) {
  Job j;
  j.id = id;
  j.pipeline_id = 1;
  j.name = "j" + std::to_string(id);
  j.state = JobState::kQueued;
  j.on_labels = std::move(labels);
  rig.table.add(std::move(j));
  return *rig.table.find(id);
}

TEST(Placer, AJobNoAgentCanTakeIsNotedThenPlacedWhenOneComes) {
  CoordinatorRig rig;
  Job& job = queued(rig, 5, {"gpu=yes"});
  rig.placer.check_waits();
  EXPECT_EQ(job.note, JobNote::kNoAgent);
  EXPECT_EQ(job.message, "waiting: no connected agent has labels [gpu=yes]");
  AgentSession& a = rig.agent("a");
  a.labels = {"gpu=yes"};
  rig.placer.check_waits();
  EXPECT_EQ(job.note, JobNote::kNone);
  EXPECT_EQ(job.message, "");
  rig.placer.mark_dirty();
  rig.placer.schedule();
  EXPECT_EQ(job.state, JobState::kAssigned);
  EXPECT_EQ(job.agent, "a");
}

// `yardstick calibrate` asked while the coordinator still held the session
// of an agent that was restarting after a kernel upgrade: the agent comes
// back on a new machine row (a new fingerprint, the same machine name), and
// its calibration runs there instead of waiting for the old fingerprint.
TEST(Placer, ACalibrationFollowsItsAgentToTheMachinesNewFingerprint) {
  CoordinatorRig rig;
  AgentSession& before = rig.agent("a");
  const Job& job = rig.calibrations.create(before, "alice");
  AgentSession after = before;
  after.machine_id = 2;  // a new row for machine "m1"
  rig.agents.put(std::move(after));
  rig.placer.check_waits();
  EXPECT_EQ(job.note, JobNote::kNone) << job.message;
  rig.placer.mark_dirty();
  rig.placer.schedule();
  EXPECT_EQ(job.state, JobState::kAssigned) << job.message;
  EXPECT_EQ(job.agent, "a");
}

TEST(Placer, AQueuedJobFailsAfterTheQueueTimeoutAndSaysWhy) {
  CoordinatorConfig config;
  config.queue_timeout_ms = 1000;
  CoordinatorRig rig(config);
  Job& job = queued(rig, 5, {"gpu=yes"});
  rig.placer.check_waits();
  rig.clock.advance_ms(999);
  rig.placer.check_waits();
  EXPECT_EQ(job.state, JobState::kQueued);
  rig.clock.advance_ms(2);
  rig.placer.check_waits();
  EXPECT_EQ(job.state, JobState::kFailed);
  EXPECT_NE(job.message.find("no agent could take it"), std::string::npos) << job.message;
}

TEST(Placer, ADrainingAgentTakesNothingAndTheWaitSaysSo) {
  CoordinatorRig rig;
  rig.agent("a").draining_self = true;
  Job& job = queued(rig, 5);
  rig.placer.check_waits();
  rig.placer.schedule();
  EXPECT_EQ(job.state, JobState::kQueued);
  EXPECT_EQ(job.note, JobNote::kNoAgent);
  EXPECT_NE(job.message.find("is draining"), std::string::npos) << job.message;
}

// Each wait names what the job asks for in words that read: no "any agent
// on machine", no "with any agent".
TEST(Placer, TheWaitSaysWhatTheJobAsksForInPlainWords) {
  CoordinatorRig rig;
  Job& anywhere = queued(rig, 5);
  rig.placer.check_waits();
  EXPECT_EQ(anywhere.message, "waiting: no agent is connected");
  Job& pinned = queued(rig, 6);
  pinned.target_machine = "m1";
  Job& both = queued(rig, 7, {"os=linux"});
  both.target_machine = "m1";
  rig.placer.check_waits();
  EXPECT_EQ(pinned.message, "waiting: no connected agent is on machine m1");
  EXPECT_EQ(both.message, "waiting: no connected agent has labels [os=linux] on machine m1");
  AgentSession& a = rig.agent("a");
  a.machine_name = "m1";
  a.labels = {"os=linux"};
  a.draining_self = true;
  rig.placer.check_waits();
  EXPECT_EQ(anywhere.message, "waiting: every connected agent is draining");
  EXPECT_EQ(pinned.message, "waiting: every connected agent on machine m1 is draining");
  EXPECT_EQ(both.message,
            "waiting: every connected agent with labels [os=linux] on machine m1 is draining");
  // A label one typing error away from a connected agent's is named.
  Job& typo = queued(rig, 8, {"tool=mlod"});
  rig.agent("b").labels = {"tool=mold", "os=linux"};
  rig.placer.check_waits();
  EXPECT_EQ(typo.message,
            "waiting: no connected agent has labels [tool=mlod] (did you mean 'tool=mold' for "
            "'tool=mlod'?)");
}

TEST(Placer, CancellingARunningJobAsksItsAgentAndKeepsTheRequest) {
  CoordinatorRig rig;
  rig.agent("a");
  Job& job = queued(rig, 5);
  rig.placer.schedule();
  ASSERT_EQ(job.state, JobState::kAssigned);
  rig.sent();
  rig.placer.cancel(job, "cancelled by request");
  EXPECT_TRUE(job.cancel_requested);
  EXPECT_EQ(rig.store.state.cancels, std::vector<uint64_t>{5});
  const auto sent = rig.sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].which, wire::Envelope::Body::CANCEL);
  Job& waiting = queued(rig, 6, {"nowhere=x"});
  rig.placer.cancel(waiting, "cancelled by request");
  EXPECT_EQ(waiting.state, JobState::kCancelled);  // no agent to ask
}

TEST(AgentChannel, AnAgentSilentPastItsLeaseLosesItsJobsToANewAttempt) {
  CoordinatorConfig config;
  config.lease_ms = 2000;
  CoordinatorRig rig(config);
  rig.agent("a");
  Job& job = queued(rig, 5);
  job.retries = 1;
  rig.placer.schedule();
  ASSERT_EQ(job.state, JobState::kAssigned);
  rig.clock.advance_ms(2001);
  rig.channel.check_leases();
  EXPECT_EQ(rig.agents.find("a"), nullptr);
  EXPECT_EQ(job.state, JobState::kQueued);
  EXPECT_EQ(job.attempt, 2u);
}

TEST(AgentChannel, AgentsHeardFromAreWrittenAsSeenInOneStatement) {
  CoordinatorConfig config;
  config.lease_ms = 2000;
  CoordinatorRig rig(config);
  for (const char* name : {"a", "b", "c"}) rig.agent(name);
  rig.clock.advance_ms(1000);
  for (auto& [name, s] : rig.agents.sessions())
    rig.agents.seen(s, rig.clock.steady_ms(), config.lease_ms / 2);
  rig.channel.check_leases();
  ASSERT_EQ(rig.store.state.touches.size(), 1u);
  EXPECT_EQ(rig.store.state.touches[0].size(), 3u);
  rig.channel.check_leases();  // nothing new heard: nothing written
  EXPECT_EQ(rig.store.state.touches.size(), 1u);
}

}  // namespace
}  // namespace yardstick::test
