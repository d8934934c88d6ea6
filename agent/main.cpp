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
#include "agent/fingerprint.hpp"
#include "agent/process.hpp"
#include "common/clock.hpp"
#include "common/log.hpp"
#include "common/version.hpp"
#include "common/zmq_util.hpp"

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
  CLI::App app{"yardstick-agent: runs build, benchmark and deploy jobs for a coordinator"};
  app.set_version_flag("--version", version_string("yardstick-agent"));
  AgentConfig config;
  std::string labels, machine_name, log_level = "info";
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  config.name = host;
  config.home = std::string(std::getenv("HOME") ? std::getenv("HOME") : "/tmp") + "/.yardstick";
  app.add_option("--coordinator", config.coordinator, "the coordinator's agents endpoint")
      ->envname("YARDSTICK_AGENTS_ENDPOINT")
      ->capture_default_str();
  app.add_option("--name", config.name, "this agent's unique name")
      ->envname("YARDSTICK_AGENT_NAME")
      ->capture_default_str();
  app.add_option("--labels", labels, "extra labels, k=v,k2=v2 (os=, arch=, tool= are automatic)")
      ->envname("YARDSTICK_AGENT_LABELS");
  app.add_option("--slots", config.slots, "jobs run at once")
      ->envname("YARDSTICK_AGENT_SLOTS")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1024u));
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
  app.add_flag("--allow-absolute-workdir", config.allow_absolute_workdir,
               "let jobs run in an absolute workdir (by default a job's workdir must stay inside "
               "its workspace)")
      ->envname("YARDSTICK_ALLOW_ABSOLUTE_WORKDIR");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->envname("YARDSTICK_LOG_LEVEL")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (!setup_logging("agent", log_level)) {
    std::fprintf(stderr, "unknown log level '%s'\n", log_level.c_str());
    return 2;
  }
  if (auto problem = endpoint_problem(config.coordinator); !problem.empty()) {
    spdlog::critical("--coordinator: {}", problem);
    return 2;
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
  for (const auto& l : parse_labels(labels)) config.labels.insert(l);
  if (!is_local_endpoint(config.coordinator))
    spdlog::warn("connecting to {} WITHOUT encryption or authentication", config.coordinator);

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

  zmq::context_t context(1);
  SystemClock clock;
  PosixLauncher launcher;
  Agent agent(config, context, launcher, clock, sigchld_fd);
  agent.run(g_drain, g_stop);
  if (!agent.rejected().empty()) {
    spdlog::critical("the coordinator refuses this agent: {}", agent.rejected());
    return 2;
  }
  return 0;
}
