#include "coordinator/placement.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>

#include "common/text.hpp"
#include "common/wire.hpp"
#include "coordinator/scheduler.hpp"

namespace yardstick {

namespace {
std::vector<const Job*> held_jobs(JobTable& table) {
  const auto held = table.held();
  return {held.begin(), held.end()};
}
}  // namespace

uint32_t Placer::used_slots(const std::string& agent) {
  uint32_t used = 0;
  const AgentSession* s = agents_.find(agent);
  const uint32_t slots = s ? s->slots : 1;
  for (const Job* job : table_.held_by(agent))
    used += std::min(std::max(1u, job->spec.slots), slots);
  return used;
}

std::string Placer::unplaceable_reason(const Job& job) const {
  bool draining_match = false;
  for (const auto& [name, s] : agents_.sessions()) {
    AgentCapacity a{name, s.labels, s.machine_id, s.slots, s.slots, true, s.machine_name};
    if (!agent_matches(a, job)) continue;
    if (!s.draining()) return "";
    draining_match = true;
  }
  if (!job.target_agent.empty())
    return draining_match ? "agent " + job.target_agent + " is draining"
                          : "agent " + job.target_agent + " is not connected";
  // "with labels [os=linux] on machine m1", "on machine m1", or nothing.
  std::string which;
  if (!job.on_labels.empty()) which += " with labels [" + format_labels(job.on_labels) + "]";
  if (!job.target_machine.empty()) which += " on machine " + job.target_machine;
  if (draining_match) return "every connected agent" + which + " is draining";
  if (!job.on_labels.empty()) {
    // A typing error in a label is the likeliest cause: the nearest label a
    // connected agent has, for each label none has.
    std::vector<std::string> held;
    for (const auto& [name, session] : agents_.sessions())
      held.insert(held.end(), session.labels.begin(), session.labels.end());
    std::string hints;
    for (const auto& want : job.on_labels) {
      if (std::find(held.begin(), held.end(), want) != held.end()) continue;
      if (const std::string near = closest(want, held); !near.empty())
        hints += (hints.empty() ? "" : ", ") + ("'" + near + "' for '" + want + "'");
    }
    return "no connected agent has" + which.substr(5) +
           (hints.empty() ? "" : " (did you mean " + hints + "?)");
  }
  return which.empty() ? "no agent is connected" : "no connected agent is" + which;
}

void Placer::check_waits() {
  const int64_t now = clock_.steady_ms();
  // One look over the fleet per distinct set of requirements, not per
  // queued job: O(R x agents + queued x log R), once a second. (Per job,
  // 10,000 queued jobs no agent could take cost 10,000 passes over the
  // fleet each time: a whole core with 1,000 agents.)
  struct Reason {
    std::string why, note;
  };
  std::map<Requirements, Reason> reasons;
  for (Job* job : table_.queued()) {
    auto [it, fresh] = reasons.try_emplace(requirements(*job));
    if (fresh) {
      it->second.why = unplaceable_reason(*job);
      if (!it->second.why.empty()) it->second.note = "waiting: " + it->second.why;
    }
    const std::string& why = it->second.why;
    if (why.empty()) {
      job->unplaceable_since_ms = 0;
      table_.clear_note(*job, JobNote::kNoAgent);
      continue;
    }
    if (!job->unplaceable_since_ms) job->unplaceable_since_ms = now;
    table_.note(*job, JobNote::kNoAgent, it->second.note);
    if (now - job->unplaceable_since_ms < static_cast<int64_t>(config_.queue_timeout_ms)) continue;
    table_.transition(*job, JobState::kFailed,
                      "no agent could take it: " + why + " (waited " +
                          std::to_string((now - job->unplaceable_since_ms) / 1000) +
                          " s; the coordinator's --queue-timeout-ms)");
    dirty_ = true;
  }
  // Jobs in flight at a restart whose agent never came back.
  std::vector<Job*> orphans;
  for (Job* job : table_.held())
    if (!agents_.find(job->agent) && job->reclaim_deadline_ms != 0 &&
        now >= job->reclaim_deadline_ms)
      orphans.push_back(job);
  for (Job* job : orphans) {
    table_.job_lost(*job, "agent " + job->agent + " did not come back after a restart");
    dirty_ = true;
  }
}

void Placer::extend(int64_t gap_ms) {
  for (const auto& [id, unused] : table_.jobs()) {
    Job* j = table_.find(id);
    if (j->reclaim_deadline_ms) j->reclaim_deadline_ms += gap_ms;
    if (j->assigned_at_ms) j->assigned_at_ms += gap_ms;
  }
}

void Placer::note_concurrency_waits() {
  std::vector<ConcurrencyWait> waits;
  const auto queued = table_.queued();
  concurrency_filter(queued, held_jobs(table_), &waits);
  std::map<uint64_t, std::string> why;
  for (auto& w : waits) why[w.job_id] = std::move(w.message);
  for (Job* job : queued) {
    if (auto it = why.find(job->id); it != why.end())
      table_.note(*job, JobNote::kConcurrency, it->second);
    else
      table_.clear_note(*job, JobNote::kConcurrency);  // its turn came
  }
}

void Placer::schedule() {
  if (!dirty_) return;
  dirty_ = false;
  auto all_queued = table_.queued();
  if (all_queued.empty()) return;
  // One job of a concurrency group at a time; the rest are told why they wait.
  auto queued = concurrency_filter(all_queued, held_jobs(table_));
  if (!queued.empty() && !agents_.sessions().empty()) place(queued);
  note_concurrency_waits();
}

void Placer::place(const std::vector<Job*>& queued) {
  // Every agent's used slots from the held jobs alone (the table keeps
  // them by agent): O(held), not a pass over every job in memory.
  std::map<std::string, uint32_t> used_by;
  for (const Job* job : table_.held()) {
    const AgentSession* s = agents_.find(job->agent);
    used_by[job->agent] += std::min(std::max(1u, job->spec.slots), s ? s->slots : 1u);
  }
  std::vector<AgentCapacity> capacity;
  for (const auto& [name, s] : agents_.sessions()) {
    const auto it = used_by.find(name);
    const uint32_t used = it == used_by.end() ? 0 : it->second;
    capacity.push_back({name, s.labels, s.machine_id, s.slots, used >= s.slots ? 0 : s.slots - used,
                        !s.draining(), s.machine_name});
  }
  for (const auto& p : yardstick::schedule(queued, capacity)) {
    Job* job = table_.find(p.job_id);
    const AgentSession& s = *agents_.find(p.agent);
    job->agent = s.name;
    job->agent_id = s.agent_id;
    job->machine_id = s.machine_id;
    job->reclaim_deadline_ms = 0;
    job->assigned_at_ms = clock_.steady_ms();
    job->agent_started_at_us = 0;
    job->spec.job_id = job->id;
    job->spec.attempt = job->attempt;
    job->spec.pipeline_id = job->pipeline_id;
    if (table_.transition(*job, JobState::kAssigned)) {
      if (metrics_ && job->queued_at_us)
        metrics_->dispatch_latency.observe_us(clock_.unix_us() - job->queued_at_us);
      send_assign(s, *job);
    }
  }
}

void Placer::send_assign(const AgentSession& session, const Job& job) {
  capnp::MallocMessageBuilder b;
  wire_io::fill(wire_io::start(b, 0).getBody().initAssign(), job.spec);
  outbox_.reply(Side::kAgents, session.route, b);
}

void Placer::cancel(Job& job, const std::string& why) {
  if (job.state == JobState::kAssigned || job.state == JobState::kRunning) {
    if (const AgentSession* s = agents_.find(job.agent)) {
      // Kept in the store and sent again with every heartbeat that lists
      // the job, until the agent reports the job's end.
      table_.request_cancel(job);
      capnp::MallocMessageBuilder b;
      auto c = wire_io::start(b, 0).getBody().initCancel();
      c.setJobId(job.id);
      c.setAttempt(job.attempt);
      c.setReason(why);
      outbox_.reply(Side::kAgents, s->route, b);
      return;  // the agent answers with jobFinished(cancelled)
    }
  }
  table_.transition(job, JobState::kCancelled, why);
}

}  // namespace yardstick
