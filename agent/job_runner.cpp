#include "agent/job_runner.hpp"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "agent/bench_job.hpp"
#include "agent/calibrate_job.hpp"
#include "agent/deploy_job.hpp"
#include "common/checkout.hpp"
#include "common/command.hpp"

namespace yardstick {

namespace fs = std::filesystem;

JobRunner::JobRunner(JobAssignment job, RunnerOptions options, ProcessLauncher& launcher,
                     const Clock& clock, ResultSink& sink)
    : ctx_(std::move(job), std::move(options), launcher, clock, sink,
           [this](JobOutcome outcome, const std::string& message) { end_job(outcome, message); }) {}

JobRunner::~JobRunner() = default;

std::string JobRunner::workspace_path(const std::string& home, uint64_t job_id, uint32_t attempt) {
  return home + "/work/" + std::to_string(job_id) + "-" + std::to_string(attempt);
}

bool JobRunner::resolve_secrets() {
  std::string missing;
  for (const auto& name : ctx_.job.secrets) {
    auto it = ctx_.options.secrets_file.find(name);
    if (it == ctx_.options.secrets_file.end()) {
      it = ctx_.options.environment.find(name);
      if (it == ctx_.options.environment.end()) {
        missing += (missing.empty() ? "" : ", ") + name;
        continue;
      }
    }
    ctx_.secret_env[name] = it->second;
    ctx_.masker.add(it->second);
  }
  if (missing.empty()) return true;
  const std::string why = "this agent has no secret " + missing +
                          " (neither in its secrets file nor in its environment); no step ran";
  ctx_.log.system(why);
  end_job(JobOutcome::kFailed, why);
  return false;
}

bool JobRunner::prepare() {
  const JobAssignment& job = ctx_.job;
  // Refused before anything is made or started: the coordinator may not
  // have checked (or may not be trusted to).
  std::string refused;
  if (!job.checkout_repo.empty()) refused = repository_problem(job.checkout_repo);
  if (refused.empty()) refused = revision_problem(job.revision);
  if (refused.empty()) refused = workdir_problem(job.workdir, ctx_.options.allow_absolute_workdir);
  if (!refused.empty()) {
    ctx_.log.system("refused: " + refused);
    end_job(JobOutcome::kFailed, "refused by the agent: " + refused);
    return false;
  }
  if (!resolve_secrets()) return false;
  const std::string work = workspace_path(ctx_.options.home, job.job_id, job.attempt);
  std::error_code ec;
  fs::remove_all(work, ec);
  fs::create_directories(work, ec);
  if (ec) {
    ctx_.log.system("cannot create the workspace " + work + ": " + ec.message());
    end_job(JobOutcome::kFailed, "cannot create the workspace: " + ec.message());
    return false;
  }
  ctx_.workspace = work;
  fresh_workspace_ = true;
  ctx_.metrics.set_file(work + ".metrics");
  fs::remove(ctx_.metrics.file(), ec);
  ctx_.cwd = job_cwd(ctx_.workspace, job.workdir);
  return true;
}

void JobRunner::start() {
  const int64_t now = ctx_.clock.steady_ms();
  if (take_host(now)) {
    begin();
    return;
  }
  waiting_host_ = true;
  waiting_since_ms_ = now;
  next_host_try_ms_ = now + kHostTryMs;
  const std::string holder = ctx_.options.host_lock->holder();
  ctx_.log.system("waiting for the host: another measurement holds " +
                  ctx_.options.host_lock->path() + (holder.empty() ? "" : " (" + holder + ")"));
}

bool JobRunner::take_host(int64_t now_ms) {
  HostLock* lock = ctx_.options.host_lock;
  if (!lock || !lock->enabled() || !needs_host_lock(ctx_.job)) return true;
  std::string error;
  const JobAssignment& job = ctx_.job;
  host_hold_ = lock->try_acquire(
      "agent " + ctx_.options.agent_name + ", job " + std::to_string(job.job_id) + " attempt " +
          std::to_string(job.attempt) + " (" + job.pipeline_name + " / " + job.job_name + ")",
      &error);
  if (!error.empty()) {
    // Better measured unlocked, and said, than never run.
    ctx_.log.system(error + "; running without the host lock");
    return true;
  }
  if (host_hold_ && waiting_host_) {
    char waited[32];
    std::snprintf(waited, sizeof waited, "%.1f", (now_ms - waiting_since_ms_) / 1000.0);
    ctx_.log.system(std::string("the host is free after ") + waited + " s of waiting; starting");
  }
  return host_hold_ != nullptr;
}

void JobRunner::begin() {
  if (!prepare()) return;
  const JobAssignment& job = ctx_.job;
  const auto checkout = [&] {
    if (!job.checkout_repo.empty())
      steps_.push_back(
          {"checkout",
           checkout_script(ctx_.options.home, job.checkout_repo, job.revision, ctx_.workspace),
           {},
           true,
           0,
           {},
           {}});
  };
  if (job.kind == JobKind::kCalibrate) {
    if (!prepare_calibration(ctx_, &steps_)) return;
  } else if (job.kind == JobKind::kDeploy) {
    checkout();
    deploy_ = std::make_unique<DeployJob>(ctx_);
    if (!deploy_->prepare(&steps_)) return;
  } else {
    checkout();
    for (const auto& s : job.steps) steps_.push_back(s);
  }
  if (job.timeout_ms) job_deadline_ms_ = ctx_.clock.steady_ms() + job.timeout_ms;
  if (steps_.empty())
    start_bench();
  else
    start_step(0);
}

void JobRunner::start_step(size_t index) {
  step_ = index;
  const StepSpec& step = steps_[index];
  // The checkout step runs in the workspace; the job's steps in its workdir.
  const bool is_checkout = !ctx_.job.checkout_repo.empty() && index == 0;
  ProcessSpec spec;
  spec.cwd = is_checkout ? ctx_.workspace : ctx_.cwd;
  if (!is_checkout) {
    if (!ctx_.workdir_allowed()) return;
    std::error_code ec;
    fs::create_directories(spec.cwd, ec);
  }
  spec.env = ctx_.step_env(step);
  ctx_.metrics.start(step.collect, spec.env, spec.cwd);
  spec.started_at_us = ctx_.clock.unix_us();
  ctx_.sink.step_started(ctx_.next_key(), static_cast<uint32_t>(index), step.name,
                         spec.started_at_us);
  if (deploy_ && index + 1 == steps_.size()) {
    spec.direct = deploy_->command();
  } else {
    // A plain command (words naming a program, no shell syntax) starts
    // without a shell, as a benchmark's does under shell: auto: the same
    // process, a millisecond and two executables sooner.
    std::string ignored;
    spec.direct =
        direct_command(step.run, ShellMode::kAuto, search_path(spec.env), spec.cwd, &ignored);
  }
  spec.command = step.run;
  spec.what = "step " + step.name;
  spec.measured = step.timed;
  if (!ctx_.spawn(std::move(spec))) return;
  // Its output belongs to it until it ends.
  ctx_.log.set_step(static_cast<int32_t>(index));
  step_timed_out_ = false;
  step_deadline_ms_ = step.timeout_ms ? ctx_.clock.steady_ms() + step.timeout_ms : 0;
}

bool JobRunner::on_exit(const ExitInfo& exit) {
  if (!ctx_.executor.owns(exit.pid)) return false;
  finish_step(exit);
  return true;
}

void JobRunner::finish_step(const ExitInfo& exit) {
  StepResult r = ctx_.executor.finish(exit);
  ctx_.log.set_step(-1);
  step_deadline_ms_ = 0;
  if (bench_ && bench_->running()) {
    bench_->finish(std::move(r));
    return;
  }
  const StepSpec& step = steps_[step_];
  r.index = static_cast<uint32_t>(step_);
  r.name = step.name;
  r.command = ctx_.masker.mask(mask_url_credentials(step.run));
  r.timed = step.timed;
  r.timed_out = step_timed_out_;
  if (step_ == 0 && !ctx_.job.checkout_repo.empty() && r.exit_code == 0) {
    // The commit that ran, whatever the submitter named (a branch, HEAD, nothing).
    std::ifstream in(ctx_.workspace + ".revision");
    std::getline(in, r.revision);
    std::error_code ec;
    fs::remove(ctx_.workspace + ".revision", ec);
  }
  ctx_.log.flush_all();
  ctx_.sink.step_finished(ctx_.next_key(), r);
  ctx_.metrics.finish(static_cast<int32_t>(step_), "", -1);

  const bool deploy_step = deploy_ && step.name == "deploy";
  const DeployReport* deploy = deploy_step ? &deploy_->finish() : nullptr;
  if (ctx_.forced) {
    end_job(*ctx_.forced, ctx_.forced_message);
  } else if (deploy && deploy->outcome != DeployOutcome::kSucceeded) {
    end_job(JobOutcome::kFailed, deploy->message);
  } else if (r.exit_code != 0) {
    const char* sig = r.signal ? sigabbrev_np(r.signal) : nullptr;
    std::string how = r.signal ? "was killed by " + (sig ? "SIG" + std::string(sig)
                                                         : "signal " + std::to_string(r.signal))
                               : "exited with " + std::to_string(r.exit_code);
    ctx_.log.system("step " + step.name + " " + how);
    end_job(JobOutcome::kFailed, "step " + step.name + " " + how);
  } else if (step_ + 1 < steps_.size()) {
    start_step(step_ + 1);
  } else if (ctx_.job.kind == JobKind::kCalibrate) {
    if (report_calibration(ctx_)) end_job(JobOutcome::kSucceeded, "");
  } else {
    start_bench();
  }
}

void JobRunner::start_bench() {
  if (!ctx_.job.bench) {
    end_job(JobOutcome::kSucceeded, "");
    return;
  }
  bench_ = std::make_unique<BenchJob>(ctx_);
  bench_->start();
}

void JobRunner::cancel(const std::string& reason, JobOutcome outcome) {
  if (done_) return;
  if (!ctx_.forced || outcome == JobOutcome::kLost) {
    ctx_.forced = outcome;
    ctx_.forced_message = reason.empty() ? "cancelled" : reason;
  }
  if (!ctx_.executor.running()) {
    end_job(*ctx_.forced, ctx_.forced_message);
    return;
  }
  ctx_.executor.begin_kill("cancelled (" + ctx_.forced_message + ")");
}

void JobRunner::tick() {
  if (done_) return;
  const int64_t now = ctx_.clock.steady_ms();
  ctx_.log.flush_due(now);
  if (waiting_host_ && now >= next_host_try_ms_) {
    next_host_try_ms_ = now + kHostTryMs;
    if (take_host(now)) {
      waiting_host_ = false;
      begin();
    }
    return;
  }
  if (!ctx_.executor.running()) return;
  if (deploy_ && !(bench_ && bench_->running())) deploy_->poll(now);
  const auto time_out = [&](const std::string& message) {
    ctx_.forced = JobOutcome::kTimedOut;
    step_timed_out_ = true;
    ctx_.forced_message = message;
    ctx_.executor.begin_kill(message);
  };
  if (!ctx_.forced && step_deadline_ms_ && now >= step_deadline_ms_)
    time_out("step " + steps_[step_].name + " exceeded its timeout of " +
             std::to_string(steps_[step_].timeout_ms) + " ms");
  if (!ctx_.forced && job_deadline_ms_ && now >= job_deadline_ms_)
    time_out("job exceeded its timeout of " + std::to_string(ctx_.job.timeout_ms) + " ms");
  ctx_.executor.tick(now);
}

int64_t JobRunner::next_deadline_ms() const {
  int64_t next = ctx_.log.next_flush_ms();
  if (waiting_host_) next = std::min(next, next_host_try_ms_);
  if (ctx_.executor.running()) {
    if (deploy_) next = std::min(next, deploy_->next_poll_ms());
    if (step_deadline_ms_) next = std::min(next, step_deadline_ms_);
    if (job_deadline_ms_) next = std::min(next, job_deadline_ms_);
    next = std::min(next, ctx_.executor.next_kill_ms());
  }
  return next;
}

void JobRunner::end_job(JobOutcome outcome, const std::string& message) {
  // No process of this job outlives it: not the group, not a setsid daemon.
  ctx_.executor.kill_leftovers();
  std::error_code ec;
  if (fresh_workspace_) fs::remove_all(ctx_.workspace, ec);
  if (!ctx_.metrics.file().empty()) fs::remove(ctx_.metrics.file(), ec);
  if (deploy_) deploy_->remove_files();
  ctx_.log.flush_all();
  done_ = true;
  waiting_host_ = false;
  host_hold_.reset();  // the next measurement of the host may start
  ctx_.sink.job_finished(ctx_.next_key(), outcome, ctx_.masker.mask(mask_url_credentials(message)),
                         ctx_.clock.unix_us());
}

}  // namespace yardstick
