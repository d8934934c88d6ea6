#include "coordinator/scheduler.hpp"

#include <algorithm>

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

std::vector<Placement> schedule(const std::vector<Job*>& queued,
                                std::vector<AgentCapacity> agents) {
  std::vector<Placement> out;
  for (const Job* job : queued) {
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
        if (reserve) reserve->accepting = false;
      }
      continue;
    }
    best->free_slots -= std::min(job->spec.slots == 0 ? 1u : job->spec.slots, best->slots);
    out.push_back({job->id, best->name});
  }
  return out;
}

}  // namespace yardstick
