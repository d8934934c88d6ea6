// The agent registry: sessions by name and route, incarnations, leases.
#include <gtest/gtest.h>

#include "coordinator/agent_registry.hpp"

namespace yardstick {
namespace {

using A = AgentRegistry::Admission;

AgentSession session(const std::string& name, const std::string& route,
                     const std::string& incarnation, int64_t seen_ms) {
  AgentSession s;
  s.name = name;
  s.route = route;
  s.incarnation = incarnation;
  s.last_seen_ms = seen_ms;
  return s;
}

TEST(AgentRegistry, NewRepeatReplaceAndReject) {
  AgentRegistry r;
  EXPECT_EQ(r.admit("laptop", "i1", "r1", 1000, 600), A::kNew);
  r.put(session("laptop", "r1", "i1", 1000));
  // The same process again, from a new connection or not: harmless.
  EXPECT_EQ(r.admit("laptop", "i1", "r2", 1100, 600), A::kRepeat);
  // Another process while the first is alive: refused.
  EXPECT_EQ(r.admit("laptop", "i2", "r2", 1100, 600), A::kReject);
  // Once the first has been silent past `alive`: it takes over (a restart).
  EXPECT_EQ(r.admit("laptop", "i2", "r2", 1700, 600), A::kReplace);
  // The same route (the same socket) is the same peer, whatever it says.
  EXPECT_EQ(r.admit("laptop", "i2", "r1", 1100, 600), A::kReplace);
}

TEST(AgentRegistry, PutReplacesByNameMovesTheRouteAndKeepsOwedAcks) {
  AgentRegistry r;
  AgentSession& first = r.put(session("a", "r1", "i1", 0));
  first.acks.push_back({7, 1, 3});
  r.put(session("a", "r2", "i2", 10));
  EXPECT_EQ(r.by_route("r1"), nullptr);
  ASSERT_NE(r.by_route("r2"), nullptr);
  EXPECT_EQ(r.by_route("r2")->incarnation, "i2");
  ASSERT_EQ(r.find("a")->acks.size(), 1u);
  EXPECT_EQ(r.find("a")->acks[0].seq, 3u);
  EXPECT_EQ(r.name_of("r2", "?"), "a");
  EXPECT_EQ(r.name_of("r1", "?"), "?");
  EXPECT_EQ(r.sessions().size(), 1u);
}

TEST(AgentRegistry, ExpiredAfterTheLeaseAndExtendedByAStall) {
  AgentRegistry r;
  r.put(session("a", "r1", "i", 1000));
  r.put(session("b", "r2", "i", 5000));
  EXPECT_TRUE(r.expired(3000, 2000).empty());
  EXPECT_EQ(r.expired(3001, 2000), std::vector<std::string>{"a"});
  r.extend(4000);  // the coordinator itself did not serve for 4 s
  EXPECT_TRUE(r.expired(7000, 2000).empty());
  r.remove("a");
  EXPECT_EQ(r.find("a"), nullptr);
  EXPECT_EQ(r.by_route("r1"), nullptr);
  r.clear();
  EXPECT_TRUE(r.sessions().empty());
}

TEST(AgentRegistry, AHeartbeatKeepsTheLeaseWithoutQueueingAgainAndEachExpiryIsSaidOnce) {
  AgentRegistry r;
  AgentSession& a = r.put(session("a", "r1", "i", 0));
  r.put(session("b", "r2", "i", 0));
  for (int64_t t = 500; t <= 4500; t += 500) r.seen(a, t, 1000);  // a heartbeats, b is silent
  EXPECT_EQ(r.expired(2001, 2000), std::vector<std::string>{"b"});
  // Not removed: still expired, and said once, not once per queue entry.
  r.put(session("b", "r2", "i", 0));
  EXPECT_EQ(r.expired(2500, 2000), std::vector<std::string>{"b"});
  r.remove("b");
  EXPECT_TRUE(r.expired(6500, 2000).empty());
  EXPECT_EQ(r.expired(6501, 2000), std::vector<std::string>{"a"});
  // Registered again after its loss: a fresh lease.
  r.remove("a");
  r.put(session("a", "r3", "i2", 7000));
  EXPECT_TRUE(r.expired(9000, 2000).empty());
  EXPECT_EQ(r.expired(9001, 2000), std::vector<std::string>{"a"});
}

TEST(AgentRegistry, LastSeenIsDueInTheStoreOncePerInterval) {
  AgentRegistry r;
  AgentSession& a = r.put(session("a", "r1", "i", 0));
  a.agent_id = 7;
  r.seen(a, 400, 1000);
  EXPECT_TRUE(r.take_touched().empty());
  r.seen(a, 1000, 1000);
  r.seen(a, 1500, 1000);
  EXPECT_EQ(r.take_touched(), std::vector<uint64_t>{7});
  EXPECT_TRUE(r.take_touched().empty());
  r.seen(a, 2000, 1000);
  EXPECT_EQ(r.take_touched(), std::vector<uint64_t>{7});
}

TEST(AgentRegistry, OnlySessionsThatOweAreVisitedOnceEach) {
  AgentRegistry r;
  for (const char* n : {"a", "b", "c"}) r.put(session(n, std::string("r") + n, "i", 0));
  r.add_ack(*r.find("c"), {1, 1, 1});
  r.add_ack(*r.find("c"), {1, 1, 2});
  EXPECT_TRUE(r.add_abandon(*r.find("a"), {2, 1}));
  EXPECT_FALSE(r.add_abandon(*r.find("a"), {2, 1}));
  std::vector<std::string> visited;
  r.take_owing([&](AgentSession& s) { visited.push_back(s.name); });
  EXPECT_EQ(visited, (std::vector<std::string>{"c", "a"}));
  visited.clear();
  r.take_owing([&](AgentSession& s) { visited.push_back(s.name); });
  EXPECT_TRUE(visited.empty());
  // A replaced session carries what the old one owed, and still owes it.
  r.add_ack(*r.find("b"), {3, 1, 1});
  r.put(session("b", "rb2", "i2", 10));
  r.take_owing(
      [&](AgentSession& s) { visited.push_back(s.name + ":" + std::to_string(s.acks.size())); });
  EXPECT_EQ(visited, std::vector<std::string>{"b:1"});
}

}  // namespace
}  // namespace yardstick

#include "coordinator/agent_channel.hpp"

namespace yardstick {
namespace {

TEST(FleetCadence, AFleetLargerThanTheBudgetBeatsLessOftenWithALeaseInProportion) {
  CoordinatorConfig config;  // 2 s, 10 s, 500 heartbeats/s
  EXPECT_EQ(fleet_cadence(config, 10).interval_ms, 2000);
  EXPECT_EQ(fleet_cadence(config, 1000).interval_ms, 2000);
  const Cadence big = fleet_cadence(config, 10000);
  EXPECT_EQ(big.interval_ms, 20000);
  EXPECT_EQ(big.lease_ms, 100000);
  EXPECT_EQ(fleet_cadence(config, 1001).interval_ms, 2100);  // rounded up to 100 ms
  config.max_heartbeats_per_s = 0;
  EXPECT_EQ(fleet_cadence(config, 10000).interval_ms, 2000);
}

}  // namespace
}  // namespace yardstick
