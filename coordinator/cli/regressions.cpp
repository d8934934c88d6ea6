#include <iostream>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "coordinator/cli/commands.hpp"

namespace yardstick {

int cmd_regressions(const Options& o, const std::string& pipeline, const std::string& since,
                    int last, Format format) {
  if (!since.empty() && !std::regex_match(since, std::regex(R"(\d{4}-\d{2}-\d{2})"))) {
    std::cerr << "yardstick: --since takes a date, YYYY-MM-DD, not '" << since << "'\n";
    return kUsage;
  }
  std::vector<std::string> vars = {"pipeline_name=" + pipeline, "last=" + std::to_string(last)};
  if (!since.empty()) vars.push_back("since=" + since);
  // One sentence a change point, newest first.
  auto sentences = [&](const std::vector<std::string>& columns,
                       const std::vector<std::vector<std::string>>& rows) {
    if (rows.empty()) {
      std::cout << "no change points"
                << (pipeline.empty() ? std::string() : " in pipelines named '" + pipeline + "'")
                << (since.empty() ? std::string() : " found since " + since)
                << " (`yardstick report regressions -v pipeline_name=NAME` compares the last two "
                   "revisions run by run)\n";
      return;
    }
    for (const auto& row : rows) {
      std::map<std::string, std::string> c;
      for (size_t i = 0; i < columns.size() && i < row.size(); ++i) c[columns[i]] = row[i];
      auto rev = [&](const std::string& r, const std::string& id) {
        return (r.empty() ? std::string("pipeline") : r) + " (#" + id + ")";
      };
      std::cout << c["pipeline"] << " " << c["job"] << " " << c["kind"] << " " << c["what"]
                << " on " << c["machine"] << ": " << c["direction"] << " "
                << (c["change_pct"].rfind('-', 0) == 0 ? "" : "+") << c["change_pct"] << " % ("
                << c["median_before"] << " → " << c["median_after"] << " " << c["unit"]
                << ", interval " << c["low_pct"] << " … " << c["high_pct"] << " %, p "
                << c["p_value"] << ") between " << rev(c["last_good"], c["last_good_pipeline"])
                << " and " << rev(c["first_bad"], c["first_bad_pipeline"]) << "; " << c["machines"]
                << " machines" << (c["note"].empty() ? std::string() : "; " + c["note"])
                << (c["bisected"].empty()         ? std::string()
                    : c["bisection"] == "running" ? "\n  bisecting: " + c["bisected"]
                                                  : "\n  bisected: " + c["bisected"])
                << "\n";
    }
  };
  return cmd_report(o, "change_points", vars, format, {}, sentences);
}

}  // namespace yardstick
