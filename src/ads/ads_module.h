// The ads platform as tandemd runs it, inside the social operator: its
// tables in social.db (migration component "ads"), the matching worker, the
// advertisers' HTTP routes and the ad source that social's timeline shows
// ads from (social::SocialModule::SetAdSource).
//
// Configuration: the ads.* keys of common/config_keys.cc (docs/configuration.md).
#pragma once

#include <memory>
#include <string>

#include "ads/ads_service.h"
#include "net/module.h"
#include "social/social_module.h"

namespace tandem::ads {

class TimelineAds;

class AdsModule final : public net::Module {
 public:
  // Returns nullptr if ads.enabled is false. InvalidArgument for bad
  // configuration. `social` must outlive the module; the clock and
  // randomness are the env's.
  static absl::StatusOr<std::unique_ptr<AdsModule>> Create(const net::ModuleEnv& env,
                                                           social::SocialModule& social);
  ~AdsModule() override;

  // Starts the matching worker.
  absl::Status Start(const std::string& self_address) override;
  // Stops the matching worker. Idempotent.
  void Stop() override;

  AdsService& service() { return *service_; }
  // For the social timeline; lives as long as this module.
  social::AdSource& ad_source();

 private:
  AdsModule() = default;
  std::unique_ptr<AdsService> service_;
  std::unique_ptr<TimelineAds> ad_source_;
};

}  // namespace tandem::ads
