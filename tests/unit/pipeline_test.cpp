// Pipeline files: what parses, and the exact error (file, line, key) for what does not.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/pipeline.hpp"

namespace yardstick {
namespace {

PipelineParseResult parse(const std::string& text) {
  return parse_pipeline(text, "p.yml");
}

// The single error of an invalid file.
PipelineError only_error(const std::string& text) {
  auto r = parse(text);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.errors.size(), 1u) << (r.errors.empty() ? "" : r.errors[0].to_string());
  return r.errors.empty() ? PipelineError{} : r.errors[0];
}

TEST(Pipeline, ParsesEveryFieldOfABuildJob) {
  auto r = parse(R"(pipeline: speed
env: { A: "1" }
checkout: { repo: /src/app.git }
jobs:
  build:
    kind: build
    on: { labels: [os=linux, tool=mold], machines: all }
    timeout: 10m
    retries: 3
    priority: 5
    workdir: crates/app
    env: { B: "2" }
    steps:
      - run: cargo clean
        timed: false
      - name: release build
        run: cargo build --release
        timeout: 720s
        env: { RUSTFLAGS: "-C opt-level=3" }
  deploy:
    needs: [build]
    steps:
      - run: ./deploy.sh
)");
  ASSERT_TRUE(r.ok()) << r.errors[0].to_string();
  const PipelineDef& p = *r.pipeline;
  EXPECT_EQ(p.name, "speed");
  EXPECT_EQ(p.env.at("A"), "1");
  EXPECT_EQ(p.checkout_repo, "/src/app.git");
  ASSERT_EQ(p.jobs.size(), 2u);
  const JobDef& b = p.jobs[0];
  EXPECT_EQ(b.name, "build");
  EXPECT_EQ(b.on_labels, (Labels{"os=linux", "tool=mold"}));
  EXPECT_TRUE(b.all_machines);
  EXPECT_EQ(b.timeout_ms, 600'000u);
  EXPECT_EQ(b.retries, 3u);
  EXPECT_EQ(b.priority, 5);
  EXPECT_EQ(b.workdir, "crates/app");
  EXPECT_EQ(b.env.at("B"), "2");
  ASSERT_EQ(b.steps.size(), 2u);
  EXPECT_EQ(b.steps[0].name, "cargo clean");  // named after its command
  EXPECT_FALSE(b.steps[0].timed);
  EXPECT_EQ(b.steps[1].name, "release build");
  EXPECT_EQ(b.steps[1].timeout_ms, 720'000u);
  EXPECT_EQ(b.steps[1].env.at("RUSTFLAGS"), "-C opt-level=3");
  EXPECT_EQ(p.jobs[1].needs, std::vector<std::string>{"build"});
  EXPECT_FALSE(p.jobs[1].all_machines);
}

TEST(Pipeline, LabelsMayBeAMapping) {
  auto r =
      parse("pipeline: p\njobs:\n  a:\n    on: { labels: { os: linux } }\n    steps: [{run: x}]\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.pipeline->jobs[0].on_labels, Labels{"os=linux"});
}

TEST(Pipeline, UnknownKeyNamesFileLineAndKey) {
  auto e =
      only_error("pipeline: p\njobs:\n  a:\n    steps:\n      - run: x\n        tiemout: 5s\n");
  EXPECT_EQ(e.file, "p.yml");
  EXPECT_EQ(e.line, 6);
  EXPECT_EQ(e.key, "jobs.a.steps[0].tiemout");
  EXPECT_NE(e.message.find("unknown key"), std::string::npos);
  EXPECT_EQ(e.to_string().rfind("p.yml:6:9: jobs.a.steps[0].tiemout: unknown key", 0), 0u)
      << e.to_string();
}

TEST(Pipeline, APipelineBudgetIsItsWallTime) {
  auto r = parse("pipeline: p\nbudget: { wall: 7m }\njobs:\n  a:\n    steps: [{run: x}]\n");
  ASSERT_TRUE(r.ok()) << r.errors[0].to_string();
  EXPECT_EQ(r.pipeline->budget_wall_ms, 420'000u);
  auto none = parse("pipeline: p\njobs:\n  a:\n    steps: [{run: x}]\n");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none.pipeline->budget_wall_ms, 0u);
}

TEST(Pipeline, ABadPipelineBudgetNamesFileLineAndKey) {
  const std::string jobs = "jobs:\n  a:\n    steps: [{run: x}]\n";
  auto negative = only_error("pipeline: p\nbudget: { wall: -1s }\n" + jobs);
  EXPECT_EQ(negative.line, 2);
  EXPECT_EQ(negative.key, "budget.wall");
  EXPECT_NE(negative.message.find("expected a duration"), std::string::npos) << negative.message;
  auto zero = only_error("pipeline: p\nbudget: { wall: 0s }\n" + jobs);
  EXPECT_EQ(zero.key, "budget.wall");
  EXPECT_NE(zero.message.find("more than 0"), std::string::npos) << zero.message;
  auto metrics = only_error("pipeline: p\nbudget:\n  wall: 7m\n  metrics: {a: '> 1'}\n" + jobs);
  EXPECT_EQ(metrics.line, 4);
  EXPECT_EQ(metrics.key, "budget.metrics");
  EXPECT_NE(metrics.message.find("unknown key"), std::string::npos);
  auto missing = only_error("pipeline: p\nbudget: {}\n" + jobs);
  EXPECT_EQ(missing.key, "budget.wall");
  EXPECT_NE(missing.message.find("missing key"), std::string::npos);
  auto scalar = only_error("pipeline: p\nbudget: 7m\n" + jobs);
  EXPECT_EQ(scalar.key, "budget");
  EXPECT_NE(scalar.message.find("expected a mapping"), std::string::npos);
}

TEST(Pipeline, AnUnknownKeyNearAKnownOneSaysWhichItMeant) {
  auto e = only_error("pipeline: p\njobs:\n  a:\n    steps: [{run: x}]\n    timout: 5m\n");
  EXPECT_EQ(e.key, "jobs.a.timout");
  EXPECT_NE(e.message.find("unknown key (did you mean 'timeout'? expected one of: "),
            std::string::npos)
      << e.message;
}

// YAML keeps one value of a key given twice; a pipeline never means that.
TEST(Pipeline, AKeyGivenTwiceAnywhereIsAnErrorWithBothLines) {
  auto e = only_error(
      "pipeline: p\njobs:\n  a:\n    timeout: 5m\n    steps: [{run: x}]\n    timeout: 1s\n");
  EXPECT_EQ(e.line, 6);
  EXPECT_EQ(e.column, 5);
  EXPECT_EQ(e.key, "jobs.a.timeout");
  EXPECT_NE(e.message.find("given twice in one mapping (first on line 4)"), std::string::npos)
      << e.message;
  // Deep down too: a bench whose `runs: 20` became a second `run`.
  auto bench = only_error(
      "pipeline: p\njobs:\n  b:\n    kind: bench\n    bench:\n      run: \"true\"\n"
      "      run: 20\n");
  EXPECT_EQ(bench.key, "jobs.b.bench.run");
  EXPECT_EQ(bench.line, 7);
  auto in_list = only_error(
      "pipeline: p\njobs:\n  a:\n    steps:\n      - { run: x, name: one, name: two }\n");
  EXPECT_EQ(in_list.key, "jobs.a.steps[0].name");
}

TEST(Pipeline, ALabelThatIsNotKeyEqualsValueIsRefusedWithTheLikelyOne) {
  auto e = only_error(
      "pipeline: p\njobs:\n  a:\n    on: { labels: [role:laptop] }\n    steps: [{run: x}]\n");
  EXPECT_EQ(e.key, "jobs.a.on.labels[0]");
  EXPECT_EQ(e.line, 4);
  EXPECT_NE(e.message.find("label 'role:laptop' is not key=value, so no agent can have it (did "
                           "you mean 'role=laptop'?)"),
            std::string::npos)
      << e.message;
  EXPECT_FALSE(
      parse("pipeline: p\njobs:\n  a:\n    on: { labels: [gpu] }\n    steps: [{run: x}]\n").ok());
  EXPECT_TRUE(
      parse("pipeline: p\njobs:\n  a:\n    on: { labels: [gpu=yes] }\n    steps: [{run: x}]\n")
          .ok());
}

TEST(Pipeline, ARelativeCheckoutPathIsRefusedAndURLsAndAbsolutePathsPass) {
  for (const char* repo : {".", "../app", "src/app", "~/src/app"}) {
    auto e = only_error(std::string("pipeline: p\ncheckout: { repo: \"") + repo +
                        "\" }\njobs:\n  a:\n    steps: [{run: x}]\n");
    EXPECT_EQ(e.key, "checkout.repo") << repo;
    EXPECT_NE(e.message.find("is a path relative to where you are, which no agent can follow"),
              std::string::npos)
        << repo << ": " << e.message;
  }
  for (const char* repo : {"/srv/git/app.git", "https://example.org/app.git", "file:///srv/app",
                           "git@example.org:team/app.git", "example.org:app.git"})
    EXPECT_TRUE(parse(std::string("pipeline: p\ncheckout: { repo: \"") + repo +
                      "\" }\njobs:\n  a:\n    steps: [{run: x}]\n")
                    .ok())
        << repo;
}

TEST(Pipeline, SecretsAreNamesAtPipelineAndJobLevel) {
  auto r = parse(
      "pipeline: p\nsecrets: [GIT_TOKEN]\njobs:\n  a:\n    secrets: [API_TOKEN, _x2]\n"
      "    steps: [{run: x}]\n  b:\n    steps: [{run: y}]\n");
  ASSERT_TRUE(r.ok()) << r.errors[0].to_string();
  EXPECT_EQ(r.pipeline->secrets, std::vector<std::string>{"GIT_TOKEN"});
  EXPECT_EQ(r.pipeline->jobs[0].secrets, (std::vector<std::string>{"API_TOKEN", "_x2"}));
  EXPECT_TRUE(r.pipeline->jobs[1].secrets.empty());
}

TEST(Pipeline, ABadSecretNameNamesFileLineAndKey) {
  auto e = only_error("pipeline: p\njobs:\n  a:\n    steps: [{run: x}]\n    secrets: [OK, 1BAD]\n");
  EXPECT_EQ(e.line, 5);
  EXPECT_EQ(e.key, "jobs.a.secrets[1]");
  EXPECT_NE(e.message.find("'1BAD' is not a valid secret name"), std::string::npos) << e.message;
  auto dup = only_error("pipeline: p\nsecrets: [A, A]\njobs:\n  a:\n    steps: [{run: x}]\n");
  EXPECT_EQ(dup.key, "secrets[1]");
  EXPECT_EQ(dup.line, 2);
  auto scalar = only_error("pipeline: p\njobs:\n  a:\n    secrets: TOKEN\n    steps: [{run: x}]\n");
  EXPECT_EQ(scalar.key, "jobs.a.secrets");
  EXPECT_NE(scalar.message.find("list"), std::string::npos);
  auto dash = only_error("pipeline: p\nsecrets: [A-B]\njobs:\n  a:\n    steps: [{run: x}]\n");
  EXPECT_EQ(dash.key, "secrets[0]");
}

TEST(Pipeline, CredentialsInTheCheckoutUrlAreRefusedWithoutBeingRepeated) {
  for (const char* url : {"https://user:s3cret@example.com/x.git", "https://s3cret@example.com/x",
                          "ssh://git:s3cret@example.com/x.git"}) {
    auto e = only_error("pipeline: p\ncheckout: { repo: \"" + std::string(url) +
                        "\" }\njobs:\n  a:\n    steps: [{run: x}]\n");
    EXPECT_EQ(e.key, "checkout.repo");
    EXPECT_EQ(e.line, 2);
    EXPECT_NE(e.message.find("credentials"), std::string::npos) << e.message;
    EXPECT_NE(e.message.find("***@example.com"), std::string::npos) << e.message;
    EXPECT_EQ(e.to_string().find("s3cret"), std::string::npos) << e.to_string();
  }
  for (const char* url : {"ssh://git@example.com/x.git", "git@example.com:x.git",
                          "https://example.com/x.git", "/srv/x.git"}) {
    auto r = parse("pipeline: p\ncheckout: { repo: \"" + std::string(url) +
                   "\" }\njobs:\n  a:\n    steps: [{run: x}]\n");
    EXPECT_TRUE(r.ok()) << url;
  }
}

TEST(Pipeline, WrongTypeIsReported) {
  auto e = only_error("pipeline: p\njobs:\n  a:\n    retries: many\n    steps: [{run: x}]\n");
  EXPECT_EQ(e.key, "jobs.a.retries");
  EXPECT_EQ(e.line, 4);
  auto e2 = only_error("pipeline: p\njobs:\n  a:\n    steps: echo hi\n");
  EXPECT_EQ(e2.key, "jobs.a.steps");
  EXPECT_NE(e2.message.find("list"), std::string::npos);
  auto e3 = only_error("pipeline: p\njobs:\n  a:\n    steps: [{run: x, timed: maybe}]\n");
  EXPECT_EQ(e3.key, "jobs.a.steps[0].timed");
}

TEST(Pipeline, EmptyStepsAreRejected) {
  auto e = only_error("pipeline: p\njobs:\n  a:\n    steps: []\n");
  EXPECT_EQ(e.key, "jobs.a.steps");
  EXPECT_EQ(e.line, 4);
  auto e2 = only_error("pipeline: p\njobs:\n  a:\n    timeout: 5s\n");
  EXPECT_EQ(e2.key, "jobs.a.steps");
  auto e3 = only_error("pipeline: p\njobs:\n  a:\n    steps: [{name: nothing}]\n");
  EXPECT_EQ(e3.key, "jobs.a.steps[0].run");
  auto e4 = only_error("pipeline: p\njobs:\n  a:\n    steps: [{run: \"  \"}]\n");
  EXPECT_EQ(e4.key, "jobs.a.steps[0].run");
}

TEST(Pipeline, UnknownNeedIsRejected) {
  auto e = only_error("pipeline: p\njobs:\n  a:\n    needs: [nope]\n    steps: [{run: x}]\n");
  EXPECT_EQ(e.key, "jobs.a.needs");
  EXPECT_EQ(e.line, 4);
  EXPECT_NE(e.message.find("unknown job 'nope'"), std::string::npos);
}

TEST(Pipeline, DuplicateNeedIsRejectedWithItsPosition) {
  auto e = only_error(
      "pipeline: p\njobs:\n  a:\n    steps: [{run: x}]\n  b:\n    needs: [a, a]\n    steps: "
      "[{run: x}]\n");
  EXPECT_EQ(e.key, "jobs.b.needs[1]");
  EXPECT_EQ(e.line, 6);
  EXPECT_EQ(e.column, 16);
  EXPECT_NE(e.message.find("'a' is listed twice"), std::string::npos);
}

TEST(Pipeline, LostAgentRetriesDefaultToTwo) {
  auto r = parse_pipeline("pipeline: p\njobs:\n  a:\n    steps: [{run: x}]\n", "p.yml");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.pipeline->jobs[0].retries, 2u);
}

TEST(Pipeline, CycleIsRejectedNamingItsMembers) {
  auto r = parse(
      "pipeline: p\njobs:\n  a:\n    needs: [c]\n    steps: [{run: x}]\n"
      "  b:\n    needs: [a]\n    steps: [{run: x}]\n"
      "  c:\n    needs: [b]\n    steps: [{run: x}]\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("cycle: a -> c -> b -> a"), std::string::npos)
      << r.errors[0].message;
  auto self = only_error("pipeline: p\njobs:\n  a:\n    needs: a\n    steps: [{run: x}]\n");
  EXPECT_NE(self.message.find("itself"), std::string::npos);
}

TEST(Pipeline, BadDurationAndMachinesAreRejected) {
  auto e = only_error("pipeline: p\njobs:\n  a:\n    timeout: soon\n    steps: [{run: x}]\n");
  EXPECT_EQ(e.key, "jobs.a.timeout");
  auto e2 =
      only_error("pipeline: p\njobs:\n  a:\n    on: { machines: some }\n    steps: [{run: x}]\n");
  EXPECT_EQ(e2.key, "jobs.a.on.machines");
}

TEST(Pipeline, UnsupportedKindIsRejected) {
  auto e = only_error("pipeline: p\njobs:\n  a:\n    kind: teleport\n    steps: [{run: x}]\n");
  EXPECT_EQ(e.key, "jobs.a.kind");
}

TEST(Pipeline, MissingNameAndJobsAreRejected) {
  auto r = parse("env: {}\n");
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_EQ(r.errors[0].key, "pipeline");
  EXPECT_EQ(r.errors[1].key, "jobs");
}

TEST(Pipeline, InvalidYamlHasALine) {
  auto e = only_error("pipeline: p\njobs:\n  a: [unclosed\n");
  EXPECT_GT(e.line, 0);
  EXPECT_NE(e.message.find("invalid YAML"), std::string::npos);
}

TEST(Pipeline, EmptyFileIsRejected) {
  auto e = only_error("");
  EXPECT_NE(e.message.find("empty"), std::string::npos);
}

TEST(Pipeline, EveryErrorIsReportedAtOnce) {
  auto r = parse("pipeline: p\nfoo: 1\njobs:\n  a:\n    retries: -1\n    steps: []\n");
  EXPECT_EQ(r.errors.size(), 3u);
}

TEST(Duration, ParsesUnits) {
  EXPECT_EQ(parse_duration_ms("250ms"), 250u);
  EXPECT_EQ(parse_duration_ms("2s"), 2000u);
  EXPECT_EQ(parse_duration_ms("1.5m"), 90'000u);
  EXPECT_EQ(parse_duration_ms("1h"), 3'600'000u);
  EXPECT_EQ(parse_duration_ms("3"), 3000u);
  EXPECT_FALSE(parse_duration_ms("s"));
  EXPECT_FALSE(parse_duration_ms("5 parsecs"));
  EXPECT_FALSE(parse_duration_ms("-1s"));
}

TEST(Labels, ParseFormatAndMatch) {
  Labels l = parse_labels(" os=linux, tool=gcc,tool=mold ,,gpu");
  EXPECT_EQ(l, (Labels{"os=linux", "tool=gcc", "tool=mold", "gpu"}));
  EXPECT_EQ(format_labels(l), "gpu,os=linux,tool=gcc,tool=mold");
  EXPECT_TRUE(labels_match(l, {"tool=mold", "os=linux"}));
  EXPECT_TRUE(labels_match(l, {}));
  EXPECT_FALSE(labels_match(l, {"tool=clang"}));
  EXPECT_FALSE(labels_match(l, {"os=macos"}));
}

}  // namespace
}  // namespace yardstick

namespace yardstick {
namespace {

// The pipelines the README and the quick start point users at must stay valid.
TEST(Pipeline, EveryShippedExampleIsValid) {
  namespace fs = std::filesystem;
  int checked = 0;
  for (const auto& e : fs::directory_iterator(fs::path(YARDSTICK_SOURCE_DIR) / "deploy/examples")) {
    if (e.path().extension() != ".yml") continue;
    std::ifstream in(e.path());
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // REPO is filled in with the repository's absolute path, as
    // deploy/quickstart.sh does.
    for (size_t at; (at = text.find("repo: REPO")) != std::string::npos;)
      text.replace(at, 10, "repo: /srv/git/app");
    auto r = parse_pipeline(text, e.path().filename().string());
    EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].to_string());
    ++checked;
  }
  EXPECT_GE(checked, 2);
}

}  // namespace
}  // namespace yardstick

namespace yardstick {
namespace {

TEST(Pipeline, BenchWithoutARunIsOneErrorNamingEveryVariant) {
  auto r = parse_pipeline(R"(pipeline: p
jobs:
  b:
    kind: bench
    bench: { runs: 3 }
    variants: [{name: x}, {name: y}, {name: z, run: "true"}]
)",
                          "p.yml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].key, "jobs.b.bench.run");
  EXPECT_NE(r.errors[0].message.find("variants 'x', 'y' have no run of their own"),
            std::string::npos)
      << r.errors[0].message;
}

TEST(Pipeline, RepositoryThatGitWouldReadAsAnOptionIsRefusedWithItsLine) {
  auto e = only_error(
      "pipeline: p\ncheckout:\n  repo: \"--upload-pack=touch /tmp/x\"\n"
      "jobs:\n  a:\n    steps: [{run: x}]\n");
  EXPECT_EQ(e.key, "checkout.repo");
  EXPECT_EQ(e.line, 3);
  EXPECT_NE(e.message.find("starts with '-'"), std::string::npos) << e.message;
  e = only_error(
      "pipeline: p\ncheckout: { repo: \"ext::sh -c id\" }\njobs:\n  a:\n"
      "    steps: [{run: x}]\n");
  EXPECT_NE(e.message.find("ext:: transport"), std::string::npos) << e.message;
}

TEST(Pipeline, WorkdirLeadingOutOfTheWorkspaceIsRefusedAndAbsoluteIsLeftToTheAgent) {
  auto e = only_error("pipeline: p\njobs:\n  a:\n    workdir: src/../..\n    steps: [{run: x}]\n");
  EXPECT_EQ(e.key, "jobs.a.workdir");
  EXPECT_EQ(e.line, 4);
  EXPECT_NE(e.message.find("leads out of the workspace"), std::string::npos) << e.message;
  EXPECT_TRUE(parse("pipeline: p\njobs:\n  a:\n    workdir: /opt/x\n    steps: [{run: x}]\n").ok());
}

// Found by fuzzing (tests/fuzz/fuzz_pipeline): a "\0" escape put a NUL in a
// command, which the stored spec cut short.
TEST(Pipeline, NulCharacterIsRefusedWhereverItIs) {
  auto r = parse("pipeline: p\njobs:\n  a:\n    steps:\n      - run: \"echo a\\0b\"\n");
  ASSERT_FALSE(r.ok());
  const PipelineError& e = r.errors[0];
  EXPECT_EQ(e.key, "jobs.a.steps[0].run");
  EXPECT_EQ(e.line, 5);
  EXPECT_NE(e.message.find("NUL"), std::string::npos) << e.message;
  EXPECT_FALSE(
      parse("pipeline: p\nenv: { \"A\\0\": x }\njobs:\n  a:\n    steps: [{run: x}]\n").ok());
  EXPECT_FALSE(parse("pipeline: p\njobs:\n  a:\n    on: { labels: { \"k\\0\": v } }\n"
                     "    steps: [{run: x}]\n")
                   .ok());
}

// Found by fuzzing: with a job name given twice, the graph check looked the
// name up in the YAML, found the first (a string) and yaml-cpp threw.
// Found by fuzzing: yaml-cpp writes "\N" (U+0085) as the single byte 0x85,
// which the stored spec refused as not UTF-8, after the pipeline was taken.
TEST(Pipeline, EscapeThatYieldsNoUtf8IsRefusedWithItsKey) {
  auto r = parse("pipeline: p\njobs:\n  a:\n    env: { SEP: \"a\\Nb\" }\n    steps: [{run: x}]\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.errors[0].key, "jobs.a.env.SEP");
  EXPECT_NE(r.errors[0].message.find("UTF-8"), std::string::npos) << r.errors[0].message;
}

TEST(Pipeline, JobDefinedTwiceIsAnErrorNotAnException) {
  auto r =
      parse("pipeline: p\njobs:\n  a:\n    needsx\n  a:\n    needs: [a]\n    steps: [{run: x}]\n");
  ASSERT_FALSE(r.ok());
  bool twice = false;
  for (const auto& e : r.errors) twice |= e.message.find("defined twice") != std::string::npos;
  EXPECT_TRUE(twice);
  // A key that is no name, with needs the graph check looks up.
  r = parse("pipeline: p\njobs:\n  ? [x]\n  : { needs: [nope], steps: [{run: x}] }\n");
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace yardstick
