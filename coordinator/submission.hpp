// Submission expansion: a validated pipeline becomes the jobs to store, a
// pure function of the pipeline and the machines connected at that moment.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/pipeline.hpp"
#include "coordinator/job_table.hpp"

namespace yardstick {

// A connected agent's machine, as fan-out sees it.
struct ConnectedMachine {
  uint64_t id = 0;
  std::string name;
  Labels labels;  // the agent's labels
};

// The jobs of `def`, in file order: one per job, or, for `on.machines: all`,
// one per distinct machine (by name, in name order) whose agent matches the
// job's labels, each pinned to that machine; a fan-out that matches no
// connected machine yields one unpinned job that waits for one. Each job is
// pending, with its spec filled (common/pipeline.hpp assignment_for) and
// carrying `signed_submission` when the submitter signed; ids and needs are
// the caller's to add.
std::vector<Job> expand_submission(
    const PipelineDef& def, uint64_t pipeline_id, const std::string& revision,
    const std::string& branch, const std::vector<ConnectedMachine>& machines,
    const std::optional<SignedSubmission>& signed_submission = std::nullopt);

}  // namespace yardstick
