#include "agent/step_executor.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

namespace yardstick {

StepExecutor::StepExecutor(ProcessLauncher& launcher, const Clock& clock, JobLog& log,
                           const SecretMasker& masker, std::string tag, uint64_t kill_grace_ms,
                           bool bench)
    : launcher_(launcher),
      clock_(clock),
      log_(log),
      masker_(masker),
      tag_(std::move(tag)),
      kill_grace_ms_(kill_grace_ms),
      bench_(bench) {}

StepExecutor::~StepExecutor() {
  if (out_fd_ >= 0) close(out_fd_);
  if (err_fd_ >= 0) close(err_fd_);
}

bool StepExecutor::spawn(ProcessSpec spec, std::string* error) {
  SpawnRequest request{std::move(spec.command), std::move(spec.env), std::move(spec.cwd), {}, {}};
  if (spec.direct) {
    request.program = std::move(spec.direct->program);
    request.argv = std::move(spec.direct->argv);
  }
  request.count = spec.measured;
  counters_ = TreeCounters();
  cpu_before_.reset();
  pressure_before_.reset();
  load1_before_.reset();
  mhz_before_.reset();
  if (spec.measured) {
    load1_before_ = read_load1();
    std::string mhz_source;
    mhz_before_ = read_cpu_mhz(&mhz_source);
    if (bench_ && !counters_logged_)
      log_.system("CPU frequency: " +
                  (mhz_source == "cpufreq"   ? std::string("from cpufreq (scaling_cur_freq)")
                   : mhz_source == "cpuinfo" ? std::string("from /proc/cpuinfo (cpu MHz)")
                                             : std::string("unknown on this machine")));
    cpu_before_ = read_cpu_times();
    pressure_before_ = read_cpu_pressure_us();
  }
  started_at_us_ = spec.started_at_us;
  start_ns_ = steady_ns();
  auto spawned = launcher_.spawn(request, error);
  if (!spawned) {
    log_.system("cannot start " + spec.what + ": " + *error);
    return false;
  }
  if (spawned->started_ns) start_ns_ = spawned->started_ns;
  counters_ = std::move(spawned->counters);
  if (spec.measured && bench_ && !counters_logged_) {
    // Once per benchmark job: what this machine cannot count, never a 0 in its place.
    counters_logged_ = true;
    if (!counters_.task_clock_error().empty())
      log_.system("perf_event_open refused: " + counters_.task_clock_error() +
                  "; task-clock, instructions and cycles are not recorded");
    else if (!counters_.hardware_error().empty())
      log_.system("hardware counters unavailable: " + counters_.hardware_error() +
                  "; instructions and cycles are not recorded (task-clock is)");
  }
  pid_ = spawned->pid;
  out_fd_ = spawned->out_fd;
  err_fd_ = spawned->err_fd;
  out_mask_ = masker_;
  err_mask_ = masker_;
  return true;
}

std::vector<int> StepExecutor::fds() const {
  std::vector<int> out;
  if (out_fd_ >= 0) out.push_back(out_fd_);
  if (err_fd_ >= 0) out.push_back(err_fd_);
  return out;
}

void StepExecutor::on_readable(int fd) {
  if (fd == out_fd_) read_fd(out_fd_, LogStream::kStdout, false);
  if (fd == err_fd_) read_fd(err_fd_, LogStream::kStderr, false);
}

void StepExecutor::read_fd(int& fd, LogStream stream, bool drain) {
  if (fd < 0) return;
  SecretMasker& mask = stream == LogStream::kStdout ? out_mask_ : err_mask_;
  char chunk[16384];
  for (int rounds = 0; drain || rounds < 4; ++rounds) {
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n > 0) {
      // Masked before it is buffered: no secret value reaches the spool or
      // the wire. A tail that could start a value waits for the next read.
      std::string masked = mask.feed(std::string_view(chunk, static_cast<size_t>(n)));
      if (!masked.empty()) log_.append(stream, masked);
      continue;
    }
    if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      close_stream(fd, stream);
    }
    if (n < 0 && errno == EINTR) continue;
    break;
  }
}

void StepExecutor::close_stream(int& fd, LogStream stream) {
  if (fd < 0) return;
  close(fd);
  fd = -1;
  SecretMasker& mask = stream == LogStream::kStdout ? out_mask_ : err_mask_;
  log_.append_tail(stream, mask.finish());
}

StepResult StepExecutor::finish(const ExitInfo& exit) {
  const int64_t wall_ns = steady_ns() - start_ns_;
  // Output the process wrote before it ended is still in the pipes.
  read_fd(out_fd_, LogStream::kStdout, true);
  read_fd(err_fd_, LogStream::kStderr, true);
  close_stream(out_fd_, LogStream::kStdout);
  close_stream(err_fd_, LogStream::kStderr);
  // Anything else left in its process group goes with it.
  launcher_.signal_group(pid_, SIGKILL);

  StepResult r;
  r.started_at_us = started_at_us_;
  r.ended_at_us = clock_.unix_us();
  r.wall_ns = static_cast<uint64_t>(wall_ns);
  r.user_us = exit.user_us;
  r.sys_us = exit.sys_us;
  r.max_rss_kb = exit.max_rss_kb;
  RunContext& c = r.context;
  c.wall_ns = r.wall_ns;
  c.cpu_us = r.user_us + r.sys_us;
  c.vol_ctx = exit.vol_ctx;
  c.invol_ctx = exit.invol_ctx;
  c.load1 = load1_before_;
  c.cpu_mhz = mhz_before_;
  if (cpu_before_)
    if (auto after = read_cpu_times())
      apply_cpu_times(*cpu_before_, *after, &c, stat_ticks_per_second());
  if (pressure_before_ && wall_ns > 0)
    if (auto after = read_cpu_pressure_us(); after && *after >= *pressure_before_)
      c.cpu_pressure_pct = std::min(100.0, 100.0 * static_cast<double>(*after - *pressure_before_) /
                                               (static_cast<double>(wall_ns) / 1e3));
  counters_.read_into(&c);
  if (WIFEXITED(exit.status)) {
    r.exit_code = WEXITSTATUS(exit.status);
  } else if (WIFSIGNALED(exit.status)) {
    r.exit_code = -1;
    r.signal = WTERMSIG(exit.status);
  }
  pid_ = -1;
  return r;
}

void StepExecutor::kill_everything(int signal) {
  if (pid_ > 0) launcher_.signal_group(pid_, signal);
  launcher_.signal_tagged(tag_, signal);
}

void StepExecutor::kill_leftovers() {
  for (int round = 0; round < 20; ++round) {
    if (launcher_.signal_tagged(tag_, SIGKILL) == 0) break;
    usleep(1000);
  }
}

void StepExecutor::begin_kill(const std::string& why) {
  if (kill_at_ms_ != 0) return;
  log_.system(why + ": sending SIGTERM, SIGKILL in " + std::to_string(kill_grace_ms_) + " ms");
  kill_everything(SIGTERM);
  kill_at_ms_ = clock_.steady_ms() + static_cast<int64_t>(kill_grace_ms_);
}

void StepExecutor::tick(int64_t now_ms) {
  if (!running() || !kill_at_ms_ || now_ms < kill_at_ms_) return;
  log_.system("grace period over: sending SIGKILL");
  kill_everything(SIGKILL);
  kill_at_ms_ =
      now_ms + static_cast<int64_t>(kill_grace_ms_);  // and again, should anything survive
}

int64_t StepExecutor::next_kill_ms() const {
  return running() && kill_at_ms_ ? kill_at_ms_ : INT64_MAX;
}

}  // namespace yardstick
