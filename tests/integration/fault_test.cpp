// The fault suite: real coordinator, agents, CLI and PostgreSQL, broken on
// purpose. Each test asserts the job's outcome and that nothing measured was
// lost or stored twice (the rows in steps, metrics and log_chunks against
// what the step printed). docs/reliability.md lists each fault and its test.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <thread>

#include "tests/integration/harness.hpp"

namespace yardstick::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

TEST(Fault, TextThatIsNotUtf8IsStoredVisiblyAndNothingStalls) {
  Cluster c;
  c.add_agent("a", "", "m1");
  // A metric name in Latin-1, one with a NUL, and a ninja build whose target
  // name is Latin-1 (through the ninja-log collector).
  c.write_file("p.yml", R"(pipeline: bytes
jobs:
  build:
    steps:
      - run: |
          printf 'm\351tric 1\n' >> "$YARDSTICK_METRICS"
          printf 'nul\000byte 2\n' >> "$YARDSTICK_METRICS"
          printf 'rule touch\n  command = touch $out\nbuild caf\351.o: touch\n' > build.ninja
          ninja >/dev/null
          printf 'log bytes kept: \351\000\377\n'
        collect: [ninja-log]
)");
  auto r = c.cli({"submit", "--wait", "p.yml"});
  ASSERT_EQ(r.code, 0) << r.out << r.err << c.coordinator().log();
  EXPECT_EQ(c.text("SELECT state FROM jobs"), "succeeded");
  // U+FFFD stands where the bad byte was.
  EXPECT_EQ(c.scalar("SELECT count(*) FROM metrics WHERE name = 'm' || chr(65533) || 'tric'"), 1);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM metrics WHERE name LIKE 'ninja.%caf' || chr(65533) ||"
                     " '.o%' OR name LIKE '%caf' || chr(65533) || '.o'"),
            1)
      << c.text("SELECT string_agg(name, ' | ') FROM metrics");
  EXPECT_GE(c.scalar("SELECT count(*) FROM metrics WHERE name LIKE 'nul%'"), 1);
  // Log bytes are kept exactly as the step wrote them.
  const std::string log = c.stored_log(c.scalar("SELECT id FROM jobs"), 1);
  EXPECT_NE(log.find(std::string("log bytes kept: \xE9\0\xFF\n", 20)), std::string::npos);
  EXPECT_EQ(c.coordinator().log().find("invalid byte sequence"), std::string::npos);
  // The next pipeline, from anyone, runs.
  c.write_file("ok.yml", "pipeline: ok\njobs:\n  a:\n    steps: [{run: \"true\"}]\n");
  r = c.cli({"submit", "--wait", "ok.yml"});
  EXPECT_EQ(r.code, 0) << r.err;
}

TEST(Fault, DuplicateNeedsAreRefusedWithTheirLine) {
  Cluster c;
  c.write_file("p.yml", R"(pipeline: p
jobs:
  a:
    steps: [{run: "true"}]
  b:
    needs: [a, a]
    steps: [{run: "true"}]
)");
  auto r = c.cli({"submit", "p.yml"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("p.yml:6:16: jobs.b.needs[1]: 'a' is listed twice"), std::string::npos)
      << r.err;
  EXPECT_EQ(c.scalar("SELECT count(*) FROM pipelines"), 0);
}

TEST(Fault, BadIdsAreNotFoundAndTheCoordinatorKeepsItsAgents) {
  Cluster c;
  c.add_agent("a", "", "m1");
  // Past bigint: the coordinator answers "not found" itself (no SQL is run).
  for (const char* id : {"9223372036854775808", "9223372036854775807"}) {
    auto r = c.cli({"status", id});
    EXPECT_EQ(r.code, 4) << r.err;
    EXPECT_NE(r.err.find("no pipeline or job with id"), std::string::npos) << r.err;
    r = c.cli({"cancel", id});
    EXPECT_EQ(r.code, 4) << r.err;
    r = c.cli({"logs", id});
    EXPECT_EQ(r.code, 4) << r.err;
  }
  // Negative or too long: a usage error at the CLI.
  for (const char* id : {"-1", "18446744073709551615", "0"}) {
    auto r = c.cli({"status", "--", id});
    EXPECT_EQ(r.code, 2) << id << ": " << r.err;
    EXPECT_NE(r.err.find("an id is a number from 1"), std::string::npos) << r.err;
  }
  EXPECT_EQ(c.coordinator().log().find("register again"), std::string::npos);
  c.write_file("ok.yml", "pipeline: ok\njobs:\n  a:\n    steps: [{run: \"true\"}]\n");
  EXPECT_EQ(c.cli({"submit", "--wait", "ok.yml"}).code, 0);
}

TEST(Fault, PostgresStoppedThirtySecondsMidJobEveryResultArrives) {
  PrivatePg pg;
  Cluster::Options options;
  options.dsn = pg.dsn();
  Cluster c(options);
  c.add_agent("a", "", "m1");
  const std::string go = c.dir() + "/go";
  c.write_file("p.yml", R"(pipeline: outage
jobs:
  two:
    steps:
      - name: first
        run: echo first step
      - name: second
        run: |
          while [ ! -e )" + go +
                            R"( ]; do sleep 0.1; done
          for i in $(seq 1 200); do echo "line $i"; sleep 0.05; done
          echo "metric.during.outage 7" >> "$YARDSTICK_METRICS"
)");
  std::promise<CliResult> waited;
  auto result = waited.get_future();
  std::thread waiter([&] { waited.set_value(c.cli({"submit", "--wait", "p.yml"})); });
  ASSERT_TRUE(
      wait_for([&] { return c.scalar("SELECT count(*) FROM steps WHERE idx = 1") == 1; }, 20s));
  pg.stop();
  std::ofstream(go) << "go\n";
  const auto stopped_at = std::chrono::steady_clock::now();
  // Meanwhile the coordinator stays up, answers `unavailable`, and the
  // waiting CLI keeps waiting.
  std::this_thread::sleep_for(3s);
  auto st = c.cli({"status", "1"});
  EXPECT_EQ(st.code, 3) << st.out << st.err;
  EXPECT_NE(st.err.find("PostgreSQL"), std::string::npos) << st.err;
  EXPECT_EQ(result.wait_for(0s), std::future_status::timeout) << "submit --wait gave up";
  std::this_thread::sleep_until(stopped_at + 30s);
  EXPECT_TRUE(c.coordinator().running());
  EXPECT_TRUE(c.agent("a").running());
  pg.start();
  ASSERT_EQ(result.wait_for(60s), std::future_status::ready);
  waiter.join();
  auto r = result.get();
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  // The waiting CLI said once that it waits, and when it was answered again.
  EXPECT_EQ(count_of(r.err, "; still waiting"), 1u) << r.err;
  EXPECT_NE(r.err.find("the coordinator answers again"), std::string::npos) << r.err;
  EXPECT_EQ(c.text("SELECT state FROM jobs"), "succeeded");
  EXPECT_EQ(c.scalar("SELECT attempt FROM jobs"), 1);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM steps WHERE ended_at IS NOT NULL"), 2);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM metrics WHERE name = 'metric.during.outage'"), 1);
  const std::string log = c.stored_log(c.scalar("SELECT id FROM jobs"), 1);
  for (int i = 1; i <= 200; ++i)
    ASSERT_EQ(count_of(log, "line " + std::to_string(i) + "\n"), 1u) << "line " << i;
}

// A replicated PostgreSQL, as Patroni or a managed service runs it: the
// coordinator is given both servers in one libpq multi-host DSN with
// target_session_attrs=read-write. The primary crashes mid-pipeline (no
// shutdown checkpoint) and the replica is promoted: the coordinator finds
// the new primary itself, the agents' spools cover the gap, and every log
// line, sample and metric is stored once. Replication is synchronous, as
// docs/reliability.md asks for: a commit the coordinator acknowledged to an
// agent is on the replica too.
TEST(Fault, PrimaryCrashedAndReplicaPromotedMidPipelineEveryResultArrivesOnce) {
  PrivatePg primary;
  auto replica = primary.replica();
  {
    pqxx::connection conn(primary.dsn());
    pqxx::nontransaction n(conn);
    n.exec("ALTER SYSTEM SET synchronous_standby_names = '*'");
    n.exec("SELECT pg_reload_conf()");
  }
  ASSERT_TRUE(wait_for(
      [&] {
        pqxx::connection conn(primary.dsn());
        pqxx::nontransaction n(conn);
        return n.exec("SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'")[0][0]
                   .as<int>() == 1;
      },
      20s));
  Cluster::Options options;
  options.dsn = "host=127.0.0.1,127.0.0.1 port=" + primary.port() + "," + replica->port() +
                " user=yardstick dbname=postgres target_session_attrs=read-write";
  Cluster c(options);
  c.add_agent("a", "role=lines", "m1");
  c.add_agent("b", "role=bench", "m2");
  const std::string go = c.dir() + "/go";
  c.write_file("p.yml", R"(pipeline: failover
jobs:
  lines:
    on: { labels: [role=lines] }
    steps:
      - name: first
        run: echo first step
      - name: second
        run: |
          while [ ! -e )" + go +
                            R"( ]; do sleep 0.1; done
          for i in $(seq 1 200); do echo "line $i"; sleep 0.02; done
          echo "metric.during.failover 7" >> "$YARDSTICK_METRICS"
  naps:
    kind: bench
    on: { labels: [role=bench] }
    bench:
      setup: 'while [ ! -e )" +
                            go + R"( ]; do sleep 0.1; done'
      run: sleep 0.05
      runs: 60
)");
  std::promise<CliResult> waited;
  auto result = waited.get_future();
  std::thread waiter([&] { waited.set_value(c.cli({"submit", "--wait", "p.yml"})); });
  ASSERT_TRUE(wait_for(
      [&] {
        return c.scalar(
                   "SELECT count(*) FROM steps s JOIN jobs j ON j.id = s.job_id WHERE "
                   "j.name = 'lines' AND s.idx = 1") == 1 &&
               c.scalar("SELECT count(*) FROM jobs WHERE state = 'running'") == 2;
      },
      20s));
  std::ofstream(go) << "go\n";
  ASSERT_TRUE(wait_for([&] { return c.scalar("SELECT count(*) FROM samples") >= 5; }, 20s));
  primary.kill();
  std::this_thread::sleep_for(1s);
  replica->promote();
  const auto promoted_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(wait_for([&] { return c.cli({"status", "1"}).code == 0; }, 30s));
  std::cout << "service back "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - promoted_at)
                   .count()
            << " ms after the promotion\n";
  ASSERT_EQ(result.wait_for(60s), std::future_status::ready);
  waiter.join();
  auto r = result.get();
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  // The coordinator writes to the promoted replica now.
  EXPECT_EQ(c.text("SELECT inet_server_port()::text"), replica->port());
  EXPECT_EQ(c.scalar("SELECT count(*) FROM jobs WHERE state = 'succeeded' AND attempt = 1"), 2);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM samples"), 60);
  EXPECT_EQ(c.scalar("SELECT count(DISTINCT idx) FROM samples WHERE idx BETWEEN 0 AND 59"), 60);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM metrics WHERE name = 'metric.during.failover'"), 1);
  const std::string log = c.stored_log(c.scalar("SELECT id FROM jobs WHERE name = 'lines'"), 1);
  for (int i = 1; i <= 200; ++i)
    ASSERT_EQ(count_of(log, "line " + std::to_string(i) + "\n"), 1u) << "line " << i;
  EXPECT_NE(c.coordinator().log().find("store available again"), std::string::npos);
}

TEST(Fault, StoppedAgentPastItsLeaseHasItsLateResultsRefusedAndItsProcessStopped) {
  Cluster c;  // lease 2 s
  c.add_agent("a", "pool=x", "m1");
  const std::string pids = c.dir() + "/pids";
  c.write_file("p.yml", R"(pipeline: stop
jobs:
  work:
    on: { labels: [pool=x] }
    steps:
      - run: |
          echo "$YARDSTICK_ATTEMPT $$" >> )" +
                            pids + R"(
          if [ "$YARDSTICK_ATTEMPT" = 1 ]; then
            sleep 4; echo late result of attempt one; sleep 30
          fi
          echo done on $YARDSTICK_AGENT
)");
  ASSERT_EQ(c.cli({"submit", "p.yml"}).code, 0);
  ASSERT_TRUE(wait_for([&] { return c.text("SELECT state FROM jobs") == "running"; }, 10s));
  c.add_agent("b", "pool=x", "m2");
  c.agent("a").signal(SIGSTOP);
  // Past the lease: the job runs again, on b.
  ASSERT_TRUE(wait_for([&] { return c.text("SELECT state FROM jobs") == "succeeded"; }, 20s));
  EXPECT_EQ(c.scalar("SELECT attempt FROM jobs"), 2);
  EXPECT_EQ(c.text("SELECT a.name FROM jobs j JOIN agents a ON a.id = j.agent_id"),
            c.agent_name("b"));
  c.agent("a").signal(SIGCONT);
  // a comes back, is told to abandon attempt 1, and stops its process.
  pid_t first = 0;
  {
    std::ifstream in(pids);
    int attempt = 0;
    in >> attempt >> first;
    ASSERT_EQ(attempt, 1);
  }
  EXPECT_TRUE(wait_for([&] { return ::kill(first, 0) != 0; }, 15s))
      << "attempt 1's process is still alive";
  EXPECT_TRUE(wait_for(
      [&] {
        return c.agent("a").log().find("abandoned job " +
                                       std::to_string(c.scalar("SELECT id FROM jobs")) +
                                       " attempt 1") != std::string::npos;
      },
      10s))
      << c.agent("a").log();
  // Nothing of attempt 1 was stored after its agent was lost. The abandon
  // proves it: it came after the coordinator committed every message the
  // agent sent before it (one connection, in order), and the agent drops
  // the attempt's results on it.
  EXPECT_EQ(c.stored_log(c.scalar("SELECT id FROM jobs"), 1).find("late result"),
            std::string::npos);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM steps WHERE attempt = 1 AND ended_at IS NOT NULL"), 0);
  EXPECT_EQ(c.text("SELECT state FROM jobs"), "succeeded");
}

TEST(Fault, AgentRestartedWithASpoolDeliversItAndReportsItsJobLost) {
  Cluster c;
  c.add_agent("a", "", "m1");
  const std::string go = c.dir() + "/go";
  c.write_file("p.yml", R"(pipeline: spool
jobs:
  work:
    steps:
      - run: |
          echo before
          if [ "$YARDSTICK_ATTEMPT" = 1 ]; then
            while [ ! -e )" +
                            go + R"( ]; do sleep 0.1; done
            echo measured while the coordinator was gone
            echo "spooled.metric 42" >> "$YARDSTICK_METRICS"
            sleep 60
          fi
          echo attempt $YARDSTICK_ATTEMPT done
)");
  ASSERT_EQ(c.cli({"submit", "p.yml"}).code, 0);
  const int64_t job_wait = 10;
  ASSERT_TRUE(wait_for([&] { return c.scalar("SELECT count(*) FROM log_chunks") >= 1; },
                       std::chrono::seconds(job_wait)));
  c.kill_coordinator();
  std::ofstream(go) << "go\n";
  // The output reaches the agent's spool; nobody acknowledges it.
  const std::string spool = c.agent_home("a") + "/spool";
  std::this_thread::sleep_for(1500ms);
  c.agent("a").signal(SIGKILL);
  c.agent("a").wait(5s);
  size_t spooled_bytes = 0;
  for (const auto& e : fs::directory_iterator(spool))
    if (e.path().extension() == ".log") spooled_bytes += fs::file_size(e.path());
  EXPECT_GT(spooled_bytes, 0u);
  c.start_coordinator();
  c.restart_agent("a");
  ASSERT_TRUE(wait_for([&] { return c.text("SELECT state FROM jobs") == "succeeded"; }, 30s))
      << c.text("SELECT state || ' ' || message FROM jobs");
  const int64_t job = c.scalar("SELECT id FROM jobs");
  EXPECT_EQ(c.scalar("SELECT attempt FROM jobs"), 2);
  // What attempt 1 measured while nobody listened was delivered, once.
  const std::string log1 = c.stored_log(job, 1);
  EXPECT_EQ(count_of(log1, "measured while the coordinator was gone\n"), 1u) << log1;
  EXPECT_EQ(count_of(log1, "before\n"), 1u);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM metrics WHERE name = 'spooled.metric' AND attempt = 1"),
            0)
      << "the metrics file is read after the step, which never ended";
  EXPECT_EQ(c.scalar("SELECT count(*) FROM job_events WHERE attempt = 1 AND to_state = 'lost'"
                     " AND message LIKE '%restarted%'"),
            1);
  EXPECT_EQ(count_of(c.stored_log(job, 2), "attempt 2 done\n"), 1u);
  // The previous life's process (sleep 60) was stopped.
  EXPECT_EQ(std::system(("pgrep -f 'sleep 60' >/dev/null && grep -l YARDSTICK_JOB_ID=" +
                         std::to_string(job) + " /proc/$(pgrep -f 'sleep 60')/environ 2>/dev/null")
                            .c_str()) == 0,
            false);
}

TEST(Fault, TenThousandShortLinesASecondAreStoredOnceInOrder) {
  Cluster c;
  c.add_agent("a", "", "m1");
  c.write_file("p.yml", R"(pipeline: lines
jobs:
  chatty:
    steps:
      - run: |
          awk 'BEGIN { for (s = 0; s < 3; s++) { for (i = 0; i < 10000; i++) printf "line %d\n", s * 10000 + i; fflush(); system("sleep 1") } }'
)");
  auto r = c.cli({"submit", "--wait", "p.yml"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::string expected;
  for (int i = 0; i < 30000; ++i) expected += "line " + std::to_string(i) + "\n";
  EXPECT_EQ(c.stored_log(c.scalar("SELECT id FROM jobs"), 1), expected);
}

TEST(Fault, BackgroundChildHoldingThePipesDoesNotHoldTheJob) {
  Cluster c;
  c.add_agent("a", "", "m1");
  c.write_file("p.yml", R"(pipeline: bg
jobs:
  daemon:
    steps:
      - run: |
          sleep 30 &
          echo left a child holding stdout
      - run: echo next step
)");
  const auto start = std::chrono::steady_clock::now();
  auto r = c.cli({"submit", "--wait", "p.yml"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 15s);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM steps WHERE exit_code = 0"), 2);
}

TEST(Fault, DrainingAgentFinishesItsJobAndTakesNoNewOne) {
  Cluster c;
  c.add_agent("a", "", "m1");
  c.write_file("long.yml", R"(pipeline: long
jobs:
  first:
    steps: [{run: "sleep 2; echo first done"}]
)");
  c.write_file("next.yml",
               "pipeline: next\njobs:\n  second:\n    steps: [{run: \"echo second\"}]\n");
  ASSERT_EQ(c.cli({"submit", "long.yml"}).code, 0);
  ASSERT_TRUE(wait_for([&] { return c.text("SELECT state FROM jobs") == "running"; }, 10s));
  c.agent("a").signal(SIGTERM);
  ASSERT_TRUE(wait_for(
      [&] {
        auto a = c.cli({"agents"});
        return a.out.find("draining") != std::string::npos;
      },
      5s));
  ASSERT_EQ(c.cli({"submit", "next.yml"}).code, 0);
  // The running job finishes there; the agent exits by itself.
  EXPECT_EQ(c.agent("a").wait(20s), 0);
  EXPECT_EQ(c.text("SELECT state FROM jobs WHERE name = 'first'"), "succeeded");
  EXPECT_EQ(c.text("SELECT state FROM jobs WHERE name = 'second'"), "queued");
  // Another agent takes the new job.
  c.add_agent("b", "", "m2");
  ASSERT_TRUE(wait_for(
      [&] { return c.text("SELECT state FROM jobs WHERE name = 'second'") == "succeeded"; }, 15s));
  EXPECT_EQ(c.text("SELECT a.name FROM jobs j JOIN agents a ON a.id = j.agent_id WHERE j.name ="
                   " 'second'"),
            c.agent_name("b"));
}

TEST(Fault, DrainFromTheCliHoldsNewJobsUntilUndone) {
  Cluster c;
  c.add_agent("a", "", "m1");
  auto r = c.cli({"drain", c.agent_name("a")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(c.cli({"drain", "nobody"}).code, 4);
  c.write_file("p.yml", "pipeline: p\njobs:\n  j:\n    steps: [{run: \"true\"}]\n");
  ASSERT_EQ(c.cli({"submit", "p.yml"}).code, 0);
  // The coordinator has judged it: its only agent drains, so it waits, saying why.
  EXPECT_TRUE(wait_for([&] { return c.text("SELECT note FROM jobs") == "no_agent"; }, 10s));
  EXPECT_EQ(c.text("SELECT state FROM jobs"), "queued");
  EXPECT_NE(c.text("SELECT message FROM jobs").find("is draining"), std::string::npos);
  EXPECT_NE(c.cli({"agents"}).out.find("connected, draining"), std::string::npos);
  // Kept across a coordinator restart: once the agent registered again (and
  // a later request was answered), the job was placed or not.
  c.kill_coordinator();
  const size_t from = c.coordinator().log().size();
  c.start_coordinator();
  EXPECT_TRUE(c.wait_registered("a", from));
  EXPECT_EQ(c.cli({"agents"}).code, 0);
  EXPECT_EQ(c.text("SELECT state FROM jobs"), "queued");
  ASSERT_EQ(c.cli({"drain", "--undo", c.agent_name("a")}).code, 0);
  EXPECT_TRUE(wait_for([&] { return c.text("SELECT state FROM jobs") == "succeeded"; }, 10s));
}

TEST(Fault, SecondSigtermEndsTheJobLostAndItRunsAgainElsewhere) {
  Cluster c;
  c.add_agent("a", "pool=x", "m1");
  c.write_file("p.yml", R"(pipeline: stop
jobs:
  work:
    on: { labels: [pool=x] }
    steps:
      - run: if [ "$YARDSTICK_ATTEMPT" = 1 ]; then sleep 60; fi; echo ran
)");
  ASSERT_EQ(c.cli({"submit", "p.yml"}).code, 0);
  ASSERT_TRUE(wait_for([&] { return c.text("SELECT state FROM jobs") == "running"; }, 10s));
  c.add_agent("b", "pool=x", "m2");
  c.agent("a").signal(SIGTERM);
  std::this_thread::sleep_for(300ms);
  c.agent("a").signal(SIGTERM);
  EXPECT_EQ(c.agent("a").wait(20s), 0);
  ASSERT_TRUE(wait_for([&] { return c.text("SELECT state FROM jobs") == "succeeded"; }, 15s));
  EXPECT_EQ(c.scalar("SELECT attempt FROM jobs"), 2);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM job_events WHERE to_state = 'cancelled'"), 0);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM job_events WHERE to_state = 'lost' AND attempt = 1"), 1);
}

TEST(Fault, QueuedJobNoAgentCanTakeFailsAfterTheQueueTimeoutNamingItsLabels) {
  Cluster::Options options;
  options.coordinator_args = {"--queue-timeout-ms", "1500"};
  Cluster c(options);
  c.add_agent("a", "os=linux", "m1");
  c.write_file("p.yml", R"(pipeline: gpu
jobs:
  train:
    on: { labels: [gpu=yes] }
    steps: [{run: "true"}]
)");
  auto r = c.cli({"submit", "--wait", "p.yml"});
  EXPECT_EQ(r.code, 1) << r.err;
  // Said at submission, kept on the job while it waits, and in its failure.
  EXPECT_NE(r.err.find("warning: job train waiting: no connected agent has labels [gpu=yes]"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(c.text("SELECT state FROM jobs"), "failed");
  EXPECT_NE(c.text("SELECT message FROM jobs").find("gpu=yes"), std::string::npos)
      << c.text("SELECT message FROM jobs");
  EXPECT_GE(c.scalar("SELECT count(*) FROM job_events WHERE to_state = 'failed' AND message LIKE"
                     " '%no connected agent has labels [gpu=yes]%'"),
            1);
}

TEST(Fault, SecondAgentWithALiveAgentsNameIsRefusedAndEvictsNobody) {
  Cluster c;
  c.add_agent("a", "", "m1");
  const std::string name = c.agent_name("a");
  // The same name and key (a copied agent configuration): a live process
  // keeps its name.
  Process twin({binary("yardstick-agent"), "--coordinator", c.agents_endpoint(), "--name", name,
                "--home", c.dir() + "/twin", "--log-level", "debug", "--key",
                c.key_file("agent-" + name), "--coordinator-key", c.coordinator_public_key_file()},
               c.dir() + "/twin.log");
  ASSERT_TRUE(
      wait_for([&] { return twin.log().find("already connected") != std::string::npos; }, 10s))
      << twin.log();
  // After a few rejections in a row it gives up, saying why.
  EXPECT_EQ(WEXITSTATUS(twin.wait(30s)), 2) << twin.log();
  EXPECT_NE(twin.log().find("the coordinator refuses this agent: an agent named"),
            std::string::npos)
      << twin.log();
  // The first agent was never evicted: it registered exactly once.
  EXPECT_EQ(count_of(c.coordinator().log(), "agent " + name + " registered:"), 1u);
  c.write_file("p.yml", "pipeline: p\njobs:\n  j:\n    steps: [{run: \"true\"}]\n");
  EXPECT_EQ(c.cli({"submit", "--wait", "p.yml"}).code, 0);
  twin.signal(SIGKILL);
}

}  // namespace
}  // namespace yardstick::test

namespace yardstick::test {
namespace {

using namespace std::chrono_literals;

// A stored job whose spec no longer decodes (a hand edit, a bug of an older
// version) made the coordinator exit at start, and again at every restart.
// It now fails that job, saying why, and serves the rest.
TEST(Fault, AStoredJobThatNoLongerDecodesIsFailedAndTheCoordinatorStarts) {
  Cluster c;
  c.write_file("park.yml",
               "pipeline: park\njobs:\n  parked:\n    on: { labels: [nowhere=x] }\n"
               "    steps: [{run: \"true\"}]\n  other:\n    on: { labels: [nowhere=x] }\n"
               "    steps: [{run: \"true\"}]\n");
  ASSERT_EQ(c.cli({"submit", "park.yml"}).code, 0);
  c.kill_coordinator();
  c.query("UPDATE jobs SET spec = '{\"steps\": 5}' WHERE name = 'parked'");
  c.start_coordinator();
  ASSERT_TRUE(wait_for(
      [&] { return c.text("SELECT state FROM jobs WHERE name = 'parked'") == "failed"; }, 10s));
  EXPECT_EQ(c.text("SELECT left(message, 40) FROM jobs WHERE name = 'parked'"),
            "the coordinator cannot load this job: jo");
  EXPECT_EQ(c.text("SELECT state FROM jobs WHERE name = 'other'"), "queued");
  EXPECT_EQ(c.scalar("SELECT count(*) FROM refusals WHERE what = 'stored job'"), 1);
  auto st = c.cli({"status", "1"});
  EXPECT_EQ(st.code, 0) << st.err;
  // And it stops cleanly.
  c.coordinator().signal(SIGTERM);
  EXPECT_EQ(c.coordinator().wait(10s), 0);
}

}  // namespace
}  // namespace yardstick::test
