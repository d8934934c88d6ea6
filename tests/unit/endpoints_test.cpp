// Endpoints as agents and the CLI are given them: one, or a leader and its
// standbys separated by commas.
#include <gtest/gtest.h>

#include "common/zmq_util.hpp"

namespace yardstick {
namespace {

TEST(Endpoints, AListIsSplitAtCommasAndTrimmed) {
  EXPECT_EQ(split_endpoints("tcp://a:7401"), (std::vector<std::string>{"tcp://a:7401"}));
  EXPECT_EQ(split_endpoints("tcp://a:7401, tcp://b:7401"),
            (std::vector<std::string>{"tcp://a:7401", "tcp://b:7401"}));
  EXPECT_EQ(split_endpoints("tcp://a:1,,tcp://b:2"),
            (std::vector<std::string>{"tcp://a:1", "", "tcp://b:2"}));
}

TEST(Endpoints, EveryItemOfAListIsChecked) {
  EXPECT_EQ(endpoint_list_problem("tcp://a:7401,tcp://b:7401"), "");
  EXPECT_EQ(endpoint_list_problem("ipc:///run/y.sock"), "");
  EXPECT_NE(endpoint_list_problem("tcp://a:7401,b:7401").find("has no scheme: write tcp://b:7401"),
            std::string::npos);
  EXPECT_NE(endpoint_list_problem("tcp://a:7401,").find("item 2 is empty"), std::string::npos);
  EXPECT_NE(endpoint_list_problem("").find("item 1 is empty"), std::string::npos);
  // The coordinator binds one endpoint: a list is not one.
  EXPECT_NE(endpoint_problem("tcp://a:7401,tcp://b:7401"), "");
}

TEST(Endpoints, AListIsLocalWhenEveryItemIs) {
  EXPECT_TRUE(is_local_endpoint_list("tcp://127.0.0.1:1,ipc:///tmp/x"));
  EXPECT_FALSE(is_local_endpoint_list("tcp://127.0.0.1:1,tcp://build-1:7401"));
}

}  // namespace
}  // namespace yardstick
