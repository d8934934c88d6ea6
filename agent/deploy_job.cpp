#include "agent/deploy_job.hpp"

#include <filesystem>

#include "agent/checkout.hpp"
#include "agent/deploy_process.hpp"

namespace yardstick {

namespace fs = std::filesystem;

DeployJob::DeployJob(JobContext& context) : ctx_(context) {}

bool DeployJob::prepare(std::vector<StepSpec>* steps) {
  if (!ctx_.job.deploy) {
    const std::string why = "a deploy job without its deploy section";
    ctx_.log.system("refused: " + why);
    ctx_.end(JobOutcome::kFailed, "refused by the agent: " + why);
    return false;
  }
  const std::string& self = ctx_.options.self_exe;
  if (self.empty()) {
    ctx_.log.system("this agent does not know its own program: it cannot deploy");
    ctx_.end(JobOutcome::kFailed, "the agent cannot find its own program to deploy");
    return false;
  }
  job_file_ = ctx_.workspace + ".deploy";
  events_ = ctx_.workspace + ".deploy-events";
  std::error_code ec;
  fs::remove(events_, ec);
  std::string error;
  if (!write_job_file(job_file_, ctx_.job, &error)) {
    ctx_.log.system(error);
    ctx_.end(JobOutcome::kFailed, "cannot start the deploy: " + error);
    return false;
  }
  steps->push_back({"deploy",
                    shell_quote(self) + " deploy --job " + shell_quote(job_file_) + " --events " +
                        shell_quote(events_),
                    {},
                    true,
                    0,
                    {},
                    {}});
  return true;
}

DirectCommand DeployJob::command() const {
  const std::string& self = ctx_.options.self_exe;
  return DirectCommand{self, {self, "deploy", "--job", job_file_, "--events", events_}};
}

void DeployJob::poll(int64_t now_ms) {
  if (events_.empty() || now_ms < next_poll_ms_) return;
  next_poll_ms_ = now_ms + kPollMs;
  read_events();
}

int64_t DeployJob::next_poll_ms() const {
  return events_.empty() ? INT64_MAX : next_poll_ms_;
}

void DeployJob::read_events() {
  if (events_.empty()) return;
  std::vector<std::string> warnings;
  for (auto& e : read_deploy_events(events_, &offset_, &warnings)) {
    if (e.phase) {
      e.phase->name = ctx_.masker.mask(e.phase->name);
      e.phase->detail = ctx_.masker.mask(e.phase->detail);
      ctx_.sink.deploy_phase(ctx_.next_key(), *e.phase);
    } else if (e.result && !report_) {
      e.result->message = ctx_.masker.mask(e.result->message);
      e.result->old_version = ctx_.masker.mask(e.result->old_version);
      e.result->new_version = ctx_.masker.mask(e.result->new_version);
      report_ = *e.result;
      ctx_.sink.deploy_result(ctx_.next_key(), *report_);
    }
  }
  for (const auto& w : warnings) ctx_.log.system("warning: " + w);
}

const DeployReport& DeployJob::finish() {
  read_events();
  if (!report_) {
    // Killed or broken before it could say how it ended: say it for it.
    DeployReport d;
    d.outcome = DeployOutcome::kFailed;
    d.message = ctx_.forced ? ctx_.forced_message : "the deploy process ended without a result";
    report_ = d;
    ctx_.sink.deploy_result(ctx_.next_key(), d);
  }
  return *report_;
}

void DeployJob::remove_files() {
  if (events_.empty()) return;
  std::error_code ec;
  fs::remove(events_, ec);
  fs::remove(job_file_, ec);
}

}  // namespace yardstick
