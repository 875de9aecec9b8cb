// Customer-list audiences: creation (charged to the audience budget),
// listing with their upload sessions, the size look of one audience,
// deletion, and upload batches of add, remove and replace sessions, which
// are stored as received and queued for the matcher.
//
// Thread safety: thread-safe. Uploads are serialized so that batches reach
// the matcher's queue in commit order.
#pragma once

#include <mutex>
#include <string_view>
#include <vector>

#include "ads/ads_types.h"
#include "ads/advertisers.h"
#include "ads/audience_sizes.h"
#include "ads/matcher.h"
#include "ads/upload.h"
#include "common/clock.h"
#include "common/status.h"
#include "store/store.h"

namespace tandem::ads {

class Audiences {
 public:
  // Everything must outlive this.
  Audiences(store::Database& db, const Clock& clock, Advertisers& advertisers, AudienceSizes& sizes,
            Matcher& matcher)
      : db_(db), clock_(clock), advertisers_(advertisers), sizes_(sizes), matcher_(matcher) {}

  // NotFound unless the audience is live and the advertiser's.
  absl::Status CheckOwned(AdvertiserId adv, int64_t audience_id);

  absl::StatusOr<Audience> Create(AdvertiserId adv, std::string_view name, std::string_view description);
  absl::StatusOr<std::vector<Audience>> List(AdvertiserId adv);
  // With the size of the current version (see AudienceSizes::Observe);
  // when the size budget is used up, size is absent and size_note says why.
  absl::StatusOr<Audience> Get(AdvertiserId adv, int64_t audience_id);
  absl::Status Delete(AdvertiserId adv, int64_t audience_id);
  // One batch of a session. `rejected` receives the offending rows when a
  // PHONE_SHA256 batch is refused.
  absl::StatusOr<BatchResult> Upload(AdvertiserId adv, int64_t audience_id, SessionKind kind,
                                     const UploadRequest& request, std::vector<InvalidRow>* rejected);

 private:
  store::Database& db_;
  const Clock& clock_;
  Advertisers& advertisers_;
  AudienceSizes& sizes_;
  Matcher& matcher_;
  std::mutex upload_mu_;  // held from a batch's commit until it is queued
};

}  // namespace tandem::ads
