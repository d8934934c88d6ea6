#include <iostream>
#include <string>
#include <vector>

#include "coordinator/cli/commands.hpp"

namespace yardstick {

int cmd_summary(const Options& o, uint64_t pipeline, Format format) {
  // Every digit the database holds; print_rows rounds for people (tables,
  // the Markdown pasted into pull requests).
  std::vector<std::string> vars = {"pipeline=" + std::to_string(pipeline)};
  return cmd_report(o, "summary", vars, format, [&](const auto&, const auto& rows) -> std::string {
    return rows.empty() ? "pipeline " + std::to_string(pipeline) +
                              " has nothing to summarize (no such pipeline, or "
                              "none of its jobs has ended)"
                        : "";
  });
}

int cmd_pipelines(const Options& o, const std::string& name, int last, Format format) {
  std::vector<std::string> vars = {"last=" + std::to_string(last)};
  if (!name.empty()) vars.push_back("name=" + name);
  return cmd_report(o, "pipelines", vars, format);
}

}  // namespace yardstick
