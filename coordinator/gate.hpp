// The no_regression gate: whether a bench job that succeeded was judged
// significantly slower, so that a job needing it with `no_regression: true`
// is skipped. Pure: the facts come from one store query (PgStore::gate_facts).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "coordinator/comparisons.hpp"
#include "coordinator/job_table.hpp"

namespace yardstick {

// What the store knows of one bench job, for its gate.
struct GateFacts {
  bool found = false;
  std::string name;       // the bench job's
  std::string spec_json;  // its stored spec (jobs.spec): measure, alpha, noise floor, variants
  std::string machine;    // where it ran
  std::string revision;   // its pipeline's revision
  // The revision of the same job's latest earlier run that succeeded on the
  // same machine, in a pipeline of the same name, at another revision; empty: none.
  std::string previous_revision;
  // The bench_results rows of its current attempt whose verdict is "slower".
  struct Slower {
    std::string variant;
    std::string measure;
    double ratio = 1, ci_low = 1, ci_high = 1;
  };
  std::vector<Slower> slower;
  // The newest regression among the change points of each of the job's
  // benchmark series (its variants, in pipelines of the same name, on its
  // machine), with the series' level before it and its level now (after
  // the series' newest change point, which may be a later, smaller move).
  struct Moved {
    std::string variant;
    double ratio = 1;
    std::string last_good_revision, first_bad_revision;
    double level_before = 0, level_now = 0;  // medians; 0: unknown, taken as still moved
  };
  std::vector<Moved> regressed_series;
  // Counted runs of both revisions on that machine, shaped as
  // revision_samples.sql: side "a" the previous revision, "b" this job.
  ReportTable samples;
};

// kRegressed when a variant was judged slower than the baseline in the
// bench's measure (as stored at job end), when one of its series has not
// come back from its newest regression (docs/change-points.md: the level
// now is still above the level before it by more than half of that
// regression; a later small drift either way changes nothing), or when it is
// slower than the previous revision (compare --revisions' computation); kUnjudgeable when the facts
// cannot be read (the job is gone, its spec does not parse): asking again
// would not change that.
GateVerdict judge_regression(const GateFacts& facts);

}  // namespace yardstick
