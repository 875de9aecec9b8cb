// The ads platform on the social operator's side: advertiser accounts,
// customer-list audiences, asynchronous matching, size reporting with a
// budget, campaigns, serving (for social's timeline, through
// timeline_ads.h) and "why am I seeing this ad?".
//
// AdsService is the one object callers hold (the HTTP API, the timeline's
// ad source, tandemd's demo world, tests); it assembles the parts, each in
// its own file: Advertisers (accounts, tokens, budgets), Audiences
// (audiences and upload sessions), Matcher (the matching worker),
// AudienceSizes (size reports and their budget), Campaigns and Serving.
// Their SQL is in ads_store.h.
//
// Data: ads tables live in the social operator's database (social.db) under
// the migration component "ads". Facts about people are read only through
// social::PurposeView(kAds), the one place objections are enforced.
//
// Privacy invariants (docs/ads-api.md):
//   - Uploaded hashes exist only in memory: in the request, then in the
//     matcher's queue until their batch is matched. Only memberships
//     (audience, user, which fact matched) are stored; nothing else derived
//     from a row is written or logged.
//   - Objectors are excluded at match time (the view hides their messenger
//     link), at serving time (memberships count only through facts the view
//     still shows) and retroactively: every commit to the social database
//     wakes the worker, which drops membership sources the view no longer
//     shows before it does anything else (well within a second).
//   - Sizes are shown only as noisy two-digit ranges, charged against a
//     per-advertiser daily budget (size_report.h, audience_sizes.h). A
//     version's size is fixed when the version is made: membership changes
//     (objections, deletions, withdrawn discoverability) take effect for
//     serving at once but show in a size report only through a new
//     version, which costs budget, so free looks at a seen version reveal
//     nothing new.
//
// Concurrency: public methods are thread-safe (HTTP handlers call them from
// server threads). One worker thread (Start) matches queued batches and
// reconciles memberships; without Start, tests call RunPending() to do the
// same work on their own thread.
//
// Errors: InvalidArgument (bad input), Unauthenticated (bad token),
// NotFound (unknown or foreign ids), AlreadyExists (a batch sent twice),
// FailedPrecondition (closed session, untargetable audience),
// ResourceExhausted (daily budget), PermissionDenied (admin endpoint off).
#pragma once

#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "ads/ads_types.h"
#include "ads/advertisers.h"
#include "ads/audience_sizes.h"
#include "ads/audiences.h"
#include "ads/campaigns.h"
#include "ads/matcher.h"
#include "ads/serving.h"
#include "ads/upload.h"
#include "common/clock.h"
#include "common/random.h"
#include "common/status.h"
#include "social/social_db.h"

namespace tandem::ads {

class AdsService {
 public:
  // Migrates the ads tables, interrupts sessions whose batches a restart
  // lost, and subscribes to social commits. `social`, `clock` and `random`
  // must outlive the service.
  static absl::StatusOr<std::unique_ptr<AdsService>> Create(social::SocialDb& social, const Clock& clock,
                                                            Random& random, AdsOptions options = {});
  ~AdsService();  // stops the worker; queued batches are dropped
  AdsService(const AdsService&) = delete;
  AdsService& operator=(const AdsService&) = delete;

  // The matching worker (Matcher::Start, Matcher::Stop; Stop is idempotent).
  void Start() { matcher_.Start(); }
  void Stop() { matcher_.Stop(); }
  // Matches every queued batch and reconciles memberships on the caller's
  // thread (only when Start() was not called).
  void RunPending() { matcher_.RunPending(); }
  // Waits until the worker has matched everything queued and reconciled
  // (tandemd's demo world waits so before it makes a campaign); without
  // Start, RunPending().
  void WaitIdle() { matcher_.WaitIdle(); }

  // --- advertisers ---
  absl::StatusOr<NewAdvertiser> CreateAdvertiser(std::string_view name) { return advertisers_.Create(name); }
  absl::StatusOr<AdvertiserId> Authenticate(std::string_view token) {
    return advertisers_.Authenticate(token);
  }
  absl::StatusOr<BudgetLeft> Budget(AdvertiserId adv) { return advertisers_.Budget(adv); }

  // --- audiences ---
  absl::StatusOr<Audience> CreateAudience(AdvertiserId adv, std::string_view name,
                                          std::string_view description) {
    return audiences_.Create(adv, name, description);
  }
  absl::StatusOr<std::vector<Audience>> ListAudiences(AdvertiserId adv) { return audiences_.List(adv); }
  // Status plus the size of the current version; the first look at a new
  // version costs one unit of the size budget (when exhausted, size is
  // absent and size_note says why).
  absl::StatusOr<Audience> GetAudience(AdvertiserId adv, int64_t audience_id) {
    return audiences_.Get(adv, audience_id);
  }
  absl::Status DeleteAudience(AdvertiserId adv, int64_t audience_id) {
    return audiences_.Delete(adv, audience_id);
  }
  // One batch of an add, remove or replace session. `rejected` receives the
  // offending rows when a PHONE_SHA256 batch is refused.
  absl::StatusOr<BatchResult> Upload(AdvertiserId adv, int64_t audience_id, SessionKind kind,
                                     const UploadRequest& request,
                                     std::vector<InvalidRow>* rejected = nullptr) {
    return audiences_.Upload(adv, audience_id, kind, request, rejected);
  }

  // --- campaigns ---
  absl::StatusOr<Campaign> CreateCampaign(AdvertiserId adv, const CampaignSpec& spec) {
    return campaigns_.Create(adv, spec);
  }
  absl::StatusOr<std::vector<Campaign>> ListCampaigns(AdvertiserId adv) { return campaigns_.List(adv); }
  absl::StatusOr<Campaign> GetCampaign(AdvertiserId adv, int64_t id) { return campaigns_.Get(adv, id); }
  // kActive or kPaused.
  absl::StatusOr<Campaign> SetCampaignStatus(AdvertiserId adv, int64_t id, CampaignStatus status) {
    return campaigns_.SetStatus(adv, id, status);
  }
  absl::Status DeleteCampaign(AdvertiserId adv, int64_t id) { return campaigns_.Delete(adv, id); }

  // --- serving (social users) ---
  // Picks up to ads_per_timeline eligible ads for `viewer` and records one
  // impression for each.
  absl::StatusOr<std::vector<ServedAd>> ServeAds(social::UserId viewer) { return serving_.ServeAds(viewer); }
  // NotFound unless the impression was shown to `viewer`.
  absl::StatusOr<Explanation> Why(social::UserId viewer, int64_t impression_id) {
    return serving_.Why(viewer, impression_id);
  }

  // --- inspection ---
  // The audience's stored memberships, by user. For tests and benchmarks.
  absl::StatusOr<std::vector<Membership>> MembershipsForTesting(int64_t audience_id);
  int64_t reconciles() const { return matcher_.reconciles(); }

 private:
  AdsService(social::SocialDb& social, const Clock& clock, Random& random, AdsOptions options);
  absl::Status Init(Random& random);

  store::Database& db_;
  AdsOptions options_;   // noise_secret is set by Init
  std::mutex serve_mu_;  // impression budgets, frequency caps, campaign status
  Advertisers advertisers_;
  AudienceSizes sizes_;
  Matcher matcher_;
  Audiences audiences_;
  Campaigns campaigns_;
  Serving serving_;
};

}  // namespace tandem::ads
