#include "coordinator/calibrations.hpp"

namespace yardstick {

const Job* Calibrations::active(uint64_t machine_id, const std::string& agent) const {
  for (const auto& [id, job] : table_.jobs())
    if (job.spec.kind == JobKind::kCalibrate && !is_terminal(job.state) &&
        (agent.empty() ? job.target_machine_id == machine_id : job.target_agent == agent))
      return &job;
  return nullptr;
}

const Job& Calibrations::create(const AgentSession& session, const std::string& submitter) {
  const std::string definition = "calibrate agent " + session.name + " on machine " +
                                 session.machine_name + " (requested by " + submitter + ")";
  const uint64_t pipeline_id =
      store_.insert_pipeline("calibrate", "", "", submitter, "", definition, std::nullopt);
  Job job;
  job.pipeline_id = pipeline_id;
  job.name = "calibrate";
  job.retries = 1;  // a calibration cut short by an agent restart runs once more
  job.target_agent = session.name;
  job.target_machine_id = session.machine_id;
  // Pinned to the agent and its machine's name, not to the fingerprint's
  // row: an agent restarted after a kernel upgrade comes back on a new row
  // (the session asked for may be the old one, its lease not yet out), and
  // the calibration is then what that machine needs.
  job.target_machine = session.machine_name;
  job.spec.kind = JobKind::kCalibrate;
  job.spec.pipeline_name = "calibrate";
  job.spec.job_name = "calibrate";
  job.spec.pipeline_id = pipeline_id;
  job.spec.slots = kExclusiveSlots;  // never beside another job: that would be noise
  job.spec.timeout_ms = 300'000;
  job.id = store_.insert_job(job);
  const uint64_t id = job.id;
  table_.add(std::move(job));
  Job* added = table_.find(id);
  table_.settle(*added);
  placement_.mark_dirty();
  return *added;
}

}  // namespace yardstick
