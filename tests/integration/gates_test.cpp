// Gates, end to end: a job whose need failed or whose bench regressed is
// skipped and its command never runs; jobs of one concurrency group never
// overlap, across pipelines and across a coordinator restart, and the one
// waiting says so in `yardstick status`.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/integration/harness.hpp"

namespace yardstick::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A bench of two interleaved variants: `base` runs `base_cmd`, `other` runs
// `other_cmd`, and job `ship` (kind build) needs it with no_regression and
// would write `marker`.
std::string gated_pipeline(const std::string& base_cmd, const std::string& other_cmd,
                           const std::string& marker) {
  return "pipeline: gated\n"
         "jobs:\n"
         "  bench:\n"
         "    kind: bench\n"
         "    bench: {warmup: 1, runs: 12}\n"
         "    variants:\n"
         "      - {name: base, run: '" +
         base_cmd +
         "'}\n"
         "      - {name: other, run: '" +
         other_cmd +
         "'}\n"
         "  ship:\n"
         "    needs: [{job: bench, no_regression: true}]\n"
         "    steps: [{name: release, run: 'touch " +
         marker + "'}]\n";
}

std::string job_message(Cluster& c, const std::string& name) {
  return c.text("SELECT state || ': ' || message FROM jobs WHERE name = '" + name +
                "' ORDER BY id DESC LIMIT 1");
}

TEST(Gates, AFailedBuildSkipsItsDependentWhoseCommandNeverRuns) {
  Cluster c;
  c.add_agent("a", "", "m1");
  const std::string marker = c.dir() + "/released";
  c.write_file("p.yml",
               "pipeline: release\njobs:\n"
               "  build:\n    steps: [{name: compile, run: 'exit 3'}]\n"
               "  ship:\n    kind: build\n    needs: [build]\n"
               "    steps: [{name: release, run: 'touch " +
                   marker + "'}]\n");
  auto r = c.cli({"submit", "p.yml", "--wait"});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_FALSE(fs::exists(marker));
  EXPECT_EQ(job_message(c, "ship"), "skipped: need build ended failed");
  EXPECT_EQ(c.scalar("SELECT count(*) FROM steps s JOIN jobs j ON j.id = s.job_id"
                     " WHERE j.name = 'ship'"),
            0);
  const std::string pipeline = std::to_string(c.scalar("SELECT id FROM pipelines"));
  auto st = c.cli({"status", pipeline});
  ASSERT_EQ(st.code, 0) << st.err;
  EXPECT_NE(st.out.find("skipped"), std::string::npos) << st.out;
  EXPECT_NE(st.out.find("ship: need build ended failed"), std::string::npos) << st.out;
}

TEST(Gates, ABenchJudgedSlowerSkipsTheGatedJobAndStatusSaysWhy) {
  Cluster c;
  c.add_agent("a", "", "m1");
  const std::string marker = c.dir() + "/released";
  c.write_file("p.yml", gated_pipeline("sleep 0.05", "sleep 0.1", marker));
  auto r = c.cli({"submit", "p.yml", "--wait"});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_EQ(c.text("SELECT state FROM jobs WHERE name = 'bench'"), "succeeded");
  EXPECT_EQ(c.text("SELECT verdict FROM bench_results WHERE variant = 'other'"
                   " AND measure = 'wall'"),
            "slower");
  EXPECT_FALSE(fs::exists(marker));
  const std::string why = job_message(c, "ship");
  EXPECT_EQ(why.rfind("skipped: bench judged slower: variant other ", 0), 0u) << why;
  EXPECT_NE(why.find("x slower than base (95% CI "), std::string::npos) << why;
  const std::string pipeline = std::to_string(c.scalar("SELECT id FROM pipelines"));
  auto st = c.cli({"status", pipeline});
  ASSERT_EQ(st.code, 0) << st.err;
  EXPECT_NE(st.out.find("ship: bench judged slower: variant other"), std::string::npos) << st.out;
}

TEST(Gates, ABenchThatDidNotRegressLetsTheGatedJobRun) {
  Cluster c;
  c.add_agent("a", "", "m1");
  const std::string marker = c.dir() + "/released";
  // The variant is faster than its baseline: no regression.
  c.write_file("p.yml", gated_pipeline("sleep 0.1", "sleep 0.05", marker));
  auto r = c.cli({"submit", "p.yml", "--wait"});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(c.text("SELECT verdict FROM bench_results WHERE variant = 'other'"
                   " AND measure = 'wall'"),
            "faster");
  EXPECT_EQ(job_message(c, "ship"), "succeeded: ");
  EXPECT_TRUE(fs::exists(marker));
}

TEST(Gates, ABenchSlowerThanItsPreviousRevisionOnTheMachineSkipsTheGatedJob) {
  Cluster c;
  c.add_agent("a", "", "m1");
  const std::string marker = c.dir() + "/released";
  auto pipeline = [&](const std::string& cmd) {
    return "pipeline: gated\njobs:\n"
           "  bench:\n    kind: bench\n    bench: {warmup: 1, runs: 12, run: '" +
           cmd +
           "'}\n"
           "  ship:\n    needs: [{job: bench, no_regression: true}]\n"
           "    steps: [{name: release, run: 'touch " +
           marker + "'}]\n";
  };
  c.write_file("old.yml", pipeline("sleep 0.05"));
  auto r = c.cli({"submit", "old.yml", "--wait", "--revision", "1111111111aaaa"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  ASSERT_TRUE(fs::exists(marker));
  fs::remove(marker);
  c.write_file("new.yml", pipeline("sleep 0.1"));
  // A new revision, slower than the last one that ran on m1.
  r = c.cli({"submit", "new.yml", "--wait", "--revision", "2222222222bbbb"});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_FALSE(fs::exists(marker));
  const std::string why = job_message(c, "ship");
  EXPECT_EQ(why.rfind("skipped: bench judged slower: variant default ", 0), 0u) << why;
  EXPECT_NE(why.find("% slower than revision 1111111111aa on machine m1"), std::string::npos)
      << why;
}

TEST(Gates, TheRegressionGateHoldsAcrossACoordinatorRestart) {
  Cluster c;
  c.add_agent("a", "", "m1");
  const std::string marker = c.dir() + "/released";
  c.write_file("p.yml", gated_pipeline("sleep 0.1", "sleep 0.2", marker));
  ASSERT_EQ(c.cli({"submit", "p.yml"}).code, 0);
  // Restarted while the bench runs: the gated job is reloaded from the store.
  ASSERT_TRUE(wait_for([&] { return c.scalar("SELECT count(*) FROM samples") >= 2; }, 20s));
  c.kill_coordinator();
  c.start_coordinator();
  ASSERT_TRUE(wait_for(
      [&] { return c.text("SELECT state FROM jobs WHERE name = 'ship'") == "skipped"; }, 60s))
      << c.text("SELECT string_agg(name || ' ' || state || ' ' || message, '; ') FROM jobs");
  EXPECT_FALSE(fs::exists(marker));
  EXPECT_NE(job_message(c, "ship").find("bench judged slower: variant other"), std::string::npos);
}

TEST(Gates, AStoreOutageWhenTheBenchEndsNeitherCrashesNorSkipsWrongly) {
  PrivatePg pg;
  Cluster::Options options;
  options.dsn = pg.dsn();
  Cluster c(options);
  c.add_agent("a", "", "m1");
  const std::string marker = c.dir() + "/released", go = c.dir() + "/go";
  // The bench ends (and is judged) only once `go` exists: after PostgreSQL stopped.
  std::string yaml = gated_pipeline("sleep 0.1", "sleep 0.05", marker);
  yaml.replace(yaml.find("runs: 12}"), 9,
               "runs: 12, cleanup: 'while [ ! -e " + go + " ]; do sleep 0.1; done'}");
  c.write_file("p.yml", yaml);
  ASSERT_EQ(c.cli({"submit", "p.yml"}).code, 0);
  ASSERT_TRUE(wait_for([&] { return c.scalar("SELECT count(*) FROM samples") == 24; }, 30s));
  pg.stop();
  std::ofstream(go) << "go\n";
  std::this_thread::sleep_for(3s);
  EXPECT_TRUE(c.coordinator().running());
  pg.start();
  // Judged once the store is back: the variant is faster, so the job runs.
  ASSERT_TRUE(wait_for(
      [&] {
        try {
          return c.text("SELECT state FROM jobs WHERE name = 'ship'") == "succeeded";
        } catch (const std::exception&) {
          return false;
        }
      },
      60s))
      << c.text("SELECT string_agg(name || ' ' || state || ' ' || message, '; ') FROM jobs");
  EXPECT_TRUE(fs::exists(marker));
  EXPECT_EQ(c.text("SELECT verdict FROM bench_results WHERE variant = 'other'"
                   " AND measure = 'wall'"),
            "faster");
}

// Two pipelines, one group, an agent with room for both: one at a time.
const char* kGrouped = R"(pipeline: PIPE
concurrency: production
jobs:
  deploy:
    steps: [{name: release, run: 'sleep 3'}]
)";

std::string grouped(const std::string& name) {
  std::string text = kGrouped;
  text.replace(text.find("PIPE"), 4, name);
  return text;
}

void expect_no_overlap(Cluster& c) {
  auto rows = c.query(
      "SELECT id, started_at, ended_at, ended_at <= lead(started_at) OVER (ORDER BY started_at)"
      " FROM jobs WHERE name = 'deploy' ORDER BY started_at");
  ASSERT_EQ(rows.size(), 2u);
  for (const auto& row : rows) {
    EXPECT_FALSE(row[1].is_null());
    EXPECT_FALSE(row[2].is_null());
  }
  EXPECT_TRUE(rows[0][3].as<bool>())
      << "job " << rows[0][0].c_str() << " ended " << rows[0][2].c_str() << ", job "
      << rows[1][0].c_str() << " started " << rows[1][1].c_str();
}

TEST(Gates, JobsOfOneConcurrencyGroupNeverOverlapAndTheWaitingOneSaysWhy) {
  Cluster c;
  c.add_agent("a", "", "m1", 3);
  c.write_file("one.yml", grouped("one"));
  // The second pipeline also has a job in a group of its own: it runs beside.
  c.write_file("two.yml",
               grouped("two") + "  other:\n    concurrency: side\n    steps: [{run: 'sleep 1'}]\n");
  ASSERT_EQ(c.cli({"submit", "one.yml"}).code, 0);
  ASSERT_TRUE(wait_for([&] { return c.text("SELECT state FROM jobs") == "running"; }, 10s));
  ASSERT_EQ(c.cli({"submit", "two.yml"}).code, 0);
  const int64_t first = c.scalar("SELECT id FROM jobs WHERE name = 'deploy' ORDER BY id LIMIT 1");
  const int64_t first_pipeline = c.scalar("SELECT min(id) FROM pipelines");
  const std::string second_pipeline = std::to_string(c.scalar("SELECT max(id) FROM pipelines"));
  const std::string expected = "waiting for concurrency group production (job " +
                               std::to_string(first) + " of pipeline " +
                               std::to_string(first_pipeline) + " is running)";
  std::string shown;
  ASSERT_TRUE(wait_for(
      [&] {
        shown = c.cli({"status", second_pipeline}).out;
        return shown.find(expected) != std::string::npos;
      },
      5s))
      << shown;
  EXPECT_NE(shown.find("queued"), std::string::npos) << shown;
  ASSERT_TRUE(wait_for(
      [&] { return c.scalar("SELECT count(*) FROM jobs WHERE state = 'succeeded'") == 3; }, 20s))
      << c.text("SELECT string_agg(name || ' ' || state || ' ' || message, '; ') FROM jobs");
  expect_no_overlap(c);
  // The job of another group did not wait: it ran beside the first deploy.
  EXPECT_EQ(c.scalar("SELECT count(*) FROM jobs o, jobs d WHERE o.name = 'other' AND d.id = " +
                     std::to_string(first) + " AND o.started_at < d.ended_at"),
            1);
  EXPECT_EQ(c.text("SELECT message FROM jobs WHERE pipeline_id = " + second_pipeline +
                   " AND name = 'deploy'"),
            "");
}

TEST(Gates, AConcurrencyGroupHoldsAcrossACoordinatorRestart) {
  Cluster c;
  c.add_agent("a", "", "m1", 2);
  c.write_file("one.yml", grouped("one"));
  c.write_file("two.yml", grouped("two"));
  ASSERT_EQ(c.cli({"submit", "one.yml"}).code, 0);
  ASSERT_TRUE(wait_for([&] { return c.text("SELECT state FROM jobs") == "running"; }, 10s));
  ASSERT_EQ(c.cli({"submit", "two.yml"}).code, 0);
  c.kill_coordinator();
  c.start_coordinator();
  // The agent registers again with the running job; the other still waits.
  const std::string second_pipeline = std::to_string(c.scalar("SELECT max(id) FROM pipelines"));
  std::string shown;
  ASSERT_TRUE(wait_for(
      [&] {
        shown = c.cli({"status", second_pipeline}).out;
        return shown.find("waiting for concurrency group production") != std::string::npos;
      },
      5s))
      << shown;
  ASSERT_TRUE(wait_for(
      [&] { return c.scalar("SELECT count(*) FROM jobs WHERE state = 'succeeded'") == 2; }, 20s))
      << c.text("SELECT string_agg(name || ' ' || state || ' ' || message, '; ') FROM jobs");
  expect_no_overlap(c);
}

}  // namespace
}  // namespace yardstick::test
