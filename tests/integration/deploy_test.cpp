// Deploy jobs end to end: a real coordinator, agent, PostgreSQL and CLI
// drive the blue/green example (a real nginx in front of two instances of
// a small service) through `kind: deploy`; what the agent's probe and
// health gate saw is checked in PostgreSQL and in `yardstick status`.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/http.hpp"
#include "tests/integration/bluegreen_site.hpp"
#include "tests/integration/harness.hpp"

namespace yardstick::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using yardstick::testing::BlueGreenSite;

// Processes running `program` (argv[0], its last path part) with agent
// `agent` in their environment: a job's processes on that agent, and no
// other test's.
int processes_of(const std::string& agent, const std::string& program) {
  int n = 0;
  const std::string want = "YARDSTICK_AGENT=" + agent;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const std::string pid = e.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream cmd(e.path() / "cmdline");
    std::string argv0;
    std::getline(cmd, argv0, '\0');
    if (std::filesystem::path(argv0).filename() != program) continue;
    std::ifstream env(e.path() / "environ");
    for (std::string var; std::getline(env, var, '\0');)
      if (var == want) {
        ++n;
        break;
      }
  }
  return n;
}

class Deploy : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(site_.run("up v1"), 0);
    c_.add_agent("a", "pool=dep", "box-dep");
  }
  void TearDown() override { site_.down(HasFailure()); }

  // A pipeline deploying ${YARDSTICK_REVISION} with the example's release
  // script; `release_args` go after the version.
  std::string pipeline(const std::string& release_args = "",
                       const std::string& rollback = "max_failed_requests: 0") {
    const std::string port = std::to_string(site_.port());
    return "pipeline: site\n"
           "jobs:\n"
           "  ship:\n"
           "    kind: deploy\n"
           "    on: { labels: [pool=dep] }\n"
           "    env: { BLUEGREEN_DIR: \"" +
           site_.dir().string() + "\", BLUEGREEN_PORT: \"" + port +
           "\", BLUEGREEN_HEALTH_TIMEOUT: \"3\" }\n"
           "    deploy:\n"
           "      steps:\n"
           "        - { name: release, run: \"" +
           BlueGreenSite::script() + " release ${YARDSTICK_REVISION}" + release_args +
           "\", timeout: 60s }\n"
           "      health: { url: \"" +
           site_.url("/health") +
           "\", interval: 200ms, min_healthy: 1s, deadline: 20s }\n"
           "      probe: { url: \"" +
           site_.url("/") +
           "\", interval: 20ms }\n"
           "      version: { url: \"" +
           site_.url("/version") +
           "\" }\n"
           "      rollback: { run: \"" +
           BlueGreenSite::script() + " rollback\", " + rollback + " }\n";
  }

  BlueGreenSite site_;
  Cluster c_;
};

TEST_F(Deploy, AGoodDeployIsHealthyWithoutOneFailedRequestAndEveryPhaseStored) {
  c_.write_file("p.yml", pipeline());
  auto r = c_.cli({"submit", "p.yml", "--wait", "--revision", "v2"});
  ASSERT_EQ(r.code, 0) << r.out << r.err << c_.stored_log(1, 1);
  EXPECT_EQ(http_get(site_.url("/"), 2s).body, "v2\n");

  auto d = c_.query(
      "SELECT outcome, reason, probe_sent, probe_failed, probe_longest_outage_ms, old_version,"
      " new_version, switch_new FROM deploys");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0][0].as<std::string>(), "succeeded");
  EXPECT_EQ(d[0][1].as<std::string>(), "");
  EXPECT_GT(d[0][2].as<int64_t>(), 20);  // 20 ms ticks over seconds
  EXPECT_EQ(d[0][3].as<int64_t>(), 0);
  EXPECT_EQ(d[0][4].as<double>(), 0.0);
  EXPECT_EQ(d[0][5].as<std::string>(), "v1");
  EXPECT_EQ(d[0][6].as<std::string>(), "v2");
  EXPECT_GT(d[0][7].as<int64_t>(), 0);

  // Every phase, by start, each with a start before its end.
  auto phases = c_.query(
      "SELECT name, ok, ended_at >= started_at FROM deploy_phases ORDER BY started_at, seq");
  std::vector<std::string> names;
  for (const auto& p : phases) {
    names.push_back(p[0].as<std::string>());
    EXPECT_TRUE(p[1].as<bool>()) << p[0].as<std::string>();
    EXPECT_TRUE(p[2].as<bool>()) << p[0].as<std::string>();
  }
  EXPECT_EQ(names, (std::vector<std::string>{"step release", "switch", "healthy", "stable"}));
  // Healthy for min_healthy: the stable phase lasts at least a second.
  EXPECT_GE(c_.scalar("SELECT (extract(epoch FROM ended_at - started_at) * 1000)::bigint"
                      " FROM deploy_phases WHERE name = 'stable'"),
            1000);
  // The switch happened inside the release step.
  EXPECT_EQ(c_.scalar("SELECT count(*) FROM deploy_phases s, deploy_phases r"
                      " WHERE s.name = 'switch' AND r.name = 'step release'"
                      " AND s.started_at >= r.started_at AND s.ended_at <= r.ended_at"),
            1);

  auto st = c_.cli({"status", "1"});
  ASSERT_EQ(st.code, 0) << st.err;
  EXPECT_NE(st.out.find("phase step release"), std::string::npos) << st.out;
  EXPECT_NE(st.out.find("phase switch"), std::string::npos) << st.out;
  EXPECT_NE(st.out.find("deploy succeeded"), std::string::npos) << st.out;
  EXPECT_NE(st.out.find("probe: 0 failed requests of "), std::string::npos) << st.out;
  auto js = json::parse(c_.cli({"status", "1", "--json"}).out);
  const json& dj = js["jobs"][0]["deploy"];
  EXPECT_EQ(dj["outcome"], "succeeded");
  EXPECT_EQ(dj["probe"]["failed"], 0);
  EXPECT_EQ(dj["phases"].size(), 4u);

  auto rep = c_.cli({"report", "deploy_phases", "--json"});
  ASSERT_EQ(rep.code, 0) << rep.err;
  auto rows = json::parse(rep.out);
  ASSERT_EQ(rows.size(), 1u) << rep.out;
  EXPECT_EQ(rows[0]["outcome"], "succeeded");
  EXPECT_TRUE(rows[0]["time_to_healthy_s"].is_number()) << rep.out;
  EXPECT_GE(rows[0]["stable_s"].get<double>(), 1.0) << rep.out;
  EXPECT_TRUE(rows[0]["switch_s"].is_number()) << rep.out;
  EXPECT_TRUE(rows[0]["rollback_s"].is_null()) << rep.out;
  EXPECT_EQ(rows[0]["failed_requests"], 0);
  EXPECT_GT(rows[0]["requests"].get<int>(), 20);
  auto rates = json::parse(c_.cli({"report", "deploy_success_rates", "--json"}).out);
  ASSERT_EQ(rates.size(), 1u);
  EXPECT_EQ(rates[0]["succeeded"], 1);
  EXPECT_DOUBLE_EQ(rates[0]["success_pct"].get<double>(), 100.0);
  EXPECT_TRUE(rates[0]["median_time_to_healthy_s"].is_number());
}

TEST_F(Deploy, ANewVersionThatNeverBecomesHealthyIsRolledBackAndTheJobFails) {
  c_.write_file("p.yml", pipeline(" -- --never-ready"));
  auto r = c_.cli({"submit", "p.yml", "--wait", "--revision", "v2"});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_EQ(http_get(site_.url("/"), 2s).body, "v1\n");
  EXPECT_EQ(c_.text("SELECT outcome || ' ' || reason FROM deploys"), "rolled back step_failed");
  EXPECT_EQ(c_.scalar("SELECT probe_failed FROM deploys"), 0);
  EXPECT_EQ(c_.text("SELECT state FROM jobs"), "failed");
  EXPECT_NE(c_.text("SELECT message FROM jobs").find("rolled back"), std::string::npos);
  EXPECT_EQ(c_.text("SELECT string_agg(name || ':' || ok, ',' ORDER BY seq) FROM deploy_phases"),
            "step release:false,rollback:true,rollback verified:true");
  auto st = c_.cli({"status", "1"});
  EXPECT_NE(st.out.find("deploy rolled back (step_failed)"), std::string::npos) << st.out;

  // The reports say the same.
  auto rep = c_.cli({"report", "deploy_phases", "-v", "pipeline_name=site", "--json"});
  ASSERT_EQ(rep.code, 0) << rep.err;
  auto rows = json::parse(rep.out);
  ASSERT_EQ(rows.size(), 1u) << rep.out;
  EXPECT_EQ(rows[0]["outcome"], "rolled back");
  EXPECT_EQ(rows[0]["rollback_verified"], true);
  EXPECT_EQ(rows[0]["failed_requests"], 0);
  EXPECT_TRUE(rows[0]["time_to_healthy_s"].is_null());  // the new version never got there
  EXPECT_TRUE(rows[0]["rollback_s"].is_number()) << rep.out;
  auto rates = c_.cli({"report", "deploy_success_rates", "--json"});
  ASSERT_EQ(rates.code, 0) << rates.err;
  auto weeks = json::parse(rates.out);
  ASSERT_EQ(weeks.size(), 1u) << rates.out;
  EXPECT_EQ(weeks[0]["deploys"], 1);
  EXPECT_EQ(weeks[0]["rolled_back"], 1);
  EXPECT_EQ(weeks[0]["succeeded"], 0);
}

TEST_F(Deploy, StoppingTheOldVersionFirstIsCountedByTheProbeAndRolledBack) {
  c_.write_file("p.yml", pipeline(" --stop-old-first -- --ready-after 1"));
  auto r = c_.cli({"submit", "p.yml", "--wait", "--revision", "v2"});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  auto d = c_.query(
      "SELECT outcome, reason, probe_failed, probe_longest_outage_ms, probe_failed_status"
      " FROM deploys");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0][0].as<std::string>(), "rolled back");
  EXPECT_EQ(d[0][1].as<std::string>(), "probe_failures");
  EXPECT_GT(d[0][2].as<int64_t>(), 5);
  EXPECT_GT(d[0][3].as<double>(), 300);  // more than a second without the service, in fact
  EXPECT_GT(d[0][4].as<int64_t>(), 0);   // nginx's 502 while nothing listens
  EXPECT_EQ(c_.scalar("SELECT count(*) FROM deploy_phases WHERE name = 'rollback' AND ok"), 1);
  EXPECT_EQ(http_get(site_.url("/"), 2s).body, "v1\n");  // the rollback released v1 again
  auto st = c_.cli({"status", "1"});
  EXPECT_NE(st.out.find("failed requests of"), std::string::npos) << st.out;
  EXPECT_NE(st.out.find("longest outage"), std::string::npos) << st.out;
}

TEST_F(Deploy, ADeployWhoseBuildFailedIsSkippedAndRunsNothing) {
  const std::string marker = c_.dir() + "/deployed";
  c_.write_file("p.yml",
                "pipeline: site\n"
                "jobs:\n"
                "  build:\n"
                "    on: { labels: [pool=dep] }\n"
                "    steps: [ { name: compile, run: \"exit 3\" } ]\n"
                "  ship:\n"
                "    kind: deploy\n"
                "    needs: [build]\n"
                "    on: { labels: [pool=dep] }\n"
                "    deploy:\n"
                "      steps: [ { name: release, run: \"touch " +
                    marker + "\" } ]\n");
  auto r = c_.cli({"submit", "p.yml", "--wait"});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_EQ(c_.text("SELECT state FROM jobs WHERE name = 'ship'"), "skipped");
  EXPECT_FALSE(std::filesystem::exists(marker));
  EXPECT_EQ(c_.scalar("SELECT count(*) FROM deploy_phases"), 0);
  auto st = c_.cli({"status", "1"});
  EXPECT_NE(st.out.find("need build ended failed"), std::string::npos) << st.out;
}

// A deploy gated on a benchmark that got slower is skipped: its step never
// runs, and status says which variant and by how much.
TEST_F(Deploy, ADeployGatedOnABenchJudgedSlowerIsSkippedAndStatusSaysWhy) {
  const std::string marker = c_.dir() + "/deployed";
  c_.write_file("p.yml",
                "pipeline: site\n"
                "jobs:\n"
                "  bench:\n"
                "    kind: bench\n"
                "    on: { labels: [pool=dep] }\n"
                "    bench: {warmup: 1, runs: 12}\n"
                "    variants:\n"
                "      - {name: current, run: 'sleep 0.05'}\n"
                "      - {name: candidate, run: 'sleep 0.1'}\n"
                "  ship:\n"
                "    kind: deploy\n"
                "    needs: [{job: bench, no_regression: true}]\n"
                "    on: { labels: [pool=dep] }\n"
                "    deploy:\n"
                "      steps: [ { name: release, run: \"touch " +
                    marker + "\" } ]\n");
  auto r = c_.cli({"submit", "p.yml", "--wait"});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_EQ(c_.text("SELECT state FROM jobs WHERE name = 'bench'"), "succeeded");
  EXPECT_EQ(c_.text("SELECT state FROM jobs WHERE name = 'ship'"), "skipped");
  EXPECT_FALSE(std::filesystem::exists(marker));
  EXPECT_EQ(c_.scalar("SELECT count(*) FROM deploys"), 0);
  auto st = c_.cli({"status", "1"});
  EXPECT_NE(st.out.find("ship: bench judged slower: variant candidate"), std::string::npos)
      << st.out;
}

// An agent killed with SIGKILL in the middle of a deploy: its deploy
// process and the step it ran are stopped when the agent comes back, the
// phases it had reported stay with attempt 1, and attempt 2 deploys again
// from the start.
TEST_F(Deploy, AnAgentKilledMidDeployLosesNoPhaseAndTheDeployRunsAgain) {
  const std::string gate = c_.dir() + "/go";
  c_.write_file("p.yml",
                "pipeline: site\n"
                "jobs:\n"
                "  ship:\n"
                "    kind: deploy\n"
                "    on: { labels: [pool=dep] }\n"
                "    deploy:\n"
                "      steps:\n"
                "        - { name: push, run: \"true\" }\n"
                "        - { name: activate, run: \"[ $YARDSTICK_ATTEMPT = 2 ] || sleep 300\" }\n"
                "      health: { run: \"true\", interval: 100ms, min_healthy: 200ms }\n"
                "      probe: { url: \"" +
                    site_.url("/") + "\", interval: 50ms }\n");
  ASSERT_EQ(c_.cli({"submit", "p.yml"}).code, 0);
  ASSERT_TRUE(wait_for(
      [&] { return c_.scalar("SELECT count(*) FROM deploy_phases WHERE name = 'step push'") == 1; },
      20s));
  c_.agent("a").signal(SIGKILL);
  c_.agent("a").wait(5s);
  c_.restart_agent("a");
  ASSERT_TRUE(wait_for([&] { return c_.text("SELECT state FROM jobs") == "succeeded"; }, 30s))
      << c_.text("SELECT state || ' ' || message FROM jobs");
  EXPECT_EQ(c_.scalar("SELECT attempt FROM jobs"), 2);
  EXPECT_EQ(c_.text("SELECT string_agg(name, ',' ORDER BY seq) FROM deploy_phases"
                    " WHERE attempt = 1"),
            "step push");
  EXPECT_EQ(c_.text("SELECT string_agg(name, ',' ORDER BY seq) FROM deploy_phases"
                    " WHERE attempt = 2"),
            "step push,step activate,healthy,stable");
  EXPECT_EQ(c_.text("SELECT attempt || ' ' || outcome FROM deploys"), "2 succeeded");
  EXPECT_EQ(c_.scalar("SELECT probe_failed FROM deploys"), 0);
  // Nothing of attempt 1 runs on: not its deploy process, not its step.
  EXPECT_EQ(processes_of(c_.agent_name("a"), "sleep"), 0);
  EXPECT_EQ(processes_of(c_.agent_name("a"), "yardstick-agent"), 0);
  const std::string work = c_.agent_home("a") + "/work/";
  EXPECT_FALSE(std::filesystem::exists(work + std::to_string(c_.scalar("SELECT id FROM jobs")) +
                                       "-1.deploy-events"));
}

// The coordinator killed with SIGKILL in the middle of a deploy: the agent
// goes on, spools what the deploy reports while nobody listens, and
// delivers it once to the restarted coordinator. The deploy runs once.
TEST_F(Deploy, ACoordinatorKilledMidDeployLosesNothingAndTheDeployRunsOnce) {
  const std::string go = c_.dir() + "/go";
  c_.write_file("p.yml",
                "pipeline: site\n"
                "jobs:\n"
                "  ship:\n"
                "    kind: deploy\n"
                "    on: { labels: [pool=dep] }\n"
                "    deploy:\n"
                "      steps:\n"
                "        - { name: push, run: \"echo push >> " +
                    c_.dir() +
                    "/ran\" }\n"
                    "        - { name: activate, run: \"while [ ! -e " +
                    go +
                    " ]; do sleep 0.05; done\" }\n"
                    "      health: { run: \"true\", interval: 100ms, min_healthy: 300ms }\n"
                    "      probe: { url: \"" +
                    site_.url("/") + "\", interval: 50ms }\n");
  ASSERT_EQ(c_.cli({"submit", "p.yml"}).code, 0);
  ASSERT_TRUE(wait_for(
      [&] { return c_.scalar("SELECT count(*) FROM deploy_phases WHERE name = 'step push'") == 1; },
      20s));
  c_.kill_coordinator();
  { std::ofstream(go) << "go\n"; }
  // The deploy ends while the coordinator is gone; its results wait in the spool.
  std::this_thread::sleep_for(2500ms);
  c_.start_coordinator();
  ASSERT_TRUE(wait_for([&] { return c_.text("SELECT state FROM jobs") == "succeeded"; }, 30s))
      << c_.text("SELECT state || ' ' || message FROM jobs");
  EXPECT_EQ(c_.scalar("SELECT attempt FROM jobs"), 1);
  EXPECT_EQ(c_.text("SELECT string_agg(name, ',' ORDER BY seq) FROM deploy_phases"),
            "step push,step activate,healthy,stable");
  EXPECT_EQ(c_.text("SELECT attempt || ' ' || outcome || ' ' || probe_failed FROM deploys"),
            "1 succeeded 0");
  std::ifstream ran(c_.dir() + "/ran");
  std::string all((std::istreambuf_iterator<char>(ran)), std::istreambuf_iterator<char>());
  EXPECT_EQ(all, "push\n");  // released once
}

// `yardstick cancel` in the middle of a deploy step: the step is stopped,
// the deploy reports how far it got (its probe included), and the job ends
// cancelled, not rolled back.
TEST_F(Deploy, ACancelledDeployStopsItsStepAndStillReportsItsProbe) {
  c_.write_file("p.yml",
                "pipeline: site\n"
                "jobs:\n"
                "  ship:\n"
                "    kind: deploy\n"
                "    on: { labels: [pool=dep] }\n"
                "    deploy:\n"
                "      steps: [ { name: push, run: \"sleep 300\" } ]\n"
                "      probe: { url: \"" +
                    site_.url("/") +
                    "\", interval: 50ms }\n"
                    "      rollback: { run: \"touch " +
                    c_.dir() + "/rolled-back\" }\n");
  ASSERT_EQ(c_.cli({"submit", "p.yml"}).code, 0);
  ASSERT_TRUE(wait_for([&] { return processes_of(c_.agent_name("a"), "sleep") == 1; }, 20s));
  ASSERT_EQ(c_.cli({"cancel", "1"}).code, 0);
  ASSERT_TRUE(wait_for([&] { return c_.text("SELECT state FROM jobs") == "cancelled"; }, 20s))
      << c_.text("SELECT state || ' ' || message FROM jobs");
  ASSERT_TRUE(wait_for([&] { return c_.scalar("SELECT count(*) FROM deploys") == 1; }, 10s));
  EXPECT_EQ(c_.text("SELECT outcome FROM deploys"), "failed");
  EXPECT_EQ(c_.text("SELECT message FROM deploys").rfind("cancelled", 0), 0u)
      << c_.text("SELECT message FROM deploys");
  EXPECT_GT(c_.scalar("SELECT probe_sent FROM deploys"), 0);
  EXPECT_EQ(c_.text("SELECT name || ' ' || ok FROM deploy_phases"), "step push false");
  EXPECT_FALSE(std::filesystem::exists(c_.dir() + "/rolled-back"));
  EXPECT_EQ(processes_of(c_.agent_name("a"), "sleep"), 0);
  EXPECT_EQ(processes_of(c_.agent_name("a"), "yardstick-agent"), 0);
}

// The example's own pipeline (deploy/examples/bluegreen/pipeline.yml):
// build, the startup benchmark, and the gated deploy of the checked-out
// commit, which the site then reports as its version.
TEST_F(Deploy, TheExamplePipelineBuildsBenchmarksAndDeploysTheCommit) {
  namespace fs = std::filesystem;
  const std::string repo = c_.dir() + "/repo";
  const std::string example = YARDSTICK_SOURCE_DIR "/deploy/examples/bluegreen";
  fs::create_directories(repo + "/deploy/examples");
  fs::copy(example, repo + "/deploy/examples/bluegreen", fs::copy_options::recursive);
  const std::string git = "git -C " + repo + " -c user.name=t -c user.email=t@t ";
  ASSERT_EQ(
      std::system((git + "init -q && " + git + "add -A && " + git + "commit -qm example").c_str()),
      0);
  std::string head;
  {
    FILE* p = popen(("git -C " + repo + " rev-parse HEAD").c_str(), "r");
    char buf[64] = {};
    ASSERT_NE(fgets(buf, sizeof buf, p), nullptr);
    pclose(p);
    head = std::string(buf, 40);
  }
  int bench_port = site_.port() + 3;
  while (!yardstick::testing::port_free(bench_port)) ++bench_port;
  std::ifstream in(example + "/pipeline.yml");
  std::string yaml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto replace = [&](const std::string& from, const std::string& to) {
    for (size_t at = 0; (at = yaml.find(from, at)) != std::string::npos; at += to.size())
      yaml.replace(at, from.size(), to);
  };
  replace("REPO", repo);
  replace("/tmp/yardstick-bluegreen", site_.dir().string());
  replace("18080", std::to_string(site_.port()));
  replace("18093", std::to_string(bench_port));
  replace("min_healthy: 5s", "min_healthy: 1s");
  c_.write_file("bluegreen.yml", yaml);
  auto r = c_.cli({"submit", "bluegreen.yml", "--wait", "--revision", head});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(c_.text("SELECT string_agg(name || ' ' || state, ', ' ORDER BY id) FROM jobs"),
            "build succeeded, startup succeeded, release succeeded");
  EXPECT_EQ(http_get(site_.url("/version"), 2s).body, head);
  EXPECT_EQ(c_.scalar("SELECT count(*) FROM samples"), 10);
  EXPECT_EQ(c_.text("SELECT outcome || ' ' || probe_failed || ' ' || new_version FROM deploys"),
            "succeeded 0 " + head);
}

// Two deploys of one concurrency group, in two pipelines, on an agent with
// room for both: their phases never overlap.
TEST(DeployGroups, TwoDeploysOfOneGroupNeverOverlap) {
  Cluster c;
  c.add_agent("a", "pool=dep", "box-dep", 2);
  auto yaml = [](const std::string& name) {
    return "pipeline: " + name +
           "\n"
           "concurrency: site\n"
           "jobs:\n"
           "  ship:\n"
           "    kind: deploy\n"
           "    on: { labels: [pool=dep] }\n"
           "    deploy:\n"
           "      steps: [ { name: push, run: \"sleep 1\" }, { name: activate, run: \"sleep 0.5\" "
           "} ]\n"
           "      health: { run: \"true\", interval: 100ms, min_healthy: 200ms }\n";
  };
  c.write_file("one.yml", yaml("one"));
  c.write_file("two.yml", yaml("two"));
  ASSERT_EQ(c.cli({"submit", "one.yml"}).code, 0);
  ASSERT_EQ(c.cli({"submit", "two.yml"}).code, 0);
  ASSERT_TRUE(wait_for(
      [&] { return c.scalar("SELECT count(*) FROM deploys WHERE outcome = 'succeeded'") == 2; },
      30s))
      << c.text("SELECT string_agg(name || ' ' || state || ' ' || message, '; ') FROM jobs");
  // Each deploy's span, from its first phase's start to its last phase's end.
  auto spans = c.query(
      "SELECT job_id, min(started_at), max(ended_at), count(*) FROM deploy_phases"
      " GROUP BY job_id ORDER BY 2");
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0][3].as<int>(), 4);  // push, activate, healthy, stable
  EXPECT_EQ(c.scalar("SELECT count(*) FROM"
                     " (SELECT job_id, min(started_at) s, max(ended_at) e FROM deploy_phases"
                     "  GROUP BY job_id) a,"
                     " (SELECT job_id, min(started_at) s, max(ended_at) e FROM deploy_phases"
                     "  GROUP BY job_id) b"
                     " WHERE a.job_id < b.job_id AND a.s < b.e AND b.s < a.e"),
            0);
}

// HTTPS through a real nginx with a certificate of a private CA: trusted
// through CURL_CA_BUNDLE in the job's env, the deploy's health, probe and
// version checks pass; without it, every request fails as "other" (the
// certificate) and the health gate says so.
TEST(DeployTls, HttpsChecksVerifyTheCertificateAgainstTheJobsCaBundle) {
  Cluster c;
  c.add_agent("a", "pool=tls", "box-tls");
  const std::string dir = c.dir() + "/tls";
  std::filesystem::create_directories(dir + "/tmp");
  int port = 0;
  for (int p = 21000 + getpid() % 20000; !port; ++p)
    if (yardstick::testing::port_free(p)) port = p;
  const std::string make_certs =
      "cd " + dir +
      " && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=yardstick-test-ca"
      " -keyout ca.key -out ca.pem"
      " && openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout srv.key -out srv.csr"
      " && printf 'subjectAltName=IP:127.0.0.1\\n' > ext"
      " && openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2"
      " -extfile ext -out srv.pem";
  ASSERT_EQ(std::system((make_certs + " >" + dir + "/openssl.out 2>&1").c_str()), 0);
  c.write_file(
      "tls/nginx.conf",
      "daemon on;\nworker_processes 1;\npid " + dir + "/nginx.pid;\nerror_log " + dir +
          "/error.log;\nevents { worker_connections 64; }\nhttp {\n  access_log off;\n"
          "  client_body_temp_path " +
          dir + "/tmp/body;\n  proxy_temp_path " + dir + "/tmp/proxy;\n  fastcgi_temp_path " + dir +
          "/tmp/fastcgi;\n  uwsgi_temp_path " + dir + "/tmp/uwsgi;\n  scgi_temp_path " + dir +
          "/tmp/scgi;\n  server {\n    listen 127.0.0.1:" + std::to_string(port) +
          " ssl;\n    ssl_certificate " + dir + "/srv.pem;\n    ssl_certificate_key " + dir +
          "/srv.key;\n    location = /version { return 200 \"v2\"; }\n"
          "    location / { return 200 \"v2\\n\"; }\n  }\n}\n");
  const std::string nginx = "nginx -p " + dir + " -c " + dir + "/nginx.conf";
  ASSERT_EQ(std::system((nginx + " >" + dir + "/nginx.out 2>&1").c_str()), 0);
  struct Stop {
    std::string cmd;
    ~Stop() { (void)std::system(cmd.c_str()); }
  } stop{nginx + " -s quit >/dev/null 2>&1"};

  const std::string url = "https://127.0.0.1:" + std::to_string(port);
  auto yaml = [&](const std::string& name, const std::string& env) {
    return "pipeline: " + name +
           "\n"
           "jobs:\n"
           "  ship:\n"
           "    kind: deploy\n"
           "    on: { labels: [pool=tls] }\n"
           "    env: { " +
           env +
           " }\n"
           "    deploy:\n"
           "      steps: [ { name: release, run: \"true\" } ]\n"
           "      health: { url: \"" +
           url +
           "/health\", interval: 100ms, min_healthy: 300ms, deadline: 2s }\n"
           "      probe: { url: \"" +
           url +
           "/\", interval: 50ms }\n"
           "      version: { url: \"" +
           url + "/version\" }\n";
  };
  c.write_file("trusted.yml", yaml("trusted", "CURL_CA_BUNDLE: \"" + dir + "/ca.pem\""));
  auto r = c.cli({"submit", "trusted.yml", "--wait", "--revision", "v2"});
  EXPECT_EQ(r.code, 0) << r.out << r.err << std::ifstream(dir + "/error.log").rdbuf();
  EXPECT_EQ(c.text("SELECT outcome || ' ' || probe_failed FROM deploys"), "succeeded 0");
  EXPECT_GT(c.scalar("SELECT probe_sent FROM deploys"), 5);

  c.write_file("untrusted.yml", yaml("untrusted", "UNUSED: x"));
  auto u = c.cli({"submit", "untrusted.yml", "--wait", "--revision", "v2"});
  EXPECT_EQ(u.code, 1) << u.out << u.err;
  auto d = c.query(
      "SELECT d.outcome, d.reason, d.probe_failed, d.probe_failed_other, d.probe_sent, j.message"
      " FROM deploys d JOIN jobs j ON j.id = d.job_id JOIN pipelines p ON p.id = j.pipeline_id"
      " WHERE p.name = 'untrusted'");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0][0].as<std::string>(), "failed");
  EXPECT_EQ(d[0][1].as<std::string>(), "health_deadline");
  EXPECT_EQ(d[0][2].as<int64_t>(), d[0][4].as<int64_t>());  // every request
  EXPECT_EQ(d[0][3].as<int64_t>(), d[0][4].as<int64_t>());  // of kind other
  EXPECT_NE(d[0][5].as<std::string>().find("certificate"), std::string::npos)
      << d[0][5].as<std::string>();
}

}  // namespace
}  // namespace yardstick::test
