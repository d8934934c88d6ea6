#include "agent/step_metrics.hpp"

#include <exception>

namespace yardstick {

StepMetrics::StepMetrics(ResultSink& sink, ResultKeys& keys, JobLog& log,
                         const SecretMasker& masker)
    : sink_(sink), keys_(keys), log_(log), masker_(masker) {}

void StepMetrics::start(const std::vector<std::string>& specs, const std::vector<std::string>& env,
                        const std::string& cwd) {
  collectors_.clear();
  for (const auto& spec : specs) {
    auto c = make_collector(spec, cwd, env);
    if (!c) {
      log_.system("unknown collector '" + spec + "' ignored");
      continue;
    }
    c->before();
    collectors_.push_back(std::move(c));
  }
}

void StepMetrics::finish(int32_t step_index, const std::string& variant, int32_t run_index) {
  std::vector<std::string> warnings;
  std::vector<CollectedMetric> metrics;
  for (auto& c : collectors_) {
    // A collector reads files that other programs wrote: whatever it meets
    // ends as a warning in the job log, never as the agent's end.
    try {
      for (auto& m : c->after(&warnings)) metrics.push_back(std::move(m));
    } catch (const std::exception& e) {
      warnings.push_back(std::string("a collector failed: ") + e.what() + "; no metrics from it");
    }
  }
  collectors_.clear();
  for (auto& m : read_metrics_file(file_, &offset_, &warnings)) metrics.push_back(std::move(m));
  for (const auto& w : warnings) log_.system("warning: " + w);
  for (auto& m : metrics) {
    // Names and units come from what the commands wrote.
    m.name = masker_.mask(m.name);
    m.unit = masker_.mask(m.unit);
    sink_.metric(keys_.next(), step_index, variant, run_index, m);
  }
}

void StepMetrics::skip() {
  std::vector<std::string> ignored;
  read_metrics_file(file_, &offset_, &ignored);
}

}  // namespace yardstick
