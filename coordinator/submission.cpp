#include "coordinator/submission.hpp"

#include <algorithm>
#include <map>
#include <optional>

namespace yardstick {

std::vector<Job> expand_submission(const PipelineDef& def, uint64_t pipeline_id,
                                   const std::string& revision, const std::string& branch,
                                   const std::vector<ConnectedMachine>& machines) {
  std::vector<Job> out;
  for (const JobDef& jd : def.jobs) {
    std::vector<std::optional<std::pair<uint64_t, std::string>>> targets;
    if (jd.all_machines) {
      std::map<std::string, uint64_t> matching;  // by name: one job per machine, stable order
      for (const auto& m : machines)
        if (labels_match(m.labels, jd.on_labels)) matching.emplace(m.name, m.id);
      for (const auto& [name, id] : matching) targets.push_back(std::make_pair(id, name));
    }
    if (targets.empty()) targets.push_back(std::nullopt);
    for (const auto& target : targets) {
      Job job;
      job.pipeline_id = pipeline_id;
      job.name = jd.name;
      job.state = JobState::kPending;
      job.retries = jd.retries;
      job.priority = jd.priority;
      job.on_labels = jd.on_labels;
      if (target) {
        job.target_machine_id = target->first;
        job.target_machine = target->second;
      }
      JobAssignment& spec = job.spec;
      spec.pipeline_id = pipeline_id;
      spec.pipeline_name = def.name;
      spec.job_name = jd.name;
      spec.kind = jd.kind;
      spec.revision = revision;
      spec.branch = branch;
      spec.checkout_repo = def.checkout_repo;
      spec.workdir = jd.workdir;
      spec.env = def.env;
      for (const auto& [k, v] : jd.env) spec.env[k] = v;
      spec.steps = jd.steps;
      spec.timeout_ms = jd.timeout_ms;
      spec.slots = jd.exclusive ? kExclusiveSlots : 1;
      spec.bench = jd.bench;
      spec.variants = jd.variants;
      spec.budget = jd.budget;
      spec.secrets = def.secrets;
      for (const auto& name : jd.secrets)
        if (std::find(spec.secrets.begin(), spec.secrets.end(), name) == spec.secrets.end())
          spec.secrets.push_back(name);
      out.push_back(std::move(job));
    }
  }
  return out;
}

}  // namespace yardstick
