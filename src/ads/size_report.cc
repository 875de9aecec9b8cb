// Noise and rounding for audience sizes (see size_report.h and
// docs/ads-api.md for the guarantee).
#include "ads/size_report.h"

#include <cmath>
#include <cstring>

#include "common/encoding.h"
#include "social/social_service.h"

namespace tandem::ads {

double VersionNoise(const std::string& secret, int64_t audience_id, int64_t version, double scale) {
  if (scale <= 0) return 0;
  std::string input = secret;
  input.append("|audience-size-noise|");
  input.append(std::to_string(audience_id));
  input.push_back('|');
  input.append(std::to_string(version));
  std::string digest = tandem::Sha256(input);
  uint64_t bits;
  std::memcpy(&bits, digest.data(), sizeof bits);
  // A uniform draw in (0, 1) from 53 bits, then the Laplace inverse CDF.
  double u = (static_cast<double>(bits >> 11) + 0.5) / 9007199254740992.0;
  double centered = u - 0.5;
  double magnitude = -scale * std::log(1 - 2 * std::fabs(centered));
  return centered < 0 ? -magnitude : magnitude;
}

std::string WithThousands(int64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  int count = 0;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (count > 0 && count % 3 == 0) out.insert(out.begin(), ',');
    out.insert(out.begin(), *it);
    ++count;
  }
  return out;
}

SizeReport ReportSize(int64_t matched, double noise, const SizePolicy& policy) {
  SizeReport r;
  r.threshold = policy.min_size + static_cast<int64_t>(std::ceil(policy.margin));
  double noisy = static_cast<double>(matched) + noise;
  // The true-count check keeps the hard rule (never target fewer than
  // min_size people); the margin makes it matter only with probability
  // delta, so it reveals (almost) nothing beyond the noisy value.
  if (matched < policy.min_size || noisy < static_cast<double>(policy.min_size) + policy.margin) {
    r.targetable = false;
    r.lower = 0;
    r.upper = policy.min_size;
    r.text = "too small to target";
    return r;
  }
  auto value = static_cast<int64_t>(std::floor(noisy));
  int64_t step = 1;
  while (value / step >= 100) step *= 10;  // two significant digits
  r.targetable = true;
  r.lower = value / step * step;
  r.upper = r.lower + step;
  r.text = WithThousands(r.lower) + " to " + WithThousands(r.upper);
  return r;
}

}  // namespace tandem::ads
