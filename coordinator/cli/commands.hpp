// The `yardstick` commands, one file each (submit.cpp, status.cpp, ...);
// app.cpp reads the command line and calls one. Each prints its answer on
// standard output (progress and problems on standard error) and returns an
// exit code below; the client's errors (KeySetupError, BadEndpoint,
// Unreachable, RemoteError) go up to run_cli, which says them and picks
// the code.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "coordinator/cli/options.hpp"
#include "coordinator/cli/output.hpp"

namespace yardstick {

// The exit codes of app.hpp.
constexpr int kOk = 0, kJobsFailed = 1, kUsage = 2, kUnreachable = 3, kRefused = 4;

// Validates the pipeline `file` and the revision, then submits it (signed
// when `signing_key_file` is given). With `wait`, waits for its jobs
// (kJobsFailed unless all succeeded); with `follow`, prints their logs too.
int cmd_submit(const Options& o, const std::string& file, std::string revision, std::string branch,
               bool wait, bool follow, bool quiet, const std::string& signing_key_file);

// A pipeline's status, or one job's.
int cmd_status(const Options& o, uint64_t id);

// A job's log, attempt after attempt, each step and attempt under a
// header; only attempt `attempt` (0: all) and step `step` (empty: all);
// with `follow`, as it comes until the job ends.
int cmd_logs(const Options& o, uint64_t job_id, bool follow, uint32_t attempt,
             const std::string& step);

// The agents: state, slots, machine, labels and calibration.
int cmd_agents(const Options& o);

// Says what is wrong with a report's result (empty: nothing), for the
// commands whose empty answer is a mistake of the asker, not "no data".
using RowsCheck = std::function<std::string(const std::vector<std::string>& columns,
                                            const std::vector<std::vector<std::string>>& rows)>;

// Prints a report's rows in a command's own words (for the table format).
using RowsPrinter = std::function<void(const std::vector<std::string>& columns,
                                       const std::vector<std::vector<std::string>>& rows)>;

// A report's answer: its columns, rows, the columns' kinds and which cells
// are NULL.
struct ReportRows {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> kinds;
  std::vector<std::vector<bool>> nulls;
  // The column named `name`'s index; columns.size() when there is none.
  size_t column(const std::string& name) const {
    for (size_t i = 0; i < columns.size(); ++i)
      if (columns[i] == name) return i;
    return columns.size();
  }
};
// Runs report `name` with `vars` (each NAME=VALUE) on the coordinator and
// returns its answer; throws what Client::call throws.
ReportRows fetch_report(const Options& o, const std::string& name,
                        const std::vector<std::string>& vars);
// Runs report `name` with `vars` (each NAME=VALUE) on the coordinator and
// prints its rows in `format` (with `table`, when given, for kTable);
// kRefused when `check` finds a problem.
int cmd_report(const Options& o, const std::string& name, const std::vector<std::string>& vars,
               Format format, const RowsCheck& check = {}, const RowsPrinter& table = {});

// Lists every report with the first line of its description and its
// variables. Needs no coordinator.
int cmd_report_list(const Options& o);

// The before/after summary of a pipeline (sql/reports/summary.sql): its
// variants, timed steps and budgets per machine; kRefused when there is
// nothing to summarize (no such pipeline, or nothing ended yet).
int cmd_summary(const Options& o, uint64_t pipeline, Format format);

// Recent pipelines (sql/reports/pipelines.sql), of `name` only when set.
int cmd_pipelines(const Options& o, const std::string& name, int last, Format format);

// What `yardstick compare` compares: a pipeline's benchmark variants, each
// against its baseline; or, for one job, machines or two revisions.
struct CompareArgs {
  uint64_t pipeline = 0;               // the variants of this pipeline
  bool machines = false;               // machines side by side, as ratios
  std::vector<std::string> revisions;  // two revisions, or none
  std::string job;                     // with `machines` or `revisions`
  std::string pipeline_name;           // with `machines` or `revisions`: only pipelines of it
  std::string reference;               // the reference machine; empty: first by name
  int last = 10;                       // with `machines`: how many recent pipelines
  std::string measure;                 // "wall", "cpu" or "instructions"; empty: each job's own
  bool drop_contended = false;         // verdicts recomputed without contended samples
};

struct MetricsArgs {
  uint64_t pipeline = 0;      // one pipeline's metrics
  std::string pipeline_name;  // or a metric over the last pipelines of a name
  std::string job;            // with `pipeline_name`: one job's
  std::string metric;         // names starting with it; empty: every one
  int last = 10;              // with `pipeline_name`: how many recent pipelines
};

// The custom metrics ($YARDSTICK_METRICS, collectors) of one pipeline, or
// over the revisions of a pipeline name, in `format`.
int cmd_metrics(const Options& o, const MetricsArgs& args, Format format);

// The change points of every series (or of pipelines named `pipeline`,
// found since `since`, YYYY-MM-DD), newest first: a sentence each, or the
// rows in `format`.
int cmd_regressions(const Options& o, const std::string& pipeline, const std::string& since,
                    int last, Format format);

// Runs the comparison report that `args` asks for and prints it in
// `format`; kUsage for a combination of flags that means nothing, kRefused
// when there is nothing to compare.
int cmd_compare(const Options& o, const CompareArgs& args, Format format);

// What `yardstick bisect` follows, between which revisions, where.
struct BisectArgs {
  std::string pipeline, job;
  std::string kind, what;          // "step", "variant" or "metric", and its name
  std::string good, bad, machine;  // empty: from the series' newest change point
  int runs = 0;                    // per revision; 0: as many as the ends' spread needs
  int max_runs = 30;               // with runs 0: the most a revision may need
  uint64_t max_time_ms = 3'600'000;
};
// Finds the first commit between `good` and `bad` at which the series
// moves, by running the job alone on `machine` (coordinator/cli/bisect.cpp);
// kOk when it names one, kJobsFailed when it could not decide (and says why).
int cmd_bisect(const Options& o, BisectArgs args, Format format);
// Writes a CURVE key pair `out`.key and `out`.pub, or with `signing_pair`
// an Ed25519 pair `out`.sign and `out`.sign.pub. Needs no coordinator.
int cmd_keygen(const Options& o, const std::string& out, bool signing_pair);

// Stops giving jobs to `agent`, or with `undo` gives it jobs again.
int cmd_drain(const Options& o, const std::string& agent, bool undo);

// Queues the calibration of `agent`'s machine; with `wait`, waits for it and
// prints the results (kJobsFailed when it failed).
int cmd_calibrate(const Options& o, const std::string& agent, bool wait);

// Cancels a pipeline's jobs, or one job.
int cmd_cancel(const Options& o, uint64_t id);

}  // namespace yardstick
