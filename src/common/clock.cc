// Real and fake clocks.
#include "common/clock.h"

#include <chrono>

#include "absl/time/clock.h"

namespace tandem {

absl::Time SystemClock::Now() const { return absl::Now(); }

absl::Duration SystemClock::Monotonic() const {
  return absl::FromChrono(std::chrono::steady_clock::now().time_since_epoch());
}

bool SystemClock::WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                            absl::Duration deadline, const std::function<bool()>& done) const {
  if (deadline == absl::InfiniteDuration()) {
    cv.wait(lock, done);
    return true;
  }
  const auto until = std::chrono::steady_clock::time_point(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(absl::ToChronoNanoseconds(deadline)));
  return cv.wait_until(lock, until, done);
}

SystemClock& SystemClock::Real() {
  static SystemClock clock;
  return clock;
}

FakeClock::FakeClock(absl::Time start) : wall_nanos_(absl::ToUnixNanos(start)) {}

absl::Time FakeClock::Now() const { return absl::FromUnixNanos(wall_nanos_.load()); }

absl::Duration FakeClock::Monotonic() const { return absl::Nanoseconds(mono_nanos_.load()); }

bool FakeClock::WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                          absl::Duration deadline, const std::function<bool()>& done) const {
  // Advance does not know the waiters, so a waiter re-checks its fake
  // deadline every real millisecond; `cv` still wakes it at once.
  while (!done()) {
    if (Monotonic() >= deadline) return false;
    cv.wait_for(lock, std::chrono::milliseconds(1));
  }
  return true;
}

void FakeClock::Advance(absl::Duration d) {
  const int64_t n = absl::ToInt64Nanoseconds(d);
  wall_nanos_ += n;
  mono_nanos_ += n;
}

void FakeClock::Set(absl::Time t) { wall_nanos_ = absl::ToUnixNanos(t); }

}  // namespace tandem
