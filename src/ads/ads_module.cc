// Assembly of the ads platform from configuration.
#include "ads/ads_module.h"

#include "absl/strings/numbers.h"
#include "ads/http_api.h"
#include "ads/timeline_ads.h"
#include "common/log.h"

namespace tandem::ads {

absl::StatusOr<std::unique_ptr<AdsModule>> AdsModule::Create(const Config& config, social::SocialModule& social,
                                                             net::Router& router, net::Metrics& metrics) {
  ASSIGN_OR_RETURN(bool enabled, config.GetBool("ads.enabled", true));
  if (!enabled) return std::unique_ptr<AdsModule>();
  AdsOptions o;
  ASSIGN_OR_RETURN(int64_t min_size, config.GetInt("ads.min_audience_size", 100));
  ASSIGN_OR_RETURN(int64_t audiences, config.GetInt("ads.audience_budget_per_day", 10));
  ASSIGN_OR_RETURN(int64_t sizes, config.GetInt("ads.size_budget_per_day", 20));
  // ads.ads_per_feed is the key's name from before the news feed became
  // the timeline: configurations that set it keep working.
  const char* per_page_key = config.Has("ads.ads_per_timeline") || !config.Has("ads.ads_per_feed")
                                 ? "ads.ads_per_timeline"
                                 : "ads.ads_per_feed";
  ASSIGN_OR_RETURN(int64_t per_page, config.GetInt(per_page_key, 2));
  ASSIGN_OR_RETURN(int64_t min_days, config.GetInt("ads.active_messenger_min_days", 7));
  double scale = 10, margin = 80;
  if (!absl::SimpleAtod(config.GetString("ads.noise_scale", "10"), &scale) || scale < 0 || scale > 1e6) {
    return absl::InvalidArgumentError("ads.noise_scale must be a number >= 0");
  }
  if (!absl::SimpleAtod(config.GetString("ads.size_margin", "80"), &margin) || margin < 0 || margin > 1e9) {
    return absl::InvalidArgumentError("ads.size_margin must be a number >= 0");
  }
  if (min_size < 1 || audiences < 0 || sizes < 0 || per_page < 0 || per_page > 10 || min_days < 0 || min_days > 28) {
    return absl::InvalidArgumentError(
        "ads.min_audience_size must be >= 1, budgets >= 0, ads.ads_per_timeline 0..10, "
        "ads.active_messenger_min_days 0..28");
  }
  o.size.min_size = min_size;
  o.size.noise_scale = scale;
  o.size.margin = margin;
  o.audience_budget_per_day = static_cast<int>(audiences);
  o.size_budget_per_day = static_cast<int>(sizes);
  o.ads_per_timeline = static_cast<int>(per_page);
  o.active_messenger_min_days = static_cast<int>(min_days);

  std::unique_ptr<AdsModule> m(new AdsModule());
  ASSIGN_OR_RETURN(m->service_, AdsService::Create(social.db(), SystemClock::Real(), SecureRandom::Instance(), o));
  AddAdsRoutes(router, *m->service_, config.GetString("ads.admin_token", ""));
  m->ad_source_ = std::make_unique<TimelineAds>(*m->service_);
  (void)metrics;
  log::Info("ads.ready", {{"min_audience_size", min_size}, {"noise_scale", scale}, {"size_budget_per_day", sizes}});
  return m;
}

AdsModule::~AdsModule() {
  if (service_) service_->Stop();
}

void AdsModule::Start() { service_->Start(); }

social::AdSource& AdsModule::ad_source() { return *ad_source_; }

}  // namespace tandem::ads
