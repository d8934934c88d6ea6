// The one intake of agents' results (coordinator/result_intake.hpp), on a
// fake store: every message kind is stored from the agent that holds the
// attempt and acknowledged; every value past its bound (coordinator/
// bounds.hpp) is refused, recorded and acknowledged, never stored, never an
// outage; a job end still ends its job.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>

#include "coordinator/bounds.hpp"
#include "tests/unit/coordinator_rig.hpp"

namespace yardstick::test {
namespace {

using Body = wire::Envelope::Body::Builder;
using B = wire::Envelope::Body;

constexpr int64_t kNowUs = 1'800'000'000'000'000;  // 2027

JobAssignment bench_spec(uint32_t variants = 2, uint32_t runs = 5) {
  JobAssignment spec;
  spec.kind = JobKind::kBench;
  BenchSpec bench;
  bench.run = "true";
  bench.runs = runs;
  spec.bench = bench;
  for (uint32_t i = 0; i < variants; ++i)
    spec.variants.push_back({"v" + std::to_string(i), {}, ""});
  return spec;
}

JobAssignment build_spec(size_t steps = 2) {
  JobAssignment spec;
  for (size_t i = 0; i < steps; ++i) {
    StepSpec step;
    step.name = "s" + std::to_string(i);
    step.run = "true";
    spec.steps.push_back(step);
  }
  return spec;
}

void sample(Body b, const ResultKey& k, uint32_t variant = 0, uint32_t index = 0) {
  auto m = b.initSample();
  wire_io::fill(m.initKey(), k);
  m.setVariant("v0");
  m.setVariantIndex(variant);
  m.setIndex(index);
  m.setWallNs(1'000'000);
  m.setAtUs(kNowUs);
}

void step_finished(Body b, const ResultKey& k) {
  StepResult r;
  r.index = 1;
  r.name = "s0";
  r.started_at_us = kNowUs;
  r.ended_at_us = kNowUs + 1000;
  r.wall_ns = 1'000'000;
  wire_io::fill(b.initStepFinished(), k, r);
}

class ResultIntakeTest : public ::testing::Test {
 protected:
  CoordinatorRig rig;
  AgentSession& a = rig.agent("a");
  template <typename F>
  void send(F fill) {
    ASSERT_TRUE(rig.from_agent("a", envelope(fill)));
  }
  // The keys acknowledged to agent a.
  std::vector<ResultKey> acked() {
    std::vector<ResultKey> keys;
    for (const auto& s : rig.sent())
      if (s.which == B::ACK) keys.insert(keys.end(), s.acked.begin(), s.acked.end());
    return keys;
  }
};

TEST_F(ResultIntakeTest, EveryResultKindFromTheHoldingAgentIsStoredAndAcknowledged) {
  JobAssignment spec = bench_spec();
  rig.running(5, "a", spec);
  Job& dep = rig.running(6, "a", [] {
    JobAssignment d;
    d.kind = JobKind::kDeploy;
    return d;
  }());
  (void)dep;
  JobAssignment cal;
  cal.kind = JobKind::kCalibrate;
  rig.running(7, "a", cal);
  Job& build = rig.running(8, "a", build_spec());
  build.state = JobState::kAssigned;

  send([](Body b) {
    auto m = b.initStepStarted();
    wire_io::fill(m.initKey(), {8, 1, 1});
    m.setIndex(0);
    m.setName("s0");
    m.setStartedAtUs(kNowUs);
  });
  EXPECT_EQ(build.state, JobState::kRunning);  // its first result shows it started
  send([](Body b) { step_finished(b, {8, 1, 2}); });
  send([](Body b) {
    auto m = b.initLogChunk();
    wire_io::fill(m.initKey(), {8, 1, 3});
    m.setStepIndex(1);
    m.setData(kj::arrayPtr(reinterpret_cast<const capnp::byte*>("line\n"), 5));
    m.setAtUs(kNowUs);
  });
  send([](Body b) { sample(b, {5, 1, 1}, 1, 4); });
  send([](Body b) {
    auto m = b.initMetric();
    wire_io::fill(m.initKey(), {8, 1, 4});
    m.setStepIndex(1);
    m.setRunIndex(-1);
    m.setName("ccache.hit_rate");
    m.setValue(0.5);
  });
  send([](Body b) {
    auto m = b.initCalibration();
    wire_io::fill(m.initKey(), {7, 1, 1});
    m.setBenchmark("cpu");
    auto t = m.initTimesS(3);
    t.set(0, 0.01);
    t.set(1, 0.011);
    t.set(2, 0.012);
  });
  send([](Body b) {
    DeployPhase p{"healthy", kNowUs, kNowUs + 5, true, "200"};
    wire_io::fill(b.initDeployPhase(), {6, 1, 1}, p);
  });
  send([](Body b) {
    DeployReport r;
    r.outcome = DeployOutcome::kRolledBack;
    wire_io::fill(b.initDeployResult(), {6, 1, 2}, r);
  });
  send([](Body b) {
    auto m = b.initJobFinished();
    wire_io::fill(m.initKey(), {8, 1, 5});
    m.setOutcome(wire::JobOutcome::SUCCEEDED);
    m.setEndedAtUs(kNowUs + 2000);
  });

  const auto& s = rig.store.state;
  EXPECT_EQ(s.steps_started.size(), 1u);
  EXPECT_EQ(s.steps_finished.size(), 1u);
  EXPECT_EQ(s.logs.size(), 1u);
  EXPECT_EQ(s.samples.size(), 1u);
  EXPECT_EQ(s.metrics.size(), 1u);
  EXPECT_EQ(s.calibrations.size(), 1u);
  EXPECT_EQ(s.deploy_phases.size(), 1u);
  ASSERT_EQ(s.deploy_results.size(), 1u);
  EXPECT_TRUE(rig.table.find(6)->rolled_back);  // a field, from the result: not the message
  EXPECT_EQ(build.state, JobState::kSucceeded);
  EXPECT_TRUE(s.refusals.empty());
  EXPECT_EQ(acked().size(), 9u);
}

TEST_F(ResultIntakeTest, AResultFromAnAgentThatDoesNotHoldTheAttemptIsRefusedWithAnAbandon) {
  rig.running(5, "b", bench_spec());
  send([](Body b) { sample(b, {5, 1, 1}); });
  EXPECT_TRUE(rig.store.state.samples.empty());
  ASSERT_EQ(rig.store.state.refusals.size(), 1u);
  EXPECT_EQ(rig.store.state.refusals[0].reason, "the attempt is not this agent's");
  auto sent = rig.sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].which, B::ABANDON);
}

TEST_F(ResultIntakeTest, AResultOfAnUnregisteredRouteIsToldToRegister) {
  ASSERT_TRUE(rig.handle(Side::kAgents, "r-nobody", envelope([](Body b) {
                           sample(b, {5, 1, 1});
                         })));
  auto sent = rig.sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].code, wire::ErrorCode::NOT_REGISTERED);
}

// The case that stalled every user: a variant index far past the job's
// variants, then the job's end, resent. Refused, recorded, acknowledged;
// the end judges the samples that are within bounds; nothing is retried.
TEST_F(ResultIntakeTest, AVariantIndexPastTheJobsVariantsIsRefusedAndTheJobStillEnds) {
  rig.running(5, "a", bench_spec(2, 3));
  send([](Body b) { sample(b, {5, 1, 1}, 0x7FFFFFFF, 0); });
  send([](Body b) { sample(b, {5, 1, 2}, 0, 0); });
  send([](Body b) {
    auto m = b.initJobFinished();
    wire_io::fill(m.initKey(), {5, 1, 3});
    m.setOutcome(wire::JobOutcome::SUCCEEDED);
  });
  const auto& s = rig.store.state;
  ASSERT_EQ(s.samples.size(), 1u);
  EXPECT_EQ(s.samples[0].variant_index, 0u);
  ASSERT_EQ(s.refusals.size(), 1u);
  EXPECT_EQ(s.refusals[0].what, "sample");
  EXPECT_NE(s.refusals[0].reason.find("Sample.variantIndex 2147483647 is out of bounds"),
            std::string::npos)
      << s.refusals[0].reason;
  EXPECT_EQ(rig.table.find(5)->state, JobState::kSucceeded);
  EXPECT_EQ(acked(), (std::vector<ResultKey>{{5, 1, 1}, {5, 1, 2}, {5, 1, 3}}));
}

// One value past its bound per case; everything else in the message valid.
struct BoundCase {
  const char* name;
  JobAssignment spec;
  std::function<void(Body, const ResultKey&)> fill;
  const char* field;  // named in the refusal
};

std::vector<BoundCase> bound_cases() {
  const std::string big(bounds::kMetricNameBytes + 1, 'x');
  return {
      {"variant index", bench_spec(2), [](Body b, const ResultKey& k) { sample(b, k, 2, 0); },
       "Sample.variantIndex"},
      {"run index", bench_spec(2, 5), [](Body b, const ResultKey& k) { sample(b, k, 0, 5); },
       "Sample.index"},
      {"round", bench_spec(2, 5),
       [](Body b, const ResultKey& k) {
         sample(b, k);
         b.getSample().setRound(5);
       },
       "Sample.round"},
      {"position", bench_spec(2, 5),
       [](Body b, const ResultKey& k) {
         sample(b, k);
         b.getSample().setPosition(2);
       },
       "Sample.position"},
      {"wall", bench_spec(),
       [](Body b, const ResultKey& k) {
         sample(b, k);
         b.getSample().setWallNs(std::numeric_limits<uint64_t>::max());
       },
       "Sample.wallNs"},
      {"rss", bench_spec(),
       [](Body b, const ResultKey& k) {
         sample(b, k);
         b.getSample().setMaxRssKb(uint64_t{1} << 41);
       },
       "Sample.maxRssKb"},
      {"signal", bench_spec(),
       [](Body b, const ResultKey& k) {
         sample(b, k);
         b.getSample().setSignal(-3);
       },
       "Sample.signal"},
      {"steal", bench_spec(),
       [](Body b, const ResultKey& k) {
         sample(b, k);
         b.getSample().setStealPct(250);
       },
       "Sample.stealPct"},
      {"instructions", bench_spec(),
       [](Body b, const ResultKey& k) {
         sample(b, k);
         b.getSample().setInstructions(uint64_t{1} << 63);
       },
       "Sample.instructions"},
      {"sample time", bench_spec(),
       [](Body b, const ResultKey& k) {
         sample(b, k);
         b.getSample().setAtUs(std::numeric_limits<int64_t>::max());
       },
       "Sample.atUs"},
      {"sample of a build", build_spec(), [](Body b, const ResultKey& k) { sample(b, k); },
       "not a bench"},
      {"step index", build_spec(2),
       [](Body b, const ResultKey& k) {
         auto m = b.initStepStarted();
         wire_io::fill(m.initKey(), k);
         m.setIndex(3);
         m.setStartedAtUs(kNowUs);
       },
       "StepStarted.index"},
      {"step end time", build_spec(2),
       [](Body b, const ResultKey& k) {
         step_finished(b, k);
         b.getStepFinished().setEndedAtUs(-1);
       },
       "StepFinished.endedAtUs"},
      {"step command", build_spec(2),
       [](Body b, const ResultKey& k) {
         step_finished(b, k);
         b.getStepFinished().setCommand(std::string(bounds::kCommandBytes + 1, 'c'));
       },
       "StepFinished.command"},
      {"log step index", build_spec(2),
       [](Body b, const ResultKey& k) {
         auto m = b.initLogChunk();
         wire_io::fill(m.initKey(), k);
         m.setStepIndex(-2);
       },
       "LogChunk.stepIndex"},
      {"log chunk size", build_spec(2),
       [](Body b, const ResultKey& k) {
         auto m = b.initLogChunk();
         wire_io::fill(m.initKey(), k);
         m.setStepIndex(0);
         m.initData(bounds::kLogChunkBytes + 1);
       },
       "LogChunk.data"},
      {"metric run index", bench_spec(2, 5),
       [](Body b, const ResultKey& k) {
         auto m = b.initMetric();
         wire_io::fill(m.initKey(), k);
         m.setStepIndex(-1);
         m.setRunIndex(5);
         m.setName("x");
       },
       "Metric.runIndex"},
      {"metric name", build_spec(),
       [big](Body b, const ResultKey& k) {
         auto m = b.initMetric();
         wire_io::fill(m.initKey(), k);
         m.setStepIndex(0);
         m.setRunIndex(-1);
         m.setName(big);
       },
       "Metric.name"},
      {"metric value", build_spec(),
       [](Body b, const ResultKey& k) {
         auto m = b.initMetric();
         wire_io::fill(m.initKey(), k);
         m.setStepIndex(0);
         m.setRunIndex(-1);
         m.setName("x");
         m.setValue(std::nan(""));
       },
       "Metric.value"},
      {"calibration of a build", build_spec(),
       [](Body b, const ResultKey& k) {
         auto m = b.initCalibration();
         wire_io::fill(m.initKey(), k);
         m.setBenchmark("cpu");
         m.initTimesS(1).set(0, 0.1);
       },
       "of kind build"},
      {"calibration times", build_spec(),
       [](Body b, const ResultKey& k) {
         auto m = b.initCalibration();
         wire_io::fill(m.initKey(), k);
         m.setBenchmark("cpu");
         m.initTimesS(bounds::kMaxCalibrationTimes + 1);
       },
       "Calibration.timesS"},
      {"deploy phase order", build_spec(),
       [](Body b, const ResultKey& k) {
         DeployPhase p{"healthy", kNowUs, kNowUs - 1, true, ""};
         wire_io::fill(b.initDeployPhase(), k, p);
       },
       "end before its start"},
      {"deploy outcome", build_spec(),
       [](Body b, const ResultKey& k) {
         auto m = b.initDeployResult();
         wire_io::fill(m.initKey(), k);
         m.setOutcome("exploded");
       },
       "DeployResult.outcome"},
      {"deploy counts", build_spec(),
       [](Body b, const ResultKey& k) {
         DeployReport r;
         r.outcome = DeployOutcome::kSucceeded;
         r.switch_old = uint64_t{1} << 63;
         wire_io::fill(b.initDeployResult(), k, r);
       },
       "DeployResult.switchOld"},
      {"seq at the log marker", build_spec(),
       [](Body b, const ResultKey& k) {
         auto m = b.initLogChunk();
         wire_io::fill(m.initKey(), {k.job_id, k.attempt, uint64_t{1} << 62});
         m.setStepIndex(0);
       },
       "ResultKey.seq"},
  };
}

TEST_F(ResultIntakeTest, EveryValuePastItsBoundIsRefusedRecordedAndAcknowledgedNeverStored) {
  uint64_t id = 100;
  for (const auto& c : bound_cases()) {
    SCOPED_TRACE(c.name);
    rig.clock.advance_ms(1000);  // each in a second of its own: every refusal is recorded
    Job& job = rig.running(++id, "a", c.spec);
    const size_t refusals = rig.store.state.refusals.size();
    const ResultKey key{job.id, 1, 1};
    ASSERT_TRUE(rig.from_agent("a", envelope([&](Body b) { c.fill(b, key); })));
    const auto& s = rig.store.state;
    EXPECT_TRUE(s.samples.empty() && s.metrics.empty() && s.logs.empty() &&
                s.steps_started.empty() && s.steps_finished.empty() && s.calibrations.empty() &&
                s.deploy_phases.empty() && s.deploy_results.empty());
    ASSERT_EQ(s.refusals.size(), refusals + 1);
    EXPECT_NE(s.refusals.back().reason.find(c.field), std::string::npos)
        << s.refusals.back().reason;
    // Acknowledged, so that it is never sent again; no outage, no abandon.
    auto sent = rig.sent();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].which, B::ACK);
    EXPECT_EQ(job.state, JobState::kRunning);
  }
}

TEST_F(ResultIntakeTest, AValueAtItsBoundIsStored) {
  rig.running(5, "a", bench_spec(2, 5));
  send([](Body b) { sample(b, {5, 1, 1}, 1, 4); });  // the last variant, the last run
  send([](Body b) {
    sample(b, {5, 1, 2}, 0, 0);
    b.getSample().setWallNs(bounds::kMaxWallNs);
    b.getSample().setAtUs(bounds::kMaxTimeUs);
  });
  EXPECT_EQ(rig.store.state.samples.size(), 2u);
  EXPECT_TRUE(rig.store.state.refusals.empty());
}

TEST_F(ResultIntakeTest, AJobEndOutOfBoundsStillEndsTheJobFailedAndSaysWhy) {
  Job& job = rig.running(5, "a", build_spec());
  send([](Body b) {
    auto m = b.initJobFinished();
    wire_io::fill(m.initKey(), {5, 1, 9});
    m.setOutcome(wire::JobOutcome::SUCCEEDED);
    m.setEndedAtUs(std::numeric_limits<int64_t>::min());
  });
  EXPECT_EQ(job.state, JobState::kFailed);
  EXPECT_NE(job.message.find("the agent's job end was refused: JobFinished.endedAtUs"),
            std::string::npos)
      << job.message;
  ASSERT_EQ(rig.store.state.refusals.size(), 1u);
  EXPECT_EQ(acked(), (std::vector<ResultKey>{{5, 1, 9}}));
}

// Ours: judging the end throws (a bug, memory); the job ends, failed, with
// the reason, and the next message is handled as ever.
TEST_F(ResultIntakeTest, AJudgementThatThrowsFailsTheJobNotItsEnd) {
  Job& job = rig.running(5, "a", bench_spec());
  rig.store.fail = [](const std::string& op) {
    if (op == "bench_runs") throw std::bad_alloc();
  };
  send([](Body b) {
    auto m = b.initJobFinished();
    wire_io::fill(m.initKey(), {5, 1, 9});
    m.setOutcome(wire::JobOutcome::SUCCEEDED);
  });
  EXPECT_EQ(job.state, JobState::kFailed);
  EXPECT_NE(job.message.find("could not judge this job's end"), std::string::npos) << job.message;
  rig.store.fail = nullptr;
  rig.running(6, "a", bench_spec());
  send([](Body b) { sample(b, {6, 1, 1}); });
  EXPECT_EQ(rig.store.state.samples.size(), 1u);
}

}  // namespace
}  // namespace yardstick::test
