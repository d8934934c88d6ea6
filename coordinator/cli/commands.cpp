#include "coordinator/cli/commands.hpp"

#include <pwd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "common/checkout.hpp"
#include "common/curve.hpp"
#include "common/deploy_json.hpp"
#include "common/pipeline.hpp"
#include "common/signing.hpp"
#include "common/version.hpp"
#include "common/wire.hpp"
#include "common/zmq_util.hpp"
#include "coordinator/cli/client.hpp"
#include "coordinator/reports.hpp"

namespace yardstick {

namespace {
using json = nlohmann::json;

constexpr int kOk = 0, kJobsFailed = 1, kUsage = 2, kUnreachable = 3, kRefused = 4;

struct Options {
  std::string endpoint = "tcp://127.0.0.1:7400";
  int timeout_ms = 5000;
  bool json = false;
  std::string key_file;         // this user's CURVE secret key
  std::string coordinator_key;  // the coordinator's public key, or its file
  bool insecure = false;
};

// A usage problem with the keys (missing, unreadable, --insecure off loopback).
struct KeySetupError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The default place of a user's keys: ~/.config/yardstick/ (or $XDG_CONFIG_HOME).
std::string config_path(const std::string& file) {
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  const char* home = std::getenv("HOME");
  std::string dir = xdg && *xdg ? std::string(xdg) : std::string(home ? home : "") + "/.config";
  return dir + "/yardstick/" + file;
}

ClientSecurity client_security(const Options& o) {
  ClientSecurity s;
  if (o.insecure) {
    if (!is_local_endpoint(o.endpoint))
      throw KeySetupError("--insecure is accepted only for a loopback or ipc:// coordinator, not " +
                          o.endpoint);
    s.insecure = true;
    return s;
  }
  std::string key = o.key_file, server = o.coordinator_key;
  if (key.empty() && std::filesystem::exists(config_path("client.key")))
    key = config_path("client.key");
  if (server.empty() && std::filesystem::exists(config_path("coordinator.pub")))
    server = config_path("coordinator.pub");
  if (key.empty() || server.empty())
    throw KeySetupError(
        "no " + std::string(key.empty() ? "client key" : "coordinator key") +
        ": give --key FILE (yardstick keygen --out NAME writes NAME.key; its operator lists "
        "NAME.pub) and --coordinator-key (the coordinator's .pub), or put them at " +
        config_path("client.key") + " and " + config_path("coordinator.pub") +
        "; --insecure only for a loopback coordinator without CURVE");
  try {
    s.own = read_secret_key_file(key);
    s.server_key = read_public_key(server);
  } catch (const KeyFileError& e) {
    throw KeySetupError(e.what());
  }
  return s;
}

std::string run_capture(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[256];
  while (fgets(buf, sizeof buf, p)) out += buf;
  if (pclose(p) != 0) return "";
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

// "SIGTERM" for 15; "signal 99" for what has no name.
std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

std::string whoami() {
  if (const char* u = std::getenv("USER"); u && *u) return u;
  if (passwd* pw = getpwuid(getuid())) return pw->pw_name;
  return "unknown";
}

std::string format_duration(int64_t start_us, int64_t end_us) {
  if (start_us == 0) return "-";
  if (end_us == 0) {
    end_us = std::chrono::duration_cast<std::chrono::microseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  }
  double s = (end_us - start_us) / 1e6;
  char buf[32];
  if (s < 60)
    std::snprintf(buf, sizeof buf, "%.2fs", s);
  else
    std::snprintf(buf, sizeof buf, "%dm%04.1fs", static_cast<int>(s / 60), s - 60 * int(s / 60));
  return buf;
}

std::string state_name(wire::JobState s) {
  return std::string(to_string(wire_io::from_wire(s)));
}

// Prints rows as aligned columns.
void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], r[i].size());
    }
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    std::cout << line << "\n";
  }
}

json job_json(wire::JobSummary::Reader j) {
  json breaches = json::array();
  for (auto b : j.getBudgetBreaches()) breaches.push_back(b.cStr());
  json steps = json::array();
  for (auto s : j.getSteps())
    steps.push_back({{"index", s.getIndex()},
                     {"name", s.getName().cStr()},
                     {"wall_s", s.getWallS()},
                     {"exit_code", s.getExitCode()},
                     {"signal", s.getSignal() ? json(signal_name(s.getSignal())) : json(nullptr)},
                     {"finished", s.getFinished()}});
  json deploy = nullptr;
  if (j.getDeployPhases().size() || j.getHasDeploy()) {
    json phases = json::array();
    for (auto p : j.getDeployPhases())
      phases.push_back({{"name", p.getName().cStr()},
                        {"started_at_us", p.getStartUs()},
                        {"ended_at_us", p.getEndUs()},
                        {"duration_s", (p.getEndUs() - p.getStartUs()) / 1e6},
                        {"ok", p.getOk()},
                        {"detail", p.getDetail().cStr()}});
    deploy = {{"phases", phases}, {"outcome", nullptr}, {"reason", nullptr}, {"probe", nullptr}};
    if (j.getHasDeploy()) {
      auto d = j.getDeploy();
      deploy["outcome"] = d.getOutcome().cStr();
      deploy["reason"] = d.getReason().cStr();
      if (d.getHasProbe()) {
        deploy["probe"] = probe_json(wire_io::read(d.getProbe()));
      }
    }
  }
  return {{"id", j.getId()},
          {"name", j.getName().cStr()},
          {"state", state_name(j.getState())},
          {"agent", j.getAgent().cStr()},
          {"machine", j.getMachine().cStr()},
          {"attempt", j.getAttempt()},
          {"started_at_us", j.getStartedAtUs()},
          {"ended_at_us", j.getEndedAtUs()},
          {"message", j.getMessage().cStr()},
          {"over_budget", j.getOverBudget()},
          {"runs_measured", j.getRunsMeasured()},
          {"runs_planned", j.getRunsPlanned()},
          {"budget_breaches", breaches},
          {"steps", steps},
          {"deploy", deploy}};
}

void print_status(wire::StatusReply::Reader r, bool as_json) {
  if (as_json) {
    json jobs = json::array();
    for (auto j : r.getJobs()) jobs.push_back(job_json(j));
    std::cout << json{{"pipeline_id", r.getPipelineId()},
                      {"pipeline", r.getPipelineName().cStr()},
                      {"revision", r.getRevision().cStr()},
                      {"branch", r.getBranch().cStr()},
                      {"submitter", r.getSubmitter().cStr()},
                      {"submitted_at_us", r.getSubmittedAtUs()},
                      {"jobs", jobs}}
                     .dump(2)
              << "\n";
    return;
  }
  std::cout << "pipeline " << r.getPipelineId() << " " << r.getPipelineName().cStr();
  if (r.getRevision().size()) std::cout << " @ " << std::string(r.getRevision()).substr(0, 12);
  if (r.getBranch().size()) std::cout << " (" << r.getBranch().cStr() << ")";
  std::cout << "\n";
  std::vector<std::vector<std::string>> rows = {
      {"JOB", "NAME", "STATE", "MACHINE", "AGENT", "ATTEMPT", "DURATION"}};
  for (auto j : r.getJobs()) {
    rows.push_back({std::to_string(j.getId()), j.getName(),
                    state_name(j.getState()) + (j.getOverBudget() ? " (over budget)" : ""),
                    j.getMachine().size() ? j.getMachine().cStr() : "-",
                    j.getAgent().size() ? j.getAgent().cStr() : "-", std::to_string(j.getAttempt()),
                    format_duration(j.getStartedAtUs(), j.getEndedAtUs())});
    for (auto s : j.getSteps()) {
      char wall[32];
      std::snprintf(wall, sizeof wall, "%.3fs", s.getWallS());
      rows.push_back({"", "  " + std::string(s.getName().cStr()),
                      !s.getFinished() ? std::string("running")
                      : s.getSignal()  ? "killed by " + signal_name(s.getSignal())
                                       : "exit " + std::to_string(s.getExitCode()),
                      "", "", "", s.getFinished() ? wall : "-"});
    }
    for (auto p : j.getDeployPhases()) {
      char wall[32];
      std::snprintf(wall, sizeof wall, "%.3fs", (p.getEndUs() - p.getStartUs()) / 1e6);
      rows.push_back({"", "  phase " + std::string(p.getName().cStr()), p.getOk() ? "ok" : "failed",
                      "", "", "", wall});
    }
  }
  print_table(rows);
  for (auto j : r.getJobs()) {
    if (j.getMessage().size())
      std::cout << "job " << j.getId() << " " << j.getName().cStr() << ": " << j.getMessage().cStr()
                << "\n";
    for (auto b : j.getBudgetBreaches())
      std::cout << "job " << j.getId() << " " << j.getName().cStr() << ": over budget: " << b.cStr()
                << "\n";
    for (auto p : j.getDeployPhases())
      if (p.getDetail().size())
        std::cout << "job " << j.getId() << " " << j.getName().cStr() << ": " << p.getName().cStr()
                  << ": " << p.getDetail().cStr() << "\n";
    if (j.getHasDeploy()) {
      auto d = j.getDeploy();
      std::cout << "job " << j.getId() << " " << j.getName().cStr() << ": deploy "
                << d.getOutcome().cStr();
      if (d.getReason().size()) std::cout << " (" << d.getReason().cStr() << ")";
      std::cout << "\n";
      if (d.getHasProbe()) {
        const ProbeCounts c = wire_io::read(d.getProbe());
        char lat[96];
        std::snprintf(lat, sizeof lat, "; latency p50 %.1f ms, p99 %.1f ms", c.p50_ms, c.p99_ms);
        std::cout << "job " << j.getId() << " " << j.getName().cStr() << ": probe: " << c.text()
                  << (c.sent > c.failed ? lat : "")
                  << (c.late ? "; " + with_thousands(c.late) + " ticks late" : "") << "\n";
      }
    }
  }
}

capnp::MallocMessageBuilder& fresh(std::unique_ptr<capnp::MallocMessageBuilder>& b) {
  b = std::make_unique<capnp::MallocMessageBuilder>();
  return *b;
}

std::unique_ptr<wire_io::Frame> fetch_status(Client& client, uint64_t id) {
  std::unique_ptr<capnp::MallocMessageBuilder> b;
  client.request(fresh(b)).getBody().initStatus().setId(id);
  return client.call(*b);
}

// fetch_status for a command that waits: through a coordinator restart or a
// database outage it says so once and asks again (the jobs keep running and
// their results are delivered afterwards), and says when the coordinator
// answers again.
std::unique_ptr<wire_io::Frame> fetch_status_waiting(Client& client, uint64_t id) {
  for (bool outage = false;;) {
    try {
      auto st = fetch_status(client, id);
      if (outage) std::cerr << "yardstick: the coordinator answers again\n";
      return st;
    } catch (const Unreachable& e) {
      if (!outage) std::cerr << "yardstick: " << e.what() << "; still waiting\n";
    } catch (const RemoteError& e) {
      if (e.code() != wire::ErrorCode::UNAVAILABLE) throw;
      if (!outage) std::cerr << "yardstick: " << e.what() << "; still waiting\n";
    }
    outage = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

// Prints new log chunks of `job_id` after `*cursor`; returns whether the job ended.
bool print_logs(Client& client, uint64_t job_id, uint64_t* cursor, const std::string& prefix) {
  for (;;) {
    std::unique_ptr<capnp::MallocMessageBuilder> b;
    auto req = client.request(fresh(b)).getBody().initLogs();
    req.setJobId(job_id);
    req.setAfterId(*cursor);
    auto frame = client.call(*b);
    auto r = frame->envelope().getBody().getLogsReply();
    for (auto c : r.getChunks()) {
      auto d = c.getData();
      std::string data(reinterpret_cast<const char*>(d.begin()), d.size());
      if (prefix.empty()) {
        std::cout << data;
      } else {
        std::istringstream lines(data);
        std::string line;
        while (std::getline(lines, line)) std::cout << prefix << line << "\n";
      }
    }
    std::cout.flush();
    *cursor = r.getLastId();
    if (r.getChunks().size() == 0) return r.getJobEnded();
  }
}

int cmd_submit(Options& o, const std::string& file, std::string revision, std::string branch,
               bool wait, bool follow, bool quiet, const std::string& signing_key_file) {
  if (std::filesystem::is_directory(file)) {
    std::cerr << "yardstick: " << file << " is a directory; submit takes a pipeline file\n";
    return kUsage;
  }
  std::ifstream in(file);
  if (!in) {
    std::cerr << "yardstick: cannot read " << file << ": " << std::strerror(errno) << "\n";
    return kUsage;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  auto parsed = parse_pipeline(text, file);
  if (!parsed.ok()) {
    for (const auto& e : parsed.errors) std::cerr << e.to_string() << "\n";
    std::cerr << "yardstick: " << file << " is not a valid pipeline; nothing was submitted\n";
    return kUsage;
  }
  // The revision is the local HEAD only when this directory is a clone of
  // the repository the pipeline checks out (or it checks out none). Else the
  // agents check out the repository's default branch and report the commit.
  const std::string repo = parsed.pipeline->checkout_repo;
  const bool local_is_repo = [&] {
    if (repo.empty()) return true;
    const std::string top = run_capture("git rev-parse --show-toplevel 2>/dev/null");
    if (top.empty()) return false;
    std::error_code ec;
    const std::string path = repo.rfind("file://", 0) == 0 ? repo.substr(7) : repo;
    if (std::filesystem::equivalent(top, path, ec)) return true;
    std::istringstream remotes(run_capture("git remote -v 2>/dev/null"));
    std::string name, url, kind;
    while (remotes >> name >> url >> kind)
      if (url == repo) return true;
    return false;
  }();
  if (revision.empty() && local_is_repo) revision = run_capture("git rev-parse HEAD 2>/dev/null");
  if (branch.empty() && local_is_repo)
    branch = run_capture("git rev-parse --abbrev-ref HEAD 2>/dev/null");
  if (revision.empty() && !repo.empty() && !quiet)
    std::cerr << "yardstick: no --revision and this directory is not a clone of " << repo
              << ": the agents check out its default branch and record the commit\n";
  // A revision the repository does not have fails before anything runs:
  // checked in the local clone when there is one, else against the
  // repository's branches and tags (a commit id is then left to the agents).
  if (auto problem = revision_problem(revision); !problem.empty()) {
    std::cerr << "yardstick: --revision: " << problem << "; nothing was submitted\n";
    return kUsage;
  }
  if (!revision.empty() && !repo.empty()) {
    const std::string quoted = "'" + revision + "'";
    const bool safe = revision.find_first_of("'\\") == std::string::npos && revision[0] != '-' &&
                      repo.find('\'') == std::string::npos;
    bool known = true;
    if (!safe) {
      known = false;
    } else if (local_is_repo) {
      known = !run_capture("git rev-parse --verify --quiet " + quoted + "^{commit} 2>/dev/null")
                   .empty();
    } else if (revision.find_first_not_of("0123456789abcdef") != std::string::npos) {
      known = !run_capture("git ls-remote -- '" + repo + "' " + quoted + " 2>/dev/null").empty();
    }
    if (!known) {
      std::cerr << "yardstick: " << repo << " has no revision '" << revision
                << "' (push it, or name a branch, tag or commit it has); nothing was submitted\n";
      return kUsage;
    }
  }
  // Signed: the agents that require signatures check that each job is what
  // this file says, at this revision (common/signing.hpp).
  std::optional<SignedSubmission> signed_submission;
  if (!signing_key_file.empty()) {
    try {
      const signing::SigningKey key = signing::read_signing_key(signing_key_file);
      signed_submission = signing::sign_submission(text, file, revision, branch, key);
    } catch (const std::exception& e) {
      std::cerr << "yardstick: --signing-key: " << e.what() << "; nothing was submitted\n";
      return kUsage;
    }
  }
  zmq::context_t ctx(1);
  Client client(ctx, o.endpoint, std::chrono::milliseconds(o.timeout_ms), client_security(o));
  std::unique_ptr<capnp::MallocMessageBuilder> b;
  auto s = client.request(fresh(b)).getBody().initSubmit();
  s.setPipelineYaml(text);
  s.setFileName(file);
  s.setRevision(revision);
  s.setBranch(branch);
  s.setSubmitter(whoami());
  if (signed_submission) wire_io::fill(s.initSignedSubmission(), *signed_submission);
  auto frame = client.call(*b);
  auto reply = frame->envelope().getBody().getSubmitReply();
  const uint64_t pipeline_id = reply.getPipelineId();
  if (quiet) {
    std::cout << pipeline_id << "\n";
  } else if (o.json && !wait) {
    json jobs = json::array();
    for (auto j : reply.getJobs()) jobs.push_back(job_json(j));
    std::cout << json{{"pipeline_id", pipeline_id}, {"jobs", jobs}}.dump(2) << "\n";
  } else {
    // With --json the only thing on stdout is the JSON that --wait prints.
    (o.json ? std::cerr : std::cout)
        << "pipeline " << pipeline_id << " submitted: " << reply.getJobs().size() << " jobs\n";
  }
  std::cout.flush();
  for (auto j : reply.getJobs())
    if (std::string(j.getMessage().cStr()).rfind("waiting: ", 0) == 0)
      std::cerr << "yardstick: warning: job " << j.getName().cStr() << " " << j.getMessage().cStr()
                << "\n";
  if (!wait && !follow) return kOk;

  std::map<uint64_t, uint64_t> cursors;
  std::map<uint64_t, std::string> shown;  // per job: the progress line last printed
  int delay_ms = 20;
  for (;;) {
    std::unique_ptr<wire_io::Frame> st = fetch_status_waiting(client, pipeline_id);
    auto r = st->envelope().getBody().getStatusReply();
    bool all_done = true, all_ok = true;
    for (auto j : r.getJobs()) {
      auto state = wire_io::from_wire(j.getState());
      if (!is_terminal(state)) all_done = false;
      if (state != JobState::kSucceeded) all_ok = false;
      if (!quiet) {
        // Progress on standard error: each job's state as it changes.
        std::string line = std::string(to_string(state));
        if (j.getAgent().size()) line += " on " + std::string(j.getAgent().cStr());
        if (j.getAttempt() > 1) line += " (attempt " + std::to_string(j.getAttempt()) + ")";
        if (j.getRunsMeasured() > 0 && !is_terminal(state))
          line += ", " + std::to_string(j.getRunsMeasured()) +
                  (j.getRunsPlanned() ? " of " + std::to_string(j.getRunsPlanned()) : "") +
                  " runs measured";
        if (j.getMessage().size()) line += ": " + std::string(j.getMessage().cStr());
        if (shown[j.getId()] != line) {
          shown[j.getId()] = line;
          std::cerr << "  job " << j.getId() << " " << j.getName().cStr()
                    << (j.getMachine().size() ? "@" + std::string(j.getMachine().cStr()) : "")
                    << " " << line << "\n";
        }
      }
      if (follow && state != JobState::kPending && state != JobState::kQueued) try {
          print_logs(client, j.getId(), &cursors[j.getId()],
                     "[" + std::string(j.getName().cStr()) +
                         (j.getMachine().size() ? "@" + std::string(j.getMachine().cStr()) : "") +
                         "] ");
        } catch (const Unreachable&) {
          // the next round asks again
        } catch (const RemoteError& e) {
          if (e.code() != wire::ErrorCode::UNAVAILABLE) throw;
        }
    }
    if (all_done) {
      if (!quiet) print_status(r, o.json);
      return all_ok ? kOk : kJobsFailed;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    delay_ms = std::min(delay_ms * 2, 500);
  }
}

int cmd_status(Options& o, uint64_t id) {
  zmq::context_t ctx(1);
  Client client(ctx, o.endpoint, std::chrono::milliseconds(o.timeout_ms), client_security(o));
  auto st = fetch_status(client, id);
  print_status(st->envelope().getBody().getStatusReply(), o.json);
  return kOk;
}

int cmd_logs(Options& o, uint64_t job_id, bool follow) {
  zmq::context_t ctx(1);
  Client client(ctx, o.endpoint, std::chrono::milliseconds(o.timeout_ms), client_security(o));
  uint64_t cursor = 0;
  for (;;) {
    bool ended = print_logs(client, job_id, &cursor, "");
    if (!follow || ended) return kOk;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

// "1.3 %": a relative spread.
std::string format_percent(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof buf, fraction < 0.1 ? "%.1f %%" : "%.0f %%", fraction * 100);
  return buf;
}

// "cpu 13.2ms, memory 20.4ms, ...": a machine's calibrated medians; "-" without.
std::string format_speed(capnp::List<wire::CalibrationSummary>::Reader calibration) {
  std::string out;
  for (auto c : calibration) {
    char buf[64];
    const double ms = c.getMedianS() * 1e3;
    std::snprintf(buf, sizeof buf, ms < 10 ? "%s %.2fms" : "%s %.1fms", c.getBenchmark().cStr(),
                  ms);
    out += (out.empty() ? "" : ", ") + std::string(buf);
  }
  return out.empty() ? "-" : out;
}

int cmd_agents(Options& o) {
  zmq::context_t ctx(1);
  Client client(ctx, o.endpoint, std::chrono::milliseconds(o.timeout_ms), client_security(o));
  std::unique_ptr<capnp::MallocMessageBuilder> b;
  client.request(fresh(b)).getBody().initAgents();
  auto frame = client.call(*b);
  auto agents = frame->envelope().getBody().getAgentsReply().getAgents();
  const int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  if (o.json) {
    json out = json::array();
    for (auto a : agents) {
      json labels = json::array();
      for (const auto& l : wire_io::read_labels(a.getLabels())) labels.push_back(l);
      json running = json::array();
      for (auto id : a.getRunningJobs()) running.push_back(id);
      json calibration = nullptr;  // the machine was never calibrated
      if (a.getCalibratedAtUs() != 0) {
        json benchmarks = json::array();
        for (auto c : a.getCalibration())
          benchmarks.push_back({{"benchmark", c.getBenchmark().cStr()},
                                {"median_s", c.getMedianS()},
                                {"noise", c.getNoise()},
                                {"runs", c.getRuns()}});
        calibration = {
            {"at_us", a.getCalibratedAtUs()}, {"noise", a.getNoise()}, {"benchmarks", benchmarks}};
      }
      out.push_back({{"name", a.getName().cStr()},
                     {"connected", a.getConnected()},
                     {"draining", a.getDraining()},
                     {"slots", a.getSlots()},
                     {"used_slots", a.getUsedSlots()},
                     {"machine", a.getMachine().cStr()},
                     {"labels", labels},
                     {"last_seen_us", a.getLastSeenUs()},
                     {"running_jobs", running},
                     {"calibration", calibration}});
    }
    std::cout << out.dump(2) << "\n";
    return kOk;
  }
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "STATE", "SLOTS", "MACHINE", "LAST SEEN", "LABELS", "NOISE", "SPEED"}};
  for (auto a : agents) {
    char seen[32];
    std::snprintf(seen, sizeof seen, "%.0fs ago", (now_us - a.getLastSeenUs()) / 1e6);
    rows.push_back({a.getName(),
                    std::string(a.getConnected() ? "connected" : "gone") +
                        (a.getDraining() ? ", draining" : ""),
                    std::to_string(a.getUsedSlots()) + "/" + std::to_string(a.getSlots()),
                    a.getMachine(), a.getConnected() ? "now" : seen,
                    format_labels(wire_io::read_labels(a.getLabels())),
                    a.getCalibratedAtUs() ? format_percent(a.getNoise()) : "not calibrated",
                    format_speed(a.getCalibration())});
  }
  print_table(rows);
  return kOk;
}

enum class Format { kTable, kJson, kCsv, kMarkdown };

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// One cell as JSON, by its column's kind: integers and numbers as JSON
// numbers of that kind, booleans as booleans, NULL as null.
json cell_json(const std::string& value, const std::string& kind, bool null) {
  if (null) return nullptr;
  try {
    if (kind == "integer") return std::stoll(value);
    if (kind == "number") {
      if (value == "NaN" || value == "Infinity" || value == "-Infinity") return value;
      return std::stod(value);
    }
    if (kind == "boolean") return value == "t" || value == "true";
  } catch (const std::exception&) {
  }
  return value;
}

void print_rows(const std::vector<std::string>& columns,
                const std::vector<std::vector<std::string>>& rows, Format format,
                const std::vector<std::string>& kinds = {},
                const std::vector<std::vector<bool>>& nulls = {}) {
  switch (format) {
    case Format::kJson: {
      json out = json::array();
      for (size_t k = 0; k < rows.size(); ++k) {
        const auto& r = rows[k];
        json o = json::object();
        for (size_t i = 0; i < columns.size() && i < r.size(); ++i)
          o[columns[i]] =
              cell_json(r[i], i < kinds.size() ? kinds[i] : "text",
                        k < nulls.size() && i < nulls[k].size() ? bool(nulls[k][i]) : false);
        out.push_back(o);
      }
      std::cout << out.dump(2) << "\n";
      break;
    }
    case Format::kCsv: {
      for (size_t i = 0; i < columns.size(); ++i)
        std::cout << (i ? "," : "") << csv_field(columns[i]);
      std::cout << "\n";
      for (const auto& r : rows) {
        for (size_t i = 0; i < r.size(); ++i) std::cout << (i ? "," : "") << csv_field(r[i]);
        std::cout << "\n";
      }
      break;
    }
    case Format::kMarkdown: {
      std::string head = "|", rule = "|";
      for (const auto& c : columns) head += " " + c + " |", rule += "---|";
      std::cout << head << "\n" << rule << "\n";
      for (const auto& r : rows) {
        std::string line = "|";
        for (auto cell : r) {
          for (size_t p = 0; (p = cell.find('|', p)) != std::string::npos; p += 2)
            cell.replace(p, 1, "\\|");
          line += " " + cell + " |";
        }
        std::cout << line << "\n";
      }
      break;
    }
    case Format::kTable: {
      std::vector<std::vector<std::string>> all = {columns};
      for (auto& c : all[0])
        for (auto& ch : c) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      all.insert(all.end(), rows.begin(), rows.end());
      print_table(all);
      if (rows.empty()) std::cout << "(no rows)\n";
      break;
    }
  }
}

// Says what is wrong with a report's result (empty: nothing), for the
// commands whose empty answer is a mistake of the asker, not "no data".
using RowsCheck = std::function<std::string(const std::vector<std::string>& columns,
                                            const std::vector<std::vector<std::string>>& rows)>;

int cmd_report(Options& o, const std::string& name, const std::vector<std::string>& vars,
               Format format, const RowsCheck& check = {}) {
  zmq::context_t ctx(1);
  Client client(ctx, o.endpoint, std::chrono::milliseconds(o.timeout_ms), client_security(o));
  std::unique_ptr<capnp::MallocMessageBuilder> b;
  auto r = client.request(fresh(b)).getBody().initReport();
  r.setName(name);
  auto params = r.initParams(vars.size());
  for (unsigned i = 0; i < vars.size(); ++i) {
    size_t eq = vars[i].find('=');
    if (eq == std::string::npos) {
      std::cerr << "yardstick: -v takes NAME=VALUE, not '" << vars[i] << "'\n";
      return kUsage;
    }
    params[i].setKey(vars[i].substr(0, eq));
    params[i].setValue(vars[i].substr(eq + 1));
  }
  auto frame = client.call(*b);
  auto reply = frame->envelope().getBody().getReportReply();
  std::vector<std::string> columns;
  for (auto c : reply.getColumns()) columns.push_back(c);
  std::vector<std::vector<std::string>> rows;
  for (auto row : reply.getRows()) {
    std::vector<std::string> out;
    for (auto cell : row) out.push_back(cell);
    rows.push_back(std::move(out));
  }
  std::vector<std::string> kinds;
  for (auto k : reply.getKinds()) kinds.push_back(k);
  std::vector<std::vector<bool>> nulls;
  for (auto row : reply.getNulls()) {
    std::vector<bool> out;
    for (bool n : row) out.push_back(n);
    nulls.push_back(std::move(out));
  }
  if (check)
    if (auto problem = check(columns, rows); !problem.empty()) {
      std::cerr << "yardstick: " << problem << "\n";
      return kRefused;
    }
  print_rows(columns, rows, format, kinds, nulls);
  return kOk;
}

int cmd_keygen(Options& o, const std::string& out, bool signing_pair) {
  if (signing_pair) {
    try {
      const std::string public_key = signing::write_signing_key_files(out);
      if (o.json)
        std::cout << json{{"public_key", public_key},
                          {"secret_file", out + ".sign"},
                          {"public_file", out + ".sign.pub"}}
                         .dump()
                  << "\n";
      else
        std::cout << "wrote " << out << ".sign (secret: sign with it, mode 0600) and " << out
                  << ".sign.pub (give it to agents)\npublic key: " << public_key
                  << "\nto trust it, add " << out
                  << ".sign.pub's line to each agent's --trusted-submitters file\nto sign: "
                     "yardstick submit FILE --signing-key "
                  << out << ".sign\n";
      return kOk;
    } catch (const std::exception& e) {
      std::cerr << "yardstick: keygen: " << e.what() << "\n";
      return kUsage;
    }
  }
  try {
    auto pair = generate_curve_keypair();
    write_curve_keypair(out, pair);
    if (o.json) {
      std::cout << json{{"public_key", pair.public_key},
                        {"secret_file", out + ".key"},
                        {"public_file", out + ".pub"}}
                       .dump()
                << "\n";
    } else {
      std::cout << "wrote " << out << ".key (secret: keep it, mode 0600) and " << out
                << ".pub (give it out)\npublic key: " << pair.public_key
                << "\nto admit it, add a line to the coordinator's --authorized-agents file:\n  "
                << pair.public_key << " AGENT-NAME\nor to its --authorized-clients file:\n  "
                << pair.public_key << " USER-NAME read|submit\n";
    }
    return kOk;
  } catch (const KeyFileError& e) {
    std::cerr << "yardstick: " << e.what() << "\n";
    return kUsage;
  }
}

int cmd_drain(Options& o, const std::string& agent, bool undo) {
  zmq::context_t ctx(1);
  Client client(ctx, o.endpoint, std::chrono::milliseconds(o.timeout_ms), client_security(o));
  std::unique_ptr<capnp::MallocMessageBuilder> b;
  auto d = client.request(fresh(b)).getBody().initDrain();
  d.setAgent(agent);
  d.setUndo(undo);
  client.call(*b);
  if (o.json)
    std::cout << json{{"agent", agent}, {"draining", !undo}}.dump() << "\n";
  else
    std::cout << "agent " << agent
              << (undo ? " takes jobs again\n"
                       : " is draining: its running jobs finish, it takes no new one\n");
  return kOk;
}

int cmd_calibrate(Options& o, const std::string& agent, bool wait) {
  zmq::context_t ctx(1);
  Client client(ctx, o.endpoint, std::chrono::milliseconds(o.timeout_ms), client_security(o));
  std::unique_ptr<capnp::MallocMessageBuilder> b;
  client.request(fresh(b)).getBody().initCalibrate().setAgent(agent);
  auto frame = client.call(*b);
  auto reply = frame->envelope().getBody().getCalibrateReply();
  const uint64_t job_id = reply.getJobId(), pipeline_id = reply.getPipelineId();
  const bool existing = reply.getExisting();
  if (o.json && !wait)
    std::cout << json{{"agent", agent},
                      {"job_id", job_id},
                      {"pipeline_id", pipeline_id},
                      {"existing", existing}}
                     .dump()
              << "\n";
  else
    (o.json ? std::cerr : std::cout)
        << "calibration of agent " << agent << ": job " << job_id << " (pipeline " << pipeline_id
        << ")" << (existing ? ", already queued or running" : "") << "\n";
  std::cout.flush();
  if (!wait) return kOk;
  for (;;) {
    std::unique_ptr<wire_io::Frame> st = fetch_status_waiting(client, job_id);
    auto jobs = st->envelope().getBody().getStatusReply().getJobs();
    if (jobs.size() == 1 && is_terminal(wire_io::from_wire(jobs[0].getState()))) {
      const JobState state = wire_io::from_wire(jobs[0].getState());
      if (state != JobState::kSucceeded) {
        std::cerr << "yardstick: calibration job " << job_id << " " << to_string(state)
                  << (jobs[0].getMessage().size() ? ": " + std::string(jobs[0].getMessage().cStr())
                                                  : std::string())
                  << " (yardstick logs " << job_id << ")\n";
        return kJobsFailed;
      }
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return cmd_report(
      o, "machine_calibrations", {"job=" + std::to_string(job_id)},
      o.json ? Format::kJson : Format::kTable, [&](const auto&, const auto& rows) -> std::string {
        return rows.empty()
                   ? "calibration job " + std::to_string(job_id) + " succeeded but stored no result"
                   : "";
      });
}

int cmd_cancel(Options& o, uint64_t id) {
  zmq::context_t ctx(1);
  Client client(ctx, o.endpoint, std::chrono::milliseconds(o.timeout_ms), client_security(o));
  std::unique_ptr<capnp::MallocMessageBuilder> b;
  client.request(fresh(b)).getBody().initCancelRequest().setId(id);
  auto frame = client.call(*b);
  uint32_t n = frame->envelope().getBody().getCancelReply().getCancelled();
  if (o.json)
    std::cout << json{{"cancelled", n}}.dump() << "\n";
  else
    std::cout << "cancelled " << n << " job" << (n == 1 ? "" : "s") << "\n";
  return kOk;
}
}  // namespace

// Ids are positive: a negative number is a typing error, not a huge id.
const CLI::Validator kIdCheck(
    [](std::string& value) -> std::string {
      if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos ||
          value == "0" || value.size() > 19)
        return "an id is a number from 1 to 9223372036854775807, not '" + value + "'";
      return "";
    },
    "ID");

// `yardstick report NAME --help`: what the report shows and its variables,
// from the report file itself. Returns -1 when argv asks something else.
int report_help(int argc, char** argv) {
  int at = 1;
  while (at < argc && std::string(argv[at]) != "report") ++at;
  if (at + 1 >= argc || argv[at + 1][0] == '-') return -1;
  bool help = false;
  for (int i = at + 2; i < argc; ++i)
    help |= std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h";
  if (!help) return -1;
  const std::string name = argv[at + 1];
  auto it = reports().find(name);
  if (it == reports().end()) {
    std::cerr << "yardstick: no report named '" << name << "' (reports:";
    for (const auto& [n, text] : reports()) std::cerr << " " << n;
    std::cerr << ")\n";
    return kUsage;
  }
  std::cout << "yardstick report " << name << " [-v NAME=VALUE ...] [--json|--csv|--markdown]\n\n"
            << report_description(it->second) << "\nVariables:\n";
  for (const auto& v : report_variables(it->second))
    std::cout << "  -v " << v.name << "=..."
              << (v.has_default ? "   default: '" + v.default_value + "'"
                  : v.optional  ? "   optional"
                                : "   required")
              << "\n";
  return kOk;
}

int run_cli(int argc, char** argv) {
  if (int rc = report_help(argc, argv); rc >= 0) return rc;
  CLI::App app{"yardstick: submit pipelines and read their results"};
  app.require_subcommand(1);
  app.set_version_flag("--version", version_string("yardstick"));
  app.fallthrough();  // global options are taken after the subcommand too
  Options o;
  app.add_option("--coordinator", o.endpoint, "the coordinator's client endpoint")
      ->envname("YARDSTICK_COORDINATOR")
      ->capture_default_str();
  app.add_option("--key", o.key_file,
                 "your CURVE secret key file (default: ~/.config/yardstick/client.key)")
      ->envname("YARDSTICK_KEY");
  app.add_option("--coordinator-key", o.coordinator_key,
                 "the coordinator's public key, or its .pub file (default: "
                 "~/.config/yardstick/coordinator.pub)")
      ->envname("YARDSTICK_COORDINATOR_KEY");
  app.add_flag("--insecure", o.insecure, "no CURVE (a loopback coordinator run --insecure)")
      ->envname("YARDSTICK_INSECURE");
  app.add_option("--timeout-ms", o.timeout_ms, "how long to wait for each answer")
      ->envname("YARDSTICK_TIMEOUT_MS")
      ->capture_default_str()
      ->check(CLI::Range(1, 3'600'000));

  std::string file, revision, branch;
  bool wait = false, follow = false, quiet = false;
  auto* submit = app.add_subcommand("submit", "validate and submit a pipeline file");
  submit->add_option("file", file, "the pipeline file (YAML)")->required();
  submit->add_option("--revision", revision, "revision to build (default: git HEAD here)");
  submit->add_option("--branch", branch, "branch to record (default: the current git branch)");
  submit->add_flag("--wait", wait, "wait for every job; exit 1 unless all succeeded");
  submit->add_flag("--follow", follow, "stream the jobs' logs while waiting (implies --wait)");
  submit->add_flag("-q,--quiet", quiet, "print only the pipeline id");
  submit->add_flag("--json", o.json, "machine-readable output");
  std::string signing_key;
  submit
      ->add_option("--signing-key", signing_key,
                   "sign the submission with this secret key file (NAME.sign), for agents run "
                   "with --trusted-submitters")
      ->envname("YARDSTICK_SIGNING_KEY");

  uint64_t id = 0;
  auto* status = app.add_subcommand("status", "show a pipeline (or one job) and its steps");
  status->add_option("id", id, "a pipeline id or a job id")->required()->check(kIdCheck);
  status->add_flag("--json", o.json, "machine-readable output");

  auto* logs = app.add_subcommand("logs", "print a job's output");
  logs->add_option("job", id, "a job id")->required()->check(kIdCheck);
  logs->add_flag("-f,--follow", follow, "keep printing until the job ends");

  auto* agents = app.add_subcommand("agents", "list agents, their machines and slots");
  agents->add_flag("--json", o.json, "machine-readable output");

  std::string report_name;
  std::vector<std::string> report_vars;
  bool csv = false, markdown = false;
  std::string report_list = "the report: one of";
  for (const auto& [n, text] : reports()) report_list += " " + n;
  report_list += " (`yardstick report NAME --help` lists its variables)";
  auto* report = app.add_subcommand("report", "run a report of sql/reports by name");
  report->add_option("name", report_name, report_list)->required();
  report->add_option("-v,--var", report_vars, "a report variable, NAME=VALUE (as psql -v)");
  report->add_flag("--json", o.json, "JSON output");
  report->add_flag("--csv", csv, "CSV output");
  report->add_flag("--markdown", markdown, "Markdown table output");

  uint64_t compare_pipeline = 0;
  bool by_machines = false;
  std::vector<std::string> revisions;
  std::string compare_job, reference;
  int last = 10;
  auto* compare = app.add_subcommand(
      "compare", "compare benchmark variants, machines (--machines) or revisions (--revisions)");
  compare->add_option("pipeline", compare_pipeline,
                      "a pipeline: each variant against its baseline, per job and machine");
  compare->add_flag("--machines", by_machines,
                    "machines side by side for --job, as ratios to --reference");
  compare->add_option("--revisions", revisions, "two revisions to compare for --job")->expected(2);
  compare->add_option("--job", compare_job, "the job to compare (with --machines or --revisions)");
  compare->add_option("--reference", reference, "the reference machine (default: first by name)");
  compare->add_option("--last", last, "how many recent pipelines (with --machines)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  std::string measure;
  bool drop_contended = false;
  compare
      ->add_option("--measure", measure,
                   "judge wall time, cpu time (user + sys) or instructions (default: each "
                   "job's own measure; wall for --revisions)")
      ->check(CLI::IsMember({"wall", "cpu", "instructions"}));
  compare->add_flag("--drop-contended", drop_contended,
                    "leave out samples taken under contention: the verdicts are recomputed from "
                    "the samples, not the stored ones");
  compare->add_flag("--json", o.json, "JSON output");
  compare->add_flag("--csv", csv, "CSV output");
  compare->add_flag("--markdown", markdown, "Markdown table output");

  auto* cancel = app.add_subcommand("cancel", "cancel a pipeline's jobs, or one job");
  cancel->add_option("id", id, "a pipeline id or a job id")->required()->check(kIdCheck);
  cancel->add_flag("--json", o.json, "machine-readable output");

  std::string drain_agent;
  bool undrain = false;
  auto* drain = app.add_subcommand(
      "drain", "stop giving jobs to an agent; its running jobs finish (kept across restarts)");
  drain->add_option("agent", drain_agent, "the agent's name")->required();
  drain->add_flag("--undo", undrain, "give it jobs again");
  drain->add_flag("--json", o.json, "machine-readable output");

  std::string calibrate_agent;
  auto* calibrate = app.add_subcommand(
      "calibrate",
      "run the calibration micro-benchmarks on an agent (alone: it waits for the agent's jobs) "
      "and store its machine's speed and noise");
  calibrate->add_option("agent", calibrate_agent, "the agent's name")->required();
  calibrate->add_flag("--wait", wait, "wait for it and print the results; exit 1 if it failed");
  calibrate->add_flag("--json", o.json, "machine-readable output");

  std::string keygen_out;
  bool keygen_signing = false;
  auto* keygen = app.add_subcommand(
      "keygen",
      "make a CURVE key pair: NAME.key (secret, mode 0600) and NAME.pub; or, with --signing, "
      "a job-signing pair");
  keygen->add_option("--out", keygen_out, "the files' path without extension")->required();
  keygen->add_flag("--signing", keygen_signing,
                   "an Ed25519 signing pair instead: NAME.sign (secret) and NAME.sign.pub");
  keygen->add_flag("--json", o.json, "machine-readable output");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kOk : kUsage;
  }
  if (*keygen) return cmd_keygen(o, keygen_out, keygen_signing);
  try {
    if (*submit)
      return cmd_submit(o, file, revision, branch, wait || follow, follow, quiet, signing_key);
    if (*status) return cmd_status(o, id);
    if (*logs) return cmd_logs(o, id, follow);
    if (*agents) return cmd_agents(o);
    if (*cancel) return cmd_cancel(o, id);
    if (*drain) return cmd_drain(o, drain_agent, undrain);
    if (*calibrate) return cmd_calibrate(o, calibrate_agent, wait);
    const Format format = o.json     ? Format::kJson
                          : csv      ? Format::kCsv
                          : markdown ? Format::kMarkdown
                                     : Format::kTable;
    if (*report) return cmd_report(o, report_name, report_vars, format);
    if (*compare) {
      if (by_machines && (!measure.empty() || drop_contended)) {
        std::cerr << "yardstick: compare --machines compares stored wall-time medians: "
                     "--measure and --drop-contended apply to variants and revisions\n";
        return kUsage;
      }
      // Said below a table; in JSON, CSV and Markdown each row's detail or
      // warnings say it.
      const bool note = drop_contended && format == Format::kTable;
      std::vector<std::string> judged;
      if (!measure.empty()) judged.push_back("measure=" + measure);
      if (drop_contended) judged.push_back("drop_contended=1");
      if (by_machines || !revisions.empty()) {
        if (compare_job.empty()) {
          std::cerr << "yardstick: compare --machines and --revisions need --job NAME\n";
          return kUsage;
        }
        if (by_machines) {
          std::vector<std::string> vars = {"job=" + compare_job, "last=" + std::to_string(last)};
          if (!reference.empty()) vars.push_back("reference=" + reference);
          return cmd_report(o, "compare_machines", vars, format,
                            [&](const auto& columns, const auto& rows) -> std::string {
                              if (rows.empty())
                                return "no benchmark results of job '" + compare_job +
                                       "' in the last " + std::to_string(last) + " pipelines";
                              if (reference.empty()) return "";
                              size_t col = 0;
                              while (col < columns.size() && columns[col] != "machine") ++col;
                              std::set<std::string> machines;
                              for (const auto& r : rows)
                                if (col < r.size()) machines.insert(r[col]);
                              if (machines.count(reference)) return "";
                              std::string list;
                              for (const auto& m : machines) list += (list.empty() ? "" : ", ") + m;
                              return "no machine named '" + reference + "' ran job '" +
                                     compare_job + "' (machines: " + list + ")";
                            });
        }
        std::vector<std::string> vars = {"job=" + compare_job, "rev_a=" + revisions[0],
                                         "rev_b=" + revisions[1]};
        vars.insert(vars.end(), judged.begin(), judged.end());
        const int rc = cmd_report(o, "compare_revisions", vars, format,
                                  [&](const auto&, const auto& rows) -> std::string {
                                    return rows.empty()
                                               ? "no benchmark results of job '" + compare_job +
                                                     "' at revisions starting " + revisions[0] +
                                                     " and " + revisions[1]
                                               : "";
                                  });
        if (rc == kOk && note)
          std::cout << "samples taken under contention left out (--drop-contended)\n";
        return rc;
      }
      if (compare_pipeline == 0) {
        std::cerr << "yardstick: compare needs a PIPELINE id, --machines or --revisions\n";
        return kUsage;
      }
      std::vector<std::string> vars = {"pipeline=" + std::to_string(compare_pipeline)};
      vars.insert(vars.end(), judged.begin(), judged.end());
      const int rc = cmd_report(
          o, "compare_variants", vars, format, [&](const auto&, const auto& rows) -> std::string {
            return rows.empty() ? "pipeline " + std::to_string(compare_pipeline) +
                                      " has no benchmark results" +
                                      (measure.empty() ? "" : " in measure " + measure) +
                                      " (no such pipeline, no bench job, or not "
                                      "finished)"
                                : "";
          });
      if (rc == kOk && note)
        std::cout << "recomputed from the samples without those taken under contention "
                     "(--drop-contended): not the stored verdicts\n";
      return rc;
    }
  } catch (const BadEndpoint& e) {
    std::cerr << "yardstick: --coordinator: " << e.what() << "\n";
    return kUsage;
  } catch (const KeySetupError& e) {
    std::cerr << "yardstick: " << e.what() << "\n";
    return kUsage;
  } catch (const Unreachable& e) {
    std::cerr << "yardstick: " << e.what() << "\n";
    return kUnreachable;
  } catch (const RemoteError& e) {
    std::cerr << "yardstick: " << e.what() << "\n";
    if (e.code() == wire::ErrorCode::BAD_REQUEST) return kUsage;
    if (e.code() == wire::ErrorCode::UNAVAILABLE) return kUnreachable;
    return kRefused;
  } catch (const kj::Exception& e) {
    std::cerr << "yardstick: bad answer from the coordinator: " << e.getDescription().cStr()
              << "\n";
    return kRefused;
  }
  return kUsage;
}

}  // namespace yardstick
