// The shell completion written from a CLI11 command tree
// (coordinator/cli/completion.hpp). tests/package/run.sh runs the real
// CLI's scripts in bash; these check what each kind of option becomes.
#include "coordinator/cli/completion.hpp"

#include <gtest/gtest.h>

namespace yardstick {
namespace {

struct ToyCli {
  CLI::App app{"toy"};
  std::string s, file, report, measure, shell;
  bool flag = false;
  ToyCli() {
    app.add_option("--key", file, "a key file")->type_name("FILE");
    app.add_option("--endpoint", s, "where it's [listening]");
    auto* run = app.add_subcommand("run", "run a thing's report");
    run->add_option("name", report, "the report")->type_name("REPORT");
    run->add_option("--measure", measure, "what")->check(CLI::IsMember({"wall", "cpu"}));
    run->add_flag("--wait", flag, "wait");
    auto* hidden = app.add_subcommand("secret-plumbing", "not for users");
    hidden->group("");
    hidden->add_option("shell", shell, "bash or zsh");
  }
  std::string script(const std::string& shell_name) {
    return completion_script(app, "toy", shell_name, {"alpha", "beta"});
  }
};

TEST(Completion, BashOffersVisibleSubcommandsAndNotHiddenOnes) {
  ToyCli toy;
  const std::string bash = toy.script("bash");
  EXPECT_NE(bash.find("compgen -W 'run'"), std::string::npos) << bash;
  EXPECT_EQ(bash.find("secret-plumbing"), std::string::npos) << bash;
  EXPECT_NE(bash.find("complete -F _toy toy"), std::string::npos);
}

TEST(Completion, BashCompletesFilesReportNamesAndMembers) {
  ToyCli toy;
  const std::string bash = toy.script("bash");
  // --key takes a file name; --endpoint a value with nothing to offer.
  EXPECT_NE(bash.find("--key)\n          compopt -o filenames"), std::string::npos) << bash;
  EXPECT_NE(bash.find("--endpoint) return ;;"), std::string::npos) << bash;
  EXPECT_NE(bash.find("compgen -W 'alpha beta'"), std::string::npos) << bash;
  EXPECT_NE(bash.find("--measure)\n          mapfile -t COMPREPLY < <(compgen -W 'wall cpu'"),
            std::string::npos)
      << bash;
  // A flag takes no value: it is not skipped as one when counting positionals.
  EXPECT_EQ(bash.find("--wait|"), std::string::npos) << bash;
  EXPECT_EQ(bash.find("|--wait"), std::string::npos) << bash;
}

TEST(Completion, ZshQuotesDescriptionsAndDescribesEachSubcommand) {
  ToyCli toy;
  const std::string zsh = toy.script("zsh");
  EXPECT_EQ(zsh.rfind("#compdef toy\n", 0), 0u) << zsh;
  EXPECT_NE(zsh.find("'run:run a thing'\\''s report'"), std::string::npos) << zsh;
  EXPECT_NE(zsh.find("'--endpoint=[where it'\\''s \\[listening\\]]:value: '"), std::string::npos)
      << zsh;
  EXPECT_NE(zsh.find("'--key=[a key file]:value:_files'"), std::string::npos) << zsh;
  EXPECT_NE(zsh.find("':name:(alpha beta)'"), std::string::npos) << zsh;
  EXPECT_NE(zsh.find("'--measure=[what]:value:(wall cpu)'"), std::string::npos) << zsh;
  EXPECT_EQ(zsh.find("secret-plumbing"), std::string::npos) << zsh;
}

TEST(Completion, UnknownShellGetsNothing) {
  ToyCli toy;
  EXPECT_EQ(toy.script("fish"), "");
}

}  // namespace
}  // namespace yardstick
