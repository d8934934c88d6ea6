#include "coordinator/intake.hpp"

#include <set>

namespace yardstick {

namespace {
bool in_flight(JobState s) {
  return s == JobState::kAssigned || s == JobState::kRunning;
}
}  // namespace

IntakeDecision judge_result(const Job* job, const ResultKey& key, const std::string& agent) {
  if (job && job->attempt == key.attempt && job->agent == agent) {
    if (in_flight(job->state)) return {Intake::kStore, ""};
    if (is_terminal(job->state)) return {Intake::kDuplicate, ""};
  }
  if (!job) return {Intake::kRefuse, "the job is not in flight"};
  if (job->attempt != key.attempt)
    return {Intake::kRefuse, "attempt " + std::to_string(job->attempt) + " is the current one"};
  if (job->agent != agent) return {Intake::kRefuse, "the attempt is not this agent's"};
  return {Intake::kRefuse, "the attempt is not running"};
}

Reconciliation reconcile_held(JobTable& table, const std::string& agent,
                              const std::vector<JobRef>& held, bool hello, int64_t now_ms,
                              int64_t grace_ms) {
  Reconciliation out;
  std::set<JobRef> holds(held.begin(), held.end());
  for (const auto& ref : holds) {
    const Job* job = table.find(ref.job_id);
    const bool ours =
        job && job->attempt == ref.attempt && job->agent == agent && in_flight(job->state);
    if (!ours)
      out.abandon.push_back(ref);
    else if (job->cancel_requested)
      out.cancel_again.push_back(job->id);
  }
  for (Job* job : table.held_by(agent)) {
    if (holds.count({job->id, job->attempt})) continue;
    if (hello || (job->assigned_at_ms && now_ms - job->assigned_at_ms > grace_ms))
      out.lost.push_back(job->id);
  }
  return out;
}

}  // namespace yardstick
