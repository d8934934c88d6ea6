// The cap on one job attempt's stored log: the first half and the last half
// of `cap_bytes` are kept, and what lies between is cut, with one marker
// chunk in its place. A pure accounting unit: it says what to store and what
// to drop; the coordinator does the writes.
#pragma once

#include <cstdint>
#include <deque>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace yardstick {

class LogCap {
 public:
  // What to do with one chunk.
  struct Step {
    bool store = false;          // write the chunk
    bool place_marker = false;   // write the marker first (it stands before the tail)
    bool update_marker = false;  // rewrite the marker's text (more was cut)
    std::vector<uint64_t> drop;  // stored chunks to delete (the oldest of the tail)
  };

  explicit LogCap(uint64_t cap_bytes) : half_(cap_bytes / 2) {}

  // Rebuilds the state from what is stored (after a coordinator restart):
  // chunks in id order, how many of them stand before the marker (all, when
  // there is none), and the totals cut.
  static LogCap from_stored(uint64_t cap_bytes,
                            const std::vector<std::pair<uint64_t, uint64_t>>& chunks,
                            bool has_marker, size_t head_chunks, uint64_t cut_bytes,
                            uint64_t cut_chunks);

  // A chunk of `bytes` with sequence `seq` arrived. A chunk seen before (a
  // resend) is stored again (the store ignores the copy) but not counted; a
  // chunk older than what was cut is not stored.
  Step add(uint64_t seq, uint64_t bytes);

  // The marker's text for the current totals.
  std::string marker_text() const;

  uint64_t cut_bytes() const { return cut_bytes_; }
  uint64_t cut_chunks() const { return cut_chunks_; }
  uint64_t stored_bytes() const { return head_bytes_ + tail_bytes_; }

 private:
  uint64_t half_;
  bool cutting_ = false;
  uint64_t head_bytes_ = 0, tail_bytes_ = 0, cut_bytes_ = 0, cut_chunks_ = 0;
  uint64_t max_cut_seq_ = 0;
  std::set<uint64_t> seen_;                         // sequences counted (head and tail)
  std::deque<std::pair<uint64_t, uint64_t>> tail_;  // (seq, bytes), oldest first
};

}  // namespace yardstick
