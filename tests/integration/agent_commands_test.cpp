// The agent binary's own commands, as a newcomer types them: `--help` names
// the subcommands, each subcommand answers `--help`, and `calibrate` makes
// the folder it is given.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>

#include "tests/integration/harness.hpp"

namespace yardstick::test {
namespace {

using namespace std::chrono_literals;

struct Run {
  int code = -1;
  std::string output;  // stdout and stderr
};

Run agent(const std::string& dir, const std::string& name, std::vector<std::string> args) {
  args.insert(args.begin(), binary("yardstick-agent"));
  Process p(args, dir + "/" + name + ".log");
  const int status = p.wait(60s);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, p.log()};
}

TEST(FirstHour, AgentHelpListsItsSubcommands) {
  const std::string dir = make_temp_dir("agent-help");
  auto r = agent(dir, "help", {"--help"});
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("Subcommands"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("  calibrate "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("  deploy "), std::string::npos) << r.output;
  std::filesystem::remove_all(dir);
}

TEST(FirstHour, EveryAgentSubcommandAnswersHelpWithExitZero) {
  const std::string dir = make_temp_dir("agent-sub-help");
  for (const std::string sub : {"calibrate", "deploy"}) {
    for (const std::string flag : {"--help", "-h"}) {
      auto r = agent(dir, sub + flag, {sub, flag});
      EXPECT_EQ(r.code, 0) << sub << " " << flag << ": " << r.output;
      EXPECT_NE(r.output.find("usage: yardstick-agent " + sub), std::string::npos) << r.output;
    }
    // A wrong argument is a usage error that shows the usage.
    auto r = agent(dir, sub + "-wrong", {sub, "--frobnicate"});
    EXPECT_EQ(r.code, 2) << r.output;
    EXPECT_NE(r.output.find("unknown argument '--frobnicate'"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("usage: yardstick-agent " + sub), std::string::npos) << r.output;
  }
  std::filesystem::remove_all(dir);
}

TEST(FirstHour, AgentCalibrateMakesAMissingDirectory) {
  const std::string dir = make_temp_dir("agent-calibrate");
  const std::string missing = dir + "/not/there/yet";
  ASSERT_FALSE(std::filesystem::exists(missing));
  auto r = agent(dir, "calibrate",
                 {"calibrate", "--dir", missing, "--out", dir + "/c.out", "--repetitions", "3"});
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(std::filesystem::is_directory(missing));
  EXPECT_TRUE(std::filesystem::exists(dir + "/c.out"));
  for (const char* benchmark : {"cpu", "memory", "spawn", "io"})
    EXPECT_NE(r.output.find(std::string("calibration ") + benchmark), std::string::npos)
        << r.output;

  // A --dir that cannot be a folder is named, not a failure deep in the io benchmark.
  const std::string file = dir + "/c.out";
  r = agent(dir, "calibrate-file",
            {"calibrate", "--dir", file, "--out", dir + "/c2.out", "--repetitions", "3"});
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("--dir " + file + ": cannot make the folder"), std::string::npos)
      << r.output;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace yardstick::test
