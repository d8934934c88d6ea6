#include "tests/support/http_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace yardstick::test {

namespace {

const char* reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 404:
      return "Not Found";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

}  // namespace

HttpServer::HttpServer() {
  if (pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) throw std::runtime_error("pipe");
  listen_socket();
  thread_ = std::thread([this] { loop(); });
}

HttpServer::~HttpServer() {
  stop_ = true;
  (void)!write(wake_[1], "x", 1);
  thread_.join();
  if (listen_fd_ >= 0) close(listen_fd_);
  for (int fd : hung_) close(fd);
  close(wake_[0]);
  close(wake_[1]);
}

std::string HttpServer::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void HttpServer::listen_socket() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port_);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 512) != 0) {
    close(fd);
    throw std::runtime_error(std::string("test HTTP server: bind/listen: ") + strerror(errno));
  }
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  listen_fd_ = fd;
}

std::chrono::steady_clock::time_point HttpServer::set(Mode mode, int status,
                                                      const std::string& body) {
  std::lock_guard lock(mu_);
  if (mode == Mode::kDown && listen_fd_ >= 0) {
    // The loop polls the listener: take it away under the lock, then close.
    // shutdown() stops the listening at once (Linux), even while the loop's
    // poll() still holds the socket: connections are refused from here on.
    int fd = listen_fd_.exchange(-1);
    shutdown(fd, SHUT_RDWR);
    (void)!write(wake_[1], "x", 1);
    close(fd);
  } else if (mode != Mode::kDown && listen_fd_ < 0) {
    listen_socket();
    (void)!write(wake_[1], "x", 1);
  }
  mode_ = mode;
  status_ = status;
  body_ = body;
  return std::chrono::steady_clock::now();
}

std::vector<std::string> HttpServer::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

size_t HttpServer::request_count() const {
  std::lock_guard lock(mu_);
  return requests_.size();
}

void HttpServer::loop() {
  while (!stop_) {
    pollfd fds[2] = {{wake_[0], POLLIN, 0}, {-1, POLLIN, 0}};
    {
      std::lock_guard lock(mu_);
      fds[1].fd = listen_fd_;
    }
    poll(fds, fds[1].fd >= 0 ? 2 : 1, 100);
    if (fds[0].revents & POLLIN) {
      char buf[64];
      while (read(wake_[0], buf, sizeof buf) > 0) {
      }
    }
    if (fds[1].fd < 0 || !(fds[1].revents & POLLIN)) continue;
    std::lock_guard lock(mu_);
    if (listen_fd_ != fds[1].fd) continue;  // closed meanwhile
    int c = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    serve(c);
  }
}

// Called with mu_ held.
void HttpServer::serve(int fd) {
  // Read the request head (and a body of Content-Length bytes).
  std::string in;
  char buf[4096];
  timeval tv{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  size_t need = std::string::npos;
  while (true) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    in.append(buf, n);
    const size_t head = in.find("\r\n\r\n");
    if (head == std::string::npos) continue;
    if (need == std::string::npos) {
      need = head + 4;
      const char* cl = strcasestr(in.c_str(), "\r\ncontent-length:");
      if (cl && cl < in.c_str() + head) need += std::strtoul(cl + 17, nullptr, 10);
    }
    if (in.size() >= need) break;
  }
  const size_t sp1 = in.find(' '), sp2 = in.find(' ', sp1 + 1), head = in.find("\r\n\r\n");
  if (sp1 != std::string::npos && sp2 != std::string::npos)
    requests_.push_back(in.substr(0, sp2) + "\n\n" +
                        (head == std::string::npos ? "" : in.substr(head + 4)));
  switch (mode_) {
    case Mode::kHang:
      hung_.push_back(fd);
      return;
    case Mode::kReset: {
      linger l{1, 0};
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
      close(fd);
      return;
    }
    default:
      break;
  }
  std::string out =
      "HTTP/1.1 " + std::to_string(status_) + " " + reason(status_) +
      "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body_.size()) +
      "\r\nConnection: close\r\n\r\n" + body_;
  (void)!write(fd, out.data(), out.size());
  close(fd);
}

}  // namespace yardstick::test
