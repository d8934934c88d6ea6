#include "agent/host_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/text.hpp"

namespace yardstick {

HostLockHold::~HostLockHold() {
  if (fd_ < 0) return;
  // Says nobody holds it; the close releases the lock.
  if (ftruncate(fd_, 0) != 0) {
  }
  close(fd_);
}

HostLock::HostLock(std::string dir) : dir_(std::move(dir)) {
  if (dir_.empty()) return;
  path_ = dir_ + "/host.lock";
  if (mkdir(dir_.c_str(), 01777) == 0) chmod(dir_.c_str(), 01777);  // past the umask
}

std::string HostLock::default_dir() {
  const char* run = "/run/yardstick";
  struct stat st {};
  if (stat(run, &st) == 0 ? access(run, W_OK) == 0
                          : (mkdir(run, 01777) == 0 && chmod(run, 01777) == 0))
    return run;
  return "/tmp/yardstick";
}

std::unique_ptr<HostLockHold> HostLock::try_acquire(const std::string& who, std::string* error) {
  error->clear();
  if (!enabled()) return std::make_unique<HostLockHold>(-1);
  const int fd = open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
  if (fd < 0) {
    *error = "cannot open the host lock " + path_ + ": " + std::strerror(errno);
    return nullptr;
  }
  fchmod(fd, 0666);  // agents of other users open it too (fails harmlessly if not ours)
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int e = errno;
    close(fd);
    if (e != EWOULDBLOCK) *error = "cannot lock " + path_ + ": " + std::strerror(e);
    return nullptr;
  }
  const std::string line = who + "\n";
  if (ftruncate(fd, 0) != 0 || pwrite(fd, line.data(), line.size(), 0) < 0) {
    // Held all the same; only the note of who holds it is missing.
  }
  return std::make_unique<HostLockHold>(fd);
}

std::string HostLock::holder() const {
  if (!enabled()) return "";
  std::ifstream in(path_);
  std::string line;
  std::getline(in, line);
  return trim(line);
}

bool needs_host_lock(const JobAssignment& job) {
  if (job.slots == kExclusiveSlots) return true;  // an exclusive bench, a calibration
  return job.kind == JobKind::kDeploy && job.deploy && job.deploy->probe &&
         job.deploy->probe->host_lock;
}

std::string host_identity() {
  std::ifstream in("/etc/machine-id");
  std::string id;
  std::getline(in, id);
  id = trim(id);
  if (!id.empty()) return id;
  char name[256] = {};
  gethostname(name, sizeof name - 1);
  return name;
}

}  // namespace yardstick
