// A job of kind "calibrate": this agent's own micro-benchmarks
// (agent/calibration.hpp) in one step that runs `SELF calibrate`, then
// each benchmark's times reported from the file that step wrote.
#pragma once

#include <vector>

#include "agent/job_context.hpp"

namespace yardstick {

// Appends the calibration step to `steps`. False (the job ended, refused
// or failed) when the job carries anything to run besides the agent's own
// micro-benchmarks, or the agent does not know its own program.
bool prepare_calibration(JobContext& context, std::vector<StepSpec>* steps);

// After the step: reads its file and reports each benchmark. False (the job
// ended, failed) when the file is missing, bad or empty.
bool report_calibration(JobContext& context);

}  // namespace yardstick
