// `yardstick bisect`: the commit that moved a series, found by running the
// job at revisions between a good and a bad one (docs/change-points.md,
// Bisection).
//
// The CLI drives it, as `git bisect run` does: it lists the first-parent
// commits between the two ends from a clone of the pipeline's repository,
// submits the job alone, pinned to one machine (`on: {labels: {machine:
// NAME}}`), once per run at each revision it measures, and reads each run's
// value as the change-point search reads it (sql/reports/bisect_values.sql).
// Every run is an ordinary pipeline, stored with its results and marked as
// a bisection's (pipelines.bisection), so that it never enters a series.
//
// The ends are measured first, on the same machine: their difference is the
// change to find, and their spread says how many runs each revision needs
// for the smallest change it can show (at alpha 0.05, power 0.8) to be at
// most half of it. Each midpoint is then judged on the side of the end it
// is nearer to, on log values; a midpoint whose job fails is skipped, as
// `git bisect skip` does.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <thread>

#include "common/bisect_stats.hpp"
#include "common/change_points.hpp"
#include "common/pipeline.hpp"
#include "common/wire.hpp"
#include "coordinator/cli/bisect_record.hpp"
#include "coordinator/cli/client.hpp"
#include "coordinator/cli/commands.hpp"
#include "coordinator/cli/git.hpp"
#include "coordinator/cli/requests.hpp"

namespace yardstick {

namespace {
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// The runs of one revision, as log values.
struct Revision {
  std::string commit;
  std::vector<double> logs;
  std::vector<uint64_t> pipelines;
  bool failed = false;  // its job failed, or gave no value: skipped
  std::string verdict;  // "good", "bad", "skipped"; empty until judged
  double p_good = 1, p_bad = 1;
};

std::string percent(double log_ratio) {
  char buf[32];
  const double pct = 100 * (std::exp(log_ratio) - 1);
  std::snprintf(buf, sizeof buf, "%+.1f", pct);
  return buf;
}

std::string short_id(const std::string& commit) {
  return commit.substr(0, 7);
}

std::string duration_words(double seconds) {
  char buf[32];
  if (seconds < 60)
    std::snprintf(buf, sizeof buf, "%.0f s", seconds);
  else
    std::snprintf(buf, sizeof buf, "%.0f min", seconds / 60);
  return buf;
}

// The pipeline file of `def_text` reduced to job `job` alone, without its
// needs, webhooks and budget, pinned to machine `machine`, named NAME.bisect.
std::string bisection_file(const std::string& def_text, const std::string& job,
                           const std::string& machine) {
  YAML::Node root = YAML::Load(def_text);
  YAML::Node out;
  out["pipeline"] = root["pipeline"].as<std::string>() + ".bisect";
  for (const char* key : {"env", "secrets", "checkout", "concurrency"})
    if (root[key]) out[key] = root[key];
  YAML::Node node = YAML::Clone(root["jobs"][job]);
  node.remove("needs");
  node.remove("notify");
  node.remove("budget");
  YAML::Node on = node["on"];
  if (!on || !on.IsMap()) {
    node["on"] = YAML::Node(YAML::NodeType::Map);
    on = node["on"];
  }
  on.remove("machines");
  YAML::Node labels = on["labels"];
  if (labels && labels.IsSequence()) {
    labels.push_back("machine=" + machine);
  } else {
    if (!labels || !labels.IsMap()) on["labels"] = YAML::Node(YAML::NodeType::Map);
    on["labels"]["machine"] = machine;
  }
  out["jobs"][job] = node;
  YAML::Emitter e;
  e << out;
  return std::string(e.c_str()) + "\n";
}

class Bisector {
 public:
  Bisector(const Options& o, const BisectArgs& a, std::string file_text, std::string file_name)
      : o_(o),
        a_(a),
        text_(std::move(file_text)),
        file_(std::move(file_name)),
        ctx_(1),
        client_(ctx_, o.endpoint, std::chrono::milliseconds(o.timeout_ms), client_security(o)),
        started_(Clock::now()) {}

  double elapsed_s() const {
    return std::chrono::duration<double>(Clock::now() - started_).count();
  }
  bool out_of_time() const { return elapsed_s() * 1000 >= static_cast<double>(a_.max_time_ms); }
  int runs_submitted() const { return runs_; }

  // `call()`, again and again while the coordinator cannot be reached or
  // its database is down (a restart, a failover), as `submit --wait`
  // waits; past --max-time the error goes up.
  template <class F>
  auto patiently(F call) {
    for (bool said = false;;) {
      try {
        return call();
      } catch (const Unreachable& e) {
        if (out_of_time()) throw;
        if (!said) std::cerr << "yardstick: " << e.what() << "; still waiting\n";
      } catch (const RemoteError& e) {
        if (e.code() != wire::ErrorCode::UNAVAILABLE || out_of_time()) throw;
        if (!said) std::cerr << "yardstick: " << e.what() << "; still waiting\n";
      }
      said = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  }

  // Runs `r` until it has `want` values, it fails, or the time is up.
  void measure(Revision& r, size_t want, const std::string& label) {
    while (!r.failed && r.logs.size() < want && !out_of_time()) {
      const uint64_t id = patiently([&] { return submit(r.commit, label); });
      r.pipelines.push_back(id);
      wait_ended(id);
      auto v = patiently([&] {
        return fetch_report(
            o_, "bisect_values",
            {"ids=" + std::to_string(id), "job=" + a_.job, "kind=" + a_.kind, "what=" + a_.what});
      });
      const size_t state = v.column("state"), value = v.column("value");
      std::optional<double> got;
      std::string why = "no such job ran";
      for (size_t i = 0; i < v.rows.size(); ++i) {
        why = "its job " + v.rows[i][state];
        if (v.rows[i][state] == "succeeded") {
          if (!v.nulls[i][value] && std::stod(v.rows[i][value]) > 0)
            got = std::stod(v.rows[i][value]);
          else
            why = "its job gave no " + a_.kind + " " + a_.what;
        }
      }
      if (!got && out_of_time()) return;  // cancelled at --max-time: not the commit's fault
      if (!got) {
        r.failed = true;
        std::cerr << "bisect: " << short_id(r.commit) << " " << label << ": pipeline " << id << ": "
                  << why << "; skipped\n";
        return;
      }
      r.logs.push_back(std::log(*got));
      std::cerr << "bisect: " << short_id(r.commit) << " " << label << ": run " << r.logs.size()
                << " of " << want << " (pipeline " << id << "): " << *got << "\n";
    }
  }

  // Stores what `out` says (cmd_bisect's JSON) on the coordinator, over
  // the record of this bisection under way when there is one; 0, said on
  // standard error, when it cannot.
  uint64_t record(const json& out) {
    try {
      return send(out, progress_id_);
    } catch (const std::exception& e) {
      if (progress_id_) try {
          return send(out, 0);  // its record under way is gone: a new one
        } catch (const std::exception&) {
        }
      std::cerr << "yardstick: warning: the bisection's outcome was not recorded: " << e.what()
                << "\n";
      return 0;
    }
  }

  // Where it is, for `yardstick regressions` and the change_points report
  // while it runs: `out` with outcome running and `where` as its message.
  // Not recorded (a coordinator away) costs nothing but that.
  void progress(json out, const std::string& where) {
    out["outcome"] = "running";
    out["message"] = where;
    out.erase("commit");
    try {
      progress_id_ = send(out, progress_id_);
    } catch (const std::exception&) {
    }
  }

 private:
  uint64_t send(const json& out, uint64_t id) {
    return send_bisection(client_, a_, out, id, static_cast<uint32_t>(runs_), elapsed_s());
  }

  uint64_t submit(const std::string& commit, const std::string& label) {
    std::unique_ptr<capnp::MallocMessageBuilder> b;
    auto s = client_.request(fresh(b)).getBody().initSubmit();
    s.setPipelineYaml(text_);
    s.setFileName(file_);
    s.setRevision(commit);
    s.setSubmitter(submitter_login());
    s.setBisection("bisect " + a_.pipeline + " job " + a_.job + " " + a_.kind + " " + a_.what +
                   " on " + a_.machine + ": " + label);
    auto frame = client_.call(*b);
    ++runs_;
    return frame->envelope().getBody().getSubmitReply().getPipelineId();
  }

  // Waits for pipeline `id`'s job to end; past --max-time, cancels it, so
  // that a bisection never runs past its budget by more than a cancel.
  // Through a coordinator restart it waits, as `submit --wait` does, but
  // not past --max-time.
  void wait_ended(uint64_t id) {
    bool cancelled = false;
    for (int delay_ms = 20;; delay_ms = std::min(delay_ms * 2, 500)) {
      auto st = patiently([&] { return fetch_status(client_, id); });
      bool done = true;
      for (auto j : st->envelope().getBody().getStatusReply().getJobs())
        if (!is_terminal(wire_io::from_wire(j.getState()))) done = false;
      if (done) return;
      if (out_of_time() && !cancelled) {
        std::unique_ptr<capnp::MallocMessageBuilder> b;
        client_.request(fresh(b)).getBody().initCancelRequest().setId(id);
        client_.call(*b);  // past --max-time: once, not patiently
        cancelled = true;
        std::cerr << "bisect: --max-time passed: pipeline " << id << " cancelled\n";
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    }
  }

  const Options& o_;
  const BisectArgs& a_;
  std::string text_, file_;
  zmq::context_t ctx_;
  Client client_;
  Clock::time_point started_;
  int runs_ = 0;
  uint64_t progress_id_ = 0;  // this bisection's record under way
};

// Fills what the newest change point of the series says when the command
// line leaves it out: the two revisions and the machine.
void from_change_point(const Options& o, BisectArgs& a) {
  if (!a.good.empty() && !a.bad.empty() && !a.machine.empty()) return;
  auto r = fetch_report(o, "change_points", {"pipeline_name=" + a.pipeline, "last=100000"});
  const size_t job = r.column("job"), kind = r.column("kind"), what = r.column("what"),
               machine = r.column("machine"), good = r.column("last_good"),
               bad = r.column("first_bad");
  for (const auto& row : r.rows) {
    if (row[job] != a.job || row[kind] != a.kind || row[what] != a.what) continue;
    if (!a.machine.empty() && row[machine] != a.machine) continue;
    if (row[good].empty() || row[bad].empty()) continue;
    if (a.machine.empty()) a.machine = row[machine];
    if (a.good.empty() && a.bad.empty()) {
      a.good = row[good];
      a.bad = row[bad];
    }
    std::cerr << "bisect: from the change point on " << row[machine] << " between " << row[good]
              << " and " << row[bad] << "\n";
    return;
  }
}

}  // namespace

int cmd_bisect(const Options& o, BisectArgs a, Format format) {
  if (a.kind.empty()) {
    std::cerr << "yardstick: bisect needs what to follow: --step NAME, --variant NAME or "
                 "--metric NAME\n";
    return kUsage;
  }
  from_change_point(o, a);
  if (a.good.empty() || a.bad.empty() || a.machine.empty()) {
    std::cerr << "yardstick: bisect needs --good REV, --bad REV and --machine NAME (no change "
                 "point of pipeline '"
              << a.pipeline << "' job " << a.job << " " << a.kind << " " << a.what
              << " says them)\n";
    return kUsage;
  }
  auto def = fetch_report(o, "pipeline_definition", {"pipeline_name=" + a.pipeline});
  if (def.rows.empty()) {
    std::cerr << "yardstick: no pipeline named '" << a.pipeline << "' was ever submitted\n";
    return kRefused;
  }
  const std::string original = def.rows[0][def.column("definition")];
  const std::string file_name = def.rows[0][def.column("file_name")];
  auto parsed = parse_pipeline(original, file_name);
  if (!parsed.ok()) {
    std::cerr << "yardstick: pipeline '" << a.pipeline
              << "' as last submitted no longer parses: " << parsed.errors[0].to_string() << "\n";
    return kRefused;
  }
  const JobDef* job = parsed.pipeline->find_job(a.job);
  if (!job) {
    std::cerr << "yardstick: pipeline '" << a.pipeline << "' has no job '" << a.job << "'\n";
    return kUsage;
  }
  const std::string repo = parsed.pipeline->checkout_repo;
  if (repo.empty()) {
    std::cerr << "yardstick: pipeline '" << a.pipeline
              << "' checks out no repository: there are no commits to bisect\n";
    return kRefused;
  }
  std::string text;
  try {
    text = bisection_file(original, a.job, a.machine);
  } catch (const std::exception& e) {
    std::cerr << "yardstick: cannot reduce pipeline '" << a.pipeline << "' to job " << a.job << ": "
              << e.what() << "\n";
    return kRefused;
  }
  if (auto check = parse_pipeline(text, file_name); !check.ok()) {
    std::cerr << "yardstick: the bisection's pipeline does not parse: "
              << check.errors[0].to_string() << "\n";
    return kRefused;
  }
  std::string problem;
  const std::string git = history_of(repo, &problem);
  if (git.empty()) {
    std::cerr << "yardstick: " << problem << "\n";
    return kRefused;
  }
  const std::string good = resolve_commit(git, a.good), bad = resolve_commit(git, a.bad);
  for (const auto& [given, full] : {std::pair{a.good, good}, std::pair{a.bad, bad}})
    if (full.empty()) {
      std::cerr << "yardstick: " << repo << " has no commit '" << given << "'\n";
      return kUsage;
    }
  if (!run_ok("git -C " + shell_quote(git) + " merge-base --is-ancestor " + good + " " + bad) ||
      good == bad) {
    std::cerr << "yardstick: " << a.bad << " does not come after " << a.good << " in " << repo
              << "\n";
    return kUsage;
  }
  const std::vector<std::string> commits = commits_between(git, good, bad);
  std::cerr << "bisect: " << commits.size() << " commits after good " << short_id(good)
            << " up to bad " << short_id(bad) << ": job " << a.job << " " << a.kind << " " << a.what
            << " on " << a.machine << "\n";

  Bisector b(o, a, text, file_name);
  std::map<int, Revision> seen;  // by index in `commits`; -1: good
  seen[-1].commit = good;
  seen[static_cast<int>(commits.size()) - 1].commit = bad;
  Revision& good_end = seen[-1];
  Revision& bad_end = seen[static_cast<int>(commits.size()) - 1];
  json out = {
      {"pipeline", a.pipeline}, {"job", a.job}, {"kind", a.kind}, {"what", a.what},
      {"machine", a.machine},   {"good", good}, {"bad", bad},     {"commits", commits.size()}};
  std::string outcome, sentence;
  auto finish = [&](const std::string& how, const std::string& words, int code) {
    out["outcome"] = how;
    out["message"] = words;
    out["runs"] = b.runs_submitted();
    out["seconds"] = b.elapsed_s();
    json revisions = json::array();
    for (const auto& [i, r] : seen) {
      std::vector<double> values;
      for (double l : r.logs) values.push_back(std::exp(l));
      revisions.push_back({{"commit", r.commit},
                           {"index", i},
                           {"verdict", i == -1                                     ? "good"
                                       : i == static_cast<int>(commits.size()) - 1 ? "bad"
                                                                                   : r.verdict},
                           {"values", values},
                           {"pipelines", r.pipelines}});
    }
    out["revisions"] = revisions;
    if (const uint64_t id = b.record(out)) out["id"] = id;
    if (format == Format::kJson)
      std::cout << out.dump(2) << "\n";
    else
      std::cout << words << "\n";
    return code;
  };

  // The ends: the change to find, and the runs each revision needs. The
  // spread is the runs' median absolute deviation from their end's median
  // (scaled to a normal's standard deviation), so that one run a busy
  // machine disturbed does not make every revision run many times more.
  const size_t end_runs = a.runs > 0 ? static_cast<size_t>(a.runs) : 5;
  b.progress(out, "measuring the ends: good " + short_id(good) + " and bad " + short_id(bad) +
                      ", " + std::to_string(commits.size()) + " commits apart");
  b.measure(good_end, end_runs, "good");
  b.measure(bad_end, end_runs, "bad");
  auto out_of_time_at_ends = [&] {
    return finish("budget",
                  "could not decide: --max-time " + duration_words(a.max_time_ms / 1000.0) +
                      " ran out measuring the ends",
                  kJobsFailed);
  };
  if (b.out_of_time()) return out_of_time_at_ends();
  if (good_end.failed || bad_end.failed)
    return finish("failed",
                  "could not decide: the job failed at the " +
                      std::string(good_end.failed ? "good" : "bad") + " end (" +
                      short_id(good_end.failed ? good : bad) + ") on " + a.machine,
                  kJobsFailed);
  auto spread = [&] { return robust_spread(good_end.logs, bad_end.logs); };
  const double change = median_of(bad_end.logs) - median_of(good_end.logs);
  size_t runs = a.runs > 0 ? static_cast<size_t>(a.runs) : 3;
  if (a.runs <= 0 && spread() > 0) {
    const double needed = runs_for_half(spread(), change);
    if (needed > a.max_runs) {
      const double can_see = smallest_visible(spread(), a.max_runs);
      return finish("below_detectable",
                    "could not decide: the change (" + percent(change) +
                        " % between the ends) is below what " + a.machine + " can see: with " +
                        std::to_string(a.max_runs) + " runs a revision it could see " +
                        percent(can_see) +
                        " %, and bisection needs half the change (--max-runs raises the limit)",
                    kJobsFailed);
    }
    runs = std::max<size_t>(runs, static_cast<size_t>(std::ceil(needed)));
    b.measure(good_end, runs, "good");
    b.measure(bad_end, runs, "bad");
    if (b.out_of_time()) return out_of_time_at_ends();
  }
  const MedianDifference whole = median_difference(good_end.logs, bad_end.logs);
  out["runs_per_revision"] = runs;
  out["change_pct"] = 100 * (std::exp(whole.diff) - 1);
  if (whole.p >= 0.05)
    return finish("no_change",
                  "could not decide: " + a.machine + " shows no change between good " +
                      short_id(good) + " and bad " + short_id(bad) + " (" + percent(whole.diff) +
                      " %, p " + std::to_string(whole.p).substr(0, 5) + ", " +
                      std::to_string(runs) + " runs each)",
                  kJobsFailed);
  std::cerr << "bisect: the ends differ by " << percent(whole.diff) << " % (p " << whole.p << "); "
            << runs << " runs a revision\n";

  int lo = -1, hi = static_cast<int>(commits.size()) - 1, steps = 0;
  bool apart = false;  // a midpoint apart from both ends
  int unsure = 0;      // commits judged by the nearer end alone
  while (hi - lo > 1) {
    // The middle, or the commit nearest to it that was not skipped.
    const int middle = lo + (hi - lo) / 2;
    int pick = -2;
    for (int off = 0; off < hi - lo && pick == -2; ++off)
      for (int c : {middle - off, middle + off})
        if (c > lo && c < hi && pick == -2 && !(seen.count(c) && seen[c].failed)) pick = c;
    if (pick == -2) break;  // only skipped commits are left
    if (b.out_of_time())
      return finish("budget",
                    "could not decide: --max-time " + duration_words(a.max_time_ms / 1000.0) +
                        " ran out after " + std::to_string(steps) +
                        " steps; the first changed commit is one of " + short_id(commits[lo + 1]) +
                        " … " + short_id(commits[hi]),
                    kJobsFailed);
    Revision& r = seen[pick];
    r.commit = commits[pick];
    ++steps;
    const std::string label = "step " + std::to_string(steps) + " (" + std::to_string(pick + 1) +
                              " of " + std::to_string(commits.size()) + ")";
    // A commit goes to the end its median is nearer to, once it differs
    // from the other end (p < 0.05); until then it gets twice the runs, up
    // to --max-runs (with --runs: no more), and then goes to the nearer end
    // all the same, the answer saying how many were judged so.
    size_t want = runs;
    bool clear = false, nearer_bad = false;
    for (;;) {
      b.measure(r, want, label);
      if (r.failed || r.logs.size() < want) break;
      const double m = median_of(r.logs);
      nearer_bad = std::abs(m - median_of(bad_end.logs)) < std::abs(m - median_of(good_end.logs));
      r.p_good = median_difference(good_end.logs, r.logs).p;
      r.p_bad = median_difference(bad_end.logs, r.logs).p;
      clear = (nearer_bad ? r.p_good : r.p_bad) < 0.05;
      const size_t most = a.runs > 0 ? runs : static_cast<size_t>(a.max_runs);
      if (clear || want >= most) break;
      want = std::min(most, want * 2);
      std::cerr << "bisect: " << short_id(r.commit) << " does not differ from the "
                << (nearer_bad ? "good" : "bad") << " end yet (p "
                << (nearer_bad ? r.p_good : r.p_bad) << "): " << want << " runs\n";
    }
    if (r.failed) {
      r.verdict = "skipped";
      continue;
    }
    if (r.logs.size() < want) continue;  // out of time: said at the top
    const double m = median_of(r.logs);
    const bool is_bad = nearer_bad;
    if (r.p_good < 0.01 && r.p_bad < 0.01) apart = true;
    if (!clear) ++unsure;
    r.verdict = is_bad ? "bad" : "good";
    std::cerr << "bisect: " << short_id(r.commit) << " is " << r.verdict << " ("
              << percent(m - median_of(good_end.logs)) << " % from good"
              << (clear ? "" : "; the nearer end, not a clear difference") << ")\n";
    (is_bad ? hi : lo) = pick;
    out["steps"] = steps;
    b.progress(out, "step " + std::to_string(steps) + ": " + short_id(r.commit) + " is " +
                        r.verdict + " (" + percent(m - median_of(good_end.logs)) +
                        " % from good); " + std::to_string(hi - lo - 1) + " commits left between " +
                        short_id(seen[lo].commit) + " and " + short_id(commits[hi]));
  }
  out["steps"] = steps;
  out["unsure"] = unsure;
  if (hi - lo > 1) {
    std::string range;
    for (int i = lo + 1; i <= hi; ++i) range += (range.empty() ? "" : " ") + short_id(commits[i]);
    return finish("skipped",
                  "could not decide: the job failed at every commit left, so the first changed "
                  "commit is one of " +
                      range + " (" + std::to_string(steps) + " steps, " +
                      duration_words(b.elapsed_s()) + ")",
                  kJobsFailed);
  }
  // Confirmation: the commit and the one before it again, a run of each
  // in turn, so that a machine whose speed moved during the bisection
  // (the ends measured fast, the midpoints slow) cannot name a commit: the
  // change must show between the two, in the ends' direction, at half
  // their size or more (p < 0.05). The answer's change and interval are
  // these runs'.
  Revision before, after;
  before.commit = seen[lo].commit;
  after.commit = commits[hi];
  b.progress(out, "confirming " + short_id(after.commit) + " against the commit before it, " +
                      short_id(before.commit) + ", " + std::to_string(runs) + " runs each");
  for (size_t i = 1; i <= runs && !before.failed && !after.failed && !b.out_of_time(); ++i) {
    b.measure(before, i, "confirming, before");
    b.measure(after, i, "confirming, after");
  }
  if (before.failed || after.failed || before.logs.size() < runs || after.logs.size() < runs)
    return finish("budget",
                  "could not decide: --max-time " + duration_words(a.max_time_ms / 1000.0) +
                      " ran out confirming " + short_id(commits[hi]),
                  kJobsFailed);
  const MedianDifference d = median_difference(before.logs, after.logs);
  out["confirm_p"] = d.p;
  if (!(d.p < 0.05 && (d.diff > 0) == (whole.diff > 0) &&
        std::abs(d.diff) >= std::abs(whole.diff) / 2)) {
    out["candidate"] = commits[hi];
    return finish("unconfirmed",
                  "could not decide: " + short_id(commits[hi]) + " looked like the first " +
                      (whole.diff > 0 ? "slow" : "fast") + " commit, but run again in turn " +
                      "with the one before it, it changed by " + percent(d.diff) + " % (p " +
                      std::to_string(d.p).substr(0, 5) + ") of the ends' " + percent(whole.diff) +
                      " %: the machine's speed may have moved during " +
                      "the bisection, or the change is spread over several commits (" +
                      std::to_string(steps) + " steps, " + duration_words(b.elapsed_s()) + ")",
                  kJobsFailed);
  }
  const double t = d.df >= 1 ? student_t_quantile(0.975, d.df) : 0;
  const std::string culprit = commits[hi];
  out["commit"] = culprit;
  out["subject"] = commit_subject(git, culprit);
  out["step_change_pct"] = 100 * (std::exp(d.diff) - 1);
  out["low_pct"] = 100 * (std::exp(d.diff - t * d.se) - 1);
  out["high_pct"] = 100 * (std::exp(d.diff + t * d.se) - 1);
  out["median_before"] = std::exp(median_of(before.logs));
  out["median_after"] = std::exp(median_of(after.logs));
  std::ostringstream s;
  s << "first " << (whole.diff > 0 ? "slow" : "fast") << " commit " << short_id(culprit) << " \""
    << out["subject"].get<std::string>() << "\" (" << percent(d.diff) << " %, interval "
    << percent(d.diff - t * d.se) << " … " << percent(d.diff + t * d.se) << " %, " << steps
    << (steps == 1 ? " step, " : " steps, ") << duration_words(b.elapsed_s()) << ")\n"
    << "  on " << a.machine << ": " << out["median_before"].get<double>() << " → "
    << out["median_after"].get<double>() << " (medians of " << before.logs.size() << " and "
    << after.logs.size() << " runs at " << short_id(before.commit) << " and " << short_id(culprit)
    << ")";
  // A midpoint sat apart from both ends: more than one commit moved it.
  if (apart) {
    s << "\n  the change looks spread over several commits: this one gives " << percent(d.diff)
      << " % of " << percent(whole.diff) << " %";
    out["spread"] = true;
  }
  if (unsure)
    s << "\n  uncertain: " << unsure << (unsure == 1 ? " commit was" : " commits were")
      << " no different from either end after "
      << (a.runs > 0 ? runs : static_cast<size_t>(a.max_runs))
      << " runs and went to the nearer one";
  return finish("found", s.str(), kOk);
}

}  // namespace yardstick
