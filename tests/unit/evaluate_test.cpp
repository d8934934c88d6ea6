// Budgets (expressions, checks, errors) and report translation.
#include <gtest/gtest.h>

#include "common/pipeline.hpp"
#include "coordinator/evaluate.hpp"
#include "coordinator/reports.hpp"

namespace yardstick {
namespace {

TEST(Budget, ParsesComparisons) {
  auto b = parse_metric_bound("sccache.hit_rate", ">= 0.8");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->op, ">=");
  EXPECT_DOUBLE_EQ(b->value, 0.8);
  EXPECT_TRUE(b->holds(0.8));
  EXPECT_FALSE(b->holds(0.79));
  EXPECT_EQ(b->text(), "sccache.hit_rate >= 0.8");
  EXPECT_TRUE(parse_metric_bound("x", "<420")->holds(419));
  EXPECT_FALSE(parse_metric_bound("x", "< 420")->holds(420));
  EXPECT_TRUE(parse_metric_bound("x", "> -1")->holds(0));
  for (const char* bad : {"0.8", "=> 0.8", ">= lots", ">= 0.8 or so", "", "== 1"})
    EXPECT_FALSE(parse_metric_bound("x", bad)) << bad;
}

TEST(Budget, BadBudgetInAPipelineNamesItsKey) {
  auto r = parse_pipeline(
      "pipeline: p\njobs:\n  a:\n    budget: { wall: 7 parsecs, metrics: { hit: \"about 1\" } }\n"
      "    steps: [{run: x, budget: {walls: 1s}}]\n",
      "p.yml");
  ASSERT_EQ(r.errors.size(), 3u);
  EXPECT_EQ(r.errors[0].key, "jobs.a.budget.wall");
  EXPECT_EQ(r.errors[1].key, "jobs.a.budget.metrics.hit");
  EXPECT_NE(r.errors[1].message.find(">= 0.8"), std::string::npos);
  EXPECT_EQ(r.errors[2].key, "jobs.a.steps[0].budget.walls");
}

TEST(Budget, ChecksWallAndMetrics) {
  Budget b;
  b.wall_ms = 420'000;
  b.metrics = {*parse_metric_bound("hit_rate", ">= 0.8"), *parse_metric_bound("size", "< 10")};
  b.fail = true;
  EXPECT_TRUE(check_budget(b, std::nullopt, 419.9, {{"hit_rate", 0.9}, {"size", 5}}).empty());
  auto over = check_budget(b, std::nullopt, 421, {{"hit_rate", 0.5}});
  ASSERT_EQ(over.size(), 3u);
  EXPECT_EQ(over[0].subject, "wall");
  EXPECT_EQ(over[0].budget, "wall <= 420s");
  EXPECT_DOUBLE_EQ(*over[0].actual, 421);
  EXPECT_EQ(over[1].subject, "hit_rate");
  EXPECT_DOUBLE_EQ(*over[1].actual, 0.5);
  EXPECT_EQ(over[2].subject, "size");
  EXPECT_FALSE(over[2].actual);  // never reported
  EXPECT_TRUE(over[2].fails_job);
}

TEST(BenchResults, TooFewRunsToReachSignificanceIsAWarning) {
  EXPECT_DOUBLE_EQ(smallest_p_value(3, 3), 0.1);         // 2 / C(6, 3)
  EXPECT_DOUBLE_EQ(smallest_p_value(4, 4), 2.0 / 70.0);  // 2 / C(8, 4)
  EXPECT_DOUBLE_EQ(smallest_p_value(1, 1), 1.0);
  // A 80x difference in 3 runs each: no verdict is possible, and the result says why.
  auto three =
      evaluate_bench({"cold", "warm"}, {{22, 21.9, 22.3}, {0.27, 0.271, 0.272}}, 0.05, 0.01);
  ASSERT_TRUE(three[1].vs_baseline);
  EXPECT_EQ(three[1].vs_baseline->verdict, Verdict::kNoChange);
  ASSERT_EQ(three[1].warnings.size(), 1u);
  EXPECT_EQ(three[1].warnings[0],
            "too few runs to tell: with 3 and 3 runs no test can decide at alpha 0.05 (the "
            "smallest possible p-value is 0.1); give both at least 4 runs");
  auto four = evaluate_bench({"cold", "warm"},
                             {{22, 21.9, 22.3, 22.1}, {0.27, 0.271, 0.272, 0.273}}, 0.05, 0.01);
  EXPECT_EQ(four[1].vs_baseline->verdict, Verdict::kFaster);
  EXPECT_TRUE(four[1].warnings.empty());
  auto strict =
      evaluate_bench({"a", "b"}, {{1, 1.01, 1.02, 1.03}, {2, 2.01, 2.02, 2.03}}, 0.01, 0.01);
  ASSERT_EQ(strict[1].warnings.size(), 1u);
  EXPECT_NE(strict[1].warnings[0].find("at least 5 runs"), std::string::npos);
}

TEST(BenchResults, InterleavedRunsAreComparedRoundByRound) {
  // Drift shared by both variants within each round: the variant is 2 % slower in every
  // round, which the samples as a whole (spread 8 %) hide, and the pairs show.
  const std::vector<double> base = {1.00, 1.04, 1.08, 1.02, 1.06, 1.01, 1.07, 1.03};
  const std::vector<double> slower = {1.015, 1.025, 1.018, 1.022, 1.02, 1.016, 1.024, 1.021};
  std::vector<double> var;
  for (size_t i = 0; i < base.size(); ++i) var.push_back(base[i] * slower[i]);
  auto paired = evaluate_bench({"a", "b"}, {base, var}, 0.05, 0.01, true);
  ASSERT_TRUE(paired[1].vs_baseline);
  EXPECT_EQ(paired[1].vs_baseline->method, "wilcoxon-signed-rank");
  EXPECT_NEAR(paired[1].vs_baseline->ratio, 1.02, 0.002);
  EXPECT_NEAR(paired[1].vs_baseline->p, 2.0 / 256, 1e-12);
  EXPECT_EQ(paired[1].vs_baseline->verdict, Verdict::kSlower);
  auto blocks = evaluate_bench({"a", "b"}, {base, var}, 0.05, 0.01, false);
  EXPECT_EQ(blocks[1].vs_baseline->method, "mann-whitney");
  EXPECT_EQ(blocks[1].vs_baseline->verdict, Verdict::kNoChange);
  // Unequal counts cannot be paired: Mann-Whitney.
  var.pop_back();
  auto uneven = evaluate_bench({"a", "b"}, {base, var}, 0.05, 0.01, true);
  EXPECT_EQ(uneven[1].vs_baseline->method, "mann-whitney");
  // Five rounds cannot reach p < 0.05 paired (2 / 32): judged unpaired by the exact
  // test (2 / 252), without a warning. Three rounds cannot be judged at all.
  auto five =
      evaluate_bench({"a", "b"}, {{1, 1, 1, 1, 1}, {2, 2.01, 2.02, 2.03, 2.04}}, 0.05, 0.01, true);
  EXPECT_EQ(five[1].vs_baseline->method, "mann-whitney-exact");
  EXPECT_EQ(five[1].vs_baseline->verdict, Verdict::kSlower);
  EXPECT_GT(five[1].vs_baseline->ci_low, 1.9);
  EXPECT_TRUE(five[1].warnings.empty());
  auto three = evaluate_bench({"a", "b"}, {{1, 1, 1}, {2, 2.01, 2.02}}, 0.05, 0.01, true);
  EXPECT_EQ(three[1].vs_baseline->method, "none");
  EXPECT_EQ(three[1].vs_baseline->verdict, Verdict::kNoChange);
  ASSERT_EQ(three[1].warnings.size(), 1u);
  EXPECT_EQ(three[1].warnings[0],
            "too few runs to tell: with 3 interleaved rounds no test can decide at alpha 0.05 "
            "(the smallest possible p-value is 0.1); give both at least 4 runs");
  auto six = evaluate_bench({"a", "b"}, {{1, 1, 1, 1, 1, 1}, {2, 2.01, 2.02, 2.03, 2.04, 2.05}},
                            0.05, 0.01, true);
  EXPECT_EQ(six[1].vs_baseline->verdict, Verdict::kSlower);
  EXPECT_TRUE(six[1].warnings.empty());
}

TEST(Budget, BenchWallBudgetHoldsForEachVariantsMedian) {
  Budget b;
  b.wall_ms = 420'000;
  // Medians 400 s and 430 s; the job as a whole took far longer than 420 s.
  auto results =
      evaluate_bench({"default", "mold"}, {{390, 400, 410}, {425, 430, 500}}, 0.05, 0.01);
  auto over = check_bench_wall_budget(b, results);
  ASSERT_EQ(over.size(), 1u);
  EXPECT_EQ(over[0].subject, "wall");
  EXPECT_EQ(over[0].budget, "median wall of variant mold <= 420s");
  EXPECT_DOUBLE_EQ(*over[0].actual, 430);
  EXPECT_FALSE(over[0].fails_job);
  b.wall_ms = 0;
  EXPECT_TRUE(check_bench_wall_budget(b, results).empty());
}

TEST(BenchPipeline, ParsesBenchVariantsAndDefaults) {
  auto r = parse_pipeline(R"(pipeline: p
jobs:
  link:
    kind: bench
    bench: { run: cargo build, prepare: cargo clean, warmup: 1, runs: 5, interleave: false,
             collect: [sccache], alpha: 0.01 }
    variants:
      - { name: default }
      - { name: mold, env: { RUSTFLAGS: "-C link-arg=-fuse-ld=mold" } }
)",
                          "p.yml");
  ASSERT_TRUE(r.ok()) << r.errors[0].to_string();
  const JobDef& j = r.pipeline->jobs[0];
  EXPECT_EQ(j.kind, JobKind::kBench);
  EXPECT_TRUE(j.exclusive);  // the default for benchmarks
  ASSERT_TRUE(j.bench);
  EXPECT_EQ(j.bench->prepare, "cargo clean");
  EXPECT_EQ(j.bench->runs, 5u);
  EXPECT_FALSE(j.bench->interleave);
  EXPECT_DOUBLE_EQ(j.bench->alpha, 0.01);
  EXPECT_EQ(j.bench->min_runs, 10u);
  ASSERT_EQ(j.variants.size(), 2u);
  EXPECT_EQ(j.variants[1].env.at("RUSTFLAGS"), "-C link-arg=-fuse-ld=mold");
}

TEST(BenchPipeline, ReportsBenchMistakes) {
  auto r = parse_pipeline(R"(pipeline: p
jobs:
  a:
    kind: bench
    bench: { prepare: x, runs: 0 }
    variants: [{name: one}, {name: one}]
  b:
    steps: [{run: x, collect: [sccache, gprof]}]
    variants: [{name: z}]
)",
                          "p.yml");
  std::vector<std::string> keys;
  for (const auto& e : r.errors) keys.push_back(e.key);
  EXPECT_NE(std::find(keys.begin(), keys.end(), "jobs.a.bench.runs"), keys.end());
  EXPECT_NE(std::find(keys.begin(), keys.end(), "jobs.a.variants[1].name"), keys.end());
  EXPECT_NE(std::find(keys.begin(), keys.end(), "jobs.a.bench.run"), keys.end());
  EXPECT_NE(std::find(keys.begin(), keys.end(), "jobs.b.steps[0].collect[1]"), keys.end());
  EXPECT_NE(std::find(keys.begin(), keys.end(), "jobs.b.variants"), keys.end());
}

TEST(Reports, TranslatesPsqlVariablesIntoParameters) {
  TranslatedReport t;
  std::string error;
  const std::string text =
      "-- a comment with :'not_a_var'\n\\if :{?last}\n\\else\n  \\set last 10\n\\endif\n"
      "SELECT ':x' AS literal, name::text FROM t WHERE a = :'name' AND b = :'name'"
      " LIMIT (:last)::int;\n";
  ASSERT_TRUE(translate_report(text, {{"name", "it's"}}, &t, &error)) << error;
  EXPECT_EQ(t.params, (std::vector<std::string>{"it's", "10"}));
  EXPECT_NE(t.sql.find("SELECT ':x' AS literal, name::text FROM t WHERE a = $1::text AND b ="
                       " $1::text LIMIT ($2::bigint)::int"),
            std::string::npos)
      << t.sql;
  EXPECT_EQ(t.sql.find('\\'), std::string::npos);
  EXPECT_NE(t.sql.back(), ';');
}

TEST(Reports, AWholeNumberIsABigintSoThatAnIdColumnKeepsItsIndex) {
  TranslatedReport t;
  std::string error;
  ASSERT_TRUE(translate_report("SELECT * FROM jobs WHERE pipeline_id = :pipeline AND x > :alpha",
                               {{"pipeline", "42"}, {"alpha", "0.05"}}, &t, &error))
      << error;
  EXPECT_NE(t.sql.find("pipeline_id = $1::bigint AND x > $2::numeric"), std::string::npos) << t.sql;
}

TEST(Reports, MissingOrNonNumericVariablesAreErrors) {
  TranslatedReport t;
  std::string error;
  EXPECT_FALSE(translate_report("SELECT :'who'", {}, &t, &error));
  EXPECT_NE(error.find("'who'"), std::string::npos);
  TranslatedReport t2;
  std::string error2;
  EXPECT_FALSE(translate_report("SELECT :n", {{"n", "1; DROP TABLE jobs"}}, &t2, &error2));
  EXPECT_NE(error2.find("must be a number"), std::string::npos);
}

TEST(Reports, UnknownVariableIsAnErrorListingTheReportsVariables) {
  TranslatedReport t;
  std::string error;
  EXPECT_FALSE(translate_report("\\set last 10\nSELECT :'job' LIMIT :last",
                                {{"job", "j"}, {"bogus", "1"}}, &t, &error));
  EXPECT_EQ(error, "the report has no variable 'bogus' (its variables: job, last)");
}

TEST(Reports, EveryShippedReportTranslates) {
  std::map<std::string, std::string> vars = {
      {"pipeline_name", "p"}, {"step", "s"},  {"pipeline", "1"}, {"job", "j"}, {"rev_a", "a"},
      {"rev_b", "b"},         {"ids", "1,2"}, {"kind", "step"},  {"what", "w"}};
  ASSERT_GE(reports().size(), 4u);
  for (const auto& [name, text] : reports()) {
    // Each report gets the variables it reads (an unknown one is an error).
    std::map<std::string, std::string> mine;
    for (const auto& [k, v] : vars)
      if (text.find(":'" + k + "'") != std::string::npos ||
          text.find(":" + k + " ") != std::string::npos ||
          text.find(":" + k + "\n") != std::string::npos)
        mine[k] = v;
    TranslatedReport t;
    std::string error;
    EXPECT_TRUE(translate_report(text, mine, &t, &error)) << name << ": " << error;
  }
}

}  // namespace
}  // namespace yardstick

namespace yardstick {
namespace {

TEST(Reports, VariablesOfEveryShippedReportWithTheirDefaults) {
  std::map<std::string, std::string> seen;
  for (const auto& [name, text] : reports()) {
    std::string list;
    for (const auto& v : report_variables(text))
      list += v.name + (v.has_default ? "=" + v.default_value : "") + " ";
    seen[name] = list;
    EXPECT_FALSE(report_description(text).empty()) << name;
    // Every variable listed is one the report accepts.
    std::map<std::string, std::string> all;
    for (const auto& v : report_variables(text)) all[v.name] = "1";
    TranslatedReport t;
    std::string error;
    EXPECT_TRUE(translate_report(text, all, &t, &error)) << name << ": " << error;
  }
  EXPECT_EQ(seen["compare_machines"], "job last=10 pipeline_name= reference= ")
      << seen["compare_machines"];
  EXPECT_EQ(seen["compare_variants"], "measure= pipeline ");
  EXPECT_EQ(seen["revision_samples"], "job pipeline_name= rev_a rev_b ");
  EXPECT_EQ(seen["metrics"], "metric= pipeline ");
  EXPECT_EQ(seen["metric_history"], "job= last=10 metric= pipeline_name ");
  EXPECT_EQ(seen["variant_samples"], "pipeline ");
  EXPECT_EQ(seen["summary"], "pipeline ");
  EXPECT_EQ(seen["pipelines"], "last=20 name= ");
  EXPECT_EQ(seen["recent_builds"], "job last=10 pipeline_name step= ");
  EXPECT_EQ(seen["success_rates"], "pipeline_name= weeks=12 ");
  EXPECT_EQ(seen["cache_hit_rates"], "job= last=20 pipeline_name ");
  EXPECT_EQ(seen["regressions"], "pipeline_name ");
  EXPECT_EQ(seen["cost"], "last=10 pipeline_name= ");
}

}  // namespace
}  // namespace yardstick
