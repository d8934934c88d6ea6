// What a job may hand to git and where it may run: the checks the pipeline
// validator, the coordinator and the agent share.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "common/checkout.hpp"

namespace yardstick {
namespace {

TEST(Checkout, RepositoryStartingWithADashIsRefusedAsAnOption) {
  auto why = repository_problem("--upload-pack=touch /tmp/x");
  EXPECT_NE(why.find("starts with '-'"), std::string::npos) << why;
  EXPECT_NE(repository_problem("-c"), "");
}

TEST(Checkout, CommandRunningTransportsAreRefused) {
  EXPECT_NE(repository_problem("ext::sh -c touch% /tmp/x").find("ext:: transport"),
            std::string::npos);
  EXPECT_NE(repository_problem("EXT::sh -c id"), "");
  EXPECT_NE(repository_problem("fd::3"), "");
  EXPECT_NE(repository_problem("https://example.org/a\nb.git"), "");
}

TEST(Checkout, OrdinaryRepositoriesPass) {
  for (const char* ok : {"/srv/git/repo.git", "file:///srv/git/repo", "git@host:org/repo.git",
                         "https://example.org/org/repo.git", "ssh://host/repo", "https://host/a::b",
                         "relative/repo-with-dash"})
    EXPECT_EQ(repository_problem(ok), "") << ok;
}

TEST(Checkout, RevisionStartingWithADashOrHoldingSpacesIsRefused) {
  EXPECT_NE(revision_problem("--output=/tmp/x").find("starts with '-'"), std::string::npos);
  EXPECT_NE(revision_problem("main extra"), "");
  EXPECT_NE(revision_problem("main\n"), "");
  for (const char* ok : {"", "main", "v1.2", "HEAD~1", "a1b2c3", "feature/x-y", "main@{1}"})
    EXPECT_EQ(revision_problem(ok), "") << ok;
}

TEST(Checkout, RelativeWorkdirMustStayInsideTheWorkspace) {
  EXPECT_EQ(workdir_problem("", false), "");
  EXPECT_EQ(workdir_problem("build", false), "");
  EXPECT_EQ(workdir_problem("a/../b", false), "");
  EXPECT_EQ(workdir_problem("./sub/.", false), "");
  EXPECT_NE(workdir_problem("..", false).find("leads out of the workspace"), std::string::npos);
  EXPECT_NE(workdir_problem("../..", true), "");
  EXPECT_NE(workdir_problem("a/../../b", false), "");
  EXPECT_NE(workdir_problem("./../x", false), "");
}

TEST(Checkout, AbsoluteWorkdirOnlyWhenTheAgentAllowsIt) {
  auto why = workdir_problem("/etc", false);
  EXPECT_NE(why.find("--allow-absolute-workdir"), std::string::npos) << why;
  EXPECT_EQ(workdir_problem("/etc", true), "");
}

TEST(Checkout, ResolvesInsideFollowsSymbolicLinks) {
  namespace fs = std::filesystem;
  const fs::path root = fs::temp_directory_path() / ("ys-resolve-" + std::to_string(getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "ws" / "sub");
  fs::create_directories(root / "outside");
  fs::create_symlink(root / "outside", root / "ws" / "out");
  fs::create_symlink("sub", root / "ws" / "in");
  const std::string ws = (root / "ws").string();
  EXPECT_TRUE(resolves_inside(ws, ws));
  EXPECT_TRUE(resolves_inside(ws, ws + "/sub"));
  EXPECT_TRUE(resolves_inside(ws, ws + "/in/not-yet"));
  EXPECT_TRUE(resolves_inside(ws, ws + "/missing/deeper"));
  EXPECT_FALSE(resolves_inside(ws, ws + "/out"));
  EXPECT_FALSE(resolves_inside(ws, ws + "/out/not-yet"));
  EXPECT_FALSE(resolves_inside(ws, (root / "outside").string()));
  fs::remove_all(root);
}

}  // namespace
}  // namespace yardstick
