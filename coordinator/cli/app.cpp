#include "coordinator/cli/app.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "common/pipeline.hpp"
#include "common/text.hpp"
#include "common/version.hpp"
#include "coordinator/cli/client.hpp"
#include "coordinator/cli/commands.hpp"
#include "coordinator/cli/completion.hpp"
#include "coordinator/reports.hpp"

namespace yardstick {

namespace {
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

// `yardstick stauts 8`: the first word that is neither an option, an
// option's value nor a command, said with the nearest command ("" when the
// words are fine, or for CLI11 to judge).
std::string unknown_command(CLI::App& app, int argc, char** argv) {
  std::vector<std::string> shown, all;
  for (const auto* s : app.get_subcommands([](CLI::App*) { return true; })) {
    all.push_back(s->get_name());
    if (!s->get_group().empty()) shown.push_back(s->get_name());
  }
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--") return "";
    if (a.size() > 1 && a[0] == '-') {
      if (a.find('=') != std::string::npos) continue;
      const CLI::Option* opt = app.get_option_no_throw(a);
      if (opt && opt->get_type_size() > 0) ++i;  // its value
      continue;
    }
    if (std::find(all.begin(), all.end(), a) != all.end()) return "";
    const std::string near = closest(a, shown);
    std::string list;
    for (const auto& n : shown) list += (list.empty() ? "" : ", ") + n;
    return "unknown command '" + a + "'" + (near.empty() ? "" : "; did you mean '" + near + "'?") +
           " (commands: " + list + ")";
  }
  return "";
}

}  // namespace

int run_cli(int argc, char** argv) {
  if (int rc = report_help(argc, argv); rc >= 0) return rc;
  CLI::App app{"yardstick: submit pipelines and read their results"};
  app.require_subcommand(1);
  app.set_version_flag("--version", version_string("yardstick"));
  app.fallthrough();  // global options are taken after the subcommand too
  Options o;
  app.add_option("--coordinator", o.endpoint,
                 "the coordinator's client endpoint; a leader and its standbys: "
                 "tcp://a:7400,tcp://b:7400")
      ->envname("YARDSTICK_COORDINATOR")
      ->capture_default_str();
  app.add_option("--key", o.key_file,
                 "your CURVE secret key file (default: ~/.config/yardstick/client.key)")
      ->envname("YARDSTICK_KEY")
      ->type_name("FILE");
  app.add_option("--coordinator-key", o.coordinator_key,
                 "the coordinator's public key, or its .pub file (default: "
                 "~/.config/yardstick/coordinator.pub)")
      ->envname("YARDSTICK_COORDINATOR_KEY")
      ->type_name("FILE");
  app.add_flag("--insecure", o.insecure, "no CURVE (a loopback coordinator run --insecure)")
      ->envname("YARDSTICK_INSECURE");
  app.add_option("--timeout-ms", o.timeout_ms, "how long to wait for each answer")
      ->envname("YARDSTICK_TIMEOUT_MS")
      ->capture_default_str()
      ->check(CLI::Range(1, 3'600'000));

  std::string file, revision, branch;
  bool wait = false, follow = false, quiet = false;
  auto* submit = app.add_subcommand("submit", "validate and submit a pipeline file");
  submit->add_option("file", file, "the pipeline file (YAML)")->required()->type_name("FILE");
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
      ->envname("YARDSTICK_SIGNING_KEY")
      ->type_name("FILE");

  uint64_t id = 0;
  auto* status = app.add_subcommand("status", "show a pipeline (or one job) and its steps");
  status->add_option("id", id, "a pipeline id or a job id")->required()->check(kIdCheck);
  status->add_flag("--json", o.json, "machine-readable output");

  auto* logs = app.add_subcommand("logs", "print a job's output");
  logs->add_option("job", id, "a job id")->required()->check(kIdCheck);
  logs->add_flag("-f,--follow", follow, "keep printing until the job ends");
  uint32_t logs_attempt = 0;
  std::string logs_step;
  logs->add_option("--attempt", logs_attempt, "only this attempt (1, 2, ...; default: every one)")
      ->check(CLI::Range(1u, 1000000u));
  logs->add_option("--step", logs_step, "only the lines of the step with this name");

  auto* agents = app.add_subcommand("agents", "list agents, their machines and slots");
  agents->add_flag("--json", o.json, "machine-readable output");

  std::string report_name;
  std::vector<std::string> report_vars;
  bool csv = false, markdown = false;
  std::string report_list = "the report: one of";
  for (const auto& [n, text] : reports()) report_list += " " + n;
  report_list += " (`yardstick report NAME --help` lists its variables)";
  auto* report = app.add_subcommand("report", "run a report of sql/reports by name");
  bool report_list_only = false;
  report->add_option("name", report_name, report_list)->type_name("REPORT");
  report->add_flag("--list", report_list_only, "list the reports with their variables");
  report->add_option("-v,--var", report_vars, "a report variable, NAME=VALUE (as psql -v)");
  report->add_flag("--json", o.json, "JSON output");
  report->add_flag("--csv", csv, "CSV output");
  report->add_flag("--markdown", markdown, "Markdown table output");

  CompareArgs compare_args;
  auto* compare = app.add_subcommand(
      "compare", "compare benchmark variants, machines (--machines) or revisions (--revisions)");
  compare->add_option("pipeline", compare_args.pipeline,
                      "a pipeline: each variant against its baseline, per job and machine");
  compare->add_flag("--machines", compare_args.machines,
                    "machines side by side for --job, as ratios to --reference");
  compare->add_option("--revisions", compare_args.revisions, "two revisions to compare for --job")
      ->expected(2);
  compare->add_option("--job", compare_args.job,
                      "the job to compare (with --machines or --revisions)");
  compare->add_option("--pipeline", compare_args.pipeline_name,
                      "only pipelines of this name (with --machines or --revisions)");
  compare->add_option("--reference", compare_args.reference,
                      "the reference machine (default: first by name)");
  compare->add_option("--last", compare_args.last, "how many recent pipelines (with --machines)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  compare
      ->add_option("--measure", compare_args.measure,
                   "judge wall time, cpu time (user + sys) or instructions (default: each "
                   "job's own measure; wall for --revisions)")
      ->check(CLI::IsMember({"wall", "cpu", "instructions"}));
  compare->add_flag("--drop-contended", compare_args.drop_contended,
                    "leave out samples taken under contention: the verdicts are recomputed from "
                    "the samples, not the stored ones");
  compare->add_flag("--json", o.json, "JSON output");
  compare->add_flag("--csv", csv, "CSV output");
  compare->add_flag("--markdown", markdown, "Markdown table output");

  MetricsArgs metrics_args;
  auto* metrics = app.add_subcommand(
      "metrics",
      "custom metrics ($YARDSTICK_METRICS, collectors): of a pipeline, or per revision and "
      "machine (--pipeline NAME)");
  metrics->add_option("pipeline", metrics_args.pipeline, "a pipeline: each job's metrics")
      ->check(kIdCheck);
  metrics->add_option("--pipeline", metrics_args.pipeline_name,
                      "a pipeline name: each metric per revision and machine over its last runs");
  metrics->add_option("--job", metrics_args.job, "only this job's (with --pipeline)");
  metrics->add_option("--metric", metrics_args.metric,
                      "only metrics whose name starts with this (ccache., my.size)");
  metrics->add_option("--last", metrics_args.last, "how many recent pipelines (with --pipeline)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  metrics->add_flag("--json", o.json, "JSON output");
  metrics->add_flag("--csv", csv, "CSV output");
  metrics->add_flag("--markdown", markdown, "Markdown table output");

  std::string regressions_pipeline, regressions_since;
  int regressions_last = 50;
  auto* regressions = app.add_subcommand(
      "regressions",
      "change points: where a step's time, a benchmark or a metric moved and stayed moved, "
      "between which revisions, on which machines");
  regressions->add_option("--pipeline", regressions_pipeline, "only pipelines of this name");
  regressions->add_option("--since", regressions_since, "only change points found since a date")
      ->type_name("YYYY-MM-DD");
  regressions->add_option("--last", regressions_last, "how many, newest first")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  regressions->add_flag("--json", o.json, "JSON output");
  regressions->add_flag("--csv", csv, "CSV output");
  regressions->add_flag("--markdown", markdown, "Markdown table output");

  BisectArgs bisect_args;
  std::string bisect_step, bisect_variant, bisect_metric, bisect_max_time = "1h";
  auto* bisect = app.add_subcommand(
      "bisect",
      "the first commit at which a step's time, a benchmark variant or a metric moved: runs the "
      "job alone, pinned to one machine, at revisions between a good and a bad one");
  bisect->add_option("pipeline", bisect_args.pipeline, "the pipeline's name")->required();
  bisect->add_option("job", bisect_args.job, "the job to run")->required();
  auto* by_step = bisect->add_option("--step", bisect_step, "follow this timed step's wall time");
  auto* by_variant =
      bisect->add_option("--variant", bisect_variant, "follow this benchmark variant's median");
  auto* by_metric = bisect->add_option("--metric", bisect_metric, "follow this metric's mean");
  by_step->excludes(by_variant)->excludes(by_metric);
  by_variant->excludes(by_metric);
  bisect->add_option("--good", bisect_args.good,
                     "the last revision known good (default: the newest change point's)");
  bisect->add_option("--bad", bisect_args.bad,
                     "the first revision known bad (default: the newest change point's)");
  bisect->add_option("--machine", bisect_args.machine,
                     "the machine to run on (default: the newest change point's)");
  bisect
      ->add_option("--runs", bisect_args.runs,
                   "runs a revision (default: as many as the ends' spread needs)")
      ->check(CLI::Range(1, 1000));
  bisect
      ->add_option("--max-runs", bisect_args.max_runs,
                   "the most runs a revision may need before bisection says the change is too "
                   "small to see")
      ->capture_default_str()
      ->check(CLI::Range(2, 1000));
  bisect
      ->add_option("--max-time", bisect_max_time, "stop and say so after this long (90s, 30m, 2h)")
      ->capture_default_str();
  bisect->add_flag("--json", o.json, "JSON output");

  uint64_t summary_pipeline = 0;
  auto* summary = app.add_subcommand(
      "summary", "a pipeline's before/after summary: variants, timed steps and budgets (✓/✗)");
  summary->add_option("pipeline", summary_pipeline, "a pipeline id")->required()->check(kIdCheck);
  summary->add_flag("--json", o.json, "JSON output, full precision");
  summary->add_flag("--csv", csv, "CSV output");
  summary->add_flag("--markdown", markdown, "Markdown table output (for a pull request)");

  std::string pipelines_name;
  int pipelines_last = 20;
  auto* pipelines = app.add_subcommand("pipelines", "list recent pipelines");
  pipelines->add_option("--name", pipelines_name, "only pipelines of this name");
  pipelines->add_option("--last", pipelines_last, "how many")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  pipelines->add_flag("--json", o.json, "JSON output");
  pipelines->add_flag("--csv", csv, "CSV output");
  pipelines->add_flag("--markdown", markdown, "Markdown table output");

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
  keygen->add_option("--out", keygen_out, "the files' path without extension")
      ->required()
      ->type_name("FILE");
  keygen->add_flag("--signing", keygen_signing,
                   "an Ed25519 signing pair instead: NAME.sign (secret) and NAME.sign.pub");
  keygen->add_flag("--json", o.json, "machine-readable output");

  // Hidden (no group): the shell completion scripts the package installs,
  // written from this command tree (completion.hpp).
  std::string shell;
  auto* completion = app.add_subcommand("completion", "print a shell completion script");
  completion->group("");
  completion->add_option("shell", shell, "bash or zsh")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh"}));

  if (const std::string bad = unknown_command(app, argc, argv); !bad.empty()) {
    std::cerr << "yardstick: " << bad << "\n";
    return kUsage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kOk : kUsage;
  }
  if (*keygen) return cmd_keygen(o, keygen_out, keygen_signing);
  if (*report && report_list_only) return cmd_report_list(o);
  if (*report && report_name.empty()) {
    std::cerr << "yardstick: report needs a REPORT name, or --list\n";
    return kUsage;
  }
  if (*completion) {
    std::vector<std::string> names;
    for (const auto& [n, text] : reports()) names.push_back(n);
    std::cout << completion_script(app, "yardstick", shell, names);
    return kOk;
  }
  try {
    if (*submit)
      return cmd_submit(o, file, revision, branch, wait || follow, follow, quiet, signing_key);
    if (*status) return cmd_status(o, id);
    if (*logs) return cmd_logs(o, id, follow, logs_attempt, logs_step);
    if (*agents) return cmd_agents(o);
    if (*cancel) return cmd_cancel(o, id);
    if (*drain) return cmd_drain(o, drain_agent, undrain);
    if (*calibrate) return cmd_calibrate(o, calibrate_agent, wait);
    const Format format = o.json     ? Format::kJson
                          : csv      ? Format::kCsv
                          : markdown ? Format::kMarkdown
                                     : Format::kTable;
    if (*report) {
      // Known here (the reports are compiled in): a typing error is a usage
      // error, said before anything is sent.
      if (!reports().count(report_name)) {
        std::vector<std::string> names;
        for (const auto& [n, text] : reports()) names.push_back(n);
        const std::string near = closest(report_name, names);
        std::cerr << "yardstick: no report named '" << report_name << "'"
                  << (near.empty() ? "" : "; did you mean '" + near + "'?") << " (reports:";
        for (const auto& n : names) std::cerr << " " << n;
        std::cerr << ")\n";
        return kUsage;
      }
      return cmd_report(o, report_name, report_vars, format);
    }
    if (*compare) return cmd_compare(o, compare_args, format);
    if (*metrics) return cmd_metrics(o, metrics_args, format);
    if (*regressions)
      return cmd_regressions(o, regressions_pipeline, regressions_since, regressions_last, format);
    if (*bisect) {
      if (!bisect_step.empty()) bisect_args.kind = "step", bisect_args.what = bisect_step;
      if (!bisect_variant.empty()) bisect_args.kind = "variant", bisect_args.what = bisect_variant;
      if (!bisect_metric.empty()) bisect_args.kind = "metric", bisect_args.what = bisect_metric;
      const auto max_time = parse_duration_ms(bisect_max_time);
      if (!max_time || *max_time == 0) {
        std::cerr << "yardstick: --max-time takes a duration (90s, 30m, 2h), not '"
                  << bisect_max_time << "'\n";
        return kUsage;
      }
      bisect_args.max_time_ms = *max_time;
      return cmd_bisect(o, bisect_args, format);
    }
    if (*summary) return cmd_summary(o, summary_pipeline, format);
    if (*pipelines) return cmd_pipelines(o, pipelines_name, pipelines_last, format);
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
