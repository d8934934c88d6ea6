// Two coordinators on one database: the leader holds PostgreSQL's advisory
// lock and an epoch the database checks on every transaction; the standby
// waits, unbound, and takes over when the leader's lock goes. Agents and
// the CLI are given both endpoints and reach whichever leads.
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

std::string file_text(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

int64_t ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t)
      .count();
}

TEST(Standby, LeaderKilledMidPipelineTheStandbyFinishesItAndNoJobRunsTwice) {
  // The reloaded jobs wait one lease for their agents, whose attempts to
  // reach the standby (refused while it did not listen) have backed off to
  // 2 s: a lease of 2 s would race them.
  Cluster::Options options;
  options.lease_ms = 6000;
  Cluster c(options);
  c.start_standby();
  EXPECT_NE(c.standby().log().find("leads (epoch 1"), std::string::npos) << c.standby().log();
  c.add_agent("a", "", "m1");
  c.add_agent("b", "", "m2");
  const std::string go = c.dir() + "/go", runs = c.dir() + "/runs";
  c.write_file("p.yml", R"(pipeline: handover
jobs:
  first:
    steps:
      - run: |
          echo "first $YARDSTICK_ATTEMPT" >> )" +
                            runs + R"(
          while [ ! -e )" + go +
                            R"( ]; do sleep 0.05; done
          for i in $(seq 1 100); do echo "line $i"; sleep 0.01; done
  second:
    needs: [first]
    steps:
      - run: echo "second $YARDSTICK_ATTEMPT" >> )" +
                            runs + R"(
)");
  std::promise<CliResult> waited;
  auto result = waited.get_future();
  std::thread waiter([&] { waited.set_value(c.cli({"submit", "--wait", "p.yml"})); });
  ASSERT_TRUE(wait_for([&] { return c.scalar("SELECT count(*) FROM steps") == 1; }, 20s));
  c.kill_coordinator();
  const auto killed_at = std::chrono::steady_clock::now();
  std::ofstream(go) << "go\n";
  ASSERT_TRUE(wait_for(
      [&] { return c.standby().log().find("leading (epoch 2)") != std::string::npos; }, 20s))
      << c.standby().log();
  const int64_t lead_ms = ms_since(killed_at);
  ASSERT_TRUE(wait_for(
      [&] {
        return c.scalar(
                   "SELECT count(*) FROM jobs WHERE name = 'second' AND started_at IS "
                   "NOT NULL") == 1;
      },
      30s));
  std::cout << "leader killed: standby leading after " << lead_ms
            << " ms, the next job started after " << ms_since(killed_at) << " ms\n";
  ASSERT_EQ(result.wait_for(60s), std::future_status::ready);
  waiter.join();
  auto r = result.get();
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  // Each job ran once, in its first attempt, and every line arrived once.
  EXPECT_EQ(file_text(runs), "first 1\nsecond 1\n");
  EXPECT_EQ(c.scalar("SELECT count(*) FROM jobs WHERE state = 'succeeded' AND attempt = 1"), 2);
  const std::string log = c.stored_log(c.scalar("SELECT id FROM jobs WHERE name = 'first'"), 1);
  for (int i = 1; i <= 100; ++i)
    ASSERT_EQ(count_of(log, "line " + std::to_string(i) + "\n"), 1u) << "line " << i;
  EXPECT_EQ(c.scalar("SELECT epoch FROM coordinator_leader"), 2);
  EXPECT_EQ(c.text("SELECT split_part(holder, ':', 2) FROM coordinator_leader"),
            std::to_string(c.standby().pid()));
  // The CLI given both endpoints finds the new leader for a new pipeline too.
  c.write_file("q.yml", "pipeline: after\njobs:\n  one:\n    steps: [{run: 'true'}]\n");
  auto again = c.cli({"submit", "--wait", "q.yml"});
  EXPECT_EQ(again.code, 0) << again.out << again.err;
}

// The leader's database session is cut (as a failed-over or restarted
// server, or an operator, would): it stops and exits 6, the standby leads,
// and a transaction with the old epoch is refused by the database itself.
TEST(Standby, ALeaderWhoseSessionIsCutStopsAndTheStandbyLeads) {
  Cluster c;
  c.start_standby();
  c.add_agent("a", "", "m1");
  const std::string cut = c.text(
      "SELECT pg_terminate_backend(pid)::text FROM pg_locks WHERE locktype = 'advisory' AND "
      "objid = 7400412 AND granted AND database = (SELECT oid FROM pg_database WHERE datname = "
      "current_database())");
  ASSERT_EQ(cut, "true");
  ASSERT_TRUE(wait_for([&] { return !c.coordinator().running(); }, 20s)) << c.coordinator().log();
  const int status = c.coordinator().wait(0ms);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 6) << status;
  EXPECT_NE(c.coordinator().log().find("another coordinator leads now"), std::string::npos)
      << c.coordinator().log();
  EXPECT_NE(c.standby().log().find("leading (epoch 2)"), std::string::npos) << c.standby().log();
  // The standby took the lock before the cut leader tried it again: the
  // old one never led with a newer epoch.
  EXPECT_EQ(c.coordinator().log().find("leading (epoch 3)"), std::string::npos);
  EXPECT_EQ(c.scalar("SELECT epoch FROM coordinator_leader"), 2);

  // A write attempted with a stale epoch is refused by the database.
  pqxx::connection conn(c.dsn());
  pqxx::work w(conn);
  try {
    w.exec("SELECT yardstick_fence(1, false)");
    ADD_FAILURE() << "a stale epoch was accepted";
  } catch (const pqxx::sql_error& e) {
    EXPECT_EQ(e.sqlstate(), "YS001") << e.what();
    EXPECT_NE(std::string(e.what()).find("stale leader epoch 1 (the leader is at epoch 2)"),
              std::string::npos)
        << e.what();
  }

  c.write_file("q.yml", "pipeline: after\njobs:\n  one:\n    steps: [{run: 'true'}]\n");
  auto r = c.cli({"submit", "--wait", "q.yml"});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
}

// A leader that stops without losing its session (SIGSTOP, a hung host)
// keeps the lock: the standby cuts its session once its heartbeat is older
// than a lease and leads. Woken, the old leader writes nothing and exits.
TEST(Standby, AStoppedLeaderIsCutOffAfterALeaseAndExitsWhenItWakes) {
  Cluster c;  // lease 2 s
  c.start_standby();
  c.add_agent("a", "", "m1");
  c.coordinator().signal(SIGSTOP);
  const auto stopped_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(wait_for(
      [&] { return c.standby().log().find("leading (epoch 2)") != std::string::npos; }, 20s))
      << c.standby().log();
  const int64_t lead_ms = ms_since(stopped_at);
  EXPECT_NE(c.standby().log().find("kept no heartbeat"), std::string::npos) << c.standby().log();
  // Not before the last heartbeat is a lease old: it was kept about once a
  // second (each turn, at least every 100 ms, beats when a second passed),
  // so at most 1.1 s before the stop.
  EXPECT_GE(lead_ms, 2000 - 1100);
  std::cout << "leader stopped: standby leading after " << lead_ms << " ms\n";
  c.coordinator().signal(SIGCONT);
  ASSERT_TRUE(wait_for([&] { return !c.coordinator().running(); }, 20s)) << c.coordinator().log();
  const int status = c.coordinator().wait(0ms);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 6) << status;
  EXPECT_EQ(c.scalar("SELECT epoch FROM coordinator_leader"), 2);
  c.write_file("q.yml", "pipeline: after\njobs:\n  one:\n    steps: [{run: 'true'}]\n");
  auto r = c.cli({"submit", "--wait", "q.yml"});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
}

}  // namespace
}  // namespace yardstick::test
