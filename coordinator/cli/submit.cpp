#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <thread>

#include "common/checkout.hpp"
#include "common/pipeline.hpp"
#include "common/signing.hpp"
#include "common/wire.hpp"
#include "coordinator/cli/client.hpp"
#include "coordinator/cli/commands.hpp"
#include "coordinator/cli/git.hpp"
#include "coordinator/cli/requests.hpp"

namespace yardstick {

namespace {
using json = nlohmann::json;

}  // namespace

int cmd_submit(const Options& o, const std::string& file, std::string revision, std::string branch,
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
  const bool local_is_repo = here_is_clone_of(repo);
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
  s.setSubmitter(submitter_login());
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
        << "pipeline " << pipeline_id << " submitted: " << reply.getJobs().size()
        << (reply.getJobs().size() == 1 ? " job\n" : " jobs\n");
  }
  std::cout.flush();
  // Said now, before the runs are paid for (an older coordinator sends none).
  for (auto w : reply.getWarnings()) std::cerr << "yardstick: warning: " << w.cStr() << "\n";
  for (auto j : reply.getJobs())
    if (j.getNote() == wire::JobNote::NO_AGENT)
      std::cerr << "yardstick: warning: job " << j.getName().cStr() << " " << j.getMessage().cStr()
                << "\n";
  if (!wait && !follow) return kOk;

  std::map<uint64_t, uint64_t> cursors;
  std::map<uint64_t, LogPrinter> printers;
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
          LogPrinter& printer = printers[j.getId()];
          // With --json, standard output is the JSON alone: logs go to standard error.
          printer.out = o.json ? &std::cerr : &std::cout;
          printer.prefix = "[" + std::string(j.getName().cStr()) +
                           (j.getMachine().size() ? "@" + std::string(j.getMachine().cStr()) : "") +
                           "] ";
          print_logs(client, j.getId(), &cursors[j.getId()], printer);
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

}  // namespace yardstick
