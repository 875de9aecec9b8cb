// The ads HTTP JSON API (docs/ads-api.md): /v1/ads/..., for advertisers,
// authenticated with an advertiser token. Social users see ads in social's
// timeline (social/http_api.h), which gets them through the ad source
// (ads/timeline_ads.h).
#pragma once

#include <string>

#include "ads/ads_service.h"
#include "net/http.h"

namespace tandem::ads {

// `admin_token`: the bearer token for POST /v1/ads/advertisers (empty:
// advertiser sign-up over HTTP is off). Everything must outlive the server.
void AddAdsRoutes(net::Router& router, AdsService& ads, std::string admin_token);

}  // namespace tandem::ads
