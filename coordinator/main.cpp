// yardstick-coordinator: parses flags, wires the store, the clock and the
// sockets into a Coordinator, and runs it until SIGINT or SIGTERM.
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdlib>

#include "common/clock.hpp"
#include "common/log.hpp"
#include "common/version.hpp"
#include "common/zmq_util.hpp"
#include "coordinator/server.hpp"
#include "coordinator/store.hpp"

namespace {
std::atomic<bool> g_stop{false};
void on_signal(int) {
  g_stop = true;
}
}  // namespace

int main(int argc, char** argv) {
  using namespace yardstick;
  CLI::App app{"yardstick-coordinator: schedules build, benchmark and deploy jobs on agents"};
  app.set_version_flag("--version", version_string("yardstick-coordinator"));
  std::string db;
  CoordinatorConfig config;
  std::string log_level = "info";
  app.add_option("--db", db, "PostgreSQL connection string")->envname("YARDSTICK_DB")->required();
  app.add_option("--agents", config.agents_endpoint, "ZeroMQ endpoint agents connect to")
      ->envname("YARDSTICK_AGENTS_ENDPOINT")
      ->capture_default_str();
  app.add_option("--clients", config.clients_endpoint, "ZeroMQ endpoint the CLI connects to")
      ->envname("YARDSTICK_CLIENTS_ENDPOINT")
      ->capture_default_str();
  app.add_option("--heartbeat-ms", config.heartbeat_interval_ms, "agent heartbeat interval")
      ->envname("YARDSTICK_HEARTBEAT_MS")
      ->capture_default_str()
      ->check(CLI::Range(50u, 600000u));
  app.add_option("--lease-ms", config.lease_ms, "an agent silent this long is lost")
      ->envname("YARDSTICK_LEASE_MS")
      ->capture_default_str()
      ->check(CLI::Range(200u, 3600000u));
  app.add_option("--queue-timeout-ms", config.queue_timeout_ms,
                 "a queued job that no connected agent can take fails after this long")
      ->envname("YARDSTICK_QUEUE_TIMEOUT_MS")
      ->capture_default_str()
      ->check(CLI::Range(100u, 604'800'000u));
  app.add_option("--log-cap", config.log_cap_bytes,
                 "bytes of one job attempt's log kept in PostgreSQL: the first and the last half")
      ->envname("YARDSTICK_LOG_CAP")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{64} << 10, uint64_t{1} << 40));
  PgOptions writer_options, reader_options;
  reader_options.statement_timeout_ms = 10'000;
  app.add_option("--statement-timeout-ms", writer_options.statement_timeout_ms,
                 "PostgreSQL statement time limit of the writer connection (0: none)")
      ->envname("YARDSTICK_STATEMENT_TIMEOUT_MS")
      ->capture_default_str();
  app.add_option("--read-timeout-ms", reader_options.statement_timeout_ms,
                 "time limit of one client read (status, logs, reports) on the read connection")
      ->envname("YARDSTICK_READ_TIMEOUT_MS")
      ->capture_default_str();
  app.add_option("--ready-file", config.ready_file,
                 "write the bound endpoints here once listening (for scripts and tests)")
      ->envname("YARDSTICK_READY_FILE");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->envname("YARDSTICK_LOG_LEVEL")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (!setup_logging("coordinator", log_level)) {
    std::fprintf(stderr, "unknown log level '%s'\n", log_level.c_str());
    return 2;
  }
  for (const auto& [flag, ep] :
       {std::pair<const char*, std::string>{"--agents", config.agents_endpoint},
        {"--clients", config.clients_endpoint}})
    if (auto problem = endpoint_problem(ep); !problem.empty()) {
      spdlog::error("{}: {}", flag, problem);
      return 2;
    }
  if (config.lease_ms <= config.heartbeat_interval_ms) {
    spdlog::error("--lease-ms ({}) must be longer than --heartbeat-ms ({})", config.lease_ms,
                  config.heartbeat_interval_ms);
    return 2;
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGPIPE, SIG_IGN);

  zmq::context_t context(1);
  SystemClock clock;
  PgStore store(db, writer_options);
  PgStore reader(db, reader_options);
  Coordinator coordinator(config, context, store, reader, clock);
  try {
    coordinator.start();
  } catch (const StoreError& e) {
    spdlog::critical("cannot start: {}", e.what());
    return e.retryable() ? 3 : 4;
  } catch (const zmq::error_t& e) {
    spdlog::critical("cannot listen on {} (agents) and {} (clients): {}", config.agents_endpoint,
                     config.clients_endpoint, e.what());
    return 3;
  }
  coordinator.run(g_stop);
  return 0;
}
