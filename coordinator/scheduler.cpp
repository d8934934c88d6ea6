#include "coordinator/scheduler.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "coordinator/job_table.hpp"

namespace yardstick {

bool agent_matches(const AgentCapacity& agent, const Job& job) {
  if (!job.target_agent.empty() && job.target_agent != agent.name) return false;
  // A fan-out job is pinned to a machine by its name, so that a kernel or
  // compiler upgrade (a new fingerprint, a new machine row) does not strand it.
  if (!job.target_machine.empty()) {
    if (job.target_machine != agent.machine) return false;
  } else if (job.target_machine_id && *job.target_machine_id != agent.machine_id) {
    return false;
  }
  return labels_match(agent.labels, job.on_labels);
}

Requirements requirements(const Job& job) {
  return {job.target_agent, job.target_machine, job.target_machine_id.value_or(0), job.on_labels};
}

// Cost of a pass over Q queued jobs and A agents with F free slots: each
// job placed costs at most A label matches; the pass ends once no slot is
// free; a single-slot job whose requirements already found no agent in
// this pass (free slots only shrink during it) is skipped after one
// lookup. So O((F + R) * A + Q log R) for R distinct requirements, where
// it was Q * A: 8,000 queued jobs behind 1,000 busy agents were 8 million
// label matches every turn.
std::vector<Placement> schedule(const std::vector<Job*>& queued,
                                std::vector<AgentCapacity> agents) {
  std::vector<Placement> out;
  uint64_t free_total = 0;
  for (const auto& agent : agents)
    if (agent.accepting) free_total += agent.free_slots;
  std::set<Requirements> unmet;  // of single-slot jobs that found no agent
  for (const Job* job : queued) {
    if (free_total == 0) break;
    const bool single = job->spec.slots <= 1;
    Requirements wants = requirements(*job);
    if (single && unmet.count(wants)) continue;
    // A job never asks for more slots than the agent has: an exclusive job
    // asks for all of them.
    AgentCapacity* best = nullptr;
    for (auto& agent : agents) {
      if (!agent.accepting || !agent_matches(agent, *job)) continue;
      const uint32_t need = std::min(job->spec.slots == 0 ? 1u : job->spec.slots, agent.slots);
      if (agent.free_slots < need) continue;
      if (!best || agent.free_slots > best->free_slots ||
          (agent.free_slots == best->free_slots && agent.name < best->name))
        best = &agent;
    }
    if (!best) {
      // A job that needs several slots reserves the matching agent with the
      // most free slots, so that single-slot jobs after it cannot starve it.
      if (job->spec.slots > 1) {
        AgentCapacity* reserve = nullptr;
        for (auto& agent : agents)
          if (agent.accepting && agent_matches(agent, *job) &&
              (!reserve || agent.free_slots > reserve->free_slots))
            reserve = &agent;
        if (reserve) {
          reserve->accepting = false;
          free_total -= reserve->free_slots;
        }
      } else {
        unmet.insert(std::move(wants));
      }
      continue;
    }
    const uint32_t taken = std::min(job->spec.slots == 0 ? 1u : job->spec.slots, best->slots);
    best->free_slots -= taken;
    free_total -= taken;
    out.push_back({job->id, best->name});
  }
  return out;
}

std::vector<Job*> concurrency_filter(const std::vector<Job*>& queued,
                                     const std::vector<const Job*>& held,
                                     std::vector<ConcurrencyWait>* waits) {
  // The job each group waits for: the one held, else the first in line.
  std::map<std::string, const Job*> holder;
  for (const Job* job : held)
    if (!job->concurrency.empty()) holder.emplace(job->concurrency, job);
  std::map<std::string, const Job*> first;
  for (const Job* job : queued) {
    if (job->concurrency.empty() || holder.count(job->concurrency)) continue;
    auto [it, fresh] = first.emplace(job->concurrency, job);
    if (!fresh && std::make_pair(job->queued_at_us, job->id) <
                      std::make_pair(it->second->queued_at_us, it->second->id))
      it->second = job;
  }
  std::vector<Job*> out;
  for (Job* job : queued) {
    if (job->concurrency.empty()) {
      out.push_back(job);
      continue;
    }
    const Job* ahead = nullptr;
    std::string what;
    if (auto h = holder.find(job->concurrency); h != holder.end()) {
      ahead = h->second;
      what = ahead->state == JobState::kAssigned ? "is assigned" : "is running";
    } else if (const Job* f = first.at(job->concurrency); f != job) {
      ahead = f;
      what = "is first in line";
    }
    if (!ahead) {
      out.push_back(job);
      continue;
    }
    if (waits)
      waits->push_back({job->id, "waiting for concurrency group " + job->concurrency + " (job " +
                                     std::to_string(ahead->id) + " of pipeline " +
                                     std::to_string(ahead->pipeline_id) + " " + what + ")"});
  }
  return out;
}

}  // namespace yardstick
