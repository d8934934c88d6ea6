// Comparisons computed from samples, with the code that judges a benchmark
// at job end (common/stats, evaluate.hpp), rather than read from stored
// verdicts: `compare --revisions` always (revision_samples.sql gives the
// runs), `compare PIPELINE --drop-contended` (variant_samples.sql). They
// answer as reports do, by name and psql-style variables, so that the CLI
// and `yardstick report` reach them alike. Pure: the queries are passed in.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace yardstick {

struct ReportTable {
  std::vector<std::string> columns;
  std::vector<std::string> kinds;  // "integer", "number", "boolean" or "text" per column
  std::vector<std::vector<std::string>> rows;
  std::vector<std::vector<bool>> nulls;  // per row and column
};

// Runs report file `report` (sql/reports, without .sql) with `vars`.
// Throws as the store does; a bad variable throws std::invalid_argument.
using ReportQuery = std::function<ReportTable(const std::string& report,
                                              const std::map<std::string, std::string>&)>;

// The comparison `compare --revisions` makes, of sample rows shaped as
// revision_samples.sql's (machine, benchmark, side "a" or "b", wall_s,
// cpu_s, instructions, contended): one row per machine and benchmark with
// both sides, B against A (ratio above 1: B is slower), in the query's order.
// Columns: machine, benchmark, measure, n_a, n_b, median_a_s, median_b_s,
// ratio, ci_low, ci_high, p_value, verdict, mde_pct, runs_for_2pct,
// contended, method, detail.
void compare_revision_samples(const ReportTable& samples, const std::string& measure, double alpha,
                              double noise_floor, bool drop_contended, ReportTable* out);

// Whether report `name` with `vars` is computed here.
bool is_computed_report(const std::string& name, const std::map<std::string, std::string>& vars);

// Computes it into `out`; returns "" or what is wrong with the variables.
std::string run_computed_report(const std::string& name,
                                const std::map<std::string, std::string>& vars,
                                const ReportQuery& query, ReportTable* out);

}  // namespace yardstick
