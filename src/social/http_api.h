// The social network's HTTP JSON API (docs/social-api.md), mounted under
// /v1/social. Handlers authenticate with "Authorization: Bearer <token>"
// and map errors with net::Response::Error.
#pragma once

#include "net/http.h"
#include "social/social_service.h"

namespace tandem::social {

// Adds every /v1/social route. `service` must outlive the router's server.
void AddSocialRoutes(net::Router& router, SocialService& service);

}  // namespace tandem::social
