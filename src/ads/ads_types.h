// The values of the ads platform's API (ads_service.h) and of its store
// (ads_store.h): ids, the states of sessions, audiences and campaigns, and
// the records advertisers and social users see.
//
// The names of the states (SessionStateName etc.) are the words of the HTTP
// API (docs/ads-api.md); how they are stored is the store's business.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "ads/size_report.h"
#include "ads/upload.h"
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

// The one targeting segment.
inline constexpr std::string_view kActiveMessengerUsers = "active_messenger_users";

enum class SessionKind { kAdd, kRemove, kReplace };
// "add", "remove", "replace".
std::string_view SessionKindName(SessionKind kind);

// An upload session: receiving batches, then (after the last batch)
// matching, then applied; interrupted when batches were lost (a restart
// or a failed match) and the list must be uploaded again.
enum class SessionState { kReceiving, kMatching, kApplied, kInterrupted };
std::string_view SessionStateName(SessionState state);

// Derived from the version and the sessions, never stored.
enum class AudienceStatus { kEmpty, kUploading, kMatching, kReady };
std::string_view AudienceStatusName(AudienceStatus status);

// Completed: the impression budget is used. Deleted campaigns are kept for
// the explanations of their impressions but are never listed.
enum class CampaignStatus { kActive, kPaused, kCompleted, kDeleted };
std::string_view CampaignStatusName(CampaignStatus status);
// What an advertiser may set: "active" or "paused"; InvalidArgument
// otherwise.
absl::StatusOr<CampaignStatus> ParseSettableCampaignStatus(std::string_view name);

// The two daily budgets of an advertiser.
enum class BudgetKind { kAudiences, kSizes };

struct NewAdvertiser {
  AdvertiserId id = 0;
  std::string name;
  std::string token;  // shown once; only its hash is stored
};

struct BudgetLeft {
  int audiences = 0, size_queries = 0;
};

struct SessionInfo {
  std::string session_id;
  SessionKind kind = SessionKind::kAdd;
  SessionState state = SessionState::kReceiving;
  int64_t batches = 0, rows = 0, invalid_rows = 0;
};

struct Audience {
  int64_t id = 0;
  std::string name, description;
  AudienceStatus status = AudienceStatus::kEmpty;
  int64_t version = 0;
  std::optional<SizeReport> size;  // only from GetAudience, within budget
  std::string size_note;           // why size is absent
  std::vector<SessionInfo> sessions;
};

struct BatchResult {
  std::string session_id;
  size_t received = 0;
  std::vector<InvalidRow> invalid;
  SessionState session_state = SessionState::kReceiving;
};

struct Creative {
  std::string title, text, link;
};

struct CampaignSpec {
  std::string name;
  Creative creative;
  std::vector<int64_t> include_audiences, exclude_audiences;
  std::vector<std::string> segments;  // kActiveMessengerUsers
  int64_t impression_budget = 0;
  int64_t frequency_cap_per_day = 1;
};

struct Campaign {
  int64_t id = 0;
  CampaignSpec spec;
  CampaignStatus status = CampaignStatus::kActive;
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

}  // namespace tandem::ads
