// Token buckets; full buckets are forgotten when the table grows, so memory
// follows the number of recently active keys.
#include "common/rate_limiter.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace tandem {

RateLimit ReadRateLimit(const Config& config, const std::string& key) {
  return RateLimit{static_cast<double>(config.GetInt(key + ".burst")),
                   absl::Milliseconds(config.GetInt(key + ".interval_ms"))};
}

std::string AddressWithoutPort(std::string_view remote) {
  size_t colon = remote.rfind(':');
  return std::string(colon == std::string_view::npos ? remote : remote.substr(0, colon));
}

RateLimiter::RateLimiter(const Clock& clock, RateLimit limit, std::string what)
    : clock_(clock), limit_(limit), what_(std::move(what)) {}

double RateLimiter::Refill(Bucket& b, absl::Time now) const {
  if (now > b.updated && limit_.interval > absl::ZeroDuration()) {
    double gained = absl::FDivDuration(now - b.updated, limit_.interval);
    b.tokens = std::min(limit_.burst, b.tokens + gained);
  }
  b.updated = std::max(b.updated, now);
  return b.tokens;
}

void RateLimiter::PruneLocked(absl::Time now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    if (Refill(it->second, now) >= limit_.burst) {
      it = buckets_.erase(it);
    } else {
      ++it;
    }
  }
  prune_at_ = std::max<size_t>(4096, buckets_.size() * 2);
}

absl::Status RateLimiter::Take(const std::string& key, double cost) {
  absl::Time now = clock_.Now();
  std::lock_guard lock(mu_);
  if (buckets_.size() >= prune_at_) PruneLocked(now);
  auto [it, inserted] = buckets_.try_emplace(key, Bucket{limit_.burst, now});
  Bucket& b = it->second;
  Refill(b, now);
  if (b.tokens + 1e-9 >= cost) {
    b.tokens -= cost;
    return absl::OkStatus();
  }
  double missing = cost - b.tokens;
  int64_t wait_s = static_cast<int64_t>(std::ceil(absl::ToDoubleSeconds(limit_.interval) * missing));
  return absl::ResourceExhaustedError(
      absl::StrCat("too many ", what_, "; try again in ", std::max<int64_t>(1, wait_s), " s"));
}

}  // namespace tandem
