#include "coordinator/gate.hpp"

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "common/job_spec.hpp"
#include "common/stats.hpp"

namespace yardstick {

namespace {

std::string times(double ratio) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2fx", ratio);
  return buf;
}

std::string percent(double ratio) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %%", 100 * (ratio - 1));
  return buf;
}

}  // namespace

GateVerdict judge_regression(const GateFacts& facts) {
  if (!facts.found) return {GateVerdict::kUnjudgeable, "the bench job is not in the store"};
  JobAssignment spec;
  try {
    spec = job_spec::from_json(facts.spec_json);
  } catch (const std::exception& e) {
    return {GateVerdict::kUnjudgeable, std::string("its stored spec does not decode: ") + e.what()};
  }
  const BenchSpec bench = spec.bench.value_or(BenchSpec{});
  const std::string baseline = spec.variants.empty() ? "the baseline" : spec.variants[0].name;
  const std::string head = facts.name + " judged slower: ";
  for (const auto& s : facts.slower) {
    if (s.measure != bench.measure) continue;
    return {GateVerdict::kRegressed, head + "variant " + s.variant + " " + times(s.ratio) +
                                         " slower than " + baseline + " (" +
                                         interval_label(bench.alpha) + " " + times(s.ci_low) + "-" +
                                         times(s.ci_high) + ", " + s.measure + ")"};
  }
  for (const auto& m : facts.regressed_series) {
    // Come back: the level now is within half the regression of the level
    // before it (an `improved` change point undid most of it).
    if (m.level_before > 0 && m.level_now > 0 &&
        m.level_now / m.level_before <= 1 + (m.ratio - 1) / 2)
      continue;
    auto rev = [](const std::string& r) { return r.empty() ? "(no revision)" : r.substr(0, 12); };
    return {GateVerdict::kRegressed, head + "variant " + m.variant + " on machine " +
                                         facts.machine + " has stayed slower since a change of +" +
                                         percent(m.ratio) + " between " +
                                         rev(m.last_good_revision) + " and " +
                                         rev(m.first_bad_revision) + " (yardstick regressions)"};
  }
  if (facts.previous_revision.empty() || facts.samples.rows.empty()) return {};
  ReportTable compared;
  compare_revision_samples(facts.samples, bench.measure, bench.alpha, bench.noise_floor, false,
                           &compared);
  auto col = [&](const char* name) {
    for (size_t i = 0; i < compared.columns.size(); ++i)
      if (compared.columns[i] == name) return i;
    throw std::logic_error(std::string("revision comparison without column ") + name);
  };
  if (compared.rows.empty()) return {};
  const size_t verdict = col("verdict"), ratio = col("ratio"), lo = col("ci_low"),
               hi = col("ci_high"), what = col("benchmark");
  for (const auto& row : compared.rows) {
    if (row[verdict] != "slower") continue;
    const double r = std::strtod(row[ratio].c_str(), nullptr);
    return {GateVerdict::kRegressed,
            head + row[what] + " " + percent(r) + " slower than revision " +
                facts.previous_revision.substr(0, 12) + " on machine " + facts.machine + " (" +
                interval_label(bench.alpha) + " " + percent(std::strtod(row[lo].c_str(), nullptr)) +
                " to " + percent(std::strtod(row[hi].c_str(), nullptr)) + ", " + bench.measure +
                ")"};
  }
  return {};
}

}  // namespace yardstick
