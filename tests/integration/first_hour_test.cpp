// What a newcomer meets in the first hour: every wrong input answered with
// a clear error and the right exit code, never a crash.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include "tests/integration/harness.hpp"

namespace yardstick::test {
namespace {

using namespace std::chrono_literals;

TEST(FirstHour, EndpointWithoutASchemeIsAUsageErrorNamingIt) {
  Cluster c;
  auto r = c.cli({"--coordinator", "localhost:46399", "agents"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("endpoint 'localhost:46399' has no scheme: write tcp://localhost:46399"),
            std::string::npos)
      << r.err;

  Process agent(
      {binary("yardstick-agent"), "--coordinator", "127.0.0.1:55057", "--home", c.dir() + "/h"},
      c.dir() + "/agent.log");
  EXPECT_EQ(WEXITSTATUS(agent.wait(10s)), 2);
  EXPECT_NE(agent.log().find("has no scheme: write tcp://127.0.0.1:55057"), std::string::npos)
      << agent.log();

  Process coordinator({binary("yardstick-coordinator"), "--db", c.dsn(), "--clients",
                       "127.0.0.1:47003", "--agents", "tcp://127.0.0.1:*"},
                      c.dir() + "/coordinator2.log");
  EXPECT_EQ(WEXITSTATUS(coordinator.wait(10s)), 2);
  EXPECT_NE(coordinator.log().find("--clients: endpoint '127.0.0.1:47003' has no scheme"),
            std::string::npos)
      << coordinator.log();
}

TEST(FirstHour, CliPointedAtTheAgentsPortIsToldSo) {
  Cluster c;
  auto r = c.cli({"--coordinator", c.agents_endpoint(), "agents"});
  EXPECT_EQ(r.code, 4) << r.err;
  EXPECT_NE(r.err.find("is this peer pointed at the right port?"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace yardstick::test
