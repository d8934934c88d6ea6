// An agent holding a listed key sends, for each job it is given, one value
// out of its bound (tests/integration/hostile_peer.hpp), a good sample and
// the job's end, and resends whatever is not acknowledged, registering
// again whenever told to, as every agent does. The coordinator refuses and
// records each bad value once, acknowledges it so that it is never sent
// again, ends every job, never treats any of it as a store outage, and
// another user's pipeline runs meanwhile as ever.
#include <gtest/gtest.h>

#include <future>
#include <string>
#include <thread>

#include "tests/integration/harness.hpp"
#include "tests/integration/hostile_peer.hpp"
#include "tests/integration/sim_agent.hpp"

namespace yardstick::test {
namespace {

using namespace std::chrono_literals;

TEST(HostilePeer, EveryOutOfBoundsValueIsRefusedOnceAndNobodyWaits) {
  Cluster c;
  c.add_agent("real", "role=real", "real-machine");
  const auto cases = hostile_cases();
  c.write_file("hostile.yml", hostile_pipeline(cases.size()));
  c.write_file("other.yml",
               "pipeline: other-user\njobs:\n  one:\n    on: { labels: [role=real] }\n"
               "    steps: [{run: \"true\"}]\n");
  SimAgent::Options options;
  options.labels = {{"role", "hostile"}};
  SimAgent peer(c, c.agent_name("hostile"), options);
  ASSERT_TRUE(peer.register_now(10s));
  ASSERT_EQ(c.cli({"submit", "hostile.yml"}).code, 0);
  // The other user, meanwhile.
  auto other = std::async(std::launch::async, [&] {
    return c.cli({"submit", "other.yml", "--wait"});
  });

  size_t assigned = 0;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (assigned < cases.size() && std::chrono::steady_clock::now() < deadline) {
    auto job = peer.wait_assign(1s);
    if (!job) continue;
    send_hostile_job(peer, *job, cases);
    ++assigned;
  }
  EXPECT_EQ(assigned, cases.size()) << "every job reaches the peer: none is stuck behind another";
  ASSERT_TRUE(peer.drain(20s)) << peer.unacked() << " results never acknowledged";
  peer.serve(1s);  // a resend that came late is acknowledged, never recorded twice

  const auto r = other.get();
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  const std::string log = c.coordinator().log();
  EXPECT_EQ(count_of(log, "store failed"), 0u);
  EXPECT_EQ(peer.reregistrations(), 0);
  // Each case's bad value: refused and recorded exactly once, never stored.
  EXPECT_EQ(c.scalar("SELECT count(*) FROM refusals"), static_cast<int64_t>(cases.size()));
  EXPECT_EQ(c.scalar("SELECT count(*) FROM refusals WHERE reason LIKE '%out of bounds%'"),
            static_cast<int64_t>(cases.size()));
  EXPECT_EQ(c.scalar("SELECT count(*) FROM samples WHERE variant_idx <> 0 OR idx <> 0"), 0);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM metrics WHERE name <> 'x' AND length(name) > 4096"), 0);
  // Every job ended; the one whose end was out of bounds failed, saying why.
  EXPECT_EQ(c.scalar("SELECT count(*) FROM jobs j JOIN pipelines p ON p.id = j.pipeline_id"
                     " WHERE p.name = 'hostile' AND j.state NOT IN ('succeeded', 'failed')"),
            0);
  EXPECT_EQ(c.scalar("SELECT count(*) FROM jobs WHERE state = 'failed' AND message LIKE"
                     " 'the agent''s job end was refused: JobFinished.endedAtUs%'"),
            1);
  // And the coordinator serves as ever.
  EXPECT_TRUE(c.coordinator().running());
  EXPECT_EQ(c.cli({"report", "refusals"}).code, 0);
}

}  // namespace
}  // namespace yardstick::test
