// The pipeline file model: YAML in, a validated PipelineDef out.
//
// Validation happens in full before anything is submitted; every problem is
// reported with the file, line, column and the dotted key it concerns.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/deploy_spec.hpp"
#include "common/types.hpp"

namespace yardstick {

struct PipelineError {
  std::string file;
  int line = 0;     // 1-based; 0 when unknown
  int column = 0;   // 1-based; 0 when unknown
  std::string key;  // dotted path, e.g. "jobs.build.steps[1].run"
  std::string message;

  // "file:line:column: key: message"
  std::string to_string() const;
};

// `notify: [{webhook: URL, on: [EVENT, ...]}]`: a URL the coordinator POSTs
// a JSON document to when a job ends with one of the events listed (see
// docs/pipelines.md, Notifications).
struct Webhook {
  std::string url;              // http:// or https://; may carry a token: show it masked
  std::vector<std::string> on;  // events, in the order of notify_events()
  bool operator==(const Webhook&) const = default;
};

// The events a webhook may ask for, most specific first: a job end that
// matches several of a webhook's events is sent once, as the first of them.
const std::vector<std::string>& notify_events();
// What `on` is when omitted.
const std::vector<std::string>& default_notify_events();

struct JobDef {
  std::string name;
  JobKind kind = JobKind::kBuild;
  Labels on_labels;
  bool all_machines = false;  // on.machines: all -> one job per matching machine
  std::vector<std::string> needs;
  // Those of `needs` given as {job: NAME, no_regression: true}: the job is
  // also skipped when that bench job was judged slower (coordinator).
  std::vector<std::string> no_regression_needs;
  // At most one job of this group runs at a time, across all pipelines (the
  // job's `concurrency`, else the pipeline's); empty: none.
  std::string concurrency;
  std::vector<StepSpec> steps;
  uint64_t timeout_ms = 0;  // 0: none
  uint32_t retries = 2;     // extra attempts after a lost agent (Buildkite users set 2)
  int32_t priority = 0;     // higher runs first
  std::string workdir;
  EnvVars env;
  std::vector<std::string> secrets;  // names of values the agent holds (with the pipeline's)
  std::optional<BenchSpec> bench;    // kind bench
  std::vector<Variant> variants;     // kind bench; the first is the baseline
  bool exclusive = false;            // take every slot of the agent (default for bench)
  std::optional<DeploySpec> deploy;  // kind deploy
  std::optional<Budget> budget;
  std::vector<Webhook> notify;  // added to the pipeline's
  // `bisect: auto`: each new regression of this job's series starts
  // `yardstick bisect` between its two revisions (coordinator/auto_bisect.hpp).
  bool bisect_auto = false;
  int line = 0;
};

// The collectors a step or benchmark may name in `collect`.
const std::vector<std::string>& known_collectors();

struct PipelineDef {
  std::string name;
  EnvVars env;
  std::vector<std::string> secrets;  // every job's: names only, the values stay on the agents
  std::string checkout_repo;
  std::string concurrency;      // the group of every job that names none itself
  std::vector<JobDef> jobs;     // in file order
  std::vector<Webhook> notify;  // for every job
  // `budget: {wall: 7m}`: from submission to the last job's end, in ms; 0:
  // none. Judged by the coordinator when the pipeline's last job ends.
  uint64_t budget_wall_ms = 0;

  const JobDef* find_job(std::string_view name) const;
};

// Whether `job` names `need` with no_regression: true.
bool needs_no_regression(const JobDef& job, std::string_view need);
// The webhooks of job `job`: the pipeline's, then the job's own. A URL
// listed at both levels is one webhook with the events of both.
std::vector<Webhook> webhooks_for(const PipelineDef& def, const JobDef& job);

struct PipelineParseResult {
  std::optional<PipelineDef> pipeline;  // set only when `errors` is empty
  std::vector<PipelineError> errors;
  // What is valid but will not do what it is for, said before anything runs:
  // a bench whose run count no test can decide at its alpha (its variants, or
  // its revisions when a no_regression gate compares them), with the count
  // that would (can_decide, runs_to_decide in common/stats.hpp).
  std::vector<PipelineError> warnings;
  bool ok() const { return errors.empty(); }
};

PipelineParseResult parse_pipeline(std::string_view yaml_text, const std::string& file_name);

// What runs for job `job` of `def` at `revision` on `branch`: the spec the
// coordinator assigns, before it adds what is its own to set (job id,
// attempt, pipeline id, the signed submission). One function, so that an
// agent checking a signed job computes exactly what the coordinator did.
JobAssignment assignment_for(const PipelineDef& def, const JobDef& job, const std::string& revision,
                             const std::string& branch);

// "250ms", "2s", "1.5m", "1h", "90d", or a bare number of seconds. nullopt when invalid.
std::optional<uint64_t> parse_duration_ms(std::string_view text);

}  // namespace yardstick
