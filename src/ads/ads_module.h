// The ads platform as tandemd runs it, inside the social operator: its
// tables in social.db (migration component "ads"), the matching worker and
// the HTTP routes (ads API, posts, the social feed with ads, "why").
//
// Configuration: the ads.* keys of common/config_keys.cc (docs/configuration.md).
#pragma once

#include <memory>

#include "ads/ads_service.h"
#include "common/config.h"
#include "net/http.h"
#include "net/metrics.h"
#include "social/posts.h"
#include "social/social_module.h"

namespace tandem::ads {

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
  // The social network's posts (served in the feed next to the ads).
  social::Posts& posts() { return *posts_; }

 private:
  AdsModule() = default;
  std::unique_ptr<social::Posts> posts_;
  std::unique_ptr<AdsService> service_;
};

}  // namespace tandem::ads
