// End to end: real PostgreSQL, real coordinator and agents on loopback,
// driven by the real CLI; each test checks exit codes and the stored rows.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/integration/harness.hpp"

namespace yardstick::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

std::string pid_state(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return "";
  auto close = line.rfind(')');
  return close == std::string::npos ? "" : line.substr(close + 2, 1);
}

bool gone(pid_t pid) {
  std::string s = pid_state(pid);
  return s.empty() || s == "Z" || s == "X";
}

pid_t read_pid(const std::string& path) {
  std::ifstream in(path);
  pid_t pid = 0;
  in >> pid;
  return pid;
}

TEST(Pipeline, TwoJobPipelineRunsOnMatchingAgentsAndStoresStepTimes) {
  Cluster c;
  c.add_agent("builder", "role=build", "machine-b");
  c.add_agent("tester", "role=test", "machine-t");
  c.write_file("p.yml", R"(pipeline: two-jobs
env: { WHO: world }
jobs:
  compile:
    on: { labels: [role=build] }
    steps:
      - name: compile
        run: echo hello $WHO from $YARDSTICK_AGENT; sleep 0.3
  check:
    needs: [compile]
    on: { labels: [role=test] }
    steps:
      - name: check
        run: test -n "$YARDSTICK_JOB_ID" && echo checked
)");
  auto r = c.cli({"submit", "p.yml", "--wait", "--revision", "r1", "--branch", "main"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("succeeded"), std::string::npos) << r.out;

  auto jobs = c.query(
      "SELECT j.name, j.state, a.name, m.name FROM jobs j JOIN agents a ON a.id = j.agent_id"
      " JOIN machines m ON m.id = j.machine_id ORDER BY j.id");
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0][0].as<std::string>(), "compile");
  EXPECT_EQ(jobs[0][1].as<std::string>(), "succeeded");
  EXPECT_EQ(jobs[0][2].as<std::string>(), c.agent_name("builder"));
  EXPECT_EQ(jobs[0][3].as<std::string>(), "machine-b");
  EXPECT_EQ(jobs[1][2].as<std::string>(), c.agent_name("tester"));
  EXPECT_EQ(jobs[1][3].as<std::string>(), "machine-t");

  auto steps = c.query(
      "SELECT s.name, s.wall_s, s.exit_code, s.user_s IS NOT NULL, s.max_rss_kb > 0, m.name"
      " FROM steps s JOIN jobs j ON j.id = s.job_id JOIN machines m ON m.id = s.machine_id"
      " ORDER BY s.job_id, s.idx");
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0][0].as<std::string>(), "compile");
  EXPECT_GE(steps[0][1].as<double>(), 0.3);
  EXPECT_LT(steps[0][1].as<double>(), 2.0);
  EXPECT_EQ(steps[0][2].as<int>(), 0);
  EXPECT_TRUE(steps[0][3].as<bool>());
  EXPECT_TRUE(steps[0][4].as<bool>());
  EXPECT_EQ(steps[0][5].as<std::string>(), "machine-b");

  EXPECT_EQ(c.text("SELECT revision || '/' || branch FROM pipelines"), "r1/main");
  const int64_t compile_id = c.scalar("SELECT id FROM jobs WHERE name = 'compile'");
  auto logs = c.cli({"logs", std::to_string(compile_id)});
  EXPECT_EQ(logs.code, 0);
  EXPECT_NE(logs.out.find("hello world from " + c.agent_name("builder")), std::string::npos)
      << logs.out;

  auto st = c.cli({"status", std::to_string(c.scalar("SELECT id FROM pipelines")), "--json"});
  ASSERT_EQ(st.code, 0) << st.err;
  json j = json::parse(st.out);
  ASSERT_EQ(j["jobs"].size(), 2u);
  EXPECT_EQ(j["jobs"][0]["state"], "succeeded");
  EXPECT_EQ(j["jobs"][0]["machine"], "machine-b");
  EXPECT_GE(j["jobs"][0]["steps"][0]["wall_s"].get<double>(), 0.3);
}

TEST(Pipeline, FailingStepFailsItsJobSkipsDependentsAndWaitExitsOne) {
  Cluster c;
  c.add_agent("a", "", "m1");
  c.write_file("p.yml", R"(pipeline: failing
jobs:
  broken:
    steps:
      - run: echo before
      - run: exit 3
      - run: echo never > never.txt
  after:
    needs: broken
    steps: [{run: echo unreachable}]
  after-after:
    needs: [after]
    steps: [{run: echo unreachable}]
  independent:
    steps: [{run: "true"}]
)");
  auto r = c.cli({"submit", "p.yml", "--wait"});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_EQ(c.text("SELECT state FROM jobs WHERE name = 'broken'"), "failed");
  EXPECT_EQ(c.text("SELECT state FROM jobs WHERE name = 'after'"), "skipped");
  EXPECT_EQ(c.text("SELECT state FROM jobs WHERE name = 'after-after'"), "skipped");
  EXPECT_EQ(c.text("SELECT state FROM jobs WHERE name = 'independent'"), "succeeded");
  EXPECT_EQ(c.scalar("SELECT exit_code FROM steps s JOIN jobs j ON j.id = s.job_id"
                     " WHERE j.name = 'broken' AND s.idx = 1"),
            3);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM steps s JOIN jobs j ON j.id = s.job_id"
                     " WHERE j.name = 'broken'"),
            2);  // the third step never ran
  EXPECT_NE(c.text("SELECT message FROM jobs WHERE name = 'broken'").find("exited with 3"),
            std::string::npos);
}

TEST(Pipeline, StepTimeoutKillsGrandchildrenAndSetsidDaemons) {
  Cluster c;
  c.add_agent("a", "", "m1", 1, {"--kill-grace-ms", "500"});
  const std::string d = c.dir();
  c.write_file("p.yml",
               "pipeline: timeout\njobs:\n  slow:\n    steps:\n      - timeout: 1s\n"
               "        run: |\n"
               "          sh -c 'echo $$ > " +
                   d +
                   "/child.pid; sleep 300' &\n"
                   "          sh -c 'sleep 300 & echo $! > " +
                   d +
                   "/grandchild.pid; wait' &\n"
                   "          setsid sh -c 'echo $$ > " +
                   d +
                   "/daemon.pid; trap \"\" TERM; exec sleep 300' &\n"
                   "          sleep 300\n");
  auto r = c.cli({"submit", "p.yml", "--wait"});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_EQ(c.text("SELECT state FROM jobs"), "timed_out");
  EXPECT_TRUE(c.query("SELECT timed_out FROM steps")[0][0].as<bool>());
  for (const char* f : {"child.pid", "grandchild.pid", "daemon.pid"}) {
    pid_t pid = read_pid(d + "/" + f);
    ASSERT_GT(pid, 1) << f;
    EXPECT_TRUE(wait_for([&] { return gone(pid); }, 3s)) << f << " (pid " << pid << ") survived";
  }
}

// A step that succeeded but left processes behind, one in a session of its
// own that ignores SIGTERM: the agent (their subreaper) finds them among
// its own descendants and kills them before the next step; a plain step
// starts without a shell (its parent is the agent, not /bin/sh).
TEST(Pipeline, AFinishedStepsDaemonsAreKilledAndAPlainStepStartsWithoutAShell) {
  Cluster c;
  c.add_agent("a", "", "m1");
  const std::string d = c.dir();
  c.write_file("p.yml",
               "pipeline: leftovers\njobs:\n  j:\n    steps:\n      - run: |\n"
               "          setsid sh -c 'echo $$ > " +
                   d +
                   "/daemon.pid; trap \"\" TERM; exec sleep 300' &\n"
                   "          sh -c 'sleep 300 & echo $! > " +
                   d +
                   "/orphan.pid' &\n"
                   "          sleep 0.2\n"
                   "      - run: sh " +
                   d + "/parent.sh\n");
  c.write_file("parent.sh", "ps -o comm= -p $PPID > " + d + "/parent.txt\n");
  auto r = c.cli({"submit", "p.yml", "--wait"});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  for (const char* f : {"daemon.pid", "orphan.pid"}) {
    const pid_t pid = read_pid(d + "/" + f);
    ASSERT_GT(pid, 1) << f;
    EXPECT_TRUE(wait_for([&] { return gone(pid); }, 3s)) << f << " (pid " << pid << ") survived";
  }
  std::ifstream parent(d + "/parent.txt");
  std::string comm;
  parent >> comm;
  EXPECT_EQ(comm, "yardstick-agent");
}

TEST(Pipeline, KilledAgentsJobRunsAgainOnTheOtherAgentAsAttemptTwo) {
  Cluster c;  // lease 2 s
  c.add_agent("a", "pool=x", "m1");
  c.add_agent("b", "pool=x", "m2");
  c.write_file("p.yml", R"(pipeline: lost
jobs:
  work:
    on: { labels: [pool=x] }   # no retries: a lost agent's job runs again by default
    steps:
      - run: sleep 2; echo finished on $YARDSTICK_AGENT
)");
  auto r = c.cli({"submit", "p.yml"});
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_TRUE(wait_for([&] { return c.text("SELECT state FROM jobs") == "running"; }, 10s));
  const std::string first = c.text("SELECT a.name FROM jobs j JOIN agents a ON a.id = j.agent_id");
  const std::string victim = first == c.agent_name("a") ? "a" : "b";
  const std::string survivor = victim == "a" ? "b" : "a";
  auto killed_at = std::chrono::steady_clock::now();
  c.agent(victim).signal(SIGKILL);
  ASSERT_TRUE(wait_for(
      [&] {
        return c.scalar("SELECT count(*) FROM jobs WHERE attempt = 2 AND state = 'running'") == 1;
      },
      2000ms + 5s))
      << "not running again within lease + 5 s";
  auto rerun_after = std::chrono::steady_clock::now() - killed_at;
  EXPECT_LT(rerun_after, 7s);
  EXPECT_EQ(c.text("SELECT a.name FROM jobs j JOIN agents a ON a.id = j.agent_id"),
            c.agent_name(survivor));
  ASSERT_TRUE(wait_for([&] { return c.text("SELECT state FROM jobs") == "succeeded"; }, 15s));
  EXPECT_EQ(c.scalar("SELECT count(*) FROM job_events WHERE to_state = 'lost' AND attempt = 1"), 1);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM steps WHERE attempt = 2 AND exit_code = 0"), 1);
}

TEST(Pipeline, CoordinatorKilledAndRestartedMidStepJobCompletesStoredOnce) {
  Cluster::Options options;
  options.heartbeat_ms = 300;
  options.lease_ms = 3000;
  Cluster c(options);
  c.add_agent("a", "", "m1");
  c.write_file("p.yml", R"(pipeline: restart
jobs:
  work:
    steps:
      - run: echo started; sleep 2; echo done-marker
      - run: echo second step
)");
  ASSERT_EQ(c.cli({"submit", "p.yml"}).code, 0);
  ASSERT_TRUE(wait_for([&] { return c.text("SELECT state FROM jobs") == "running"; }, 10s));
  c.kill_coordinator();
  std::this_thread::sleep_for(300ms);
  c.start_coordinator();
  ASSERT_TRUE(wait_for([&] { return c.text("SELECT state FROM jobs") == "succeeded"; }, 20s))
      << c.text("SELECT state FROM jobs") << "\n"
      << c.coordinator().log();
  EXPECT_EQ(c.scalar("SELECT attempt FROM jobs"), 1);  // reclaimed, not re-run
  EXPECT_EQ(c.scalar("SELECT count(*) FROM steps"), 2);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM steps WHERE ended_at IS NOT NULL AND exit_code = 0"), 2);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM log_chunks WHERE position('done-marker' in"
                     " convert_from(data, 'UTF8')) > 0"),
            1);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM job_events WHERE to_state = 'succeeded'"), 1);
}

TEST(Pipeline, MalformedPipelineIsRejectedWithFileLineAndKeyAndExitTwo) {
  Cluster c;
  c.write_file("bad.yml",
               "pipeline: bad\njobs:\n  a:\n    steps:\n      - run: echo\n        tiemout: 5s\n");
  auto r = c.cli({"submit", "bad.yml"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("bad.yml:6:9: jobs.a.steps[0].tiemout: unknown key"), std::string::npos)
      << r.err;
  c.write_file("cycle.yml",
               "pipeline: c\njobs:\n  a:\n    needs: [b]\n    steps: [{run: x}]\n  b:\n    needs: "
               "[a]\n    steps: [{run: x}]\n");
  auto r2 = c.cli({"submit", "cycle.yml"});
  EXPECT_EQ(r2.code, 2);
  EXPECT_NE(r2.err.find("cycle"), std::string::npos);
  auto r3 = c.cli({"submit", "missing.yml"});
  EXPECT_EQ(r3.code, 2);
  EXPECT_NE(r3.err.find("cannot read missing.yml"), std::string::npos);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM pipelines"), 0);  // nothing was submitted
}

TEST(Pipeline, FanOutRunsOneJobPerMatchingMachine) {
  Cluster c;
  c.add_agent("a", "os2=x", "laptop");
  c.add_agent("b", "os2=x", "server");
  c.add_agent("c", "os2=y", "other");
  c.write_file("p.yml",
               "pipeline: fan\njobs:\n  everywhere:\n    on: { labels: [os2=x], machines: all }\n"
               "    steps: [{run: \"true\"}]\n");
  auto r = c.cli({"submit", "p.yml", "--wait"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  auto rows =
      c.query("SELECT m.name FROM jobs j JOIN machines m ON m.id = j.machine_id ORDER BY 1");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][0].as<std::string>(), "laptop");
  EXPECT_EQ(rows[1][0].as<std::string>(), "server");
}

TEST(Pipeline, CheckoutStepClonesTheRepositoryAtTheRevision) {
  Cluster c;
  c.add_agent("a", "", "m1");
  const std::string repo = c.dir() + "/repo";
  std::filesystem::create_directories(repo);
  ASSERT_EQ(std::system(("cd " + repo +
                         " && git init -q && git config user.email t@e && "
                         "git config user.name t && echo first > f.txt && git add f.txt && "
                         "git commit -qm one && echo second > f.txt && git commit -qam two")
                            .c_str()),
            0);
  const std::string first = [&] {
    FILE* p = popen(("git -C " + repo + " rev-parse HEAD~1").c_str(), "r");
    char buf[64] = {};
    fgets(buf, sizeof buf, p);
    pclose(p);
    std::string s = buf;
    s.pop_back();
    return s;
  }();
  c.write_file("p.yml", "pipeline: co\ncheckout: { repo: " + repo +
                            " }\njobs:\n  read:\n    steps: [{run: cat f.txt}]\n");
  auto r = c.cli({"submit", "p.yml", "--wait", "--revision", first});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  auto steps = c.query("SELECT name, exit_code FROM steps ORDER BY idx");
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0][0].as<std::string>(), "checkout");
  auto logs = c.cli({"logs", std::to_string(c.scalar("SELECT id FROM jobs"))});
  EXPECT_NE(logs.out.find("first"), std::string::npos) << logs.out;
  EXPECT_EQ(logs.out.find("second"), std::string::npos) << logs.out;
}

TEST(Pipeline, CancelStopsARunningJobAndItsProcesses) {
  Cluster c;
  c.add_agent("a", "", "m1", 1, {"--kill-grace-ms", "500"});
  c.write_file("p.yml", "pipeline: cancel\njobs:\n  long:\n    steps:\n      - run: echo $$ > " +
                            c.dir() +
                            "/step.pid; sleep 300\n  next:\n    needs: [long]\n"
                            "    steps: [{run: \"true\"}]\n");
  ASSERT_EQ(c.cli({"submit", "p.yml"}).code, 0);
  ASSERT_TRUE(wait_for(
      [&] { return c.text("SELECT state FROM jobs WHERE name = 'long'") == "running"; }, 10s));
  ASSERT_TRUE(wait_for([&] { return read_pid(c.dir() + "/step.pid") > 0; }, 5s));
  auto r = c.cli({"cancel", std::to_string(c.scalar("SELECT id FROM pipelines"))});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("cancelled 2 jobs"), std::string::npos) << r.out;
  EXPECT_TRUE(wait_for(
      [&] { return c.text("SELECT state FROM jobs WHERE name = 'long'") == "cancelled"; }, 10s));
  EXPECT_EQ(c.text("SELECT state FROM jobs WHERE name = 'next'"), "cancelled");
  EXPECT_TRUE(wait_for([&] { return gone(read_pid(c.dir() + "/step.pid")); }, 3s));
  // The step shows the signal that ended it, by name.
  auto st = c.cli({"status", std::to_string(c.scalar("SELECT id FROM jobs WHERE name = 'long'"))});
  EXPECT_NE(st.out.find("killed by SIGTERM"), std::string::npos) << st.out;
}

TEST(Cli, UnknownIdIsRefusedAndUnreachableCoordinatorExitsThree) {
  Cluster c;
  auto r = c.cli({"status", "999999"});
  EXPECT_EQ(r.code, 4);
  EXPECT_NE(r.err.find("no pipeline or job with id 999999"), std::string::npos) << r.err;
  c.write_file("ok.yml", "pipeline: p\njobs:\n  a:\n    steps: [{run: \"true\"}]\n");
  r = c.cli(
      {"--coordinator", "tcp://127.0.0.1:1", "--timeout-ms", "300", "submit", c.dir() + "/ok.yml"});
  EXPECT_EQ(r.code, 3);
  const std::string& text = r.err;
  EXPECT_NE(text.find("tcp://127.0.0.1:1"), std::string::npos) << text;
}

}  // namespace
}  // namespace yardstick::test
