#include "tests/integration/harness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "agent/process.hpp"

namespace yardstick::test {

namespace fs = std::filesystem;

std::string binary(const std::string& name) {
  // YARDSTICK_BIN_DIR: the binaries of another build laid out as a build
  // tree, so that a benchmark compares two builds side by side in one run.
  const char* other = std::getenv("YARDSTICK_BIN_DIR");
  const std::string dir = other && *other ? other : YARDSTICK_BUILD_DIR;
  if (name == "yardstick") return dir + "/coordinator/cli/yardstick";
  if (name == "yardstick-coordinator") return dir + "/coordinator/yardstick-coordinator";
  return dir + "/agent/" + name;
}

std::string source_dir() {
  return YARDSTICK_SOURCE_DIR;
}

std::string create_test_database_before(int version) {
  const std::string dsn = create_test_database();
  pqxx::connection conn(dsn);
  pqxx::work w(conn);
  w.exec0(
      "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
      " applied_at timestamptz NOT NULL DEFAULT now())");
  std::vector<fs::path> files;
  for (const auto& f : fs::directory_iterator(YARDSTICK_SOURCE_DIR "/sql/migrations"))
    files.push_back(f.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    const std::string base = f.stem().string();
    const int v = std::stoi(base.substr(0, 4));
    if (v >= version) break;
    std::ifstream in(f);
    std::stringstream sql;
    sql << in.rdbuf();
    w.exec(sql.str());
    w.exec_params("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", v,
                  base.substr(5));
  }
  w.commit();
  return dsn;
}

std::string make_temp_dir(const std::string& prefix) {
  std::string tmpl = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

namespace {
// Removes a test's folder without throwing: a daemon it started (nginx)
// may be deleting its own pid file at the same moment, which fails
// remove_all's walk; a few tries outlast it.
void remove_tree(const std::string& dir) {
  for (int i = 0; i < 10; ++i) {
    std::error_code ec;
    fs::remove_all(dir, ec);
    if (!ec) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

std::string run_capture(const std::string& cmd, int* status = nullptr) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) throw std::runtime_error("popen failed: " + cmd);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int rc = pclose(p);
  if (status) *status = rc;
  return out;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

struct PgServer {
  std::string base_dsn;
  std::string dir;  // set when this process started the cluster
  std::atomic<int> counter{0};
  PgServer() {
    if (const char* dsn = std::getenv("YARDSTICK_TEST_DSN"); dsn && *dsn) {
      base_dsn = dsn;
      return;
    }
    dir = make_temp_dir("yardstick-pg");
    int rc = 0;
    base_dsn = trim(run_capture(source_dir() + "/tests/support/pg.sh start " + dir, &rc));
    if (rc != 0) throw std::runtime_error("cannot start PostgreSQL: " + base_dsn);
  }
  ~PgServer() {
    if (!dir.empty()) {
      run_capture(source_dir() + "/tests/support/pg.sh stop " + dir);
      remove_tree(dir);
    }
  }
};

PgServer& pg() {
  static PgServer server;
  return server;
}

std::string with_dbname(const std::string& dsn, const std::string& db) {
  // Replace (or add) dbname=... in a key=value DSN.
  std::istringstream in(dsn);
  std::string word, out;
  while (in >> word)
    if (word.rfind("dbname=", 0) != 0) out += word + " ";
  return out + "dbname=" + db;
}
}  // namespace

void drop_test_database(const std::string& dsn) {
  // Hundreds of databases left behind keep autovacuum busy on the shared
  // server: load that the timed tests at the end of a run then measure as
  // a neighbour (it is one).
  const size_t at = dsn.find("dbname=ys_test_");
  if (at == std::string::npos || std::getenv("YARDSTICK_KEEP_TEST_DIRS")) return;
  const std::string name = dsn.substr(at + 7, dsn.find(' ', at) - at - 7);
  try {
    pqxx::connection c(pg().base_dsn);
    pqxx::nontransaction w(c);
    w.exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
  } catch (const std::exception&) {
    // A test that stopped the server leaves it; the next run's server is new.
  }
}

std::string create_test_database() {
  PgServer& server = pg();
  std::string name = "ys_test_" + std::to_string(getpid()) + "_" + std::to_string(server.counter++);
  pqxx::connection c(server.base_dsn);
  pqxx::nontransaction w(c);
  w.exec("DROP DATABASE IF EXISTS " + name);
  w.exec("CREATE DATABASE " + name);
  return with_dbname(server.base_dsn, name);
}

Process::Process(std::vector<std::string> argv, std::string log_path,
                 std::map<std::string, std::string> env)
    : log_(std::move(log_path)) {
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    int fd = open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    for (auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    execv(args[0], args.data());
    _exit(127);
  }
}

Process::~Process() {
  if (!reaped_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    wait(std::chrono::seconds(5));
  }
}

void Process::signal(int sig) {
  if (!reaped_) ::kill(pid_, sig);
}

int Process::wait(std::chrono::milliseconds timeout) {
  if (reaped_) return status_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      status_ = status;
      return status;
    }
    if (std::chrono::steady_clock::now() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

bool Process::running() {
  if (reaped_) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    reaped_ = true;
    status_ = status;
    return false;
  }
  return true;
}

std::string Process::log() const {
  std::ifstream in(log_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

bool wait_for(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

Cluster::Cluster() : Cluster(Options{}) {}

PrivatePg::PrivatePg() {
  dir_ = make_temp_dir("yardstick-private-pg");
  start();
}

PrivatePg::~PrivatePg() {
  run_capture(source_dir() + "/tests/support/pg.sh stop " + dir_);
  remove_tree(dir_);
}

void PrivatePg::start() {
  std::string port;
  if (fs::exists(dir_ + "/port")) port = trim(run_capture("cat " + dir_ + "/port"));
  int rc = 0;
  dsn_ = trim(run_capture(source_dir() + "/tests/support/pg.sh start " + dir_ + " " + port, &rc));
  if (rc != 0) throw std::runtime_error("cannot start PostgreSQL: " + dsn_);
}

void PrivatePg::stop() {
  run_capture(source_dir() + "/tests/support/pg.sh stop " + dir_);
}

void PrivatePg::kill() {
  run_capture(source_dir() + "/tests/support/pg.sh kill " + dir_);
}

PrivatePg::PrivatePg(Empty) : dir_(make_temp_dir("yardstick-private-pg")) {}

std::unique_ptr<PrivatePg> PrivatePg::replica() {
  std::unique_ptr<PrivatePg> r(new PrivatePg(Empty{}));
  int rc = 0;
  r->dsn_ =
      trim(run_capture(source_dir() + "/tests/support/pg.sh replica " + dir_ + " " + r->dir_, &rc));
  if (rc != 0) throw std::runtime_error("cannot start a replica: " + r->dsn_);
  return r;
}

void PrivatePg::promote() {
  int rc = 0;
  const std::string out = run_capture(source_dir() + "/tests/support/pg.sh promote " + dir_, &rc);
  if (rc != 0) throw std::runtime_error("cannot promote the replica: " + out);
}

std::string PrivatePg::port() const {
  return trim(run_capture("cat " + dir_ + "/port"));
}

long peak_rss_kb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  return -1;
}

Cluster::Cluster(Options options) : options_(options) {
  dir_ = make_temp_dir("yardstick-it");
  dsn_ = options_.dsn.empty() ? create_test_database() : options_.dsn;
  prefix_ = "t" + std::to_string(getpid()) + "-" + fs::path(dir_).filename().string() + "-";
  // The clones `yardstick bisect` keeps (and `bisect: auto` runs from the
  // coordinator) stay in the cluster's folder.
  ::setenv("XDG_CACHE_HOME", (dir_ + "/cache").c_str(), 1);
  if (!options_.insecure) {
    fs::create_directories(dir_ + "/keys");
    coordinator_public_ = make_key("coordinator").public_key;
    const auto submitter = make_key("submitter"), reader = make_key("reader");
    std::ofstream(authorized_clients_file()) << "# key name role\n"
                                             << submitter.public_key << " submitter submit\n"
                                             << reader.public_key << " reader read\n";
    std::ofstream(authorized_agents_file()) << "# key agent-name\n";
  }
  start_coordinator();
}

CurveKeyPair Cluster::make_key(const std::string& key_name) {
  const std::string base = dir_ + "/keys/" + key_name;
  int rc = 0;
  std::string out =
      run_capture("'" + binary("yardstick") + "' keygen --out '" + base + "' 2>&1", &rc);
  if (rc != 0) throw std::runtime_error("yardstick keygen failed: " + out);
  return read_secret_key_file(base + ".key");
}

CurveKeyPair Cluster::authorize_agent(const std::string& agent_name) {
  return authorize_agents({agent_name}).front();
}

std::vector<CurveKeyPair> Cluster::authorize_agents(const std::vector<std::string>& agent_names) {
  std::vector<CurveKeyPair> keys;
  std::ofstream list(authorized_agents_file(), std::ios::app);
  for (const auto& name : agent_names) {
    // The library call `yardstick keygen` makes (one process less per agent).
    keys.push_back(generate_curve_keypair());
    write_curve_keypair(dir_ + "/keys/agent-" + name, keys.back());
    list << keys.back().public_key << " " << name << "\n";
  }
  list.close();
  reload_keys();
  return keys;
}

ClientSecurity Cluster::client_security(const std::string& key_name) const {
  ClientSecurity s;
  s.insecure = options_.insecure;
  if (!s.insecure) {
    s.own = client_key(key_name);
    s.server_key = coordinator_public_;
  }
  return s;
}

void Cluster::append_and_reload(const std::string& file, const std::string& line) {
  std::ofstream(file, std::ios::app) << line << "\n";
  reload_keys();
}

void Cluster::reload_keys() {
  // The coordinator, and the standby when there is one (a coordinator that
  // exited reloads nothing).
  for (Process* p : {coordinator_.get(), standby_.get()}) {
    if (!p || !p->running()) continue;
    auto count = [&] {
      const std::string log = p->log();
      int n = 0;
      for (size_t at = 0; (at = log.find("authorized keys ", at)) != std::string::npos; ++at)
        if (log.compare(at, 26, "authorized keys reloaded: ") == 0 ||
            log.compare(at, 19, "authorized keys NOT") == 0)
          ++n;
      return n;
    };
    const int before = count();  // the log is appended to across restarts
    p->signal(SIGHUP);
    if (!wait_for([&] { return count() > before; }, std::chrono::seconds(10)))
      throw std::runtime_error("the coordinator did not reload its keys:\n" + p->log());
  }
}

void Cluster::secure(zmq::socket_t& socket, const CurveKeyPair& own) const {
  if (options_.insecure) return;
  ClientSecurity s;
  s.own = own;
  s.server_key = coordinator_public_;
  apply_client_security(socket, s);
}

CurveKeyPair Cluster::client_key(const std::string& key_name) const {
  return read_secret_key_file(key_file(key_name));
}

Cluster::~Cluster() {
  for (auto& [name, a] : agents_) a->signal(SIGKILL);
  if (coordinator_) coordinator_->signal(SIGKILL);
  if (standby_) standby_->signal(SIGKILL);
  agents_.clear();
  coordinator_.reset();
  standby_.reset();
  // Whatever a killed agent left running (its steps run in their own sessions).
  PosixLauncher launcher;
  for (int round = 0; round < 3; ++round) {
    int n = 0;
    std::ifstream names(dir_ + "/agents.txt");
    std::string name;
    while (std::getline(names, name))
      n += launcher.signal_tagged_anywhere("YARDSTICK_AGENT=" + name, SIGKILL);
    if (n == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!std::getenv("YARDSTICK_KEEP_TEST_DIRS")) remove_tree(dir_);
  if (options_.dsn.empty()) drop_test_database(dsn_);
}

namespace {
// A TCP port nobody listens on now (bound, then closed).
std::string free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error("cannot find a free port");
  ::close(fd);
  return std::to_string(ntohs(addr.sin_port));
}
}  // namespace

Process& Cluster::start_standby() {
  standby_agents_ = "tcp://127.0.0.1:" + free_port();
  standby_clients_ = "tcp://127.0.0.1:" + free_port();
  standby_ = std::make_unique<Process>(
      coordinator_argv(standby_agents_, standby_clients_, dir_ + "/standby-ready"),
      dir_ + "/standby.log");
  if (!wait_for([&] { return standby_->log().find("standby: ") != std::string::npos; },
                std::chrono::seconds(30)))
    throw std::runtime_error("the standby did not start:\n" + standby_->log());
  return *standby_;
}

std::string Cluster::agents_endpoints() const {
  return standby_ ? agents_ep_ + "," + standby_agents_ : agents_ep_;
}

std::string Cluster::clients_endpoints() const {
  return standby_ ? clients_ + "," + standby_clients_ : clients_;
}

void Cluster::start_coordinator() {
  const std::string ready = dir_ + "/ready";
  fs::remove(ready);
  ++coordinator_starts_;
  coordinator_ = std::make_unique<Process>(coordinator_argv(agents_ep_, clients_, ready),
                                           dir_ + "/coordinator.log");
  if (!wait_for([&] { return fs::exists(ready); }, options_.start_timeout))
    throw std::runtime_error("the coordinator did not start:\n" + coordinator_->log());
  std::ifstream in(ready);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("agents=", 0) == 0) agents_ep_ = line.substr(7);
    if (line.rfind("clients=", 0) == 0) clients_ = line.substr(8);
    if (line.rfind("http=", 0) == 0) http_ = line.substr(5);
  }
}

std::vector<std::string> Cluster::coordinator_argv(const std::string& agents,
                                                   const std::string& clients,
                                                   const std::string& ready) const {
  std::vector<std::string> argv = {binary("yardstick-coordinator"),
                                   "--db",
                                   dsn_,
                                   "--agents",
                                   agents,
                                   "--clients",
                                   clients,
                                   "--heartbeat-ms",
                                   std::to_string(options_.heartbeat_ms),
                                   "--lease-ms",
                                   std::to_string(options_.lease_ms),
                                   "--ready-file",
                                   ready,
                                   "--log-level",
                                   "debug"};
  if (options_.insecure) {
    argv.push_back("--insecure");
  } else {
    for (const std::string& a :
         std::vector<std::string>{"--secret-key", key_file("coordinator"), "--authorized-agents",
                                  authorized_agents_file(), "--authorized-clients",
                                  authorized_clients_file(), "--bisect-key", key_file("submitter")})
      argv.push_back(a);
  }
  if (!options_.calibrate_new_machines) argv.push_back("--no-calibrate-new-machines");
  // The dashboard only where a test asks for it (--http 127.0.0.1:0):
  // coordinators of tests running side by side would share its port.
  if (std::find(options_.coordinator_args.begin(), options_.coordinator_args.end(), "--http") ==
      options_.coordinator_args.end()) {
    argv.push_back("--http");
    argv.push_back("off");
  }
  for (const auto& a : options_.coordinator_args) argv.push_back(a);
  return argv;
}

void Cluster::kill_coordinator() {
  coordinator_->signal(SIGKILL);
  coordinator_->wait(std::chrono::seconds(10));
}

Process& Cluster::add_agent(const std::string& name, const std::string& labels,
                            const std::string& machine, uint32_t slots,
                            std::vector<std::string> extra) {
  const std::string full = prefix_ + name;
  {
    std::ofstream names(dir_ + "/agents.txt", std::ios::app);
    names << full << "\n";
  }
  std::vector<std::string> argv = {binary("yardstick-agent"),
                                   "--coordinator",
                                   agents_endpoints(),
                                   "--name",
                                   full,
                                   "--labels",
                                   labels,
                                   "--machine",
                                   machine,
                                   "--slots",
                                   std::to_string(slots),
                                   "--home",
                                   dir_ + "/home-" + name,
                                   "--log-level",
                                   "debug"};
  // One cluster is one host: its agents share a host lock, and other
  // clusters (tests running at the same time) do not wait for it. A test
  // that gives its own --lock-dir or --no-host-lock decides for itself.
  const bool own_lock = std::any_of(extra.begin(), extra.end(), [](const std::string& a) {
    return a == "--no-host-lock" || a.rfind("--lock-dir", 0) == 0;
  });
  if (!own_lock) {
    argv.push_back("--lock-dir");
    argv.push_back(dir_ + "/host-lock");
  }
  if (options_.insecure) {
    argv.push_back("--insecure");
  } else {
    authorize_agent(full);
    for (const std::string& a :
         std::vector<std::string>{"--key", key_file("agent-" + full), "--coordinator-key",
                                  coordinator_public_key_file()})
      argv.push_back(a);
  }
  for (auto& e : extra) argv.push_back(e);
  agent_argv_[name] = argv;
  return launch_agent(name, argv);
}

Process& Cluster::restart_agent(const std::string& name) {
  // The coordinator may still hold the stopped agent's session (its lease
  // not yet out) and report it connected: wait for this process's hello.
  const size_t log_from = coordinator().log().size();
  Process& p = launch_agent(name, agent_argv_.at(name));
  if (!wait_registered(name, log_from, std::chrono::seconds(30)))
    throw std::runtime_error("agent " + name + " did not register again:\n" + p.log());
  return p;
}

bool Cluster::wait_registered(const std::string& name, size_t log_from,
                              std::chrono::milliseconds timeout) {
  const std::string line = "agent " + agent_name(name) + " registered";
  return wait_for([&] { return coordinator().log().find(line, log_from) != std::string::npos; },
                  timeout);
}

Process& Cluster::launch_agent(const std::string& name, const std::vector<std::string>& argv) {
  const std::string full = prefix_ + name;
  auto p = std::make_unique<Process>(argv, dir_ + "/agent-" + name + ".log");
  Process& ref = *p;
  agents_[name] = std::move(p);
  // Registered: the coordinator has stored it and reports it connected.
  bool ok = wait_for(
      [&] {
        auto r = cli({"agents", "--json"});
        return r.code == 0 && r.out.find("\"" + full + "\"") != std::string::npos &&
               r.out.find("\"connected\": true") != std::string::npos &&
               scalar("SELECT count(*) FROM agents WHERE name = '" + full + "'") == 1;
      },
      std::chrono::seconds(30));
  if (!ok) throw std::runtime_error("agent " + name + " did not register:\n" + ref.log());
  return ref;
}

CliResult Cluster::cli(std::vector<std::string> args, const std::string& cwd) {
  // Keys through the environment, so that flags a test gives still win.
  // The CLI's own cache (bisect's clones) in the cluster's folder.
  std::string cmd =
      "cd '" + (cwd.empty() ? dir_ : cwd) + "' && XDG_CACHE_HOME='" + dir_ + "/cache' " +
      (options_.insecure
           ? std::string("YARDSTICK_INSECURE=1 ")
           : "YARDSTICK_KEY='" + key_file("submitter") + "' YARDSTICK_COORDINATOR_KEY='" +
                 coordinator_public_key_file() + "' ") +
      "'" + binary("yardstick") + "'";
  if (args.empty() || args[0] != "--coordinator")
    cmd += " --coordinator '" + clients_endpoints() + "'";
  for (auto& a : args) {
    std::string q = "'";
    for (char c : a) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    cmd += " " + q + "'";
  }
  // A file of its own per call: calls from two threads (a waiting submit
  // and a status meanwhile) must not truncate each other's standard error.
  static std::atomic<uint64_t> calls{0};
  const std::string err_file = dir_ + "/cli-" + std::to_string(++calls) + ".err";
  cmd += " 2>'" + err_file + "'";
  CliResult r;
  int status = 0;
  r.out = run_capture(cmd, &status);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  {
    std::ifstream e(err_file);
    std::stringstream ss;
    ss << e.rdbuf();
    r.err = ss.str();
  }
  std::error_code ec;
  fs::remove(err_file, ec);
  return r;
}

std::string Cluster::write_file(const std::string& name, const std::string& text) {
  std::string path = dir_ + "/" + name;
  std::ofstream out(path);
  out << text;
  return path;
}

pqxx::result Cluster::query(const std::string& sql) {
  pqxx::connection c(dsn_);
  pqxx::work w(c);
  auto r = w.exec(sql);
  w.commit();
  return r;
}

std::string Cluster::stored_log(int64_t job, int attempt) {
  auto rows = query("SELECT data FROM log_chunks WHERE job_id = " + std::to_string(job) +
                    " AND attempt = " + std::to_string(attempt) + " ORDER BY id");
  std::string out;
  for (const auto& r : rows) out += pqxx::binarystring(r[0]).str();
  return out;
}

int64_t Cluster::scalar(const std::string& sql) {
  auto r = query(sql);
  if (r.empty() || r[0][0].is_null()) return 0;
  return r[0][0].as<int64_t>();
}

std::string Cluster::text(const std::string& sql) {
  auto r = query(sql);
  if (r.empty() || r[0][0].is_null()) return "";
  return r[0][0].as<std::string>();
}

}  // namespace yardstick::test
