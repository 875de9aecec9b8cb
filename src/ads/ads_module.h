// The ads platform as tandemd runs it, inside the social operator: its
// tables in social.db (migration component "ads"), the matching worker, the
// advertisers' HTTP routes and the ad source that social's timeline shows
// ads from (social::SocialModule::SetAdSource).
//
// Configuration: the ads.* keys of common/config_keys.cc (docs/configuration.md).
#pragma once

#include <memory>

#include "ads/ads_service.h"
#include "common/config.h"
#include "net/http.h"
#include "net/metrics.h"
#include "social/social_module.h"

namespace tandem::ads {

class TimelineAds;

class AdsModule {
 public:
  // Returns nullptr if ads.enabled is false. InvalidArgument for bad
  // configuration.
  static absl::StatusOr<std::unique_ptr<AdsModule>> Create(const Config& config, social::SocialModule& social,
                                                           net::Router& router, net::Metrics& metrics);
  ~AdsModule();

  // Starts the matching worker. Call once the server serves.
  void Start();

  AdsService& service() { return *service_; }
  // For the social timeline; lives as long as this module.
  social::AdSource& ad_source();

 private:
  AdsModule() = default;
  std::unique_ptr<AdsService> service_;
  std::unique_ptr<TimelineAds> ad_source_;
};

}  // namespace tandem::ads
