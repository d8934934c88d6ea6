// Job-end notifications (`notify:` in pipelines): which jobs ends a webhook
// hears of, and the JSON it is sent. Pure decisions, no sockets: the
// coordinator hands the documents to the Notifier (coordinator/notifier.hpp)
// after the turn that ended the job has committed.
//
// Events of a job end, most specific first:
//   rolled_back  a deploy job that failed and whose rollback ran and held
//                (JobEnd::rolled_back, from its deploy result)
//   failed       failed or timed out (a rolled-back deploy too)
//   over_budget  a budget of the job or of a step was exceeded (whatever
//                the outcome)
//   succeeded    succeeded (an over-budget job too, unless fail: true)
// A cancelled or skipped job, and a calibration, notifies nobody. Each
// webhook gets at most one POST per job end: the first of these events
// that it subscribed to.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/pipeline.hpp"
#include "coordinator/job_table.hpp"
#include "coordinator/store/store.hpp"

namespace yardstick {

// What a webhook is told about one job end.
struct JobEnd {
  std::string pipeline;
  uint64_t pipeline_id = 0;
  std::string job;
  uint64_t job_id = 0;
  uint32_t attempt = 1;
  JobKind kind = JobKind::kBuild;
  JobState state = JobState::kSucceeded;
  std::string message;
  std::string agent;
  std::string machine;
  std::string revision;
  std::string branch;
  int64_t started_at_us = 0;  // unix time; 0: never started
  int64_t ended_at_us = 0;
  bool over_budget = false;
  bool rolled_back = false;  // a deploy whose rollback ran and held (its deploy result said so)
};

// The events of `end`, in the order of notify_events(); empty for a job end
// nobody hears of.
std::vector<std::string> job_end_events(const JobEnd& end);

// The event `hook` is sent for a job end with `events`: the first of them it
// subscribed to; nullopt when it subscribed to none.
std::optional<std::string> event_for(const Webhook& hook, const std::vector<std::string>& events);

// The one line of Slack's `text`: pipeline, job, outcome, duration, agent,
// revision and message, with &, < and > escaped as Slack asks.
std::string notification_text(const JobEnd& end);

// The JSON document POSTed: `text` (Slack-compatible) and the structured
// result: pipeline, pipeline_id, job, job_id, attempt, kind, event, events,
// state, message, agent, machine, revision, branch, started_at, ended_at
// (RFC 3339 UTC, null when unknown), duration_s (null when the job never
// started), over_budget and status_command.
std::string notification_json(const JobEnd& end, const std::string& event);

// The event of a pipeline over its own wall budget (`budget:` at the top of
// its file): not a job end, so not in job_end_events(); sent once to each
// webhook of the pipeline (its own or any job's) that lists it.
inline constexpr const char* kPipelineOverBudget = "pipeline_over_budget";

// The JSON document of a pipeline over its budget: the job end's shape,
// with the job's fields null, event and events "pipeline_over_budget",
// state "over_budget", budget (its text), actual_s and budget_s.
std::string pipeline_notification_json(const PipelineBudgetBreach& breach);

// The outcome of a bisection (`yardstick bisect`, whatever it concluded),
// sent once to each webhook of the bisected job, in the newest pipeline of
// its name, that lists it.
inline constexpr const char* kBisected = "bisected";

// Its JSON document: text, event and events "bisected", pipeline, job,
// kind, what, machine, good and bad (the revisions it started from),
// outcome, commit and subject (null unless found), change_pct, low_pct and
// high_pct (null unless found), steps, runs, seconds, message,
// bisection_id and status_command.
std::string bisection_notification_json(const BisectionRecord& b, uint64_t id);

// The webhooks of each job of a pipeline, by job name.
using PipelineHooks = std::map<std::string, std::vector<Webhook>>;
PipelineHooks pipeline_hooks(const PipelineDef& def);
// The same from a stored pipeline file (pipelines.definition); nullopt,
// with `error` set, when it no longer parses.
std::optional<PipelineHooks> pipeline_hooks(const std::string& definition,
                                            const std::string& file_name, std::string* error);

// A JobStore that passes everything on to `inner` and keeps a copy of each
// job that reached a terminal state, for the coordinator to notify once
// the turn has committed.
class EndedJobs final : public JobStore {
 public:
  explicit EndedJobs(JobStore& inner) : inner_(inner) {}
  void persist_transition(const Job& job, JobState from, const std::string& message) override;
  void persist_message(const Job& job) override { inner_.persist_message(job); }
  void persist_cancel_request(const Job& job) override { inner_.persist_cancel_request(job); }

  // The jobs that ended since the last take() or clear(), in order.
  std::vector<Job> take();
  // The same, left in place.
  const std::vector<Job>& ended() const { return ended_; }
  // Forgets them (their transitions were rolled back).
  void clear() { ended_.clear(); }

 private:
  JobStore& inner_;
  std::vector<Job> ended_;
};

}  // namespace yardstick
