// The ads platform on the social operator's side: advertiser accounts,
// customer-list audiences, asynchronous matching, size reporting with a
// budget, campaigns, serving (for social's timeline, through
// timeline_ads.h) and "why am I seeing this ad?".
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
//     per-advertiser daily budget (size_report.h). A version's size is
//     fixed when the version is made: membership changes (objections,
//     deletions, withdrawn discoverability) take effect for serving at once
//     but show in a size report only through a new version, which costs
//     budget, so free looks at a seen version reveal nothing new.
//
// Concurrency: public methods are thread-safe (HTTP handlers call them from
// server threads). One worker thread (Start) matches queued batches and
// reconciles memberships; without Start, tests call RunPending() to do the
// same work on their own thread. Uploads are serialized so that batches
// reach the queue in commit order.
//
// Errors: InvalidArgument (bad input), Unauthenticated (bad token),
// NotFound (unknown or foreign ids), AlreadyExists (a batch sent twice),
// FailedPrecondition (closed session, untargetable audience),
// ResourceExhausted (daily budget), PermissionDenied (admin endpoint off).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ads/match_index.h"
#include "ads/size_report.h"
#include "ads/upload.h"
#include "common/clock.h"
#include "common/random.h"
#include "common/status.h"
#include "social/ad_source.h"
#include "social/social_db.h"

namespace tandem::ads {

using AdvertiserId = int64_t;

struct AdsOptions {
  SizePolicy size;
  int audience_budget_per_day = 10;   // audience creations per advertiser and UTC day
  int size_budget_per_day = 20;       // observations of new audience versions per day
  int ads_per_timeline = 2;           // ads mixed into one timeline page
  int active_messenger_min_days = 7;  // "active messenger users": active days in the last 28
  // Secret for the size noise. Empty: generated once and kept in the database.
  std::string noise_secret;
};

// Which fact matched a person (bit set).
enum MatchSource : int { kViaSocial = 1, kViaMessenger = 2 };

struct NewAdvertiser {
  AdvertiserId id = 0;
  std::string name;
  std::string token;  // shown once; only its hash is stored
};

struct SessionInfo {
  std::string session_id;
  std::string kind;   // add, remove, replace
  std::string state;  // receiving, matching, applied, interrupted
  int64_t batches = 0, rows = 0, invalid_rows = 0;
};

struct Audience {
  int64_t id = 0;
  std::string name, description;
  std::string status;  // empty, uploading, matching, ready
  int64_t version = 0;
  std::optional<SizeReport> size;  // only from GetAudience, within budget
  std::string size_note;           // why size is absent
  std::vector<SessionInfo> sessions;
};

struct BatchResult {
  std::string session_id;
  size_t received = 0;
  std::vector<InvalidRow> invalid;
  std::string session_state;
};

struct Creative {
  std::string title, text, link;
};

struct CampaignSpec {
  std::string name;
  Creative creative;
  std::vector<int64_t> include_audiences, exclude_audiences;
  std::vector<std::string> segments;  // "active_messenger_users"
  int64_t impression_budget = 0;
  int64_t frequency_cap_per_day = 1;
};

struct Campaign {
  int64_t id = 0;
  CampaignSpec spec;
  std::string status;  // active, paused, completed
  int64_t impressions = 0;
};

struct ServedAd {
  int64_t impression_id = 0;
  int64_t campaign_id = 0;
  std::string advertiser;
  Creative creative;
};

// The explanation is the timeline's type (social/ad_source.h): ads answers
// "why" in the shape the timeline shows.
using Explanation = social::AdExplanation;

struct Membership {
  int64_t audience_id = 0;
  social::UserId user = 0;
  int source = 0;  // MatchSource bits
  bool operator==(const Membership&) const = default;
};

class AdsService {
 public:
  static absl::StatusOr<std::unique_ptr<AdsService>> Create(social::SocialDb& social, Clock& clock,
                                                            Random& random, AdsOptions options = {});
  ~AdsService();  // stops the worker; queued batches are dropped
  AdsService(const AdsService&) = delete;
  AdsService& operator=(const AdsService&) = delete;

  void Start();
  void Stop();
  // Matches every queued batch and reconciles memberships on the caller's
  // thread (only when Start() was not called).
  void RunPending();
  // Waits until the worker has nothing queued and nothing to reconcile.
  void WaitIdle();

  // --- advertisers ---
  absl::StatusOr<NewAdvertiser> CreateAdvertiser(std::string_view name);
  absl::StatusOr<AdvertiserId> Authenticate(std::string_view token);
  struct BudgetLeft {
    int audiences = 0, size_queries = 0;
  };
  absl::StatusOr<BudgetLeft> Budget(AdvertiserId adv);

  // --- audiences ---
  absl::StatusOr<Audience> CreateAudience(AdvertiserId adv, std::string_view name,
                                          std::string_view description);
  absl::StatusOr<std::vector<Audience>> ListAudiences(AdvertiserId adv);
  // Status plus the size of the current version; the first look at a new
  // version costs one unit of the size budget (when exhausted, size is
  // absent and size_note says why).
  absl::StatusOr<Audience> GetAudience(AdvertiserId adv, int64_t audience_id);
  absl::Status DeleteAudience(AdvertiserId adv, int64_t audience_id);
  // One batch of an add, remove or replace session. `rejected` receives the
  // offending rows when a PHONE_SHA256 batch is refused.
  absl::StatusOr<BatchResult> Upload(AdvertiserId adv, int64_t audience_id, SessionKind kind,
                                     const UploadRequest& request,
                                     std::vector<InvalidRow>* rejected = nullptr);

  // --- campaigns ---
  absl::StatusOr<Campaign> CreateCampaign(AdvertiserId adv, const CampaignSpec& spec);
  absl::StatusOr<std::vector<Campaign>> ListCampaigns(AdvertiserId adv);
  absl::StatusOr<Campaign> GetCampaign(AdvertiserId adv, int64_t id);
  // "active" or "paused".
  absl::StatusOr<Campaign> SetCampaignStatus(AdvertiserId adv, int64_t id, std::string_view status);
  absl::Status DeleteCampaign(AdvertiserId adv, int64_t id);

  // --- serving (social users) ---
  // Picks up to ads_per_timeline eligible ads for `viewer` and records one
  // impression for each.
  absl::StatusOr<std::vector<ServedAd>> ServeAds(social::UserId viewer);
  // NotFound unless the impression was shown to `viewer`.
  absl::StatusOr<Explanation> Why(social::UserId viewer, int64_t impression_id);

  // --- inspection (tests, metrics) ---
  absl::StatusOr<std::vector<Membership>> Memberships(int64_t audience_id);
  int64_t reconciles() const { return reconciles_.load(); }

 private:
  struct Job {
    int64_t session_row = 0;
    int64_t audience_id = 0;
    SessionKind kind = SessionKind::kAdd;
    std::vector<phone::Digest> digests;  // memory only; wiped after matching
    uint64_t generation = 0;             // social commits seen when queued
  };

  AdsService(social::SocialDb& social, Clock& clock, Random& random, AdsOptions options);
  absl::Status Init();
  void Run();
  // Work items; return false when there was nothing to do.
  bool ReconcileIfNeeded();
  bool MatchOne();
  absl::Status Reconcile();
  void RebuildIndex();
  std::vector<std::pair<social::UserId, int>> Match(const std::vector<phone::Digest>& digests);
  absl::Status ApplyMatches(const Job& job, const std::vector<std::pair<social::UserId, int>>& matches);

  int64_t Today() const;
  absl::Status Charge(store::Database& tx, AdvertiserId adv, std::string_view kind, int limit);
  absl::StatusOr<int64_t> MatchedCount(int64_t audience_id);
  void InvalidateCounts();
  // The report for `matched` people in this version of the audience.
  SizeReport ReportFor(int64_t audience_id, int64_t version, int64_t matched) const;
  // The size report of the audience's current version, from the matched
  // count fixed when the version was made; charges the size budget if this
  // version was not observed yet.
  absl::StatusOr<SizeReport> Observe(AdvertiserId adv, int64_t audience_id);
  absl::StatusOr<Campaign> LoadCampaign(const store::Row& row);
  absl::Status CheckOwnedAudience(AdvertiserId adv, int64_t audience_id);

  social::SocialDb& social_;
  store::Database& db_;
  Clock& clock_;
  Random& random_;
  AdsOptions options_;

  std::mutex upload_mu_;  // commit + enqueue order of batches
  std::mutex serve_mu_;   // impression budgets and frequency caps

  // Shared with the commit listener, which may outlive this object (the
  // social database keeps its listeners).
  struct Wake {
    std::mutex mu;  // guards the fields below and jobs_, busy_, stopping_
    std::condition_variable cv;
    bool reconcile_needed = true;
    std::atomic<uint64_t> generation{1};  // bumped by every social commit
  };
  std::shared_ptr<Wake> wake_;
  std::deque<Job> jobs_;
  bool busy_ = false;
  bool stopping_ = false;
  std::thread thread_;

  uint64_t index_generation_ = 0;  // worker only
  MatchIndex index_;               // worker only
  // Worker only: users that appear (or appeared) in memberships, and a
  // superset of the match sources stored for each (kUnknownReach: all).
  static constexpr uint8_t kUnknownReach = kViaSocial | kViaMessenger;
  std::vector<uint8_t> member_;
  std::vector<uint8_t> reach_cache_;

  std::mutex count_mu_;
  std::vector<std::pair<int64_t, int64_t>> counts_;  // audience -> matched (small cache)

  // Users with impressions that rest on messenger facts (a messenger match
  // or the active-messenger segment). When such a user's messenger account
  // is gone, the worker rewrites those impressions, so that no stored
  // explanation still names what the messenger shared.
  std::mutex impressed_mu_;
  std::vector<uint8_t> messenger_impressed_;  // guarded by impressed_mu_
  absl::Status ForgetDeletedMessengerFacts();

  std::atomic<int64_t> reconciles_{0};
};

}  // namespace tandem::ads
