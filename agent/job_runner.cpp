#include "agent/job_runner.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>

#include "agent/calibration.hpp"
#include "agent/deploy_process.hpp"
#include "common/checkout.hpp"
#include "common/stats.hpp"

namespace yardstick {

namespace fs = std::filesystem;

namespace {
int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}
}  // namespace

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

JobRunner::JobRunner(JobAssignment job, RunnerOptions options, ProcessLauncher& launcher,
                     const Clock& clock, ResultSink& sink)
    : job_(std::move(job)),
      options_(std::move(options)),
      launcher_(launcher),
      clock_(clock),
      sink_(sink) {
  std::random_device rd;
  tag_ = "YARDSTICK_RUN_TAG=" + std::to_string(job_.job_id) + "." + std::to_string(job_.attempt) +
         "." + hex64((uint64_t(rd()) << 32) | rd());
  for (const auto& [name, value] : options_.secrets_file) masker_.add(value);
  if (auto secret = url_secret(job_.checkout_repo)) masker_.add(*secret);
}

JobRunner::~JobRunner() {
  if (out_fd_ >= 0) close(out_fd_);
  if (err_fd_ >= 0) close(err_fd_);
}

std::vector<std::string> JobRunner::step_env(const StepSpec& step) const {
  // Not the agent's whole environment: its allow-listed part.
  std::map<std::string, std::string> env = options_.inherited;
  auto own = [&] {
    env["YARDSTICK_JOB_ID"] = std::to_string(job_.job_id);
    env["YARDSTICK_ATTEMPT"] = std::to_string(job_.attempt);
    env["YARDSTICK_PIPELINE_ID"] = std::to_string(job_.pipeline_id);
    env["YARDSTICK_PIPELINE"] = job_.pipeline_name;
    env["YARDSTICK_JOB"] = job_.job_name;
    env["YARDSTICK_REVISION"] = job_.revision;
    env["YARDSTICK_BRANCH"] = job_.branch;
    env["YARDSTICK_AGENT"] = options_.agent_name;
    env["YARDSTICK_WORKSPACE"] = workspace_;
    env["YARDSTICK_METRICS"] = metrics_file_;
  };
  // First, so that the pipeline's values can refer to them: ${YARDSTICK_WORKSPACE}, ${TOKEN}.
  own();
  for (const auto& [k, v] : secret_env_) env[k] = v;
  for (const auto& [k, v] : job_.env) env[k] = expand_vars(v, env);
  for (const auto& [k, v] : step.env) env[k] = expand_vars(v, env);
  for (const auto& [k, v] : secret_env_) env[k] = v;
  own();
  std::vector<std::string> out;
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  out.push_back(tag_);
  return out;
}

bool JobRunner::resolve_secrets() {
  std::string missing;
  for (const auto& name : job_.secrets) {
    auto it = options_.secrets_file.find(name);
    if (it == options_.secrets_file.end()) {
      it = options_.environment.find(name);
      if (it == options_.environment.end()) {
        missing += (missing.empty() ? "" : ", ") + name;
        continue;
      }
    }
    secret_env_[name] = it->second;
    masker_.add(it->second);
  }
  if (missing.empty()) return true;
  const std::string why = "this agent has no secret " + missing +
                          " (neither in its secrets file nor in its environment); no step ran";
  system_log(why);
  end_job(JobOutcome::kFailed, why);
  return false;
}

void JobRunner::start() {
  // Refused before anything is made or started: the coordinator may not
  // have checked (or may not be trusted to).
  std::string refused;
  if (!job_.checkout_repo.empty()) refused = repository_problem(job_.checkout_repo);
  if (refused.empty()) refused = revision_problem(job_.revision);
  if (refused.empty()) refused = workdir_problem(job_.workdir, options_.allow_absolute_workdir);
  if (!refused.empty()) {
    system_log("refused: " + refused);
    end_job(JobOutcome::kFailed, "refused by the agent: " + refused);
    return;
  }
  if (!resolve_secrets()) return;
  const std::string work = workspace_path(options_.home, job_.job_id, job_.attempt);
  std::error_code ec;
  fs::remove_all(work, ec);
  fs::create_directories(work, ec);
  if (ec) {
    system_log("cannot create the workspace " + work + ": " + ec.message());
    end_job(JobOutcome::kFailed, "cannot create the workspace: " + ec.message());
    return;
  }
  workspace_ = work;
  fresh_workspace_ = true;
  metrics_file_ = work + ".metrics";
  fs::remove(metrics_file_, ec);
  cwd_ = workspace_;
  if (!job_.workdir.empty()) {
    cwd_ = job_.workdir.front() == '/'
               ? fs::path(job_.workdir).lexically_normal().string()
               : (fs::path(workspace_) / job_.workdir).lexically_normal().string();
    while (cwd_.size() > 1 && cwd_.back() == '/') cwd_.pop_back();
  }
  if (job_.kind == "calibrate") {
    if (!prepare_calibration()) return;
  } else if (job_.kind == "deploy") {
    if (!job_.checkout_repo.empty())
      steps_.push_back({"checkout", checkout_script(), {}, true, 0, {}, {}});
    if (!prepare_deploy()) return;
  } else {
    if (!job_.checkout_repo.empty())
      steps_.push_back({"checkout", checkout_script(), {}, true, 0, {}, {}});
    for (const auto& s : job_.steps) steps_.push_back(s);
  }
  if (job_.timeout_ms) job_deadline_ms_ = clock_.steady_ms() + job_.timeout_ms;
  if (steps_.empty())
    start_bench();
  else
    start_step(0);
}

namespace {
// The checkout step's script. @NAME@ are replaced by shell-quoted values.
// update: under the exclusive lock, leftovers of clones that did not finish
// go, a cache that is not a repository or cannot be fetched because it is
// corrupt goes, and a missing cache is cloned into a temporary folder that
// is renamed into place only once complete.
constexpr const char* kCacheUpdate = R"sh(set -e
for t in @CACHE@.tmp.* @CACHE@.new; do
  if [ -e "$t" ]; then echo "[yardstick] removing $t, left by a clone that did not finish" >&2; rm -rf "$t"; fi
done
if [ -e @CACHE@ ]; then
  if ! git --git-dir=@CACHE@ rev-parse --git-dir >/dev/null 2>&1; then
    echo "[yardstick] the repository cache is not a git repository: cloning again" >&2
    rm -rf @CACHE@
  elif ! @GIT@ --git-dir=@CACHE@ remote update --prune >/dev/null; then
    if git --git-dir=@CACHE@ fsck --connectivity-only --no-progress >/dev/null 2>&1; then exit 1; fi
    echo "[yardstick] the repository cache is corrupt: cloning again" >&2
    rm -rf @CACHE@
  fi
fi
if [ ! -e @CACHE@ ]; then
  tmp=$(mktemp -d @CACHE@.tmp.XXXXXX)
  @GIT@ clone --quiet --mirror -- @REPO@ "$tmp"
  mv "$tmp" @CACHE@
fi
)sh";
// use: under the shared lock, the workspace becomes a clone sharing the
// cache's objects, at the commit the revision names; exit 3 when it names none.
constexpr const char* kCacheUse = R"sh(set -e
@GIT@ clone --quiet --shared --no-checkout -- @CACHE@ @WS@
commit=$(git -C @WS@ rev-parse --verify --quiet --end-of-options @REV@ ||
  git -C @WS@ rev-parse --verify --quiet --end-of-options @ORIGIN_REV@) || exit 3
git -C @WS@ -c advice.detachedHead=false checkout --quiet --detach "$commit"
# git checkout exits 0 even when it could not read some file's object.
[ -z "$(git -C @WS@ ls-files --deleted)" ]
git -C @WS@ log -1 --format='checked out %H %s'
echo "$commit" > @REVISION_FILE@
)sh";
// The whole step: update, use; when use fails and fsck finds the cache
// damaged (the connectivity for an unknown revision, every object for a
// failed checkout), the cache is removed and both run once more.
constexpr const char* kCheckout = R"sh(set -e
mkdir -p @REPOS@
update() { flock @LOCK@ sh -c @UPDATE@; }
use() { flock --shared @LOCK@ sh -c @USE@; }
no_revision() { echo "[yardstick] the repository has no revision "@SHOWN_REV@ >&2; }
update
rc=0; use || rc=$?
if [ $rc -ne 0 ]; then
  if [ $rc -eq 3 ]; then depth=--connectivity-only; else depth=--full; fi
  if git --git-dir=@CACHE@ fsck $depth --no-progress >/dev/null 2>&1; then
    [ $rc -ne 3 ] || no_revision
    exit 1
  fi
  echo "[yardstick] the repository cache is corrupt: cloning again" >&2
  flock @LOCK@ rm -rf @CACHE@
  find @WS@ -mindepth 1 -delete
  update
  use || { [ $? -ne 3 ] || no_revision; exit 1; }
fi
)sh";

// One pass over `text`: a value put in is never searched again.
std::string fill_in(std::string_view text, const std::map<std::string, std::string>& values) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    const size_t at = text.find('@', i);
    const size_t end = at == std::string_view::npos ? at : text.find('@', at + 1);
    if (end == std::string_view::npos) {
      out += text.substr(i);
      break;
    }
    auto it = values.find(std::string(text.substr(at + 1, end - at - 1)));
    if (it == values.end()) {
      out += text.substr(i, at + 1 - i);
      i = at + 1;
      continue;
    }
    out += text.substr(i, at - i);
    out += it->second;
    i = end + 1;
  }
  return out;
}
}  // namespace

std::string JobRunner::checkout_script() const {
  // One cache per repository under the agent's home. Every user-given value
  // reaches git after "--" or "--end-of-options", shell-quoted; git's ext::
  // and fd:: transports are off.
  const std::string repos = options_.home + "/repos";
  const std::string cache = repos + "/" + hex64(std::hash<std::string>{}(job_.checkout_repo));
  const std::string rev = job_.revision.empty() ? "HEAD" : job_.revision;
  std::map<std::string, std::string> v = {
      {"GIT", "git -c protocol.ext.allow=never -c protocol.fd.allow=never"},
      {"CACHE", shell_quote(cache)},
      {"REPOS", shell_quote(repos)},
      {"LOCK", shell_quote(cache + ".lock")},
      {"REPO", shell_quote(job_.checkout_repo)},
      {"WS", shell_quote(workspace_)},
      {"REV", shell_quote(rev + "^{commit}")},
      {"ORIGIN_REV", shell_quote("refs/remotes/origin/" + rev + "^{commit}")},
      {"SHOWN_REV", shell_quote(rev)},
      {"REVISION_FILE", shell_quote(workspace_ + ".revision")},
  };
  v["UPDATE"] = shell_quote(fill_in(kCacheUpdate, v));
  v["USE"] = shell_quote(fill_in(kCacheUse, v));
  return fill_in(kCheckout, v);
}

bool JobRunner::workdir_allowed() {
  if (workdir_checked_ || options_.allow_absolute_workdir || job_.workdir.empty()) return true;
  // After the checkout: a symbolic link of the repository may lead out.
  if (!resolves_inside(workspace_, cwd_)) {
    const std::string why =
        "the workdir '" + job_.workdir + "' leads out of the workspace through a symbolic link";
    system_log("refused: " + why);
    end_job(JobOutcome::kFailed, "refused by the agent: " + why);
    return false;
  }
  workdir_checked_ = true;
  return true;
}

void JobRunner::start_step(size_t index) {
  step_ = index;
  const StepSpec& step = steps_[index];
  // The checkout step runs in the workspace; the job's steps in its workdir.
  const bool is_checkout = !job_.checkout_repo.empty() && index == 0;
  std::string cwd = is_checkout ? workspace_ : cwd_;
  if (!is_checkout) {
    if (!workdir_allowed()) return;
    std::error_code ec;
    fs::create_directories(cwd, ec);
  }
  auto env = step_env(step);
  start_collectors(step.collect, env, cwd);
  step_start_us_ = clock_.unix_us();
  sink_.step_started(next_key(), index, step.name, step_start_us_);
  // The deploy process is started without a shell, so that a cancel's
  // SIGTERM reaches it first and it can report how far it got.
  std::optional<DirectCommand> direct;
  if (job_.kind == "deploy" && index + 1 == steps_.size())
    direct = DirectCommand{
        options_.self_exe,
        {options_.self_exe, "deploy", "--job", workspace_ + ".deploy", "--events", deploy_events_}};
  if (!spawn(step.run, std::move(env), cwd, "step " + step.name, std::move(direct), step.timed))
    return;
  step_deadline_ms_ = step.timeout_ms ? clock_.steady_ms() + step.timeout_ms : 0;
}

bool JobRunner::spawn(const std::string& command, std::vector<std::string> env,
                      const std::string& cwd, const std::string& what,
                      std::optional<DirectCommand> direct, bool measured) {
  std::string error;
  SpawnRequest request{command, std::move(env), cwd, {}, {}};
  if (direct) {
    request.program = std::move(direct->program);
    request.argv = std::move(direct->argv);
  }
  request.count = measured;
  counters_ = TreeCounters();
  cpu_before_.reset();
  load1_before_.reset();
  mhz_before_.reset();
  if (measured) {
    load1_before_ = read_load1();
    std::string mhz_source;
    mhz_before_ = read_cpu_mhz(&mhz_source);
    if (job_.bench && !counters_logged_)
      system_log("CPU frequency: " +
                 (mhz_source == "cpufreq"   ? std::string("from cpufreq (scaling_cur_freq)")
                  : mhz_source == "cpuinfo" ? std::string("from /proc/cpuinfo (cpu MHz)")
                                            : std::string("unknown on this machine")));
    cpu_before_ = read_cpu_times();
  }
  step_start_ns_ = steady_ns();
  auto spawned = launcher_.spawn(request, &error);
  if (!spawned) {
    system_log("cannot start " + what + ": " + error);
    end_job(JobOutcome::kFailed, what + " could not start: " + error);
    return false;
  }
  if (spawned->started_ns) step_start_ns_ = spawned->started_ns;
  counters_ = std::move(spawned->counters);
  if (measured && job_.bench && !counters_logged_) {
    // Once per benchmark job: what this machine cannot count, never a 0 in its place.
    counters_logged_ = true;
    if (!counters_.task_clock_error().empty())
      system_log("perf_event_open refused: " + counters_.task_clock_error() +
                 "; task-clock, instructions and cycles are not recorded");
    else if (!counters_.hardware_error().empty())
      system_log("hardware counters unavailable: " + counters_.hardware_error() +
                 "; instructions and cycles are not recorded (task-clock is)");
  }
  pid_ = spawned->pid;
  out_fd_ = spawned->out_fd;
  err_fd_ = spawned->err_fd;
  out_mask_ = masker_;
  err_mask_ = masker_;
  step_timed_out_ = false;
  return true;
}

void JobRunner::drain_process() {
  // Output the process wrote before it ended is still in the pipes.
  read_fd(out_fd_, LogStream::kStdout, true);
  read_fd(err_fd_, LogStream::kStderr, true);
  close_stream(out_fd_, LogStream::kStdout);
  close_stream(err_fd_, LogStream::kStderr);
  // Anything else left in its process group goes with it.
  launcher_.signal_group(pid_, SIGKILL);
}

void JobRunner::start_collectors(const std::vector<std::string>& specs,
                                 const std::vector<std::string>& env, const std::string& cwd) {
  collectors_.clear();
  for (const auto& spec : specs) {
    auto c = make_collector(spec, cwd, env);
    if (!c) {
      system_log("unknown collector '" + spec + "' ignored");
      continue;
    }
    c->before();
    collectors_.push_back(std::move(c));
  }
}

void JobRunner::finish_collectors(int32_t step_index, const std::string& variant,
                                  int32_t run_index) {
  std::vector<std::string> warnings;
  std::vector<CollectedMetric> metrics;
  for (auto& c : collectors_) {
    // A collector reads files that other programs wrote: whatever it meets
    // ends as a warning in the job log, never as the agent's end.
    try {
      for (auto& m : c->after(&warnings)) metrics.push_back(std::move(m));
    } catch (const std::exception& e) {
      warnings.push_back(std::string("a collector failed: ") + e.what() + "; no metrics from it");
    }
  }
  collectors_.clear();
  for (auto& m : read_metrics_file(metrics_file_, &metrics_offset_, &warnings))
    metrics.push_back(std::move(m));
  for (const auto& w : warnings) system_log("warning: " + w);
  for (auto& m : metrics) {
    // Names and units come from what the commands wrote.
    m.name = masker_.mask(m.name);
    m.unit = masker_.mask(m.unit);
    sink_.metric(next_key(), step_index, variant, run_index, m);
  }
}

std::vector<int> JobRunner::fds() const {
  std::vector<int> out;
  if (out_fd_ >= 0) out.push_back(out_fd_);
  if (err_fd_ >= 0) out.push_back(err_fd_);
  return out;
}

void JobRunner::read_fd(int& fd, LogStream stream, bool drain) {
  if (fd < 0) return;
  LogBuffer& buf = stream == LogStream::kStdout ? out_buf_ : err_buf_;
  SecretMasker& mask = stream == LogStream::kStdout ? out_mask_ : err_mask_;
  char chunk[16384];
  for (int rounds = 0; drain || rounds < 4; ++rounds) {
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n > 0) {
      // Masked before it is buffered: no secret value reaches the spool or
      // the wire. A tail that could start a value waits for the next read.
      std::string masked = mask.feed(std::string_view(chunk, static_cast<size_t>(n)));
      if (masked.empty()) continue;
      if (buf.data.empty()) buf.first_at_ms = clock_.steady_ms();
      buf.data += masked;
      if (buf.data.size() >= options_.log_chunk_bytes) flush(stream);
      continue;
    }
    if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      close_stream(fd, stream);
    }
    if (n < 0 && errno == EINTR) continue;
    break;
  }
}

void JobRunner::close_stream(int& fd, LogStream stream) {
  if (fd < 0) return;
  close(fd);
  fd = -1;
  LogBuffer& buf = stream == LogStream::kStdout ? out_buf_ : err_buf_;
  SecretMasker& mask = stream == LogStream::kStdout ? out_mask_ : err_mask_;
  std::string rest = mask.finish();
  if (rest.empty()) return;
  if (buf.data.empty()) buf.first_at_ms = clock_.steady_ms();
  buf.data += rest;
}

void JobRunner::on_readable(int fd) {
  if (fd == out_fd_) read_fd(out_fd_, LogStream::kStdout, false);
  if (fd == err_fd_) read_fd(err_fd_, LogStream::kStderr, false);
}

void JobRunner::flush(LogStream stream) {
  LogBuffer& buf = stream == LogStream::kStdout   ? out_buf_
                   : stream == LogStream::kStderr ? err_buf_
                                                  : sys_buf_;
  size_t pos = 0;
  while (pos < buf.data.size()) {
    size_t n = std::min(options_.log_chunk_bytes, buf.data.size() - pos);
    // A benchmark's commands belong to no step: -1, as for its metrics.
    sink_.log_chunk(next_key(), stream,
                    (pid_ >= 0 || done_) && !action_ ? static_cast<int32_t>(step_) : -1,
                    buf.data.substr(pos, n), clock_.unix_us());
    pos += n;
  }
  buf.data.clear();
}

void JobRunner::flush_all() {
  flush(LogStream::kSystem);
  flush(LogStream::kStdout);
  flush(LogStream::kStderr);
}

void JobRunner::system_log(const std::string& line) {
  if (sys_buf_.data.empty()) sys_buf_.first_at_ms = clock_.steady_ms();
  sys_buf_.data += "[yardstick] " + masker_.mask(mask_url_credentials(line)) + "\n";
}

bool JobRunner::on_exit(const ExitInfo& exit) {
  if (exit.pid != pid_ || pid_ < 0) return false;
  finish_step(exit);
  return true;
}

StepResult JobRunner::measured(const ExitInfo& exit, int64_t wall_ns) const {
  StepResult r;
  r.started_at_us = step_start_us_;
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
    if (auto after = read_cpu_times()) apply_cpu_times(*cpu_before_, *after, &c);
  counters_.read_into(&c);
  if (WIFEXITED(exit.status)) {
    r.exit_code = WEXITSTATUS(exit.status);
  } else if (WIFSIGNALED(exit.status)) {
    r.exit_code = -1;
    r.signal = WTERMSIG(exit.status);
  }
  return r;
}

void JobRunner::finish_step(const ExitInfo& exit) {
  const int64_t wall_ns = steady_ns() - step_start_ns_;
  drain_process();
  if (action_) {
    finish_bench_action(exit, wall_ns);
    return;
  }
  const StepSpec& step = steps_[step_];
  StepResult r = measured(exit, wall_ns);
  r.index = static_cast<uint32_t>(step_);
  r.name = step.name;
  r.command = masker_.mask(mask_url_credentials(step.run));
  r.timed = step.timed;
  r.timed_out = step_timed_out_;
  if (step_ == 0 && !job_.checkout_repo.empty() && r.exit_code == 0) {
    // The commit that ran, whatever the submitter named (a branch, HEAD, nothing).
    std::ifstream in(workspace_ + ".revision");
    std::getline(in, r.revision);
    std::error_code ec;
    fs::remove(workspace_ + ".revision", ec);
  }
  pid_ = -1;
  step_deadline_ms_ = 0;
  flush_all();
  sink_.step_finished(next_key(), r);
  finish_collectors(static_cast<int32_t>(step_), "", -1);

  const bool deploy_step = job_.kind == "deploy" && step.name == "deploy";
  if (deploy_step) {
    read_deploy_events();
    if (!deploy_report_) {
      // Killed or broken before it could say how it ended: say it for it.
      DeployReport d;
      d.outcome = "failed";
      d.message = forced_ ? forced_message_ : "the deploy process ended without a result";
      deploy_report_ = d;
      sink_.deploy_result(next_key(), d);
    }
  }
  if (forced_) {
    end_job(*forced_, forced_message_);
  } else if (deploy_step && deploy_report_->outcome != "succeeded") {
    end_job(JobOutcome::kFailed, deploy_report_->message);
  } else if (r.exit_code != 0) {
    const char* sig = r.signal ? sigabbrev_np(r.signal) : nullptr;
    std::string how = r.signal ? "was killed by " + (sig ? "SIG" + std::string(sig)
                                                         : "signal " + std::to_string(r.signal))
                               : "exited with " + std::to_string(r.exit_code);
    system_log("step " + step.name + " " + how);
    end_job(JobOutcome::kFailed, "step " + step.name + " " + how);
  } else if (step_ + 1 < steps_.size()) {
    start_step(step_ + 1);
  } else if (job_.kind == "calibrate") {
    if (report_calibration()) end_job(JobOutcome::kSucceeded, "");
  } else if (job_.bench) {
    start_bench();
  } else {
    end_job(JobOutcome::kSucceeded, "");
  }
}

bool JobRunner::prepare_calibration() {
  // Nothing of the coordinator's runs here: only this agent's own program,
  // so that signed-job checks (which a calibration job cannot pass) are not needed.
  std::string extra;
  if (!job_.steps.empty()) extra = "steps";
  if (job_.bench || !job_.variants.empty()) extra = "a benchmark";
  if (!job_.checkout_repo.empty()) extra = "a repository";
  if (!job_.env.empty() || !job_.secrets.empty()) extra = "environment variables";
  if (!job_.workdir.empty()) extra = "a workdir";
  if (options_.self_exe.empty()) {
    system_log("this agent does not know its own program: it cannot calibrate");
    end_job(JobOutcome::kFailed, "the agent cannot find its own program to calibrate");
    return false;
  }
  if (!extra.empty()) {
    const std::string why = "a calibration job carries nothing to run, but this one has " + extra;
    system_log("refused: " + why);
    end_job(JobOutcome::kFailed, "refused by the agent: " + why);
    return false;
  }
  std::error_code ec;
  fs::remove(workspace_ + ".calibration", ec);
  system_log("calibrating this machine: " + std::to_string(kCalibrationRepetitions) +
             " interleaved repetitions of cpu, memory, spawn and io (docs/benchmarks.md)");
  steps_.push_back({"calibrate",
                    shell_quote(options_.self_exe) + " calibrate --dir " + shell_quote(workspace_) +
                        " --out " + shell_quote(workspace_ + ".calibration") + " --repetitions " +
                        std::to_string(kCalibrationRepetitions),
                    {},
                    true,
                    job_.timeout_ms,
                    {},
                    {}});
  return true;
}

bool JobRunner::prepare_deploy() {
  if (!job_.deploy) {
    const std::string why = "a deploy job without its deploy section";
    system_log("refused: " + why);
    end_job(JobOutcome::kFailed, "refused by the agent: " + why);
    return false;
  }
  if (options_.self_exe.empty()) {
    system_log("this agent does not know its own program: it cannot deploy");
    end_job(JobOutcome::kFailed, "the agent cannot find its own program to deploy");
    return false;
  }
  const std::string job_file = workspace_ + ".deploy";
  deploy_events_ = workspace_ + ".deploy-events";
  std::error_code ec;
  fs::remove(deploy_events_, ec);
  std::string error;
  if (!write_job_file(job_file, job_, &error)) {
    system_log(error);
    end_job(JobOutcome::kFailed, "cannot start the deploy: " + error);
    return false;
  }
  steps_.push_back({"deploy",
                    shell_quote(options_.self_exe) + " deploy --job " + shell_quote(job_file) +
                        " --events " + shell_quote(deploy_events_),
                    {},
                    true,
                    0,
                    {},
                    {}});
  return true;
}

void JobRunner::read_deploy_events() {
  if (deploy_events_.empty()) return;
  std::vector<std::string> warnings;
  for (auto& e : yardstick::read_deploy_events(deploy_events_, &deploy_offset_, &warnings)) {
    if (e.phase) {
      e.phase->name = masker_.mask(e.phase->name);
      e.phase->detail = masker_.mask(e.phase->detail);
      sink_.deploy_phase(next_key(), *e.phase);
    } else if (e.result && !deploy_report_) {
      e.result->message = masker_.mask(e.result->message);
      e.result->old_version = masker_.mask(e.result->old_version);
      e.result->new_version = masker_.mask(e.result->new_version);
      deploy_report_ = *e.result;
      sink_.deploy_result(next_key(), *deploy_report_);
    }
  }
  for (const auto& w : warnings) system_log("warning: " + w);
}

bool JobRunner::report_calibration() {
  const std::string path = workspace_ + ".calibration";
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::error_code ec;
  fs::remove(path, ec);
  std::string error;
  auto parsed = parse_calibration_file(text, &error);
  if (parsed && parsed->empty()) error = "it is empty";
  if (!parsed || parsed->empty()) {
    const std::string why = "the calibration's results cannot be read: " + error;
    system_log(why);
    end_job(JobOutcome::kFailed, why);
    return false;
  }
  for (const auto& times : *parsed) sink_.calibration(next_key(), times);
  return true;
}

void JobRunner::start_bench() {
  if (!job_.bench) {
    end_job(JobOutcome::kSucceeded, "");
    return;
  }
  std::vector<Variant> variants = job_.variants;
  if (variants.empty()) variants.push_back({"default", {}, ""});
  job_.variants = variants;
  if (!workdir_allowed()) return;
  // The order within rounds is shuffled, reproducibly: the seed is the job
  // and attempt (bench_order_seed), logged below and stored with the verdict.
  const uint64_t order_seed = bench_order_seed(job_.job_id, job_.attempt);
  plan_.emplace(*job_.bench, variants, order_seed);
  bench_walls_.assign(variants.size(), {});
  bench_cpu_.assign(variants.size(), {});
  bench_instr_.assign(variants.size(), {});
  instr_missing_ = false;
  bench_contended_.assign(variants.size(), 0);
  shell_logged_.assign(variants.size(), false);
  std::error_code ec;
  fs::create_directories(cwd_, ec);
  system_log("benchmark: " + std::to_string(variants.size()) + " variant(s), " +
             (job_.bench->interleave ? "interleaved" : "in blocks") + ", " +
             std::to_string(job_.bench->warmup) + " warm-up run(s)" +
             (job_.bench->interleave && variants.size() > 1
                  ? ", order within each round shuffled (seed " + std::to_string(order_seed) + ")"
                  : ""));
  next_bench_action();
}

void JobRunner::next_bench_action() {
  action_ = plan_->next();
  if (!action_) {
    if (bench_failure_) {
      end_job(JobOutcome::kFailed, *bench_failure_);
      return;
    }
    log_bench_summary();
    if (auto why = plan_->stop_reason()) {
      // Typed for the coordinator (bench_results.stop_reason): the value is
      // the reason's number, the unit its name.
      sink_.metric(next_key(), -1, "", -1,
                   {kStopReasonMetric, static_cast<double>(static_cast<int>(*why)),
                    std::string(to_string(*why))});
    }
    end_job(JobOutcome::kSucceeded, "");
    return;
  }
  const Variant& v = job_.variants[action_->variant];
  StepSpec as_step;
  as_step.env = v.env;
  auto env = step_env(as_step);
  const bool counted = action_->kind == BenchAction::Kind::kRun && action_->counted;
  if (counted) start_collectors(job_.bench->collect, env, cwd_);
  // The timed command starts without a shell when it can (shell: auto) or
  // must (shell: none); the untimed ones always go through /bin/sh.
  std::optional<DirectCommand> direct;
  if (action_->kind == BenchAction::Kind::kRun) {
    std::string path = "/usr/local/bin:/usr/bin:/bin";
    for (const auto& e : env)
      if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
    std::string error;
    direct = direct_command(action_->command, job_.bench->shell, path, cwd_, &error);
    if (!error.empty()) {
      system_log(error);
      end_job(JobOutcome::kFailed, "variant " + v.name + ": " + error);
      return;
    }
    if (!shell_logged_[action_->variant]) {
      shell_logged_[action_->variant] = true;
      system_log("variant " + v.name + ": the timed command runs " +
                 (direct ? "directly as " + direct->program + ", without a shell"
                         : std::string("through /bin/sh -c")));
    }
  }
  step_start_us_ = clock_.unix_us();
  // Warm-ups start as counted runs do, so that they warm up the same path.
  spawn(action_->command, std::move(env), cwd_, action_->label() + " of variant " + v.name,
        std::move(direct), action_->kind == BenchAction::Kind::kRun);
}

void JobRunner::finish_bench_action(const ExitInfo& exit, int64_t wall_ns) {
  const BenchAction a = *action_;
  const Variant& v = job_.variants[a.variant];
  StepResult r = measured(exit, wall_ns);
  r.index = a.run_index;
  r.name = v.name;
  r.command = masker_.mask(a.command);
  pid_ = -1;
  step_deadline_ms_ = 0;
  flush_all();
  const bool counted = a.kind == BenchAction::Kind::kRun && a.counted;
  if (counted) {
    r.round = a.run_index;
    r.position = 0;  // in blocks, each run is its variant's only one in the round
    if (job_.bench->interleave) {
      const auto order = plan_->round_order(a.run_index);
      for (size_t i = 0; i < order.size(); ++i)
        if (order[i] == a.variant) r.position = static_cast<uint32_t>(i);
    }
    r.contended = under_contention(r.context);
    if (r.contended) ++bench_contended_[a.variant];
    sink_.sample(next_key(), v.name, static_cast<uint32_t>(a.variant), a.run_index, r);
    const double cpu_s = (r.user_us + r.sys_us) / 1e6;
    bench_walls_[a.variant].push_back(wall_ns / 1e9);
    bench_cpu_[a.variant].push_back(cpu_s);
    if (r.context.instructions)
      bench_instr_[a.variant].push_back(static_cast<double>(*r.context.instructions));
    else
      instr_missing_ = true;
    // What the precision rule judges: the bench's measure, wall time when
    // it is instructions and the machine counts none.
    double judged = -1;
    if (job_.bench->measure == "cpu") judged = cpu_s;
    if (job_.bench->measure == "instructions" && r.context.instructions)
      judged = static_cast<double>(*r.context.instructions);
    plan_->record(a, wall_ns / 1e9, judged);
    finish_collectors(-1, v.name, static_cast<int32_t>(a.run_index));
  } else if (a.kind == BenchAction::Kind::kConclude && a.counted) {
    finish_collectors(-1, v.name, static_cast<int32_t>(a.run_index));  // the metrics file only
  } else {
    // Lines written by setup, prepare, warm-ups and cleanup describe no
    // counted run: skip past them, so that none lands on the next run.
    std::vector<std::string> ignored;
    read_metrics_file(metrics_file_, &metrics_offset_, &ignored);
  }
  if (forced_) {
    action_.reset();
    end_job(*forced_, forced_message_);
    return;
  }
  if (r.exit_code != 0) {
    const bool tolerated = a.kind == BenchAction::Kind::kRun && job_.bench->ignore_failure;
    std::string how = r.signal ? "was killed by signal " + std::to_string(r.signal)
                               : "exited with " + std::to_string(r.exit_code);
    system_log(a.label() + " of variant " + v.name + " " + how +
               (tolerated ? " (ignore_failure: going on)" : ""));
    if (!tolerated && !bench_failure_) {
      // The job fails, but after the cleanup of what setup made.
      bench_failure_ = a.label() + " of variant " + v.name + " " + how;
      plan_->abort();
    }
  }
  next_bench_action();
}

void JobRunner::log_bench_summary() {
  char buf[512];
  if (!plan_->stop_description().empty()) system_log(plan_->stop_description());
  // The verdict judges the bench's measure: wall seconds, user + sys
  // seconds, or user-space instructions where every run has a count. Without
  // counts, the log judges wall time, and says so (as the coordinator
  // refuses to judge instructions on zeros).
  const std::string& measure = job_.bench->measure;
  const bool cpu = measure == "cpu";
  const bool instr = measure == "instructions" && !instr_missing_;
  if (measure == "instructions" && instr_missing_)
    system_log(
        "measure instructions: this machine counted no instructions (hardware counters "
        "unavailable); the comparisons below are of wall time");
  const auto& judged = cpu ? bench_cpu_ : instr ? bench_instr_ : bench_walls_;
  const auto& base = judged.empty() ? std::vector<double>{} : judged[0];
  for (size_t i = 0; i < job_.variants.size(); ++i) {
    const auto& w = judged[i];
    Summary s = summarize(bench_walls_[i]);
    std::snprintf(buf, sizeof buf,
                  "%s: %zu runs: median %.4f s, mean %.4f s +- %.4f s (stddev), MAD %.4f s, "
                  "Q1 %.4f s, Q3 %.4f s, min %.4f s, max %.4f s",
                  job_.variants[i].name.c_str(), s.n, s.median, s.mean, s.stddev, s.mad, s.q1, s.q3,
                  s.min, s.max);
    system_log(buf);
    if (bench_contended_[i])
      system_log("  " + std::to_string(bench_contended_[i]) + " of " + std::to_string(w.size()) +
                 " runs " + contention_rule());
    for (const auto& m : bench_warnings(w).messages) system_log("  warning: " + m);
    if (i > 0 && !base.empty() && !w.empty()) {
      // As the coordinator judges (evaluate_bench): interleaved runs round by round.
      const bool paired = job_.bench->interleave && base.size() == w.size();
      auto few = paired ? too_few_pairs_warning(w.size(), job_.bench->alpha)
                        : too_few_runs_warning(base.size(), w.size(), job_.bench->alpha);
      if (!few.empty()) system_log("  warning: " + few);
      Comparison c = paired ? compare_paired(base, w, job_.bench->alpha, job_.bench->noise_floor)
                            : compare(base, w, job_.bench->alpha, job_.bench->noise_floor);
      std::snprintf(buf, sizeof buf, "  %.3fx %s%s (95 %% CI %.3f-%.3f, p = %.2g, %s): %s", c.ratio,
                    job_.variants[0].name.c_str(), cpu ? " in cpu time" : "", c.ci_low, c.ci_high,
                    c.p, paired ? "paired by round" : "Mann-Whitney",
                    verdict_phrase(c.verdict, c.detectable).c_str());
      system_log(buf);
    }
  }
}

void JobRunner::kill_everything(int signal) {
  if (pid_ > 0) launcher_.signal_group(pid_, signal);
  launcher_.signal_tagged(tag_, signal);
}

void JobRunner::begin_kill(const std::string& why) {
  if (kill_at_ms_ != 0) return;
  system_log(why + ": sending SIGTERM, SIGKILL in " + std::to_string(options_.kill_grace_ms) +
             " ms");
  kill_everything(SIGTERM);
  kill_at_ms_ = clock_.steady_ms() + options_.kill_grace_ms;
}

std::string JobRunner::workspace_path(const std::string& home, uint64_t job_id, uint32_t attempt) {
  return home + "/work/" + std::to_string(job_id) + "-" + std::to_string(attempt);
}

void JobRunner::cancel(const std::string& reason, JobOutcome outcome) {
  if (done_) return;
  if (!forced_ || outcome == JobOutcome::kLost) {
    forced_ = outcome;
    forced_message_ = reason.empty() ? "cancelled" : reason;
  }
  if (pid_ < 0) {
    end_job(*forced_, forced_message_);
    return;
  }
  begin_kill("cancelled (" + forced_message_ + ")");
}

void JobRunner::tick() {
  if (done_) return;
  const int64_t now = clock_.steady_ms();
  if ((!out_buf_.data.empty() && now - out_buf_.first_at_ms >= (int64_t)options_.log_flush_ms) ||
      (!err_buf_.data.empty() && now - err_buf_.first_at_ms >= (int64_t)options_.log_flush_ms) ||
      (!sys_buf_.data.empty() && now - sys_buf_.first_at_ms >= (int64_t)options_.log_flush_ms))
    flush_all();
  if (pid_ < 0) return;
  if (!deploy_events_.empty() && !action_ && now >= next_events_read_ms_) {
    next_events_read_ms_ = now + kDeployEventsPollMs;
    read_deploy_events();
  }
  if (!forced_ && step_deadline_ms_ && now >= step_deadline_ms_) {
    forced_ = JobOutcome::kTimedOut;
    step_timed_out_ = true;
    forced_message_ = "step " + steps_[step_].name + " exceeded its timeout of " +
                      std::to_string(steps_[step_].timeout_ms) + " ms";
    begin_kill(forced_message_);
  }
  if (!forced_ && job_deadline_ms_ && now >= job_deadline_ms_) {
    forced_ = JobOutcome::kTimedOut;
    step_timed_out_ = true;
    forced_message_ = "job exceeded its timeout of " + std::to_string(job_.timeout_ms) + " ms";
    begin_kill(forced_message_);
  }
  if (kill_at_ms_ && now >= kill_at_ms_) {
    system_log("grace period over: sending SIGKILL");
    kill_everything(SIGKILL);
    kill_at_ms_ = now + options_.kill_grace_ms;  // and again, should anything survive
  }
}

int64_t JobRunner::next_deadline_ms() const {
  int64_t next = INT64_MAX;
  for (const LogBuffer* b : {&out_buf_, &err_buf_, &sys_buf_})
    if (!b->data.empty()) next = std::min<int64_t>(next, b->first_at_ms + options_.log_flush_ms);
  if (pid_ >= 0) {
    if (!deploy_events_.empty()) next = std::min(next, next_events_read_ms_);
    if (step_deadline_ms_) next = std::min(next, step_deadline_ms_);
    if (job_deadline_ms_) next = std::min(next, job_deadline_ms_);
    if (kill_at_ms_) next = std::min(next, kill_at_ms_);
  }
  return next;
}

void JobRunner::end_job(JobOutcome outcome, const std::string& message) {
  // No process of this job outlives it: not the group, not a setsid daemon.
  for (int round = 0; round < 20; ++round) {
    if (launcher_.signal_tagged(tag_, SIGKILL) == 0) break;
    usleep(1000);
  }
  std::error_code ec;
  if (fresh_workspace_) fs::remove_all(workspace_, ec);
  if (!metrics_file_.empty()) fs::remove(metrics_file_, ec);
  if (!deploy_events_.empty()) {
    fs::remove(deploy_events_, ec);
    fs::remove(workspace_ + ".deploy", ec);
  }
  flush_all();
  done_ = true;
  sink_.job_finished(next_key(), outcome, masker_.mask(mask_url_credentials(message)),
                     clock_.unix_us());
}

}  // namespace yardstick
