// The metrics file steps append to ($YARDSTICK_METRICS), read as the agent
// reads it after each step: the input is written in two parts (split at a
// point its first byte chooses), each part followed by a read from the
// offset the previous read left.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "agent/collectors.hpp"

using namespace yardstick;

namespace {
int file() {
  static int fd = memfd_create("metrics", 0);
  return fd;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int fd = file();
  if (fd < 0) __builtin_trap();
  const size_t split = 1 + (size - 1) * data[0] / 255;
  if (ftruncate(fd, 0) != 0) __builtin_trap();
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  size_t offset = 0;
  std::vector<std::string> warnings;
  size_t n = 0;
  for (auto [from, to] : {std::pair<size_t, size_t>{1, split}, {split, size}}) {
    if (pwrite(fd, data + from, to - from, static_cast<off_t>(from - 1)) !=
        static_cast<ssize_t>(to - from))
      __builtin_trap();
    const size_t was = offset;
    for (const auto& m : read_metrics_file(path, &offset, &warnings)) n += m.name.size();
    if (offset < was || offset > size - 1) __builtin_trap();
  }
  if (n == 0xdeadbeef) __builtin_trap();
  return 0;
}
