// Token-bucket rate limits keyed by strings ("number:+14155550123",
// "addr:10.0.0.7", "send:12.1"), on an injected Clock. Shared by the
// messenger and the social operator (each holds its own limiters).
//
// A bucket holds up to `burst` tokens and regains one every `interval`.
// State is in memory: a restart forgets it (limits are abuse brakes, not
// accounting). Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "absl/time/time.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/status.h"

namespace tandem {

struct RateLimit {
  double burst = 1;
  absl::Duration interval = absl::Seconds(1);  // one token regained per interval
};

// Reads "<key>.burst" and "<key>.interval_ms" (both in the configuration
// schema, which holds their defaults and bounds).
RateLimit ReadRateLimit(const Config& config, const std::string& key);

// "203.0.113.9:51234" -> "203.0.113.9", "::1:51234" -> "::1": the client
// address of net::Request::remote_address without its port, as a key.
std::string AddressWithoutPort(std::string_view remote);

class RateLimiter {
 public:
  // `what` names the limit in errors ("verification codes for this number").
  RateLimiter(const Clock& clock, RateLimit limit, std::string what);

  // Takes `cost` tokens from `key`'s bucket, or fails with ResourceExhausted
  // ("too many <what>; try again in 42 s") and takes nothing.
  absl::Status Take(const std::string& key, double cost = 1);

  const RateLimit& limit() const { return limit_; }

 private:
  struct Bucket {
    double tokens;
    absl::Time updated;
  };
  double Refill(Bucket& b, absl::Time now) const;
  void PruneLocked(absl::Time now);

  const Clock& clock_;
  const RateLimit limit_;
  const std::string what_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
  size_t prune_at_ = 4096;
};

}  // namespace tandem
