#include "agent/job_context.hpp"

#include <cstdio>
#include <map>
#include <random>

#include "common/checkout.hpp"
#include "common/command.hpp"

namespace yardstick {

namespace {
// "YARDSTICK_RUN_TAG=JOB.ATTEMPT.RANDOM": unique to this run of the attempt.
std::string make_run_tag(uint64_t job_id, uint32_t attempt) {
  std::random_device rd;
  char random[17];
  std::snprintf(random, sizeof random, "%016llx",
                static_cast<unsigned long long>((uint64_t(rd()) << 32) | rd()));
  return "YARDSTICK_RUN_TAG=" + std::to_string(job_id) + "." + std::to_string(attempt) + "." +
         random;
}
}  // namespace

JobContext::JobContext(JobAssignment job_in, RunnerOptions options_in, ProcessLauncher& launcher,
                       const Clock& clock_in, ResultSink& sink_in, JobEnd end_in)
    : job(std::move(job_in)),
      options(std::move(options_in)),
      clock(clock_in),
      sink(sink_in),
      keys(JobRef{job.job_id, job.attempt}),
      tag(make_run_tag(job.job_id, job.attempt)),
      log(sink, keys, clock, masker, options.log_flush_ms, options.log_chunk_bytes),
      executor(launcher, clock, log, masker, tag, options.kill_grace_ms, job.bench.has_value()),
      metrics(sink, keys, log, masker),
      end(std::move(end_in)) {
  for (const auto& [name, value] : options.secrets_file) masker.add(value);
  if (auto secret = url_secret(job.checkout_repo)) masker.add(*secret);
}

std::vector<std::string> JobContext::step_env(const StepSpec& step) const {
  // Not the agent's whole environment: its allow-listed part.
  std::map<std::string, std::string> env = options.inherited;
  auto own = [&] {
    env["YARDSTICK_JOB_ID"] = std::to_string(job.job_id);
    env["YARDSTICK_ATTEMPT"] = std::to_string(job.attempt);
    env["YARDSTICK_PIPELINE_ID"] = std::to_string(job.pipeline_id);
    env["YARDSTICK_PIPELINE"] = job.pipeline_name;
    env["YARDSTICK_JOB"] = job.job_name;
    env["YARDSTICK_REVISION"] = job.revision;
    env["YARDSTICK_BRANCH"] = job.branch;
    env["YARDSTICK_AGENT"] = options.agent_name;
    env["YARDSTICK_WORKSPACE"] = workspace;
    env["YARDSTICK_METRICS"] = metrics.file();
  };
  // First, so that the pipeline's values can refer to them: ${YARDSTICK_WORKSPACE}, ${TOKEN}.
  own();
  for (const auto& [k, v] : secret_env) env[k] = v;
  for (const auto& [k, v] : job.env) env[k] = expand_vars(v, env);
  for (const auto& [k, v] : step.env) env[k] = expand_vars(v, env);
  for (const auto& [k, v] : secret_env) env[k] = v;
  own();
  std::vector<std::string> out;
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  out.push_back(tag);
  return out;
}

bool JobContext::workdir_allowed() {
  if (workdir_checked_ || options.allow_absolute_workdir || job.workdir.empty()) return true;
  // After the checkout: a symbolic link of the repository may lead out.
  if (!resolves_inside(workspace, cwd)) {
    const std::string why =
        "the workdir '" + job.workdir + "' leads out of the workspace through a symbolic link";
    log.system("refused: " + why);
    end(JobOutcome::kFailed, "refused by the agent: " + why);
    return false;
  }
  workdir_checked_ = true;
  return true;
}

bool JobContext::spawn(ProcessSpec spec) {
  const std::string what = spec.what;
  std::string error;
  if (executor.spawn(std::move(spec), &error)) return true;
  end(JobOutcome::kFailed, what + " could not start: " + error);
  return false;
}

}  // namespace yardstick
