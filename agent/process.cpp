#include "agent/process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>

namespace yardstick {

namespace {

// What the child of gated_spawn needs, prepared by the parent: the child
// shares the parent's memory and allocates nothing.
struct GatedChild {
  const char* program;
  char* const* argv;
  char* const* envp;
  const char* cwd;  // nullptr: stay
  int out_w, err_w;
  int gate_r, gate_w;      // the child waits for EOF on gate_r
  int status_r, status_w;  // the child writes its errno here when it cannot exec
};

[[noreturn]] void gated_fail(const GatedChild& c, int err) {
  ssize_t ignored = write(c.status_w, &err, sizeof err);
  (void)ignored;
  _exit(127);
}

int gated_child(void* arg) {
  const GatedChild& c = *static_cast<const GatedChild*>(arg);
  // Its own copies of the parent's ends, else it would never see EOF.
  close(c.gate_w);
  close(c.status_r);
  char go = 0;
  while (read(c.gate_r, &go, 1) < 0) {
  }
  // Only now, after the parent opened the counters, anything that can fail:
  // errno is shared with the parent's thread (same memory, same TLS), so
  // the two must not set it at the same time.
  setsid();
  const int null = open("/dev/null", O_RDONLY);
  if (null < 0) gated_fail(c, errno);
  if (dup2(null, 0) < 0 || dup2(c.out_w, 1) < 0 || dup2(c.err_w, 2) < 0) gated_fail(c, errno);
  if (null > 2) close(null);
  if (c.cwd && chdir(c.cwd) != 0) gated_fail(c, errno);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGCHLD, SIGHUP, SIGQUIT})
    sigaction(sig, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  execve(c.program, c.argv, c.envp);
  gated_fail(c, errno);
}

// Starts the child as posix_spawn would (own session, /dev/null as stdin,
// our pipes as stdout and stderr, default signals, empty mask), except that
// it waits on a pipe before exec: meanwhile the counters are opened on it,
// so that they count from the exec on, its whole tree included. Like
// posix_spawn, the child is a clone(CLONE_VM) on a stack of its own: it
// does not copy the agent's page tables (a fork would, and its exec would
// tear the copy down inside the measured time: +5 ms per run for an agent
// of 40 MB). Returns 0 or the errno of what failed, exec included.
int gated_spawn(pid_t* pid_out, const char* program, char* const* argv, char* const* envp,
                const SpawnRequest& request, int out_w, int err_w, TreeCounters* counters,
                int64_t* started_ns) {
  int gate[2], status[2];
  if (pipe2(gate, O_CLOEXEC) != 0) return errno;
  if (pipe2(status, O_CLOEXEC) != 0) {
    const int e = errno;
    close(gate[0]);
    close(gate[1]);
    return e;
  }
  auto close_all = [&] {
    for (int fd : {gate[0], gate[1], status[0], status[1]})
      if (fd >= 0) close(fd);
  };
  constexpr size_t kStackBytes = 256 * 1024;
  void* stack = mmap(nullptr, kStackBytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) {
    const int e = errno;
    close_all();
    return e;
  }
  GatedChild child{
      program,   argv,     envp,    request.cwd.empty() ? nullptr : request.cwd.c_str(),
      out_w,     err_w,    gate[0], gate[1],
      status[0], status[1]};
#if defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer cannot follow a child that runs on a stack it did not
  // allocate, in memory it shares with its parent: the sanitizer build forks
  // (same gate, same protocol; only the cost the clone saves differs).
  const pid_t pid = fork();
  if (pid == 0) gated_child(&child);
#else
  const pid_t pid =
      clone(gated_child, static_cast<char*>(stack) + kStackBytes, CLONE_VM | SIGCHLD, &child);
#endif
  if (pid < 0) {
    const int e = errno;
    munmap(stack, kStackBytes);
    close_all();
    return e;
  }
  close(gate[0]);
  close(status[1]);
  *counters = TreeCounters::open(pid);
  *started_ns = steady_ns();
  close(gate[1]);  // EOF: the child goes on to exec
  // Until the child has exec'd or failed, leave errno alone (see gated_child).
  int err = 0;
  ssize_t n;
  while ((n = read(status[0], &err, sizeof err)) < 0) {
  }
  close(status[0]);
  if (n == static_cast<ssize_t>(sizeof err)) {
    // It did not exec: reaped here, before its stack goes.
    int ignored = 0;
    while (waitpid(pid, &ignored, __WALL) < 0 && errno == EINTR) {
    }
    munmap(stack, kStackBytes);
    *counters = TreeCounters();
    return err;
  }
  // EOF: exec closed the write end; the child runs on memory of its own now.
  munmap(stack, kStackBytes);
  *pid_out = pid;
  return 0;
}
}  // namespace

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
  TreeCounters counters;
  int64_t started_ns = 0;
  int rc = 0;
  if (request.count)
    rc = gated_spawn(&pid, program, argv, envp.data(), request, out[1], err[1], &counters,
                     &started_ns);
  else
    rc = posix_spawn(&pid, program, &actions, &attr, argv, envp.data());
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
  return Spawned{pid, out[0], err[0], std::move(counters), started_ns};
}

void PosixLauncher::signal_group(pid_t pgid, int signal) {
  if (pgid > 1) ::kill(-pgid, signal);
}

namespace {

// Whether process `pid`'s environment holds the entry `tag`.
bool has_tag(const std::string& pid, const std::string& tag) {
  std::ifstream env("/proc/" + pid + "/environ", std::ios::binary);
  if (!env) return false;
  std::string all((std::istreambuf_iterator<char>(env)), std::istreambuf_iterator<char>());
  size_t pos = 0;
  while (pos < all.size()) {
    size_t nul = all.find('\0', pos);
    if (nul == std::string::npos) nul = all.size();
    if (all.compare(pos, nul - pos, tag) == 0) return true;
    pos = nul + 1;
  }
  return false;
}

// The children of every thread of process `pid` (/proc/PID/task/*/children);
// false when the kernel does not list them.
bool children_of(const std::string& pid, std::vector<std::string>* out) {
  DIR* tasks = opendir(("/proc/" + pid + "/task").c_str());
  if (!tasks) return false;
  bool listed = false;
  while (dirent* t = readdir(tasks)) {
    if (t->d_name[0] == '.') continue;
    std::ifstream children("/proc/" + pid + "/task/" + t->d_name + "/children");
    if (!children) continue;
    listed = true;
    std::string child;
    while (children >> child) out->push_back(child);
  }
  closedir(tasks);
  return listed;
}

// The agent's descendants, when the agent is the subreaper of what its
// steps start (agent/main.cpp): a step's leftovers, a daemon that left its
// session included, are reparented to it and stay among them. nullopt when
// it is not a subreaper or the kernel does not list children: then every
// process must be looked at.
std::optional<std::vector<std::string>> own_descendants() {
  int subreaper = 0;
  if (prctl(PR_GET_CHILD_SUBREAPER, &subreaper) != 0 || !subreaper) return std::nullopt;
  std::vector<std::string> out;
  if (!children_of(std::to_string(getpid()), &out)) return std::nullopt;
  for (size_t i = 0; i < out.size() && out.size() < 100'000; ++i) {
    const std::string pid = out[i];  // a copy: children_of appends to `out`
    children_of(pid, &out);
  }
  return out;
}

}  // namespace

namespace {
int signal_among(const std::vector<std::string>& pids, const std::string& tag, int signal) {
  int count = 0;
  const pid_t self = getpid();
  for (const std::string& p : pids) {
    char* end = nullptr;
    long pid = std::strtol(p.c_str(), &end, 10);
    if (!end || *end != '\0' || pid <= 1 || pid == self) continue;
    if (has_tag(p, tag) && ::kill(static_cast<pid_t>(pid), signal) == 0) ++count;
  }
  return count;
}
}  // namespace

int PosixLauncher::signal_tagged(const std::string& tag, int signal) {
  // Among the agent's descendants when it can list them (after every step:
  // reading every process's environment on a busy host cost a fifth of a
  // core at 150 jobs a second), else among every process.
  if (auto own = own_descendants()) return signal_among(*own, tag, signal);
  return signal_tagged_anywhere(tag, signal);
}

int PosixLauncher::signal_tagged_anywhere(const std::string& tag, int signal) {
  std::vector<std::string> pids;
  DIR* proc = opendir("/proc");
  if (!proc) return 0;
  while (dirent* d = readdir(proc)) pids.push_back(d->d_name);
  closedir(proc);
  return signal_among(pids, tag, signal);
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
                   static_cast<uint64_t>(ru.ru_maxrss), static_cast<uint64_t>(ru.ru_nvcsw),
                   static_cast<uint64_t>(ru.ru_nivcsw)});
  }
  return out;
}

}  // namespace yardstick
