// Time sources. Only SystemClock reads the real clocks, and only app/
// chooses it (tests/real_time_test.py checks); everything else takes a
// Clock& so that expiries, rate limits, windows and worker loops are
// testable with a FakeClock.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>

#include "absl/time/time.h"

namespace tandem {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time: for timestamps that are stored or shown. It can jump.
  // Thread-safe.
  virtual absl::Time Now() const = 0;
  // Monotonic time since an arbitrary start: for intervals, deadlines and
  // timers. Never goes back. Thread-safe.
  virtual absl::Duration Monotonic() const = 0;

  // A timer: with `lock` held, waits on `cv` until `done()` is true or
  // Monotonic() reaches `deadline`, whichever is first, and returns done().
  // `done` is evaluated with `lock` held, as std::condition_variable's
  // predicate is. Pass absl::InfiniteDuration() to wait for `done` only.
  virtual bool WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                         absl::Duration deadline, const std::function<bool()>& done) const = 0;
  // WaitUntil(lock, cv, Monotonic() + timeout, done).
  bool WaitFor(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, absl::Duration timeout,
               const std::function<bool()>& done) const {
    return WaitUntil(lock, cv, Monotonic() + timeout, done);
  }
  // Waits `d` (a pause between attempts), on this clock.
  void SleepFor(absl::Duration d) const {
    std::mutex mu;
    std::condition_variable cv;
    std::unique_lock lock(mu);
    WaitFor(lock, cv, d, [] { return false; });
  }
};

// The real clocks (absl::Now and std::chrono::steady_clock). Thread-safe; a
// process-wide instance is returned by Real().
class SystemClock final : public Clock {
 public:
  absl::Time Now() const override;
  absl::Duration Monotonic() const override;
  bool WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, absl::Duration deadline,
                 const std::function<bool()>& done) const override;
  static SystemClock& Real();
};

// A clock that moves only when told. Thread-safe. A WaitUntil blocked on it
// notices an Advance within about a millisecond of real time (it re-checks
// its deadline at that interval), and is woken at once by its `cv`.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1'700'000'000));
  absl::Time Now() const override;
  absl::Duration Monotonic() const override;
  bool WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, absl::Duration deadline,
                 const std::function<bool()>& done) const override;
  // Moves both the wall and the monotonic time forward.
  void Advance(absl::Duration d);
  // Sets the wall time only (it may go back, as a real wall clock may).
  void Set(absl::Time t);

 private:
  std::atomic<int64_t> wall_nanos_;
  std::atomic<int64_t> mono_nanos_{0};
};

}  // namespace tandem
