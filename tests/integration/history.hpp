// A generated history of results, for the figures on a large database
// (bench/history_bench) and for the tests that a migration or a report
// keeps its rows on a filled one. Everything is made in PostgreSQL with
// generate_series, spread evenly over `months` months up to now.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace yardstick::test {

struct HistoryShape {
  int months = 24;
  int machines = 100;
  int64_t pipelines = 250'000;   // four jobs each: two builds, two benchmarks
  int samples_per_variant = 10;  // two variants a benchmark job
  int metrics_per_build = 10;    // per build job
  int log_lines_per_job = 50;    // one chunk a job
};

// Fills the database at `dsn` (migrated by a coordinator, or by hand to an
// older version) with `shape`'s history: machines hist-m1..N with one agent
// each, pipelines named release-build, nightly-bench, ci and sccache-trial,
// jobs cold-build and test (build: steps checkout, configure, compile; the
// metrics ccache.hit_rate and cargo.crate.*) and bench and bench-linkers
// (variants default and mold, their samples and bench_results), each job
// with its log. `progress` is told each table as it is done.
void generate_history(const std::string& dsn, const HistoryShape& shape,
                      const std::function<void(const std::string&)>& progress = {});

}  // namespace yardstick::test
