// How audience sizes are shown to advertisers, and when an audience may be
// targeted: Laplace noise that is fixed per audience version, rounding to
// two significant digits, and a minimum size with a safety margin.
//
// The defense against the prefix-search attack (Venkatadri et al., IEEE S&P
// 2018) and its guarantee are described in docs/ads-api.md; in short: every
// observation of a new audience version is one draw of the Laplace
// mechanism with sensitivity 1 (one person changes the matched count by at
// most one), so it changes the probability of anything the advertiser sees
// by at most a factor e^(1/noise_scale), except with probability
// delta = exp(-margin/noise_scale)/2 at the targeting threshold; the
// per-advertiser daily budget bounds how many observations compose.
#pragma once

#include <cstdint>
#include <string>

namespace tandem::ads {

struct SizePolicy {
  int64_t min_size = 100;   // fewer matched people: never targetable
  double noise_scale = 10;  // Laplace scale b; 0 disables noise (tests only)
  double margin = 80;       // noisy size must reach min_size + margin
};

struct SizeReport {
  bool targetable = false;
  int64_t lower = 0;  // inclusive; 0 and upper = min_size - 1 when below
  int64_t upper = 0;  // exclusive upper bound of the range
  std::string text;   // "1,200 to 1,300", or "too small to target"
  // The noisy count from which sizes are shown and audiences targeted
  // (min_size + margin): the rule the advertiser is told, not a bound on
  // the true count of an audience shown too small.
  int64_t threshold = 0;
};

// The noise for one audience version: a deterministic function of a server
// secret, the audience id and its version, Laplace distributed with scale b.
double VersionNoise(const std::string& secret, int64_t audience_id, int64_t version, double scale);

// The report for `matched` people with `noise` added.
SizeReport ReportSize(int64_t matched, double noise, const SizePolicy& policy);

// "12,300"
std::string WithThousands(int64_t n);

}  // namespace tandem::ads
