// A job of kind "deploy": its checkout (when it has a repository), then one
// step that runs `SELF deploy` (agent/deploy_process.hpp) without a shell,
// so that a cancel's SIGTERM reaches it first and it can report how far it
// got. Its phases and its result are read from the events file it appends
// to while it runs, and once more when it ended.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/job_context.hpp"
#include "common/command.hpp"
#include "common/deploy_spec.hpp"

namespace yardstick {

class DeployJob {
 public:
  explicit DeployJob(JobContext& context);

  // Writes the deploy's job file and appends its step to `steps`. False
  // (the job ended) when the job has no deploy section, the agent does not
  // know its own program, or the file cannot be written.
  bool prepare(std::vector<StepSpec>* steps);
  // How the deploy step's process starts: the agent's program, directly.
  DirectCommand command() const;

  // While the deploy step runs: reads the events file every kPollMs.
  void poll(int64_t now_ms);
  // The steady time (ms) of the next read; INT64_MAX before prepare().
  int64_t next_poll_ms() const;
  // The deploy step ended: reads what is left and returns how the deploy
  // ended; when the process said nothing (killed, broken), a failure with
  // the job's forced message (or "ended without a result") is reported for it.
  const DeployReport& finish();
  // Removes the job file and the events file.
  void remove_files();

  static constexpr int64_t kPollMs = 250;

 private:
  // Reports the deploy's new phases and its result (once), masked.
  void read_events();

  JobContext& ctx_;
  std::string job_file_;
  std::string events_;  // "" until prepare() got that far
  size_t offset_ = 0;
  int64_t next_poll_ms_ = 0;
  std::optional<DeployReport> report_;  // its result, once read
};

}  // namespace yardstick
