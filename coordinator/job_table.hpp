// The job lifecycle: every state change of every job goes through
// JobTable::transition(), which checks the change is allowed, persists it
// through the JobStore (inside the coordinator's current batch), logs it and
// counts it. Terminal states never change.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/types.hpp"

namespace yardstick {

struct Job {
  uint64_t id = 0;
  uint64_t pipeline_id = 0;
  std::string name;
  JobState state = JobState::kPending;
  uint32_t attempt = 1;
  uint32_t retries = 0;  // extra attempts allowed after a lost agent
  int32_t priority = 0;
  Labels on_labels;
  std::optional<uint64_t> target_machine_id;  // pinned by on.machines: all
  std::string target_machine;   // that machine's name: what pins it (a new kernel keeps it)
  std::string target_agent;     // set: only this agent may take it (a calibration)
  std::vector<uint64_t> needs;  // job ids
  // Those of `needs` that must not have regressed (needs: {job: NAME,
  // no_regression: true}); from the pipeline definition, not stored apart.
  std::vector<uint64_t> no_regression_needs;
  std::string concurrency;  // at most one job of this group held at a time; empty: none
  JobAssignment spec;       // what the agent runs; job_id/attempt set on assignment

  std::string agent;  // name of the agent holding it (assigned/running)
  uint64_t agent_id = 0;
  uint64_t machine_id = 0;
  int64_t queued_at_us = 0;
  int64_t started_at_us = 0;
  int64_t ended_at_us = 0;
  std::string message;
  JobNote note = JobNote::kNone;  // why it is where it is; the message says it in words

  // Of the current attempt: the commit its checkout step checked out; its
  // deploy rolled back (the deploy result said so); a budget was breached.
  std::string checked_out;
  bool rolled_back = false;
  bool over_budget = false;
  // The pipeline has a wall budget (`budget: {wall: …}`): judged when its
  // last job ends. Pipelines without one cost no statement at their end.
  bool pipeline_budgeted = false;

  // The agent's own clock: when the attempt's first step started there (for
  // wall budgets, free of queueing and of the coordinator's turns).
  int64_t agent_started_at_us = 0;
  // When the attempt was assigned (coordinator's steady clock); an agent
  // whose heartbeats do not list it some time after is not running it.
  int64_t assigned_at_ms = 0;
  // Since when no connected agent could take this queued job (0: one can).
  int64_t unplaceable_since_ms = 0;

  bool cancel_requested = false;  // persisted; the cancel is resent until the agent ends the job
  // For assigned/running jobs whose agent is not connected (after a
  // coordinator restart): the job is lost when the clock passes this.
  int64_t reclaim_deadline_ms = 0;
};

// Persists transitions. The coordinator's store writes them into the batch
// of the current turn; unit tests record them.
class JobStore {
 public:
  virtual ~JobStore() = default;
  virtual void persist_transition(const Job& job, JobState from, const std::string& message) = 0;
  // The job's message and note changed without a transition (why a queued job waits).
  virtual void persist_message(const Job& job) { (void)job; }
  // A cancel was asked of the agent running the job; kept until it ends.
  virtual void persist_cancel_request(const Job& job) { (void)job; }
};

bool transition_allowed(JobState from, JobState to);

// What the regression gate says of one no_regression need that succeeded.
// kUnjudgeable: its facts cannot be read (the bench job is gone, its stored
// spec does not decode, the store refused the query); that does not change
// by asking again, so the gated job is skipped, as for a regression.
struct GateVerdict {
  enum Kind { kPass, kRegressed, kUnjudgeable } kind = kPass;
  std::string why;  // "bench judged slower: ..." or what cannot be read
};

// Judges a no_regression need: whether the bench job `need_id` that
// succeeded was judged slower (the coordinator asks its store; tests fake
// it). Throws (StoreError) when the store is unavailable: the caller's turn
// is then undone and the job stays pending, to be settled again.
class NeedGate {
 public:
  virtual ~NeedGate() = default;
  virtual GateVerdict judge(const Job& job, uint64_t need_id) = 0;
};

class JobTable {
 public:
  JobTable(JobStore& store, const Clock& clock) : store_(store), clock_(clock) {}

  // Adds a job that is already stored. Call settle() once its needs are added.
  void add(Job job);
  // Records that job `id` needs job `need_id` (both already added), and
  // whether that need must also not have regressed.
  void add_need(uint64_t id, uint64_t need_id, bool no_regression = false);
  // Judges no_regression needs; null: they are plain needs.
  void set_gate(NeedGate* gate) { gate_ = gate; }
  // Forgets every job (before a reload from the store).
  void clear();
  // A pending job whose needs all succeeded becomes queued; one with a need
  // that ended otherwise becomes skipped, and so does one with a
  // no_regression need the gate finds regressed or cannot judge (each with
  // its note); otherwise nothing changes.
  void settle(Job& job);
  Job* find(uint64_t id);
  const std::map<uint64_t, Job>& jobs() const { return jobs_; }

  // The one place a job's state changes. Returns false, changing nothing,
  // when the change is not allowed from the job's current state. The job's
  // note becomes `note` (a transition ends any wait). lost -> queued starts
  // a new attempt.
  bool transition(Job& job, JobState to, const std::string& message = {},
                  JobNote note = JobNote::kNone);

  // Says why a job is where it is (a queued job waiting for an agent with
  // some labels): the note and the message in words; persisted, shown by
  // `status`. No-op when unchanged.
  void note(Job& job, JobNote note, const std::string& message);
  // Clears a note of kind `note` (with its message); other notes stay.
  void clear_note(Job& job, JobNote note);
  // Marks a running job's cancel as asked of its agent (persisted; the
  // coordinator resends it until the job ends).
  void request_cancel(Job& job);
  // The agent that registers again holding `attempt` of an assigned or
  // running job (its own, or any after a coordinator restart) keeps it.
  // Returns false, changing nothing, when the job is not that agent's to keep.
  bool reclaim(Job& job, uint32_t attempt, const std::string& agent, uint64_t agent_id,
               uint64_t machine_id, int64_t now_ms);

  // An agent went away: each job it held becomes lost, then a new attempt
  // (while attempts remain) or failed.
  void agent_lost(const std::string& agent, const std::string& why);
  void job_lost(Job& job, const std::string& why);

  // Queued jobs, highest priority first, then in submission order. Kept
  // in that order as jobs change state: O(queued), no pass over the table.
  std::vector<Job*> queued();
  // Jobs held by an agent (assigned or running): O(log agents + its jobs),
  // asked on every heartbeat.
  std::vector<Job*> held_by(const std::string& agent);
  // Every held job (assigned or running), in id order: O(held log held),
  // which the fleet's slots bound, whatever the queue's length.
  std::vector<Job*> held();
  // The indexes above agree with the jobs' states (for tests).
  bool indexes_consistent() const;

  // Records the terminal state of a job that is not in memory (loaded needs).
  void remember_ended(uint64_t id, JobState state) { ended_[id] = state; }

  // Forgets jobs that are terminal and that no live job depends on.
  void prune();

  // Transitions counted by target state, for logs and metrics.
  const std::map<JobState, uint64_t>& transition_counts() const { return counts_; }

 private:
  void release_dependents(const Job& job);
  // The queued and held indexes: a job leaves them before its state or
  // agent changes and enters them after.
  void index(Job& job);
  void unindex(const Job& job);
  // The state of a need (a job not in memory is terminal; its state is remembered).
  std::optional<JobState> need_state(uint64_t id) const;

  JobStore& store_;
  const Clock& clock_;
  NeedGate* gate_ = nullptr;
  std::map<uint64_t, Job> jobs_;
  std::map<uint64_t, std::vector<uint64_t>> dependents_;
  std::map<uint64_t, JobState> ended_;  // terminal states of pruned jobs
  std::map<JobState, uint64_t> counts_;
  // Queued jobs by (-priority, id); held jobs by agent, and each held
  // job's agent as indexed (the job's own may be set before it is held).
  std::map<std::pair<int64_t, uint64_t>, Job*> queued_;
  std::map<std::string, std::map<uint64_t, Job*>> held_;
  std::map<uint64_t, std::string> holder_;
};

}  // namespace yardstick
