// yardstick-coordinator: parses flags, wires the store, the clock and the
// sockets into a Coordinator, and runs it until SIGINT or SIGTERM.
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <thread>

#include "common/clock.hpp"
#include "common/curve.hpp"
#include "common/log.hpp"
#include "common/pipeline.hpp"
#include "common/version.hpp"
#include "common/zmq_util.hpp"
#include "coordinator/auto_bisect.hpp"
#include "coordinator/change_detector.hpp"
#include "coordinator/coordinator.hpp"
#include "coordinator/notifier.hpp"
#include "coordinator/store/pg_leader.hpp"
#include "coordinator/store/pg_store.hpp"
#include "coordinator/web/server.hpp"
#include "coordinator/zap.hpp"

namespace {
std::atomic<bool> g_stop{false};
yardstick::ZapHandler* g_zap = nullptr;
void on_signal(int) {
  g_stop = true;
}
void on_hangup(int) {
  if (g_zap) g_zap->request_reload();
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
  app.add_option("--max-heartbeats-per-second", config.max_heartbeats_per_s,
                 "heartbeats the fleet sends per second at most: a larger fleet is given a "
                 "longer interval and lease, in proportion (0: a fixed interval)")
      ->capture_default_str();
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
  app.add_option_function<std::string>(
         "--keep-logs",
         [&](const std::string& text) {
           const auto ms = parse_duration_ms(text);
           if (!ms || *ms < 86'400'000)
             throw CLI::ValidationError("--keep-logs",
                                        "expected a duration of a day or more, such as 90d");
           config.keep_logs_ms = *ms;
         },
         "drop stored logs by month once older than this (90d, 2160h); measured numbers are "
         "kept forever (default: logs kept forever)")
      ->envname("YARDSTICK_KEEP_LOGS");
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
  std::string secret_key_file, authorized_agents, authorized_clients;
  bool insecure = false;
  app.add_option("--secret-key", secret_key_file,
                 "the coordinator's CURVE secret key file (yardstick keygen --out NAME writes "
                 "NAME.key; give NAME.pub to agents and users)")
      ->envname("YARDSTICK_SECRET_KEY");
  app.add_option("--authorized-agents", authorized_agents,
                 "public keys of the agents admitted, one 'KEY NAME' a line (reloaded on SIGHUP)")
      ->envname("YARDSTICK_AUTHORIZED_AGENTS");
  app.add_option("--authorized-clients", authorized_clients,
                 "public keys of the CLI users admitted, one 'KEY NAME ROLE' a line, ROLE read "
                 "or submit (reloaded on SIGHUP)")
      ->envname("YARDSTICK_AUTHORIZED_CLIENTS");
  AutoBisect::Options bisect_options;
  bisect_options.command = default_bisect_command();
  app.add_option("--bisect-key", bisect_options.key_file,
                 "a client secret key of the submit role that `bisect: auto` runs `yardstick "
                 "bisect` with (with CURVE; without it, no bisection starts by itself)")
      ->envname("YARDSTICK_BISECT_KEY");
  app.add_option("--bisect-command", bisect_options.command,
                 "the yardstick CLI that `bisect: auto` runs (default: the one beside this "
                 "program, else yardstick on the PATH)")
      ->envname("YARDSTICK_BISECT_COMMAND");
  app.add_flag("--insecure", insecure,
               "no CURVE: no encryption, no authentication; only when both endpoints are "
               "loopback or ipc://")
      ->envname("YARDSTICK_INSECURE");
  app.add_flag("--calibrate-new-machines,!--no-calibrate-new-machines",
               config.calibrate_new_machines,
               "calibrate a machine whose fingerprint was never calibrated when its first agent "
               "registers (default: on)")
      ->envname("YARDSTICK_CALIBRATE_NEW_MACHINES");
  std::string http = "127.0.0.1:7480", http_token_file;
  WebOptions web_options;
  app.add_option("--http", http,
                 "the dashboard, /healthz and /metrics: HOST:PORT, or off (any address but "
                 "loopback needs --http-token-file)")
      ->envname("YARDSTICK_HTTP")
      ->capture_default_str();
  app.add_option("--http-token-file", http_token_file,
                 "a file (mode 0600) whose first line is the bearer token every HTTP request but "
                 "/healthz must carry")
      ->envname("YARDSTICK_HTTP_TOKEN_FILE");
  app.add_option("--http-threads", web_options.threads, "HTTP requests served at once")
      ->envname("YARDSTICK_HTTP_THREADS")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  uint32_t standby_poll_ms = 500;
  app.add_option("--standby-poll-ms", standby_poll_ms,
                 "while another coordinator on the same database leads, try to take over this "
                 "often (a leader silent for a lease is cut off)")
      ->envname("YARDSTICK_STANDBY_POLL_MS")
      ->capture_default_str()
      ->check(CLI::Range(50u, 60000u));
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
  zmq::context_t context(1);
  std::unique_ptr<ZapHandler> zap;  // destroyed before the context it uses
  if (insecure) {
    if (!secret_key_file.empty() || !authorized_agents.empty() || !authorized_clients.empty()) {
      spdlog::error(
          "--insecure turns CURVE off: drop it, or drop --secret-key and the "
          "authorized keys");
      return 2;
    }
    for (const auto& ep : {config.agents_endpoint, config.clients_endpoint})
      if (!is_local_endpoint(ep)) {
        spdlog::error(
            "--insecure is accepted only on loopback or ipc:// endpoints, not {}: "
            "make keys with `yardstick keygen` instead",
            ep);
        return 2;
      }
  } else {
    if (secret_key_file.empty() || authorized_agents.empty() || authorized_clients.empty()) {
      spdlog::error(
          "CURVE is on by default: give --secret-key, --authorized-agents and "
          "--authorized-clients (make keys with `yardstick keygen --out NAME`), or --insecure "
          "on a loopback-only coordinator");
      return 2;
    }
    try {
      const CurveKeyPair pair = read_secret_key_file(secret_key_file);
      config.secret_key = pair.secret_key;
      bisect_options.coordinator_key = pair.public_key;
      zap = std::make_unique<ZapHandler>(context, authorized_agents, authorized_clients);
    } catch (const KeyFileError& e) {
      spdlog::error("{}", e.what());
      return 2;
    }
  }
  bool http_on = false;
  if (auto problem = parse_http_address(http, &http_on, &web_options); !problem.empty()) {
    spdlog::error("--http: {}", problem);
    return 2;
  }
  if (http_on && !http_token_file.empty()) {
    std::string error;
    web_options.token = read_token_file(http_token_file, &error);
    if (web_options.token.empty()) {
      spdlog::error("--http-token-file {}", error);
      return 2;
    }
  }
  if (http_on && web_options.token.empty() && !is_loopback_host(web_options.host)) {
    spdlog::error(
        "--http {}: the dashboard listens beyond this host only with a bearer token: give "
        "--http-token-file FILE (mode 0600, one line), or bind 127.0.0.1 and put a TLS reverse "
        "proxy in front (docs/dashboard.md)",
        http);
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
  if (zap) {
    zap->start();
    g_zap = zap.get();
    std::signal(SIGHUP, on_hangup);
  }

  SystemClock clock;
  CoordinatorMetrics metrics;  // outlives the dashboard and the coordinator, which use it
  std::unique_ptr<WebServer> web;
  if (http_on) {
    web_options.dsn = db;
    web = std::make_unique<WebServer>(web_options, metrics);
    try {
      web->start();
    } catch (const std::exception& e) {
      spdlog::critical("cannot start: {}", e.what());
      return 3;
    }
    config.http_address = web->address();
  }
  PgWriter writer(db, writer_options);
  PgReader reader(db, reader_options);
  Notifier notifier;  // webhooks of `notify:`; outlives the coordinator
  // Searches ended pipelines' series for change points, on its own thread
  // and connection; stopped before the notifier it posts to.
  AutoBisect bisect(bisect_options);  // `bisect: auto`: started by the change detector
  ChangeDetector changes(db, ChangeDetector::Options{}, &notifier, &bisect);
  Coordinator coordinator(config, context, writer.store(), reader.reader(), clock, zap.get());
  coordinator.set_notifier(&notifier);
  coordinator.set_metrics(&metrics);
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  PgLeadership leadership(writer.session, std::string(host) + ":" + std::to_string(getpid()),
                          2 * int64_t{standby_poll_ms});
  coordinator.set_leadership(&leadership);
  try {
    writer.session.connect();
    spdlog::info("database schema at version {}", migrate(writer.session));
    changes.start();
    try {
      reader.session.connect();
    } catch (const StoreError& e) {
      spdlog::warn("read connection: {} (reads connect again on demand)", e.what());
    }
    // Another coordinator may lead on this database: wait as its standby,
    // sockets unbound, until its lock is free (or its heartbeat is older
    // than a lease, and its session is cut).
    std::string said;
    while (!g_stop) {
      try {
        if (leadership.try_lead()) break;
        const LeaderRow row = leadership.current();
        const std::string now = row.holder + "/" + std::to_string(row.epoch);
        if (now != said)
          spdlog::info(
              "standby: {} leads (epoch {}, agents at {}, clients at {}); trying to take over "
              "every {} ms",
              row.holder, row.epoch, row.agents_endpoint, row.clients_endpoint, standby_poll_ms);
        said = now;
        if (leadership.cut_stale_leader(config.lease_ms))
          spdlog::warn(
              "standby: the leader {} kept no heartbeat for {:.1f} s (lease {} ms): its database "
              "session was cut",
              row.holder, row.heartbeat_age_s, config.lease_ms);
      } catch (const StoreError& e) {
        spdlog::warn("standby: {}", e.what());
      }
      for (uint32_t waited = 0; waited < standby_poll_ms && !g_stop; waited += 10)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (g_stop) return 0;
    spdlog::info("leading (epoch {})", leadership.epoch());
    // Keys listed while this coordinator waited were reloaded by the
    // leader only: read the files again.
    if (zap && !said.empty()) zap->request_reload();
    coordinator.start();
    bisect.set_endpoint(coordinator.clients_endpoint());
    leadership.advertise(coordinator.agents_endpoint(), coordinator.clients_endpoint());
  } catch (const StoreError& e) {
    spdlog::critical("cannot start: {}", e.what());
    return e.retryable() ? 3 : 4;
  } catch (const zmq::error_t& e) {
    spdlog::critical("cannot listen on {} (agents) and {} (clients): {}", config.agents_endpoint,
                     config.clients_endpoint, e.what());
    return 3;
  } catch (const std::exception& e) {
    spdlog::critical("cannot start: {}", e.what());
    return 3;
  }
  try {
    coordinator.run(g_stop);
  } catch (const LostLeadership& e) {
    // Nothing more is written (the database refuses this epoch) or sent:
    // a restart comes back as a standby.
    spdlog::critical("stopping: {}", e.what());
    return 6;
  } catch (const std::exception& e) {
    // Every message has a boundary of its own; what reaches here is the
    // loop's own failure (a socket): said, and a restart recovers from the store.
    spdlog::critical("the coordinator stopped: {}", e.what());
    return 5;
  }
  g_zap = nullptr;
  return 0;
}
