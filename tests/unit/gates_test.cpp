// Gates: `needs` with no_regression, `concurrency` groups — what parses,
// the exact error for what does not, and the scheduler's decisions (a fake
// gate, jobs in memory).
#include <gtest/gtest.h>

#include "common/job_spec.hpp"
#include "common/pipeline.hpp"
#include "coordinator/gate.hpp"
#include "coordinator/job_table.hpp"
#include "coordinator/scheduler.hpp"

namespace yardstick {
namespace {

PipelineError only_error(const std::string& text) {
  auto r = parse_pipeline(text, "p.yml");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.errors.size(), 1u) << (r.errors.empty() ? "" : r.errors[0].to_string());
  return r.errors.empty() ? PipelineError{} : r.errors[0];
}

const char* kBench =
    "  bench:\n"
    "    kind: bench\n"
    "    bench: {run: 'true'}\n";

// --- Parsing ---

TEST(GatesPipeline, NeedsMixNamesAndNoRegressionMaps) {
  auto r =
      parse_pipeline(std::string("pipeline: p\njobs:\n  build:\n    steps: [{run: x}]\n") + kBench +
                         "  ship:\n"
                         "    needs: [build, {job: bench, no_regression: true}]\n"
                         "    steps: [{run: x}]\n",
                     "p.yml");
  ASSERT_TRUE(r.ok()) << r.errors[0].to_string();
  const JobDef* ship = r.pipeline->find_job("ship");
  EXPECT_EQ(ship->needs, (std::vector<std::string>{"build", "bench"}));
  EXPECT_EQ(ship->no_regression_needs, std::vector<std::string>{"bench"});
  EXPECT_TRUE(needs_no_regression(*ship, "bench"));
  EXPECT_FALSE(needs_no_regression(*ship, "build"));
}

TEST(GatesPipeline, AMapWithoutNoRegressionIsAPlainNeed) {
  auto r = parse_pipeline(std::string("pipeline: p\njobs:\n") + kBench +
                              "  ship:\n    needs: [{job: bench}]\n    steps: [{run: x}]\n",
                          "p.yml");
  ASSERT_TRUE(r.ok()) << r.errors[0].to_string();
  EXPECT_EQ(r.pipeline->find_job("ship")->needs, std::vector<std::string>{"bench"});
  EXPECT_TRUE(r.pipeline->find_job("ship")->no_regression_needs.empty());
}

TEST(GatesPipeline, UnknownKeyInANeedNamesFileLineAndKey) {
  auto e = only_error(std::string("pipeline: p\njobs:\n") + kBench +
                      "  ship:\n    needs: [{job: bench, no_regresion: true}]\n"
                      "    steps: [{run: x}]\n");
  EXPECT_EQ(e.key, "jobs.ship.needs[0].no_regresion");
  EXPECT_EQ(e.line, 7);
  EXPECT_NE(e.message.find("unknown key"), std::string::npos);
  EXPECT_NE(e.to_string().find("p.yml:7:"), std::string::npos);
}

TEST(GatesPipeline, ANeedMapWithoutAJobIsRejected) {
  auto e = only_error(std::string("pipeline: p\njobs:\n") + kBench +
                      "  ship:\n    needs:\n      - no_regression: true\n"
                      "    steps: [{run: x}]\n");
  EXPECT_EQ(e.key, "jobs.ship.needs[0].job");
  EXPECT_EQ(e.line, 8);
  EXPECT_NE(e.message.find("missing key"), std::string::npos);
}

TEST(GatesPipeline, NoRegressionMustBeABoolean) {
  auto e = only_error(std::string("pipeline: p\njobs:\n") + kBench +
                      "  ship:\n    needs:\n      - {job: bench, no_regression: maybe}\n"
                      "    steps: [{run: x}]\n");
  EXPECT_EQ(e.key, "jobs.ship.needs[0].no_regression");
  EXPECT_EQ(e.line, 8);
  EXPECT_EQ(e.message, "expected true or false");
}

TEST(GatesPipeline, NoRegressionNeedsABenchJob) {
  auto e = only_error(
      "pipeline: p\njobs:\n  build:\n    steps: [{run: x}]\n"
      "  ship:\n    needs: [{job: build, no_regression: true}]\n    steps: [{run: x}]\n");
  EXPECT_EQ(e.key, "jobs.ship.needs[0].no_regression");
  EXPECT_EQ(e.line, 6);
  EXPECT_NE(e.message.find("kind: bench"), std::string::npos);
}

TEST(GatesPipeline, AnUnknownJobInANeedMapIsRejected) {
  auto e = only_error(
      "pipeline: p\njobs:\n  ship:\n    needs: [{job: nope, no_regression: true}]\n"
      "    steps: [{run: x}]\n");
  EXPECT_EQ(e.key, "jobs.ship.needs");
  EXPECT_NE(e.message.find("unknown job 'nope'"), std::string::npos);
}

TEST(GatesPipeline, ANeedListedTwiceInEitherFormIsRejected) {
  auto e = only_error(std::string("pipeline: p\njobs:\n") + kBench +
                      "  ship:\n    needs: [bench, {job: bench, no_regression: true}]\n"
                      "    steps: [{run: x}]\n");
  EXPECT_EQ(e.key, "jobs.ship.needs[1]");
  EXPECT_NE(e.message.find("listed twice"), std::string::npos);
}

TEST(GatesPipeline, ConcurrencyOfThePipelineUnlessTheJobNamesItsOwn) {
  auto r = parse_pipeline(
      "pipeline: p\nconcurrency: production\njobs:\n"
      "  a:\n    steps: [{run: x}]\n"
      "  b:\n    concurrency: staging-eu.1\n    steps: [{run: x}]\n",
      "p.yml");
  ASSERT_TRUE(r.ok()) << r.errors[0].to_string();
  EXPECT_EQ(r.pipeline->concurrency, "production");
  EXPECT_EQ(r.pipeline->find_job("a")->concurrency, "production");
  EXPECT_EQ(r.pipeline->find_job("b")->concurrency, "staging-eu.1");
  auto none = parse_pipeline("pipeline: p\njobs:\n  a:\n    steps: [{run: x}]\n", "p.yml");
  EXPECT_EQ(none.pipeline->find_job("a")->concurrency, "");
}

TEST(GatesPipeline, ABadConcurrencyGroupNamesFileLineAndKey) {
  auto e =
      only_error("pipeline: p\njobs:\n  a:\n    steps: [{run: x}]\n    concurrency: 'prod env'\n");
  EXPECT_EQ(e.key, "jobs.a.concurrency");
  EXPECT_EQ(e.line, 5);
  EXPECT_NE(e.message.find("concurrency group"), std::string::npos);
  auto empty = only_error("pipeline: p\nconcurrency: ''\njobs:\n  a:\n    steps: [{run: x}]\n");
  EXPECT_EQ(empty.key, "concurrency");
  EXPECT_EQ(empty.line, 2);
  auto list = only_error("pipeline: p\nconcurrency: [a]\njobs:\n  a:\n    steps: [{run: x}]\n");
  EXPECT_EQ(list.key, "concurrency");
  EXPECT_EQ(list.message, "expected a string");
}

// --- The gate in the job table ---

struct NullStore : JobStore {
  void persist_transition(const Job&, JobState, const std::string&) override {}
  void persist_message(const Job& job) override { messages.push_back(job.message); }
  std::vector<std::string> messages;
};

struct FakeGate : NeedGate {
  GateVerdict judge(const Job&, uint64_t need_id) override {
    asked.push_back(need_id);
    if (outage) throw std::runtime_error("store unavailable");
    return verdict;
  }
  GateVerdict verdict;
  bool outage = false;
  std::vector<uint64_t> asked;
};

class GateTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    table.set_gate(&gate);
    for (uint64_t id : {1, 2, 3}) {
      Job j;
      j.id = id;
      j.name = id == 1 ? "build" : id == 2 ? "bench" : "ship";
      table.add(j);
    }
    table.add_need(3, 1);
    table.add_need(3, 2, true);
    for (uint64_t id : {1, 2}) table.settle(*table.find(id));
  }
  void finish(uint64_t id, JobState to = JobState::kSucceeded) {
    Job& j = *table.find(id);
    j.agent = "a1";
    ASSERT_TRUE(table.transition(j, JobState::kAssigned));
    ASSERT_TRUE(table.transition(j, JobState::kRunning));
    ASSERT_TRUE(table.transition(j, to));
  }
  FakeClock clock;
  NullStore store;
  FakeGate gate;
  JobTable table{store, clock};
};

TEST_F(GateTableTest, ARegressedBenchSkipsTheJobAndSaysWhy) {
  gate.verdict = {GateVerdict::kRegressed, "bench judged slower: variant slow 2.00x slower"};
  finish(1);
  EXPECT_TRUE(gate.asked.empty());  // not before every need succeeded
  finish(2);
  EXPECT_EQ(gate.asked, std::vector<uint64_t>{2});
  EXPECT_EQ(table.find(3)->state, JobState::kSkipped);
  // The state says skipped; the message says why, once (not "skipped: skipped: ...").
  EXPECT_EQ(table.find(3)->message, "bench judged slower: variant slow 2.00x slower");
  EXPECT_EQ(table.find(3)->note, JobNote::kRegressed);
}

TEST_F(GateTableTest, ABenchThatPassesQueuesTheJob) {
  finish(2);
  finish(1);
  EXPECT_EQ(gate.asked, std::vector<uint64_t>{2});
  EXPECT_EQ(table.find(3)->state, JobState::kQueued);
}

TEST_F(GateTableTest, AFailedNeedSkipsWithoutAskingTheGate) {
  finish(1, JobState::kFailed);
  EXPECT_EQ(table.find(3)->state, JobState::kSkipped);
  EXPECT_EQ(table.find(3)->message, "need build ended failed");
  finish(2);
  EXPECT_TRUE(gate.asked.empty());
}

// What cannot be read does not change by asking again (the old gate asked
// every 5 s, forever): the gated job is skipped, never run unjudged, and
// its note says why in a way a program can test.
TEST_F(GateTableTest, AGateThatCannotJudgeSkipsTheJobWithItsNoteAndIsNotAskedAgain) {
  gate.verdict = {GateVerdict::kUnjudgeable, "its stored spec does not decode: not valid JSON"};
  finish(1);
  finish(2);
  Job& ship = *table.find(3);
  EXPECT_EQ(ship.state, JobState::kSkipped);
  EXPECT_EQ(ship.note, JobNote::kUnjudgeable);
  EXPECT_EQ(ship.message,
            "cannot judge need bench for regressions: its stored spec does not decode: not valid "
            "JSON");
  const size_t asked = gate.asked.size();
  table.settle(ship);
  EXPECT_EQ(gate.asked.size(), asked);
}

TEST_F(GateTableTest, AnOutageWhileJudgingChangesNothing) {
  finish(1);
  gate.outage = true;
  EXPECT_THROW(finish(2), std::runtime_error);
  // The coordinator undoes the turn and settles again after reloading.
  EXPECT_EQ(table.find(3)->state, JobState::kPending);
  gate.outage = false;
  table.settle(*table.find(3));
  EXPECT_EQ(table.find(3)->state, JobState::kQueued);
}

// --- Concurrency groups ---

Job grouped(uint64_t id, const std::string& group, JobState state = JobState::kQueued,
            int64_t queued_at_us = 0) {
  Job j;
  j.id = id;
  j.pipeline_id = 100 + id;
  j.name = "deploy";
  j.state = state;
  j.concurrency = group;
  j.queued_at_us = queued_at_us ? queued_at_us : static_cast<int64_t>(id);
  return j;
}

TEST(Concurrency, OnlyTheFirstInLineOfAGroupMayBePlaced) {
  std::vector<Job> jobs = {grouped(1, "prod"), grouped(2, "prod"), grouped(3, ""),
                           grouped(4, "staging")};
  std::vector<Job*> queued;
  for (auto& j : jobs) queued.push_back(&j);
  std::vector<ConcurrencyWait> waits;
  auto out = concurrency_filter(queued, {}, &waits);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0]->id, 1u);
  EXPECT_EQ(out[1]->id, 3u);
  EXPECT_EQ(out[2]->id, 4u);
  ASSERT_EQ(waits.size(), 1u);
  EXPECT_EQ(waits[0].job_id, 2u);
  EXPECT_EQ(waits[0].message,
            "waiting for concurrency group prod (job 1 of pipeline 101 is first "
            "in line)");
}

TEST(Concurrency, NoJobOfAGroupIsPlacedWhileOneRuns) {
  Job running = grouped(5, "prod", JobState::kRunning);
  std::vector<Job> jobs = {grouped(1, "prod"), grouped(2, "prod")};
  std::vector<Job*> queued = {&jobs[0], &jobs[1]};
  std::vector<ConcurrencyWait> waits;
  auto out = concurrency_filter(queued, {&running}, &waits);
  EXPECT_TRUE(out.empty());
  ASSERT_EQ(waits.size(), 2u);
  EXPECT_EQ(waits[0].message,
            "waiting for concurrency group prod (job 5 of pipeline 105 is running)");
  Job assigned = grouped(6, "prod", JobState::kAssigned);
  waits.clear();
  concurrency_filter(queued, {&assigned}, &waits);
  EXPECT_EQ(waits[1].message,
            "waiting for concurrency group prod (job 6 of pipeline 106 is assigned)");
}

TEST(Concurrency, FirstInLineIsTheEarliestQueuedNotTheHighestPriority) {
  // Queued order is by priority; the group keeps its FIFO order all the same.
  std::vector<Job> jobs = {grouped(7, "prod", JobState::kQueued, 300),
                           grouped(8, "prod", JobState::kQueued, 100)};
  jobs[0].priority = 10;
  std::vector<Job*> queued = {&jobs[0], &jobs[1]};
  auto out = concurrency_filter(queued, {});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]->id, 8u);
}

TEST(Concurrency, AHeldJobOutsideAnyGroupHoldsNothingBack) {
  Job running = grouped(5, "", JobState::kRunning);
  std::vector<Job> jobs = {grouped(1, "prod")};
  std::vector<Job*> queued = {&jobs[0]};
  EXPECT_EQ(concurrency_filter(queued, {&running}).size(), 1u);
}

// --- The regression judgement ---

GateFacts bench_facts() {
  JobAssignment spec;
  spec.kind = JobKind::kBench;
  spec.bench = BenchSpec{};
  spec.bench->run = "true";
  spec.variants = {{"default", {}, ""}, {"mold", {}, ""}};
  GateFacts f;
  f.found = true;
  f.name = "bench";
  f.spec_json = job_spec::to_json(spec);
  f.machine = "m1";
  f.revision = "bbbbbbbbbbbbbbbb";
  f.samples.columns = {"machine", "benchmark",    "side",     "wall_s",
                       "cpu_s",   "instructions", "contended"};
  return f;
}

void add_samples(GateFacts& f, const std::string& side, double wall_s, int n) {
  for (int i = 0; i < n; ++i) {
    const double w = wall_s * (1 + 0.001 * (i % 5));
    f.samples.rows.push_back(
        {"m1", "variant default", side, std::to_string(w), std::to_string(w), "", "f"});
    f.samples.nulls.push_back({false, false, false, false, false, true, false});
  }
}

TEST(RegressionGate, AVariantJudgedSlowerInTheBenchMeasureRegresses) {
  GateFacts f = bench_facts();
  f.slower.push_back({"mold", "cpu", 1.5, 1.4, 1.6});  // not the bench's measure (wall)
  EXPECT_EQ(judge_regression(f).kind, GateVerdict::kPass);
  f.slower.push_back({"mold", "wall", 1.08, 1.05, 1.11});
  auto v = judge_regression(f);
  EXPECT_EQ(v.kind, GateVerdict::kRegressed);
  EXPECT_EQ(v.why,
            "bench judged slower: variant mold 1.08x slower than default (95% CI 1.05x-1.11x, "
            "wall)");
}

TEST(RegressionGate, ASeriesWhoseNewestChangeIsARegressionRegresses) {
  GateFacts f = bench_facts();
  EXPECT_EQ(judge_regression(f).kind, GateVerdict::kPass);
  f.regressed_series.push_back({"default", 1.25, "aaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbb"});
  auto v = judge_regression(f);
  EXPECT_EQ(v.kind, GateVerdict::kRegressed);
  EXPECT_EQ(v.why,
            "bench judged slower: variant default on machine m1 has stayed slower since a change "
            "of +25.0 % between aaaaaaaaaaaa and bbbbbbbbbbbb (yardstick regressions)");
}

// A later small move either way does not undo a regression; one that
// takes back most of it does.
TEST(RegressionGate, ASeriesThatHasNotComeBackFromItsNewestRegressionRegresses) {
  GateFacts f = bench_facts();
  // +25 % (0.20 -> 0.25), then a 3 % drift down found later: still 1.21x.
  f.regressed_series.push_back(
      {"default", 1.25, "aaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbb", 0.20, 0.2425});
  EXPECT_EQ(judge_regression(f).kind, GateVerdict::kRegressed);
  // Back to 1.13x: more than half of the 25 % remains.
  f.regressed_series[0].level_now = 0.226;
  EXPECT_EQ(judge_regression(f).kind, GateVerdict::kRegressed);
  // Back to 1.12x: more than half was taken back.
  f.regressed_series[0].level_now = 0.224;
  EXPECT_EQ(judge_regression(f).kind, GateVerdict::kPass);
  // Back below where it was.
  f.regressed_series[0].level_now = 0.19;
  EXPECT_EQ(judge_regression(f).kind, GateVerdict::kPass);
  // A second series still up is enough.
  f.regressed_series.push_back(
      {"mold", 1.5, "cccccccccccccccccccc", "dddddddddddddddddddd", 0.10, 0.15});
  auto v = judge_regression(f);
  EXPECT_EQ(v.kind, GateVerdict::kRegressed);
  EXPECT_NE(v.why.find("variant mold on machine m1 has stayed slower since a change of +50.0 %"),
            std::string::npos)
      << v.why;
}

TEST(RegressionGate, SlowerThanThePreviousRevisionOnTheMachineRegresses) {
  GateFacts f = bench_facts();
  f.previous_revision = "aaaaaaaaaaaaaaaaaaaa";
  add_samples(f, "a", 0.100, 20);
  add_samples(f, "b", 0.110, 20);
  auto v = judge_regression(f);
  EXPECT_EQ(v.kind, GateVerdict::kRegressed);
  EXPECT_NE(v.why.find("bench judged slower: variant default 10."), std::string::npos) << v.why;
  EXPECT_NE(v.why.find("% slower than revision aaaaaaaaaaaa on machine m1"), std::string::npos)
      << v.why;
}

TEST(RegressionGate, AsFastAsThePreviousRevisionPasses) {
  GateFacts f = bench_facts();
  f.previous_revision = "aaaaaaaaaaaaaaaaaaaa";
  add_samples(f, "a", 0.100, 20);
  add_samples(f, "b", 0.100, 20);
  EXPECT_EQ(judge_regression(f).kind, GateVerdict::kPass);
  GateFacts faster = bench_facts();
  faster.previous_revision = "aaaaaaaaaaaaaaaaaaaa";
  add_samples(faster, "a", 0.110, 20);
  add_samples(faster, "b", 0.100, 20);
  EXPECT_EQ(judge_regression(faster).kind, GateVerdict::kPass);
}

TEST(RegressionGate, ASlowdownWithinTheNoiseFloorIsNotARegression) {
  // 0.5 % slower in every run: the test sees it, the 1 % noise floor calls
  // it within noise, and within noise is not slower.
  GateFacts f = bench_facts();
  f.previous_revision = "aaaaaaaaaaaaaaaaaaaa";
  add_samples(f, "a", 0.100, 20);
  add_samples(f, "b", 0.1005, 20);
  ReportTable compared;
  compare_revision_samples(f.samples, "wall", 0.05, 0.01, false, &compared);
  ASSERT_EQ(compared.rows.size(), 1u);
  size_t verdict = 0;
  while (compared.columns[verdict] != "verdict") ++verdict;
  EXPECT_EQ(compared.rows[0][verdict], "within noise");
  EXPECT_EQ(judge_regression(f).kind, GateVerdict::kPass);
}

TEST(RegressionGate, TheIntervalIsNamedAtTheBenchsConfidence) {
  GateFacts f = bench_facts();
  JobAssignment spec = job_spec::from_json(f.spec_json);
  spec.bench->alpha = 0.01;
  f.spec_json = job_spec::to_json(spec);
  f.slower.push_back({"mold", "wall", 1.08, 1.05, 1.11});
  EXPECT_NE(judge_regression(f).why.find("(99% CI 1.05x-1.11x, wall)"), std::string::npos);
}

TEST(RegressionGate, NoPreviousRevisionAndNoSlowerVariantPasses) {
  GateFacts f = bench_facts();
  add_samples(f, "b", 0.100, 20);
  EXPECT_EQ(judge_regression(f).kind, GateVerdict::kPass);
}

TEST(RegressionGate, WhatCannotBeReadCannotBeJudged) {
  GateFacts gone;
  EXPECT_EQ(judge_regression(gone).kind, GateVerdict::kUnjudgeable);
  GateFacts bad = bench_facts();
  bad.spec_json = "{not json";
  const GateVerdict v = judge_regression(bad);
  EXPECT_EQ(v.kind, GateVerdict::kUnjudgeable);
  EXPECT_EQ(v.why.rfind("its stored spec does not decode: ", 0), 0u) << v.why;
}

}  // namespace
}  // namespace yardstick
