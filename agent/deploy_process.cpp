#include "agent/deploy_process.hpp"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "agent/deploy_runner.hpp"
#include "agent/environment.hpp"
#include "common/command.hpp"
#include "common/deploy_json.hpp"
#include "common/http.hpp"
#include "common/wire.hpp"

extern char** environ;

namespace yardstick {

using json = nlohmann::json;

bool write_job_file(const std::string& path, const JobAssignment& job, std::string* error) {
  capnp::MallocMessageBuilder b;
  wire_io::fill(b.initRoot<wire::Assign>(), job);
  auto words = capnp::messageToFlatArray(b);
  auto bytes = words.asBytes();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
  if (!out.flush()) {
    *error = "cannot write " + path + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

std::optional<JobAssignment> read_job_file(const std::string& path, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) {
    *error = "cannot read " + path;
    return std::nullopt;
  }
  if (data.empty() || data.size() % sizeof(capnp::word) != 0) {
    *error = path + " is not a job";
    return std::nullopt;
  }
  try {
    kj::Array<capnp::word> words = kj::heapArray<capnp::word>(data.size() / sizeof(capnp::word));
    std::memcpy(words.begin(), data.data(), data.size());
    capnp::FlatArrayMessageReader reader(words);
    return wire_io::read(reader.getRoot<wire::Assign>());
  } catch (const std::exception& e) {
    *error = path + " is not a job: " + e.what();
    return std::nullopt;
  }
}

std::string event_line(const DeployPhase& p) {
  json j = {{"phase",
             {{"name", p.name},
              {"start_us", p.start_us},
              {"end_us", p.end_us},
              {"ok", p.ok},
              {"detail", p.detail}}}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string event_line(const DeployReport& r) {
  json j = {{"outcome", to_string(r.outcome)},
            {"reason", r.reason},
            {"message", r.message},
            {"old_version", r.old_version},
            {"new_version", r.new_version},
            {"switch_old", r.switch_old},
            {"switch_new", r.switch_new}};
  if (r.probe) j["probe"] = probe_json(*r.probe);
  return json{{"result", j}}.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::vector<DeployEvent> read_deploy_events(const std::string& path, size_t* offset,
                                            std::vector<std::string>* warnings) {
  std::vector<DeployEvent> out;
  std::ifstream in(path, std::ios::binary);
  if (!in) return out;
  in.seekg(static_cast<std::streamoff>(*offset));
  std::string rest((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t pos = 0;
  for (size_t nl; (nl = rest.find('\n', pos)) != std::string::npos; pos = nl + 1) {
    const std::string line = rest.substr(pos, nl - pos);
    try {
      const json j = json::parse(line);
      DeployEvent e;
      if (j.contains("phase")) {
        const json& p = j.at("phase");
        e.phase = DeployPhase{p.at("name").get<std::string>(), p.at("start_us").get<int64_t>(),
                              p.at("end_us").get<int64_t>(), p.at("ok").get<bool>(),
                              p.at("detail").get<std::string>()};
      } else {
        const json& r = j.at("result");
        DeployReport d;
        const auto outcome = parse_deploy_outcome(r.at("outcome").get<std::string>());
        if (!outcome) throw std::invalid_argument("unknown deploy outcome");
        d.outcome = *outcome;
        d.reason = r.at("reason").get<std::string>();
        d.message = r.at("message").get<std::string>();
        d.old_version = r.at("old_version").get<std::string>();
        d.new_version = r.at("new_version").get<std::string>();
        d.switch_old = r.at("switch_old").get<uint64_t>();
        d.switch_new = r.at("switch_new").get<uint64_t>();
        if (r.contains("probe")) d.probe = probe_from_json(r.at("probe"));
        e.result = std::move(d);
      }
      out.push_back(std::move(e));
    } catch (const std::exception& ex) {
      warnings->push_back("a deploy event that cannot be read (" + std::string(ex.what()) + ")");
    }
  }
  *offset += pos;
  return out;
}

namespace {

std::atomic<bool> g_cancelled{false};
void on_term(int) {
  g_cancelled = true;
}

// Commands in a process group of their own (so that a step's timeout kills
// its whole tree), output to the deploy process's own: the job's log.
class ProcessHooks : public DeployHooks {
 public:
  explicit ProcessHooks(std::string events) : events_path_(std::move(events)) {
    events_ = std::fopen(events_path_.c_str(), "a");
  }
  ~ProcessHooks() override {
    if (events_) std::fclose(events_);
  }
  bool ok() const { return events_ != nullptr; }

  int run(const std::string& label, const StepSpec& step) override {
    EnvVars env = environment_of(environ);
    for (const auto& [k, v] : step.env) env[k] = expand_vars(v, env);
    std::vector<std::string> strings;
    for (const auto& [k, v] : env) strings.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& s : strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    const char* argv[] = {"/bin/sh", "-c", step.run.c_str(), nullptr};
    log(label + ": " + step.run);
    std::fflush(nullptr);
    const pid_t pid = fork();
    if (pid < 0) {
      log(label + ": cannot start: " + std::strerror(errno));
      return -1;
    }
    if (pid == 0) {
      setpgid(0, 0);
      signal(SIGTERM, SIG_DFL);
      execve("/bin/sh", const_cast<char**>(argv), envp.data());
      _exit(127);
    }
    setpgid(pid, pid);
    // No timeout: no deadline (a duration of milliseconds::max() would
    // overflow once compared in the clock's nanoseconds).
    const auto start = std::chrono::steady_clock::now();
    const auto limit = std::chrono::milliseconds(step.timeout_ms);
    bool terminated = false;
    std::chrono::steady_clock::time_point kill_at{};
    for (;;) {
      int status = 0;
      const pid_t r = waitpid(pid, &status, WNOHANG);
      if (r == pid) {
        kill(-pid, SIGKILL);  // what it left behind in its group
        if (terminated) return -1;
        if (WIFEXITED(status)) return WEXITSTATUS(status);
        return -WTERMSIG(status);
      }
      if (r < 0 && errno != EINTR) return -1;
      const auto now = std::chrono::steady_clock::now();
      if (!terminated && ((step.timeout_ms && now - start >= limit) || g_cancelled)) {
        log(label +
            (g_cancelled ? ": cancelled"
                         : ": exceeded its timeout of " + std::to_string(step.timeout_ms) + " ms") +
            ": sending SIGTERM");
        kill(-pid, SIGTERM);
        terminated = true;
        kill_at = now + std::chrono::seconds(5);
      } else if (terminated && now >= kill_at) {
        kill(-pid, SIGKILL);
        kill_at = now + std::chrono::seconds(5);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  void log(const std::string& line) override {
    std::printf("[deploy] %s\n", line.c_str());
    std::fflush(stdout);
  }

  void phase(const DeployPhase& p) override {
    write(event_line(p));
    log("phase " + p.name + (p.ok ? "" : " FAILED") + ": " +
        std::to_string((p.end_us - p.start_us) / 1000) + " ms" +
        (p.detail.empty() ? "" : " (" + p.detail + ")"));
  }

  bool cancelled() override { return g_cancelled; }

  bool write(const std::string& line) {
    if (!events_) return false;
    std::fputs(line.c_str(), events_);
    return std::fflush(events_) == 0;
  }

 private:
  std::string events_path_;
  std::FILE* events_ = nullptr;
};

// ${NAME} in the URLs and the expected version from the job's environment
// (YARDSTICK_REVISION among them). Returns what is wrong with a URL once
// filled in; empty when nothing is.
std::string expand(DeploySpec& spec, const EnvVars& env) {
  std::string wrong;
  auto url = [&](std::string& u, const char* what) {
    const std::string given = u;
    u = expand_vars(u, env);
    if (!u.empty() && !http_url(u) && wrong.empty())
      wrong = std::string(what) + " URL \"" + given + "\" is \"" + u +
              "\", not an http:// or https:// URL";
  };
  if (spec.health) url(spec.health->url, "the health");
  if (spec.probe) url(spec.probe->url, "the probe");
  if (spec.version) {
    url(spec.version->url, "the version");
    spec.version->expect = expand_vars(spec.version->expect, env);
  }
  return wrong;
}

}  // namespace

int deploy_main(int argc, char** argv) {
  static const char* const kUsage = "usage: yardstick-agent deploy --job FILE --events FILE\n";
  std::string job_path, events_path;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::printf(
          "%s\n"
          "Runs one deploy job's phases (steps, health, version, probe, rollback) in a\n"
          "process of its own. The agent starts it for every job of kind \"deploy\"; it is\n"
          "not meant to be run by hand.\n\n"
          "  --job FILE      the job, as the agent stored it\n"
          "  --events FILE   where each phase and the result are appended, one line each\n",
          kUsage);
      return 0;
    }
    if (i + 1 < argc && arg == "--job") {
      job_path = argv[++i];
    } else if (i + 1 < argc && arg == "--events") {
      events_path = argv[++i];
    } else {
      std::fprintf(stderr, "yardstick-agent deploy: unknown argument '%s'\n%s", arg.c_str(),
                   kUsage);
      return 2;
    }
  }
  if (job_path.empty() || events_path.empty()) {
    std::fprintf(stderr, "%s", kUsage);
    return 2;
  }
  std::string error;
  auto job = read_job_file(job_path, &error);
  if (!job || !job->deploy) {
    std::fprintf(stderr, "yardstick-agent deploy: %s\n",
                 job ? "the job has no deploy section" : error.c_str());
    return 2;
  }
  struct sigaction sa {};
  sa.sa_handler = on_term;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  http_global_init();

  ProcessHooks hooks(events_path);
  if (!hooks.ok()) {
    std::fprintf(stderr, "yardstick-agent deploy: cannot open %s: %s\n", events_path.c_str(),
                 std::strerror(errno));
    return 2;
  }
  const EnvVars env = environment_of(environ);
  DeploySpec spec = *job->deploy;
  if (const std::string wrong = expand(spec, env); !wrong.empty()) {
    DeployReport r;
    r.outcome = DeployOutcome::kFailed;
    r.message = "nothing ran: " + wrong;
    hooks.log(r.message);
    hooks.write(event_line(r));
    return 1;
  }
  auto rev = env.find("YARDSTICK_REVISION");
  const DeployResult result =
      run_deploy(spec, rev == env.end() ? job->revision : rev->second, hooks);
  if (!hooks.write(event_line(result.report()))) {
    std::fprintf(stderr, "yardstick-agent deploy: cannot write %s\n", events_path.c_str());
    return 2;
  }
  hooks.log(std::string(outcome_name(result.outcome)) + ": " + result.message);
  return result.outcome == DeployOutcome::kSucceeded ? 0 : 1;
}

}  // namespace yardstick
