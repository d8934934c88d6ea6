#include "agent/process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
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
  // Everything the child needs is prepared before fork: after it, only
  // async-signal-safe calls.
  std::vector<char*> envp;
  for (const auto& e : request.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const char* argv[] = {"/bin/sh", "-c", request.command.c_str(), nullptr};
  const char* cwd = request.cwd.c_str();

  pid_t pid = fork();
  if (pid < 0) {
    if (error) *error = std::string("fork: ") + std::strerror(errno);
    for (int fd : {out[0], out[1], err[0], err[1]}) close(fd);
    return std::nullopt;
  }
  if (pid == 0) {
    setsid();
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int s : {SIGPIPE, SIGINT, SIGTERM, SIGCHLD, SIGHUP, SIGQUIT}) signal(s, SIG_DFL);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    if (*cwd && chdir(cwd) != 0) {
      const char msg[] = "yardstick-agent: cannot enter the step's working directory\n";
      (void)!write(2, msg, sizeof msg - 1);
      _exit(126);
    }
    execve("/bin/sh", const_cast<char* const*>(argv), envp.data());
    _exit(127);
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
