#include "coordinator/web/server.hpp"

#include <httplib.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <charconv>
#include <chrono>
#include <fstream>
#include <mutex>
#include <vector>

#include <pqxx/pqxx>

#include "coordinator/store/pg_dashboard.hpp"
#include "coordinator/store/pg_session.hpp"
#include "coordinator/web/pages.hpp"

namespace yardstick {

std::string parse_http_address(const std::string& text, bool* enabled, WebOptions* options) {
  if (text == "off" || text.empty()) {
    *enabled = false;
    return "";
  }
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return "'" + text + "' is not HOST:PORT (e.g. 127.0.0.1:7480) or off";
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  const std::string port = text.substr(colon + 1);
  int p = -1;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || end != port.data() + port.size() || p < 0 || p > 65535)
    return "'" + port + "' is not a port number (0 to 65535)";
  *enabled = true;
  options->host = host;
  options->port = p;
  return "";
}

bool is_loopback_host(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

std::string read_token_file(const std::string& path, std::string* error) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    *error = path + ": cannot be read";
    return "";
  }
  if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    *error = path + ": its group or others may read or write it (chmod 600 " + path + ")";
    return "";
  }
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front()))) line.erase(0, 1);
  if (line.size() < 16) {
    *error = path + ": the token on its first line is shorter than 16 characters";
    return "";
  }
  return line;
}

namespace {

// Idle read connections, shared by the HTTP threads (never by the turn).
class ConnectionPool {
 public:
  ConnectionPool(std::string dsn, size_t keep) : dsn_(std::move(dsn)), keep_(keep) {}
  std::unique_ptr<pqxx::connection> acquire() {
    {
      std::lock_guard lock(mutex_);
      if (!idle_.empty()) {
        auto c = std::move(idle_.back());
        idle_.pop_back();
        return c;
      }
    }
    return std::make_unique<pqxx::connection>(dsn_);
  }
  void release(std::unique_ptr<pqxx::connection> c) {
    if (!c || !c->is_open()) return;
    std::lock_guard lock(mutex_);
    if (idle_.size() < keep_) idle_.push_back(std::move(c));
  }
  void clear() {
    std::lock_guard lock(mutex_);
    idle_.clear();
  }

 private:
  std::string dsn_;
  size_t keep_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;
};

bool same_token(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// cpp-httplib listens with a backlog of 5, compiled in: beside a few
// dozen clients connecting at once the kernel drops connections before
// they are accepted (clients see a read error). listen() again on the
// bound socket (found by its port) raises it; Linux allows that.
void raise_backlog(int port) {
  for (int fd = 0; fd < 4096; ++fd) {
    int listening = 0;
    socklen_t len = sizeof listening;
    if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) continue;
    sockaddr_storage addr{};
    socklen_t alen = sizeof addr;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &alen) != 0) continue;
    int bound = -1;
    if (addr.ss_family == AF_INET) bound = ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
    if (addr.ss_family == AF_INET6)
      bound = ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
    if (bound == port) ::listen(fd, SOMAXCONN);
  }
}

int64_t now_unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

web::Params params_of(const httplib::Request& req) {
  return web::Params(req.params.begin(), req.params.end());
}

}  // namespace

struct WebServer::Impl {
  Impl(WebOptions o, const CoordinatorMetrics& m)
      : options(std::move(o)),
        metrics(m),
        pool(dsn_with_options(options.dsn, pg_options(options)), options.pool_size) {}

  static PgOptions pg_options(const WebOptions& o) {
    PgOptions p;
    p.connect_timeout_s = o.connect_timeout_s;
    p.statement_timeout_ms = o.statement_timeout_ms;
    return p;
  }

  // Runs `render` in a read-only transaction of a pooled connection; the
  // database's failures become a 503 error page, bad requests their own.
  template <typename F>
  void with_db(httplib::Response& res, const char* type, F&& render) {
    std::unique_ptr<pqxx::connection> conn;
    try {
      conn = pool.acquire();
      std::string body;
      {
        pqxx::read_transaction tx(*conn);
        body = render(tx);
      }
      res.set_content(body, type);
      pool.release(std::move(conn));
    } catch (const web::HttpError& e) {
      pool.release(std::move(conn));
      res.status = e.status;
      res.set_content(web::error_page(e.status, e.what()), "text/html; charset=utf-8");
    } catch (const pqxx::broken_connection& e) {
      pool.clear();  // the others were to the same server
      unavailable(res, std::string("PostgreSQL cannot be reached: ") + e.what());
    } catch (const pqxx::sql_error& e) {
      const std::string state = e.sqlstate();
      if (state == "57014") {
        pool.release(std::move(conn));
        unavailable(res, "the page's query ran past its time limit");
      } else if (state.rfind("08", 0) == 0 || state.rfind("57P", 0) == 0) {
        pool.clear();
        unavailable(res, std::string("PostgreSQL is unavailable: ") + e.what());
      } else {
        // A report's own failure (a bad value for its variable) is the request's.
        if (conn && conn->is_open()) pool.release(std::move(conn));
        res.status = 400;
        res.set_content(web::error_page(400, std::string("the query failed: ") + e.what()),
                        "text/html; charset=utf-8");
      }
    } catch (const std::exception& e) {
      spdlog::warn("dashboard: {}", e.what());
      res.status = 500;
      res.set_content(web::error_page(500, e.what()), "text/html; charset=utf-8");
    }
  }

  static void unavailable(httplib::Response& res, const std::string& why) {
    res.status = 503;
    res.set_header("Retry-After", "5");
    res.set_content(web::error_page(503, why), "text/html; charset=utf-8");
  }

  // 200 "ok" when PostgreSQL answers, the sockets are bound and the
  // scheduling loop turned recently; else 503 with every reason.
  void healthz(httplib::Response& res) {
    std::vector<std::string> problems;
    if (!metrics.sockets_bound.load()) problems.push_back("the ZeroMQ sockets are not bound");
    const int64_t since = now_unix_ms() - metrics.last_turn_unix_ms.load();
    if (since > 10'000)
      problems.push_back("the scheduling loop has not turned for " + std::to_string(since / 1000) +
                         " s");
    if (!metrics.store_up.load()) problems.push_back("the scheduler cannot write to PostgreSQL");
    try {
      auto conn = pool.acquire();
      {
        pqxx::read_transaction tx(*conn);
        tx.exec("SELECT 1");
      }
      pool.release(std::move(conn));
    } catch (const std::exception& e) {
      pool.clear();
      std::string what = e.what();
      while (!what.empty() && (what.back() == '\n' || what.back() == ' ')) what.pop_back();
      problems.push_back("PostgreSQL does not answer: " + what);
    }
    std::string body = problems.empty() ? "ok\n" : "";
    for (const auto& p : problems) body += p + "\n";
    res.status = problems.empty() ? 200 : 503;
    res.set_header("Cache-Control", "no-store");
    res.set_content(body, "text/plain; charset=utf-8");
  }

  void metrics_page(httplib::Response& res) {
    StoredCounts stored;
    try {
      auto conn = pool.acquire();
      {
        pqxx::read_transaction tx(*conn);
        for (const auto& r : dashboard_sql::refusal_counts(tx))
          stored.refusals.emplace_back(r[0].as<std::string>(), r[1].as<uint64_t>());
      }
      stored.available = true;
      pool.release(std::move(conn));
    } catch (const std::exception&) {
      pool.clear();  // the turn's own series still tell the story
    }
    res.set_content(render_metrics(metrics, stored), "text/plain; version=0.0.4; charset=utf-8");
  }

  void routes() {
    using httplib::Request;
    using httplib::Response;
    const char* html = "text/html; charset=utf-8";
    server.set_pre_routing_handler([this](const Request& req, Response& res) {
      res.set_header("X-Content-Type-Options", "nosniff");
      res.set_header("Content-Security-Policy",
                     "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
                     "connect-src 'self'; img-src 'self'");
      if (req.method != "GET" && req.method != "HEAD") {
        res.status = 405;
        res.set_content(web::error_page(405, "the dashboard is read-only: GET only"),
                        "text/html; charset=utf-8");
        return httplib::Server::HandlerResponse::Handled;
      }
      if (options.token.empty() || req.path == "/healthz")
        return httplib::Server::HandlerResponse::Unhandled;
      const std::string auth = req.get_header_value("Authorization");
      if (auth.rfind("Bearer ", 0) == 0 && same_token(auth.substr(7), options.token))
        return httplib::Server::HandlerResponse::Unhandled;
      res.status = 401;
      res.set_header("WWW-Authenticate", "Bearer");
      res.set_content("a bearer token is required\n", "text/plain; charset=utf-8");
      return httplib::Server::HandlerResponse::Handled;
    });
    server.Get("/healthz", [this](const Request&, Response& res) { healthz(res); });
    server.Get("/metrics", [this](const Request&, Response& res) { metrics_page(res); });
    server.Get("/", [this, html](const Request& req, Response& res) {
      with_db(res, html,
              [&](pqxx::transaction_base& tx) { return web::home_page(tx, params_of(req)); });
    });
    server.Get(R"(/pipelines/([^/]+))", [this, html](const Request& req, Response& res) {
      with_db(res, html, [&](pqxx::transaction_base& tx) {
        return web::pipeline_page(tx, web::parse_id(req.matches[1], "the pipeline id"));
      });
    });
    server.Get(R"(/jobs/([^/]+)/log\.json)", [this](const Request& req, Response& res) {
      with_db(res, "application/json", [&](pqxx::transaction_base& tx) {
        return web::job_log_json(tx, web::parse_id(req.matches[1], "the job id"), params_of(req));
      });
    });
    server.Get(R"(/jobs/([^/]+))", [this, html](const Request& req, Response& res) {
      with_db(res, html, [&](pqxx::transaction_base& tx) {
        return web::job_page(tx, web::parse_id(req.matches[1], "the job id"), params_of(req));
      });
    });
    server.Get(R"(/compare/([^/]+))", [this, html](const Request& req, Response& res) {
      with_db(res, html, [&](pqxx::transaction_base& tx) {
        return web::compare_page(tx, web::parse_id(req.matches[1], "the pipeline id"));
      });
    });
    server.Get("/trends", [this, html](const Request& req, Response& res) {
      with_db(res, html,
              [&](pqxx::transaction_base& tx) { return web::trends_page(tx, params_of(req)); });
    });
    server.Get("/machines", [this, html](const Request& req, Response& res) {
      with_db(res, html,
              [&](pqxx::transaction_base& tx) { return web::machines_page(tx, params_of(req)); });
    });
    server.Get("/deploys", [this, html](const Request& req, Response& res) {
      with_db(res, html,
              [&](pqxx::transaction_base& tx) { return web::deploys_page(tx, params_of(req)); });
    });
    server.Get("/reports", [html](const Request&, Response& res) {
      res.set_content(web::reports_index(), html);
    });
    server.Get(R"(/reports/([A-Za-z0-9_]+))", [this, html](const Request& req, Response& res) {
      const bool csv = req.get_param_value("format") == "csv";
      auto params = params_of(req);
      params.erase("format");
      with_db(res, csv ? "text/csv; charset=utf-8" : html, [&](pqxx::transaction_base& tx) {
        return web::report_page(tx, req.matches[1], params, csv);
      });
      if (csv && res.status == 200)
        res.set_header("Content-Disposition",
                       "attachment; filename=\"" + std::string(req.matches[1]) + ".csv\"");
    });
    server.set_error_handler([](const Request&, Response& res) {
      if (!res.body.empty()) return;
      res.set_content(web::error_page(res.status, res.status == 404 ? "no such page"
                                                                    : "the request was refused"),
                      "text/html; charset=utf-8");
    });
  }

  WebOptions options;
  const CoordinatorMetrics& metrics;
  ConnectionPool pool;
  httplib::Server server;
  std::thread thread;
  int bound_port = -1;
};

WebServer::WebServer(WebOptions options, const CoordinatorMetrics& metrics)
    : impl_(std::make_unique<Impl>(std::move(options), metrics)) {}

WebServer::~WebServer() {
  stop();
}

void WebServer::start() {
  Impl& i = *impl_;
  const int threads = i.options.threads;
  i.server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  i.server.set_read_timeout(i.options.read_timeout_s, 0);
  i.server.set_write_timeout(i.options.read_timeout_s, 0);
  // An idle connection holds a serving thread this long (1 s).
  i.server.set_keep_alive_timeout(1);
  i.server.set_keep_alive_max_count(100);
  i.server.set_payload_max_length(64 << 10);
  // cpp-httplib writes the head and the body apart: without this, Nagle's
  // algorithm and the client's delayed ACK hold every answer 40 ms.
  i.server.set_tcp_nodelay(true);
  // No SO_REUSEPORT (httplib's default): a second coordinator on the same
  // port must fail to bind, not share it.
  i.server.set_socket_options([](int sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  i.routes();
  if (i.options.port == 0)
    i.bound_port = i.server.bind_to_any_port(i.options.host);
  else
    i.bound_port = i.server.bind_to_port(i.options.host, i.options.port) ? i.options.port : -1;
  if (i.bound_port <= 0)
    throw std::runtime_error("the dashboard cannot listen on " + i.options.host + ":" +
                             std::to_string(i.options.port) +
                             " (in use, or not an address of this host)");
  raise_backlog(i.bound_port);
  i.thread = std::thread([&i] { i.server.listen_after_bind(); });
  spdlog::info("dashboard on http://{}{}", address(),
               i.options.token.empty() ? "" : " (bearer token required)");
}

void WebServer::stop() {
  if (!impl_ || !impl_->thread.joinable()) return;
  impl_->server.stop();
  impl_->thread.join();
}

std::string WebServer::address() const {
  const std::string& h = impl_->options.host;
  return (h.find(':') != std::string::npos ? "[" + h + "]" : h) + ":" +
         std::to_string(impl_->bound_port);
}

}  // namespace yardstick
