// A job of kind "deploy" runs in a process of its own, `yardstick-agent
// deploy`, started by the job runner as the job's step: the deploy's logic
// blocks (steps in order, health checks on an interval, the rollback), the
// agent's loop must not. Its output is the job's log (masked and streamed
// like any step's); its commands are its children, in the job's process
// tree, so that everything is killed when the job ends.
//
// It reads the job (a Cap'n Proto Assign) from a file and writes what the
// agent reports, one JSON object a line, to an events file that the runner
// reads as it grows: {"phase": {...}} as each phase ends, and {"result":
// {...}} once at the end. It exits 0 when the deploy succeeded, 1 when it
// failed (rolled back or not), 2 when it could not start.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "common/deploy_spec.hpp"
#include "common/types.hpp"

namespace yardstick {

// The job, for the deploy process. False with `error` set when it cannot be written.
bool write_job_file(const std::string& path, const JobAssignment& job, std::string* error);
std::optional<JobAssignment> read_job_file(const std::string& path, std::string* error);

struct DeployEvent {
  std::optional<DeployPhase> phase;
  std::optional<DeployReport> result;
};
std::string event_line(const DeployPhase& phase);
std::string event_line(const DeployReport& report);
// The complete lines written after `*offset` (which moves past them); a
// line that is not an event becomes a warning.
std::vector<DeployEvent> read_deploy_events(const std::string& path, size_t* offset,
                                            std::vector<std::string>* warnings);

// `yardstick-agent deploy --job FILE --events FILE`.
int deploy_main(int argc, char** argv);

}  // namespace yardstick
