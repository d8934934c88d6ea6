#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "coordinator/cli/commands.hpp"

namespace yardstick {

int cmd_compare(const Options& o, const CompareArgs& args, Format format) {
  if (args.machines && (!args.measure.empty() || args.drop_contended)) {
    std::cerr << "yardstick: compare --machines compares stored wall-time medians: "
                 "--measure and --drop-contended apply to variants and revisions\n";
    return kUsage;
  }
  // Said below a table; in JSON, CSV and Markdown each row's detail or
  // warnings say it.
  const bool note = args.drop_contended && format == Format::kTable;
  std::vector<std::string> judged;
  if (!args.measure.empty()) judged.push_back("measure=" + args.measure);
  if (args.drop_contended) judged.push_back("drop_contended=1");
  if (!args.pipeline_name.empty() && !args.machines && args.revisions.empty()) {
    std::cerr << "yardstick: --pipeline NAME scopes compare --machines and --revisions; a "
                 "pipeline's variants are compared by its id (yardstick compare ID)\n";
    return kUsage;
  }
  // Whose jobs: the job's name, in pipelines of one name when given.
  const std::string scope =
      "job '" + args.job + "'" +
      (args.pipeline_name.empty() ? "" : " of pipeline '" + args.pipeline_name + "'");
  if (!args.pipeline_name.empty()) judged.push_back("pipeline_name=" + args.pipeline_name);
  if (args.machines || !args.revisions.empty()) {
    if (args.job.empty()) {
      std::cerr << "yardstick: compare --machines and --revisions need --job NAME\n";
      return kUsage;
    }
    if (args.machines) {
      std::vector<std::string> vars = {"job=" + args.job, "last=" + std::to_string(args.last)};
      if (!args.reference.empty()) vars.push_back("reference=" + args.reference);
      if (!args.pipeline_name.empty()) vars.push_back("pipeline_name=" + args.pipeline_name);
      return cmd_report(o, "compare_machines", vars, format,
                        [&](const auto& columns, const auto& rows) -> std::string {
                          if (rows.empty())
                            return "no benchmark results of " + scope + " in the last " +
                                   std::to_string(args.last) + " pipelines";
                          if (args.reference.empty()) return "";
                          size_t col = 0;
                          while (col < columns.size() && columns[col] != "machine") ++col;
                          std::set<std::string> machines;
                          for (const auto& r : rows)
                            if (col < r.size()) machines.insert(r[col]);
                          if (machines.count(args.reference)) return "";
                          std::string list;
                          for (const auto& m : machines) list += (list.empty() ? "" : ", ") + m;
                          return "no machine named '" + args.reference + "' ran " + scope +
                                 " (machines: " + list + ")";
                        });
    }
    std::vector<std::string> vars = {"job=" + args.job, "rev_a=" + args.revisions[0],
                                     "rev_b=" + args.revisions[1]};
    vars.insert(vars.end(), judged.begin(), judged.end());
    const int rc = cmd_report(
        o, "compare_revisions", vars, format, [&](const auto&, const auto& rows) -> std::string {
          return rows.empty() ? "no benchmark results of " + scope + " at revisions starting " +
                                    args.revisions[0] + " and " + args.revisions[1]
                              : "";
        });
    if (rc == kOk && note)
      std::cout << "samples taken under contention left out (--drop-contended)\n";
    return rc;
  }
  if (args.pipeline == 0) {
    std::cerr << "yardstick: compare needs a PIPELINE id, --machines or --revisions\n";
    return kUsage;
  }
  std::vector<std::string> vars = {"pipeline=" + std::to_string(args.pipeline)};
  vars.insert(vars.end(), judged.begin(), judged.end());
  const int rc = cmd_report(
      o, "compare_variants", vars, format, [&](const auto&, const auto& rows) -> std::string {
        return rows.empty()
                   ? "pipeline " + std::to_string(args.pipeline) + " has no benchmark results" +
                         (args.measure.empty() ? "" : " in measure " + args.measure) +
                         " (no such pipeline, no bench job, or not "
                         "finished)"
                   : "";
      });
  if (rc == kOk && note)
    std::cout << "recomputed from the samples without those taken under contention "
                 "(--drop-contended): not the stored verdicts\n";
  return rc;
}

}  // namespace yardstick
