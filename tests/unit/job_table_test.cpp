// The job lifecycle: allowed transitions, persistence of each, DAG release,
// skip propagation, lost agents and attempts — with a fake clock and store.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "coordinator/job_table.hpp"

namespace yardstick {
namespace {

struct Recorded {
  uint64_t job;
  JobState from, to;
  uint32_t attempt;
  int64_t at_us;
};

class RecordingStore : public JobStore {
 public:
  void persist_transition(const Job& job, JobState from, const std::string&) override {
    log.push_back({job.id, from, job.state, job.attempt, job.ended_at_us});
  }
  std::vector<Recorded> log;
};

class JobTableTest : public ::testing::Test {
 protected:
  Job& add(uint64_t id, std::vector<uint64_t> needs = {}, uint32_t retries = 0) {
    Job j;
    j.id = id;
    j.name = "job" + std::to_string(id);
    j.retries = retries;
    table.add(j);
    for (uint64_t n : needs) table.add_need(id, n);
    return *table.find(id);
  }
  void settle_all() {
    for (auto& [id, j] : table.jobs()) table.settle(*table.find(id));
  }
  void run(Job& j, const std::string& agent = "a1") {
    j.agent = agent;
    ASSERT_TRUE(table.transition(j, JobState::kAssigned));
    ASSERT_TRUE(table.transition(j, JobState::kRunning));
  }
  FakeClock clock;
  RecordingStore store;
  JobTable table{store, clock};
};

TEST_F(JobTableTest, EveryTransitionIsPersistedInOrder) {
  Job& j = add(1);
  table.settle(j);
  run(j);
  clock.advance_ms(1500);
  ASSERT_TRUE(table.transition(j, JobState::kSucceeded));
  ASSERT_EQ(store.log.size(), 4u);
  EXPECT_EQ(store.log[0].to, JobState::kQueued);
  EXPECT_EQ(store.log[1].to, JobState::kAssigned);
  EXPECT_EQ(store.log[2].to, JobState::kRunning);
  EXPECT_EQ(store.log[3].from, JobState::kRunning);
  EXPECT_EQ(store.log[3].to, JobState::kSucceeded);
  EXPECT_EQ(j.ended_at_us - j.started_at_us, 1'500'000);
}

TEST_F(JobTableTest, TerminalStatesNeverChange) {
  Job& j = add(1);
  table.settle(j);
  run(j);
  ASSERT_TRUE(table.transition(j, JobState::kFailed));
  const size_t before = store.log.size();
  for (JobState to : {JobState::kQueued, JobState::kRunning, JobState::kSucceeded,
                      JobState::kCancelled, JobState::kLost})
    EXPECT_FALSE(table.transition(j, to)) << to_string(to);
  EXPECT_EQ(j.state, JobState::kFailed);
  EXPECT_EQ(store.log.size(), before);  // nothing persisted for a refused change
}

TEST_F(JobTableTest, QueuedCannotJumpToRunning) {
  Job& j = add(1);
  table.settle(j);
  EXPECT_FALSE(table.transition(j, JobState::kRunning));
  EXPECT_EQ(j.state, JobState::kQueued);
}

TEST_F(JobTableTest, JobStartsOnlyWhenAllNeedsSucceeded) {
  Job& a = add(1);
  Job& b = add(2);
  Job& c = add(3, {1, 2});
  settle_all();
  EXPECT_EQ(c.state, JobState::kPending);
  run(a);
  table.transition(a, JobState::kSucceeded);
  EXPECT_EQ(c.state, JobState::kPending);
  run(b);
  table.transition(b, JobState::kSucceeded);
  EXPECT_EQ(c.state, JobState::kQueued);
}

TEST_F(JobTableTest, FailedNeedSkipsDependentsTransitively) {
  Job& a = add(1);
  Job& b = add(2, {1});
  Job& c = add(3, {2});
  Job& d = add(4);  // independent
  settle_all();
  run(a);
  table.transition(a, JobState::kFailed);
  EXPECT_EQ(b.state, JobState::kSkipped);
  EXPECT_EQ(c.state, JobState::kSkipped);
  EXPECT_NE(b.message.find("job1 ended failed"), std::string::npos) << b.message;
  EXPECT_EQ(d.state, JobState::kQueued);
}

TEST_F(JobTableTest, TimedOutOrCancelledNeedAlsoSkips) {
  for (JobState end : {JobState::kTimedOut, JobState::kCancelled}) {
    table.clear();
    Job& a = add(1);
    Job& b = add(2, {1});
    settle_all();
    run(a);
    table.transition(a, end);
    EXPECT_EQ(b.state, JobState::kSkipped) << to_string(end);
  }
}

TEST_F(JobTableTest, LostJobBecomesNewAttemptWhileRetriesRemain) {
  Job& j = add(1, {}, /*retries=*/1);
  table.settle(j);
  run(j, "a1");
  table.agent_lost("a1", "agent a1 lost");
  EXPECT_EQ(j.state, JobState::kQueued);
  EXPECT_EQ(j.attempt, 2u);
  EXPECT_TRUE(j.agent.empty());
  // lost was recorded on the way
  bool saw_lost = false;
  for (const auto& r : store.log) saw_lost |= r.to == JobState::kLost && r.attempt == 1;
  EXPECT_TRUE(saw_lost);
  run(j, "a2");
  table.agent_lost("a2", "agent a2 lost");
  EXPECT_EQ(j.state, JobState::kFailed);  // attempt 2 > retries 1
  EXPECT_NE(j.message.find("no attempts left"), std::string::npos);
}

TEST_F(JobTableTest, AgentLostTouchesOnlyItsJobs) {
  Job& mine = add(1, {}, 1);
  Job& other = add(2, {}, 1);
  settle_all();
  run(mine, "a1");
  run(other, "a2");
  table.agent_lost("a1", "lost");
  EXPECT_EQ(mine.state, JobState::kQueued);
  EXPECT_EQ(other.state, JobState::kRunning);
}

TEST_F(JobTableTest, CancelRequestedJobOfLostAgentIsCancelled) {
  Job& j = add(1, {}, 5);
  table.settle(j);
  run(j, "a1");
  j.cancel_requested = true;
  table.agent_lost("a1", "lost");
  EXPECT_EQ(j.state, JobState::kCancelled);
}

TEST_F(JobTableTest, PruneForgetsEndedJobsButRemembersNeedsOfLiveOnes) {
  Job& a = add(1);
  add(2, {1});
  Job& x = add(3);
  settle_all();
  run(x);
  table.transition(x, JobState::kSucceeded);
  table.prune();
  EXPECT_EQ(table.find(3), nullptr);  // ended, nobody needs it
  ASSERT_NE(table.find(1), nullptr);  // still needed by job 2
  run(a);
  table.transition(a, JobState::kSucceeded);
  EXPECT_EQ(table.find(2)->state, JobState::kQueued);
}

TEST_F(JobTableTest, RememberedEndedNeedReleasesPendingJob) {
  // After a coordinator restart, needs that ended are not in memory.
  table.remember_ended(10, JobState::kSucceeded);
  table.remember_ended(11, JobState::kFailed);
  Job& ok = add(1, {10});
  Job& skip = add(2, {10, 11});
  settle_all();
  EXPECT_EQ(ok.state, JobState::kQueued);
  EXPECT_EQ(skip.state, JobState::kSkipped);
}

// The queue and held-job indexes are what placement, heartbeats and the
// wait checks read instead of a pass over the table: after every change of
// a long random walk (priorities, needs, lost agents, reclaims, loads of
// jobs already held, prunes) they say what a pass over the table says.
TEST_F(JobTableTest, TheQueueAndHeldIndexesAgreeWithAPassOverTheTable) {
  std::mt19937 rng(22);
  auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  const std::vector<std::string> agents{"a1", "a2", "a3", ""};
  const std::vector<JobState> targets{
      JobState::kQueued, JobState::kAssigned,  JobState::kRunning, JobState::kSucceeded,
      JobState::kFailed, JobState::kCancelled, JobState::kLost,    JobState::kSkipped};
  uint64_t next_id = 1;
  for (int step = 0; step < 20000; ++step) {
    const size_t what = pick(10);
    if (what == 0 || table.jobs().empty()) {
      Job j;
      j.id = next_id++;
      j.name = "j";
      j.priority = static_cast<int32_t>(pick(3)) - 1;
      j.retries = static_cast<uint32_t>(pick(3));
      if (pick(4) == 0) {  // loaded from the store already held or queued
        j.state = pick(2) ? JobState::kRunning : JobState::kQueued;
        if (j.state == JobState::kRunning) j.agent = agents[pick(agents.size())];
      }
      std::vector<uint64_t> needs;
      if (j.id > 1 && pick(3) == 0) needs.push_back(1 + pick(j.id - 1));
      table.add(j);
      for (uint64_t n : needs)
        if (table.find(n)) table.add_need(j.id, n);
      table.settle(*table.find(j.id));
    } else {
      auto it = table.jobs().begin();
      std::advance(it, static_cast<long>(pick(table.jobs().size())));
      Job& j = *table.find(it->first);
      if (what == 1) {
        table.agent_lost(agents[pick(agents.size())], "lost");
      } else if (what == 2) {
        table.reclaim(j, j.attempt, agents[pick(agents.size())], 7, 8, 0);
      } else if (what == 3 && step % 50 == 0) {
        table.prune();
      } else {
        const JobState to = targets[pick(targets.size())];
        if (to == JobState::kAssigned && j.state == JobState::kQueued)
          j.agent = agents[pick(agents.size())];  // as placement does before it assigns
        table.transition(j, to);
      }
    }
    ASSERT_TRUE(table.indexes_consistent()) << "after step " << step;
  }
  // And what they answer is what a pass over the table answers.
  std::vector<Job*> pass;
  for (const auto& [id, job] : table.jobs())
    if (job.state == JobState::kQueued) pass.push_back(table.find(id));
  std::stable_sort(pass.begin(), pass.end(),
                   [](const Job* a, const Job* b) { return a->priority > b->priority; });
  EXPECT_EQ(table.queued(), pass);
  EXPECT_GT(pass.size(), 0u);
  size_t held = 0;
  for (const auto& agent : agents) {
    std::vector<Job*> mine;
    for (const auto& [id, job] : table.jobs())
      if ((job.state == JobState::kAssigned || job.state == JobState::kRunning) &&
          job.agent == agent)
        mine.push_back(table.find(id));
    EXPECT_EQ(table.held_by(agent), mine) << agent;
    held += mine.size();
  }
  EXPECT_EQ(table.held().size(), held);
  EXPECT_GT(held, 0u);
  table.clear();
  EXPECT_TRUE(table.queued().empty());
  EXPECT_TRUE(table.held().empty());
}

TEST(TransitionTable, MatchesTheDocumentedLifecycle) {
  using S = JobState;
  EXPECT_TRUE(transition_allowed(S::kPending, S::kQueued));
  EXPECT_TRUE(transition_allowed(S::kPending, S::kSkipped));
  EXPECT_TRUE(transition_allowed(S::kQueued, S::kAssigned));
  EXPECT_TRUE(transition_allowed(S::kAssigned, S::kRunning));
  EXPECT_TRUE(transition_allowed(S::kRunning, S::kTimedOut));
  EXPECT_TRUE(transition_allowed(S::kRunning, S::kLost));
  EXPECT_TRUE(transition_allowed(S::kLost, S::kQueued));
  EXPECT_FALSE(transition_allowed(S::kPending, S::kRunning));
  EXPECT_FALSE(transition_allowed(S::kQueued, S::kSucceeded));
  EXPECT_FALSE(transition_allowed(S::kSkipped, S::kQueued));
  EXPECT_FALSE(transition_allowed(S::kLost, S::kRunning));
}

}  // namespace
}  // namespace yardstick

namespace yardstick {
namespace {

// Every pair of states, against the lifecycle as docs/architecture.md draws
// it; and transition() itself obeys the table for each pair (a job put in
// `from` either moves to `to` and persists it, or changes nothing).
TEST(TransitionTable, EveryPairOfStates) {
  using S = JobState;
  const std::vector<S> all = {S::kPending, S::kQueued,   S::kAssigned,  S::kRunning, S::kSucceeded,
                              S::kFailed,  S::kTimedOut, S::kCancelled, S::kSkipped, S::kLost};
  const std::set<std::pair<S, S>> allowed = {
      {S::kPending, S::kQueued},    {S::kPending, S::kSkipped},    {S::kPending, S::kCancelled},
      {S::kQueued, S::kAssigned},   {S::kQueued, S::kCancelled},   {S::kQueued, S::kFailed},
      {S::kAssigned, S::kRunning},  {S::kAssigned, S::kSucceeded}, {S::kAssigned, S::kFailed},
      {S::kAssigned, S::kTimedOut}, {S::kAssigned, S::kCancelled}, {S::kAssigned, S::kLost},
      {S::kRunning, S::kSucceeded}, {S::kRunning, S::kFailed},     {S::kRunning, S::kTimedOut},
      {S::kRunning, S::kCancelled}, {S::kRunning, S::kLost},       {S::kLost, S::kQueued},
      {S::kLost, S::kFailed},       {S::kLost, S::kCancelled},
  };
  int checked = 0;
  for (S from : all)
    for (S to : all) {
      const bool expect = allowed.count({from, to}) > 0;
      EXPECT_EQ(transition_allowed(from, to), expect) << to_string(from) << " -> " << to_string(to);
      RecordingStore store;
      FakeClock clock;
      JobTable table(store, clock);
      Job j;
      j.id = 1;
      j.state = from;
      table.add(j);
      Job& job = *table.find(1);
      EXPECT_EQ(table.transition(job, to), expect) << to_string(from) << " -> " << to_string(to);
      EXPECT_EQ(job.state, expect ? to : from);
      EXPECT_EQ(store.log.size(), expect ? 1u : 0u);
      ++checked;
    }
  EXPECT_EQ(checked, 100);
}

}  // namespace
}  // namespace yardstick

namespace yardstick {
namespace {

class NotingStore : public JobStore {
 public:
  void persist_transition(const Job&, JobState, const std::string&) override { ++transitions; }
  void persist_message(const Job& job) override { messages.push_back(job.message); }
  void persist_cancel_request(const Job&) override { ++cancels; }
  int transitions = 0, cancels = 0;
  std::vector<std::string> messages;
};

TEST(JobTableFields, ReclaimNoteAndCancelRequestGoThroughTheTable) {
  NotingStore store;
  FakeClock clock;
  JobTable table(store, clock);
  Job j;
  j.id = 1;
  j.state = JobState::kRunning;
  j.attempt = 2;
  j.agent = "a";
  j.reclaim_deadline_ms = 500;
  table.add(j);
  Job& job = *table.find(1);
  EXPECT_FALSE(table.reclaim(job, 1, "a", 9, 9, 100));  // an old attempt
  EXPECT_FALSE(table.reclaim(job, 2, "b", 9, 9, 100));  // another agent's
  EXPECT_TRUE(table.reclaim(job, 2, "a", 7, 8, 100));
  EXPECT_EQ(job.agent_id, 7u);
  EXPECT_EQ(job.machine_id, 8u);
  EXPECT_EQ(job.reclaim_deadline_ms, 0);
  EXPECT_EQ(job.assigned_at_ms, 100);
  table.request_cancel(job);
  table.request_cancel(job);  // once is enough
  EXPECT_TRUE(job.cancel_requested);
  EXPECT_EQ(store.cancels, 1);
  table.note(job, JobNote::kNoAgent, "waiting: x");
  table.note(job, JobNote::kNoAgent, "waiting: x");
  EXPECT_EQ(store.messages, std::vector<std::string>{"waiting: x"});
  EXPECT_EQ(store.transitions, 0);
}

}  // namespace
}  // namespace yardstick
