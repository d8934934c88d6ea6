#include "coordinator/job_table.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cassert>
#include <set>

namespace yardstick {

bool transition_allowed(JobState from, JobState to) {
  using S = JobState;
  switch (from) {
    case S::kPending:
      return to == S::kQueued || to == S::kSkipped || to == S::kCancelled;
    case S::kQueued:  // failed: no connected agent could take it within the queue timeout
      return to == S::kAssigned || to == S::kCancelled || to == S::kFailed;
    case S::kAssigned:
      return to == S::kRunning || to == S::kSucceeded || to == S::kFailed || to == S::kTimedOut ||
             to == S::kCancelled || to == S::kLost;
    case S::kRunning:
      return to == S::kSucceeded || to == S::kFailed || to == S::kTimedOut || to == S::kCancelled ||
             to == S::kLost;
    case S::kLost:
      return to == S::kQueued || to == S::kFailed || to == S::kCancelled;
    default:
      return false;  // terminal states never change
  }
}

void JobTable::add(Job job) {
  uint64_t id = job.id;
  for (uint64_t need : job.needs) dependents_[need].push_back(id);
  auto [it, inserted] = jobs_.emplace(id, std::move(job));
  assert(inserted);
  if (inserted) index(it->second);
}

namespace {
bool held_state(JobState s) {
  return s == JobState::kAssigned || s == JobState::kRunning;
}
}  // namespace

void JobTable::index(Job& job) {
  if (job.state == JobState::kQueued) {
    queued_[{-static_cast<int64_t>(job.priority), job.id}] = &job;
  } else if (held_state(job.state)) {
    held_[job.agent][job.id] = &job;
    holder_[job.id] = job.agent;
  }
}

void JobTable::unindex(const Job& job) {
  queued_.erase({-static_cast<int64_t>(job.priority), job.id});
  auto h = holder_.find(job.id);
  if (h == holder_.end()) return;
  if (auto a = held_.find(h->second); a != held_.end()) {
    a->second.erase(job.id);
    if (a->second.empty()) held_.erase(a);
  }
  holder_.erase(h);
}

void JobTable::add_need(uint64_t id, uint64_t need_id, bool no_regression) {
  Job* job = find(id);
  assert(job);
  job->needs.push_back(need_id);
  if (no_regression) job->no_regression_needs.push_back(need_id);
  dependents_[need_id].push_back(id);
}

void JobTable::clear() {
  queued_.clear();
  held_.clear();
  holder_.clear();
  jobs_.clear();
  dependents_.clear();
  ended_.clear();
}

Job* JobTable::find(uint64_t id) {
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : &it->second;
}

std::optional<JobState> JobTable::need_state(uint64_t id) const {
  if (auto it = jobs_.find(id); it != jobs_.end()) return it->second.state;
  if (auto it = ended_.find(id); it != ended_.end()) return it->second;
  return std::nullopt;
}

void JobTable::settle(Job& job) {
  if (job.state != JobState::kPending) return;
  for (uint64_t need : job.needs) {
    auto s = need_state(need);
    if (s && is_terminal(*s) && *s != JobState::kSucceeded) {
      std::string need_name = std::to_string(need);
      if (auto* n = find(need)) need_name = n->name;
      transition(job, JobState::kSkipped,
                 "need " + need_name + " ended " + std::string(to_string(*s)), JobNote::kNeedEnded);
      return;
    }
  }
  for (uint64_t need : job.needs) {
    auto s = need_state(need);
    if (!s || *s != JobState::kSucceeded) return;
  }
  if (gate_) {
    for (uint64_t need : job.no_regression_needs) {
      const GateVerdict v = gate_->judge(job, need);
      if (v.kind == GateVerdict::kRegressed) {
        transition(job, JobState::kSkipped, v.why, JobNote::kRegressed);
        return;
      }
      if (v.kind == GateVerdict::kUnjudgeable) {
        std::string need_name = std::to_string(need);
        if (auto* n = find(need)) need_name = n->name;
        transition(job, JobState::kSkipped,
                   "cannot judge need " + need_name + " for regressions: " + v.why,
                   JobNote::kUnjudgeable);
        return;
      }
    }
  }
  transition(job, JobState::kQueued);
}

bool JobTable::transition(Job& job, JobState to, const std::string& message, JobNote note) {
  const JobState from = job.state;
  if (!transition_allowed(from, to)) {
    spdlog::debug("job {} ({}): ignored {} -> {}", job.id, job.name, to_string(from),
                  to_string(to));
    return false;
  }
  const int64_t now_us = clock_.unix_us();
  unindex(job);
  job.state = to;
  if (!message.empty()) job.message = message;
  job.note = note;
  switch (to) {
    case JobState::kQueued:
      if (from == JobState::kLost) {
        ++job.attempt;
        job.started_at_us = 0;
        job.checked_out.clear();
        job.rolled_back = false;
        job.over_budget = false;
      }
      job.agent.clear();
      job.agent_id = 0;
      job.queued_at_us = now_us;
      break;
    case JobState::kRunning:
      if (job.started_at_us == 0) job.started_at_us = now_us;
      break;
    case JobState::kAssigned:
      job.started_at_us = 0;
      if (message.empty()) job.message.clear();  // "waiting for ..." is over
      break;
    default:
      break;
  }
  if (is_terminal(to)) job.ended_at_us = now_us;
  index(job);
  store_.persist_transition(job, from, message);
  ++counts_[to];
  spdlog::info("job {} {} attempt {}: {} -> {}{}{}", job.id, job.name, job.attempt, to_string(from),
               to_string(to), job.agent.empty() ? "" : " on " + job.agent,
               message.empty() ? "" : " (" + message + ")");
  if (is_terminal(to)) release_dependents(job);
  return true;
}

void JobTable::note(Job& job, JobNote note, const std::string& message) {
  if (job.note == note && job.message == message) return;
  job.note = note;
  job.message = message;
  store_.persist_message(job);
}

void JobTable::clear_note(Job& job, JobNote note) {
  if (job.note == note) this->note(job, JobNote::kNone, "");
}

void JobTable::request_cancel(Job& job) {
  if (job.cancel_requested) return;
  job.cancel_requested = true;
  store_.persist_cancel_request(job);
}

bool JobTable::reclaim(Job& job, uint32_t attempt, const std::string& agent, uint64_t agent_id,
                       uint64_t machine_id, int64_t now_ms) {
  if (job.attempt != attempt ||
      (job.state != JobState::kAssigned && job.state != JobState::kRunning) ||
      (!job.agent.empty() && job.agent != agent))
    return false;
  unindex(job);
  job.agent = agent;
  index(job);
  job.agent_id = agent_id;
  job.machine_id = machine_id;
  job.reclaim_deadline_ms = 0;
  job.assigned_at_ms = now_ms;
  return true;
}

void JobTable::release_dependents(const Job& job) {
  auto it = dependents_.find(job.id);
  if (it == dependents_.end()) return;
  const std::vector<uint64_t> deps = it->second;
  for (uint64_t d : deps)
    if (Job* dep = find(d)) settle(*dep);
}

void JobTable::job_lost(Job& job, const std::string& why) {
  if (!transition(job, JobState::kLost, why)) return;
  if (job.cancel_requested) {
    transition(job, JobState::kCancelled, "cancelled while its agent was lost");
  } else if (job.attempt <= job.retries) {
    transition(job, JobState::kQueued, "new attempt after " + why);
  } else {
    transition(job, JobState::kFailed,
               why + "; no attempts left (retries: " + std::to_string(job.retries) + ")");
  }
}

void JobTable::agent_lost(const std::string& agent, const std::string& why) {
  for (Job* job : held_by(agent)) job_lost(*job, why);
}

std::vector<Job*> JobTable::queued() {
  std::vector<Job*> out;
  out.reserve(queued_.size());
  for (const auto& [key, job] : queued_) out.push_back(job);
  return out;
}

std::vector<Job*> JobTable::held_by(const std::string& agent) {
  std::vector<Job*> out;
  if (auto a = held_.find(agent); a != held_.end())
    for (const auto& [id, job] : a->second) out.push_back(job);
  return out;
}

std::vector<Job*> JobTable::held() {
  std::vector<Job*> out;
  out.reserve(holder_.size());
  for (const auto& [id, agent] : holder_) out.push_back(held_.at(agent).at(id));
  return out;  // in id order, as a pass over the table gave them
}

bool JobTable::indexes_consistent() const {
  size_t queued = 0, held = 0;
  for (const auto& [id, job] : jobs_) {
    if (job.state == JobState::kQueued) {
      ++queued;
      auto q = queued_.find({-static_cast<int64_t>(job.priority), id});
      if (q == queued_.end() || q->second != &job) return false;
    } else if (held_state(job.state)) {
      ++held;
      auto a = held_.find(job.agent);
      if (a == held_.end() || !a->second.count(id) || a->second.at(id) != &job) return false;
      if (holder_.count(id) == 0 || holder_.at(id) != job.agent) return false;
    }
  }
  size_t indexed = 0;
  for (const auto& [agent, jobs] : held_) indexed += jobs.size();
  return queued == queued_.size() && held == holder_.size() && held == indexed;
}

void JobTable::prune() {
  std::set<uint64_t> needed;  // needs of live jobs
  for (const auto& [id, job] : jobs_)
    if (!is_terminal(job.state))
      for (uint64_t n : job.needs) needed.insert(n);
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    if (is_terminal(it->second.state) && !needed.count(it->first)) {
      ended_[it->first] = it->second.state;
      dependents_.erase(it->first);
      it = jobs_.erase(it);
    } else {
      ++it;
    }
  }
  // ended_ only matters for needs of live jobs.
  for (auto it = ended_.begin(); it != ended_.end();)
    it = needed.count(it->first) ? std::next(it) : ended_.erase(it);
}

}  // namespace yardstick
