// Serving ads to social users and explaining them ("why am I seeing this
// ad?"). Memberships count only through facts the ads view still shows, so
// an objection is honoured at once, before the matcher has removed them;
// an audience that objections took below the minimum stops at once too.
//
// Thread safety: thread-safe. ServeAds holds `serve_mu` (shared with
// Campaigns) over impression budgets and frequency caps.
#pragma once

#include <mutex>
#include <vector>

#include "ads/ads_types.h"
#include "ads/audience_sizes.h"
#include "ads/matcher.h"
#include "common/clock.h"
#include "common/status.h"
#include "social/social_db.h"

namespace tandem::ads {

class Serving {
 public:
  // Everything must outlive this.
  Serving(social::SocialDb& social, const Clock& clock, const AdsOptions& options, AudienceSizes& sizes,
          Matcher& matcher, std::mutex& serve_mu)
      : social_(social),
        db_(social.database_for_ads()),
        clock_(clock),
        options_(options),
        sizes_(sizes),
        matcher_(matcher),
        serve_mu_(serve_mu) {}

  // Picks up to ads_per_timeline eligible ads for `viewer` and records one
  // impression for each. NotFound for an unknown viewer.
  absl::StatusOr<std::vector<ServedAd>> ServeAds(social::UserId viewer);
  // NotFound unless the impression was shown to `viewer`.
  absl::StatusOr<Explanation> Why(social::UserId viewer, int64_t impression_id);

 private:
  social::SocialDb& social_;
  store::Database& db_;
  const Clock& clock_;
  const AdsOptions& options_;
  AudienceSizes& sizes_;
  Matcher& matcher_;
  std::mutex& serve_mu_;
};

}  // namespace tandem::ads
