// The ads HTTP JSON API (docs/ads-api.md):
//   /v1/ads/...          advertisers, authenticated with an advertiser token
//   /v1/social/posts     social users write posts
//   /v1/social/feed      a social user's feed: posts plus eligible ads
//   /v1/social/ads/{id}/why   "why am I seeing this ad?"
// Social routes authenticate with the social session token.
#pragma once

#include <string>

#include "ads/ads_service.h"
#include "net/http.h"
#include "social/posts.h"
#include "social/social_service.h"

namespace tandem::ads {

// `admin_token`: the bearer token for POST /v1/ads/advertisers (empty:
// advertiser sign-up over HTTP is off). Everything must outlive the server.
void AddAdsRoutes(net::Router& router, AdsService& ads, std::string admin_token);
void AddFeedRoutes(net::Router& router, AdsService& ads, social::SocialService& social, social::Posts& posts);

}  // namespace tandem::ads
