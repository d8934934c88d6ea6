#include "agent/process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace yardstick {

std::optional<Spawned> PosixLauncher::spawn(const SpawnRequest& request, std::string* error) {
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0) {
    if (error) *error = std::string("pipe: ") + std::strerror(errno);
    return std::nullopt;
  }
  if (pipe2(err, O_CLOEXEC) != 0) {
    if (error) *error = std::string("pipe: ") + std::strerror(errno);
    close(out[0]);
    close(out[1]);
    return std::nullopt;
  }
  std::vector<char*> envp;
  for (const auto& e : request.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const char* shell_argv[] = {"/bin/sh", "-c", request.command.c_str(), nullptr};
  std::vector<char*> direct_argv;
  for (const auto& a : request.argv) direct_argv.push_back(const_cast<char*>(a.c_str()));
  direct_argv.push_back(nullptr);
  const bool direct = !request.program.empty();
  const char* program = direct ? request.program.c_str() : "/bin/sh";
  char* const* argv = direct ? direct_argv.data() : const_cast<char* const*>(shell_argv);

  // posix_spawn rather than fork + exec: glibc starts the child with
  // clone(CLONE_VM | CLONE_VFORK), which does not copy the agent's page
  // tables, so a started process costs a fraction of a millisecond less -
  // that is measured overhead on every benchmark run. The child leads a new
  // session (so the group can be signalled), has default signal handling and
  // an empty mask, reads /dev/null and writes into our pipes.
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  if (!request.cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, request.cwd.c_str());
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGCHLD, SIGHUP, SIGQUIT}) sigaddset(&defaults, sig);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, program, &actions, &attr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    if (error)
      *error = std::string(direct ? program : "/bin/sh") + ": " + std::strerror(rc) +
               (request.cwd.empty() ? "" : " (in " + request.cwd + ")");
    for (int fd : {out[0], out[1], err[0], err[1]}) close(fd);
    return std::nullopt;
  }
  close(out[1]);
  close(err[1]);
  fcntl(out[0], F_SETFL, fcntl(out[0], F_GETFL) | O_NONBLOCK);
  fcntl(err[0], F_SETFL, fcntl(err[0], F_GETFL) | O_NONBLOCK);
  return Spawned{pid, out[0], err[0]};
}

void PosixLauncher::signal_group(pid_t pgid, int signal) {
  if (pgid > 1) ::kill(-pgid, signal);
}

int PosixLauncher::signal_tagged(const std::string& tag, int signal) {
  int count = 0;
  DIR* proc = opendir("/proc");
  if (!proc) return 0;
  const pid_t self = getpid();
  while (dirent* d = readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(d->d_name, &end, 10);
    if (!end || *end != '\0' || pid <= 1 || pid == self) continue;
    std::ifstream env(std::string("/proc/") + d->d_name + "/environ", std::ios::binary);
    if (!env) continue;
    std::string all((std::istreambuf_iterator<char>(env)), std::istreambuf_iterator<char>());
    size_t pos = 0;
    while (pos < all.size()) {
      size_t nul = all.find('\0', pos);
      if (nul == std::string::npos) nul = all.size();
      if (all.compare(pos, nul - pos, tag) == 0) {
        if (::kill(static_cast<pid_t>(pid), signal) == 0) ++count;
        break;
      }
      pos = nul + 1;
    }
  }
  closedir(proc);
  return count;
}

int become_subreaper_with_signalfd() {
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) return -1;
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  if (sigprocmask(SIG_BLOCK, &mask, nullptr) != 0) return -1;
  return signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
}

std::vector<ExitInfo> reap_children() {
  std::vector<ExitInfo> out;
  for (;;) {
    int status = 0;
    struct rusage ru {};
    pid_t pid = wait4(-1, &status, WNOHANG, &ru);
    if (pid <= 0) break;
    out.push_back({pid, status,
                   static_cast<uint64_t>(ru.ru_utime.tv_sec) * 1'000'000 + ru.ru_utime.tv_usec,
                   static_cast<uint64_t>(ru.ru_stime.tv_sec) * 1'000'000 + ru.ru_stime.tv_usec,
                   static_cast<uint64_t>(ru.ru_maxrss)});
  }
  return out;
}

}  // namespace yardstick
