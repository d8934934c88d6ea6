#include "agent/job_log.hpp"

#include <algorithm>

namespace yardstick {

JobLog::JobLog(ResultSink& sink, ResultKeys& keys, const Clock& clock, const SecretMasker& masker,
               uint64_t flush_ms, size_t chunk_bytes)
    : sink_(sink),
      keys_(keys),
      clock_(clock),
      masker_(masker),
      flush_ms_(flush_ms),
      chunk_bytes_(chunk_bytes) {}

JobLog::Buffer& JobLog::buffer(LogStream stream) {
  return stream == LogStream::kStdout ? out_ : stream == LogStream::kStderr ? err_ : sys_;
}

void JobLog::add(Buffer& buffer, const std::string& text) {
  if (buffer.data.empty()) buffer.first_at_ms = clock_.steady_ms();
  buffer.data += text;
}

void JobLog::append(LogStream stream, const std::string& masked) {
  Buffer& b = buffer(stream);
  add(b, masked);
  if (b.data.size() >= chunk_bytes_) flush(stream);
}

void JobLog::append_tail(LogStream stream, const std::string& masked) {
  if (!masked.empty()) add(buffer(stream), masked);
}

void JobLog::system(const std::string& line) {
  add(sys_, "[yardstick] " + masker_.mask(mask_url_credentials(line)) + "\n");
}

void JobLog::flush(LogStream stream) {
  Buffer& b = buffer(stream);
  size_t pos = 0;
  while (pos < b.data.size()) {
    size_t n = std::min(chunk_bytes_, b.data.size() - pos);
    sink_.log_chunk(keys_.next(), stream, step_index_, b.data.substr(pos, n), clock_.unix_us());
    pos += n;
  }
  b.data.clear();
}

void JobLog::flush_all() {
  flush(LogStream::kSystem);
  flush(LogStream::kStdout);
  flush(LogStream::kStderr);
}

void JobLog::flush_due(int64_t now_ms) {
  const auto due = [&](const Buffer& b) {
    return !b.data.empty() && now_ms - b.first_at_ms >= static_cast<int64_t>(flush_ms_);
  };
  if (due(out_) || due(err_) || due(sys_)) flush_all();
}

int64_t JobLog::next_flush_ms() const {
  int64_t next = INT64_MAX;
  for (const Buffer* b : {&out_, &err_, &sys_})
    if (!b->data.empty()) next = std::min<int64_t>(next, b->first_at_ms + flush_ms_);
  return next;
}

}  // namespace yardstick
