// Assembly of the ads platform's parts over the social database.
#include "ads/ads_service.h"

#include "ads/ads_store.h"

namespace tandem::ads {

AdsService::AdsService(social::SocialDb& social, const Clock& clock, Random& random, AdsOptions options)
    : db_(social.database_for_ads()),
      options_(std::move(options)),
      advertisers_(db_, clock, random, options_),
      sizes_(db_, advertisers_, options_),
      matcher_(social, clock, [this] { sizes_.InvalidateCounts(); }),
      audiences_(db_, clock, advertisers_, sizes_, matcher_),
      campaigns_(db_, clock, audiences_, sizes_, serve_mu_),
      serving_(social, clock, options_, sizes_, matcher_, serve_mu_) {}

absl::StatusOr<std::unique_ptr<AdsService>> AdsService::Create(social::SocialDb& social, const Clock& clock,
                                                               Random& random, AdsOptions options) {
  std::unique_ptr<AdsService> s(new AdsService(social, clock, random, std::move(options)));
  RETURN_IF_ERROR(s->Init(random));
  return s;
}

absl::Status AdsService::Init(Random& random) {
  RETURN_IF_ERROR(db::Migrate(db_));
  if (options_.noise_secret.empty()) {
    ASSIGN_OR_RETURN(std::optional<std::string> secret, db::GetSecret(db_, "size_noise"));
    if (secret) {
      options_.noise_secret = *std::move(secret);
    } else {
      options_.noise_secret = random.Hex(32);
      RETURN_IF_ERROR(db::PutSecret(db_, "size_noise", options_.noise_secret));
    }
  }
  // Batches acknowledged but not matched before a restart are gone (their
  // hashes were only in memory): such sessions must be uploaded again.
  RETURN_IF_ERROR(db::InterruptUnmatchedSessions(db_));
  return matcher_.Init();
}

AdsService::~AdsService() { matcher_.Stop(); }

absl::StatusOr<std::vector<Membership>> AdsService::MembershipsForTesting(int64_t audience_id) {
  return db::AudienceMembersForTesting(db_, audience_id);
}

}  // namespace tandem::ads
