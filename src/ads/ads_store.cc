// SQL for the ads tables: the schema, advertisers, budgets and audiences
// (sessions and memberships: ads_store_sessions.cc; campaigns and
// impressions: ads_store_campaigns.cc).
#include "ads/ads_store.h"

#include <array>
#include <string_view>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "ads/ads_store_internal.h"

namespace tandem::ads::db {
namespace {

constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE ads_secrets (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE ads_advertisers (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE ads_tokens (
  token_hash BLOB PRIMARY KEY,
  advertiser_id INTEGER NOT NULL REFERENCES ads_advertisers(id),
  created_at INTEGER NOT NULL
);
CREATE TABLE ads_budget (
  advertiser_id INTEGER NOT NULL,
  day INTEGER NOT NULL,
  kind TEXT NOT NULL,
  used INTEGER NOT NULL,
  PRIMARY KEY (advertiser_id, day, kind)
);
CREATE TABLE ads_audiences (
  id INTEGER PRIMARY KEY,
  advertiser_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  version INTEGER NOT NULL DEFAULT 0,
  observed_version INTEGER NOT NULL DEFAULT -1,
  deleted INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX ads_audiences_advertiser ON ads_audiences(advertiser_id);
CREATE TABLE ads_sessions (
  id INTEGER PRIMARY KEY,
  audience_id INTEGER NOT NULL,
  client_session_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  state TEXT NOT NULL,
  batches_received INTEGER NOT NULL DEFAULT 0,
  batches_matched INTEGER NOT NULL DEFAULT 0,
  rows_received INTEGER NOT NULL DEFAULT 0,
  rows_invalid INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (audience_id, client_session_id)
);
CREATE TABLE ads_session_batches (
  session_id INTEGER NOT NULL,
  batch_seq INTEGER NOT NULL,
  PRIMARY KEY (session_id, batch_seq)
);
CREATE TABLE ads_session_matches (
  session_id INTEGER NOT NULL,
  user_id INTEGER NOT NULL,
  source INTEGER NOT NULL,
  PRIMARY KEY (session_id, user_id)
);
CREATE TABLE ads_memberships (
  audience_id INTEGER NOT NULL,
  user_id INTEGER NOT NULL,
  source INTEGER NOT NULL,
  PRIMARY KEY (audience_id, user_id)
);
CREATE INDEX ads_memberships_user ON ads_memberships(user_id);
CREATE TABLE ads_campaigns (
  id INTEGER PRIMARY KEY,
  advertiser_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  title TEXT NOT NULL,
  body TEXT NOT NULL,
  link TEXT NOT NULL,
  include_audiences TEXT NOT NULL,
  exclude_audiences TEXT NOT NULL,
  segments TEXT NOT NULL,
  impression_budget INTEGER NOT NULL,
  frequency_cap INTEGER NOT NULL,
  status TEXT NOT NULL,
  impressions INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE ads_impressions (
  id INTEGER PRIMARY KEY,
  campaign_id INTEGER NOT NULL,
  user_id INTEGER NOT NULL,
  day INTEGER NOT NULL,
  at INTEGER NOT NULL,
  audience_id INTEGER NOT NULL,
  source INTEGER NOT NULL,
  segment TEXT NOT NULL
);
CREATE INDEX ads_impressions_cap ON ads_impressions(campaign_id, user_id, day);
)sql";

// The matched count of the current version, fixed when the version is made:
// size reports show this, so that looking again at a version tells nothing
// about later objections, deletions or withdrawals. Audiences made before
// take their count at the time of the migration.
constexpr std::string_view kSchemaV2 = R"sql(
ALTER TABLE ads_audiences ADD COLUMN version_matched INTEGER NOT NULL DEFAULT 0;
UPDATE ads_audiences SET version_matched =
  (SELECT COUNT(*) FROM ads_memberships m WHERE m.audience_id = ads_audiences.id);
)sql";

// Impressions whose messenger-derived parts were removed when the
// messenger account was deleted say so in their explanation.
constexpr std::string_view kSchemaV3 = R"sql(
ALTER TABLE ads_impressions ADD COLUMN messenger_forgotten INTEGER NOT NULL DEFAULT 0;
)sql";

const std::array<store::Migration, 3> kMigrations = {{
    {1, "ads advertisers, audiences, upload sessions, memberships, campaigns, impressions", kSchemaV1},
    {2, "ads audience sizes fixed per version", kSchemaV2},
    {3, "ads impressions rewritten when a messenger account is deleted", kSchemaV3},
}};

}  // namespace

absl::Status Migrate(Database& db) { return db.Migrate(kMigrations, "ads"); }

// ---------------------------------------------------------------- secrets

absl::StatusOr<std::optional<std::string>> GetSecret(Database& db, const std::string& name) {
  auto row = db.QueryOne("SELECT value FROM ads_secrets WHERE name = $1", {name});
  if (absl::IsNotFound(row.status())) return std::nullopt;
  RETURN_IF_ERROR(row.status());
  return row->Text(0);
}

absl::Status PutSecret(Database& db, const std::string& name, const std::string& value) {
  return db.Execute("INSERT INTO ads_secrets (name, value) VALUES ($1, $2)", {name, value}).status();
}

// ------------------------------------------------------------ advertisers

absl::StatusOr<AdvertiserId> InsertAdvertiser(Database& db, const std::string& name,
                                              const std::string& token_hash, absl::Time now) {
  AdvertiserId id = 0;
  RETURN_IF_ERROR(db.InTransaction([&](Database& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto row, tx.QueryOne("INSERT INTO ads_advertisers (name, created_at) VALUES ($1, $2) "
                                           "RETURNING id",
                                           {name, Seconds(now)}));
    id = row.Int(0);
    return tx
        .Execute("INSERT INTO ads_tokens (token_hash, advertiser_id, created_at) VALUES ($1, $2, $3)",
                 {Value::Blob(token_hash), id, Seconds(now)})
        .status();
  }));
  return id;
}

absl::StatusOr<std::optional<AdvertiserId>> AdvertiserForToken(Database& db, const std::string& token_hash) {
  auto row =
      db.QueryOne("SELECT advertiser_id FROM ads_tokens WHERE token_hash = $1", {Value::Blob(token_hash)});
  if (absl::IsNotFound(row.status())) return std::nullopt;
  RETURN_IF_ERROR(row.status());
  return row->Int(0);
}

absl::StatusOr<int64_t> BudgetUsed(Database& db, AdvertiserId adv, BudgetKind kind, absl::Time day) {
  auto row = db.QueryOne("SELECT used FROM ads_budget WHERE advertiser_id = $1 AND day = $2 AND kind = $3",
                         {adv, Day(day), Stored(kBudgets, kind)});
  if (absl::IsNotFound(row.status())) return 0;
  RETURN_IF_ERROR(row.status());
  return row->Int(0);
}

absl::Status AddBudgetUse(Database& db, AdvertiserId adv, BudgetKind kind, absl::Time day) {
  return db
      .Execute(
          "INSERT INTO ads_budget (advertiser_id, day, kind, used) VALUES ($1, $2, $3, 1) "
          "ON CONFLICT (advertiser_id, day, kind) DO UPDATE SET used = used + 1",
          {adv, Day(day), Stored(kBudgets, kind)})
      .status();
}

// -------------------------------------------------------------- audiences

absl::StatusOr<std::optional<AdvertiserId>> AudienceOwner(Database& db, int64_t audience_id) {
  auto row =
      db.QueryOne("SELECT advertiser_id FROM ads_audiences WHERE id = $1 AND deleted = 0", {audience_id});
  if (absl::IsNotFound(row.status())) return std::nullopt;
  RETURN_IF_ERROR(row.status());
  return row->Int(0);
}

absl::StatusOr<int64_t> InsertAudience(Database& db, AdvertiserId adv, const std::string& name,
                                       const std::string& description, absl::Time now) {
  ASSIGN_OR_RETURN(auto row, db.QueryOne("INSERT INTO ads_audiences (advertiser_id, name, description, "
                                         "created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING id",
                                         {adv, name, description, Seconds(now)}));
  return row.Int(0);
}

absl::StatusOr<std::vector<AudienceRow>> ListAudiences(Database& db, AdvertiserId adv) {
  ASSIGN_OR_RETURN(auto rows, db.Query("SELECT id, name, description, version FROM ads_audiences "
                                       "WHERE advertiser_id = $1 AND deleted = 0 ORDER BY id",
                                       {adv}));
  std::vector<AudienceRow> out;
  for (const Row& r : rows) out.push_back({r.Int(0), r.Text(1), r.Text(2), r.Int(3)});
  return out;
}

absl::StatusOr<std::optional<int64_t>> AudienceVersion(Database& db, int64_t audience_id) {
  auto row = db.QueryOne("SELECT version FROM ads_audiences WHERE id = $1 AND deleted = 0", {audience_id});
  if (absl::IsNotFound(row.status())) return std::nullopt;
  RETURN_IF_ERROR(row.status());
  return row->Int(0);
}

absl::StatusOr<VersionRow> GetVersion(Database& db, AdvertiserId adv, int64_t audience_id) {
  ASSIGN_OR_RETURN(auto row,
                   db.QueryOne("SELECT version, observed_version, version_matched FROM ads_audiences "
                               "WHERE id = $1 AND advertiser_id = $2 AND deleted = 0",
                               {audience_id, adv}));
  return VersionRow{row.Int(0), row.Int(1), row.Int(2)};
}

absl::Status SetObservedVersion(Database& db, int64_t audience_id, int64_t version) {
  return db.Execute("UPDATE ads_audiences SET observed_version = $2 WHERE id = $1", {audience_id, version})
      .status();
}

absl::Status TouchAudience(Database& db, int64_t audience_id, absl::Time now) {
  return db.Execute("UPDATE ads_audiences SET updated_at = $2 WHERE id = $1", {audience_id, Seconds(now)})
      .status();
}

absl::Status DeleteAudience(Database& db, int64_t audience_id, absl::Time now) {
  return db.InTransaction([&](Database& tx) -> absl::Status {
    RETURN_IF_ERROR(tx.Execute("UPDATE ads_audiences SET deleted = 1, updated_at = $2 WHERE id = $1",
                               {audience_id, Seconds(now)})
                        .status());
    RETURN_IF_ERROR(tx.Execute("DELETE FROM ads_memberships WHERE audience_id = $1", {audience_id}).status());
    RETURN_IF_ERROR(tx.Execute("DELETE FROM ads_session_matches WHERE session_id IN "
                               "(SELECT id FROM ads_sessions WHERE audience_id = $1)",
                               {audience_id})
                        .status());
    RETURN_IF_ERROR(tx.Execute("DELETE FROM ads_session_batches WHERE session_id IN "
                               "(SELECT id FROM ads_sessions WHERE audience_id = $1)",
                               {audience_id})
                        .status());
    return tx.Execute("DELETE FROM ads_sessions WHERE audience_id = $1", {audience_id}).status();
  });
}

}  // namespace tandem::ads::db
