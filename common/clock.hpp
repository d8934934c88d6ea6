// Time, injected: production code takes a Clock&, tests pass a FakeClock.
#pragma once

#include <chrono>
#include <cstdint>

namespace yardstick {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time in milliseconds, for deadlines and leases.
  virtual int64_t steady_ms() const = 0;
  // Unix time in microseconds, for what is stored and shown.
  virtual int64_t unix_us() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t steady_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  int64_t unix_us() const override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

// A clock that moves only when told to.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t start_ms = 1'000'000) : now_ms_(start_ms) {}
  int64_t steady_ms() const override { return now_ms_; }
  int64_t unix_us() const override { return 1'700'000'000'000'000 + now_ms_ * 1000; }
  void advance_ms(int64_t ms) { now_ms_ += ms; }

 private:
  int64_t now_ms_;
};

}  // namespace yardstick
