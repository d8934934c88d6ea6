// The before/after summary, a pipeline's own wall budget, `pipelines` and
// the history reports, end to end: a real coordinator, agents and
// PostgreSQL, pipelines really run, and the real CLI.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "tests/integration/harness.hpp"
#include "tests/integration/sim_agent.hpp"
#include "tests/support/http_server.hpp"

namespace yardstick::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// The cells of a Markdown table row "| a | b |".
std::vector<std::string> cells(const std::string& row) {
  std::vector<std::string> out;
  if (row.size() < 2 || row.front() != '|' || row.back() != '|') return out;
  std::string cell;
  for (size_t i = 1; i < row.size(); ++i) {
    if (row[i] == '|' && row[i - 1] != '\\') {
      const size_t a = cell.find_first_not_of(' '), b = cell.find_last_not_of(' ');
      out.push_back(a == std::string::npos ? "" : cell.substr(a, b - a + 1));
      cell.clear();
    } else {
      cell += row[i];
    }
  }
  return out;
}

// The rows of `report` (JSON), run with the real CLI.
json report(Cluster& c, const std::string& name, const std::vector<std::string>& vars) {
  std::vector<std::string> args = {"report", name, "--json"};
  for (const auto& v : vars) args.insert(args.end(), {"-v", v});
  auto r = c.cli(args);
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  return json::parse(r.out.empty() ? "[]" : r.out);
}

TEST(Summary, MarkdownTableMarksEachBudgetHeldOrBroken) {
  Cluster c;
  c.add_agent("a", "", "m1");
  c.write_file("pr.yml", R"(pipeline: pr
budget: { wall: 10m }
jobs:
  build:
    steps:
      - name: quick
        run: 'true'
        budget: { wall: 60s }
      - name: slow
        run: sleep 0.3
        budget: { wall: 100ms }
  speed:
    kind: bench
    bench: { run: sleep 0.01, runs: 6 }
    variants: [{ name: base }, { name: tuned, run: sleep 0.02 }]
    budget: { wall: 10s }
)");
  auto r = c.cli({"submit", "pr.yml", "--wait", "--revision", "r1"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  const int64_t id = c.scalar("SELECT id FROM pipelines");

  auto md = c.cli({"summary", std::to_string(id), "--markdown"});
  ASSERT_EQ(md.code, 0) << md.out << md.err;
  const auto lines = lines_of(md.out);
  ASSERT_GE(lines.size(), 3u) << md.out;
  const auto head = cells(lines[0]);
  ASSERT_FALSE(head.empty()) << md.out;
  for (const auto& cell : cells(lines[1])) EXPECT_EQ(cell, "---") << md.out;
  EXPECT_EQ(cells(lines[1]).size(), head.size());
  auto col = [&](const std::string& name) {
    return std::find(head.begin(), head.end(), name) - head.begin();
  };
  std::map<std::string, std::vector<std::string>> by_item;  // item -> row
  for (size_t i = 2; i < lines.size(); ++i) {
    const auto row = cells(lines[i]);
    ASSERT_EQ(row.size(), head.size()) << "not a table row: " << lines[i];
    by_item[row[col("section")] + "/" + row[col("item")]] = row;
  }
  // Each budget as it was judged: the quick step and the pipeline held, the
  // slow step broke (0.3 s against 100 ms), each variant's median held.
  ASSERT_TRUE(by_item.count("step/quick")) << md.out;
  ASSERT_TRUE(by_item.count("step/slow")) << md.out;
  ASSERT_TRUE(by_item.count("pipeline/wall")) << md.out;
  EXPECT_EQ(by_item["step/quick"][col("ok")], "✓");
  EXPECT_EQ(by_item["step/quick"][col("budget")], "wall <= 60s");
  EXPECT_EQ(by_item["step/slow"][col("ok")], "✗");
  EXPECT_EQ(by_item["step/slow"][col("budget")], "wall <= 0.1s");
  EXPECT_GE(std::stod(by_item["step/slow"][col("value")]), 0.3);
  EXPECT_EQ(by_item["pipeline/wall"][col("ok")], "✓");
  EXPECT_EQ(by_item["pipeline/wall"][col("budget")], "wall <= 600s");
  EXPECT_LT(std::stod(by_item["pipeline/wall"][col("value")]), 600);
  ASSERT_TRUE(by_item.count("bench/base")) << md.out;
  ASSERT_TRUE(by_item.count("bench/tuned")) << md.out;
  EXPECT_EQ(by_item["bench/base"][col("verdict")], "baseline");
  EXPECT_EQ(by_item["bench/base"][col("ok")], "✓");
  EXPECT_EQ(by_item["bench/tuned"][col("ok")], "✓");
  EXPECT_EQ(by_item["bench/tuned"][col("budget")], "median wall <= 10s");
  EXPECT_FALSE(by_item["bench/tuned"][col("change_pct")].empty());
  EXPECT_FALSE(by_item["bench/tuned"][col("mde_pct")].empty());
  // The ✗ is the stored breach, and the ✓ rows have none.
  EXPECT_EQ(c.scalar("SELECT count(*) FROM budget_breaches"), 1);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM pipeline_budget_breaches"), 0);

  // JSON: full precision, the same verdicts.
  auto js = c.cli({"summary", std::to_string(id), "--json"});
  ASSERT_EQ(js.code, 0) << js.err;
  const json rows = json::parse(js.out);
  bool seen = false;
  for (const auto& row : rows)
    if (row["section"] == "bench" && row["item"] == "tuned") {
      seen = true;
      const double median = c.query(
                                 "SELECT median_s FROM bench_results WHERE variant = 'tuned'"
                                 " AND measure = 'wall'")[0][0]
                                .as<double>();
      EXPECT_DOUBLE_EQ(row["value"].get<double>(), median);
    }
  EXPECT_TRUE(seen) << js.out;
}

TEST(Summary, OfAMissingPipelineIsAnErrorSaid) {
  Cluster c;
  auto r = c.cli({"summary", "987654"});
  EXPECT_EQ(r.code, 4) << r.out << r.err;
  EXPECT_NE(r.err.find("pipeline 987654 has nothing to summarize"), std::string::npos) << r.err;
  EXPECT_EQ(c.cli({"summary", "-3"}).code, 2);
}

TEST(PipelineBudget, ANegativeWallIsRefusedWithItsFileLineAndKey) {
  Cluster c;
  c.write_file("neg.yml",
               "pipeline: neg\nbudget: { wall: -1s }\njobs:\n  j:\n    steps: [{run: 'true'}]\n");
  auto r = c.cli({"submit", "neg.yml"});
  EXPECT_EQ(r.code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("neg.yml:2:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("budget.wall: expected a duration"), std::string::npos) << r.err;
  EXPECT_EQ(c.scalar("SELECT count(*) FROM pipelines"), 0);
}

// A coordinator started while a budgeted pipeline runs knows it has a
// budget (it judges only those at their end): killed mid-job and started
// again, the breach is still stored, once; a pipeline without a budget
// that ends in the same way stores none.
TEST(PipelineBudget, ABudgetedPipelineIsJudgedByTheCoordinatorThatReloadedIt) {
  Cluster c;
  c.add_agent("a", "", "m1", 2);
  c.write_file("late.yml",
               "pipeline: late\nbudget: { wall: 200ms }\njobs:\n  first:\n    steps: [{run: "
               "sleep 1.5}]\n");
  c.write_file("free.yml", "pipeline: free\njobs:\n  first:\n    steps: [{run: sleep 1.5}]\n");
  for (const char* file : {"late.yml", "free.yml"}) ASSERT_EQ(c.cli({"submit", file}).code, 0);
  ASSERT_TRUE(wait_for(
      [&] { return c.scalar("SELECT count(*) FROM jobs WHERE state = 'running'") == 2; }, 20s));
  c.kill_coordinator();
  c.start_coordinator();
  ASSERT_TRUE(wait_for(
      [&] { return c.scalar("SELECT count(*) FROM jobs WHERE state = 'succeeded'") == 2; }, 30s))
      << c.coordinator().log();
  ASSERT_TRUE(
      wait_for([&] { return c.scalar("SELECT count(*) FROM pipeline_budget_breaches") == 1; }, 5s))
      << c.coordinator().log();
  EXPECT_EQ(c.text("SELECT p.name || ' ' || b.budget FROM pipeline_budget_breaches b JOIN "
                   "pipelines p ON p.id = b.pipeline_id"),
            "late wall <= 0.2s");
  EXPECT_GE(std::stod(c.text("SELECT actual FROM pipeline_budget_breaches")), 1.5);
}

TEST(PipelineBudget, ABreachIsStoredShownInStatusAndPostedToItsWebhook) {
  HttpServer receiver;
  Cluster c;
  c.add_agent("a", "", "m1");
  c.write_file("late.yml", "pipeline: late\nbudget: { wall: 200ms }\nnotify:\n  - webhook: " +
                               receiver.url("/hook") +
                               "\n    on: [pipeline_over_budget]\n"
                               "jobs:\n  first:\n    steps: [{run: sleep 0.3}]\n"
                               "  second:\n    needs: first\n    steps: [{run: 'true'}]\n");
  auto r = c.cli({"submit", "late.yml", "--wait", "--revision", "r9", "--branch", "main"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  const int64_t id = c.scalar("SELECT id FROM pipelines");
  // Stored: the wall from submission to the last job's end.
  ASSERT_TRUE(
      wait_for([&] { return c.scalar("SELECT count(*) FROM pipeline_budget_breaches") == 1; }, 5s));
  const double actual = std::stod(c.text("SELECT actual FROM pipeline_budget_breaches"));
  const double span = std::stod(
      c.text("SELECT extract(epoch FROM max(j.ended_at) - p.submitted_at) FROM jobs j JOIN "
             "pipelines p ON p.id = j.pipeline_id GROUP BY p.id"));
  EXPECT_NEAR(actual, span, 1e-3);
  EXPECT_GE(actual, 0.3);
  EXPECT_EQ(c.text("SELECT budget FROM pipeline_budget_breaches"), "wall <= 0.2s");

  auto st = c.cli({"status", std::to_string(id)});
  ASSERT_EQ(st.code, 0) << st.err;
  EXPECT_NE(st.out.find("pipeline budget: wall <= 0.2s: ✗"), std::string::npos) << st.out;
  auto sj = c.cli({"status", std::to_string(id), "--json"});
  ASSERT_EQ(sj.code, 0) << sj.err;
  const json status = json::parse(sj.out);
  EXPECT_EQ(status["budget"]["wall_s"], 0.2);
  EXPECT_EQ(status["budget"]["over_budget"], true);
  EXPECT_NEAR(status["budget"]["actual_s"].get<double>(), actual, 1e-3);

  // Posted once, with the job end's shape.
  ASSERT_TRUE(wait_for([&] { return receiver.request_count() >= 1; }, 10s))
      << c.coordinator().log();
  std::this_thread::sleep_for(300ms);
  ASSERT_EQ(receiver.request_count(), 1u);
  const std::string req = receiver.requests()[0];
  const json doc = json::parse(req.substr(req.find("\n\n") + 2));
  EXPECT_EQ(doc["event"], "pipeline_over_budget");
  EXPECT_EQ(doc["pipeline"], "late");
  EXPECT_EQ(doc["pipeline_id"], id);
  EXPECT_EQ(doc["budget"], "wall <= 0.2s");
  EXPECT_TRUE(doc["job"].is_null());
  EXPECT_NE(doc["text"].get<std::string>().find("over budget: wall &lt;= 0.2s"), std::string::npos);

  // The summary and the list say it too.
  auto md = c.cli({"summary", std::to_string(id), "--markdown"});
  ASSERT_EQ(md.code, 0) << md.err;
  EXPECT_NE(md.out.find("| pipeline |  | late | wall |"), std::string::npos) << md.out;
  EXPECT_NE(md.out.find("| wall <= 0.2s | ✗ |"), std::string::npos) << md.out;
  const json list = report(c, "pipelines", {});
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["over_budget"], "✗");
}

TEST(Reports, HistoryReportsAnswerFromRealRuns) {
  Cluster c;
  c.add_agent("a", "", "m1", 1, {"--hourly-cost", "6"});
  c.write_file("hist.yml", R"(pipeline: hist
jobs:
  build:
    steps:
      - name: compile
        run: 'sleep 0.1; echo "ccache.hit_rate 0.75" >> "$YARDSTICK_METRICS"'
        budget: { wall: 60s }
  flaky:
    steps: [{run: exit 1}]
)");
  for (const char* rev : {"r1", "r2", "r3"})
    ASSERT_EQ(c.cli({"submit", "hist.yml", "--wait", "--revision", rev}).code, 1);

  // recent_builds: the last 2 compile steps, their running average and
  // average, computed here from the stored walls.
  const json rb =
      report(c, "recent_builds", {"pipeline_name=hist", "job=build", "step=compile", "last=2"});
  ASSERT_EQ(rb.size(), 2u) << rb.dump();
  auto walls = c.query(
      "SELECT s.wall_s FROM steps s JOIN jobs j ON j.id = s.job_id AND j.attempt = s.attempt"
      " WHERE j.name = 'build' AND s.name = 'compile' ORDER BY s.ended_at DESC LIMIT 2");
  const double newest = walls[0][0].as<double>(), before = walls[1][0].as<double>();
  EXPECT_NEAR(rb[0]["wall_s"].get<double>(), before, 1e-3);
  EXPECT_NEAR(rb[0]["running_avg_s"].get<double>(), before, 1e-3);
  EXPECT_NEAR(rb[1]["running_avg_s"].get<double>(), (before + newest) / 2, 1e-3);
  EXPECT_NEAR(rb[1]["average_s"].get<double>(), (before + newest) / 2, 1e-3);
  EXPECT_EQ(rb[1]["revision"], "r3");
  EXPECT_EQ(rb[1]["over_budget"], false);

  // success_rates: 3 of each this week, 50 %.
  const json sr = report(c, "success_rates", {"pipeline_name=hist"});
  ASSERT_EQ(sr.size(), 1u) << sr.dump();
  EXPECT_EQ(sr[0]["succeeded"], 3);
  EXPECT_EQ(sr[0]["failed"], 3);
  EXPECT_EQ(sr[0]["cancelled"], 0);
  EXPECT_DOUBLE_EQ(sr[0]["success_pct"].get<double>(), 50.0);

  // cache_hit_rates: the metric of each run, in %.
  const json ch = report(c, "cache_hit_rates", {"pipeline_name=hist"});
  ASSERT_EQ(ch.size(), 3u) << ch.dump();
  for (const auto& row : ch) {
    EXPECT_EQ(row["cache"], "ccache");
    EXPECT_EQ(row["step"], "compile");
    EXPECT_DOUBLE_EQ(row["hit_pct"].get<double>(), 75.0);
  }

  // cost: the agent said 6 an hour at registration.
  EXPECT_EQ(c.text("SELECT hourly_cost FROM agents"), "6");
  const json cost = report(c, "cost", {"pipeline_name=hist", "last=1"});
  ASSERT_EQ(cost.size(), 3u) << cost.dump();  // build, flaky, (total)
  EXPECT_EQ(cost[2]["job"], "(total)");
  EXPECT_EQ(cost[2]["jobs"], 2);
  const double minutes =
      std::stod(c.text("SELECT sum(extract(epoch FROM ended_at - started_at)) / 60 FROM jobs WHERE "
                       "pipeline_id = (SELECT max(id) FROM pipelines)"));
  EXPECT_NEAR(cost[2]["agent_minutes"].get<double>(), minutes, 0.01);
  EXPECT_NEAR(cost[2]["cost"].get<double>(), minutes * 6 / 60, 1e-4);
  EXPECT_EQ(cost[2]["jobs_without_cost"], 0);

  // pipelines: what was submitted, newest first.
  auto pl = c.cli({"pipelines", "--name", "hist", "--last", "2", "--json"});
  ASSERT_EQ(pl.code, 0) << pl.err;
  const json list = json::parse(pl.out);
  ASSERT_EQ(list.size(), 2u) << pl.out;
  EXPECT_EQ(list[0]["id"], c.scalar("SELECT max(id) FROM pipelines"));
  EXPECT_EQ(list[0]["revision"], "r3");
  EXPECT_EQ(list[1]["revision"], "r2");
  EXPECT_EQ(list[0]["state"], "1 failed, 1 succeeded");
  EXPECT_EQ(list[0]["machines"], "m1");
  EXPECT_EQ(list[0]["over_budget"], "");
  EXPECT_FALSE(list[0]["duration_s"].is_null());
  auto md = c.cli({"pipelines", "--markdown"});
  ASSERT_EQ(md.code, 0);
  EXPECT_EQ(lines_of(md.out).size(), 2u + 3u) << md.out;

  // report --list: every report, its description and its variables.
  auto rl = c.cli({"report", "--list"});
  ASSERT_EQ(rl.code, 0) << rl.err;
  for (const char* name : {"recent_builds", "success_rates", "cache_hit_rates", "regressions",
                           "cost", "summary", "pipelines"})
    EXPECT_NE(rl.out.find(name), std::string::npos) << name << "\n" << rl.out;
  EXPECT_NE(rl.out.find("job (required), last=10, pipeline_name (required), step (optional)"),
            std::string::npos)
      << rl.out;
}

TEST(Reports, AnHourlyCostOutOfBoundsIsRejectedAndNeverStored) {
  Cluster c;
  SimAgent::Options options;
  options.hourly_cost = -5;
  SimAgent peer(c, c.agent_name("spendthrift"), options);
  EXPECT_FALSE(peer.register_now(3s));
  EXPECT_EQ(c.scalar("SELECT count(*) FROM agents"), 0);
  EXPECT_NE(peer.reject_reason().find("AgentHello.hourlyCost"), std::string::npos)
      << peer.reject_reason();
  // The real agent refuses it before it starts.
  Process agent({binary("yardstick-agent"), "--hourly-cost", "-5", "--insecure"},
                c.dir() + "/agent-cost.log");
  const int status = agent.wait(10s);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_NE(WEXITSTATUS(status), 0);
  EXPECT_NE(agent.log().find("--hourly-cost"), std::string::npos) << agent.log();
}

TEST(Reports, RegressionsJudgeTheLatestRevisionAgainstThePreviousOne) {
  Cluster c;
  c.add_agent("a", "", "m1");
  c.write_file("speed.yml", R"(pipeline: speed
jobs:
  naps:
    kind: bench
    bench:
      run: 'case $YARDSTICK_REVISION in old*) sleep 0.01;; *) sleep 0.08;; esac'
      runs: 6
)");
  ASSERT_EQ(c.cli({"submit", "speed.yml", "--wait", "--revision", "old1"}).code, 0);
  ASSERT_EQ(c.cli({"submit", "speed.yml", "--wait", "--revision", "new2"}).code, 0);
  const json rows = report(c, "regressions", {"pipeline_name=speed"});
  ASSERT_EQ(rows.size(), 1u) << rows.dump();
  EXPECT_EQ(rows[0]["job"], "naps");
  EXPECT_EQ(rows[0]["machine"], "m1");
  EXPECT_EQ(rows[0]["old_revision"], "old1");
  EXPECT_EQ(rows[0]["new_revision"], "new2");
  EXPECT_EQ(rows[0]["n_old"], 6);
  EXPECT_EQ(rows[0]["n_new"], 6);
  EXPECT_GT(rows[0]["change_pct"].get<double>(), 100);
  EXPECT_EQ(rows[0]["verdict"], "slower");
  // Every new run slower than every old one: U = 36, z = 18 / sqrt(39).
  EXPECT_NEAR(rows[0]["z"].get<double>(), 18 / std::sqrt(39.0), 0.01);
}

}  // namespace
}  // namespace yardstick::test
