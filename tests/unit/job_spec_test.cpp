// The job spec has one conversion: domain -> wire::Assign -> (frame | JSON).
// These tests prove every field survives both the wire and the store, that
// rows in the old stored format still load, and that bad input is an error.
#include "common/job_spec.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <nlohmann/json.hpp>

#include "common/wire.hpp"

namespace yardstick {
namespace {

// Every field differs from its default, so a field dropped by any
// conversion shows up as a difference.
JobAssignment every_field_set() {
  JobAssignment a;
  a.job_id = 9'000'000'000'123ULL;  // above 2^53: must not pass through a double
  a.attempt = 3;
  a.pipeline_id = 77;
  a.pipeline_name = "speed";
  a.job_name = "link-bench";
  a.kind = JobKind::kBench;
  a.revision = "0123abcd";
  a.branch = "feature/mold";
  a.checkout_repo = "https://example.com/app.git";
  a.workdir = "crates/x";
  a.env = {{"GREETING", "grüße, 日本語 ✓"}, {"QUOTED", "a \"b\" \\ c\n\td"}};
  StepSpec clean;
  clean.name = "clean";
  clean.run = "cargo clean";
  clean.env = {{"X", "y"}};
  clean.timed = false;
  clean.timeout_ms = 60'000;
  clean.collect = {"ccache"};
  clean.budget = Budget{};  // present though empty: must stay present
  StepSpec build;
  build.name = "build";
  build.run = "cargo build --release";
  build.env = {{"RUSTFLAGS", "-C target-cpu=native"}};
  build.timed = true;
  build.timeout_ms = 720'000;
  build.collect = {"ninja-log:build", "ccache"};
  build.budget = Budget{420'000, {{"ccache.hit_rate", ">=", 0.8}, {"rss_mb", "<", 2048.5}}, true};
  StepSpec no_budget;
  no_budget.name = "report";
  no_budget.run = "true";
  a.steps = {clean, build, no_budget};
  a.timeout_ms = 900'000;
  a.slots = kExclusiveSlots;
  BenchSpec bench;
  bench.run = "ld.lld -o out main.o";
  bench.setup = "make objs";
  bench.prepare = "sync";
  bench.conclude = "rm -f out";
  bench.cleanup = "make clean";
  bench.warmup = 2;
  bench.runs = 12;
  bench.min_runs = 5;
  bench.max_runs = 40;
  bench.max_time_ms = 12'345;
  bench.ignore_failure = true;
  bench.interleave = false;
  bench.shell = ShellMode::kNone;
  bench.collect = {"perf"};
  bench.alpha = 0.01;
  bench.noise_floor = 0.1 + 0.2;  // not exactly representable in few digits
  bench.measure = "instructions";
  bench.precision = 0.01;
  a.bench = bench;
  a.variants = {{"lld", {}, ""},
                {"mold", {{"LINKER", "mold"}, {"NOTE", "é"}}, "mold -o out main.o"}};
  a.budget = Budget{300'000, {{"sample.wall_s", "<=", 1.5}}, true};
  a.secrets = {"API_TOKEN", "GIT_PASSWORD"};
  SignedSubmission s;
  s.yaml = "pipeline: speed\njobs: {}  # ünïcode ✓\n";
  s.file_name = "ci/speed.yml";
  s.revision = "0123abcd";
  s.branch = "feature/mold";
  s.public_key = std::string("\0\x01\xff", 3) + std::string(29, '\x80');  // raw bytes, NUL too
  s.signature = std::string(63, '\xfe') + std::string(1, '\0');
  a.signed_submission = s;
  return a;
}

void expect_same_budget(const std::optional<Budget>& want, const std::optional<Budget>& got,
                        const std::string& where) {
  SCOPED_TRACE(where);
  ASSERT_EQ(want.has_value(), got.has_value());
  if (!want) return;
  EXPECT_EQ(want->wall_ms, got->wall_ms);
  EXPECT_EQ(want->fail, got->fail);
  ASSERT_EQ(want->metrics.size(), got->metrics.size());
  for (size_t i = 0; i < want->metrics.size(); ++i) {
    EXPECT_EQ(want->metrics[i].metric, got->metrics[i].metric);
    EXPECT_EQ(want->metrics[i].op, got->metrics[i].op);
    EXPECT_EQ(want->metrics[i].value, got->metrics[i].value);
  }
}

// Field by field for readable failures; the defaulted operator== at the end
// also covers any member added later and not listed here.
void expect_same(const JobAssignment& want, const JobAssignment& got) {
  EXPECT_EQ(want.job_id, got.job_id);
  EXPECT_EQ(want.attempt, got.attempt);
  EXPECT_EQ(want.pipeline_id, got.pipeline_id);
  EXPECT_EQ(want.pipeline_name, got.pipeline_name);
  EXPECT_EQ(want.job_name, got.job_name);
  EXPECT_EQ(want.kind, got.kind);
  EXPECT_EQ(want.revision, got.revision);
  EXPECT_EQ(want.branch, got.branch);
  EXPECT_EQ(want.checkout_repo, got.checkout_repo);
  EXPECT_EQ(want.workdir, got.workdir);
  EXPECT_EQ(want.env, got.env);
  EXPECT_EQ(want.timeout_ms, got.timeout_ms);
  EXPECT_EQ(want.slots, got.slots);
  ASSERT_EQ(want.steps.size(), got.steps.size());
  for (size_t i = 0; i < want.steps.size(); ++i) {
    SCOPED_TRACE("step " + std::to_string(i));
    const StepSpec& w = want.steps[i];
    const StepSpec& g = got.steps[i];
    EXPECT_EQ(w.name, g.name);
    EXPECT_EQ(w.run, g.run);
    EXPECT_EQ(w.env, g.env);
    EXPECT_EQ(w.timed, g.timed);
    EXPECT_EQ(w.timeout_ms, g.timeout_ms);
    EXPECT_EQ(w.collect, g.collect);
    expect_same_budget(w.budget, g.budget, "step budget");
  }
  ASSERT_EQ(want.bench.has_value(), got.bench.has_value());
  if (want.bench) {
    const BenchSpec& w = *want.bench;
    const BenchSpec& g = *got.bench;
    EXPECT_EQ(w.run, g.run);
    EXPECT_EQ(w.setup, g.setup);
    EXPECT_EQ(w.prepare, g.prepare);
    EXPECT_EQ(w.conclude, g.conclude);
    EXPECT_EQ(w.cleanup, g.cleanup);
    EXPECT_EQ(w.warmup, g.warmup);
    EXPECT_EQ(w.runs, g.runs);
    EXPECT_EQ(w.min_runs, g.min_runs);
    EXPECT_EQ(w.max_runs, g.max_runs);
    EXPECT_EQ(w.max_time_ms, g.max_time_ms);
    EXPECT_EQ(w.ignore_failure, g.ignore_failure);
    EXPECT_EQ(w.interleave, g.interleave);
    EXPECT_EQ(w.shell, g.shell);
    EXPECT_EQ(w.collect, g.collect);
    EXPECT_EQ(w.alpha, g.alpha);  // exact: the codecs must not round
    EXPECT_EQ(w.noise_floor, g.noise_floor);
    EXPECT_EQ(w.measure, g.measure);
    EXPECT_EQ(w.precision, g.precision);
  }
  ASSERT_EQ(want.variants.size(), got.variants.size());
  for (size_t i = 0; i < want.variants.size(); ++i) {
    SCOPED_TRACE("variant " + std::to_string(i));
    EXPECT_EQ(want.variants[i].name, got.variants[i].name);
    EXPECT_EQ(want.variants[i].env, got.variants[i].env);
    EXPECT_EQ(want.variants[i].run, got.variants[i].run);
  }
  expect_same_budget(want.budget, got.budget, "job budget");
  EXPECT_EQ(want.secrets, got.secrets);
  ASSERT_EQ(want.signed_submission.has_value(), got.signed_submission.has_value());
  if (want.signed_submission) {
    const SignedSubmission& w = *want.signed_submission;
    const SignedSubmission& g = *got.signed_submission;
    EXPECT_EQ(w.yaml, g.yaml);
    EXPECT_EQ(w.file_name, g.file_name);
    EXPECT_EQ(w.revision, g.revision);
    EXPECT_EQ(w.branch, g.branch);
    EXPECT_EQ(w.public_key, g.public_key);
    EXPECT_EQ(w.signature, g.signature);
  }
  EXPECT_TRUE(want == got) << "a member not compared above differs";
}

JobAssignment through_wire(const JobAssignment& a) {
  capnp::MallocMessageBuilder b;
  wire_io::fill(wire_io::start(b, 5).getBody().initAssign(), a);
  zmq::message_t m = wire_io::to_message(b);
  auto r = wire_io::decode_frame(m.data(), m.size());
  EXPECT_TRUE(std::holds_alternative<std::unique_ptr<wire_io::Frame>>(r));
  return wire_io::read(
      std::get<std::unique_ptr<wire_io::Frame>>(r)->envelope().getBody().getAssign());
}

TEST(JobSpec, EveryFieldSurvivesTheWire) {
  JobAssignment a = every_field_set();
  expect_same(a, through_wire(a));
}

TEST(JobSpec, EveryFieldSurvivesTheStore) {
  JobAssignment a = every_field_set();
  expect_same(a, job_spec::from_json(job_spec::to_json(a)));
}

TEST(JobSpec, AbsentOptionalsStayAbsent) {
  JobAssignment a;
  a.job_name = "plain";
  a.steps = {StepSpec{}};
  JobAssignment wire = through_wire(a);
  JobAssignment stored = job_spec::from_json(job_spec::to_json(a));
  for (const JobAssignment* back : {&wire, &stored}) {
    EXPECT_FALSE(back->bench);
    EXPECT_FALSE(back->budget);
    EXPECT_FALSE(back->signed_submission);
    ASSERT_EQ(back->steps.size(), 1u);
    EXPECT_FALSE(back->steps[0].budget);
    EXPECT_TRUE(*back == a);
  }
}

TEST(JobSpec, StoredFormIsStableAcrossARoundTrip) {
  std::string once = job_spec::to_json(every_field_set());
  EXPECT_EQ(job_spec::to_json(job_spec::from_json(once)), once);
}

TEST(JobSpec, StoredFormIsTheWireStructInCamelCaseJson) {
  std::string text = job_spec::to_json(every_field_set());
  auto j = nlohmann::json::parse(text);  // throws on anything jsonb would refuse as JSON
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j.at("pipelineName"), "speed");
  EXPECT_FALSE(j.contains("pipeline_name"));
  EXPECT_EQ(j.at("jobId"), "9000000000123");  // 64-bit integers as strings
  EXPECT_EQ(j.at("bench").at("shell"), "none");
  EXPECT_EQ(j.at("budget").at("metrics").at(0).at("metric"), "sample.wall_s");
  EXPECT_EQ(j.at("secrets"), nlohmann::json::array({"API_TOKEN", "GIT_PASSWORD"}));
  EXPECT_NE(text.find("grüße"), std::string::npos) << "UTF-8 is written as is";
}

TEST(JobSpec, TextThatJsonbRefusesIsAnErrorNamingTheField) {
  JobAssignment a;
  a.steps = {StepSpec{}};
  a.steps[0].env = {{"BAD", std::string("latin1 \xE9")}};
  try {
    job_spec::to_json(a);
    FAIL() << "invalid UTF-8 was encoded";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("steps[0].env[0].value"), std::string::npos) << e.what();
  }
}

TEST(JobSpec, NonFiniteBudgetValuesAreStoredAsStringsAndReadBack) {
  JobAssignment a;
  a.budget = Budget{0, {{"m", "<=", std::numeric_limits<double>::infinity()}}, false};
  std::string text = job_spec::to_json(a);
  EXPECT_NE(text.find(R"("value":"Infinity")"), std::string::npos) << text;
  EXPECT_EQ(job_spec::from_json(text).budget->metrics.at(0).value,
            std::numeric_limits<double>::infinity());
}

// Exactly what the hand-written writer stored before (nlohmann's dump of it).
const char* kOldFormatRow = R"({
  "pipeline_name": "speed", "job_name": "link-bench", "kind": "bench",
  "revision": "0123abcd", "branch": "main", "checkout_repo": "/src/app.git",
  "workdir": "crates/x", "env": {"GREETING": "grüße"},
  "steps": [
    {"name": "build", "run": "make", "env": {"X": "y"}, "timed": false, "timeout_ms": 60000,
     "collect": ["ccache"],
     "budget": {"wall_ms": 420000, "metrics": [{"metric": "ccache.hit_rate", "op": ">=",
                "value": 0.8}], "fail": true}},
    {"name": "test", "run": "make test", "env": {}, "timed": true, "timeout_ms": 0,
     "collect": [], "budget": null}
  ],
  "timeout_ms": 900000, "slots": 2,
  "bench": {"run": "ld -o out", "setup": "s", "prepare": "p", "conclude": "c", "cleanup": "k",
            "warmup": 2, "runs": 12, "min_runs": 5, "max_runs": 40, "max_time_ms": 12345,
            "ignore_failure": true, "interleave": false, "collect": ["perf"], "alpha": 0.01,
            "noise_floor": 0.03},
  "variants": [{"name": "lld", "env": {}, "run": ""},
               {"name": "mold", "env": {"LINKER": "mold"}, "run": "mold -o out"}],
  "budget": {"wall_ms": 300000, "metrics": [], "fail": false}
})";

TEST(JobSpec, RowInTheOldFormatStillLoads) {
  JobAssignment a = job_spec::from_json(kOldFormatRow);
  EXPECT_EQ(a.pipeline_name, "speed");
  EXPECT_EQ(a.job_name, "link-bench");
  EXPECT_EQ(a.kind, JobKind::kBench);
  EXPECT_EQ(a.revision, "0123abcd");
  EXPECT_EQ(a.branch, "main");
  EXPECT_EQ(a.checkout_repo, "/src/app.git");
  EXPECT_EQ(a.workdir, "crates/x");
  EXPECT_EQ(a.env, (EnvVars{{"GREETING", "grüße"}}));
  ASSERT_EQ(a.steps.size(), 2u);
  EXPECT_FALSE(a.steps[0].timed);
  EXPECT_EQ(a.steps[0].timeout_ms, 60'000u);
  EXPECT_EQ(a.steps[0].collect, std::vector<std::string>{"ccache"});
  EXPECT_EQ(a.steps[0].budget,
            (std::optional<Budget>(Budget{420'000, {{"ccache.hit_rate", ">=", 0.8}}, true})));
  EXPECT_FALSE(a.steps[1].budget);
  EXPECT_EQ(a.timeout_ms, 900'000u);
  EXPECT_EQ(a.slots, 2u);
  ASSERT_TRUE(a.bench);
  EXPECT_EQ(a.bench->run, "ld -o out");
  EXPECT_EQ(a.bench->cleanup, "k");
  EXPECT_EQ(a.bench->min_runs, 5u);
  EXPECT_EQ(a.bench->max_time_ms, 12'345u);
  EXPECT_TRUE(a.bench->ignore_failure);
  EXPECT_FALSE(a.bench->interleave);
  EXPECT_EQ(a.bench->collect, std::vector<std::string>{"perf"});
  EXPECT_EQ(a.bench->alpha, 0.01);
  EXPECT_EQ(a.bench->noise_floor, 0.03);
  EXPECT_EQ(a.bench->shell, ShellMode::kAuto) << "the old format did not store it";
  ASSERT_EQ(a.variants.size(), 2u);
  EXPECT_EQ(a.variants[1].env, (EnvVars{{"LINKER", "mold"}}));
  EXPECT_EQ(a.variants[1].run, "mold -o out");
  EXPECT_EQ(a.budget, (std::optional<Budget>(Budget{300'000, {}, false})));
  // Rewritten, it is in the current format and reads back the same.
  std::string rewritten = job_spec::to_json(a);
  EXPECT_EQ(rewritten.find("pipeline_name"), std::string::npos);
  EXPECT_TRUE(job_spec::from_json(rewritten) == a);
}

TEST(JobSpec, OldFormatWithoutBenchOrBudgetsLoads) {
  JobAssignment a = job_spec::from_json(
      R"({"pipeline_name":"p","job_name":"j","kind":"build","steps":[],"bench":null,)"
      R"("variants":[],"budget":null})");
  EXPECT_EQ(a.job_name, "j");
  EXPECT_FALSE(a.bench);
  EXPECT_FALSE(a.budget);
  EXPECT_EQ(a.slots, 1u);
}

TEST(JobSpec, BadInputThrowsAClearError) {
  for (const char* bad : {
           "",                                 // empty
           "{",                                // truncated
           "not json",                         // not JSON
           "[1, 2]",                           // not an object
           "{} trailing",                      // garbage after the object
           R"({"jobId": true})",               // wrong type, current format
           R"({"steps": 5})",                  // wrong type, current format
           R"({"steps": [{"env": "x"}]})",     // wrong type deeper down
           R"({"bench": {"alpha": "high"}})",  // not a number
           R"({"job_name": 5})",               // wrong type, old format
           R"({"job_name": "j", "steps": [{"timed": "yes"}]})",
       }) {
    SCOPED_TRACE(bad);
    try {
      job_spec::from_json(bad);
      ADD_FAILURE() << "accepted";
    } catch (const std::runtime_error& e) {
      EXPECT_EQ(std::string(e.what()).rfind("job spec", 0), 0u) << e.what();
    }
  }
}

// Found by fuzzing (tests/fuzz/fuzz_pipeline): Cap'n Proto's JSON parser
// read "\u001c" back as U+0012, so a command holding a control character
// (ESC of a colour code, say) changed when a restarted coordinator reloaded it.
TEST(JobSpec, ControlCharactersSurviveTheStoredForm) {
  JobAssignment a;
  a.job_name = "j";
  std::string every;
  for (int c = 1; c < 0x20; ++c) every += static_cast<char>(c);
  every += '\x7f';
  a.steps = {{"colour", "printf '\x1b[31mred\x1b[0m'", {{"ALL", every}}, true, 0, {}, {}}};
  a.env = {{"SEP",
            "a\x1c"
            "b"}};
  const std::string stored = job_spec::to_json(a);
  EXPECT_EQ(job_spec::from_json(stored), a) << stored;
  // As PostgreSQL's jsonb writes them back: lower-case \u escapes.
  auto b = job_spec::from_json(R"({"jobName": "j", "workdir": "\u001b\u001C\u007f\u00e9"})");
  EXPECT_EQ(b.workdir, "\x1b\x1c\x7f\xc3\xa9");
}

// Found by fuzzing (tests/fuzz/fuzz_job_spec): nlohmann throws out_of_range,
// not parse_error, for a number too large for a double.
TEST(JobSpec, NumberBeyondADoubleIsAClearError) {
  for (const char* text : {"3333333333E33333333333333333", R"({"timeoutMs": 1E400})"}) {
    try {
      job_spec::from_json(text);
      FAIL() << "accepted " << text;
    } catch (const std::runtime_error& e) {
      EXPECT_EQ(std::string(e.what()).rfind("job spec: not valid JSON", 0), 0u) << e.what();
    }
  }
}

// Found by fuzzing: the old format's reader converted a float or a negative
// number into an unsigned field by a cast (undefined behaviour).
TEST(JobSpec, OldFormatRefusesAFloatOrNegativeCount) {
  for (const char* field : {R"("timeout_ms": 6.04e63)", R"("slots": -1)", R"("slots": 4294967296)",
                            R"("timeout_ms": 1.5)"}) {
    const std::string text =
        std::string(R"({"pipeline_name": "p", "job_name": "j", )") + field + "}";
    try {
      job_spec::from_json(text);
      FAIL() << "accepted " << text;
    } catch (const std::runtime_error& e) {
      EXPECT_EQ(std::string(e.what()).rfind("job spec (old format)", 0), 0u) << e.what();
    }
  }
  EXPECT_EQ(job_spec::from_json(R"({"pipeline_name": "p", "job_name": "j", "slots": 3})").slots,
            3u);
}

TEST(JobSpec, DeepNestingIsAnErrorNotACrash) {
  const std::string deep =
      R"({"env": )" + std::string(100000, '[') + std::string(100000, ']') + "}";
  try {
    job_spec::from_json(deep);
    FAIL() << "accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("job spec", 0), 0u) << e.what();
  }
}

}  // namespace
}  // namespace yardstick
