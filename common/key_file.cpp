#include "common/key_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace yardstick {

namespace {
// Closes the fd when the read is over, whichever way it ends.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};
}  // namespace

std::optional<KeyFileText> read_key_file(const std::string& path, size_t max_bytes,
                                         std::string* error) {
  const std::string limit = "over the " + std::to_string(max_bytes) + "-byte limit of a key file";
  // O_NONBLOCK: a FIFO in the key's place does not hang the open (it is
  // then refused as not a regular file).
  Fd file{::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)};
  if (file.fd < 0) {
    *error = path + (errno == ELOOP ? ": is a symbolic link; give the key file itself"
                                    : ": cannot open: " + std::string(std::strerror(errno)));
    return std::nullopt;
  }
  struct stat st {};
  if (::fstat(file.fd, &st) != 0) {
    *error = path + ": cannot read: " + std::strerror(errno);
    return std::nullopt;
  }
  if (!S_ISREG(st.st_mode)) {
    *error = path + ": not a regular file";
    return std::nullopt;
  }
  if (st.st_size > static_cast<off_t>(max_bytes)) {
    *error = path + ": " + std::to_string(st.st_size) + " bytes, " + limit;
    return std::nullopt;
  }
  KeyFileText out;
  out.mode = st.st_mode & 07777;
  out.owner = st.st_uid;
  // Read to the end, not to st_size: a file that grows meanwhile still meets the limit.
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(file.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *error = path + ": cannot read: " + std::strerror(errno);
      return std::nullopt;
    }
    if (n == 0) break;
    out.text.append(buf, static_cast<size_t>(n));
    if (out.text.size() > max_bytes) {
      *error = path + ": more than " + std::to_string(max_bytes) + " bytes, " + limit;
      return std::nullopt;
    }
  }
  return out;
}

std::string secret_key_problem(const std::string& path, const KeyFileText& file) {
  if (file.mode & 077) {
    char octal[16];
    std::snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(file.mode));
    return path + ": a secret key must not be readable by others (mode " + octal +
           ": group or others may read or write it); run chmod 600 " + path;
  }
  if (file.owner != ::geteuid() && file.owner != 0)
    return path + ": a secret key owned by user " + std::to_string(file.owner) +
           ", neither this process's user (" + std::to_string(::geteuid()) + ") nor root";
  return "";
}

}  // namespace yardstick
