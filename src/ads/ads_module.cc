// Assembly of the ads platform from configuration.
#include "ads/ads_module.h"

#include "ads/http_api.h"
#include "ads/timeline_ads.h"
#include "common/config.h"
#include "common/log.h"

namespace tandem::ads {

absl::StatusOr<std::unique_ptr<AdsModule>> AdsModule::Create(const net::ModuleEnv& env,
                                                             social::SocialModule& social) {
  const Config& config = env.config;
  if (!config.GetBool("ads.enabled")) return std::unique_ptr<AdsModule>();
  AdsOptions o;
  int64_t min_size = config.GetInt("ads.min_audience_size");
  int64_t sizes = config.GetInt("ads.size_budget_per_day");
  double scale = config.GetDouble("ads.noise_scale");
  double margin = config.GetDouble("ads.size_margin");
  int64_t audiences = config.GetInt("ads.audience_budget_per_day");
  // ads.ads_per_feed is the key's name from before the news feed became
  // the timeline: configurations that set it keep working.
  int64_t per_page = config.GetInt(config.Has("ads.ads_per_timeline") || !config.Has("ads.ads_per_feed")
                                       ? "ads.ads_per_timeline"
                                       : "ads.ads_per_feed");
  int64_t min_days = config.GetInt("ads.active_messenger_min_days");
  o.size.min_size = min_size;
  o.size.noise_scale = scale;
  o.size.margin = margin;
  o.audience_budget_per_day = static_cast<int>(audiences);
  o.size_budget_per_day = static_cast<int>(sizes);
  o.ads_per_timeline = static_cast<int>(per_page);
  o.active_messenger_min_days = static_cast<int>(min_days);

  std::unique_ptr<AdsModule> m(new AdsModule());
  ASSIGN_OR_RETURN(m->service_, AdsService::Create(social.db(), env.clock, env.random, o));
  AddAdsRoutes(env.router, *m->service_, config.GetString("ads.admin_token"));
  m->ad_source_ = std::make_unique<TimelineAds>(*m->service_);
  log::Info("ads.ready",
            {{"min_audience_size", min_size}, {"noise_scale", scale}, {"size_budget_per_day", sizes}});
  return m;
}

AdsModule::~AdsModule() { Stop(); }

absl::Status AdsModule::Start(const std::string& self_address) {
  service_->Start();
  return absl::OkStatus();
}

void AdsModule::Stop() {
  if (service_) service_->Stop();
}

social::AdSource& AdsModule::ad_source() { return *ad_source_; }

}  // namespace tandem::ads
