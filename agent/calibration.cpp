#include "agent/calibration.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "common/atomic_file.hpp"

extern char** environ;

namespace yardstick {

namespace {
constexpr uint64_t kCpuSteps = 10'000'000;
constexpr size_t kMemoryBytes = size_t{64} << 20;
constexpr int kSpawns = 10;
constexpr int kIoFiles = 4;
constexpr size_t kIoFileBytes = size_t{64} << 10;

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

volatile uint64_t g_sink = 0;  // keeps the compiler from dropping the work

void cpu_work() {
  uint64_t x = 0x9E3779B97F4A7C15ull;
  double f = 1.0;
  for (uint64_t i = 0; i < kCpuSteps; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    f = f * 0.999999 + static_cast<double>(x & 0xff);
  }
  g_sink = g_sink + x + static_cast<uint64_t>(f);
}

void memory_work(uint64_t* buffer, size_t words) {
  for (size_t i = 0; i < words; ++i) buffer[i] = buffer[i] * 3 + 1;
  g_sink = g_sink + buffer[words / 2];
}

bool spawn_work(std::string* error) {
  for (int i = 0; i < kSpawns; ++i) {
    pid_t pid = -1;
    char* const argv[] = {const_cast<char*>("true"), nullptr};
    if (int rc = posix_spawn(&pid, "/bin/true", nullptr, nullptr, argv, environ); rc != 0) {
      *error = std::string("cannot start /bin/true: ") + std::strerror(rc);
      return false;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      *error = "/bin/true did not exit with 0";
      return false;
    }
  }
  return true;
}

bool io_work(const std::string& dir, const std::vector<char>& data, std::string* error) {
  std::vector<char> back(data.size());
  for (int i = 0; i < kIoFiles; ++i) {
    const std::string path = dir + "/calibration-" + std::to_string(i) + ".tmp";
    auto fail = [&](const char* what) {
      *error = std::string(what) + " " + path + ": " + std::strerror(errno);
      return false;
    };
    int fd = open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0) return fail("cannot create");
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = write(fd, data.data() + done, data.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        close(fd);
        return fail("cannot write");
      }
      done += static_cast<size_t>(n);
    }
    if (fsync(fd) != 0) {
      close(fd);
      return fail("cannot fsync");
    }
    close(fd);
    fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail("cannot open");
    done = 0;
    while (done < back.size()) {
      ssize_t n = read(fd, back.data() + done, back.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    close(fd);
    if (done != back.size() || back != data) {
      *error = "read back " + path + ": not what was written";
      return false;
    }
    if (unlink(path.c_str()) != 0) return fail("cannot remove");
  }
  return true;
}
}  // namespace

std::vector<CalibrationTimes> run_calibration(const std::string& dir, uint32_t repetitions,
                                              std::string* error) {
  std::vector<CalibrationTimes> out;
  for (const char* name : kCalibrationBenchmarks) out.push_back({name, {}});
  const size_t words = kMemoryBytes / sizeof(uint64_t);
  std::unique_ptr<uint64_t[]> buffer(new uint64_t[words]);
  for (size_t i = 0; i < words; ++i) buffer[i] = i;  // touched: no page fault is timed
  std::vector<char> data(kIoFileBytes);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 131 + 7);
  for (uint32_t rep = 0; rep <= repetitions; ++rep) {  // rep 0 is the warm-up
    double t[4];
    double start = now_s();
    cpu_work();
    t[0] = now_s() - start;
    start = now_s();
    memory_work(buffer.get(), words);
    t[1] = now_s() - start;
    start = now_s();
    if (!spawn_work(error)) return {};
    t[2] = now_s() - start;
    start = now_s();
    if (!io_work(dir, data, error)) return {};
    t[3] = now_s() - start;
    if (rep == 0) continue;
    for (int b = 0; b < 4; ++b) out[b].times_s.push_back(t[b]);
  }
  return out;
}

int calibrate_main(int argc, char** argv) {
  static const char* const kUsage =
      "usage: yardstick-agent calibrate --dir DIR --out FILE [--repetitions 3..1000]\n";
  std::string dir, out;
  uint32_t repetitions = kCalibrationRepetitions;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::printf(
          "%s\n"
          "Runs the machine's calibration micro-benchmarks (cpu, memory, spawn, io) once:\n"
          "one warm-up repetition, then the counted ones, and prints each benchmark's\n"
          "median and noise. A job of kind \"calibrate\" runs this; run by hand, it\n"
          "measures the machine without a coordinator.\n\n"
          "  --dir DIR           folder for the io benchmark's files (made when missing)\n"
          "  --out FILE          where every time is written (common/calibration.hpp's format)\n"
          "  --repetitions N     counted repetitions, 3 to 1000 (default %u)\n",
          kUsage, kCalibrationRepetitions);
      return 0;
    }
    if (i + 1 < argc && arg == "--dir") {
      dir = argv[++i];
    } else if (i + 1 < argc && arg == "--out") {
      out = argv[++i];
    } else if (i + 1 < argc && arg == "--repetitions") {
      repetitions = static_cast<uint32_t>(std::strtoul(argv[++i], nullptr, 10));
    } else {
      std::fprintf(stderr, "yardstick-agent calibrate: unknown argument '%s'\n%s", arg.c_str(),
                   kUsage);
      return 2;
    }
  }
  if (dir.empty() || out.empty() || repetitions < 3 || repetitions > 1000) {
    std::fprintf(stderr, "%s", kUsage);
    return 2;
  }
  // The io benchmark's folder is made when missing, as `mkdir -p` would.
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir)) {
    std::fprintf(stderr, "yardstick-agent calibrate: --dir %s: cannot make the folder: %s\n",
                 dir.c_str(), ec ? ec.message().c_str() : "it is not a folder");
    return 1;
  }
  std::string error;
  auto times = run_calibration(dir, repetitions, &error);
  if (times.empty()) {
    std::fprintf(stderr, "calibration failed: %s\n", error.c_str());
    return 1;
  }
  if (!write_file_atomically(out, format_calibration_file(times), &error)) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  for (const auto& b : times)
    if (auto s = summarize_calibration(b))
      std::printf("calibration %-6s median %9.3f ms  noise %5.1f %%  (%zu runs)\n",
                  s->benchmark.c_str(), s->median_s * 1e3, s->noise * 100, s->runs);
  return 0;
}

}  // namespace yardstick
