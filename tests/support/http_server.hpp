// A small HTTP/1.1 server on loopback for tests and benchmarks of health
// checks, the probe and webhooks. Its behaviour can be switched while it
// runs: answer with a status and a body, hang (accept and never answer),
// reset (accept, then close with RST), or be down (listener closed, so
// connections are refused), with the time of each switch recorded.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace yardstick::test {

class HttpServer {
 public:
  enum class Mode { kAnswer, kHang, kReset, kDown };

  HttpServer();  // up, answering 200 "ok", on a free loopback port
  ~HttpServer();

  uint16_t port() const { return port_; }
  std::string url(const std::string& path = "/") const;

  // Switches behaviour; returns when the switch is in effect (for kDown:
  // the listener is closed; from kDown: it listens again on the same port).
  std::chrono::steady_clock::time_point set(Mode mode, int status = 200,
                                            const std::string& body = "ok");
  // Requests seen, each "METHOD PATH\n\nBODY".
  std::vector<std::string> requests() const;
  size_t request_count() const;

 private:
  void listen_socket();
  void loop();
  void serve(int fd);

  uint16_t port_ = 0;
  std::atomic<int> listen_fd_{-1};
  int wake_[2] = {-1, -1};
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  Mode mode_ = Mode::kAnswer;
  int status_ = 200;
  std::string body_ = "ok";
  std::vector<std::string> requests_;
  std::vector<int> hung_;
  std::thread thread_;
};

}  // namespace yardstick::test
