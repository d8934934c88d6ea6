// docs/protocol.md says what every value from a peer is bounded by; the
// code's one table (coordinator/bounds.hpp) decides. They must say the same.
#include <gtest/gtest.h>

#include <capnp/message.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

#include "coordinator/bounds.hpp"

namespace yardstick {
namespace {

TEST(ProtocolDoc, TheBoundsTableOfTheDocsIsTheCodesTable) {
  std::ifstream in(std::string(YARDSTICK_SOURCE_DIR) + "/docs/protocol.md");
  ASSERT_TRUE(in) << "docs/protocol.md";
  std::string line;
  bool in_bounds = false;
  std::map<std::string, std::string> documented;
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0) in_bounds = line == "## Bounds";
    if (!in_bounds || line.rfind("| `", 0) != 0) continue;
    const size_t end = line.find("` | ");
    ASSERT_NE(end, std::string::npos) << line;
    std::string rule = line.substr(end + 4);
    ASSERT_GE(rule.size(), 2u) << line;
    rule = rule.substr(0, rule.size() - 2);  // " |"
    documented[line.substr(3, end - 3)] = rule;
  }
  std::map<std::string, std::string> code;
  for (const auto& b : bounds::table()) code[std::string(b.field)] = std::string(b.rule);
  EXPECT_EQ(documented, code);
  EXPECT_GT(code.size(), 40u);
}

TEST(HelloBounds, AnHourlyCostIsNotSaidOrFromZeroToAMillion) {
  auto hello = [](double cost) {
    capnp::MallocMessageBuilder b;
    auto h = b.initRoot<wire::AgentHello>();
    h.setName("a");
    h.setSlots(1);
    h.setHourlyCost(cost);
    bounds::check(h.asReader());
  };
  {
    capnp::MallocMessageBuilder b;
    auto h = b.initRoot<wire::AgentHello>();
    h.setName("a");
    h.setSlots(1);
    EXPECT_EQ(h.asReader().getHourlyCost(), -1) << "an older agent's hello: not said";
    EXPECT_NO_THROW(bounds::check(h.asReader()));
  }
  EXPECT_NO_THROW(hello(0));
  EXPECT_NO_THROW(hello(6.5));
  EXPECT_NO_THROW(hello(1e6));
  EXPECT_THROW(hello(-0.5), PeerError);
  EXPECT_THROW(hello(1e6 + 1), PeerError);
  EXPECT_THROW(hello(std::nan("")), PeerError);
  EXPECT_THROW(hello(std::numeric_limits<double>::infinity()), PeerError);
}

}  // namespace
}  // namespace yardstick
