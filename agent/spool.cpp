#include "agent/spool.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <set>

namespace yardstick {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kRecordMagic = 0x31525359;  // "YSR1" as little-endian bytes
constexpr size_t kHeaderBytes = 32;
constexpr size_t kCrcCoveredHeaderBytes = 28;
constexpr size_t kAckEntryBytes = 16;
constexpr size_t kCompactMinDeadSlots = 1024;

constexpr std::string_view kSegmentPrefix = "spool-";
constexpr size_t kSegmentIdDigits = 12;

constexpr std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kCrcTable = make_crc_table();

void put_u32(char* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
void put_u64(char* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
uint32_t get_u32(const char* in) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t(static_cast<unsigned char>(in[i])) << (8 * i);
  return v;
}
uint64_t get_u64(const char* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t(static_cast<unsigned char>(in[i])) << (8 * i);
  return v;
}

// Fills a record header for `key` and `payload`, checksum included.
void encode_header(char* header, const ResultKey& key, std::string_view payload) {
  put_u32(header + 0, kRecordMagic);
  put_u32(header + 4, static_cast<uint32_t>(payload.size()));
  put_u64(header + 8, key.job_id);
  put_u64(header + 16, key.seq);
  put_u32(header + 24, key.attempt);
  uint32_t crc = spool_crc32({header, kCrcCoveredHeaderBytes});
  put_u32(header + 28, spool_crc32(payload, crc));
}

// The key of a record whose header and payload (`length_bytes` following it in
// memory) pass their checks, or nullopt.
std::optional<ResultKey> decode_record(const char* header, uint32_t* length_bytes) {
  if (get_u32(header) != kRecordMagic) return std::nullopt;
  uint32_t length = get_u32(header + 4);
  uint32_t crc = spool_crc32({header, kCrcCoveredHeaderBytes});
  crc = spool_crc32({header + kHeaderBytes, length}, crc);
  if (crc != get_u32(header + 28)) return std::nullopt;
  *length_bytes = length;
  return ResultKey{get_u64(header + 8), get_u32(header + 24), get_u64(header + 16)};
}

std::string encode_ack_entry(uint64_t offset_bytes, uint32_t length_bytes) {
  std::string entry(kAckEntryBytes, '\0');
  put_u64(entry.data(), offset_bytes);
  put_u32(entry.data() + 8, length_bytes);
  put_u32(entry.data() + 12, spool_crc32({entry.data(), 12}));
  return entry;
}

// "spool-000000000042.log" -> 42 with extension ".log"; nullopt for any other name.
std::optional<uint64_t> parse_segment_name(const std::string& name, std::string* extension) {
  if (name.size() != kSegmentPrefix.size() + kSegmentIdDigits + 4) return std::nullopt;
  if (name.compare(0, kSegmentPrefix.size(), kSegmentPrefix) != 0) return std::nullopt;
  uint64_t id = 0;
  for (size_t i = 0; i < kSegmentIdDigits; ++i) {
    char c = name[kSegmentPrefix.size() + i];
    if (c < '0' || c > '9') return std::nullopt;
    id = id * 10 + uint64_t(c - '0');
  }
  *extension = name.substr(kSegmentPrefix.size() + kSegmentIdDigits);
  if (*extension != ".log" && *extension != ".ack") return std::nullopt;
  return id;
}

struct SegmentFile {
  uint64_t id = 0;
  std::string extension;  // ".log" or ".ack"
};

// The segment files in `dir`; logs (and stops at) a listing error, never throws.
std::vector<SegmentFile> list_segment_files(const std::string& dir) {
  std::vector<SegmentFile> out;
  std::error_code ec;
  fs::directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    SegmentFile file;
    if (auto id = parse_segment_name(it->path().filename().string(), &file.extension)) {
      file.id = *id;
      out.push_back(std::move(file));
    }
  }
  if (ec) spdlog::error("spool: cannot list {}: {}", dir, ec.message());
  return out;
}

// Reads the whole file behind `fd`; false on a read error (errno set).
bool read_whole(int fd, std::string* out) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return false;
  out->resize(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < out->size()) {
    ssize_t n = pread(fd, out->data() + done, out->size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) break;  // shrank under us: keep what was read
    done += static_cast<size_t>(n);
  }
  out->resize(done);
  return true;
}

// Writes all of `parts` at `offset_bytes`; false on an error (errno set).
bool pwrite_all(int fd, std::string_view a, std::string_view b, uint64_t offset_bytes) {
  size_t total = a.size() + b.size(), done = 0;
  while (done < total) {
    iovec iov[2];
    int count = 0;
    if (done < a.size()) {
      iov[count++] = {const_cast<char*>(a.data() + done), a.size() - done};
      if (!b.empty()) iov[count++] = {const_cast<char*>(b.data()), b.size()};
    } else {
      size_t in_b = done - a.size();
      iov[count++] = {const_cast<char*>(b.data() + in_b), b.size() - in_b};
    }
    ssize_t n = pwritev(fd, iov, count, static_cast<off_t>(offset_bytes + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) {
      errno = EIO;
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

bool pread_all(int fd, char* out, size_t length, uint64_t offset_bytes) {
  size_t done = 0;
  while (done < length) {
    ssize_t n = pread(fd, out + done, length - done, static_cast<off_t>(offset_bytes + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

uint32_t spool_crc32(std::string_view bytes, uint32_t crc) {
  crc = ~crc;
  for (unsigned char c : bytes) crc = kCrcTable[(crc ^ c) & 0xff] ^ (crc >> 8);
  return ~crc;
}

Spool::Spool(SpoolOptions options) : options_(std::move(options)) {
  if (in_memory()) {
    segments_[0].id = 0;
    return;
  }
  std::error_code ec;
  fs::create_directories(options_.dir, ec);
  if (ec) {
    spdlog::error("spool: cannot create {}: {}; results cannot be spooled", options_.dir,
                  ec.message());
    usable_ = false;
    return;
  }
  dir_fd_ = ::open(options_.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  lock_fd_ =
      ::open((fs::path(options_.dir) / "spool.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (dir_fd_ < 0 || lock_fd_ < 0) {
    spdlog::error("spool: cannot open {}: {}; results cannot be spooled", options_.dir,
                  std::strerror(errno));
    usable_ = false;
    return;
  }
  if (flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    spdlog::error("spool: {} is in use by another spool ({}); results cannot be spooled",
                  options_.dir, std::strerror(errno));
    usable_ = false;
    return;
  }
  // Segments of earlier lives are read by recover(); this life appends above them.
  for (const SegmentFile& file : list_segment_files(options_.dir))
    next_segment_id_ = std::max(next_segment_id_, file.id + 1);
  first_own_id_ = next_segment_id_;
}

Spool::~Spool() {
  // The current segment stops being current: delete it when nothing in it is live.
  if (current_fd_ >= 0) {
    close_fd(current_fd_);
    auto it = segments_.find(current_id_);
    if (it != segments_.end() && it->second.live_count == 0) delete_segment(current_id_);
  }
  for (int& fd : unsynced_fds_) close_fd(fd);
  close_fd(read_fd_);
  close_fd(ack_fd_);
  close_fd(dir_fd_);
  close_fd(lock_fd_);
}

std::string Spool::path_of(uint64_t segment_id, const char* extension) const {
  char name[64];
  std::snprintf(name, sizeof name, "spool-%012llu%s", static_cast<unsigned long long>(segment_id),
                extension);
  return (fs::path(options_.dir) / name).string();
}

std::vector<ResultKey> Spool::recover() {
  if (recovered_ || in_memory() || !usable_) {
    recovered_ = true;
    return keys();
  }
  recovered_ = true;
  std::map<uint64_t, std::pair<bool, bool>> found;  // id -> (has .log, has .ack)
  for (const SegmentFile& file : list_segment_files(options_.dir)) {
    if (file.id >= first_own_id_) continue;
    (file.extension == ".log" ? found[file.id].first : found[file.id].second) = true;
  }
  size_t segments = 0;
  for (const auto& [id, files] : found) {
    if (files.first) {
      load_segment(id, files.second);
      ++segments;
    } else if (::unlink(path_of(id, ".ack").c_str()) != 0 && errno != ENOENT) {
      // An ack log whose segment is gone: left by a crash between the two unlinks.
      spdlog::warn("spool: cannot remove {}: {}", path_of(id, ".ack"), std::strerror(errno));
    }
  }
  if (segments > 0)
    spdlog::info("spool: recovered {} unacknowledged results ({} bytes) from {} segments",
                 index_.size(), live_bytes_, segments);
  return keys();
}

void Spool::load_segment(uint64_t id, bool has_ack_log) {
  const std::string path = path_of(id, ".log");
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  std::string data;
  if (fd < 0 || !read_whole(fd, &data)) {
    // Left in place: a later life may read it.
    spdlog::error("spool: cannot read {}: {}; its results are not sent", path,
                  std::strerror(errno));
    close_fd(fd);
    return;
  }
  Segment segment;
  segment.id = id;
  size_t pos = 0;
  while (data.size() - pos >= kHeaderBytes) {
    const char* header = data.data() + pos;
    uint32_t length = get_u32(header + 4);
    if (get_u32(header) != kRecordMagic || length > data.size() - pos - kHeaderBytes) break;
    auto key = decode_record(header, &length);
    if (!key) break;
    segment.slots.push_back(Slot{*key, pos, length, true});
    pos += kHeaderBytes + length;
  }
  if (pos < data.size()) {
    spdlog::warn(
        "spool: {}: cut {} bytes of a torn or corrupt tail at offset {} ({} good records "
        "before it)",
        path, data.size() - pos, pos, segment.slots.size());
    if (ftruncate(fd, static_cast<off_t>(pos)) != 0)
      spdlog::error("spool: cannot truncate {}: {}", path, std::strerror(errno));
  }
  segment.end_bytes = pos;
  close_fd(fd);

  if (has_ack_log) {
    const std::string ack_path = path_of(id, ".ack");
    int ack_fd = ::open(ack_path.c_str(), O_RDWR | O_CLOEXEC);
    std::string acks;
    if (ack_fd < 0 || !read_whole(ack_fd, &acks)) {
      spdlog::error("spool: cannot read {}: {}; its acknowledged results are sent again", ack_path,
                    std::strerror(errno));
    } else {
      size_t at = 0;
      for (; acks.size() - at >= kAckEntryBytes; at += kAckEntryBytes) {
        const char* entry = acks.data() + at;
        if (spool_crc32({entry, 12}) != get_u32(entry + 12)) break;
        Slot* slot = find_slot(segment, get_u64(entry));
        if (slot && slot->length_bytes == get_u32(entry + 8)) slot->live = false;
      }
      if (at < acks.size()) {
        spdlog::warn(
            "spool: {}: cut {} bytes of a torn or corrupt tail at offset {}; the results it "
            "acknowledged are sent again",
            ack_path, acks.size() - at, at);
        if (ftruncate(ack_fd, static_cast<off_t>(at)) != 0)
          spdlog::error("spool: cannot truncate {}: {}", ack_path, std::strerror(errno));
      }
    }
    close_fd(ack_fd);
  }

  // A key live twice (a lost ack, then the same result spooled again) is sent once.
  std::string duplicate_acks;
  for (Slot& slot : segment.slots) {
    if (!slot.live) continue;
    if (index_.count(slot.key)) {
      slot.live = false;
      duplicate_acks += encode_ack_entry(slot.offset_bytes, slot.length_bytes);
      continue;
    }
    index_[slot.key] = Location{id, slot.offset_bytes};
    ++segment.live_count;
    live_bytes_ += slot.length_bytes;
  }
  const bool empty = segment.live_count == 0;
  compact(segment);
  segments_[id] = std::move(segment);
  if (empty) {
    delete_segment(id);
    return;
  }
  if (!duplicate_acks.empty()) write_ack_entries(id, duplicate_acks);
}

bool Spool::append(const ResultKey& key, std::string_view bytes) {
  if (index_.count(key)) return true;
  if (!would_fit(bytes.size())) return false;
  if (in_memory()) {
    Segment& segment = segments_.at(0);
    segment.slots.push_back(Slot{key, segment.end_bytes, static_cast<uint32_t>(bytes.size())});
    index_[key] = Location{0, segment.end_bytes};
    ++segment.end_bytes;
    ++segment.live_count;
    live_bytes_ += bytes.size();
    memory_bytes_[key] = std::string(bytes);
    return true;
  }
  if (!usable_) return false;
  if (bytes.size() > std::numeric_limits<uint32_t>::max()) {
    spdlog::error("spool: a result of {} bytes is over the 4 GiB record limit", bytes.size());
    return false;
  }
  auto where = write_record(key, bytes);
  if (!where) return false;
  index_[key] = *where;
  live_bytes_ += bytes.size();
  return true;
}

std::optional<Spool::Location> Spool::write_record(const ResultKey& key, std::string_view bytes) {
  if (current_fd_ >= 0 && segments_.at(current_id_).end_bytes >= options_.segment_bytes)
    retire_current();
  if (current_fd_ < 0 && !open_current()) return std::nullopt;

  Segment& segment = segments_.at(current_id_);
  char header[kHeaderBytes];
  encode_header(header, key, bytes);
  if (!pwrite_all(current_fd_, {header, kHeaderBytes}, bytes, segment.end_bytes)) {
    int error = errno;
    if (!failing_)
      spdlog::error("spool: cannot write to {}: {}; results are held back until it works",
                    path_of(current_id_, ".log"), std::strerror(error));
    failing_ = true;
    // Whatever part of the record reached the file must not sit before later records.
    if (ftruncate(current_fd_, static_cast<off_t>(segment.end_bytes)) != 0)
      spdlog::warn("spool: cannot truncate {}: {}", path_of(current_id_, ".log"),
                   std::strerror(errno));
    retire_current();
    return std::nullopt;
  }
  if (failing_) spdlog::info("spool: writing works again");
  failing_ = false;
  const Location where{current_id_, segment.end_bytes};
  segment.slots.push_back(Slot{key, segment.end_bytes, static_cast<uint32_t>(bytes.size()), true});
  segment.end_bytes += kHeaderBytes + bytes.size();
  ++segment.live_count;
  current_dirty_ = true;
  unsynced_keys_.push_back(key);
  return where;
}

bool Spool::rewrite_at_risk() {
  // In key order: within a job attempt, the order they were made in.
  std::sort(at_risk_keys_.begin(), at_risk_keys_.end());
  size_t done = 0;
  for (; done < at_risk_keys_.size(); ++done) {
    const ResultKey& key = at_risk_keys_[done];
    auto it = index_.find(key);
    if (it == index_.end()) continue;  // acknowledged or dropped meanwhile
    const Location old = it->second;
    auto bytes = read(key);  // checksummed: bytes the kernel lost do not pass
    if (!bytes) continue;    // logged by read(); nothing left to write again
    auto where = write_record(key, *bytes);
    if (!where) break;
    Segment& segment = segments_.at(old.segment_id);
    Slot* slot = find_slot(segment, old.offset_bytes);
    if (slot && slot->live) {
      // No ack entry: should the old copy survive too, recover() keeps one of the two.
      slot->live = false;
      --segment.live_count;
    }
    index_[key] = *where;
    const bool current = current_fd_ >= 0 && old.segment_id == current_id_;
    if (segment.live_count == 0 && !current) delete_segment(old.segment_id);
  }
  at_risk_keys_.erase(at_risk_keys_.begin(), at_risk_keys_.begin() + done);
  return at_risk_keys_.empty();
}

bool Spool::open_current() {
  const uint64_t id = next_segment_id_++;
  const std::string path = path_of(id, ".log");
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (!failing_)
      spdlog::error("spool: cannot create {}: {}; results are held back until it works", path,
                    std::strerror(errno));
    failing_ = true;
    return false;
  }
  current_fd_ = fd;
  current_id_ = id;
  segments_[id].id = id;
  dir_dirty_ = true;
  return true;
}

void Spool::retire_current() {
  if (current_fd_ < 0) return;
  if (current_dirty_)
    unsynced_fds_.push_back(current_fd_);  // sync() still owes it an fdatasync
  else
    close_fd(current_fd_);
  current_fd_ = -1;
  current_dirty_ = false;
  auto it = segments_.find(current_id_);
  if (it != segments_.end() && it->second.live_count == 0) delete_segment(current_id_);
}

int Spool::sync_fd(int fd, bool dir) const {
  if (options_.sync_fd) return options_.sync_fd(fd);
  return dir ? ::fsync(fd) : ::fdatasync(fd);
}

bool Spool::sync() {
  if (in_memory()) return true;
  // What a failed sync left in doubt is written again first, to a new segment.
  bool ok = at_risk_keys_.empty() || rewrite_at_risk();
  if (current_dirty_) {
    current_dirty_ = false;
    if (sync_fd(current_fd_, false) != 0) {
      // After a failed fdatasync the kernel may have dropped the pages: write no more here.
      spdlog::error("spool: fdatasync {}: {}", path_of(current_id_, ".log"), std::strerror(errno));
      ok = false;
      retire_current();
    }
  }
  for (int& fd : unsynced_fds_) {
    if (sync_fd(fd, false) != 0) {
      spdlog::error("spool: fdatasync of a finished segment: {}", std::strerror(errno));
      ok = false;
    }
    close_fd(fd);
  }
  unsynced_fds_.clear();
  if (dir_dirty_) {
    dir_dirty_ = false;
    if (dir_fd_ >= 0 && sync_fd(dir_fd_, true) != 0) {
      spdlog::error("spool: fsync {}: {}", options_.dir, std::strerror(errno));
      ok = false;
    }
  }
  if (ok) {
    unsynced_keys_.clear();
    return true;
  }
  // After a failed fdatasync the kernel may have dropped the pages, and
  // another fdatasync of the file may succeed without writing them: every
  // record appended since the last good sync waits to be written again,
  // and no more goes to these files.
  retire_current();
  at_risk_keys_.insert(at_risk_keys_.end(), unsynced_keys_.begin(), unsynced_keys_.end());
  unsynced_keys_.clear();
  dir_dirty_ = true;  // the new segment's name must reach the disk too
  return false;
}

void Spool::ack(const ResultKey& key) {
  if (index_.count(key)) forget({key});
}

void Spool::drop(uint64_t job_id, uint32_t attempt) {
  std::vector<ResultKey> keys;
  for (auto it = index_.lower_bound(ResultKey{job_id, attempt, 0});
       it != index_.end() && it->first.job_id == job_id && it->first.attempt == attempt; ++it)
    keys.push_back(it->first);
  if (!keys.empty()) forget(keys);
}

void Spool::forget(const std::vector<ResultKey>& keys) {
  std::map<uint64_t, std::string> ack_entries;  // segment id -> entries to append
  std::set<uint64_t> touched;
  for (const ResultKey& key : keys) {
    auto it = index_.find(key);
    if (it == index_.end()) continue;
    const Location where = it->second;
    index_.erase(it);
    Segment& segment = segments_.at(where.segment_id);
    Slot* slot = find_slot(segment, where.offset_bytes);
    if (!slot || !slot->live) {
      spdlog::critical("spool: index points at no live record for job {} attempt {} seq {}",
                       key.job_id, key.attempt, key.seq);
      std::abort();
    }
    slot->live = false;
    --segment.live_count;
    live_bytes_ -= slot->length_bytes;
    touched.insert(where.segment_id);
    if (in_memory())
      memory_bytes_.erase(key);
    else
      ack_entries[where.segment_id] += encode_ack_entry(slot->offset_bytes, slot->length_bytes);
  }
  for (uint64_t id : touched) {
    Segment& segment = segments_.at(id);
    const bool current = current_fd_ >= 0 && id == current_id_;
    if (segment.live_count == 0 && !current && !in_memory()) {
      delete_segment(id);  // its ack entries are moot
      continue;
    }
    if (auto it = ack_entries.find(id); it != ack_entries.end()) write_ack_entries(id, it->second);
    compact(segment);
  }
}

bool Spool::write_ack_entries(uint64_t segment_id, const std::string& entries) {
  const std::string path = path_of(segment_id, ".ack");
  if (ack_fd_ < 0 || ack_fd_id_ != segment_id) {
    close_fd(ack_fd_);
    ack_fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (ack_fd_ < 0) {
      spdlog::error(
          "spool: cannot open {}: {}; acknowledged results would be sent again "
          "after a restart",
          path, std::strerror(errno));
      return false;
    }
    ack_fd_id_ = segment_id;
  }
  const off_t before = lseek(ack_fd_, 0, SEEK_END);
  size_t done = 0;
  while (done < entries.size()) {
    ssize_t n = ::write(ack_fd_, entries.data() + done, entries.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      spdlog::error(
          "spool: cannot write {}: {}; acknowledged results would be sent again "
          "after a restart",
          path, std::strerror(n < 0 ? errno : EIO));
      // Keep the log a whole number of entries so later acks still count.
      if (before >= 0 && ftruncate(ack_fd_, before) != 0)
        spdlog::warn("spool: cannot truncate {}: {}", path, std::strerror(errno));
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

void Spool::delete_segment(uint64_t segment_id) {
  if (read_fd_ >= 0 && read_fd_id_ == segment_id) close_fd(read_fd_);
  if (ack_fd_ >= 0 && ack_fd_id_ == segment_id) close_fd(ack_fd_);
  segments_.erase(segment_id);
  // The .log goes first: an .ack without its .log is harmless, the reverse brings
  // acknowledged results back.
  const std::string log_path = path_of(segment_id, ".log");
  if (::unlink(log_path.c_str()) != 0 && errno != ENOENT) {
    spdlog::error("spool: cannot remove {}: {}", log_path, std::strerror(errno));
    return;
  }
  const std::string ack_path = path_of(segment_id, ".ack");
  if (::unlink(ack_path.c_str()) != 0 && errno != ENOENT)
    spdlog::warn("spool: cannot remove {}: {}", ack_path, std::strerror(errno));
}

void Spool::compact(Segment& segment) {
  const size_t dead = segment.slots.size() - segment.live_count;
  if (dead < kCompactMinDeadSlots || dead < segment.live_count) return;
  std::erase_if(segment.slots, [](const Slot& s) { return !s.live; });
}

const Spool::Slot* Spool::find_slot(const Segment& segment, uint64_t offset_bytes) {
  auto it = std::lower_bound(
      segment.slots.begin(), segment.slots.end(), offset_bytes,
      [](const Slot& slot, uint64_t offset) { return slot.offset_bytes < offset; });
  if (it == segment.slots.end() || it->offset_bytes != offset_bytes) return nullptr;
  return &*it;
}

Spool::Slot* Spool::find_slot(Segment& segment, uint64_t offset_bytes) {
  return const_cast<Slot*>(find_slot(static_cast<const Segment&>(segment), offset_bytes));
}

std::optional<std::string> Spool::read(const ResultKey& key) const {
  auto it = index_.find(key);
  if (it == index_.end()) return std::nullopt;
  if (in_memory()) return memory_bytes_.at(key);
  const Location where = it->second;
  const Slot* slot = find_slot(segments_.at(where.segment_id), where.offset_bytes);
  if (!slot) return std::nullopt;
  int fd = -1;
  if (current_fd_ >= 0 && where.segment_id == current_id_) {
    fd = current_fd_;
  } else {
    if (read_fd_ < 0 || read_fd_id_ != where.segment_id) {
      close_fd(read_fd_);
      read_fd_ = ::open(path_of(where.segment_id, ".log").c_str(), O_RDONLY | O_CLOEXEC);
      read_fd_id_ = where.segment_id;
    }
    fd = read_fd_;
  }
  std::string record(kHeaderBytes + slot->length_bytes, '\0');
  uint32_t length = 0;
  std::optional<ResultKey> stored;
  if (fd >= 0 && pread_all(fd, record.data(), record.size(), where.offset_bytes) &&
      get_u32(record.data() + 4) == slot->length_bytes)
    stored = decode_record(record.data(), &length);
  if (!stored || *stored != key) {
    spdlog::error("spool: job {} attempt {} seq {} cannot be read back from {} offset {}",
                  key.job_id, key.attempt, key.seq, path_of(where.segment_id, ".log"),
                  where.offset_bytes);
    return std::nullopt;
  }
  return record.substr(kHeaderBytes);
}

std::vector<ResultKey> Spool::keys() const {
  std::vector<ResultKey> out;
  out.reserve(index_.size());
  for (const auto& [id, segment] : segments_)
    for (const Slot& slot : segment.slots)
      if (slot.live) out.push_back(slot.key);
  return out;
}

size_t Spool::size() const {
  return index_.size();
}

uint64_t Spool::live_bytes() const {
  return live_bytes_;
}

bool Spool::would_fit(uint64_t bytes) const {
  return bytes <= options_.max_bytes && live_bytes_ <= options_.max_bytes - bytes;
}

size_t Spool::segment_count() const {
  return in_memory() ? 0 : segments_.size();
}

}  // namespace yardstick
