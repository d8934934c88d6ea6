// Benchmarks, collectors and budgets end to end, with real tools (ninja,
// ccache, cargo) run by real agents, and the comparisons read back through
// the CLI.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/integration/harness.hpp"

namespace yardstick::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

double metric(Cluster& c, const std::string& job, int step, const std::string& name) {
  auto r = c.query("SELECT m.value FROM metrics m JOIN jobs j ON j.id = m.job_id WHERE j.name = '" +
                   job + "' AND m.step_idx = " + std::to_string(step) + " AND m.name = '" + name +
                   "' ORDER BY m.seq DESC LIMIT 1");
  return r.empty() ? -1 : r[0][0].as<double>();
}

TEST(Bench, TwoVariantsOnTwoMachinesAreComparedByVariantAndByMachine) {
  Cluster c;
  c.add_agent("a", "pool=bench", "fast-box");
  c.add_agent("b", "pool=bench", "slow-box");
  // slow-box really is slower: its agent name says so and the command reads it.
  // Every gap is 20 ms or more, and there are 10 rounds: the paired test
  // still says "faster" when a loaded CI machine inverts two of them (with 6
  // rounds one inversion is enough to lose the verdict).
  c.write_file("bench.yml", R"(pipeline: sleepy
jobs:
  naps:
    kind: bench
    on: { labels: [pool=bench], machines: all }
    bench:
      run: sleep 0.04
      prepare: echo prepared >> prepare.log
      warmup: 1
      runs: 10
    variants:
      - name: long
      - name: short
        run: 'case $YARDSTICK_AGENT in *-b) sleep 0.02;; *) sleep 0.005;; esac'
)");
  auto r = c.cli({"submit", "bench.yml", "--wait"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(c.scalar("SELECT count(*) FROM samples"), 2 * 2 * 10);  // 2 machines x 2 variants
  // A benchmark job shows `running` (it sends samples, not step events) and
  // has a start time.
  EXPECT_EQ(c.scalar("SELECT count(*) FROM job_events WHERE to_state = 'running'"), 2);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM jobs WHERE started_at IS NULL"), 0);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM bench_results WHERE n = 10 AND measure = 'wall'"), 4);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM bench_results WHERE variant = 'short' AND verdict = "
                     "'faster' AND measure = 'wall' AND p_value < 0.05 AND ci_high < 1"),
            2);
  EXPECT_GT(c.scalar("SELECT floor(min(median_s) * 1000) FROM bench_results WHERE variant = 'long'"
                     " AND measure = 'wall'"),
            39);
  // A plain command starts without a shell, one with shell syntax through /bin/sh.
  auto log = c.cli({"logs", std::to_string(c.scalar("SELECT min(id) FROM jobs"))});
  EXPECT_NE(log.out.find("variant long: the timed command runs directly as /"), std::string::npos)
      << log.out;
  EXPECT_NE(log.out.find("variant short: the timed command runs through /bin/sh -c"),
            std::string::npos)
      << log.out;

  const std::string pid = std::to_string(c.scalar("SELECT id FROM pipelines"));
  auto cmp = c.cli({"compare", pid, "--json"});
  ASSERT_EQ(cmp.code, 0) << cmp.err;
  json rows = json::parse(cmp.out);
  ASSERT_EQ(rows.size(), 4u);
  int faster = 0;
  for (const auto& row : rows) {
    // Counts are JSON integers, measures numbers, missing values null.
    EXPECT_TRUE(row["n"].is_number_integer()) << row.dump();
    EXPECT_TRUE(row["median_s"].is_number_float()) << row.dump();
    if (row["variant"] == "long") {
      EXPECT_TRUE(row["p_value"].is_null()) << row.dump();
    }
    if (row["variant"] == "long") {
      EXPECT_EQ(row["verdict"], "baseline");
    }
    if (row["variant"] == "short") {
      EXPECT_EQ(row["verdict"], "faster");
      EXPECT_LT(row["ratio"].get<double>(), 0.9);
      ++faster;
    }
  }
  EXPECT_EQ(faster, 2);

  auto table = c.cli({"compare", pid});
  EXPECT_NE(table.out.find("VERDICT"), std::string::npos) << table.out;
  auto csv = c.cli({"compare", pid, "--csv"});
  EXPECT_EQ(csv.out.rfind("job,machine,variant,n,median_s", 0), 0u) << csv.out;
  auto md = c.cli({"compare", pid, "--markdown"});
  EXPECT_EQ(md.out.rfind("| job | machine | variant |", 0), 0u) << md.out;

  auto machines =
      c.cli({"compare", "--machines", "--job", "naps", "--reference", "fast-box", "--json"});
  ASSERT_EQ(machines.code, 0) << machines.err;
  json m = json::parse(machines.out);
  ASSERT_EQ(m.size(), 4u);  // 2 machines x 2 benchmarks
  double fast_index = 0, slow_index = 0;
  for (const auto& row : m) {
    EXPECT_EQ(row["reference"], "fast-box");
    if (row["machine"] == "fast-box") fast_index = row["speed_index"].get<double>();
    if (row["machine"] == "slow-box") slow_index = row["speed_index"].get<double>();
  }
  EXPECT_DOUBLE_EQ(fast_index, 1.0);
  // short takes 4x as long there and long the same: 2 when process start-up
  // is nothing, less on a loaded machine (start-up adds to both: 1.2 with
  // 30 ms of it).
  EXPECT_GT(slow_index, 1.1);
}

TEST(Bench, RevisionsAreComparedOnEachMachine) {
  Cluster c;
  c.add_agent("a", "", "m1");
  c.write_file("rev.yml", R"(pipeline: revs
jobs:
  nap:
    kind: bench
    bench:
      run: 'case $YARDSTICK_REVISION in aaa*) sleep 0.01;; *) sleep 0.05;; esac'
      runs: 6
)");
  ASSERT_EQ(c.cli({"submit", "rev.yml", "--wait", "--revision", "aaa111"}).code, 0);
  ASSERT_EQ(c.cli({"submit", "rev.yml", "--wait", "--revision", "bbb222"}).code, 0);
  auto r = c.cli({"compare", "--revisions", "aaa", "bbb", "--job", "nap", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  json rows = json::parse(r.out);
  ASSERT_EQ(rows.size(), 1u) << r.out;
  EXPECT_EQ(rows[0]["machine"], "m1");
  EXPECT_EQ(rows[0]["n_a"], 6);
  EXPECT_EQ(rows[0]["verdict"], "slower");
  // 0.05 s against 0.01 s plus start-up: about 4, less on a loaded machine.
  EXPECT_GT(rows[0]["ratio"].get<double>(), 1.5);
  EXPECT_GT(rows[0]["ci_low"].get<double>(), 1.2) << r.out;
  EXPECT_LT(rows[0]["ci_high"].get<double>(), 6.0) << r.out;
  EXPECT_LE(rows[0]["ci_low"].get<double>(), rows[0]["ratio"].get<double>());
  EXPECT_GE(rows[0]["ci_high"].get<double>(), rows[0]["ratio"].get<double>());
  EXPECT_LT(rows[0]["p_value"].get<double>(), 0.01);
}

TEST(Bench, ExclusiveBenchKeepsAnotherJobOnTheSameAgentWaiting) {
  Cluster c;
  c.add_agent("a", "", "m1", 2);
  c.write_file("ex.yml", R"(pipeline: exclusive
jobs:
  measure:
    kind: bench
    priority: 1
    bench: { run: sleep 0.2, runs: 3 }
  other:
    steps: [{run: sleep 0.1}]
)");
  ASSERT_EQ(c.cli({"submit", "ex.yml", "--wait"}).code, 0);
  // The agent has two slots, yet the other job started only after the benchmark ended.
  EXPECT_EQ(c.scalar("SELECT count(*) FROM jobs a, jobs b WHERE a.name = 'measure' AND b.name ="
                     " 'other' AND b.started_at >= a.ended_at"),
            1);
  // Without exclusive: both run at once.
  c.write_file("shared.yml", R"(pipeline: shared
jobs:
  measure:
    kind: bench
    exclusive: false
    priority: 1
    bench: { run: sleep 0.2, runs: 3 }
  other:
    steps: [{run: sleep 0.1}]
)");
  ASSERT_EQ(c.cli({"submit", "shared.yml", "--wait"}).code, 0);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM jobs a JOIN pipelines p ON p.id = a.pipeline_id, jobs b"
                     " WHERE p.name = 'shared' AND a.name = 'measure' AND b.pipeline_id = p.id AND"
                     " b.name = 'other' AND b.started_at < a.ended_at"),
            1);
}

TEST(Collectors, NinjaLogGivesPerTargetTimesOfThisBuildOnly) {
  Cluster c;
  c.add_agent("a", "", "m1");
  c.write_file("ninja.yml", R"(pipeline: ninja
jobs:
  build:
    steps:
      - name: write build.ninja
        run: |
          printf 'rule slow\n  command = sleep 0.2 && touch $out\nbuild a.o: slow a.c\nbuild b.o: slow b.c\n' > build.ninja
          touch a.c b.c
      - name: full build
        run: ninja
        collect: [ninja-log]
      - name: rebuild one
        run: sleep 1.1; touch a.c; ninja
        collect: [ninja-log]
)");
  auto r = c.cli({"submit", "ninja.yml", "--wait"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(metric(c, "build", 1, "ninja.targets"), 2);
  EXPECT_GE(metric(c, "build", 1, "ninja.target.a.o"), 0.19);
  EXPECT_EQ(metric(c, "build", 2, "ninja.targets"), 1);  // only a.o was rebuilt
  EXPECT_GE(metric(c, "build", 2, "ninja.target.a.o"), 0.19);
  EXPECT_EQ(metric(c, "build", 2, "ninja.target.b.o"), -1);
}

TEST(Collectors, CcacheSecondCompileHitsEveryTime) {
  Cluster c;
  c.add_agent("a", "", "m1");
  // The collector must read the same cache as the step: the same CCACHE_DIR,
  // a cache of the job's own through ${YARDSTICK_WORKSPACE} interpolation.
  c.write_file("ccache.yml", R"(pipeline: ccache
jobs:
  compile:
    env: { CCACHE_DIR: "${YARDSTICK_WORKSPACE}/.ccache" }
    steps:
      - name: source
        run: printf 'int f(int x) { return x * 2; }\n' > a.c
      - name: cold
        run: ccache gcc -c a.c -o a.o
        collect: [ccache]
      - name: warm
        run: rm a.o && ccache gcc -c a.c -o a.o
        collect: [ccache]
      - name: interpolated
        run: test "$CCACHE_DIR" = "$YARDSTICK_WORKSPACE/.ccache" && test -d "$CCACHE_DIR"
    budget: { metrics: { ccache.hit_rate: ">= 0.9" } }
)");
  auto r = c.cli({"submit", "ccache.yml", "--wait"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(metric(c, "compile", 1, "ccache.misses"), 1);
  EXPECT_EQ(metric(c, "compile", 1, "ccache.hit_rate"), 0);
  EXPECT_EQ(metric(c, "compile", 2, "ccache.hits"), 1);
  EXPECT_EQ(metric(c, "compile", 2, "ccache.hit_rate"), 1.0);
  // The job budget reads the last hit rate reported: 1.0, within budget.
  EXPECT_EQ(c.scalar("SELECT count(*) FROM budget_breaches"), 0);
}

TEST(Collectors, CargoTimingsGivePerCrateTimes) {
  Cluster c;
  c.add_agent("a", "", "m1");
  c.write_file("cargo.yml", R"(pipeline: cargo
jobs:
  crate:
    env: { CARGO_TARGET_DIR: target, CARGO_NET_OFFLINE: "true" }
    steps:
      - name: new crate
        run: cargo new --quiet --vcs none --name tiny_app app
      - name: build
        run: cd app && cargo build --quiet --timings
        collect: [cargo-timings:app/target]
)");
  auto r = c.cli({"submit", "cargo.yml", "--wait"});
  ASSERT_EQ(r.code, 0) << r.out << r.err
                       << c.cli({"logs", std::to_string(c.scalar("SELECT id FROM jobs"))}).out;
  EXPECT_GT(metric(c, "crate", 1, "cargo.crate.tiny_app (bin)"), 0);
  EXPECT_EQ(metric(c, "crate", 1, "cargo.units"), 1);
  // "The ten slowest crates", per machine, from the shipped report.
  auto slow = c.cli({"report", "slowest_units", "-v", "job=crate", "--json"});
  ASSERT_EQ(slow.code, 0) << slow.err;
  json rows = json::parse(slow.out);
  ASSERT_EQ(rows.size(), 1u) << slow.out;
  EXPECT_EQ(rows[0]["unit"], "tiny_app (bin)");
  EXPECT_EQ(rows[0]["machine"], "m1");
}

TEST(Bench, MetricsFileLinesBelongToTheRunThatWroteThem) {
  Cluster c;
  c.add_agent("a", "", "m1");
  // The warm-up and prepare write too; only counted runs and their conclude count.
  c.write_file("m.yml", R"(pipeline: metric-runs
jobs:
  b:
    kind: bench
    bench:
      prepare: echo "prepared 1" >> "$YARDSTICK_METRICS"
      run: sh -c 'echo "size 5 bytes" >> "$YARDSTICK_METRICS"'
      conclude: echo "concluded 1" >> "$YARDSTICK_METRICS"
      warmup: 1
      runs: 2
)");
  auto r = c.cli({"submit", "m.yml", "--wait"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(c.scalar("SELECT count(*) FROM metrics WHERE name = 'prepared'"), 0);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM metrics WHERE name = 'size' AND unit = 'bytes'"), 2);
  EXPECT_EQ(c.scalar("SELECT count(DISTINCT run_idx) FROM metrics WHERE name = 'size'"), 2);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM metrics WHERE name = 'concluded' AND run_idx IN (0, 1)"),
            2);
}

TEST(Bench, FailureStillCleansUpAndWallBudgetsReadTheMedian) {
  Cluster c;
  c.add_agent("a", "", "m1");
  const std::string fixture = c.dir() + "/fixture";
  c.write_file("f.yml", R"(pipeline: fail-and-budget
env: { FIXTURE: )" + fixture +
                            R"( }
jobs:
  broken:
    kind: bench
    bench:
      setup: touch "$FIXTURE"
      run: "false"
      cleanup: rm "$FIXTURE"
      runs: 3
  slow:
    kind: bench
    bench: { run: sleep 0.05, runs: 2 }
    budget: { wall: 20ms }
)");
  auto r = c.cli({"submit", "f.yml", "--wait"});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_EQ(c.text("SELECT state FROM jobs WHERE name = 'broken'"), "failed");
  EXPECT_EQ(c.text("SELECT message FROM jobs WHERE name = 'broken'"),
            "run 1 of variant default exited with 1");
  EXPECT_FALSE(std::filesystem::exists(fixture)) << "cleanup did not run after the failure";
  // The bench's wall budget is on its median (about 50 ms), not on the whole job.
  EXPECT_EQ(c.text("SELECT state FROM jobs WHERE name = 'slow'"), "succeeded");
  EXPECT_EQ(c.text("SELECT b.budget FROM budget_breaches b JOIN jobs j ON j.id = b.job_id"
                   " WHERE j.name = 'slow'"),
            "median wall of variant default <= 0.02s");
  // The value checked is the median of the job's two runs (at least the
  // 50 ms slept, however loaded the machine), not the whole job's wall.
  EXPECT_EQ(c.scalar("SELECT count(*) FROM budget_breaches b JOIN jobs j ON j.id = b.job_id"
                     " WHERE j.name = 'slow' AND b.actual >= 0.05 AND abs(b.actual - (SELECT"
                     " percentile_cont(0.5) WITHIN GROUP (ORDER BY s.wall_s) FROM samples s"
                     " WHERE s.job_id = j.id)) < 1e-6"),
            1)
      << c.text(
             "SELECT string_agg(wall_s::text, ', ') FROM samples s JOIN jobs j ON j.id ="
             " s.job_id WHERE j.name = 'slow'");
}

TEST(Budgets, MetricsFileFeedsBudgetsThatFailOrWarn) {
  Cluster c;
  c.add_agent("a", "", "m1");
  c.write_file("budget.yml", R"(pipeline: budgets
jobs:
  strict:
    budget: { metrics: { binary.size: "< 100" }, fail: true }
    steps:
      - run: |
          echo "binary.size 123 bytes" >> "$YARDSTICK_METRICS"
          echo "this line is not a metric" >> "$YARDSTICK_METRICS"
  lenient:
    budget: { wall: 100ms }
    steps:
      - run: sleep 0.3
      - run: "true"
        budget: { metrics: { never.reported: ">= 1" } }
)");
  auto r = c.cli({"submit", "budget.yml", "--wait"});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_EQ(c.text("SELECT state FROM jobs WHERE name = 'strict'"), "failed");
  EXPECT_NE(c.text("SELECT message FROM jobs WHERE name = 'strict'")
                .find("binary.size < 100 (actual 123)"),
            std::string::npos)
      << c.text("SELECT message FROM jobs WHERE name = 'strict'");
  EXPECT_EQ(metric(c, "strict", 0, "binary.size"), 123);
  EXPECT_EQ(c.text("SELECT unit FROM metrics WHERE name = 'binary.size'"), "bytes");
  const std::string strict_id =
      std::to_string(c.scalar("SELECT id FROM jobs WHERE name = 'strict'"));
  EXPECT_NE(c.cli({"logs", strict_id}).out.find("ignored the line 'this line is not a metric'"),
            std::string::npos);

  EXPECT_EQ(c.text("SELECT state FROM jobs WHERE name = 'lenient'"), "succeeded");
  EXPECT_TRUE(c.query("SELECT over_budget FROM jobs WHERE name = 'lenient'")[0][0].as<bool>());
  EXPECT_EQ(c.scalar("SELECT count(*) FROM budget_breaches b JOIN jobs j ON j.id = b.job_id WHERE"
                     " j.name = 'lenient' AND NOT b.fails_job AND ((b.subject = 'wall' AND b.actual"
                     " >= 0.3 AND b.step_idx IS NULL) OR (b.subject = 'never.reported' AND"
                     " b.actual IS NULL AND b.step_idx = 1))"),
            2);
  // The CLI shows it: in the table and in --json.
  const std::string lenient_id =
      std::to_string(c.scalar("SELECT id FROM jobs WHERE name = 'lenient'"));
  auto table = c.cli({"status", lenient_id});
  EXPECT_NE(table.out.find("succeeded (over budget)"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("over budget: never.reported >= 1 (actual never reported)"),
            std::string::npos)
      << table.out;
  json st = json::parse(c.cli({"status", lenient_id, "--json"}).out);
  ASSERT_EQ(st["jobs"].size(), 1u);
  EXPECT_EQ(st["jobs"][0]["over_budget"], true);
  EXPECT_EQ(st["jobs"][0]["budget_breaches"].size(), 2u);
  // And the report of breaches lists all three, the failing one marked.
  auto rep = c.cli({"report", "over_budget", "-v", "pipeline_name=budgets", "--json"});
  ASSERT_EQ(rep.code, 0) << rep.err;
  json rows = json::parse(rep.out);
  ASSERT_EQ(rows.size(), 3u) << rep.out;
  int failing = 0;
  for (const auto& row : rows) {
    EXPECT_TRUE(row["fails_job"].is_boolean()) << row.dump();
    failing += row["fails_job"] == true;
  }
  EXPECT_EQ(failing, 1) << rep.out;
}

TEST(Reports, ReportCommandRunsAReportFileWithItsVariables) {
  Cluster c;
  c.add_agent("a", "", "m1");
  c.write_file("p.yml", "pipeline: rep\njobs:\n  j:\n    steps: [{name: s, run: sleep 0.1}]\n");
  ASSERT_EQ(c.cli({"submit", "p.yml", "--wait"}).code, 0);
  auto r = c.cli(
      {"report", "step_times_by_machine", "-v", "pipeline_name=rep", "-v", "step=s", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  json rows = json::parse(r.out);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["machine"], "m1");
  EXPECT_GE(rows[0]["median_s"].get<double>(), 0.1);
  auto missing = c.cli({"report", "step_times_by_machine"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("pipeline_name"), std::string::npos) << missing.err;
  auto unknown = c.cli({"report", "nope"});
  EXPECT_EQ(unknown.code, 2);  // a usage error, said before anything is sent
  EXPECT_NE(unknown.err.find("compare_variants"), std::string::npos) << unknown.err;
}

TEST(Bench, InterleavedRoundsRunInASeededShuffledOrderAndArePaired) {
  Cluster c;
  c.add_agent("a", "", "m1");
  c.write_file("order.yml", R"(pipeline: order
jobs:
  o:
    kind: bench
    bench: { run: sleep 0.01, runs: 8 }
    variants: [{ name: a }, { name: b }, { name: c }]
)");
  auto r = c.cli({"submit", "order.yml", "--wait"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  const int64_t id = c.scalar("SELECT id FROM jobs");
  const int64_t attempt = c.scalar("SELECT max(attempt) FROM samples");
  // The seed is in the job log: the job and attempt.
  const std::string seed =
      std::to_string((static_cast<uint64_t>(id) << 32) ^ static_cast<uint64_t>(attempt));
  auto log = c.cli({"logs", std::to_string(id)});
  EXPECT_NE(log.out.find("order within each round shuffled (seed " + seed + ")"), std::string::npos)
      << log.out;
  // Each round runs every variant once, and the rounds' orders (by start time) differ.
  EXPECT_EQ(c.scalar("SELECT count(*) FROM samples"), 24);
  EXPECT_EQ(c.scalar("SELECT count(DISTINCT (idx, variant_idx)) FROM samples"), 24);
  EXPECT_GT(c.scalar("SELECT count(DISTINCT o) FROM (SELECT idx, string_agg(variant_idx::text, ','"
                     " ORDER BY at) AS o FROM samples GROUP BY idx) r"),
            1);
  // Rounds of interleaved variants are compared pair by pair: the job log says so.
  EXPECT_NE(log.out.find("paired by round"), std::string::npos) << log.out;
  EXPECT_EQ(
      c.scalar("SELECT count(*) FROM bench_results WHERE verdict IS NOT NULL AND measure = 'wall'"),
      2);
}

}  // namespace
}  // namespace yardstick::test
