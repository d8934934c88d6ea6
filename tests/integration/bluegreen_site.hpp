// The blue/green example (deploy/examples/bluegreen) on free loopback
// ports: nginx and the supervisor started by `bluegreen.sh up`, stopped by
// `down`. The script's output goes to DIR.out, kept when a test failed.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

namespace yardstick::testing {

inline bool port_free(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

class BlueGreenSite {
 public:
  BlueGreenSite() {
    // Below the kernel's ephemeral range: the new colour's port is bound
    // only at the release, and a client socket of any other test may take
    // an ephemeral port meanwhile (it did: green never came up).
    int low = 32768, high = 60999;
    std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> low >> high;
    const int top = low > 11000 ? low - 3 : 40000;
    std::mt19937 rng(std::random_device{}());
    do port_ = 10000 + static_cast<int>(rng() % static_cast<unsigned>(top - 10000));
    while (!port_free(port_) || !port_free(port_ + 1) || !port_free(port_ + 2));
    dir_ = std::filesystem::temp_directory_path() /
           ("yardstick-bluegreen-" + std::to_string(getpid()) + "-" + std::to_string(port_));
  }
  // Stops nginx and the services; keeps the script's output when `keep_output`.
  void down(bool keep_output) {
    run("down");
    std::filesystem::remove_all(dir_);
    if (!keep_output)
      std::filesystem::remove(dir_.string() + ".out");
    else
      std::fprintf(stderr, "bluegreen.sh output: %s.out\n", dir_.c_str());
  }
  int run(const std::string& args, const std::string& env = "") const {
    const std::string cmd = "BLUEGREEN_DIR=" + dir_.string() +
                            " BLUEGREEN_PORT=" + std::to_string(port_) + " " + env + " " +
                            script() + " " + args + " >>" + dir_.string() + ".out 2>&1";
    const int rc = std::system(cmd.c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }
  static std::string script() {
    return YARDSTICK_SOURCE_DIR "/deploy/examples/bluegreen/bluegreen.sh";
  }
  std::string url(const std::string& path = "/") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int port() const { return port_; }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  int port_ = 0;
  std::filesystem::path dir_;
};

}  // namespace yardstick::testing
