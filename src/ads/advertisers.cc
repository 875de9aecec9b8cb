// Advertisers, tokens and budgets.
#include "ads/advertisers.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "ads/ads_store.h"
#include "common/encoding.h"
#include "common/log.h"
#include "common/text.h"

namespace tandem::ads {

absl::StatusOr<NewAdvertiser> Advertisers::Create(std::string_view name) {
  NewAdvertiser a;
  a.name = std::string(name);
  RETURN_IF_ERROR(ValidateText("name", a.name, 200));
  a.token = random_.Hex(32);
  ASSIGN_OR_RETURN(a.id, db::InsertAdvertiser(db_, a.name, Sha256(a.token), clock_.Now()));
  log::Info("ads.advertiser_created", {{"advertiser", a.id}});
  return a;
}

absl::StatusOr<AdvertiserId> Advertisers::Authenticate(std::string_view token) {
  if (token.empty())
    return absl::UnauthenticatedError("missing advertiser token (Authorization: Bearer <token>)");
  ASSIGN_OR_RETURN(std::optional<AdvertiserId> adv, db::AdvertiserForToken(db_, Sha256(token)));
  if (!adv) return absl::UnauthenticatedError("unknown advertiser token");
  return *adv;
}

int Advertisers::LimitOf(BudgetKind kind) const {
  return kind == BudgetKind::kAudiences ? options_.audience_budget_per_day : options_.size_budget_per_day;
}

absl::Status Advertisers::Charge(store::Database& tx, AdvertiserId adv, BudgetKind kind) {
  absl::Time today = clock_.Now();
  ASSIGN_OR_RETURN(int64_t used, db::BudgetUsed(tx, adv, kind, today));
  int limit = LimitOf(kind);
  if (used >= limit) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the daily budget of ", limit,
                     kind == BudgetKind::kAudiences ? " audience creations" : " audience size looks",
                     " is used up; it renews at 00:00 UTC"));
  }
  return db::AddBudgetUse(tx, adv, kind, today);
}

absl::StatusOr<BudgetLeft> Advertisers::Budget(AdvertiserId adv) {
  absl::Time today = clock_.Now();
  ASSIGN_OR_RETURN(int64_t audiences, db::BudgetUsed(db_, adv, BudgetKind::kAudiences, today));
  ASSIGN_OR_RETURN(int64_t sizes, db::BudgetUsed(db_, adv, BudgetKind::kSizes, today));
  return BudgetLeft{std::max<int>(0, options_.audience_budget_per_day - static_cast<int>(audiences)),
                    std::max<int>(0, options_.size_budget_per_day - static_cast<int>(sizes))};
}

}  // namespace tandem::ads
