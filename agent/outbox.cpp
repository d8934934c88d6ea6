#include "agent/outbox.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

namespace yardstick {

ResultOutbox::ResultOutbox(Spool& spool, const Clock& clock, uint64_t window_bytes, Send send)
    : spool_(spool), clock_(clock), window_bytes_(window_bytes), send_(std::move(send)) {}

size_t ResultOutbox::recover() {
  const auto keys = spool_.recover();
  for (const auto& key : keys) unsent_.push_back(key);
  return keys.size();
}

void ResultOutbox::enqueue(const ResultKey& key, std::string_view bytes, bool hold) {
  if (!spool_.append(key, bytes)) {
    // The spool is full or the disk failed. Output is throttled before the
    // spool fills, so this is a step or job event: kept in memory instead,
    // never dropped.
    spdlog::error("could not spool result {}/{}/{} ({} bytes); kept in memory", key.job_id,
                  key.attempt, key.seq, bytes.size());
    overflow_.emplace(key, std::string(bytes));
  } else if (cache_bytes_ + bytes.size() <= window_bytes_) {
    cache_.emplace(key, std::string(bytes));
    cache_bytes_ += bytes.size();
  }
  unsent_.push_back(key);
  if (hold) {
    if (!hold_until_ms_) hold_until_ms_ = clock_.steady_ms() + kHoldMs;
  } else {
    send_now_ = true;
  }
}

void ResultOutbox::pump(bool link_up) {
  if (unsent_.empty()) return;
  const int64_t now = clock_.steady_ms();
  if (!send_now_ && hold_until_ms_ && now < hold_until_ms_) return;
  if (!durable(now)) return;  // nothing leaves before it is durable
  if (!link_up) return;
  while (!unsent_.empty() && inflight_bytes_ < window_bytes_) {
    const ResultKey key = unsent_.front();
    std::optional<std::string> bytes;
    if (auto c = cache_.find(key); c != cache_.end()) {
      bytes = std::move(c->second);
      cache_bytes_ -= bytes->size();
      cache_.erase(c);
    } else if (auto o = overflow_.find(key); o != overflow_.end()) {
      bytes = o->second;
    } else {
      bytes = spool_.read(key);
    }
    if (!bytes || inflight_.count(key)) {  // acknowledged or dropped meanwhile
      unsent_.pop_front();
      continue;
    }
    const uint64_t size = bytes->size();
    if (!send_(*bytes)) {
      if (!overflow_.count(key) && !cache_.count(key)) {  // keep it at hand for the retry
        cache_bytes_ += size;
        cache_.emplace(key, std::move(*bytes));
      }
      break;
    }
    inflight_[key] = {now, size};
    inflight_bytes_ += size;
    unsent_.pop_front();
  }
  send_now_ = false;
  hold_until_ms_ = 0;
}

bool ResultOutbox::durable(int64_t now_ms) {
  if (sync_failing_ && now_ms < next_sync_ms_) return false;
  if (spool_.sync()) {
    if (sync_failing_)
      spdlog::info("the spool syncs again: {} results waiting are sent", unsent_.size());
    sync_failing_ = false;
    return true;
  }
  if (!sync_failing_ || now_ms - sync_failure_logged_ms_ >= kSyncFailureLogMs) {
    spdlog::error(
        "the spool cannot make results durable (see the spool's errors): {} results are held "
        "back, not sent, until it can; trying again every {} ms",
        unsent_.size(), kSyncRetryMs);
    sync_failure_logged_ms_ = now_ms;
  }
  sync_failing_ = true;
  next_sync_ms_ = now_ms + kSyncRetryMs;
  return false;
}

void ResultOutbox::requeue_in_flight() {
  for (const auto& [key, f] : inflight_) unsent_.push_back(key);
  std::sort(unsent_.begin(), unsent_.end());
  unsent_.erase(std::unique(unsent_.begin(), unsent_.end()), unsent_.end());
  inflight_.clear();
  inflight_bytes_ = 0;
}

void ResultOutbox::resend_all() {
  if (inflight_.empty() && unsent_.empty()) return;
  requeue_in_flight();
  spdlog::info("sending {} unacknowledged results again", unsent_.size());
  send_now_ = true;
}

bool ResultOutbox::stale(int64_t resend_ms) const {
  const int64_t now = clock_.steady_ms();
  for (const auto& [key, f] : inflight_)
    if (now - f.sent_at_ms > resend_ms) return true;
  return false;
}

void ResultOutbox::ack(const ResultKey& key) {
  spool_.ack(key);
  overflow_.erase(key);
  if (auto it = inflight_.find(key); it != inflight_.end()) {
    inflight_bytes_ -= it->second.bytes;
    inflight_.erase(it);
  }
}

void ResultOutbox::drop(const JobRef& ref) {
  spool_.drop(ref.job_id, ref.attempt);
  const auto of_job = [&](const ResultKey& key) {
    return key.job_id == ref.job_id && key.attempt == ref.attempt;
  };
  for (auto it = overflow_.begin(); it != overflow_.end();)
    it = of_job(it->first) ? overflow_.erase(it) : std::next(it);
  for (auto it = inflight_.begin(); it != inflight_.end();) {
    if (of_job(it->first)) {
      inflight_bytes_ -= it->second.bytes;
      it = inflight_.erase(it);
    } else {
      ++it;
    }
  }
}

std::set<JobRef> ResultOutbox::held() const {
  std::set<JobRef> held;
  for (const auto& key : spool_.keys()) held.insert({key.job_id, key.attempt});
  for (const auto& [key, bytes] : overflow_) held.insert({key.job_id, key.attempt});
  return held;
}

size_t ResultOutbox::unacknowledged() const {
  return spool_.size() + overflow_.size();
}

}  // namespace yardstick
