// A field-by-field translation; serving and explaining stay in AdsService.
#include "ads/timeline_ads.h"

namespace tandem::ads {

absl::StatusOr<std::vector<social::TimelineAd>> TimelineAds::AdsFor(social::UserId viewer) {
  ASSIGN_OR_RETURN(std::vector<ServedAd> served, ads_.ServeAds(viewer));
  std::vector<social::TimelineAd> out;
  out.reserve(served.size());
  for (ServedAd& ad : served) {
    out.push_back({ad.impression_id, ad.campaign_id, std::move(ad.advertiser), std::move(ad.creative.title),
                   std::move(ad.creative.text), std::move(ad.creative.link)});
  }
  return out;
}

absl::StatusOr<social::AdExplanation> TimelineAds::Explain(social::UserId viewer, int64_t impression_id) {
  return ads_.Why(viewer, impression_id);
}

}  // namespace tandem::ads
