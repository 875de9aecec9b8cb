// Campaigns: creation with validated creatives and targeting (included
// audiences must be targetable now, which is a size look), listing,
// pausing, resuming and deletion.
//
// Thread safety: thread-safe. Status changes hold `serve_mu` (shared with
// Serving) so that they never cross an impression that completes the
// campaign.
#pragma once

#include <mutex>
#include <vector>

#include "ads/ads_types.h"
#include "ads/audience_sizes.h"
#include "ads/audiences.h"
#include "common/clock.h"
#include "common/status.h"
#include "store/store.h"

namespace tandem::ads {

class Campaigns {
 public:
  // Everything must outlive this.
  Campaigns(store::Database& db, const Clock& clock, Audiences& audiences, AudienceSizes& sizes,
            std::mutex& serve_mu)
      : db_(db), clock_(clock), audiences_(audiences), sizes_(sizes), serve_mu_(serve_mu) {}

  absl::StatusOr<Campaign> Create(AdvertiserId adv, const CampaignSpec& spec);
  absl::StatusOr<std::vector<Campaign>> List(AdvertiserId adv);
  // NotFound for unknown, foreign or deleted campaigns.
  absl::StatusOr<Campaign> Get(AdvertiserId adv, int64_t id);
  // kActive or kPaused (InvalidArgument otherwise); FailedPrecondition once
  // the campaign is completed.
  absl::StatusOr<Campaign> SetStatus(AdvertiserId adv, int64_t id, CampaignStatus status);
  absl::Status Delete(AdvertiserId adv, int64_t id);

 private:
  store::Database& db_;
  const Clock& clock_;
  Audiences& audiences_;
  AudienceSizes& sizes_;
  std::mutex& serve_mu_;
};

}  // namespace tandem::ads
