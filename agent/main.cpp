// yardstick-agent: parses flags, reads the machine's fingerprint, and runs
// an Agent. The first SIGTERM (or SIGINT) drains it: running jobs finish,
// no new one is taken, then it exits. A second one, or SIGQUIT, stops it:
// its jobs end as lost and run again elsewhere.
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <CLI/CLI.hpp>
#include <csignal>
#include <filesystem>

#include "agent/agent.hpp"
#include "agent/calibration.hpp"
#include "agent/deploy_process.hpp"
#include "agent/environment.hpp"
#include "agent/fingerprint.hpp"
#include "agent/host_lock.hpp"
#include "agent/process.hpp"
#include "common/clock.hpp"
#include "common/log.hpp"
#include "common/secrets.hpp"
#include "common/signing.hpp"
#include "common/version.hpp"
#include "common/zmq_util.hpp"

extern char** environ;

namespace {
std::atomic<bool> g_drain{false};
std::atomic<bool> g_stop{false};
void on_signal(int sig) {
  if (sig == SIGQUIT || g_drain.load())
    g_stop = true;
  else
    g_drain = true;
}
}  // namespace

int main(int argc, char** argv) {
  using namespace yardstick;
  // The micro-benchmarks of a calibration job, in a process of their own.
  if (argc >= 2 && std::string(argv[1]) == "calibrate") return calibrate_main(argc, argv);
  // A deploy job's logic, in a process of its own (agent/deploy_process.hpp).
  if (argc >= 2 && std::string(argv[1]) == "deploy") return deploy_main(argc, argv);
  CLI::App app{"yardstick-agent: runs build, benchmark and deploy jobs for a coordinator"};
  app.set_version_flag("--version", version_string("yardstick-agent"));
  // The subcommands are dispatched above, before these flags are parsed.
  app.footer(
      "Subcommands (each answers --help):\n"
      "  calibrate   run this machine's calibration micro-benchmarks once\n"
      "              (yardstick-agent calibrate --dir DIR --out FILE)\n"
      "  deploy      run one deploy job's phases; the agent starts it for each deploy job\n"
      "              (yardstick-agent deploy --job FILE --events FILE)\n"
      "Without one, yardstick-agent connects to --coordinator and runs its jobs.");
  AgentConfig config;
  std::string labels, machine_name, log_level = "info", secrets_file, pass_env;
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  config.name = host;
  config.home = std::string(std::getenv("HOME") ? std::getenv("HOME") : "/tmp") + "/.yardstick";
  app.add_option("--coordinator", config.coordinator,
                 "the coordinator's agents endpoint; a leader and its standbys: "
                 "tcp://a:7401,tcp://b:7401")
      ->envname("YARDSTICK_AGENTS_ENDPOINT")
      ->capture_default_str();
  app.add_option("--name", config.name, "this agent's unique name")
      ->envname("YARDSTICK_AGENT_NAME")
      ->capture_default_str();
  app.add_option("--labels", labels,
                 "extra labels, k=v,k2=v2 (os=, arch=, tool=, perf= are automatic)")
      ->envname("YARDSTICK_AGENT_LABELS");
  app.add_option("--slots", config.slots, "jobs run at once")
      ->envname("YARDSTICK_AGENT_SLOTS")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1024u));
  app.add_option("--hourly-cost", config.hourly_cost,
                 "what an hour of this agent costs, in your currency, for `yardstick report "
                 "cost` (default: not said)")
      ->envname("YARDSTICK_AGENT_HOURLY_COST")
      ->check(CLI::Range(0.0, 1e6));
  app.add_option("--home", config.home, "workspaces and repository cache")
      ->envname("YARDSTICK_AGENT_HOME")
      ->capture_default_str();
  app.add_option("--machine", machine_name,
                 "the machine's name in reports (default: the host name)")
      ->envname("YARDSTICK_MACHINE");
  app.add_option("--kill-grace-ms", config.kill_grace_ms,
                 "after SIGTERM, wait this long before SIGKILL")
      ->envname("YARDSTICK_KILL_GRACE_MS")
      ->capture_default_str();
  app.add_option("--spool-max-bytes", config.spool_max_bytes,
                 "results not yet acknowledged kept on disk under --home; past it, jobs' output "
                 "is throttled")
      ->envname("YARDSTICK_SPOOL_MAX_BYTES")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1} << 20, uint64_t{1} << 42));
  app.add_flag("--spool-in-memory", config.spool_in_memory,
               "keep unacknowledged results in memory only (for measuring the spool's cost; "
               "results are lost when the agent dies)");
  std::string lock_dir;
  bool no_host_lock = false;
  app.add_option("--lock-dir", lock_dir,
                 "folder of the host's lock, shared by every agent of this host: an exclusive "
                 "bench, a calibration and a deploy's probe hold it, so that no two measure at "
                 "once (default: /run/yardstick, else /tmp/yardstick)")
      ->envname("YARDSTICK_LOCK_DIR");
  app.add_flag("--no-host-lock", no_host_lock,
               "do not take the host's lock (measurements of agents sharing this host may then "
               "run side by side; the foreign-load share flags such runs as contended)")
      ->envname("YARDSTICK_NO_HOST_LOCK");
  app.add_flag("--allow-absolute-workdir", config.allow_absolute_workdir,
               "let jobs run in an absolute workdir (by default a job's workdir must stay inside "
               "its workspace)")
      ->envname("YARDSTICK_ALLOW_ABSOLUTE_WORKDIR");
  std::string key_file, coordinator_key;
  app.add_option("--key", key_file,
                 "this agent's CURVE secret key file (yardstick keygen --out NAME writes "
                 "NAME.key; the coordinator lists NAME.pub with this agent's name)")
      ->envname("YARDSTICK_AGENT_KEY");
  app.add_option("--coordinator-key", coordinator_key,
                 "the coordinator's public key, or its .pub file: no other coordinator is "
                 "talked to")
      ->envname("YARDSTICK_COORDINATOR_KEY");
  app.add_flag("--insecure", config.security.insecure,
               "no CURVE (a coordinator run --insecure on loopback or ipc://)")
      ->envname("YARDSTICK_INSECURE");
  app.add_option("--secrets-file", secrets_file,
                 "NAME=VALUE lines: the values of the secrets jobs name in `secrets:` (looked up "
                 "before the agent's environment; every value masked in job logs); refused unless "
                 "only its owner may read it (mode 0600)")
      ->envname("YARDSTICK_AGENT_SECRETS_FILE");
  app.add_option("--pass-env", pass_env,
                 "variables of the agent's environment that steps get besides the default ones "
                 "(PATH, HOME, LANG, LC_*, ...): NAME,OTHER,PREFIX_*")
      ->envname("YARDSTICK_AGENT_PASS_ENV");
  std::string trusted_submitters;
  app.add_option("--trusted-submitters", trusted_submitters,
                 "run only jobs signed by a key in this file (one ed25519:<base64> [name] per "
                 "line) and matching what was signed; refuse every other job")
      ->envname("YARDSTICK_TRUSTED_SUBMITTERS");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->envname("YARDSTICK_LOG_LEVEL")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (!setup_logging("agent", log_level)) {
    std::fprintf(stderr, "unknown log level '%s'\n", log_level.c_str());
    return 2;
  }
  config.lock_dir = no_host_lock ? "" : lock_dir.empty() ? HostLock::default_dir() : lock_dir;
  config.host = host_identity();
  // First: a secrets file others may read is reported whatever else is wrong.
  std::string pass_env_error;
  std::vector<std::string> pass = parse_pass_env(pass_env, &pass_env_error);
  if (!pass_env_error.empty()) {
    spdlog::critical("--pass-env: {}", pass_env_error);
    return 2;
  }
  if (!secrets_file.empty()) {
    std::string error;
    auto secrets = load_secrets_file(secrets_file, &error);
    if (!secrets) {
      spdlog::critical("{}", error);
      return 2;
    }
    config.secrets_file = std::move(*secrets);
  }
  if (auto problem = endpoint_list_problem(config.coordinator); !problem.empty()) {
    spdlog::critical("--coordinator: {}", problem);
    return 2;
  }
  config.environment = environment_of(environ);
  for (const auto& p : default_pass_env()) pass.push_back(p);
  config.step_environment = allowed_environment(config.environment, pass);
  if (!trusted_submitters.empty()) {
    try {
      config.trusted_submitters = std::make_shared<const signing::TrustedSubmitters>(
          signing::read_trusted_submitters(trusted_submitters));
    } catch (const std::exception& e) {
      spdlog::critical("--trusted-submitters: {}", e.what());
      return 2;
    }
  }
  std::error_code ec;
  std::filesystem::create_directories(config.home, ec);
  if (ec) {
    spdlog::critical("cannot create the agent home {}: {}", config.home, ec.message());
    return 2;
  }
  config.home = std::filesystem::canonical(config.home).string();
  config.machine = collect_machine(machine_name);
  config.labels = automatic_labels(config.machine);
  for (const auto& l : parse_labels(labels)) {
    const size_t eq = l.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == l.size()) {
      // A pipeline asks only for key=value labels: this one would match none.
      spdlog::critical("--labels: '{}' is not key=value (as in pool=ci,gpu=yes)", l);
      return 2;
    }
    if (l.rfind("machine=", 0) == 0) {
      spdlog::critical(
          "--labels: '{}': machine= is automatic (the machine's name, --machine); "
          "pick another key",
          l);
      return 2;
    }
    config.labels.insert(l);
  }
  // `on: {machine: NAME}` pins a job to one machine, as `yardstick bisect`
  // does for its runs.
  config.labels.insert("machine=" + config.machine.name);
  if (config.security.insecure) {
    if (!key_file.empty() || !coordinator_key.empty()) {
      spdlog::critical("--insecure turns CURVE off: drop it, or drop --key and --coordinator-key");
      return 2;
    }
    if (!is_local_endpoint_list(config.coordinator)) {
      spdlog::critical("--insecure is accepted only for a loopback or ipc:// coordinator, not {}",
                       config.coordinator);
      return 2;
    }
    spdlog::warn("--insecure: talking to {} without encryption or authentication",
                 config.coordinator);
  } else {
    if (key_file.empty() || coordinator_key.empty()) {
      spdlog::critical(
          "CURVE is on by default: give --key (this agent's NAME.key, from yardstick keygen) and "
          "--coordinator-key (the coordinator's .pub), or --insecure for a loopback coordinator");
      return 2;
    }
    try {
      config.security.own = read_secret_key_file(key_file);
      config.security.server_key = read_public_key(coordinator_key);
    } catch (const KeyFileError& e) {
      spdlog::critical("{}", e.what());
      return 2;
    }
  }

  // Before any thread exists: SIGCHLD is blocked in every thread and read from a signalfd.
  int sigchld_fd = become_subreaper_with_signalfd();
  if (sigchld_fd < 0) {
    spdlog::critical("cannot become a child subreaper: {}", std::strerror(errno));
    return 1;
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGQUIT, on_signal);
  std::signal(SIGPIPE, SIG_IGN);
  spdlog::info("agent {} on machine {} ({}, {} cores): labels {}, {} slots, home {}", config.name,
               config.machine.name, config.machine.cpu_model, config.machine.logical_cores,
               format_labels(config.labels), config.slots, config.home);
  {
    std::string names;
    for (const auto& [name, value] : config.step_environment)
      names += (names.empty() ? "" : " ") + name;
    spdlog::info("steps get from this environment: {}", names.empty() ? "nothing" : names);
    if (!secrets_file.empty())
      spdlog::info("{} secrets from {}", config.secrets_file.size(), secrets_file);
  }

  if (config.trusted_submitters)
    spdlog::info("jobs run here only when signed by a key of {} ({} listed)",
                 config.trusted_submitters->file(), config.trusted_submitters->size());
  else
    spdlog::info("jobs run unsigned: no --trusted-submitters");

  zmq::context_t context(1);
  SystemClock clock;
  PosixLauncher launcher;
  std::error_code self_ec;
  config.self_exe = std::filesystem::read_symlink("/proc/self/exe", self_ec).string();
  if (self_ec) config.self_exe = argv[0];
  Agent agent(config, context, launcher, clock, sigchld_fd);
  agent.run(g_drain, g_stop);
  if (!agent.rejected().empty()) {
    spdlog::critical("the coordinator refuses this agent: {}", agent.rejected());
    return 2;
  }
  return 0;
}
