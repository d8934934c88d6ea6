// The harness itself: a test that checks a process's exit status must see
// the real one, whichever call reaped the process; a CLI call's standard
// error is its own, also while another call runs.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "tests/integration/harness.hpp"

namespace yardstick::test {
namespace {

using namespace std::chrono_literals;

std::string log_path(const char* name) {
  return (std::filesystem::temp_directory_path() /
          ("yardstick-harness-" + std::to_string(getpid()) + "-" + name + ".log"))
      .string();
}

TEST(Harness, WaitGivesTheExitStatusAlsoAfterRunningReapedTheProcess) {
  Process p({"/bin/sh", "-c", "exit 3"}, log_path("exit3"));
  ASSERT_TRUE(wait_for([&] { return !p.running(); }, 10s));
  const int status = p.wait(1s);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 3);
  EXPECT_EQ(p.wait(1s), status);  // and again
  unlink(p.log_path().c_str());
}

TEST(Harness, WaitGivesTheSignalOfAKilledProcess) {
  Process p({"/bin/sh", "-c", "kill -9 $$"}, log_path("kill9"));
  ASSERT_TRUE(wait_for([&] { return !p.running(); }, 10s));
  const int status = p.wait(1s);
  ASSERT_TRUE(WIFSIGNALED(status)) << status;
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  unlink(p.log_path().c_str());
}

TEST(Harness, ConcurrentCliCallsEachGetTheirOwnStandardError) {
  Cluster c;
  c.add_agent("a", "", "m1");
  const std::string go = c.dir() + "/go";
  c.write_file("p.yml", "pipeline: slow\njobs:\n  j:\n    steps:\n      - run: while [ ! -e " + go +
                            " ]; do sleep 0.05; done\n");
  auto waiting = std::async(std::launch::async, [&] {
    return c.cli({"submit", "--wait", "p.yml"});
  });
  ASSERT_TRUE(wait_for([&] { return c.text("SELECT state FROM jobs") == "running"; }, 20s));
  // Another call while the first one waits, with an error of its own.
  const CliResult other = c.cli({"status", "999999"});
  std::ofstream(go) << "go\n";
  const CliResult first = waiting.get();
  EXPECT_EQ(first.code, 0) << first.err;
  EXPECT_NE(other.code, 0);
  EXPECT_NE(other.err.find("999999"), std::string::npos) << other.err;
  EXPECT_EQ(first.err.find("999999"), std::string::npos) << first.err;
  EXPECT_NE(first.err.find("succeeded"), std::string::npos) << first.err;
}

}  // namespace
}  // namespace yardstick::test
