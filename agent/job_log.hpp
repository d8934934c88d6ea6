// The log of one job attempt: what its processes write on stdout and
// stderr (masked before it gets here) and the agent's own lines about it,
// buffered per stream and sent as log chunks when a buffer is old or big
// enough.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "agent/result_sink.hpp"
#include "common/clock.hpp"
#include "common/secrets.hpp"

namespace yardstick {

class JobLog {
 public:
  // `masker` holds every value that must not leave the agent; it is read at
  // each system line, so values added later are masked from then on.
  JobLog(ResultSink& sink, ResultKeys& keys, const Clock& clock, const SecretMasker& masker,
         uint64_t flush_ms, size_t chunk_bytes);

  // Output of the running process, already masked. A buffer that reaches
  // chunk_bytes is sent at once.
  void append(LogStream stream, const std::string& masked);
  // Output held back until its stream closed (the masker's tail): buffered,
  // never sent from here.
  void append_tail(LogStream stream, const std::string& masked);
  // One line of the agent's own, "[yardstick] LINE\n", masked (secret
  // values and URL credentials).
  void system(const std::string& line);

  // The step the chunks sent from now on belong to; -1 for none (between
  // steps, a benchmark's commands).
  // What is buffered belongs to the step it was read in: flushed first.
  void set_step(int32_t step_index) {
    if (step_index != step_index_) flush_all();
    step_index_ = step_index;
  }

  // When the oldest byte of any buffer has waited flush_ms or more by
  // `now_ms` (steady), sends every buffer, as flush_all() does.
  void flush_due(int64_t now_ms);
  // Sends every buffer: the system lines first, then stdout, then stderr.
  void flush_all();
  // The earliest steady time (ms) at which a buffer is due; INT64_MAX when
  // none holds anything.
  int64_t next_flush_ms() const;

 private:
  struct Buffer {
    std::string data;
    int64_t first_at_ms = 0;
  };
  Buffer& buffer(LogStream stream);
  void add(Buffer& buffer, const std::string& text);
  void flush(LogStream stream);

  ResultSink& sink_;
  ResultKeys& keys_;
  const Clock& clock_;
  const SecretMasker& masker_;
  uint64_t flush_ms_;
  size_t chunk_bytes_;
  int32_t step_index_ = -1;
  Buffer out_, err_, sys_;
};

}  // namespace yardstick
