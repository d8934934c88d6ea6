// Integration test support: a real PostgreSQL, real coordinator and agent
// processes on loopback with random ports, and the real CLI.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "common/curve.hpp"

namespace yardstick::test {

// Path of a built binary: "yardstick", "yardstick-agent", "yardstick-coordinator".
std::string binary(const std::string& name);
std::string source_dir();
// A fresh temporary folder, removed by the caller (or left for debugging).
std::string make_temp_dir(const std::string& prefix);

// A PostgreSQL server for the whole test process: $YARDSTICK_TEST_DSN when
// set, else a throw-away cluster (tests/support/pg.sh) stopped at exit.
// Each call makes a new, empty database and returns its DSN.
std::string create_test_database();
// A new database at an older schema: the migrations of sql/migrations
// numbered below `version`, applied and recorded as a coordinator of that
// time would have. For tests of upgrades on data written then.
std::string create_test_database_before(int version);
// Drops a database create_test_database() made (kept with
// YARDSTICK_KEEP_TEST_DIRS, as the test folders are).
void drop_test_database(const std::string& dsn);

// A child process in its own process group, output to a log file.
class Process {
 public:
  Process(std::vector<std::string> argv, std::string log_path,
          std::map<std::string, std::string> env = {});
  ~Process();
  pid_t pid() const { return pid_; }
  void signal(int sig);
  // Waits for exit; returns the status waitpid() gave (WIFEXITED,
  // WEXITSTATUS... apply; 0 for exit 0), also when running() or an earlier
  // wait() reaped it; -1 on timeout.
  int wait(std::chrono::milliseconds timeout);
  // False once it exited (it is then reaped and its status kept for wait()).
  bool running();
  const std::string& log_path() const { return log_; }
  std::string log() const;

 private:
  pid_t pid_ = -1;
  std::string log_;
  bool reaped_ = false;
  int status_ = 0;  // waitpid()'s status, once reaped
};

struct CliResult {
  int code = -1;
  std::string out;
  std::string err;
};

// A PostgreSQL cluster of one test's own, for tests that stop and start it.
class PrivatePg {
 public:
  PrivatePg();
  ~PrivatePg();
  void stop();
  void start();  // on the same port
  void kill();   // stops as a crash would: no shutdown checkpoint
  // A streaming replica of this (started) cluster, itself started.
  std::unique_ptr<PrivatePg> replica();
  void promote();  // a replica becomes a primary
  const std::string& dsn() const { return dsn_; }
  std::string port() const;

 private:
  struct Empty {};
  explicit PrivatePg(Empty);
  std::string dir_, dsn_;
};

// Peak resident memory of a live process (VmHWM), in KiB; -1 when unknown.
long peak_rss_kb(pid_t pid);

// How often `needle` occurs in `text`.
size_t count_of(const std::string& text, const std::string& needle);

// Waits until `pred` holds; false on timeout.
bool wait_for(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

// One coordinator with its own database, and agents connected to it.
class Cluster {
 public:
  struct Options {
    uint32_t heartbeat_ms = 300;
    uint32_t lease_ms = 2000;
    std::string dsn;                            // empty: a new database on the shared server
    std::vector<std::string> coordinator_args;  // more flags for the coordinator
    bool insecure = false;                      // no CURVE (everything else runs with keys)
    // Calibrate each new machine when its first agent registers (the
    // coordinator's default); off elsewhere, so that no other test's agent
    // is busy calibrating when its jobs arrive.
    bool calibrate_new_machines = false;
    // How long the coordinator may take to start (its migrations included).
    std::chrono::seconds start_timeout{30};
  };
  Cluster();
  explicit Cluster(Options options);
  ~Cluster();

  void start_coordinator();  // on the same ports as before when restarted
  Process& coordinator() { return *coordinator_; }
  void kill_coordinator();  // SIGKILL, and reap

  // A second coordinator on the same database, keys and flags, on ports
  // of its own; returns once it says it is a standby. Agents added after
  // it and cli() are given both coordinators' endpoints.
  Process& start_standby();
  Process& standby() { return *standby_; }
  // What agents and the CLI are given: the coordinator's endpoint, and
  // the standby's after it when there is one.
  std::string agents_endpoints() const;
  std::string clients_endpoints() const;

  // Starts an agent and waits until it is registered.
  Process& add_agent(const std::string& name, const std::string& labels, const std::string& machine,
                     uint32_t slots = 1, std::vector<std::string> extra = {});
  Process& agent(const std::string& name) { return *agents_.at(name); }
  // Starts agent `name` again (same home and flags) after it stopped; waits for its registration.
  Process& restart_agent(const std::string& name);
  // Waits until the coordinator's log, from byte `log_from` on, says agent
  // `name` registered (a hello handled: its turn committed before the
  // welcome was sent); false on timeout.
  bool wait_registered(const std::string& name, size_t log_from,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10));
  std::string agent_home(const std::string& name) const { return dir_ + "/home-" + name; }
  std::string agent_name(const std::string& short_name) const { return prefix_ + short_name; }

  // Runs the CLI against this coordinator (unless args start with
  // --coordinator), in `cwd` (default: the cluster's folder).
  CliResult cli(std::vector<std::string> args, const std::string& cwd = "");
  // Writes `text` to a file in the cluster's folder; returns its path.
  std::string write_file(const std::string& name, const std::string& text);

  // PostgreSQL: a new connection per query, so tests see committed data.
  pqxx::result query(const std::string& sql);
  int64_t scalar(const std::string& sql);
  std::string text(const std::string& sql);

  // Every log byte of a job attempt, in order.
  std::string stored_log(int64_t job, int attempt);

  // CURVE. Keys are made with `yardstick keygen`: the coordinator's, one
  // client key of each role ("submitter": submit, "reader": read), and one
  // per agent, listed with its full name. Empty paths when insecure.
  bool insecure() const { return options_.insecure; }
  std::string key_file(const std::string& key_name) const {
    return dir_ + "/keys/" + key_name + ".key";
  }
  std::string coordinator_public_key_file() const { return dir_ + "/keys/coordinator.pub"; }
  std::string authorized_agents_file() const { return dir_ + "/keys/agents.txt"; }
  std::string authorized_clients_file() const { return dir_ + "/keys/clients.txt"; }
  // Makes a key pair `key_name` (keys/NAME.key, .pub) with the real CLI.
  CurveKeyPair make_key(const std::string& key_name);
  // Lists an agent key under `agent_name` and has the coordinator reload
  // (SIGHUP), waiting until it did.
  CurveKeyPair authorize_agent(const std::string& agent_name);
  std::vector<CurveKeyPair> authorize_agents(const std::vector<std::string>& agent_names);
  // What the CLI library needs to talk to this coordinator as `key_name`.
  ClientSecurity client_security(const std::string& key_name = "submitter") const;
  // Appends a line to a key file and reloads; for tests of the files themselves.
  void append_and_reload(const std::string& file, const std::string& line);
  void reload_keys();
  // Sets CURVE with `own` on a raw socket before it connects (nothing when insecure).
  void secure(zmq::socket_t& socket, const CurveKeyPair& own) const;
  CurveKeyPair client_key(const std::string& key_name = "submitter") const;

  const std::string& dir() const { return dir_; }
  const std::string& dsn() const { return dsn_; }
  const std::string& clients_endpoint() const { return clients_; }
  const std::string& agents_endpoint() const { return agents_ep_; }
  // The dashboard's HOST:PORT (with --http in coordinator_args); "" when off.
  const std::string& http_address() const { return http_; }

 private:
  Options options_;
  std::string dir_, dsn_, prefix_;
  std::string clients_ = "tcp://127.0.0.1:*", agents_ep_ = "tcp://127.0.0.1:*";
  std::string http_;
  std::unique_ptr<Process> coordinator_;
  std::map<std::string, std::unique_ptr<Process>> agents_;
  std::map<std::string, std::vector<std::string>> agent_argv_;
  Process& launch_agent(const std::string& name, const std::vector<std::string>& argv);
  std::vector<std::string> coordinator_argv(const std::string& agents, const std::string& clients,
                                            const std::string& ready) const;
  std::unique_ptr<Process> standby_;
  std::string standby_agents_, standby_clients_;
  int coordinator_starts_ = 0;
  std::string coordinator_public_;
};

}  // namespace yardstick::test
