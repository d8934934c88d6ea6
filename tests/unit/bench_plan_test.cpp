// The order of a benchmark's commands: interleaving, blocks, hooks, and the adaptive run count.
#include <gtest/gtest.h>

#include "agent/bench_plan.hpp"

namespace yardstick {
namespace {

// Runs the plan to the end; every counted run "takes" `wall_s`.
std::vector<std::string> order(BenchPlan& plan, const std::vector<std::string>& names,
                               double wall_s = 0.1) {
  std::vector<std::string> out;
  while (auto a = plan.next()) {
    out.push_back(
        std::string(a->kind_name()) + ":" + names[a->variant] +
        (a->kind == BenchAction::Kind::kRun && a->counted ? std::to_string(a->run_index) : ""));
    if (a->kind == BenchAction::Kind::kRun && a->counted) plan.record(*a, wall_s);
  }
  return out;
}

TEST(BenchPlan, InterleavesVariantsWithHooksAroundEveryRun) {
  BenchSpec s;
  s.run = "x";
  s.setup = "s";
  s.prepare = "p";
  s.conclude = "c";
  s.cleanup = "z";
  s.warmup = 1;
  s.runs = 2;
  BenchPlan plan(s, {{"A", {}, ""}, {"B", {}, ""}});
  EXPECT_EQ(order(plan, {"A", "B"}),
            (std::vector<std::string>{
                "setup:A",   "prepare:A", "warmup:A",   "conclude:A",  // warm-up round
                "setup:B",   "prepare:B", "warmup:B",   "conclude:B",  //
                "prepare:A", "run:A0",    "conclude:A",                // round 1
                "prepare:B", "run:B0",    "conclude:B",                //
                "prepare:A", "run:A1",    "conclude:A",                // round 2
                "prepare:B", "run:B1",    "conclude:B",                //
                "cleanup:A", "cleanup:B"}));
}

TEST(BenchPlan, BlocksRunEachVariantToTheEnd) {
  BenchSpec s;
  s.run = "x";
  s.setup = "s";
  s.cleanup = "z";
  s.runs = 2;
  s.interleave = false;
  BenchPlan plan(s, {{"A", {}, ""}, {"B", {}, ""}});
  EXPECT_EQ(order(plan, {"A", "B"}),
            (std::vector<std::string>{"setup:A", "run:A0", "run:A1", "cleanup:A", "setup:B",
                                      "run:B0", "run:B1", "cleanup:B"}));
}

TEST(BenchPlan, VariantRunReplacesTheCommand) {
  BenchSpec s;
  s.run = "default";
  s.runs = 1;
  BenchPlan plan(s, {{"A", {}, ""}, {"B", {}, "special"}});
  auto a = plan.next();
  plan.record(*a, 1);
  auto b = plan.next();
  EXPECT_EQ(a->command, "default");
  EXPECT_EQ(b->command, "special");
}

TEST(BenchPlan, AdaptiveCountFillsMaxTimeWithinMinAndMaxRuns) {
  BenchSpec s;
  s.run = "x";
  s.min_runs = 3;
  s.max_time_ms = 1000;
  {
    BenchPlan plan(s, {{"A", {}, ""}});
    EXPECT_EQ(order(plan, {"A"}, 0.1).size(), 10u);  // 1 s / 0.1 s
  }
  {
    BenchPlan plan(s, {{"A", {}, ""}});
    EXPECT_EQ(order(plan, {"A"}, 2.0).size(), 3u);  // slow: min_runs
  }
  s.max_runs = 5;
  {
    BenchPlan plan(s, {{"A", {}, ""}});
    EXPECT_EQ(order(plan, {"A"}, 0.001).size(), 5u);  // fast: max_runs
  }
}

TEST(BenchPlan, InterleavedAdaptiveCountFollowsTheSlowestVariant) {
  BenchSpec s;
  s.run = "x";
  s.min_runs = 2;
  s.max_time_ms = 1000;
  BenchPlan plan(s, {{"A", {}, ""}, {"B", {}, ""}});
  std::vector<std::string> runs;
  while (auto a = plan.next()) {
    runs.push_back(a->label());
    plan.record(*a, a->variant == 0 ? 0.1 : 0.25);  // B is slower: 1 s / 0.25 s = 4
  }
  EXPECT_EQ(runs.size(), 8u);
}

TEST(BenchPlan, NoVariantsMeansOneDefault) {
  BenchSpec s;
  s.run = "x";
  s.runs = 2;
  BenchPlan plan(s, {});
  EXPECT_EQ(order(plan, {"default"}), (std::vector<std::string>{"run:default0", "run:default1"}));
}

}  // namespace
}  // namespace yardstick
