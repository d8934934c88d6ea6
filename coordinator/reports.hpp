// Reports: the files of sql/reports, built in, and the translation of
// their psql variables into query parameters, so that one file runs
// unchanged in psql (`psql -v name=value -f`) and through `yardstick
// report` / `yardstick compare`. The library yardstick_reports: the
// coordinator runs them, the CLI lists and explains them; it needs nothing
// but the standard library.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace yardstick {

// Report name (file name without .sql) -> its text.
const std::map<std::string, std::string>& reports();

struct TranslatedReport {
  std::string sql;                  // with $1, $2, ... for the variables
  std::vector<std::string> params;  // their values, as text
};

// Translates psql syntax: `\set NAME VALUE` lines give defaults, other
// backslash lines are dropped, :'NAME' and :NAME become parameters
// (:'NAME' is text; :NAME is a number: its value must be one), and
// :{?NAME} tests are resolved. Returns false and sets `error` when a
// variable is missing or a number is not one.
bool translate_report(const std::string& text, const std::map<std::string, std::string>& vars,
                      TranslatedReport* out, std::string* error);

// The variables a report reads, by name, with the default its `\set` lines
// give (empty when it has none; such a variable is required unless the
// report tests it with :{?NAME}).
struct ReportVariable {
  std::string name;
  std::string default_value;
  bool has_default = false;
  bool optional = false;  // tested with :{?NAME}
};
std::vector<ReportVariable> report_variables(const std::string& text);

// The report's leading comment block, without the comment marks.
std::string report_description(const std::string& text);

}  // namespace yardstick
