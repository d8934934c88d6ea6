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

}  // namespace
}  // namespace yardstick
