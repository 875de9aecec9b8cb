// The ads platform as the social timeline's ad source: serving and
// explanations of AdsService, in social's terms (social/ad_source.h).
#pragma once

#include "ads/ads_service.h"
#include "social/ad_source.h"

namespace tandem::ads {

class TimelineAds final : public social::AdSource {
 public:
  // `ads` must outlive this.
  explicit TimelineAds(AdsService& ads) : ads_(ads) {}

  absl::StatusOr<std::vector<social::TimelineAd>> AdsFor(social::UserId viewer) override;
  absl::StatusOr<social::AdExplanation> Explain(social::UserId viewer, int64_t impression_id) override;

 private:
  AdsService& ads_;
};

}  // namespace tandem::ads
