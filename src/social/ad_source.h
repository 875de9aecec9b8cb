// What the timeline needs from an ad platform, so that social serves the
// timeline without depending on ads: ads depend on social, never the other
// way. The ads module implements this over its service; tandemd connects
// it to the social module (SocialModule::SetAdSource).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "social/types.h"

namespace tandem::social {

// One ad shown to a user; the impression is already recorded.
struct TimelineAd {
  int64_t impression_id = 0;
  int64_t campaign_id = 0;
  std::string advertiser;
  std::string title, text, link;
};

// Why a user sees an ad ("why am I seeing this ad?").
struct AdExplanation {
  int64_t impression_id = 0;
  std::string advertiser, campaign;
  std::string audience;                   // "" when only a segment matched
  std::vector<std::string> data_sources;  // "social_profile", "messenger"
  std::string segment;                    // "active_messenger_users" or ""
  std::string text;                       // plain words
};

// Implementations must be thread-safe: HTTP handlers call them concurrently.
class AdSource {
 public:
  virtual ~AdSource() = default;
  // The ads to show `viewer` now, each one an impression recorded for them.
  virtual absl::StatusOr<std::vector<TimelineAd>> AdsFor(UserId viewer) = 0;
  // NotFound unless the impression was shown to `viewer`.
  virtual absl::StatusOr<AdExplanation> Explain(UserId viewer, int64_t impression_id) = 0;
};

}  // namespace tandem::social
