// The agent's result spool. Every result (an opaque encoded frame) is appended
// here before it is sent and forgotten when the coordinator acknowledges it, so
// an agent that crashes sends again, after its restart, every result the
// coordinator had not committed. Delivery is at least once: the coordinator
// ignores a key it already stored.
//
// On disk (SpoolOptions::dir set), every integer little-endian:
//
//   spool-NNNNNNNNNNNN.log  a segment: records back to back. NNN… is the segment
//                           id, 12 decimal digits, so lexical order is append order.
//     record = 32-byte header + payload
//       [0]  u32 magic "YSR1" (bytes 59 53 52 31)
//       [4]  u32 payload length_bytes
//       [8]  u64 job_id
//       [16] u64 seq
//       [24] u32 attempt
//       [28] u32 CRC-32 (IEEE 802.3, zlib's) of header bytes [0, 28) then the payload
//
//   spool-NNNNNNNNNNNN.ack  the ack log of the segment with the same id, 16-byte entries:
//       [0]  u64 offset_bytes of the acknowledged record in that segment
//       [8]  u32 payload length_bytes of that record (a cross-check)
//       [12] u32 CRC-32 of entry bytes [0, 12)
//
//   spool.lock  held with flock(LOCK_EX) by the one Spool that owns the dir.
//
// Acks persist in the ack log of the record's own segment, never in another
// segment, so deleting a segment (its .log first, then its .ack) cannot bring
// back a record of another segment. A segment is deleted once every record in
// it is acknowledged and it is not the one being appended to. Each life of the
// agent appends to a fresh segment; the previous lives' segments are only read,
// acked and deleted.
//
// Durability: append() writes through to the kernel at once (a crash of the
// agent process loses nothing); sync() fdatasyncs, which survives a power loss.
// A failed fdatasync is not retried on the same file (the kernel may have
// dropped its pages and report the next one as a success): the records
// appended since the last good sync are written again, to a new segment,
// by the next sync(), which succeeds only once they are durable.
// Ack entries are written at once but never fdatasynced: after a power loss an
// acknowledged record may come back and be sent again, which is harmless.
//
// Not thread-safe: one owner (the agent loop) calls every method.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/types.hpp"

namespace yardstick {

struct SpoolOptions {
  // Empty: in-memory only, no durability (benchmarks with the spool "off").
  std::string dir;
  // Live (unacknowledged) payload bytes allowed; append refuses beyond. Headers
  // (32 bytes a record) and dead records in segments not yet deleted are not counted.
  uint64_t max_bytes = 1ull << 30;
  // A new segment file starts once the current one reaches this size.
  uint64_t segment_bytes = 8ull << 20;
  // How sync() makes an open file durable, returning 0 or -1 with errno set;
  // empty: fdatasync(2) for segments, fsync(2) for the dir. Tests put a
  // failing one here, as a disk that fails would.
  std::function<int(int fd)> sync_fd;
};

class Spool {
 public:
  // Creates `dir` (mkdir -p) and locks it when set. Never throws for I/O: when the
  // dir cannot be created or is locked by another Spool, it logs an error and every
  // append() returns false.
  explicit Spool(SpoolOptions options);
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Reads the segments a previous life left. Returns the keys of every record not
  // yet acknowledged, in append order (keys() from then on). Call once, before the
  // first append; later calls read nothing and return keys(). A torn or corrupt tail
  // of a segment or of an ack log (partial write, bad checksum) is cut off (the file
  // is truncated) and logged with spdlog::warn, never fatal. Records acknowledged in
  // a previous life do not come back; segments with nothing left to send are deleted.
  std::vector<ResultKey> recover();

  // Appends one record. Returns false, writing nothing, when live_bytes() + size
  // would exceed max_bytes (the caller then throttles the producer), and false when
  // the write fails (disk full, EIO: logged with spdlog::error, the partial record is
  // truncated away and the next append starts a new segment) or the dir is unusable.
  // would_fit() tells a full spool from a failing disk. A key that is already live is
  // ignored and returns true.
  bool append(const ResultKey& key, std::string_view bytes);

  // Makes every append so far durable: fdatasync of the segment(s) written since the
  // last sync, and of the dir when a segment file was created. A no-op when nothing
  // was appended. Returns false (logged) when a sync failed; the records stay live,
  // and every later sync() writes them again first, returning true only once
  // everything appended since the last good sync is durable.
  bool sync();

  // The coordinator committed it: forget it, and persist that in the ack log. When
  // every record of a non-current segment is acknowledged, its files are deleted.
  // Unknown keys are ignored.
  void ack(const ResultKey& key);

  // Drops every live record of one job attempt (the coordinator abandoned it), as ack does.
  void drop(uint64_t job_id, uint32_t attempt);

  // The bytes of a live record, read back from disk (memory holds only an index), or
  // nullopt when the key is not live or its disk copy no longer passes its checksum
  // (logged).
  std::optional<std::string> read(const ResultKey& key) const;

  std::vector<ResultKey> keys() const;   // live records, in append order
  size_t size() const;                   // live records
  uint64_t live_bytes() const;           // sum of live payload sizes (headers not counted)
  bool would_fit(uint64_t bytes) const;  // live_bytes() + bytes <= max_bytes
  // Segment files with live records, plus the one being appended to (0 in memory).
  size_t segment_count() const;

 private:
  struct Slot {
    ResultKey key;
    uint64_t offset_bytes = 0;  // of the record header in its segment
    uint32_t length_bytes = 0;  // payload
    bool live = true;
  };
  struct Segment {
    uint64_t id = 0;
    uint64_t end_bytes = 0;   // end of its last good record
    std::vector<Slot> slots;  // in offset order; dead slots compacted away now and then
    size_t live_count = 0;
  };
  struct Location {
    uint64_t segment_id = 0;
    uint64_t offset_bytes = 0;
  };

  bool in_memory() const { return options_.dir.empty(); }
  // options_.sync_fd, or fdatasync (fsync for the dir).
  int sync_fd(int fd, bool dir) const;
  std::string path_of(uint64_t segment_id, const char* extension) const;
  void load_segment(uint64_t id, bool has_ack_log);
  // Writes one record at the end of the current segment (starting a new one when
  // needed) and adds its slot; nullopt when the write failed (logged; the segment is
  // retired). The caller indexes it.
  std::optional<Location> write_record(const ResultKey& key, std::string_view bytes);
  // Writes the records a failed sync left in doubt again, each moving to the
  // current segment; false when a write failed (the rest stay at risk).
  bool rewrite_at_risk();
  bool open_current();
  void retire_current();
  // The slot whose record starts at `offset_bytes`, or nullptr.
  static const Slot* find_slot(const Segment& segment, uint64_t offset_bytes);
  static Slot* find_slot(Segment& segment, uint64_t offset_bytes);
  // Marks the given keys dead, writes their ack entries (one write per segment),
  // deletes the segments left with no live record.
  void forget(const std::vector<ResultKey>& keys);
  bool write_ack_entries(uint64_t segment_id, const std::string& entries);
  void delete_segment(uint64_t segment_id);
  void compact(Segment& segment);

  SpoolOptions options_;
  bool usable_ = true;    // false: dir missing or locked, every append fails
  bool failing_ = false;  // the last append failed to write: log the next success
  bool recovered_ = false;
  int lock_fd_ = -1;
  int dir_fd_ = -1;
  uint64_t next_segment_id_ = 1;  // above every id found in the dir
  uint64_t first_own_id_ = 1;     // segments below it belong to previous lives

  std::map<uint64_t, Segment> segments_;           // by id = append order
  std::map<ResultKey, Location> index_;            // live records only
  std::map<ResultKey, std::string> memory_bytes_;  // in-memory mode only
  uint64_t live_bytes_ = 0;

  // The segment appends go to (-1: none open yet; the next append creates one).
  int current_fd_ = -1;
  uint64_t current_id_ = 0;
  bool current_dirty_ = false;            // appended since the last sync
  std::vector<int> unsynced_fds_;         // retired segments written since the last sync
  bool dir_dirty_ = false;                // a segment file was created since the last sync
  std::vector<ResultKey> unsynced_keys_;  // appended (or written again) since the last sync
  std::vector<ResultKey> at_risk_keys_;   // left in doubt by a failed sync: to write again

  // One cached read-only fd (reads mostly walk one segment) and one ack log fd
  // (acks mostly arrive in append order, so they hit one segment at a time).
  mutable int read_fd_ = -1;
  mutable uint64_t read_fd_id_ = 0;
  int ack_fd_ = -1;
  uint64_t ack_fd_id_ = 0;
};

// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as zlib's crc32(): pass the
// previous value to continue a running checksum. spool_crc32("123456789") == 0xCBF43926.
uint32_t spool_crc32(std::string_view bytes, uint32_t crc = 0);

}  // namespace yardstick
