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

// Whether report `name` with `vars` is computed here.
bool is_computed_report(const std::string& name, const std::map<std::string, std::string>& vars);

// Computes it into `out`; returns "" or what is wrong with the variables.
std::string run_computed_report(const std::string& name,
                                const std::map<std::string, std::string>& vars,
                                const ReportQuery& query, ReportTable* out);

}  // namespace yardstick
