// The ads platform's persistent state in the social operator's database
// (social.db, migration component "ads"): the schema and one function per
// query, so the classes above never spell SQL. SQL is portable ($n
// placeholders, ON CONFLICT upserts).
//
// What is stored: advertisers and the hashes of their tokens, daily budget
// use, audiences (with the matched count fixed per version), upload
// sessions and the sequence numbers of their batches, the matches of a
// session until it is applied, memberships (audience, user, which fact
// matched), campaigns and impressions. Never an uploaded row or hash.
//
// Time: callers pass absl::Time; only this file turns it into the unix
// seconds and unix days (seconds / 86400, UTC) of the rows. States are
// enums above; their stored text is converted here only.
//
// Thread safety: the functions are stateless; pass the Database (or the
// transaction handle InTransaction gives you) that the caller owns.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "ads/ads_types.h"
#include "common/status.h"
#include "store/store.h"

namespace tandem::ads::db {

using social::UserId;
using store::Database;

// Creates or upgrades the ads tables.
absl::Status Migrate(Database& db);

// ---- secrets ----
absl::StatusOr<std::optional<std::string>> GetSecret(Database& db, const std::string& name);
absl::Status PutSecret(Database& db, const std::string& name, const std::string& value);

// ---- advertisers and tokens ----
// `token_hash`: SHA-256 of the token (raw bytes).
absl::StatusOr<AdvertiserId> InsertAdvertiser(Database& db, const std::string& name,
                                              const std::string& token_hash, absl::Time now);
absl::StatusOr<std::optional<AdvertiserId>> AdvertiserForToken(Database& db, const std::string& token_hash);

// ---- daily budgets (UTC days) ----
absl::StatusOr<int64_t> BudgetUsed(Database& db, AdvertiserId adv, BudgetKind kind, absl::Time day);
absl::Status AddBudgetUse(Database& db, AdvertiserId adv, BudgetKind kind, absl::Time day);

// ---- audiences ----
struct AudienceRow {
  int64_t id = 0;
  std::string name, description;
  int64_t version = 0;
};
// The owner of a live (not deleted) audience.
absl::StatusOr<std::optional<AdvertiserId>> AudienceOwner(Database& db, int64_t audience_id);
absl::StatusOr<int64_t> InsertAudience(Database& db, AdvertiserId adv, const std::string& name,
                                       const std::string& description, absl::Time now);
// The advertiser's live audiences, by id.
absl::StatusOr<std::vector<AudienceRow>> ListAudiences(Database& db, AdvertiserId adv);
// The current version of a live audience.
absl::StatusOr<std::optional<int64_t>> AudienceVersion(Database& db, int64_t audience_id);
struct VersionRow {
  int64_t version = 0;
  int64_t observed_version = -1;  // the last version a size report showed
  int64_t version_matched = 0;    // the matched count fixed with the version
};
// NotFound unless the audience is live and the advertiser's.
absl::StatusOr<VersionRow> GetVersion(Database& db, AdvertiserId adv, int64_t audience_id);
absl::Status SetObservedVersion(Database& db, int64_t audience_id, int64_t version);
absl::Status TouchAudience(Database& db, int64_t audience_id, absl::Time now);
// Marks the audience deleted and removes its memberships, sessions and
// their matches and batches, in one transaction.
absl::Status DeleteAudience(Database& db, int64_t audience_id, absl::Time now);

// ---- upload sessions ----
struct SessionRow {
  int64_t id = 0;  // the row id; the advertiser's id is client_session_id
  std::string client_session_id;
  SessionKind kind = SessionKind::kAdd;
  SessionState state = SessionState::kReceiving;
  int64_t batches_received = 0, batches_matched = 0, rows_received = 0, rows_invalid = 0;
};
absl::StatusOr<std::vector<SessionRow>> ListSessions(Database& db, int64_t audience_id);
absl::StatusOr<std::optional<SessionRow>> FindSession(Database& db, int64_t audience_id,
                                                      const std::string& client_session_id);
absl::StatusOr<std::optional<SessionRow>> GetSession(Database& db, int64_t session_id);
// A new session in state receiving; returns its row id.
absl::StatusOr<int64_t> InsertSession(Database& db, int64_t audience_id, const std::string& client_session_id,
                                      SessionKind kind, absl::Time now);
// AlreadyExists if the batch was recorded before.
absl::Status InsertBatch(Database& db, int64_t session_id, int64_t batch_seq);
// Counts one received batch and moves the session to `state`.
absl::Status CountBatch(Database& db, int64_t session_id, int64_t rows, int64_t invalid_rows,
                        SessionState state, absl::Time now);
absl::Status SetBatchesMatched(Database& db, int64_t session_id, int64_t batches_matched, absl::Time now);
// Sessions with acknowledged batches that were never matched (their
// hashes were only in memory) become interrupted, without their matches.
absl::Status InterruptUnmatchedSessions(Database& db);
// One session interrupted, without its matches.
absl::Status InterruptSession(Database& db, int64_t session_id);

// ---- matches and memberships ----
struct Match {
  UserId user = 0;
  int source = 0;  // MatchSource bits
};
// Adds to the session's matches (sources of a user seen twice are joined).
absl::Status AddSessionMatches(Database& db, int64_t session_id, const std::vector<Match>& matches);
// Applies the session's matches to the audience (kind: add, remove or
// replace), drops them, marks the session applied and makes a new version
// whose matched count is the count now. Call inside a transaction.
absl::Status ApplySession(Database& db, int64_t audience_id, int64_t session_id, SessionKind kind,
                          absl::Time now);
// Users in any membership or session match.
absl::StatusOr<std::vector<UserId>> MatchedUsers(Database& db);
// Keeps only the `sources` bits of the user's memberships and session
// matches and drops those left without any; returns how many memberships
// went.
absl::StatusOr<int64_t> RestrictSources(Database& db, UserId user, int sources);
absl::StatusOr<int64_t> CountMembers(Database& db, int64_t audience_id);
// (audience, MatchSource bits) of each membership of the user.
absl::StatusOr<std::vector<std::pair<int64_t, int>>> MembershipsOf(Database& db, UserId user);
// Every membership of the audience, by user. For tests and benchmarks.
absl::StatusOr<std::vector<Membership>> AudienceMembersForTesting(Database& db, int64_t audience_id);

// ---- campaigns ----
struct CampaignRow {
  Campaign campaign;
  AdvertiserId advertiser = 0;
  std::string advertiser_name;  // filled by ActiveCampaigns only
};
absl::StatusOr<int64_t> InsertCampaign(Database& db, AdvertiserId adv, const CampaignSpec& spec,
                                       absl::Time now);
// The advertiser's campaigns that are not deleted, by id.
absl::StatusOr<std::vector<CampaignRow>> ListCampaigns(Database& db, AdvertiserId adv);
absl::StatusOr<std::optional<CampaignRow>> GetCampaign(Database& db, AdvertiserId adv, int64_t id);
// Active campaigns with impressions left, by id.
absl::StatusOr<std::vector<CampaignRow>> ActiveCampaigns(Database& db);
absl::Status SetCampaignStatus(Database& db, int64_t id, CampaignStatus status, absl::Time now);

// ---- impressions ----
struct ImpressionRow {
  int64_t campaign_id = 0;
  UserId user = 0;
  absl::Time at;
  int64_t audience_id = 0;  // 0: chosen by segment only
  int source = 0;           // MatchSource bits of the membership
  std::string segment;      // kActiveMessengerUsers or empty
};
// Impressions of the campaign to the user on the UTC day of `day`.
absl::StatusOr<int64_t> ImpressionsOnDay(Database& db, int64_t campaign_id, UserId user, absl::Time day);
// Stores the impression and counts it against the campaign's budget (the
// campaign is completed with its last one); returns the impression id.
absl::StatusOr<int64_t> RecordImpression(Database& db, const ImpressionRow& impression);
struct ImpressionFacts {
  int64_t audience_id = 0;
  int source = 0;
  std::string segment;
  std::string campaign, advertiser, audience;  // names; audience "" if none
  bool messenger_forgotten = false;
};
// Only an impression shown to `viewer`.
absl::StatusOr<std::optional<ImpressionFacts>> GetImpression(Database& db, int64_t impression_id,
                                                             UserId viewer);
// Users with impressions that rest on messenger facts.
absl::StatusOr<std::vector<UserId>> MessengerImpressedUsers(Database& db);
// Removes the messenger parts of the user's impressions and marks them.
absl::Status ForgetMessengerFacts(Database& db, UserId user);

}  // namespace tandem::ads::db
