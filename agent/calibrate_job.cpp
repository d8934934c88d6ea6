#include "agent/calibrate_job.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "agent/calibration.hpp"
#include "agent/checkout.hpp"
#include "common/calibration.hpp"

namespace yardstick {

namespace fs = std::filesystem;

bool prepare_calibration(JobContext& ctx, std::vector<StepSpec>* steps) {
  const JobAssignment& job = ctx.job;
  // Nothing of the coordinator's runs here: only this agent's own program,
  // so that signed-job checks (which a calibration job cannot pass) are not needed.
  std::string extra;
  if (!job.steps.empty()) extra = "steps";
  if (job.bench || !job.variants.empty()) extra = "a benchmark";
  if (!job.checkout_repo.empty()) extra = "a repository";
  if (!job.env.empty() || !job.secrets.empty()) extra = "environment variables";
  if (!job.workdir.empty()) extra = "a workdir";
  const std::string& self = ctx.options.self_exe;
  if (self.empty()) {
    ctx.log.system("this agent does not know its own program: it cannot calibrate");
    ctx.end(JobOutcome::kFailed, "the agent cannot find its own program to calibrate");
    return false;
  }
  if (!extra.empty()) {
    const std::string why = "a calibration job carries nothing to run, but this one has " + extra;
    ctx.log.system("refused: " + why);
    ctx.end(JobOutcome::kFailed, "refused by the agent: " + why);
    return false;
  }
  std::error_code ec;
  fs::remove(ctx.workspace + ".calibration", ec);
  ctx.log.system("calibrating this machine: " + std::to_string(kCalibrationRepetitions) +
                 " interleaved repetitions of cpu, memory, spawn and io (docs/benchmarks.md)");
  steps->push_back({"calibrate",
                    shell_quote(self) + " calibrate --dir " + shell_quote(ctx.workspace) +
                        " --out " + shell_quote(ctx.workspace + ".calibration") +
                        " --repetitions " + std::to_string(kCalibrationRepetitions),
                    {},
                    true,
                    job.timeout_ms,
                    {},
                    {}});
  return true;
}

bool report_calibration(JobContext& ctx) {
  const std::string path = ctx.workspace + ".calibration";
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::error_code ec;
  fs::remove(path, ec);
  std::string error;
  auto parsed = parse_calibration_file(text, &error);
  if (parsed && parsed->empty()) error = "it is empty";
  if (!parsed || parsed->empty()) {
    const std::string why = "the calibration's results cannot be read: " + error;
    ctx.log.system(why);
    ctx.end(JobOutcome::kFailed, why);
    return false;
  }
  for (const auto& times : *parsed) ctx.sink.calibration(ctx.next_key(), times);
  return true;
}

}  // namespace yardstick
