// Real and fake clocks.
#include "common/clock.h"

#include "absl/time/clock.h"

namespace tandem {

absl::Time SystemClock::Now() const { return absl::Now(); }

SystemClock& SystemClock::Real() {
  static SystemClock clock;
  return clock;
}

FakeClock::FakeClock(absl::Time start) : nanos_(absl::ToUnixNanos(start)) {}

absl::Time FakeClock::Now() const { return absl::FromUnixNanos(nanos_.load()); }

void FakeClock::Advance(absl::Duration d) { nanos_ += absl::ToInt64Nanoseconds(d); }

void FakeClock::Set(absl::Time t) { nanos_ = absl::ToUnixNanos(t); }

}  // namespace tandem
