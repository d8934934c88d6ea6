#include <iostream>
#include <string>
#include <vector>

#include "coordinator/cli/commands.hpp"

namespace yardstick {

int cmd_metrics(const Options& o, const MetricsArgs& args, Format format) {
  if ((args.pipeline == 0) == args.pipeline_name.empty()) {
    std::cerr << "yardstick: metrics needs a PIPELINE id or --pipeline NAME (one of them)\n";
    return kUsage;
  }
  if (args.pipeline && !args.job.empty()) {
    std::cerr << "yardstick: --job narrows metrics --pipeline NAME; a pipeline's metrics are "
                 "listed by job already\n";
    return kUsage;
  }
  const std::string which = args.metric.empty() ? "" : " starting '" + args.metric + "'";
  if (args.pipeline) {
    const std::string id = std::to_string(args.pipeline);
    return cmd_report(o, "metrics", {"pipeline=" + id, "metric=" + args.metric}, format,
                      [&](const auto&, const auto& rows) -> std::string {
                        return rows.empty() ? "pipeline " + id + " has no metrics" + which +
                                                  " (no such pipeline, or no step wrote to "
                                                  "$YARDSTICK_METRICS and no collector ran)"
                                            : "";
                      });
  }
  return cmd_report(o, "metric_history",
                    {"pipeline_name=" + args.pipeline_name, "job=" + args.job,
                     "metric=" + args.metric, "last=" + std::to_string(args.last)},
                    format, [&](const auto&, const auto& rows) -> std::string {
                      return rows.empty()
                                 ? "no metrics" + which + " in the last " +
                                       std::to_string(args.last) + " pipelines named '" +
                                       args.pipeline_name + "'" +
                                       (args.job.empty() ? "" : " (job '" + args.job + "')")
                                 : "";
                    });
}

}  // namespace yardstick
