// Advertiser accounts, their bearer tokens (only a hash is stored) and
// their daily budgets of audience creations and size looks.
//
// Thread safety: thread-safe (state is in the database).
#pragma once

#include <string_view>

#include "ads/ads_types.h"
#include "common/clock.h"
#include "common/random.h"
#include "common/status.h"
#include "store/store.h"

namespace tandem::ads {

class Advertisers {
 public:
  // Everything must outlive this.
  Advertisers(store::Database& db, const Clock& clock, Random& random, const AdsOptions& options)
      : db_(db), clock_(clock), random_(random), options_(options) {}

  // InvalidArgument for a bad name.
  absl::StatusOr<NewAdvertiser> Create(std::string_view name);
  // Unauthenticated for a missing or unknown token.
  absl::StatusOr<AdvertiserId> Authenticate(std::string_view token);
  // What is left of today's budgets (UTC days).
  absl::StatusOr<BudgetLeft> Budget(AdvertiserId adv);
  // Uses one unit of today's budget of `kind`, in the caller's transaction
  // `tx`; ResourceExhausted when it is used up.
  absl::Status Charge(store::Database& tx, AdvertiserId adv, BudgetKind kind);

 private:
  int LimitOf(BudgetKind kind) const;

  store::Database& db_;
  const Clock& clock_;
  Random& random_;
  const AdsOptions& options_;
};

}  // namespace tandem::ads
