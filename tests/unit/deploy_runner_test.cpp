#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <thread>

#include "agent/deploy_runner.hpp"
#include "tests/support/http_server.hpp"

using namespace yardstick;
using namespace yardstick::test;
using namespace std::chrono_literals;

namespace {

// Runs "commands" as C++ functions by their text.
struct FakeHooks : DeployHooks {
  std::map<std::string, std::function<int()>> commands;
  std::vector<std::string> ran, lines;
  std::vector<DeployPhase> phases;
  int run(const std::string& label, const StepSpec& step) override {
    ran.push_back(label);
    auto it = commands.find(step.run);
    return it == commands.end() ? 127 : it->second();
  }
  void log(const std::string& line) override { lines.push_back(line); }
  void phase(const DeployPhase& p) override { phases.push_back(p); }
  const DeployPhase* find(const std::string& name) const {
    for (const auto& p : phases)
      if (p.name == name) return &p;
    return nullptr;
  }
};

DeploySpec spec_for(const HttpServer& site) {
  DeploySpec s;
  StepSpec step;
  step.name = "activate";
  step.run = "activate";
  s.steps.push_back(step);
  HealthSpec h;
  h.url = site.url("/health");
  h.interval = 50ms;
  h.timeout = 1s;
  h.min_healthy = 300ms;
  h.deadline = 1500ms;
  s.health = h;
  ProbeSpec p;
  p.url = site.url("/");
  p.interval = 20ms;
  p.timeout = 1s;
  s.probe = p;
  s.version = VersionSpec{site.url("/version"), "${YARDSTICK_REVISION}"};
  RollbackSpec r;
  r.run = "rollback";
  s.rollback = r;
  return s;
}

}  // namespace

TEST(DeployRunner, AGoodDeployIsHealthyWithNoFailedRequestAndAStoredSwitch) {
  HttpServer site;
  site.set(HttpServer::Mode::kAnswer, 200, "v1\n");
  FakeHooks hooks;
  hooks.commands["activate"] = [&] {
    std::this_thread::sleep_for(100ms);
    site.set(HttpServer::Mode::kAnswer, 200, "v2\n");
    return 0;
  };
  DeployResult r = run_deploy(spec_for(site), "v2", hooks);
  EXPECT_EQ(r.outcome, DeployOutcome::kSucceeded) << r.message;
  ASSERT_TRUE(r.probe);
  EXPECT_EQ(r.probe->failed, 0u);
  EXPECT_GT(r.probe->sent, 20u);
  EXPECT_EQ(r.old_version, "v1");
  EXPECT_EQ(r.new_version, "v2");
  for (const char* name : {"step activate", "healthy", "stable", "switch"}) {
    const DeployPhase* p = hooks.find(name);
    ASSERT_TRUE(p) << name;
    EXPECT_TRUE(p->ok) << name;
    EXPECT_LE(p->start_us, p->end_us) << name;
  }
  EXPECT_GE(hooks.find("stable")->end_us - hooks.find("stable")->start_us, 300'000);
  EXPECT_EQ(hooks.ran, std::vector<std::string>{"step activate"});
}

TEST(DeployRunner, ANewVersionThatNeverAnswersIsRolledBackAndTheOldStillServes) {
  HttpServer site;
  site.set(HttpServer::Mode::kAnswer, 200, "v1\n");
  FakeHooks hooks;
  hooks.commands["activate"] = [] { return 0; };  // the new version never takes traffic
  int rollbacks = 0;
  hooks.commands["rollback"] = [&] { return ++rollbacks, 0; };
  DeployResult r = run_deploy(spec_for(site), "v2", hooks);
  EXPECT_EQ(r.outcome, DeployOutcome::kRolledBack) << r.message;
  EXPECT_EQ(r.reason, kHealthDeadline);
  EXPECT_NE(r.message.find("reports \"v1\", expected \"v2\""), std::string::npos) << r.message;
  EXPECT_EQ(rollbacks, 1);
  ASSERT_TRUE(hooks.find("rollback verified"));
  EXPECT_TRUE(hooks.find("rollback verified")->ok);
  EXPECT_EQ(r.probe->failed, 0u);
  EXPECT_FALSE(hooks.find("switch"));
}

TEST(DeployRunner, AFailedStepStopsTheStepsAndRollsBack) {
  HttpServer site;
  FakeHooks hooks;
  DeploySpec s = spec_for(site);
  StepSpec second;
  second.name = "second";
  second.run = "second";
  s.steps.push_back(second);
  hooks.commands["activate"] = [] { return 3; };
  hooks.commands["second"] = [] { return 0; };
  hooks.commands["rollback"] = [] { return 0; };
  DeployResult r = run_deploy(s, "v2", hooks);
  EXPECT_EQ(r.outcome, DeployOutcome::kRolledBack);
  EXPECT_EQ(r.reason, kStepFailed);
  EXPECT_EQ(r.message, "step activate failed (exit 3); rolled back");
  EXPECT_EQ(hooks.ran, (std::vector<std::string>{"step activate", "rollback"}));
  EXPECT_FALSE(hooks.find("step activate")->ok);
}

TEST(DeployRunner, StoppingTheOldFirstIsSeenByTheProbeAndRolledBack) {
  HttpServer site;
  site.set(HttpServer::Mode::kAnswer, 200, "v1\n");
  FakeHooks hooks;
  std::chrono::steady_clock::time_point down, up;
  hooks.commands["activate"] = [&] {
    down = site.set(HttpServer::Mode::kDown);
    std::this_thread::sleep_for(300ms);
    up = site.set(HttpServer::Mode::kAnswer, 200, "v2\n");
    return 0;
  };
  hooks.commands["rollback"] = [&] { return site.set(HttpServer::Mode::kAnswer, 200, "v1\n"), 0; };
  DeployResult r = run_deploy(spec_for(site), "v2", hooks);
  EXPECT_EQ(r.outcome, DeployOutcome::kRolledBack) << r.message;
  EXPECT_EQ(r.reason, kProbeFailures);
  ASSERT_TRUE(r.probe);
  EXPECT_GT(r.probe->failed, 5u);
  // Refused, but for a request caught in the listen queue as it closed.
  EXPECT_GE(r.probe->failures["refused"] + 2, r.probe->failed) << r.probe->text();
  const double real_ms = std::chrono::duration<double, std::milli>(up - down).count();
  EXPECT_NEAR(r.probe->longest_outage_ms, real_ms,
              300);  // one interval when idle: bench/probe_bench
  EXPECT_NE(r.message.find("failed requests of"), std::string::npos) << r.message;
}

TEST(DeployRunner, WithoutARollbackAFailureIsJustAFailure) {
  HttpServer site;
  FakeHooks hooks;
  DeploySpec s = spec_for(site);
  s.rollback.reset();
  hooks.commands["activate"] = [] { return 1; };
  DeployResult r = run_deploy(s, "v2", hooks);
  EXPECT_EQ(r.outcome, DeployOutcome::kFailed);
  EXPECT_FALSE(hooks.find("rollback"));
}

TEST(DeployRunner, ARollbackThatDoesNotHelpIsARollbackFailed) {
  HttpServer site;
  FakeHooks hooks;
  hooks.commands["activate"] = [&] { return site.set(HttpServer::Mode::kAnswer, 503, "v2"), 0; };
  hooks.commands["rollback"] = [] { return 0; };  // changes nothing: still 503
  DeploySpec s = spec_for(site);
  s.probe.reset();
  s.health->deadline = 400ms;
  DeployResult r = run_deploy(s, "v2", hooks);
  EXPECT_EQ(r.outcome, DeployOutcome::kRollbackFailed) << r.message;
  EXPECT_FALSE(hooks.find("rollback verified")->ok);
}

TEST(SwitchWindow, CountsMixedAnswersBetweenFirstNewAndLastOld) {
  std::vector<ProbeRecord> rs;
  const char* bodies[] = {"v1", "v1", "v1", "v1", "v2", "v1", "v2", "v1", "v2", "v2"};
  for (int i = 0; i < 10; ++i) {
    ProbeRecord r;
    r.tick = i;
    r.sent_us = i * 1000;
    r.body = std::string(bodies[i]) + "\n";
    rs.push_back(r);
  }
  DeployResult res;
  auto w = switch_window(rs, 2500, "v2", &res);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->first, 4000);
  EXPECT_EQ(w->second, 7000);
  EXPECT_EQ(res.switch_answers_old, 2u);
  EXPECT_EQ(res.switch_answers_new, 2u);
  EXPECT_EQ(res.old_version, "v1");
}
