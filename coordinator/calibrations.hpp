// Calibration jobs: a machine's speed and noise, measured by one of its
// agents alone (the job holds all the agent's slots). One runs when the
// first agent of a never-calibrated machine registers, and on
// `yardstick calibrate AGENT`; at most one per agent at a time.
#pragma once

#include <cstdint>
#include <string>

#include "coordinator/agent_registry.hpp"
#include "coordinator/job_table.hpp"
#include "coordinator/placement.hpp"
#include "coordinator/store/store.hpp"

namespace yardstick {

class Calibrations {
 public:
  Calibrations(PipelineRecords& store, JobTable& table, Placer& placement)
      : store_(store), table_(table), placement_(placement) {}

  // The calibration job not yet ended of `agent` (empty: of any agent of
  // machine `machine_id`), or nullptr.
  const Job* active(uint64_t machine_id, const std::string& agent) const;
  // Stores a pipeline "calibrate" with one job of kind calibrate that only
  // `session`'s agent may take, holding all its slots; queued at once.
  const Job& create(const AgentSession& session, const std::string& submitter);

 private:
  PipelineRecords& store_;
  JobTable& table_;
  Placer& placement_;
};

}  // namespace yardstick
