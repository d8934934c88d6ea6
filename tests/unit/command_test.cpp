// How a benchmark's timed command starts: plain words run directly (as
// hyperfine -N), anything a shell must interpret runs through /bin/sh.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/command.hpp"
#include "common/pipeline.hpp"

namespace yardstick {
namespace {

using Words = std::vector<std::string>;

TEST(Command, PlainWordsAndQuotesSplitAsTheShellWould) {
  EXPECT_EQ(split_plain_command("sleep 0.05"), (Words{"sleep", "0.05"}));
  EXPECT_EQ(split_plain_command("  cargo   build\t--release "),
            (Words{"cargo", "build", "--release"}));
  EXPECT_EQ(split_plain_command("grep 'a b' \"c d\" e\\ f"), (Words{"grep", "a b", "c d", "e f"}));
  EXPECT_EQ(split_plain_command("echo \"say \\\"hi\\\"\" x=1 a#b"),
            (Words{"echo", "say \"hi\"", "x=1", "a#b"}));
  EXPECT_EQ(split_plain_command("./build/app --flag=2 ''"), (Words{"./build/app", "--flag=2", ""}));
}

TEST(Command, ShellSyntaxIsRefusedWithTheReason) {
  for (const char* cmd :
       {"make | tee log", "a && b", "a; b",  "a > out", "a < in", "(a)",         "echo $HOME",
        "echo `date`",    "ls *.o", "ls ?",  "ls [ab]", "cd ~",   "a # comment", "CC=clang make",
        "echo \"$HOME\"", "a\nb",   "'open", "\"open",  "",       "   "}) {
    std::string why;
    EXPECT_FALSE(split_plain_command(cmd, &why)) << cmd;
    EXPECT_FALSE(why.empty()) << cmd;
  }
  std::string why;
  split_plain_command("make | tee log", &why);
  EXPECT_EQ(why, "shell syntax (|)");
}

TEST(Command, ResolvesOnPathLikeExecvpButNotShellBuiltins) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("ys-cmd-" + std::to_string(::getpid()));
  fs::create_directories(dir / "bin");
  {
    std::ofstream(dir / "bin" / "tool") << "#!/bin/sh\n";
    std::ofstream(dir / "bin" / "data") << "not executable\n";
  }
  fs::permissions(dir / "bin" / "tool", fs::perms::owner_all);
  const std::string path = "/nonexistent:" + (dir / "bin").string();
  EXPECT_EQ(resolve_program("tool", path), (dir / "bin" / "tool").string());
  EXPECT_EQ(resolve_program("data", path), "");
  // A directory named like the program, and a script without #!, are not run directly.
  fs::create_directories(dir / "first" / "tool");
  { std::ofstream(dir / "bin" / "plain") << "echo no interpreter line\n"; }
  fs::permissions(dir / "bin" / "plain", fs::perms::owner_all);
  EXPECT_EQ(resolve_program("tool", (dir / "first").string() + ":" + (dir / "bin").string()),
            (dir / "bin" / "tool").string());
  EXPECT_EQ(resolve_program("plain", path), "");
  EXPECT_NE(resolve_program("true", "/usr/bin:/bin"), "");  // ELF
  EXPECT_EQ(resolve_program("missing", path), "");
  EXPECT_EQ(resolve_program("bin/tool", "", dir.string()), (dir / "bin/tool").string());
  EXPECT_EQ(resolve_program("cd", "/bin:/usr/bin"), "");
  EXPECT_EQ(resolve_program("exit", "/bin:/usr/bin"), "");
  EXPECT_NE(resolve_program("sh", "/usr/bin:/bin"), "");
  fs::remove_all(dir);
}

TEST(Command, ModesChooseBetweenShellAndDirect) {
  const std::string path = "/usr/bin:/bin";
  std::string error;
  auto direct = direct_command("sh -c 'exit 3'", ShellMode::kAuto, path, "", &error);
  ASSERT_TRUE(direct);
  EXPECT_EQ(direct->argv, (Words{"sh", "-c", "exit 3"}));
  EXPECT_EQ(direct->program.substr(direct->program.size() - 3), "/sh");
  EXPECT_FALSE(direct_command("sh -c 'exit 3'", ShellMode::kSh, path, "", &error));
  // auto falls back to the shell quietly; none says why it cannot.
  EXPECT_FALSE(direct_command("sleep 1 | cat", ShellMode::kAuto, path, "", &error));
  EXPECT_FALSE(direct_command("cd /tmp", ShellMode::kAuto, path, "", &error));
  EXPECT_TRUE(error.empty());
  EXPECT_FALSE(direct_command("sleep 1 | cat", ShellMode::kNone, path, "", &error));
  EXPECT_EQ(error, "shell: none cannot run `sleep 1 | cat`: it uses shell syntax (|)");
  EXPECT_FALSE(direct_command("no-such-program-here 1", ShellMode::kNone, path, "", &error));
  EXPECT_EQ(error,
            "shell: none cannot run `no-such-program-here 1`: no program "
            "'no-such-program-here' on PATH");
}

TEST(Command, PipelineShellKeyIsValidated) {
  auto ok = parse_pipeline(R"(pipeline: p
jobs:
  b:
    kind: bench
    bench: { run: "sleep 0.01", shell: none }
)",
                           "p.yml");
  ASSERT_TRUE(ok.ok()) << ok.errors[0].to_string();
  EXPECT_EQ(ok.pipeline->jobs[0].bench->shell, ShellMode::kNone);

  auto bad = parse_pipeline(R"(pipeline: p
jobs:
  b:
    kind: bench
    bench: { run: "sleep 0.01", shell: bash }
  c:
    kind: bench
    bench: { run: "sleep 0.01", shell: none }
    variants:
      - name: plain
      - name: piped
        run: "sleep 0.01 | cat"
)",
                            "p.yml");
  ASSERT_EQ(bad.errors.size(), 2u);
  EXPECT_EQ(bad.errors[0].key, "jobs.b.bench.shell");
  EXPECT_EQ(bad.errors[0].line, 5);
  EXPECT_EQ(bad.errors[1].key, "jobs.c.variants[1].run");
  EXPECT_EQ(bad.errors[1].line, 12);
  EXPECT_NE(bad.errors[1].message.find("shell syntax (|); use shell: sh"), std::string::npos)
      << bad.errors[1].message;
}

}  // namespace
}  // namespace yardstick
