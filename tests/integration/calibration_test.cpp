// Machine calibration end to end: real agents run the shipped
// micro-benchmarks when their machine is new and on demand, the results
// land in PostgreSQL, `yardstick agents` shows each machine's noise, and
// `compare --machines` gives each machine's speed index an interval and
// names no winner between two machines that are the same hardware.
#include <gtest/gtest.h>

#include <cmath>
#include <csignal>
#include <map>
#include <nlohmann/json.hpp>

#include "common/calibration.hpp"
#include "tests/integration/harness.hpp"

namespace yardstick::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

Cluster::Options calibrating() {
  Cluster::Options o;
  o.calibrate_new_machines = true;
  return o;
}

int64_t calibration_rows(Cluster& c, const std::string& machine) {
  return c.scalar(
      "SELECT count(*) FROM machine_calibrations k JOIN machines m ON m.id = k.machine_id "
      "WHERE m.name = '" +
      machine + "'");
}

bool wait_calibrated(Cluster& c, const std::string& machine, int64_t rows) {
  return wait_for([&] { return calibration_rows(c, machine) >= rows; }, 90s);
}

TEST(Calibration, ANewMachineIsCalibratedWhenItsAgentRegisters) {
  Cluster c(calibrating());
  c.add_agent("a", "pool=cal", "box-a");
  ASSERT_TRUE(wait_calibrated(c, "box-a", 4)) << c.coordinator().log();
  // One row per micro-benchmark, each with every repetition.
  auto rows = c.query(
      "SELECT benchmark, median_s, noise, runs, cardinality(times_s) FROM machine_calibrations "
      "ORDER BY benchmark");
  ASSERT_EQ(rows.size(), 4u);
  const char* names[] = {"cpu", "io", "memory", "spawn"};
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i][0].as<std::string>(), names[i]);
    EXPECT_GT(rows[i][1].as<double>(), 0);
    EXPECT_LT(rows[i][1].as<double>(), 10.0);  // a physical bound, not a speed
    EXPECT_GE(rows[i][2].as<double>(), 0);
    EXPECT_EQ(rows[i][3].as<int>(), 15);
    EXPECT_EQ(rows[i][4].as<int>(), 15);
  }
  // It ran as a job of kind calibrate, on that agent, and succeeded.
  EXPECT_EQ(c.text("SELECT state || ' ' || target_agent FROM jobs WHERE kind = 'calibrate'"),
            "succeeded " + c.agent_name("a"));

  // A second agent on a machine already calibrated does not calibrate again;
  // an agent that restarts on its machine does not either.
  c.add_agent("b", "pool=cal", "box-a");
  c.agent("a").signal(SIGKILL);
  c.agent("a").wait(10s);
  const size_t from = c.coordinator().log().size();
  c.restart_agent("a");
  // Once it registered again, a request answered after that turn: any
  // calibration the registration made would be stored by now.
  EXPECT_TRUE(c.wait_registered("a", from));
  EXPECT_EQ(c.cli({"agents"}).code, 0);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM jobs WHERE kind = 'calibrate'"), 1);

  // `yardstick agents` shows the machine's noise level and speed.
  auto table = c.cli({"agents"});
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_NE(table.out.find("NOISE"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find(" %"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("cpu "), std::string::npos) << table.out;
  EXPECT_EQ(table.out.find("not calibrated"), std::string::npos) << table.out;
  auto js = c.cli({"agents", "--json"});
  ASSERT_EQ(js.code, 0) << js.err;
  for (const auto& agent : json::parse(js.out)) {
    ASSERT_TRUE(agent["calibration"].is_object()) << agent.dump();
    EXPECT_TRUE(agent["calibration"]["noise"].is_number()) << agent.dump();
    EXPECT_EQ(agent["calibration"]["benchmarks"].size(), 4u) << agent.dump();
    EXPECT_EQ(agent["calibration"]["benchmarks"][0]["benchmark"], "cpu") << agent.dump();
  }
}

TEST(Calibration, OnDemandCalibrationWaitsForTheAgentsJobAndStoresAnother) {
  Cluster c;  // no calibration at registration: the machine starts uncalibrated
  c.add_agent("a", "pool=cal", "box-c");
  auto before = c.cli({"agents"});
  EXPECT_NE(before.out.find("not calibrated"), std::string::npos) << before.out;
  auto js = c.cli({"agents", "--json"});
  EXPECT_TRUE(json::parse(js.out)[0]["calibration"].is_null()) << js.out;

  // A read key may not ask for one: exit 4 as for every refused write.
  auto read = c.cli({"--key", c.key_file("reader"), "calibrate", c.agent_name("a")});
  EXPECT_EQ(read.code, 4) << read.out << read.err;
  EXPECT_NE(read.err.find("calibrate needs a key with the submit role"), std::string::npos)
      << read.err;
  auto unknown = c.cli({"calibrate", "nobody"});
  EXPECT_EQ(unknown.code, 4) << unknown.err;
  EXPECT_NE(unknown.err.find("no agent named 'nobody'"), std::string::npos) << unknown.err;
  EXPECT_EQ(c.scalar("SELECT count(*) FROM jobs WHERE kind = 'calibrate'"), 0);

  // A job is running on the agent: the calibration waits for it to end.
  c.write_file("busy.yml", R"(pipeline: busy
jobs:
  nap:
    on: { labels: [pool=cal] }
    steps:
      - run: sleep 1.5
)");
  auto sub = c.cli({"submit", "busy.yml"});
  ASSERT_EQ(sub.code, 0) << sub.err;
  ASSERT_TRUE(wait_for(
      [&] { return c.scalar("SELECT count(*) FROM jobs WHERE state = 'running'") == 1; }, 20s));
  auto r = c.cli({"calibrate", c.agent_name("a"), "--wait"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("calibration of agent " + c.agent_name("a")), std::string::npos) << r.out;
  for (const char* b : {"cpu", "memory", "spawn", "io"})
    EXPECT_NE(r.out.find(b), std::string::npos) << r.out;
  // Medians for people: a MEDIAN column in ms or µs, not MEDIAN_MS.
  EXPECT_NE(r.out.find("MEDIAN "), std::string::npos) << r.out;
  EXPECT_TRUE(r.out.find(" ms") != std::string::npos || r.out.find(" µs") != std::string::npos)
      << r.out;
  EXPECT_EQ(calibration_rows(c, "box-c"), 4);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM jobs j, jobs n WHERE j.kind = 'calibrate' AND "
                     "n.name = 'nap' AND j.started_at >= n.ended_at"),
            1);

  // Again: a second calibration, the first kept; `agents` shows the latest.
  auto again = c.cli({"calibrate", c.agent_name("a"), "--wait", "--json"});
  ASSERT_EQ(again.code, 0) << again.out << again.err;
  auto rows = json::parse(again.out);
  ASSERT_EQ(rows.size(), 4u) << again.out;
  EXPECT_TRUE(rows[0]["noise"].is_number()) << again.out;
  EXPECT_EQ(calibration_rows(c, "box-c"), 8);
  EXPECT_EQ(c.scalar("SELECT count(DISTINCT job_id) FROM machine_calibrations"), 2);
  auto latest = json::parse(c.cli({"agents", "--json"}).out)[0]["calibration"];
  ASSERT_TRUE(latest.is_object());
  EXPECT_NEAR(latest["benchmarks"][0]["median_s"].get<double>(),
              c.query("SELECT median_s FROM machine_calibrations WHERE benchmark = 'cpu' "
                      "ORDER BY job_id DESC LIMIT 1")[0][0]
                  .as<double>(),
              1e-12);
}

TEST(Calibration, ResultsMeasuredWhileNobodyListensSurviveInTheSpool) {
  Cluster c;
  c.add_agent("a", "pool=cal", "box-s");
  ASSERT_EQ(c.cli({"calibrate", c.agent_name("a")}).code, 0);
  const std::string job = std::to_string(c.scalar("SELECT id FROM jobs WHERE kind = 'calibrate'"));
  ASSERT_TRUE(wait_for(
      [&] { return c.scalar("SELECT count(*) FROM steps WHERE name = 'calibrate'") == 1; }, 30s));
  // The coordinator goes away while the agent calibrates; the agent finishes
  // and is then killed itself: its results are only in its spool.
  c.kill_coordinator();
  ASSERT_TRUE(wait_for(
      [&] {
        return c.agent("a").log().find("job " + job + " attempt 1 ended") != std::string::npos;
      },
      60s))
      << c.agent("a").log();
  c.agent("a").signal(SIGKILL);
  c.agent("a").wait(10s);
  EXPECT_EQ(calibration_rows(c, "box-s"), 0);
  c.start_coordinator();
  c.restart_agent("a");
  ASSERT_TRUE(wait_for(
      [&] {
        return c.text("SELECT state FROM jobs WHERE id = " + job) == "succeeded" &&
               calibration_rows(c, "box-s") == 4;
      },
      30s))
      << c.text("SELECT state || ' ' || message FROM jobs") << c.coordinator().log();
  EXPECT_EQ(c.scalar("SELECT max(attempt) FROM machine_calibrations"), 1);
  EXPECT_EQ(c.scalar("SELECT min(runs) FROM machine_calibrations"), 15);
}

TEST(Calibration, ACalibrationCutShortRunsAgainOnTheSameAgentAfterBothRestart) {
  Cluster c;
  c.add_agent("z", "pool=cal", "box-r");
  // Idle, on the same machine, and first by name: without the pin to the
  // agent asked the retry would go to it.
  c.add_agent("b", "pool=cal", "box-r");
  ASSERT_EQ(c.cli({"calibrate", c.agent_name("z")}).code, 0);
  ASSERT_TRUE(wait_for(
      [&] { return c.scalar("SELECT count(*) FROM steps WHERE name = 'calibrate'") == 1; }, 30s));
  // Both die mid-calibration; the coordinator reloads the job from PostgreSQL.
  c.agent("z").signal(SIGKILL);
  c.agent("z").wait(10s);
  c.kill_coordinator();
  c.start_coordinator();
  c.restart_agent("b");
  c.restart_agent("z");
  ASSERT_TRUE(wait_for(
      [&] { return c.text("SELECT state FROM jobs WHERE kind = 'calibrate'") == "succeeded"; },
      60s))
      << c.text("SELECT state || ' ' || message FROM jobs") << c.coordinator().log();
  EXPECT_EQ(c.scalar("SELECT attempt FROM jobs WHERE kind = 'calibrate'"), 2);
  EXPECT_EQ(c.text("SELECT a.name FROM jobs j JOIN agents a ON a.id = j.agent_id"),
            c.agent_name("z"));
  EXPECT_EQ(calibration_rows(c, "box-r"), 4);
  EXPECT_EQ(c.text("SELECT DISTINCT a.name FROM machine_calibrations k JOIN agents a "
                   "ON a.id = k.agent_id"),
            c.agent_name("z"));
}

TEST(Calibration, CompareMachinesGivesAnIntervalAndNoWinnerBetweenTwins) {
  // Two agents on this one host, named as two machines: the same hardware.
  Cluster c(calibrating());
  c.add_agent("x", "pool=twin", "twin-1");
  c.add_agent("y", "pool=twin", "twin-2");
  // Calibrated first, so that no calibration competes with the benchmark.
  ASSERT_TRUE(wait_calibrated(c, "twin-1", 4) && wait_calibrated(c, "twin-2", 4));
  c.write_file("twins.yml", R"(pipeline: twins
jobs:
  same:
    kind: bench
    on: { labels: [pool=twin], machines: all }
    bench:
      run: sleep 0.03
      warmup: 1
      runs: 5
    variants:
      - name: first
      - name: second
)");
  for (int i = 0; i < 2; ++i) {
    auto r = c.cli({"submit", "twins.yml", "--wait"});
    ASSERT_EQ(r.code, 0) << r.out << r.err;
  }
  auto cmp = c.cli({"compare", "--machines", "--job", "same", "--json"});
  ASSERT_EQ(cmp.code, 0) << cmp.out << cmp.err;
  auto rows = json::parse(cmp.out);
  ASSERT_EQ(rows.size(), 4u) << cmp.out;  // 2 machines x 2 variants
  std::map<std::string, json> by_machine;
  for (const auto& row : rows) by_machine[row["machine"]] = row;
  const json& ref = by_machine["twin-1"];
  const json& other = by_machine["twin-2"];
  EXPECT_EQ(ref["verdict"], "reference") << cmp.out;
  // The old columns are all there.
  for (const char* col :
       {"machine", "reference", "benchmark", "runs", "median_s", "ratio", "speed_index"})
    EXPECT_TRUE(other.contains(col)) << col;
  // 2 pipelines x 2 variants: four log ratios, a 95 % t-interval around them.
  EXPECT_EQ(other["units"], 4) << other.dump();
  ASSERT_TRUE(other["speed_low"].is_number() && other["speed_high"].is_number()) << other.dump();
  EXPECT_LT(other["speed_low"].get<double>(), other["speed_high"].get<double>());
  EXPECT_TRUE(other["noise"].is_number() && other["reference_noise"].is_number()) << other.dump();
  EXPECT_TRUE(other["calibration_ratio"].is_number()) << other.dump();
  EXPECT_EQ(other["verdict"].get<std::string>().rfind("no clear difference", 0), 0u)
      << other.dump();

  // The interval is the one common/calibration.hpp computes from the same ratios.
  auto logs = c.query(
      "SELECT ln(x.median_s / r.median_s) FROM bench_results x "
      "JOIN jobs jx ON jx.id = x.job_id JOIN machines mx ON mx.id = jx.machine_id "
      "JOIN jobs jr ON jr.pipeline_id = jx.pipeline_id AND jr.id <> jx.id "
      "JOIN machines mr ON mr.id = jr.machine_id "
      "JOIN bench_results r ON r.job_id = jr.id AND r.variant = x.variant "
      "WHERE mx.name = 'twin-2' AND mr.name = 'twin-1' AND x.measure = 'wall' "
      "AND r.measure = 'wall'");
  std::vector<double> log_ratios;
  for (const auto& row : logs) log_ratios.push_back(row[0].as<double>());
  const SpeedIndex s = speed_index(log_ratios);
  EXPECT_NEAR(other["speed_low"].get<double>(), s.low, 1e-4);
  EXPECT_NEAR(other["speed_high"].get<double>(), s.high, 1e-4);

  auto table = c.cli({"compare", "--machines", "--job", "same"});
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_NE(table.out.find("no clear difference"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("SPEED_LOW"), std::string::npos) << table.out;
}

}  // namespace
}  // namespace yardstick::test

namespace yardstick::test {
namespace {

TEST(Calibration, AMachineSlowerInItsRunsButNotInItsCalibrationIsNamedButNotBlamed) {
  // Both agents on this one host: alike by calibration. The command sleeps
  // twice as long on one of them, as a busy machine would take.
  Cluster c(calibrating());
  c.add_agent("p", "pool=pair", "pair-1");
  c.add_agent("q", "pool=pair", "pair-2");
  ASSERT_TRUE(wait_calibrated(c, "pair-1", 4) && wait_calibrated(c, "pair-2", 4));
  c.write_file("pair.yml", R"(pipeline: pair
jobs:
  nap:
    kind: bench
    on: { labels: [pool=pair], machines: all }
    bench:
      run: 'case $YARDSTICK_AGENT in *-q) sleep 0.08;; *) sleep 0.02;; esac'
      runs: 5
    variants:
      - name: first
      - name: second
)");
  for (int i = 0; i < 2; ++i) {
    auto r = c.cli({"submit", "pair.yml", "--wait"});
    ASSERT_EQ(r.code, 0) << r.out << r.err;
  }
  auto cmp = c.cli({"compare", "--machines", "--job", "nap", "--json"});
  ASSERT_EQ(cmp.code, 0) << cmp.out << cmp.err;
  json slow;
  for (const auto& row : json::parse(cmp.out))
    if (row["machine"] == "pair-2") slow = row;
  ASSERT_TRUE(slow.is_object()) << cmp.out;
  EXPECT_GT(slow["speed_low"].get<double>(), 1.5) << slow.dump();
  EXPECT_EQ(slow["verdict"].get<std::string>().rfind("slower", 0), 0u) << slow.dump();
  // Unless one calibration happened to be much slower (a neighbour during
  // it), the calibrations of one host are alike: not the machine's speed.
  if (std::fabs(std::log(slow["calibration_ratio"].get<double>())) <
      std::hypot(slow["noise"].get<double>(), slow["reference_noise"].get<double>())) {
    EXPECT_NE(slow["verdict"].get<std::string>().find("not the machine's speed"), std::string::npos)
        << slow.dump();
  }
}

}  // namespace
}  // namespace yardstick::test

namespace yardstick::test {
namespace {

// Two agents of one host (the harness gives a cluster's agents one lock
// folder, as agents of one box share /run/yardstick): asked at once, their
// calibrations take turns, and the second says that it waited.
TEST(Calibration, CalibrationsOfAgentsSharingAHostTakeTurns) {
  Cluster c;
  c.add_agent("a", "", "twin-1");
  c.add_agent("b", "", "twin-2");
  ASSERT_EQ(c.cli({"calibrate", c.agent_name("a")}).code, 0);
  ASSERT_EQ(c.cli({"calibrate", c.agent_name("b")}).code, 0);
  ASSERT_TRUE(wait_for(
      [&] {
        return c.scalar(
                   "SELECT count(*) FROM jobs WHERE kind = 'calibrate' AND state = "
                   "'succeeded'") == 2;
      },
      90s))
      << c.text("SELECT string_agg(state || ' ' || message, '; ') FROM jobs");
  auto spans = c.query(
      "SELECT extract(epoch FROM s.started_at), extract(epoch FROM s.ended_at) FROM steps s JOIN"
      " jobs j ON j.id = s.job_id WHERE j.kind = 'calibrate' ORDER BY s.started_at");
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_LE(spans[0][1].as<double>(), spans[1][0].as<double>())
      << "calibrations overlapped: the first ended at " << spans[0][1].as<double>()
      << ", the second started at " << spans[1][0].as<double>();
  std::string logs;
  for (const auto& row : c.query("SELECT id FROM jobs WHERE kind = 'calibrate'"))
    logs += c.stored_log(row[0].as<int64_t>(), 1);
  EXPECT_EQ(count_of(logs, "waiting for the host: another measurement holds"), 1u) << logs;
  EXPECT_EQ(count_of(logs, "the host is free after"), 1u) << logs;
}

// A calibration measured under an earlier fingerprint of the machine (here
// an earlier kernel, written into the stored row as an upgrade would leave
// it) is shown stale, with what changed, until the machine is calibrated
// again.
TEST(Calibration, ACalibrationOfAnEarlierKernelIsShownStaleUntilMeasuredAgain) {
  Cluster c;
  c.add_agent("a", "", "upgraded-box");
  auto first = c.cli({"calibrate", c.agent_name("a"), "--wait"});
  ASSERT_EQ(first.code, 0) << first.out << first.err;
  auto fresh = c.cli({"agents"});
  EXPECT_EQ(fresh.out.find("(stale)"), std::string::npos) << fresh.out;
  EXPECT_EQ(fresh.out.find("calibrated before"), std::string::npos) << fresh.out;

  c.agent("a").signal(SIGTERM);
  c.agent("a").wait(10s);
  const std::string kernel = c.text("SELECT kernel FROM machines WHERE name = 'upgraded-box'");
  c.query(
      "UPDATE machines SET fingerprint = 'before the upgrade', kernel = '5.10.0-old' WHERE name "
      "= 'upgraded-box'");
  c.restart_agent("a");
  // Registered on a new row for the machine's new fingerprint.
  ASSERT_TRUE(wait_for(
      [&] {
        return c.scalar(
                   "SELECT count(*) FROM agents a JOIN machines m ON m.id = a.machine_id"
                   " WHERE m.fingerprint <> 'before the upgrade'") == 1;
      },
      20s));
  EXPECT_EQ(c.scalar("SELECT count(*) FROM machines WHERE name = 'upgraded-box'"), 2);
  auto stale = c.cli({"agents"});
  ASSERT_EQ(stale.code, 0) << stale.err;
  EXPECT_NE(stale.out.find("(stale)"), std::string::npos) << stale.out;
  EXPECT_NE(stale.out.find("machine upgraded-box (agent " + c.agent_name("a") +
                           "): calibrated before kernel 5.10.0-old -> " + kernel +
                           "; `yardstick calibrate " + c.agent_name("a") + "` measures it again"),
            std::string::npos)
      << stale.out;
  auto js = json::parse(c.cli({"agents", "--json"}).out);
  EXPECT_EQ(js[0]["calibration"]["stale"], "kernel 5.10.0-old -> " + kernel) << js.dump();

  ASSERT_EQ(c.cli({"calibrate", c.agent_name("a"), "--wait"}).code, 0);
  auto again = c.cli({"agents"});
  EXPECT_EQ(again.out.find("(stale)"), std::string::npos) << again.out;
  EXPECT_EQ(again.out.find("calibrated before"), std::string::npos) << again.out;
}

}  // namespace
}  // namespace yardstick::test
