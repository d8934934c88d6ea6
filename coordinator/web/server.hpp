// The dashboard's HTTP server (read-only pages, /healthz, /metrics).
//
// It runs on threads of its own with PostgreSQL connections of its own
// (a small pool, read-only transactions, a statement time limit), and
// shares with the scheduling turn only the atomics of CoordinatorMetrics:
// a slow or hostile HTTP client, or a slow page, never delays a turn.
//
// Bound on loopback by default; any other address needs a bearer token
// (checked by parse_http_options' caller, see main.cpp).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "coordinator/web/metrics.hpp"

namespace yardstick {

struct WebOptions {
  std::string host = "127.0.0.1";
  int port = 7480;                        // 0: any free port (tests)
  std::string token;                      // empty: no authentication
  std::string dsn;                        // PostgreSQL, read with connections of its own
  uint32_t statement_timeout_ms = 5'000;  // one page's queries
  uint32_t connect_timeout_s = 3;
  int threads = 32;        // requests (connections) served at once
  int read_timeout_s = 5;  // a client silent this long is dropped
  size_t pool_size = 4;    // idle connections kept
};

// "off" -> false; "HOST:PORT" or "[V6]:PORT" -> host and port set. Returns
// "" or what is wrong with `text`.
std::string parse_http_address(const std::string& text, bool* enabled, WebOptions* options);
// Whether `host` is a loopback address (127.0.0.0/8, ::1, localhost).
bool is_loopback_host(const std::string& host);
// The token of a token file: its first line, trimmed; "" and `error` set
// when the file cannot be read, is empty, or others may read it.
std::string read_token_file(const std::string& path, std::string* error);

class WebServer {
 public:
  WebServer(WebOptions options, const CoordinatorMetrics& metrics);
  ~WebServer();
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;

  // Binds and starts serving on threads of its own. Throws
  // std::runtime_error when the address cannot be bound.
  void start();
  void stop();
  // The bound address, "HOST:PORT".
  std::string address() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace yardstick
