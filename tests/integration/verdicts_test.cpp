// Verdicts that say what they could have seen, end to end: a real agent
// runs a deterministic CPU-bound command (yardstick-test-spin), the
// coordinator judges it at job end, and the CLI shows it in every format.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <tuple>

#include "tests/integration/harness.hpp"

namespace yardstick::test {
namespace {

using json = nlohmann::json;

std::string spin() {
  return std::string(YARDSTICK_BUILD_DIR) + "/tests/integration/yardstick-test-spin";
}

// About 20 ms of spinning here; the slow variant does 3 % more.
constexpr long kIterations = 16'000'000;
constexpr long kSlower = kIterations * 103 / 100;

std::string only_job_log(Cluster& c) {
  return c.cli({"logs", std::to_string(c.scalar("SELECT max(id) FROM jobs"))}).out;
}

// A/A on real pipelines: one command as two variants, judged a dozen times.
// At alpha 0.05 a wrong "faster" or "slower" should come about once in 20;
// four or more of 12 would happen with probability 0.2 % if alpha held (the
// old fixed order with Mann-Whitney gave 17 % on this machine). The noise
// figures (bench/noise_bench.cpp, docs/benchmarks.md) run 40 such pipelines.
TEST(Verdicts, AaPipelinesGiveAFalseVerdictAboutAlphaOfTheTime) {
  Cluster c;
  c.add_agent("a", "", "m1");
  const std::string cmd = spin() + " " + std::to_string(kIterations / 4);
  std::string yaml = "pipeline: aa\njobs:\n";
  const int kTrials = 12;
  for (int t = 0; t < kTrials; ++t)
    yaml += "  aa" + std::to_string(t) +
            ":\n    kind: bench\n    bench: { warmup: 2, runs: 20 }\n    variants:\n"
            "      - { name: a, run: \"" +
            cmd + "\" }\n      - { name: b, run: \"" + cmd + "\" }\n";
  c.write_file("aa.yml", yaml);
  auto r = c.cli({"submit", "aa.yml", "--wait"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  auto rows = c.query(
      "SELECT verdict, method, order_seed FROM bench_results "
      "WHERE measure = 'wall' AND variant = 'b'");
  ASSERT_EQ(rows.size(), static_cast<size_t>(kTrials));
  int wrong = 0;
  std::set<int64_t> seeds;
  for (const auto& row : rows) {
    wrong += row[0].as<std::string>() != "no change";
    EXPECT_EQ(row[1].as<std::string>(), "wilcoxon-signed-rank");
    seeds.insert(row[2].as<int64_t>());
  }
  EXPECT_LE(wrong, 3) << wrong << " of " << kTrials << " A/A jobs were judged faster or slower";
  EXPECT_EQ(seeds.size(), static_cast<size_t>(kTrials));  // each job its own order
}

TEST(Verdicts, SlowdownSixRunsCannotSeeIsNoChangeWithAnMdeLargerThanIt) {
  Cluster c;
  c.add_agent("a", "", "m1");
  // Each variant swings by +-10 % from run to run, in opposite phases: the
  // rounds' log ratios alternate in sign, whatever the machine adds.
  c.write_file("hidden.yml",
               "pipeline: hidden\njobs:\n  spin:\n    kind: bench\n    bench:\n"
               "      run: " +
                   spin() + " " + std::to_string(kIterations) +
                   " a.count 0.1 0\n      warmup: 1\n      runs: 6\n    variants:\n"
                   "      - name: base\n      - name: slower\n        run: " +
                   spin() + " " + std::to_string(kSlower) + " b.count 0.1 1\n");
  auto r = c.cli({"submit", "hidden.yml", "--wait"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  const int64_t job = c.scalar("SELECT max(id) FROM jobs");
  const int64_t attempt = c.scalar("SELECT max(attempt) FROM bench_results");
  auto row = c.query(
      "SELECT verdict, mde, mde_power, runs_for_2pct, method, order_seed, stop_reason, contended, "
      "n FROM bench_results WHERE measure = 'wall' AND variant = 'slower'");
  ASSERT_EQ(row.size(), 1u);
  EXPECT_EQ(row[0][0].as<std::string>(), "no change");
  ASSERT_FALSE(row[0][1].is_null());
  EXPECT_GT(row[0][1].as<double>(), 0.03);  // it could not have seen 3 %
  EXPECT_DOUBLE_EQ(row[0][2].as<double>(), 0.8);
  EXPECT_GT(row[0][3].as<int>(), 6);
  EXPECT_EQ(row[0][4].as<std::string>(), "wilcoxon-signed-rank");
  EXPECT_EQ(row[0][5].as<int64_t>(), (job << 32) ^ attempt);
  EXPECT_EQ(row[0][6].as<std::string>(), "runs");
  // As many as the agent marked (a loaded machine marks some).
  const int marked = static_cast<int>(
      c.scalar("SELECT count(*) FROM samples WHERE contended AND variant = 'slower'"));
  EXPECT_EQ(row[0][7].as<int>(), marked);
  EXPECT_EQ(row[0][8].as<int>(), 6);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM bench_results WHERE measure = 'cpu'"), 2);

  // The job log says it in words, and compare in every format the same.
  const std::string log = only_job_log(c);
  EXPECT_NE(log.find("stopped: runs 6 done"), std::string::npos) << log;
  std::smatch m;
  const std::regex phrase(
      R"(no change \(could not have seen less than ([0-9.]+) % with 6 runs; about [0-9]+ runs would see 2 %\))");
  ASSERT_TRUE(std::regex_search(log, m, phrase)) << log;
  EXPECT_GT(std::stod(m[1]), 3.0);
  const std::string said = m[0];

  const std::string pipeline = std::to_string(c.scalar("SELECT max(id) FROM pipelines"));
  auto j = c.cli({"compare", pipeline, "--json"});
  ASSERT_EQ(j.code, 0) << j.err;
  json rows = json::parse(j.out);
  ASSERT_EQ(rows.size(), 2u) << j.out;
  EXPECT_EQ(rows[1]["verdict"], "no change");
  EXPECT_GT(rows[1]["mde_pct"].get<double>(), 3.0);
  EXPECT_TRUE(rows[1]["runs_for_2pct"].is_number_integer());
  EXPECT_EQ(rows[1]["detail"], said);
  EXPECT_EQ(rows[1]["measure"], "wall");
  EXPECT_EQ(rows[1]["contended"], marked);
  EXPECT_TRUE(rows[0]["mde_pct"].is_null());  // the baseline
  auto table = c.cli({"compare", pipeline});
  EXPECT_NE(table.out.find("MDE_PCT"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find(said), std::string::npos) << table.out;
  auto csv = c.cli({"compare", pipeline, "--csv"});
  EXPECT_NE(csv.out.find(",mde_pct,runs_for_2pct,detail,"), std::string::npos) << csv.out;
  EXPECT_NE(csv.out.find(said), std::string::npos) << csv.out;
  auto md = c.cli({"compare", pipeline, "--markdown"});
  EXPECT_NE(md.out.find("| mde_pct | runs_for_2pct | detail |"), std::string::npos) << md.out;
  EXPECT_NE(md.out.find(said), std::string::npos) << md.out;
}

// A pipeline of one bench job: the spinning command as `base` and as `slow`
// with twice the work, `runs` interleaved rounds, judged on CPU time (which a
// loaded machine's waiting does not inflate). Runs of some 40 and 75 ms: the
// command's start-up (about 7 ms of CPU here) would make shorter ones less
// than twice apart, and a brief disturbance weighs less in a longer run.
std::string twofold(const std::string& name, int runs) {
  return "pipeline: " + name +
         "\njobs:\n  spin:\n    kind: bench\n    bench:\n      run: " + spin() + " " +
         std::to_string(kIterations * 4) +
         "\n      warmup: 1\n      runs: " + std::to_string(runs) +
         "\n      measure: cpu\n    variants:\n      - name: base\n" +
         "      - name: slow\n        run: " + spin() + " " + std::to_string(kIterations * 8) +
         "\n";
}

// From 6 rounds on, rounds are paired (unit VerdictChoice.* checks the
// switch at exactly 6). Here the paired case runs 8 rounds: at 6 the
// signed-rank test says "slower" only when all 6 rounds agree, and a loaded
// CI host that doubles one base run (seen: 44 ms against 24) loses it;
// at 8 a small inverted round still leaves p = 0.016.
//
// Five unpaired rounds have no room for error: one base run that a busy
// host slows past a slow run and the exact test rightly says "no change";
// the unit tests check that arithmetic exactly. CI hosts were seen to run
// the same spin at 23 ms and at 55 ms of CPU time minutes apart, three
// pipelines in a row, so this test times the twofold work as a sleep of 30
// and of 60 ms in wall time, which such a host does not blur. What it asks
// of the real path (agent, coordinator, store, CLI) is that it says
// "slower" at 5 rounds: each case still gets up to three pipelines, and
// the checks apply to the first that says slower, or to the last.
std::string twofold_sleep(const std::string& name, int runs) {
  return "pipeline: " + name +
         "\njobs:\n  nap:\n    kind: bench\n    bench:\n      run: sleep 0.03\n      warmup: 1\n"
         "      runs: " +
         std::to_string(runs) +
         "\n      measure: wall\n    variants:\n      - name: base\n      - name: slow\n"
         "        run: sleep 0.06\n";
}

TEST(Verdicts, FiveRoundsOfATwofoldSlowdownAreSlowerByTheExactUnpairedTestMoreArePaired) {
  Cluster c;
  c.add_agent("a", "", "m1");
  for (auto [runs, method, words] :
       {std::tuple{5, "mann-whitney-exact", "Mann-Whitney, exact, rounds unpaired"},
        std::tuple{8, "wilcoxon-signed-rank", "paired by round"}}) {
    std::string pipeline, log;
    pqxx::result row;
    for (int attempt = 1; attempt <= 3; ++attempt) {
      c.write_file("twice.yml", twofold_sleep("twice" + std::to_string(runs), runs));
      auto r = c.cli({"submit", "twice.yml", "--wait"});
      ASSERT_EQ(r.code, 0) << r.out << r.err;
      EXPECT_EQ(r.err.find("warning"), std::string::npos) << r.err;  // these runs can decide
      pipeline = std::to_string(c.scalar("SELECT max(id) FROM pipelines"));
      row = c.query(
          "SELECT r.verdict, r.method, r.ci_low, r.ci_high, r.ratio, r.p_value, r.n FROM "
          "bench_results r JOIN jobs j ON j.id = r.job_id WHERE j.pipeline_id = " +
          pipeline + " AND r.measure = 'wall' AND r.variant = 'slow'");
      ASSERT_EQ(row.size(), 1u);
      log = only_job_log(c);
      if (row[0][0].as<std::string>() == "slower") break;
      std::printf("%d rounds, pipeline %d of 3: %s (p = %s); the host disturbed it\n", runs,
                  attempt, row[0][0].c_str(), row[0][5].c_str());
    }
    EXPECT_EQ(row[0][0].as<std::string>(), "slower") << log;
    EXPECT_EQ(row[0][1].as<std::string>(), method);
    EXPECT_EQ(row[0][6].as<int>(), runs);
    // The interval agrees with the verdict: above 1, around the ratio.
    const double low = row[0][2].as<double>(), high = row[0][3].as<double>();
    const double ratio = row[0][4].as<double>();
    EXPECT_GT(low, 1.0) << log;
    EXPECT_LE(low, ratio);
    EXPECT_GE(high, ratio);
    EXPECT_GT(ratio, 1.4) << log;  // twice the wait, less the start of each run
    EXPECT_LT(row[0][5].as<double>(), 0.05);
    EXPECT_NE(log.find(words), std::string::npos) << log;
    EXPECT_NE(log.find("slower (could see "), std::string::npos) << log;
    EXPECT_EQ(log.find("too few runs"), std::string::npos) << log;
    json rows = json::parse(c.cli({"compare", pipeline, "--json"}).out);
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[1]["verdict"], "slower");
    EXPECT_EQ(rows[1]["method"], method);
    EXPECT_GT(rows[1]["ci_low"].get<double>(), 1.0);
  }
}

TEST(Verdicts, ThreeRoundsAreWarnedAtSubmitAndJudgedNoChangeWithAnUnboundedInterval) {
  Cluster c;
  c.add_agent("a", "", "m1");
  c.write_file("three.yml", twofold("three", 3));
  auto r = c.cli({"submit", "three.yml", "--wait"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;  // accepted all the same
  EXPECT_NE(r.err.find("yardstick: warning: three.yml:8:13: jobs.spin.bench.runs: runs 3: no test "
                       "can tell its variants apart with 3 runs each at alpha 0.05"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("give it at least 4 runs"), std::string::npos) << r.err;
  auto row = c.query(
      "SELECT verdict, method, ci_low, ci_high = 'Infinity'::float8, p_value, mde, "
      "array_to_string(warnings, '; ') FROM bench_results WHERE measure = 'cpu' AND variant = "
      "'slow'");
  ASSERT_EQ(row.size(), 1u);
  EXPECT_EQ(row[0][0].as<std::string>(), "no change");
  EXPECT_EQ(row[0][1].as<std::string>(), "none");
  EXPECT_DOUBLE_EQ(row[0][2].as<double>(), 0);  // no bound at 95 %: the interval holds 1
  EXPECT_TRUE(row[0][3].as<bool>());
  EXPECT_GE(row[0][4].as<double>(), 0.05);
  EXPECT_TRUE(row[0][5].is_null());
  EXPECT_NE(row[0][6].as<std::string>().find("too few runs to tell: with 3 interleaved rounds no "
                                             "test can decide at alpha 0.05"),
            std::string::npos);
  const std::string pipeline = std::to_string(c.scalar("SELECT max(id) FROM pipelines"));
  auto j = c.cli({"compare", pipeline, "--json"});
  ASSERT_EQ(j.code, 0) << j.err;
  json rows = json::parse(j.out);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1]["ci_high"], "Infinity") << j.out;
  EXPECT_EQ(rows[1]["method"], "none");
  EXPECT_EQ(rows[1]["detail"].get<std::string>().rfind(
                "no change (could not have seen any change with 3 runs", 0),
            0u)
      << j.out;
  EXPECT_EQ(c.cli({"compare", pipeline}).code, 0);
}

TEST(Verdicts, PrecisionKeepsRunningUntilItSeesTheSlowdown) {
  Cluster c;
  c.add_agent("a", "", "m1");
  // The same 3 %, in a command whose time this shared machine does not
  // blur: a sleep's wall time swings by about 0.5 % from run to run here,
  // where a spinning command's wall and CPU time swing by 15 to 20 % (the
  // next test), which ±1 % would need about 1,000 rounds to average out.
  c.write_file("seen.yml", R"(pipeline: seen
jobs:
  nap:
    kind: bench
    bench:
      run: sleep 0.2
      warmup: 1
      runs: auto
      precision: 1%
      max_runs: 300
    variants:
      - name: base
      - name: slower
        run: sleep 0.206
)");
  auto r = c.cli({"submit", "seen.yml", "--wait"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  const std::string log = only_job_log(c);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      log, m, std::regex(R"(stopped: precision 1% reached after ([0-9]+) rounds, interval \+-)")))
      << log;
  const int rounds = std::stoi(m[1]);
  EXPECT_GE(rounds, 10);  // min_runs
  EXPECT_LT(rounds, 300);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM samples"), 2 * rounds);
  auto row = c.query(
      "SELECT verdict, stop_reason, n, mde, ratio, ci_low FROM bench_results WHERE measure = "
      "'wall' AND variant = 'slower'");
  ASSERT_EQ(row.size(), 1u);
  EXPECT_EQ(row[0][0].as<std::string>(), "slower") << log;
  EXPECT_EQ(row[0][1].as<std::string>(), "precision");
  EXPECT_EQ(row[0][2].as<int>(), rounds);
  EXPECT_LT(row[0][3].as<double>(), 0.03);  // it could see 3 %, and did
  EXPECT_NEAR(row[0][4].as<double>(), 1.03, 0.015);
  EXPECT_GT(row[0][5].as<double>(), 1.0);
  EXPECT_NE(log.find("slower (could see "), std::string::npos) << log;
  const std::string pipeline = std::to_string(c.scalar("SELECT max(id) FROM pipelines"));
  json rows = json::parse(c.cli({"compare", pipeline, "--json"}).out);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1]["verdict"], "slower");
  EXPECT_EQ(rows[1]["stop_reason"], "precision");
}

TEST(Verdicts, PrecisionOutOfReachStopsAtMaxRunsAndSaysHowFarItGot) {
  Cluster c;
  c.add_agent("a", "", "m1");
  // The spinning command 3 % slower, judged on CPU time: on a quiet machine
  // +-1 % comes within the 120 rounds; on this shared one it does not, and
  // the job says how far it got. Either way the stop is the one the data
  // gives, stored and said.
  c.write_file("spin.yml",
               "pipeline: spun\njobs:\n  spin:\n    kind: bench\n    bench:\n"
               "      run: " +
                   spin() + " " + std::to_string(kIterations / 4) +
                   "\n      warmup: 1\n      runs: auto\n      precision: 1%\n"
                   "      max_runs: 120\n      measure: cpu\n    variants:\n"
                   "      - name: base\n      - name: slower\n        run: " +
                   spin() + " " + std::to_string(kSlower / 4) + "\n");
  auto r = c.cli({"submit", "spin.yml", "--wait"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  const std::string log = only_job_log(c);
  EXPECT_NE(log.find("in cpu time"), std::string::npos) << log;
  auto row = c.query(
      "SELECT stop_reason, n, mde, measure FROM bench_results WHERE measure = 'cpu' AND variant = "
      "'slower'");
  ASSERT_EQ(row.size(), 1u);
  const std::string why = row[0][0].as<std::string>();
  const int n = row[0][1].as<int>();
  std::smatch m;
  if (why == "precision") {
    ASSERT_TRUE(std::regex_search(
        log, m, std::regex(R"(stopped: precision 1% reached after ([0-9]+) rounds)")))
        << log;
    EXPECT_EQ(std::stoi(m[1]), n);
    EXPECT_LT(n, 120);
  } else {
    EXPECT_EQ(why, "max_runs") << log;
    EXPECT_EQ(n, 120);
    ASSERT_TRUE(std::regex_search(
        log, m,
        std::regex(
            R"(stopped: max_runs 120 reached, interval \+-([0-9.]+) %, short of precision 1%)")))
        << log;
    EXPECT_GT(std::stod(m[1]), 1.0);
  }
  std::printf("spinning command, cpu time: stopped by %s after %d rounds, MDE %.1f %%\n",
              why.c_str(), n, 100 * row[0][2].as<double>());
}

TEST(Verdicts, MeasureRevisionsAndContendedSamplesInCompare) {
  Cluster c;
  c.add_agent("a", "", "m1");
  for (auto [rev, iterations] : {std::pair{"aaa111", kIterations / 2}, {"bbb222", kIterations}}) {
    c.write_file("rev.yml",
                 "pipeline: revs\njobs:\n  spin:\n    kind: bench\n    bench:\n"
                 "      run: " +
                     spin() + " " + std::to_string(iterations) +
                     "\n      runs: 8\n      measure: cpu\n    variants:\n"
                     "      - name: base\n      - name: same\n");
    auto r = c.cli({"submit", "rev.yml", "--wait", "--revision", rev});
    ASSERT_EQ(r.code, 0) << r.out << r.err;
  }
  // Stored per verdict: a row per measure, cpu the job's.
  EXPECT_EQ(c.scalar("SELECT count(*) FROM bench_results WHERE measure = 'cpu'"), 4);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM bench_results WHERE measure = 'instructions'"), 0);

  // The agent marks runs that a loaded machine slowed (run context); this
  // test marks its own below, so it starts from none.
  c.query("UPDATE samples SET contended = false");
  auto rev = c.cli(
      {"compare", "--revisions", "aaa", "bbb", "--job", "spin", "--measure", "cpu", "--json"});
  ASSERT_EQ(rev.code, 0) << rev.err;
  json rows = json::parse(rev.out);
  ASSERT_EQ(rows.size(), 2u) << rev.out;  // variants base and same
  for (const auto& row : rows) {
    // Twice the work, but this machine's CPU time can swing by more than
    // that between two jobs: the verdict is not asserted, its making is.
    EXPECT_EQ(row["measure"], "cpu");
    EXPECT_FALSE(row["verdict"].is_null()) << row.dump();
    EXPECT_EQ(row["method"], "mann-whitney");
    EXPECT_TRUE(row["mde_pct"].is_number()) << row.dump();
    EXPECT_EQ(row["n_a"], 8);
    EXPECT_EQ(row["contended"], 0);
  }
  // instructions: this build records none (NULL), so none are judged.
  auto ins = c.cli({"compare", "--revisions", "aaa", "bbb", "--job", "spin", "--measure",
                    "instructions", "--json"});
  ASSERT_EQ(ins.code, 0) << ins.err;
  rows = json::parse(ins.out);
  ASSERT_FALSE(rows.empty());
  EXPECT_TRUE(rows[0]["verdict"].is_null());
  EXPECT_NE(rows[0]["detail"].get<std::string>().find("measure instructions refused"),
            std::string::npos);

  // Two rounds marked contended (as the agent's run context would): compare
  // counts them, and --drop-contended recomputes without them.
  const std::string last = std::to_string(c.scalar("SELECT max(id) FROM pipelines"));
  c.query(
      "UPDATE samples SET contended = true WHERE idx IN (1, 5) AND job_id = "
      "(SELECT max(id) FROM jobs)");
  auto dropped = c.cli({"compare", last, "--drop-contended", "--json"});
  ASSERT_EQ(dropped.code, 0) << dropped.err;
  rows = json::parse(dropped.out);
  ASSERT_EQ(rows.size(), 2u) << dropped.out;
  EXPECT_EQ(rows[0]["n"], 6);
  EXPECT_EQ(rows[0]["contended"], 2);
  EXPECT_EQ(rows[0]["measure"], "cpu");
  // Warnings are a list; the first says the verdict was recomputed.
  ASSERT_TRUE(rows[1]["warnings"].is_array()) << dropped.out;
  ASSERT_FALSE(rows[1]["warnings"].empty()) << dropped.out;
  EXPECT_NE(rows[1]["warnings"][0].get<std::string>().find(
                "recomputed from the samples without the 4 contended one(s)"),
            std::string::npos)
      << dropped.out;
  EXPECT_NE(rows[1]["detail"].get<std::string>().find("with 6 runs"), std::string::npos);
  auto table = c.cli({"compare", last, "--drop-contended"});
  EXPECT_NE(table.out.find("not the stored verdicts"), std::string::npos) << table.out;
  rev = c.cli(
      {"compare", "--revisions", "aaa", "bbb", "--job", "spin", "--drop-contended", "--json"});
  rows = json::parse(rev.out);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["contended"], 2);
  EXPECT_EQ(rows[0]["n_b"], 6);
  EXPECT_NE(rows[0]["detail"].get<std::string>().find("without 2 contended sample(s)"),
            std::string::npos);
  // A bench that asks for instructions where none were counted is not
  // judged on zeros: its rows say so, and compare falls back to wall.
  c.write_file("ins.yml",
               "pipeline: ins\njobs:\n  spin:\n    kind: bench\n    bench:\n"
               "      run: " +
                   spin() +
                   " 1000\n      runs: 6\n"
                   "      measure: instructions\n    variants:\n"
                   "      - name: base\n      - name: again\n");
  ASSERT_EQ(c.cli({"submit", "ins.yml", "--wait"}).code, 0);
  const std::string ins_pipeline = std::to_string(c.scalar("SELECT max(id) FROM pipelines"));
  EXPECT_EQ(c.scalar("SELECT count(*) FROM bench_results r JOIN jobs j ON j.id = r.job_id WHERE "
                     "j.pipeline_id = " +
                     ins_pipeline + " AND r.measure = 'instructions'"),
            0);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM bench_results r JOIN jobs j ON j.id = r.job_id WHERE "
                     "j.pipeline_id = " +
                     ins_pipeline +
                     " AND array_to_string(warnings, ' ') LIKE '%measure instructions refused: 12 "
                     "sample(s) have no instruction count%'"),
            4);  // wall and cpu, both variants
  json fallback = json::parse(c.cli({"compare", ins_pipeline, "--json"}).out);
  ASSERT_EQ(fallback.size(), 2u);
  EXPECT_EQ(fallback[1]["measure"], "wall");
  auto none = c.cli({"compare", ins_pipeline, "--measure", "instructions"});
  EXPECT_EQ(none.code, 4);
  EXPECT_NE(none.err.find("no benchmark results in measure instructions"), std::string::npos)
      << none.err;

  // A measure compare does not know is the CLI's error.
  EXPECT_EQ(c.cli({"compare", last, "--measure", "cycles"}).code, 2);
}

}  // namespace
}  // namespace yardstick::test
