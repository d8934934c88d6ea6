// Verdicts: the precision-driven run count (with fake timings), the bench
// keys that drive it, verdicts per measure with contention counted, and the
// comparisons the coordinator computes from samples.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "agent/bench_plan.hpp"
#include "common/pipeline.hpp"
#include "common/stats.hpp"
#include "coordinator/comparisons.hpp"
#include "coordinator/evaluate.hpp"

namespace yardstick {
namespace {

// Runs `plan` to its end; counted run r of variant v takes timing(v, r) s.
template <class Timing>
uint32_t run_plan(BenchPlan& plan, Timing timing) {
  uint32_t counted = 0;
  while (auto a = plan.next())
    if (a->kind == BenchAction::Kind::kRun && a->counted) {
      plan.record(*a, timing(a->variant, a->run_index));
      ++counted;
    }
  return counted;
}

BenchSpec precision_spec(double precision, uint32_t max_runs, uint64_t max_time_ms = 0) {
  BenchSpec s;
  s.run = "x";
  s.precision = precision;
  s.max_runs = max_runs;
  s.max_time_ms = max_time_ms;
  s.min_runs = 10;
  return s;
}

TEST(PrecisionPlan, StopsOnceTheIntervalIsWithinThePrecision) {
  // Log noise of 2 % per run, a 3 % slowdown: the interval of the ratio
  // narrows as 1 / sqrt(rounds); it reaches +-1 % long before 1000 rounds.
  std::mt19937_64 rng(5);
  std::normal_distribution<double> noise(0, 0.02);
  BenchPlan plan(precision_spec(0.01, 1000), {{"a", {}, ""}, {"b", {}, ""}}, 42);
  const uint32_t counted = run_plan(
      plan, [&](size_t v, uint32_t) { return 0.03 * (v ? 1.03 : 1) * std::exp(noise(rng)); });
  ASSERT_TRUE(plan.stop_reason());
  EXPECT_EQ(*plan.stop_reason(), StopReason::kPrecision);
  const uint32_t rounds = plan.counted_rounds();
  EXPECT_EQ(counted, 2 * rounds);
  EXPECT_GT(rounds, 10u);
  EXPECT_LT(rounds, 1000u);
  ASSERT_TRUE(plan.interval_half_width());
  EXPECT_LE(*plan.interval_half_width(), 0.01);
  EXPECT_EQ(plan.stop_description().rfind(
                "stopped: precision 1% reached after " + std::to_string(rounds) + " rounds", 0),
            0u)
      << plan.stop_description();
}

TEST(PrecisionPlan, NoiseTooLargeStopsAtMaxRunsAndSaysHowFarItGot) {
  std::mt19937_64 rng(6);
  std::normal_distribution<double> noise(0, 0.2);
  BenchPlan plan(precision_spec(0.01, 40), {{"a", {}, ""}, {"b", {}, ""}}, 1);
  run_plan(plan, [&](size_t, uint32_t) { return 0.03 * std::exp(noise(rng)); });
  ASSERT_TRUE(plan.stop_reason());
  EXPECT_EQ(*plan.stop_reason(), StopReason::kMaxRuns);
  EXPECT_EQ(plan.counted_rounds(), 40u);
  EXPECT_NE(plan.stop_description().find("stopped: max_runs 40 reached, interval +-"),
            std::string::npos)
      << plan.stop_description();
}

TEST(PrecisionPlan, AnIntervalShortOfThePrecisionIsNeverPrintedAsThePrecision) {
  EXPECT_EQ(interval_text(0.0173, 0.01), "1.7 %");
  EXPECT_EQ(interval_text(0.01004, 0), "1.0 %");
  EXPECT_EQ(interval_text(0.01004, 0.01), "1.004 %");
  EXPECT_EQ(interval_text(0.0104, 0.01), "1.04 %");
  EXPECT_EQ(interval_text(0.0100001, 0.01), "1.0000 %");
}

TEST(PrecisionPlan, MaxTimeCountsTheTimedRuns) {
  // 0.5 s a run, two variants: 1 s a round; max_time 12 s: 12 rounds.
  BenchPlan plan(precision_spec(0.001, 0, 12000), {{"a", {}, ""}, {"b", {}, ""}}, 1);
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0, 0.1);
  run_plan(plan, [&](size_t, uint32_t) { return 0.5 * std::exp(noise(rng)) / std::exp(0.0); });
  ASSERT_TRUE(plan.stop_reason());
  EXPECT_EQ(*plan.stop_reason(), StopReason::kMaxTime);
  EXPECT_NEAR(plan.counted_rounds(), 12, 3);
}

TEST(PrecisionPlan, NeverStopsOnPrecisionBeforeMinRuns) {
  // Identical timings: the interval is [1, 1] from the first round on.
  BenchPlan plan(precision_spec(0.01, 100), {{"a", {}, ""}, {"b", {}, ""}}, 1);
  run_plan(plan, [](size_t, uint32_t r) { return 0.01 + r * 1e-4; });
  EXPECT_EQ(*plan.stop_reason(), StopReason::kPrecision);
  EXPECT_EQ(plan.counted_rounds(), 10u);
}

TEST(PrecisionPlan, FixedAndAdaptiveCountsSayWhatEndedThem) {
  BenchSpec s;
  s.run = "x";
  s.runs = 5;
  BenchPlan fixed(s, {{"a", {}, ""}, {"b", {}, ""}}, 1);
  run_plan(fixed, [](size_t, uint32_t) { return 0.1; });
  EXPECT_EQ(*fixed.stop_reason(), StopReason::kRuns);
  s.runs = 0;
  s.max_runs = 20;
  s.max_time_ms = 100000;
  BenchPlan capped(s, {{"a", {}, ""}, {"b", {}, ""}}, 1);
  run_plan(capped, [](size_t, uint32_t) { return 0.1; });
  EXPECT_EQ(*capped.stop_reason(), StopReason::kMaxRuns);
  EXPECT_EQ(capped.stop_description(), "stopped: max_runs 20 reached");
}

PipelineError only_error(const std::string& bench_yaml, const std::string& extra = "") {
  auto r = parse_pipeline("pipeline: p\njobs:\n  b:\n    kind: bench\n    bench: " + bench_yaml +
                              "\n    variants: [{name: x}, {name: y}]\n" + extra,
                          "p.yml");
  EXPECT_EQ(r.errors.size(), 1u) << bench_yaml;
  return r.errors.empty() ? PipelineError{} : r.errors[0];
}

TEST(VerdictKeys, MeasureAndPrecisionAreParsed) {
  auto r = parse_pipeline(R"(pipeline: p
jobs:
  b:
    kind: bench
    bench: { run: "true", runs: auto, precision: 1%, max_runs: 300, measure: cpu }
    variants: [{name: x}, {name: y}]
)",
                          "p.yml");
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].to_string();
  const BenchSpec& b = *r.pipeline->jobs.at(0).bench;
  EXPECT_EQ(b.runs, 0u);
  EXPECT_DOUBLE_EQ(b.precision, 0.01);
  EXPECT_EQ(b.max_runs, 300u);
  EXPECT_EQ(b.max_time_ms, 0u);  // not given: no time bound with a precision
  EXPECT_EQ(b.measure, "cpu");
}

TEST(VerdictKeys, BadValuesNameFileLineAndKey) {
  auto e = only_error(R"({ run: "true", measure: cycles })");
  EXPECT_EQ(e.key, "jobs.b.bench.measure");
  EXPECT_EQ(e.line, 5);
  EXPECT_NE(e.message.find("expected wall, cpu or instructions, not 'cycles'"), std::string::npos);
  e = only_error(R"({ run: "true", runs: auto, precision: lots, max_runs: 50 })");
  EXPECT_EQ(e.key, "jobs.b.bench.precision");
  EXPECT_NE(e.message.find("such as 1%"), std::string::npos);
  e = only_error(R"({ run: "true", runs: auto, precision: 1%, max_runs: 50, interleave: false })");
  EXPECT_EQ(e.key, "jobs.b.bench.precision");
  EXPECT_NE(e.message.find("precision needs interleaved runs"), std::string::npos) << e.message;
  e = only_error(R"({ run: "true", runs: 20, precision: 1%, max_runs: 50 })");
  EXPECT_NE(e.message.find("write runs: auto"), std::string::npos) << e.message;
  e = only_error(R"({ run: "true", runs: auto })");
  EXPECT_EQ(e.key, "jobs.b.bench.runs");
  EXPECT_NE(e.message.find("runs: auto needs a precision"), std::string::npos);
  e = only_error(R"({ run: "true", runs: auto, precision: 1% })");
  EXPECT_NE(e.message.find("needs a bound"), std::string::npos) << e.message;
  auto one = parse_pipeline(
      "pipeline: p\njobs:\n  b:\n    kind: bench\n    bench: { run: x, runs: auto, precision: "
      "0.02, max_runs: 50 }\n",
      "p.yml");
  ASSERT_EQ(one.errors.size(), 1u);
  EXPECT_NE(one.errors[0].message.find("at least two variants"), std::string::npos);
}

std::vector<VariantRuns> two_variants(size_t n, double slowdown, bool instructions) {
  std::vector<VariantRuns> runs(2);
  runs[0].name = "a";
  runs[1].name = "b";
  for (size_t i = 0; i < n; ++i)
    for (size_t v = 0; v < 2; ++v) {
      RunValues r;
      const double f = v ? slowdown : 1;
      r.wall_s = 0.1 * f * (1 + 0.01 * ((i * 7 + v * 3) % 5));
      r.cpu_s = 0.09 * f * (1 + 0.01 * ((i * 3 + v) % 4));
      if (instructions) r.instructions = 1e9 * f + i;
      r.contended = i == 2 || (v == 1 && i == 4);
      runs[v].runs.push_back(r);
    }
  return runs;
}

TEST(VerdictMeasures, OneResultPerMeasureTheSamplesAllowWithContendedCounted) {
  BenchSpec spec;
  std::vector<std::string> notes;
  auto results = evaluate_measures(two_variants(12, 1.2, false), spec, false, &notes);
  ASSERT_EQ(results.size(), 4u);  // wall and cpu; no instructions
  EXPECT_EQ(results[0].measure, "wall");
  EXPECT_EQ(results[2].measure, "cpu");
  EXPECT_EQ(results[0].contended, 1u);
  EXPECT_EQ(results[1].contended, 2u);
  ASSERT_TRUE(results[3].vs_baseline);
  EXPECT_EQ(results[3].vs_baseline->verdict, Verdict::kSlower);
  EXPECT_EQ(results[3].vs_baseline->method, "wilcoxon-signed-rank");
  EXPECT_TRUE(notes.empty());
  spec.measure = "instructions";
  results = evaluate_measures(two_variants(12, 1.2, false), spec, false, &notes);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("measure instructions refused"), std::string::npos);
  notes.clear();
  results = evaluate_measures(two_variants(12, 1.2, true), spec, false, &notes);
  ASSERT_EQ(results.size(), 6u);
  EXPECT_EQ(results[5].measure, "instructions");
  EXPECT_TRUE(notes.empty());
}

TEST(VerdictMeasures, DroppingContendedSamplesDropsTheirRoundsWhenInterleaved) {
  std::string why;
  auto values = measure_values(two_variants(12, 1.0, false), "wall", true, true, &why);
  ASSERT_TRUE(values);
  EXPECT_EQ((*values)[0].size(), 10u);  // rounds 2 and 4 go for both
  EXPECT_EQ((*values)[1].size(), 10u);
  values = measure_values(two_variants(12, 1.0, false), "wall", false, true, &why);
  EXPECT_EQ((*values)[0].size(), 11u);  // blocks: each its own
  EXPECT_EQ((*values)[1].size(), 10u);
}

TEST(ComputedComparisons, RevisionsAreJudgedWithTheMdeFromFakeSamples) {
  auto query = [](const std::string& report, const std::map<std::string, std::string>& vars) {
    EXPECT_EQ(report, "revision_samples");
    EXPECT_EQ(vars.at("job"), "j");
    ReportTable t;
    t.columns = {"machine", "benchmark", "side", "wall_s", "cpu_s", "instructions", "contended"};
    for (int i = 0; i < 20; ++i)
      for (const char* side : {"a", "b"}) {
        const double w = (side[0] == 'a' ? 1.0 : 1.5) + 0.01 * (i % 7);
        t.rows.push_back({"m1", "variant x", side, std::to_string(w), std::to_string(w / 2), "",
                          i == 3 ? "t" : "f"});
        t.nulls.push_back({false, false, false, false, false, true, false});
      }
    return t;
  };
  ReportTable out;
  ASSERT_EQ(run_computed_report("compare_revisions", {{"job", "j"}, {"rev_a", "1"}, {"rev_b", "2"}},
                                query, &out),
            "");
  ASSERT_EQ(out.rows.size(), 1u);
  auto cell = [&](const std::string& name) {
    for (size_t i = 0; i < out.columns.size(); ++i)
      if (out.columns[i] == name) return out.rows[0][i];
    return std::string("<none>");
  };
  EXPECT_EQ(cell("verdict"), "slower");
  EXPECT_EQ(cell("n_a"), "20");
  EXPECT_EQ(cell("contended"), "2");
  EXPECT_EQ(cell("method"), "mann-whitney");
  EXPECT_NE(cell("mde_pct"), "");
  EXPECT_EQ(cell("detail").rfind("slower (could see ", 0), 0u) << cell("detail");
  out = {};
  EXPECT_NE(run_computed_report("compare_revisions",
                                {{"job", "j"}, {"rev_a", "1"}, {"rev_b", "2"}, {"measure", "x"}},
                                query, &out),
            "");
  out = {};
  ASSERT_EQ(
      run_computed_report(
          "compare_revisions",
          {{"job", "j"}, {"rev_a", "1"}, {"rev_b", "2"}, {"measure", "instructions"}}, query, &out),
      "");
  ASSERT_EQ(out.rows.size(), 1u);
  EXPECT_NE(cell("detail").find("measure instructions refused"), std::string::npos);
  EXPECT_FALSE(is_computed_report("compare_variants", {{"pipeline", "1"}}));
  EXPECT_TRUE(is_computed_report("compare_variants", {{"pipeline", "1"}, {"drop_contended", "1"}}));
}

}  // namespace
}  // namespace yardstick
