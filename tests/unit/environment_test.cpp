// What a step gets of the agent's environment.
#include "agent/environment.hpp"

#include <gtest/gtest.h>

namespace yardstick {
namespace {

TEST(StepEnvironment, TheDefaultAllowListKeepsToolsAndLocaleNotCredentials) {
  EnvVars agent = {
      {"PATH", "/bin"},      {"HOME", "/home/ci"},    {"LC_ALL", "C.UTF-8"},
      {"LANG", "C"},         {"CARGO_HOME", "/c"},    {"RUSTUP_HOME", "/r"},
      {"CCACHE_DIR", "/cc"}, {"TMPDIR", "/tmp"},      {"AWS_SECRET_ACCESS_KEY", "x"},
      {"GITHUB_TOKEN", "y"}, {"SSH_AUTH_SOCK", "/s"}, {"YARDSTICK_AGENTS_ENDPOINT", "tcp://c:1"}};
  EnvVars got = allowed_environment(agent, default_pass_env());
  for (const char* kept :
       {"PATH", "HOME", "LC_ALL", "LANG", "CARGO_HOME", "RUSTUP_HOME", "CCACHE_DIR", "TMPDIR"})
    EXPECT_EQ(got.count(kept), 1u) << kept;
  for (const char* dropped :
       {"AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "SSH_AUTH_SOCK", "YARDSTICK_AGENTS_ENDPOINT"})
    EXPECT_EQ(got.count(dropped), 0u) << dropped;
}

TEST(StepEnvironment, PassEnvTakesNamesAndPatterns) {
  std::string error;
  auto p = parse_pass_env(" SSH_AUTH_SOCK, CI_*,,A?", &error);
  EXPECT_TRUE(error.empty()) << error;
  EXPECT_EQ(p, (std::vector<std::string>{"SSH_AUTH_SOCK", "CI_*", "A?"}));
  EnvVars got = allowed_environment(
      {{"SSH_AUTH_SOCK", "/s"}, {"CI_JOB", "1"}, {"CI", "x"}, {"AB", "2"}, {"ABC", "3"}}, p);
  EXPECT_EQ(got, (EnvVars{{"SSH_AUTH_SOCK", "/s"}, {"CI_JOB", "1"}, {"AB", "2"}}));
}

TEST(StepEnvironment, ABadPassEnvEntryIsNamed) {
  std::string error;
  EXPECT_TRUE(parse_pass_env("OK,NOT-OK", &error).empty());
  EXPECT_NE(error.find("'NOT-OK'"), std::string::npos) << error;
  EXPECT_TRUE(parse_pass_env("1X", &error).empty());
  EXPECT_FALSE(error.empty());
}

TEST(StepEnvironment, EnvironOfSkipsEntriesWithoutAName) {
  char a[] = "A=1=2", b[] = "NOEQUALS", c[] = "=x", d[] = "E=";
  char* envp[] = {a, b, c, d, nullptr};
  EXPECT_EQ(environment_of(envp), (EnvVars{{"A", "1=2"}, {"E", ""}}));
}

}  // namespace
}  // namespace yardstick
