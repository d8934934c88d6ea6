#include "coordinator/submission.hpp"

#include <algorithm>
#include <map>
#include <optional>

namespace yardstick {

std::vector<Job> expand_submission(const PipelineDef& def, uint64_t pipeline_id,
                                   const std::string& revision, const std::string& branch,
                                   const std::vector<ConnectedMachine>& machines,
                                   const std::optional<SignedSubmission>& signed_submission) {
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
      job.concurrency = jd.concurrency;
      if (target) {
        job.target_machine_id = target->first;
        job.target_machine = target->second;
      }
      job.spec = assignment_for(def, jd, revision, branch);
      job.spec.pipeline_id = pipeline_id;
      job.spec.signed_submission = signed_submission;
      out.push_back(std::move(job));
    }
  }
  return out;
}

}  // namespace yardstick
