// The social network's HTTP JSON API (docs/social-api.md), mounted under
// /v1/social. Handlers authenticate with "Authorization: Bearer <token>"
// and map errors with net::Response::Error.
#pragma once

#include "net/http.h"
#include "social/ad_source.h"
#include "social/posts.h"
#include "social/social_service.h"

namespace tandem::social {

// Adds every /v1/social route. `service` must outlive the router's server.
void AddSocialRoutes(net::Router& router, SocialService& service);

// Adds the timeline routes: POST /v1/social/posts, GET /v1/social/timeline
// (posts with ads mixed in) and GET /v1/social/ads/{id}/why. `*ads` is read
// on every request, so the ad platform can be connected after the routes
// exist; null: a timeline without ads, and "why" is NotFound. Everything
// must outlive the router's server.
void AddTimelineRoutes(net::Router& router, SocialService& service, Posts& posts, AdSource* const* ads);

}  // namespace tandem::social
