// Size reports, the size budget and the matched-count cache.
#include "ads/audience_sizes.h"

#include "ads/ads_store.h"

namespace tandem::ads {

SizeReport AudienceSizes::ReportFor(int64_t audience_id, int64_t version, int64_t matched) const {
  return ReportSize(matched,
                    VersionNoise(options_.noise_secret, audience_id, version, options_.size.noise_scale),
                    options_.size);
}

absl::StatusOr<SizeReport> AudienceSizes::Observe(AdvertiserId adv, int64_t audience_id) {
  db::VersionRow version;
  RETURN_IF_ERROR(db_.InTransaction([&](store::Database& tx) -> absl::Status {
    ASSIGN_OR_RETURN(version, db::GetVersion(tx, adv, audience_id));
    if (version.observed_version == version.version) return absl::OkStatus();
    RETURN_IF_ERROR(advertisers_.Charge(tx, adv, BudgetKind::kSizes));
    return db::SetObservedVersion(tx, audience_id, version.version);
  }));
  // The version's own count, not today's: the same version always gives
  // the same answer.
  return ReportFor(audience_id, version.version, version.version_matched);
}

absl::StatusOr<int64_t> AudienceSizes::MatchedCount(int64_t audience_id) {
  {
    std::lock_guard lock(count_mu_);
    for (const auto& [id, n] : counts_) {
      if (id == audience_id) return n;
    }
  }
  ASSIGN_OR_RETURN(int64_t n, db::CountMembers(db_, audience_id));
  std::lock_guard lock(count_mu_);
  if (counts_.size() > 4096) counts_.clear();
  counts_.emplace_back(audience_id, n);
  return n;
}

void AudienceSizes::InvalidateCounts() {
  std::lock_guard lock(count_mu_);
  counts_.clear();
}

}  // namespace tandem::ads
