// PosixLauncher::signal_tagged as the agent uses it: the caller is the
// subreaper of what it starts, so a step's leftovers (a daemon in a session
// of its own, an orphaned grandchild) are found among its own descendants.
// Run in a forked child, so that this test binary does not become a
// subreaper itself; the child's exit code is the count it signalled.
#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <string>
#include <thread>

#include "agent/process.hpp"

namespace yardstick {
namespace {

// In a forked child: becomes a subreaper, starts through /bin/sh a tree of
// four tagged sleeps (one in a session of its own, one orphaned), waits for
// them, and exits with how many signal_tagged (or _anywhere) killed; 200 +
// a step when something failed.
int tree_killed(const std::string& tag, bool anywhere) {
  const pid_t child = fork();
  if (child == 0) {
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) _exit(201);
    PosixLauncher launcher;
    SpawnRequest request;
    request.command =
        "sleep 300 & sh -c 'sleep 300 & exit 0'; setsid sh -c 'exec sleep 300' & sleep 300 & "
        "exit 0";
    request.env = {"PATH=/usr/bin:/bin", tag};
    std::string error;
    auto spawned = launcher.spawn(request, &error);
    if (!spawned) _exit(202);
    int status = 0;
    waitpid(spawned->pid, &status, 0);  // the shell exits at once, its sleeps stay
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const int n = anywhere ? launcher.signal_tagged_anywhere(tag, SIGKILL)
                           : launcher.signal_tagged(tag, SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const int again = launcher.signal_tagged(tag, SIGKILL);
    while (waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    _exit(again == 0 ? n : 203);
  }
  int status = 0;
  waitpid(child, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}

TEST(TaggedProcesses, ASubreaperFindsEveryLeftoverAmongItsOwnDescendants) {
  const std::string tag = "YARDSTICK_RUN_TAG=unit-" + std::to_string(getpid());
  EXPECT_EQ(tree_killed(tag + "-own", false), 4);
  EXPECT_EQ(tree_killed(tag + "-anywhere", true), 4);
}

}  // namespace
}  // namespace yardstick
