#include "coordinator/log_cap.hpp"

#include <cstdio>

namespace yardstick {

LogCap LogCap::from_stored(uint64_t cap_bytes,
                           const std::vector<std::pair<uint64_t, uint64_t>>& chunks,
                           bool has_marker, size_t head_chunks, uint64_t cut_bytes,
                           uint64_t cut_chunks) {
  LogCap cap(cap_bytes);
  cap.cutting_ = has_marker;
  cap.cut_bytes_ = cut_bytes;
  cap.cut_chunks_ = cut_chunks;
  // Chunks stored before the marker are the head; those after it, the tail.
  // Without a marker everything is head (nothing was cut yet).
  for (size_t i = 0; i < chunks.size(); ++i) {
    const auto [seq, bytes] = chunks[i];
    cap.seen_.insert(seq);
    if (cap.cutting_ && i >= head_chunks) {
      cap.tail_.emplace_back(seq, bytes);
      cap.tail_bytes_ += bytes;
    } else {
      cap.head_bytes_ += bytes;
    }
  }
  return cap;
}

LogCap::Step LogCap::add(uint64_t seq, uint64_t bytes) {
  Step step;
  if (cutting_ && seq <= max_cut_seq_ && !seen_.count(seq)) return step;  // would be cut at once
  step.store = true;
  if (!seen_.insert(seq).second) return step;  // a resend: stored once by the store
  if (!cutting_ && head_bytes_ + bytes <= half_) {
    head_bytes_ += bytes;
    return step;
  }
  if (!cutting_) {
    cutting_ = true;
    step.place_marker = true;
  }
  tail_.emplace_back(seq, bytes);
  tail_bytes_ += bytes;
  while (tail_bytes_ > half_ && tail_.size() > 1) {
    const auto [old_seq, old_bytes] = tail_.front();
    tail_.pop_front();
    seen_.erase(old_seq);
    tail_bytes_ -= old_bytes;
    cut_bytes_ += old_bytes;
    ++cut_chunks_;
    if (old_seq > max_cut_seq_) max_cut_seq_ = old_seq;
    step.drop.push_back(old_seq);
  }
  step.update_marker = !step.drop.empty();
  return step;
}

std::string LogCap::marker_text() const {
  char text[256];
  std::snprintf(text, sizeof text,
                "\n[yardstick: %llu bytes in %llu chunks of output cut here; the log keeps its "
                "first and last %llu KiB (--log-cap)]\n",
                static_cast<unsigned long long>(cut_bytes_),
                static_cast<unsigned long long>(cut_chunks_),
                static_cast<unsigned long long>(half_ >> 10));
  return text;
}

}  // namespace yardstick
