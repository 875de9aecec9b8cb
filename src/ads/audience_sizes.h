// Audience sizes as advertisers see them and as serving checks them: the
// noisy report of a version (size_report.h), the size budget charged for
// the first look at each new version, and a small cache of matched counts.
//
// A version's reported size is fixed when the version is made (its matched
// count then): membership changes reach serving at once but a size report
// only through a new version, which costs budget, so looking again at a
// seen version reveals nothing new.
//
// Thread safety: thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "ads/ads_types.h"
#include "ads/advertisers.h"
#include "common/status.h"
#include "store/store.h"

namespace tandem::ads {

class AudienceSizes {
 public:
  // Everything must outlive this; options_.noise_secret is set.
  AudienceSizes(store::Database& db, Advertisers& advertisers, const AdsOptions& options)
      : db_(db), advertisers_(advertisers), options_(options) {}

  // The report for `matched` people in this version of the audience.
  SizeReport ReportFor(int64_t audience_id, int64_t version, int64_t matched) const;
  // The report of the audience's current version; charges the size budget
  // if this version was not observed yet (ResourceExhausted when it is
  // used up). NotFound unless the audience is the advertiser's.
  absl::StatusOr<SizeReport> Observe(AdvertiserId adv, int64_t audience_id);
  // The audience's members now (cached until InvalidateCounts).
  absl::StatusOr<int64_t> MatchedCount(int64_t audience_id);
  // After any membership change.
  void InvalidateCounts();

 private:
  store::Database& db_;
  Advertisers& advertisers_;
  const AdsOptions& options_;

  std::mutex count_mu_;
  std::vector<std::pair<int64_t, int64_t>> counts_ ABSL_GUARDED_BY(count_mu_);  // audience -> matched
};

}  // namespace tandem::ads
