#include "coordinator/auto_bisect.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

extern char** environ;

namespace yardstick {

AutoBisect::AutoBisect(Options options) : options_(std::move(options)) {}

void AutoBisect::set_endpoint(const std::string& bound) {
  std::string e = bound;
  for (const std::string wildcard : {"0.0.0.0", "*"})
    if (auto at = e.find("://" + wildcard + ":"); at != std::string::npos)
      e.replace(at + 3, wildcard.size(), "127.0.0.1");
  if (auto at = e.find("://[::]:"); at != std::string::npos) e.replace(at + 3, 4, "[::1]");
  std::lock_guard lock(mu_);
  options_.endpoint = e;
}

std::vector<std::string> AutoBisect::command_for(const FoundChange& change) const {
  const SeriesKey& s = change.series;
  return {options_.command, "bisect",
          s.pipeline,       s.job,
          "--" + s.kind,    s.what,
          "--good",         change.last_good_revision,
          "--bad",          change.first_bad_revision,
          "--machine",      s.machine,
          "--json"};
}

bool AutoBisect::start(const FoundChange& change) {
  reap();
  const SeriesKey& s = change.series;
  const std::string what =
      s.pipeline + " job " + s.job + " " + s.kind + " " + s.what + " on " + s.machine;
  if (change.last_good_revision.empty() || change.first_bad_revision.empty()) {
    spdlog::warn(
        "bisect: auto: {}: the change point has no revisions (the pipeline checks out "
        "no repository); not bisected",
        what);
    return false;
  }
  std::lock_guard lock(mu_);
  for (const auto& [pid, running] : running_)
    if (running == what) {
      spdlog::info("bisect: auto: {} is being bisected already (pid {})", what, pid);
      return false;
    }
  if (running_.size() >= options_.max_running) {
    spdlog::warn("bisect: auto: {}: {} bisections run already; not started", what, running_.size());
    return false;
  }
  if (options_.endpoint.empty()) {
    spdlog::warn("bisect: auto: {}: this coordinator does not lead yet; not started", what);
    return false;
  }
  if (options_.coordinator_key.size() && options_.key_file.empty()) {
    spdlog::warn(
        "bisect: auto: {}: the coordinator has no --bisect-key (a client key of the "
        "submit role) to run it with; not started",
        what);
    return false;
  }
  std::vector<std::string> env_text;
  for (char** e = environ; *e; ++e) {
    const std::string_view v(*e);
    if (v.rfind("YARDSTICK_", 0) != 0) env_text.emplace_back(v);
  }
  env_text.push_back("YARDSTICK_COORDINATOR=" + options_.endpoint);
  if (options_.coordinator_key.empty()) {
    env_text.push_back("YARDSTICK_INSECURE=1");
  } else {
    env_text.push_back("YARDSTICK_KEY=" + options_.key_file);
    env_text.push_back("YARDSTICK_COORDINATOR_KEY=" + options_.coordinator_key);
  }
  const auto args = command_for(change);
  std::vector<char*> argv, envp;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : env_text) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  // The answer is recorded by the bisection itself; its progress goes to
  // the coordinator's standard error.
  posix_spawn_file_actions_addopen(&files, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&files, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, argv[0], &files, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&files);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    spdlog::warn("bisect: auto: {}: cannot start {}: {}", what, options_.command,
                 std::strerror(rc));
    return false;
  }
  running_[pid] = what;
  spdlog::info("bisect: auto: {} between {} and {}: started (pid {})", what,
               change.last_good_revision.substr(0, 12), change.first_bad_revision.substr(0, 12),
               pid);
  return true;
}

void AutoBisect::reap() {
  std::lock_guard lock(mu_);
  for (auto it = running_.begin(); it != running_.end();) {
    int status = 0;
    const pid_t r = waitpid(it->first, &status, WNOHANG);
    if (r == 0) {
      ++it;
      continue;
    }
    if (r == it->first)
      spdlog::info("bisect: auto: {}: ended ({})", it->second,
                   WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "a commit named"
                   : WIFEXITED(status)
                       ? "could not decide, exit " + std::to_string(WEXITSTATUS(status))
                       : "killed by signal " + std::to_string(WTERMSIG(status)));
    it = running_.erase(it);
  }
}

size_t AutoBisect::running() {
  reap();
  std::lock_guard lock(mu_);
  return running_.size();
}

std::string default_bisect_command() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec)
    for (const char* beside : {"yardstick", "cli/yardstick"}) {
      const auto candidate = self.parent_path() / beside;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    }
  return "yardstick";
}

}  // namespace yardstick
