// Collectors turn what build tools write into metrics: per-crate times from
// cargo's --timings report, per-target times from .ninja_log, and the
// hits, misses and hit rate of sccache and ccache for one step or run.
//
// Each takes a snapshot before the step (before()) and reports the
// difference after it (after()). A missing or malformed input is a warning
// for the job log, never an error.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

namespace yardstick {

struct CollectedMetric {
  std::string name;
  double value = 0;
  std::string unit;
};

class Collector {
 public:
  virtual ~Collector() = default;
  virtual void before() = 0;
  virtual std::vector<CollectedMetric> after(std::vector<std::string>* warnings) = 0;
};

// Runs a tool and returns its standard output ("" when it cannot run).
using CommandRunner = std::string (*)(const std::string& command,
                                      const std::vector<std::string>& env, const std::string& cwd);
std::string run_command(const std::string& command, const std::vector<std::string>& env,
                        const std::string& cwd);

// `spec` is "name" or "name:path" (a path relative to `cwd`); `env` is the
// step's environment (CCACHE_DIR, SCCACHE_DIR... apply).
std::unique_ptr<Collector> make_collector(const std::string& spec, const std::string& cwd,
                                          const std::vector<std::string>& env,
                                          CommandRunner runner = run_command);

// Parsers, exposed for tests.
std::map<std::string, double> parse_ccache_stats(const std::string& print_stats);
// cache hits and misses summed over languages; false when not sccache JSON.
bool parse_sccache_json(const std::string& json, double* hits, double* misses);
// Per-unit durations (seconds) from a cargo timing report (HTML).
bool parse_cargo_timings(const std::string& html, std::vector<CollectedMetric>* out);
// Entries of a .ninja_log (v5), as (target, seconds), from byte `offset` on.
// Entries of a .ninja_log (v5) that are not among `before` (the log's lines
// before the build): this build's, whether ninja appended them or
// recompacted the log first. Null `before`: every entry.
bool parse_ninja_log(const std::string& text, const std::unordered_set<std::string>* before,
                     std::vector<CollectedMetric>* out);

// The metrics file: lines "name value [unit]" appended by steps; reads what
// was added since `*offset`. Malformed lines become warnings.
std::vector<CollectedMetric> read_metrics_file(const std::string& path, size_t* offset,
                                               std::vector<std::string>* warnings);

}  // namespace yardstick
