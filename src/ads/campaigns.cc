// Campaign validation and bookkeeping.
#include "ads/campaigns.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "ads/ads_store.h"
#include "common/text.h"

namespace tandem::ads {

absl::StatusOr<Campaign> Campaigns::Create(AdvertiserId adv, const CampaignSpec& spec) {
  // Creatives are shown to social users: one line each, a checked link.
  RETURN_IF_ERROR(ValidateText("name", spec.name, 200));
  RETURN_IF_ERROR(ValidateText("title", spec.creative.title, 100));
  RETURN_IF_ERROR(ValidateText("text", spec.creative.text, 1000));
  RETURN_IF_ERROR(ValidateUrl("link", spec.creative.link));
  if (spec.impression_budget < 1 || spec.impression_budget > 1'000'000'000) {
    return absl::InvalidArgumentError("'impression_budget' must be 1 to 1,000,000,000");
  }
  if (spec.frequency_cap_per_day < 1 || spec.frequency_cap_per_day > 100) {
    return absl::InvalidArgumentError("'frequency_cap_per_day' must be 1 to 100");
  }
  for (const auto& s : spec.segments) {
    if (s != kActiveMessengerUsers) {
      return absl::InvalidArgumentError(absl::StrCat("unknown segment '", s.substr(0, 40),
                                                     "': the only segment is active_messenger_users"));
    }
  }
  if (spec.include_audiences.empty() && spec.segments.empty()) {
    return absl::InvalidArgumentError("a campaign needs at least one included audience or segment");
  }
  if (spec.include_audiences.size() > 50 || spec.exclude_audiences.size() > 50) {
    return absl::InvalidArgumentError("at most 50 included and 50 excluded audiences");
  }
  for (int64_t id : spec.exclude_audiences) RETURN_IF_ERROR(audiences_.CheckOwned(adv, id));
  for (int64_t id : spec.include_audiences) {
    RETURN_IF_ERROR(audiences_.CheckOwned(adv, id));
    ASSIGN_OR_RETURN(SizeReport size, sizes_.Observe(adv, id));
    if (!size.targetable) {
      return absl::FailedPreconditionError(
          absl::StrCat("audience ", id, " is ", size.text, " people and cannot be targeted"));
    }
  }
  Campaign c;
  c.spec = spec;
  std::sort(c.spec.include_audiences.begin(), c.spec.include_audiences.end());
  std::sort(c.spec.exclude_audiences.begin(), c.spec.exclude_audiences.end());
  ASSIGN_OR_RETURN(c.id, db::InsertCampaign(db_, adv, c.spec, clock_.Now()));
  c.status = CampaignStatus::kActive;
  return c;
}

absl::StatusOr<std::vector<Campaign>> Campaigns::List(AdvertiserId adv) {
  ASSIGN_OR_RETURN(std::vector<db::CampaignRow> rows, db::ListCampaigns(db_, adv));
  std::vector<Campaign> out;
  out.reserve(rows.size());
  for (db::CampaignRow& r : rows) out.push_back(std::move(r.campaign));
  return out;
}

absl::StatusOr<Campaign> Campaigns::Get(AdvertiserId adv, int64_t id) {
  ASSIGN_OR_RETURN(std::optional<db::CampaignRow> row, db::GetCampaign(db_, adv, id));
  if (!row) return absl::NotFoundError(absl::StrCat("no campaign ", id));
  return std::move(row->campaign);
}

absl::StatusOr<Campaign> Campaigns::SetStatus(AdvertiserId adv, int64_t id, CampaignStatus status) {
  if (status != CampaignStatus::kActive && status != CampaignStatus::kPaused) {
    return absl::InvalidArgumentError("'status' must be active or paused");
  }
  ASSIGN_OR_RETURN(Campaign c, Get(adv, id));
  if (c.status == CampaignStatus::kCompleted) {
    return absl::FailedPreconditionError(absl::StrCat("campaign ", id, " has used its impression budget"));
  }
  std::lock_guard lock(serve_mu_);
  RETURN_IF_ERROR(db::SetCampaignStatus(db_, id, status, clock_.Now()));
  c.status = status;
  return c;
}

absl::Status Campaigns::Delete(AdvertiserId adv, int64_t id) {
  RETURN_IF_ERROR(Get(adv, id).status());
  std::lock_guard lock(serve_mu_);
  return db::SetCampaignStatus(db_, id, CampaignStatus::kDeleted, clock_.Now());
}

}  // namespace tandem::ads
