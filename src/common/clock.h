// Time sources. Only SystemClock reads the real clock; everything else takes
// a Clock& so that expiries, rate limits and windows are testable.
#pragma once

#include <atomic>
#include <cstdint>

#include "absl/time/time.h"

namespace tandem {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time. Thread-safe.
  virtual absl::Time Now() const = 0;
};

// The real clock. Thread-safe; a process-wide instance is returned by Real().
class SystemClock final : public Clock {
 public:
  absl::Time Now() const override;
  static SystemClock& Real();
};

// A clock that moves only when told. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1'700'000'000));
  absl::Time Now() const override;
  void Advance(absl::Duration d);
  void Set(absl::Time t);

 private:
  std::atomic<int64_t> nanos_;
};

}  // namespace tandem
