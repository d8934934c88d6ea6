// The order of a benchmark's commands: interleaving, blocks, hooks, and the adaptive run count.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

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

namespace yardstick {
namespace {

// The variants of each counted round, in the order the plan hands them out.
std::vector<std::vector<size_t>> counted_rounds(BenchPlan& plan) {
  std::vector<std::vector<size_t>> rounds;
  while (auto a = plan.next()) {
    if (a->kind != BenchAction::Kind::kRun || !a->counted) continue;
    if (rounds.size() <= a->run_index) rounds.resize(a->run_index + 1);
    rounds[a->run_index].push_back(a->variant);
    plan.record(*a, 0.1);
  }
  return rounds;
}

BenchSpec four_by_twelve() {
  BenchSpec s;
  s.run = "x";
  s.warmup = 1;
  s.runs = 12;
  return s;
}

const std::vector<Variant> kFour = {{"A", {}, ""}, {"B", {}, ""}, {"C", {}, ""}, {"D", {}, ""}};

TEST(BenchPlan, SeededOrderIsAPermutationEachRoundAndVaries) {
  BenchPlan plan(four_by_twelve(), kFour, 42);
  auto rounds = counted_rounds(plan);
  ASSERT_EQ(rounds.size(), 12u);
  std::set<std::vector<size_t>> distinct;
  for (auto r : rounds) {
    distinct.insert(r);
    std::sort(r.begin(), r.end());
    EXPECT_EQ(r, (std::vector<size_t>{0, 1, 2, 3}));
  }
  EXPECT_GT(distinct.size(), 1u);
  for (uint32_t i = 0; i < 12; ++i) EXPECT_EQ(plan.round_order(i), rounds[i]);
}

TEST(BenchPlan, SeededOrderIsReproducibleFromTheSeed) {
  BenchPlan a(four_by_twelve(), kFour, 7), b(four_by_twelve(), kFour, 7),
      c(four_by_twelve(), kFour, 8);
  auto ra = counted_rounds(a);
  EXPECT_EQ(ra, counted_rounds(b));
  EXPECT_NE(ra, counted_rounds(c));
  // Pinned: the generator and the shuffle are specified by the standard and
  // here, so these orders hold with any standard library.
  ASSERT_EQ(ra.size(), 12u);
  EXPECT_EQ(ra[0], (std::vector<size_t>{2, 3, 0, 1}));
}

TEST(BenchPlan, BothVariantsComeFirstEquallyOftenOverManyRounds) {
  BenchSpec s = four_by_twelve();
  s.runs = 2000;
  BenchPlan plan(s, {{"A", {}, ""}, {"B", {}, ""}}, 12345);
  auto rounds = counted_rounds(plan);
  int a_first = 0;
  for (const auto& r : rounds) a_first += r[0] == 0;
  EXPECT_NEAR(a_first, 1000, 100);  // > 4 standard deviations
}

TEST(BenchPlan, WithoutASeedTheOrderIsFixed) {
  BenchPlan plan(four_by_twelve(), kFour);
  for (const auto& r : counted_rounds(plan)) EXPECT_EQ(r, (std::vector<size_t>{0, 1, 2, 3}));
}

}  // namespace
}  // namespace yardstick
