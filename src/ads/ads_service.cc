// Advertisers, audiences, matching, campaigns and serving. See
// ads_service.h for the privacy invariants this file keeps.
#include "ads/ads_service.h"

#include <algorithm>
#include <array>
#include <charconv>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/encoding.h"
#include "common/log.h"
#include "common/text.h"
#include "social/purpose_view.h"
#include "social/social_service.h"

namespace tandem::ads {
namespace {

using social::Purpose;
using social::PurposeView;
using social::UserId;
using store::Value;

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

constexpr std::string_view kActiveMessengerUsers = "active_messenger_users";

int ReachBits(const social::PhoneReach& r) {
  return (r.via_social ? kViaSocial : 0) | (r.via_messenger ? kViaMessenger : 0);
}

// The E.164 digits of a phone key (what the customer-list hash covers).
std::string_view Digits(social::PhoneKey key, std::array<char, 24>& buf) {
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), key);
  return std::string_view(buf.data(), static_cast<size_t>(end - buf.data()));
}

std::string JoinIds(const std::vector<int64_t>& ids) { return absl::StrJoin(ids, ","); }

std::vector<int64_t> SplitIds(const std::string& text) {
  std::vector<int64_t> ids;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    int64_t id;
    if (absl::SimpleAtoi(part, &id)) ids.push_back(id);
  }
  return ids;
}

}  // namespace

AdsService::AdsService(social::SocialDb& social, Clock& clock, Random& random, AdsOptions options)
    : social_(social),
      db_(social.database_for_ads()),
      clock_(clock),
      random_(random),
      options_(std::move(options)),
      wake_(std::make_shared<Wake>()) {}

absl::StatusOr<std::unique_ptr<AdsService>> AdsService::Create(social::SocialDb& social, Clock& clock,
                                                               Random& random, AdsOptions options) {
  std::unique_ptr<AdsService> s(new AdsService(social, clock, random, std::move(options)));
  RETURN_IF_ERROR(s->Init());
  std::shared_ptr<Wake> wake = s->wake_;
  social.AddCommitListener([wake] {
    wake->generation.fetch_add(1);
    {
      std::lock_guard lock(wake->mu);
      wake->reconcile_needed = true;
    }
    wake->cv.notify_all();
  });
  return s;
}

absl::Status AdsService::Init() {
  RETURN_IF_ERROR(db_.Migrate(kMigrations, "ads"));
  if (options_.noise_secret.empty()) {
    auto row = db_.QueryOne("SELECT value FROM ads_secrets WHERE name = 'size_noise'");
    if (row.ok()) {
      options_.noise_secret = row->Text(0);
    } else if (absl::IsNotFound(row.status())) {
      options_.noise_secret = random_.Hex(32);
      RETURN_IF_ERROR(db_.Execute("INSERT INTO ads_secrets (name, value) VALUES ('size_noise', $1)",
                                  {options_.noise_secret})
                          .status());
    } else {
      return row.status();
    }
  }
  // Batches acknowledged but not matched before a restart are gone (their
  // hashes were only in memory): such sessions must be uploaded again.
  RETURN_IF_ERROR(db_.InTransaction([&](store::Database& tx) -> absl::Status {
    RETURN_IF_ERROR(
        tx.Execute("UPDATE ads_sessions SET state = 'interrupted' "
                   "WHERE state IN ('receiving', 'matching') AND batches_matched < batches_received")
            .status());
    return tx
        .Execute(
            "DELETE FROM ads_session_matches WHERE session_id IN "
            "(SELECT id FROM ads_sessions WHERE state = 'interrupted')")
        .status();
  }));
  ASSIGN_OR_RETURN(auto users, db_.Query("SELECT user_id FROM ads_memberships UNION "
                                         "SELECT user_id FROM ads_session_matches"));
  for (const auto& r : users) {
    auto u = static_cast<size_t>(r.Int(0));
    if (u >= member_.size()) member_.resize(u + 1, 0);
    member_[u] = 1;
  }
  ASSIGN_OR_RETURN(auto impressed, db_.Query(absl::StrCat("SELECT DISTINCT user_id FROM ads_impressions "
                                                          "WHERE (source & ",
                                                          kViaMessenger, ") != 0 OR segment != ''")));
  std::lock_guard lock(impressed_mu_);
  for (const auto& r : impressed) {
    auto u = static_cast<size_t>(r.Int(0));
    if (u >= messenger_impressed_.size()) messenger_impressed_.resize(u + 1, 0);
    messenger_impressed_[u] = 1;
  }
  return absl::OkStatus();
}

AdsService::~AdsService() { Stop(); }

void AdsService::Start() {
  std::lock_guard lock(wake_->mu);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { Run(); });
}

void AdsService::Stop() {
  {
    std::lock_guard lock(wake_->mu);
    stopping_ = true;
  }
  wake_->cv.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(wake_->mu);
  for (auto& job : jobs_) std::fill(job.digests.begin(), job.digests.end(), phone::Digest{});
  jobs_.clear();
}

void AdsService::Run() {
  while (true) {
    {
      std::unique_lock lock(wake_->mu);
      wake_->cv.wait(lock, [&] { return stopping_ || wake_->reconcile_needed || !jobs_.empty(); });
      if (stopping_) return;
      busy_ = true;
    }
    // Objections first: they are what must take effect within a second.
    if (!ReconcileIfNeeded()) MatchOne();
    {
      std::lock_guard lock(wake_->mu);
      busy_ = false;
    }
    wake_->cv.notify_all();
  }
}

void AdsService::RunPending() {
  while (ReconcileIfNeeded() || MatchOne()) {
  }
}

void AdsService::WaitIdle() {
  std::unique_lock lock(wake_->mu);
  if (!thread_.joinable()) {
    lock.unlock();
    RunPending();
    return;
  }
  wake_->cv.wait(lock, [&] { return stopping_ || (!busy_ && jobs_.empty() && !wake_->reconcile_needed); });
}

int64_t AdsService::Today() const { return absl::ToUnixSeconds(clock_.Now()) / 86400; }

// ---------------------------------------------------------------- matching

void AdsService::RebuildIndex() {
  uint64_t generation = wake_->generation.load();
  std::vector<std::pair<social::PhoneKey, UserId>> phones;
  {
    PurposeView view = social_.View(Purpose::kAds);
    view.ForEachReachablePhone([&](social::PhoneKey phone, const social::PhoneReach& reach) {
      phones.emplace_back(phone, reach.user);
    });
  }
  std::vector<MatchIndex::Entry> entries;
  entries.reserve(phones.size());
  phone::PhoneHasher hasher;
  std::array<char, 24> buf;
  for (const auto& [phone, user] : phones) {
    entries.push_back({MatchIndex::KeyOf(hasher.Hash(Digits(phone, buf))), user});
  }
  index_ = MatchIndex::Build(entries);
  index_generation_ = generation;
  log::Debug("ads.index_rebuilt", {{"entries", static_cast<uint64_t>(index_.size())}});
}

std::vector<std::pair<UserId, int>> AdsService::Match(const std::vector<phone::Digest>& digests) {
  std::vector<uint64_t> keys(digests.size());
  for (size_t i = 0; i < digests.size(); ++i) keys[i] = MatchIndex::KeyOf(digests[i]);
  std::vector<uint32_t> users(digests.size());
  index_.LookupBatch(keys, users);
  std::vector<std::pair<UserId, int>> matches;
  phone::PhoneHasher hasher;
  std::array<char, 24> buf;
  // Every candidate is confirmed against the ads view as it is now: the
  // index proposes, the purpose view decides.
  PurposeView view = social_.View(Purpose::kAds);
  for (size_t i = 0; i < digests.size(); ++i) {
    if (users[i] == 0) continue;
    social::PhoneReach reach = view.ReachOf(users[i]);
    if (!reach.found()) continue;
    if (hasher.Hash(Digits(view.OwnPhone(users[i]), buf)) != digests[i]) continue;
    matches.emplace_back(users[i], ReachBits(reach));
  }
  return matches;
}

bool AdsService::MatchOne() {
  Job job;
  {
    std::lock_guard lock(wake_->mu);
    if (jobs_.empty()) return false;
    job = std::move(jobs_.front());
    jobs_.pop_front();
  }
  if (index_generation_ < job.generation) RebuildIndex();
  auto matches = Match(job.digests);
  std::fill(job.digests.begin(), job.digests.end(), phone::Digest{});
  job.digests.clear();
  job.digests.shrink_to_fit();
  if (absl::Status st = ApplyMatches(job, matches); !st.ok()) {
    // The batch cannot be retried (its rows are gone): the session is
    // marked interrupted so the advertiser uploads it again.
    log::Error("ads.match_failed", {{"session", job.session_row}, {"error", std::string(st.message())}});
    (void)db_.Execute("UPDATE ads_sessions SET state = 'interrupted' WHERE id = $1", {job.session_row});
    (void)db_.Execute("DELETE FROM ads_session_matches WHERE session_id = $1", {job.session_row});
  }
  return true;
}

absl::Status AdsService::ApplyMatches(const Job& job, const std::vector<std::pair<UserId, int>>& matches) {
  bool applied = false;
  int64_t now = absl::ToUnixSeconds(clock_.Now());
  RETURN_IF_ERROR(db_.InTransaction([&](store::Database& tx) -> absl::Status {
    auto session = tx.QueryOne(
        "SELECT state, batches_received, batches_matched FROM ads_sessions WHERE id = $1", {job.session_row});
    if (absl::IsNotFound(session.status())) return absl::OkStatus();  // audience deleted meanwhile
    RETURN_IF_ERROR(session.status());
    std::string state = session->Text(0);
    if (state != "receiving" && state != "matching") return absl::OkStatus();
    for (const auto& [user, source] : matches) {
      RETURN_IF_ERROR(
          tx.Execute("INSERT INTO ads_session_matches (session_id, user_id, source) VALUES ($1, $2, $3) "
                     "ON CONFLICT (session_id, user_id) DO UPDATE SET source = source | excluded.source",
                     {job.session_row, user, source})
              .status());
    }
    int64_t matched = session->Int(2) + 1;
    RETURN_IF_ERROR(tx.Execute("UPDATE ads_sessions SET batches_matched = $2, updated_at = $3 WHERE id = $1",
                               {job.session_row, matched, now})
                        .status());
    if (state != "matching" || matched != session->Int(1)) return absl::OkStatus();
    // The last batch is matched: apply the whole session at once.
    if (job.kind == SessionKind::kReplace) {
      RETURN_IF_ERROR(
          tx.Execute("DELETE FROM ads_memberships WHERE audience_id = $1", {job.audience_id}).status());
    }
    if (job.kind == SessionKind::kRemove) {
      RETURN_IF_ERROR(tx.Execute("DELETE FROM ads_memberships WHERE audience_id = $1 AND user_id IN "
                                 "(SELECT user_id FROM ads_session_matches WHERE session_id = $2)",
                                 {job.audience_id, job.session_row})
                          .status());
    } else {
      RETURN_IF_ERROR(
          tx.Execute("INSERT INTO ads_memberships (audience_id, user_id, source) "
                     "SELECT $1, user_id, source FROM ads_session_matches WHERE session_id = $2 "
                     "ON CONFLICT (audience_id, user_id) DO UPDATE SET source = source | excluded.source",
                     {job.audience_id, job.session_row})
              .status());
    }
    RETURN_IF_ERROR(
        tx.Execute("DELETE FROM ads_session_matches WHERE session_id = $1", {job.session_row}).status());
    RETURN_IF_ERROR(tx.Execute("UPDATE ads_sessions SET state = 'applied', updated_at = $2 WHERE id = $1",
                               {job.session_row, now})
                        .status());
    // The new version's size is the count as it is now, in this
    // transaction; later membership changes reach serving at once but size
    // reports only with the next version.
    RETURN_IF_ERROR(
        tx.Execute("UPDATE ads_audiences SET version = version + 1, updated_at = $2, version_matched = "
                   "(SELECT COUNT(*) FROM ads_memberships WHERE audience_id = $1) WHERE id = $1",
                   {job.audience_id, now})
            .status());
    applied = true;
    return absl::OkStatus();
  }));
  for (const auto& [user, source] : matches) {
    if (user >= member_.size()) member_.resize(user + 1, 0);
    member_[user] = 1;
    if (user >= reach_cache_.size()) reach_cache_.resize(user + 1, kUnknownReach);
    reach_cache_[user] |= static_cast<uint8_t>(source);
  }
  if (applied) {
    InvalidateCounts();
    log::Info("ads.session_applied", {{"audience", job.audience_id},
                                      {"session", job.session_row},
                                      {"kind", std::string(SessionKindName(job.kind))}});
  }
  return absl::OkStatus();
}

bool AdsService::ReconcileIfNeeded() {
  {
    std::lock_guard lock(wake_->mu);
    if (!wake_->reconcile_needed) return false;
    wake_->reconcile_needed = false;
  }
  if (absl::Status st = Reconcile(); !st.ok()) {
    log::Error("ads.reconcile_failed", {{"error", std::string(st.message())}});
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::lock_guard lock(wake_->mu);
    wake_->reconcile_needed = true;
  }
  return true;
}

absl::Status AdsService::ForgetDeletedMessengerFacts() {
  std::vector<UserId> gone;
  {
    std::lock_guard lock(impressed_mu_);
    // The security view sees messenger facts whatever the user objected
    // to: only a deleted messenger account makes them disappear there.
    PurposeView view = social_.View(Purpose::kSecurity);
    for (size_t u = 1; u < messenger_impressed_.size(); ++u) {
      if (messenger_impressed_[u] && !view.MessengerLinked(static_cast<UserId>(u))) {
        gone.push_back(static_cast<UserId>(u));
      }
    }
  }
  if (gone.empty()) return absl::OkStatus();
  RETURN_IF_ERROR(db_.InTransaction([&](store::Database& tx) -> absl::Status {
    for (UserId u : gone) {
      RETURN_IF_ERROR(
          tx.Execute(absl::StrCat("UPDATE ads_impressions SET source = source & ~", kViaMessenger,
                                  ", segment = '', messenger_forgotten = 1 WHERE user_id = $1 AND "
                                  "((source & ",
                                  kViaMessenger, ") != 0 OR segment != '')"),
                     {u})
              .status());
    }
    return absl::OkStatus();
  }));
  std::lock_guard lock(impressed_mu_);
  for (UserId u : gone) messenger_impressed_[u] = 0;
  log::Info("ads.impressions_rewritten", {{"users", static_cast<uint64_t>(gone.size())}});
  return absl::OkStatus();
}

absl::Status AdsService::Reconcile() {
  RETURN_IF_ERROR(ForgetDeletedMessengerFacts());
  // Which members lost a fact their membership rests on. reach_cache_ holds
  // a superset of every stored source per user, so only users whose reach
  // shrank since the last pass need a database write.
  std::vector<std::pair<UserId, int>> shrunk;
  {
    PurposeView view = social_.View(Purpose::kAds);
    if (reach_cache_.size() < member_.size()) reach_cache_.resize(member_.size(), kUnknownReach);
    for (size_t u = 1; u < member_.size(); ++u) {
      if (!member_[u]) continue;
      int bits = ReachBits(view.ReachOf(static_cast<UserId>(u)));
      if (reach_cache_[u] & ~bits) {
        shrunk.emplace_back(static_cast<UserId>(u), bits);
      } else {
        reach_cache_[u] = static_cast<uint8_t>(bits);
      }
    }
  }
  reconciles_.fetch_add(1);
  if (shrunk.empty()) return absl::OkStatus();
  int64_t removed = 0;
  RETURN_IF_ERROR(db_.InTransaction([&](store::Database& tx) -> absl::Status {
    for (const auto& [user, bits] : shrunk) {
      for (std::string_view table : {"ads_memberships", "ads_session_matches"}) {
        RETURN_IF_ERROR(
            tx.Execute(
                  absl::StrCat("UPDATE ", std::string(table),
                               " SET source = source & $2 WHERE user_id = $1 AND (source & $2) != source"),
                  {user, bits})
                .status());
        ASSIGN_OR_RETURN(int64_t n, tx.Execute(absl::StrCat("DELETE FROM ", std::string(table),
                                                            " WHERE user_id = $1 AND source = 0"),
                                               {user}));
        if (table == "ads_memberships") removed += n;
      }
    }
    return absl::OkStatus();
  }));
  for (const auto& [user, bits] : shrunk) reach_cache_[user] = static_cast<uint8_t>(bits);
  InvalidateCounts();
  log::Info("ads.memberships_reconciled",
            {{"users", static_cast<uint64_t>(shrunk.size())}, {"removed", removed}});
  return absl::OkStatus();
}

// ------------------------------------------------------------- advertisers

absl::StatusOr<NewAdvertiser> AdsService::CreateAdvertiser(std::string_view name) {
  NewAdvertiser a;
  a.name = std::string(name);
  RETURN_IF_ERROR(ValidateText("name", a.name, 200));
  a.token = random_.Hex(32);
  int64_t now = absl::ToUnixSeconds(clock_.Now());
  RETURN_IF_ERROR(db_.InTransaction([&](store::Database& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto row, tx.QueryOne("INSERT INTO ads_advertisers (name, created_at) VALUES ($1, $2) "
                                           "RETURNING id",
                                           {a.name, now}));
    a.id = row.Int(0);
    return tx
        .Execute("INSERT INTO ads_tokens (token_hash, advertiser_id, created_at) VALUES ($1, $2, $3)",
                 {Value::Blob(tandem::Sha256(a.token)), a.id, now})
        .status();
  }));
  log::Info("ads.advertiser_created", {{"advertiser", a.id}});
  return a;
}

absl::StatusOr<AdvertiserId> AdsService::Authenticate(std::string_view token) {
  if (token.empty())
    return absl::UnauthenticatedError("missing advertiser token (Authorization: Bearer <token>)");
  auto row = db_.QueryOne("SELECT advertiser_id FROM ads_tokens WHERE token_hash = $1",
                          {Value::Blob(tandem::Sha256(token))});
  if (absl::IsNotFound(row.status())) return absl::UnauthenticatedError("unknown advertiser token");
  RETURN_IF_ERROR(row.status());
  return row->Int(0);
}

absl::Status AdsService::Charge(store::Database& tx, AdvertiserId adv, std::string_view kind, int limit) {
  int64_t day = Today();
  auto row = tx.QueryOne("SELECT used FROM ads_budget WHERE advertiser_id = $1 AND day = $2 AND kind = $3",
                         {adv, day, kind});
  int64_t used = 0;
  if (row.ok()) {
    used = row->Int(0);
  } else if (!absl::IsNotFound(row.status())) {
    return row.status();
  }
  if (used >= limit) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the daily budget of ", limit, kind == "audiences" ? " audience creations" : " audience size looks",
        " is used up; it renews at 00:00 UTC"));
  }
  return tx
      .Execute(
          "INSERT INTO ads_budget (advertiser_id, day, kind, used) VALUES ($1, $2, $3, 1) "
          "ON CONFLICT (advertiser_id, day, kind) DO UPDATE SET used = used + 1",
          {adv, day, kind})
      .status();
}

absl::StatusOr<AdsService::BudgetLeft> AdsService::Budget(AdvertiserId adv) {
  BudgetLeft left{options_.audience_budget_per_day, options_.size_budget_per_day};
  ASSIGN_OR_RETURN(
      auto rows,
      db_.Query("SELECT kind, used FROM ads_budget WHERE advertiser_id = $1 AND day = $2", {adv, Today()}));
  for (const auto& r : rows) {
    if (r.Text(0) == "audiences")
      left.audiences = std::max<int>(0, left.audiences - static_cast<int>(r.Int(1)));
    if (r.Text(0) == "sizes")
      left.size_queries = std::max<int>(0, left.size_queries - static_cast<int>(r.Int(1)));
  }
  return left;
}

// --------------------------------------------------------------- audiences

absl::Status AdsService::CheckOwnedAudience(AdvertiserId adv, int64_t audience_id) {
  auto row =
      db_.QueryOne("SELECT advertiser_id FROM ads_audiences WHERE id = $1 AND deleted = 0", {audience_id});
  if (absl::IsNotFound(row.status()) || (row.ok() && row->Int(0) != adv)) {
    return absl::NotFoundError(absl::StrCat("no audience ", audience_id));
  }
  return row.status();
}

absl::StatusOr<Audience> AdsService::CreateAudience(AdvertiserId adv, std::string_view name,
                                                    std::string_view description) {
  Audience a;
  a.name = std::string(name);
  a.description = std::string(description);
  RETURN_IF_ERROR(ValidateText("name", a.name, 200));
  RETURN_IF_ERROR(ValidateText("description", a.description, TextRules{0, 2000, true}));
  int64_t now = absl::ToUnixSeconds(clock_.Now());
  RETURN_IF_ERROR(db_.InTransaction([&](store::Database& tx) -> absl::Status {
    RETURN_IF_ERROR(Charge(tx, adv, "audiences", options_.audience_budget_per_day));
    ASSIGN_OR_RETURN(auto row, tx.QueryOne("INSERT INTO ads_audiences (advertiser_id, name, description, "
                                           "created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING id",
                                           {adv, a.name, a.description, now}));
    a.id = row.Int(0);
    return absl::OkStatus();
  }));
  a.status = "empty";
  return a;
}

absl::StatusOr<std::vector<Audience>> AdsService::ListAudiences(AdvertiserId adv) {
  ASSIGN_OR_RETURN(auto rows, db_.Query("SELECT id, name, description, version FROM ads_audiences "
                                        "WHERE advertiser_id = $1 AND deleted = 0 ORDER BY id",
                                        {adv}));
  std::vector<Audience> out;
  for (const auto& r : rows) {
    Audience a;
    a.id = r.Int(0);
    a.name = r.Text(1);
    a.description = r.Text(2);
    a.version = r.Int(3);
    ASSIGN_OR_RETURN(
        auto sessions,
        db_.Query("SELECT client_session_id, kind, state, batches_received, rows_received, rows_invalid "
                  "FROM ads_sessions WHERE audience_id = $1 ORDER BY id",
                  {a.id}));
    bool uploading = false, matching = false;
    for (const auto& s : sessions) {
      a.sessions.push_back({s.Text(0), s.Text(1), s.Text(2), s.Int(3), s.Int(4), s.Int(5)});
      uploading |= s.Text(2) == "receiving";
      matching |= s.Text(2) == "matching";
    }
    a.status = matching ? "matching" : uploading ? "uploading" : a.version == 0 ? "empty" : "ready";
    a.size_note = "ask for one audience to see its size";
    out.push_back(std::move(a));
  }
  return out;
}

absl::StatusOr<Audience> AdsService::GetAudience(AdvertiserId adv, int64_t audience_id) {
  RETURN_IF_ERROR(CheckOwnedAudience(adv, audience_id));
  ASSIGN_OR_RETURN(auto all, ListAudiences(adv));
  for (auto& a : all) {
    if (a.id != audience_id) continue;
    a.size_note.clear();
    auto size = Observe(adv, audience_id);
    if (size.ok()) {
      a.size = *size;
    } else if (absl::IsResourceExhausted(size.status())) {
      a.size_note = std::string(size.status().message());
    } else {
      return size.status();
    }
    return a;
  }
  return absl::NotFoundError(absl::StrCat("no audience ", audience_id));
}

absl::Status AdsService::DeleteAudience(AdvertiserId adv, int64_t audience_id) {
  RETURN_IF_ERROR(CheckOwnedAudience(adv, audience_id));
  RETURN_IF_ERROR(db_.InTransaction([&](store::Database& tx) -> absl::Status {
    RETURN_IF_ERROR(tx.Execute("UPDATE ads_audiences SET deleted = 1, updated_at = $2 WHERE id = $1",
                               {audience_id, absl::ToUnixSeconds(clock_.Now())})
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
  }));
  InvalidateCounts();
  return absl::OkStatus();
}

absl::StatusOr<BatchResult> AdsService::Upload(AdvertiserId adv, int64_t audience_id, SessionKind kind,
                                               const UploadRequest& request,
                                               std::vector<InvalidRow>* rejected) {
  RETURN_IF_ERROR(CheckOwnedAudience(adv, audience_id));
  ASSIGN_OR_RETURN(ParsedBatch batch, ValidateBatch(request, rejected));
  BatchResult result;
  result.session_id = request.session_id;
  result.received = request.rows.size();
  result.invalid = std::move(batch.invalid);
  std::lock_guard upload_lock(upload_mu_);
  int64_t now = absl::ToUnixSeconds(clock_.Now());
  int64_t session_row = 0;
  absl::Status st = db_.InTransaction([&](store::Database& tx) -> absl::Status {
    auto session = tx.QueryOne(
        "SELECT id, kind, state FROM ads_sessions WHERE audience_id = $1 AND "
        "client_session_id = $2",
        {audience_id, request.session_id});
    if (absl::IsNotFound(session.status())) {
      ASSIGN_OR_RETURN(auto row,
                       tx.QueryOne("INSERT INTO ads_sessions (audience_id, client_session_id, kind, state, "
                                   "created_at, updated_at) VALUES ($1, $2, $3, 'receiving', $4, $4) "
                                   "RETURNING id",
                                   {audience_id, request.session_id, SessionKindName(kind), now}));
      session_row = row.Int(0);
    } else {
      RETURN_IF_ERROR(session.status());
      session_row = session->Int(0);
      if (session->Text(1) != SessionKindName(kind)) {
        return absl::FailedPreconditionError(absl::StrCat("session '", request.session_id, "' is a ",
                                                          session->Text(1), " session, not ",
                                                          std::string(SessionKindName(kind))));
      }
      if (session->Text(2) != "receiving") {
        return absl::FailedPreconditionError(
            absl::StrCat("session '", request.session_id, "' is ", session->Text(2),
                         " and takes no more batches; start a new session_id"));
      }
    }
    auto inserted = tx.Execute("INSERT INTO ads_session_batches (session_id, batch_seq) VALUES ($1, $2)",
                               {session_row, request.batch_seq});
    if (absl::IsAlreadyExists(inserted.status())) {
      return absl::AlreadyExistsError(absl::StrCat("batch ", request.batch_seq, " of session '",
                                                   request.session_id, "' was already received"));
    }
    RETURN_IF_ERROR(inserted.status());
    RETURN_IF_ERROR(tx.Execute("UPDATE ads_sessions SET batches_received = batches_received + 1, "
                               "rows_received = rows_received + $2, rows_invalid = rows_invalid + $3, "
                               "state = $4, updated_at = $5 WHERE id = $1",
                               {session_row, static_cast<int64_t>(result.received),
                                static_cast<int64_t>(result.invalid.size()),
                                request.last_batch ? "matching" : "receiving", now})
                        .status());
    return tx.Execute("UPDATE ads_audiences SET updated_at = $2 WHERE id = $1", {audience_id, now}).status();
  });
  if (!st.ok()) {
    std::fill(batch.digests.begin(), batch.digests.end(), phone::Digest{});
    return st;
  }
  result.session_state = request.last_batch ? "matching" : "receiving";
  {
    std::lock_guard lock(wake_->mu);
    Job job;
    job.session_row = session_row;
    job.audience_id = audience_id;
    job.kind = kind;
    job.digests = std::move(batch.digests);
    job.generation = wake_->generation.load();
    jobs_.push_back(std::move(job));
  }
  wake_->cv.notify_all();
  return result;
}

// ------------------------------------------------------------------- sizes

void AdsService::InvalidateCounts() {
  std::lock_guard lock(count_mu_);
  counts_.clear();
}

absl::StatusOr<int64_t> AdsService::MatchedCount(int64_t audience_id) {
  {
    std::lock_guard lock(count_mu_);
    for (const auto& [id, n] : counts_) {
      if (id == audience_id) return n;
    }
  }
  ASSIGN_OR_RETURN(
      auto row, db_.QueryOne("SELECT COUNT(*) FROM ads_memberships WHERE audience_id = $1", {audience_id}));
  std::lock_guard lock(count_mu_);
  if (counts_.size() > 4096) counts_.clear();
  counts_.emplace_back(audience_id, row.Int(0));
  return row.Int(0);
}

SizeReport AdsService::ReportFor(int64_t audience_id, int64_t version, int64_t matched) const {
  return ReportSize(matched,
                    VersionNoise(options_.noise_secret, audience_id, version, options_.size.noise_scale),
                    options_.size);
}

absl::StatusOr<SizeReport> AdsService::Observe(AdvertiserId adv, int64_t audience_id) {
  int64_t version = 0, version_matched = 0;
  RETURN_IF_ERROR(db_.InTransaction([&](store::Database& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto row,
                     tx.QueryOne("SELECT version, observed_version, version_matched FROM ads_audiences "
                                 "WHERE id = $1 AND advertiser_id = $2 AND deleted = 0",
                                 {audience_id, adv}));
    version = row.Int(0);
    version_matched = row.Int(2);
    if (row.Int(1) == version) return absl::OkStatus();
    RETURN_IF_ERROR(Charge(tx, adv, "sizes", options_.size_budget_per_day));
    return tx.Execute("UPDATE ads_audiences SET observed_version = $2 WHERE id = $1", {audience_id, version})
        .status();
  }));
  // The version's own count, not today's: the same version always gives
  // the same answer.
  return ReportFor(audience_id, version, version_matched);
}

// --------------------------------------------------------------- campaigns

absl::StatusOr<Campaign> AdsService::CreateCampaign(AdvertiserId adv, const CampaignSpec& spec) {
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
  for (int64_t id : spec.exclude_audiences) RETURN_IF_ERROR(CheckOwnedAudience(adv, id));
  for (int64_t id : spec.include_audiences) {
    RETURN_IF_ERROR(CheckOwnedAudience(adv, id));
    ASSIGN_OR_RETURN(SizeReport size, Observe(adv, id));
    if (!size.targetable) {
      return absl::FailedPreconditionError(
          absl::StrCat("audience ", id, " is ", size.text, " people and cannot be targeted"));
    }
  }
  CampaignSpec s = spec;
  std::sort(s.include_audiences.begin(), s.include_audiences.end());
  std::sort(s.exclude_audiences.begin(), s.exclude_audiences.end());
  int64_t now = absl::ToUnixSeconds(clock_.Now());
  // The id comes from the insert itself: another request's insert on the
  // shared handle may come between two statements.
  ASSIGN_OR_RETURN(
      auto row,
      db_.QueryOne("INSERT INTO ads_campaigns (advertiser_id, name, title, body, link, include_audiences, "
                   "exclude_audiences, segments, impression_budget, frequency_cap, status, created_at, "
                   "updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'active', $11, $11) "
                   "RETURNING id",
                   {adv, s.name, s.creative.title, s.creative.text, s.creative.link,
                    JoinIds(s.include_audiences), JoinIds(s.exclude_audiences),
                    absl::StrJoin(s.segments, ","), s.impression_budget, s.frequency_cap_per_day, now}));
  Campaign c;
  c.id = row.Int(0);
  c.spec = std::move(s);
  c.status = "active";
  return c;
}

namespace {
constexpr char kCampaignColumns[] =
    "id, name, title, body, link, include_audiences, exclude_audiences, segments, impression_budget, "
    "frequency_cap, status, impressions";
}

absl::StatusOr<Campaign> AdsService::LoadCampaign(const store::Row& r) {
  Campaign c;
  c.id = r.Int(0);
  c.spec.name = r.Text(1);
  c.spec.creative = {r.Text(2), r.Text(3), r.Text(4)};
  c.spec.include_audiences = SplitIds(r.Text(5));
  c.spec.exclude_audiences = SplitIds(r.Text(6));
  for (absl::string_view seg : absl::StrSplit(r.Text(7), ',', absl::SkipEmpty()))
    c.spec.segments.emplace_back(seg);
  c.spec.impression_budget = r.Int(8);
  c.spec.frequency_cap_per_day = r.Int(9);
  c.status = r.Text(10);
  c.impressions = r.Int(11);
  return c;
}

absl::StatusOr<std::vector<Campaign>> AdsService::ListCampaigns(AdvertiserId adv) {
  ASSIGN_OR_RETURN(auto rows,
                   db_.Query(absl::StrCat("SELECT ", kCampaignColumns,
                                          " FROM ads_campaigns WHERE advertiser_id = $1 AND status != "
                                          "'deleted' ORDER BY id"),
                             {adv}));
  std::vector<Campaign> out;
  for (const auto& r : rows) {
    ASSIGN_OR_RETURN(Campaign c, LoadCampaign(r));
    out.push_back(std::move(c));
  }
  return out;
}

absl::StatusOr<Campaign> AdsService::GetCampaign(AdvertiserId adv, int64_t id) {
  auto row =
      db_.QueryOne(absl::StrCat("SELECT ", kCampaignColumns,
                                " FROM ads_campaigns WHERE id = $1 AND advertiser_id = $2 AND status != "
                                "'deleted'"),
                   {id, adv});
  if (absl::IsNotFound(row.status())) return absl::NotFoundError(absl::StrCat("no campaign ", id));
  RETURN_IF_ERROR(row.status());
  return LoadCampaign(*row);
}

absl::StatusOr<Campaign> AdsService::SetCampaignStatus(AdvertiserId adv, int64_t id,
                                                       std::string_view status) {
  if (status != "active" && status != "paused") {
    return absl::InvalidArgumentError("'status' must be active or paused");
  }
  ASSIGN_OR_RETURN(Campaign c, GetCampaign(adv, id));
  if (c.status == "completed") {
    return absl::FailedPreconditionError(absl::StrCat("campaign ", id, " has used its impression budget"));
  }
  std::lock_guard lock(serve_mu_);
  RETURN_IF_ERROR(db_.Execute("UPDATE ads_campaigns SET status = $2, updated_at = $3 WHERE id = $1",
                              {id, status, absl::ToUnixSeconds(clock_.Now())})
                      .status());
  c.status = std::string(status);
  return c;
}

absl::Status AdsService::DeleteCampaign(AdvertiserId adv, int64_t id) {
  RETURN_IF_ERROR(GetCampaign(adv, id).status());
  std::lock_guard lock(serve_mu_);
  return db_
      .Execute("UPDATE ads_campaigns SET status = 'deleted', updated_at = $2 WHERE id = $1",
               {id, absl::ToUnixSeconds(clock_.Now())})
      .status();
}

// ----------------------------------------------------------------- serving

absl::StatusOr<std::vector<ServedAd>> AdsService::ServeAds(UserId viewer) {
  std::lock_guard lock(serve_mu_);
  int reach_bits = 0;
  std::optional<social::MessengerUsage> usage;
  {
    PurposeView view = social_.View(Purpose::kAds);
    if (!view.Exists(viewer)) return absl::NotFoundError("no such user");
    reach_bits = ReachBits(view.ReachOf(viewer));
    usage = view.Usage(viewer);
  }
  // Memberships count only through facts the ads view still shows, so an
  // objection is honoured here even before the worker has removed them.
  absl::flat_hash_map<int64_t, int> member;
  ASSIGN_OR_RETURN(auto rows,
                   db_.Query("SELECT audience_id, source FROM ads_memberships WHERE user_id = $1", {viewer}));
  for (const auto& r : rows) {
    int bits = static_cast<int>(r.Int(1)) & reach_bits;
    if (bits) member[r.Int(0)] = bits;
  }
  bool active = usage && usage->active_days_28 >= options_.active_messenger_min_days;
  ASSIGN_OR_RETURN(
      auto campaigns,
      db_.Query(absl::StrCat("SELECT ", kCampaignColumns,
                             ", advertiser_id FROM ads_campaigns "
                             "WHERE status = 'active' AND impressions < impression_budget ORDER BY id")));
  int64_t day = Today();
  int64_t now = absl::ToUnixSeconds(clock_.Now());
  std::vector<ServedAd> served;
  for (const auto& r : campaigns) {
    if (static_cast<int>(served.size()) >= options_.ads_per_timeline) break;
    ASSIGN_OR_RETURN(Campaign c, LoadCampaign(r));
    bool excluded = false;
    for (int64_t a : c.spec.exclude_audiences) excluded |= member.contains(a);
    if (excluded) continue;
    int64_t audience = 0;
    int source = 0;
    for (int64_t a : c.spec.include_audiences) {
      auto it = member.find(a);
      if (it == member.end()) continue;
      auto version = db_.QueryOne("SELECT version FROM ads_audiences WHERE id = $1 AND deleted = 0", {a});
      if (!version.ok()) continue;
      // Serving follows the members as they are now (an audience that
      // objections took below the minimum stops at once), unlike size
      // reports, which are fixed per version.
      ASSIGN_OR_RETURN(int64_t matched_now, MatchedCount(a));
      if (!ReportFor(a, version->Int(0), matched_now).targetable) continue;
      audience = a;
      source = it->second;
      break;
    }
    if (!c.spec.include_audiences.empty() && audience == 0) continue;
    bool wants_active = std::find(c.spec.segments.begin(), c.spec.segments.end(), kActiveMessengerUsers) !=
                        c.spec.segments.end();
    if (wants_active && !active) continue;
    ASSIGN_OR_RETURN(auto seen,
                     db_.QueryOne("SELECT COUNT(*) FROM ads_impressions WHERE campaign_id = $1 AND "
                                  "user_id = $2 AND day = $3",
                                  {c.id, viewer, day}));
    if (seen.Int(0) >= c.spec.frequency_cap_per_day) continue;
    ServedAd ad;
    ad.campaign_id = c.id;
    ad.creative = c.spec.creative;
    RETURN_IF_ERROR(db_.InTransaction([&](store::Database& tx) -> absl::Status {
      ASSIGN_OR_RETURN(
          auto row,
          tx.QueryOne("INSERT INTO ads_impressions (campaign_id, user_id, day, at, audience_id, source, "
                      "segment) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                      {c.id, viewer, day, now, audience, source,
                       std::string(wants_active ? kActiveMessengerUsers : std::string_view())}));
      ad.impression_id = row.Int(0);
      return tx
          .Execute(
              "UPDATE ads_campaigns SET impressions = impressions + 1, status = CASE WHEN impressions + 1 >= "
              "impression_budget THEN 'completed' ELSE status END WHERE id = $1",
              {c.id})
          .status();
    }));
    if ((source & kViaMessenger) || wants_active) {
      std::lock_guard lock(impressed_mu_);
      if (viewer >= messenger_impressed_.size()) messenger_impressed_.resize(viewer + 1, 0);
      messenger_impressed_[viewer] = 1;
    }
    auto adv = db_.QueryOne("SELECT name FROM ads_advertisers WHERE id = $1", {r.Int(12)});
    if (adv.ok()) ad.advertiser = adv->Text(0);
    served.push_back(std::move(ad));
  }
  return served;
}

absl::StatusOr<Explanation> AdsService::Why(UserId viewer, int64_t impression_id) {
  auto row = db_.QueryOne(
      "SELECT i.audience_id, i.source, i.segment, c.name, a.name, COALESCE(au.name, ''), "
      "i.messenger_forgotten "
      "FROM ads_impressions i JOIN ads_campaigns c ON c.id = i.campaign_id "
      "JOIN ads_advertisers a ON a.id = c.advertiser_id LEFT JOIN ads_audiences au ON au.id = i.audience_id "
      "WHERE i.id = $1 AND i.user_id = $2",
      {impression_id, viewer});
  if (absl::IsNotFound(row.status()))
    return absl::NotFoundError(absl::StrCat("no impression ", impression_id));
  RETURN_IF_ERROR(row.status());
  Explanation e;
  e.impression_id = impression_id;
  e.campaign = row->Text(3);
  e.advertiser = row->Text(4);
  e.segment = row->Text(2);
  int source = static_cast<int>(row->Int(1));
  std::string phone;
  {
    PurposeView view = social_.View(Purpose::kSecurity);
    phone = social::E164FromPhoneKey(view.OwnPhone(viewer));
  }
  std::string text = absl::StrCat("You are seeing this ad from ", e.advertiser, " because:");
  if (row->Int(0) != 0) {
    e.audience = row->Text(5);
    if (source & kViaSocial) e.data_sources.push_back("social_profile");
    if (source & kViaMessenger) e.data_sources.push_back("messenger");
    std::string how;
    if (source == 0) {
      how = "of information that has since been deleted with the account it came from; it is no longer used";
    } else if (source == (kViaSocial | kViaMessenger)) {
      how =
          "you let people find you by this number here, and the messenger you use with this number shares it "
          "with us";
    } else if (source & kViaMessenger) {
      how = "the messenger you use with this number shares it with us (you did not make it findable here)";
    } else {
      how = "you let people find you by this number here";
    }
    absl::StrAppend(&text, " ", e.advertiser, " uploaded a list of its customers' phone numbers (\"",
                    e.audience, "\"), and it contains your number ", phone,
                    ". We could tell it is yours because ", how, ".");
  }
  if (!e.segment.empty()) {
    absl::StrAppend(&text, " ", e.advertiser,
                    " asked to reach people who use the messenger regularly, and the "
                    "messenger tells us you were active on it on at least ",
                    options_.active_messenger_min_days, " of the last 28 days.");
  }
  if (row->Int(0) == 0 && e.segment.empty() && row->Int(6) != 0) {
    absl::StrAppend(&text,
                    " It was chosen for you with information that has since been deleted with the account "
                    "it came from; that information is no longer used.");
  }
  if ((source & kViaMessenger) || !e.segment.empty()) {
    absl::StrAppend(
        &text,
        " If you do not want what the messenger shares to be used for ads, object in the "
        "messenger's privacy settings (tandem privacy object ads); it takes effect within a second.");
  }
  e.text = std::move(text);
  return e;
}

absl::StatusOr<std::vector<Membership>> AdsService::Memberships(int64_t audience_id) {
  ASSIGN_OR_RETURN(auto rows, db_.Query("SELECT audience_id, user_id, source FROM ads_memberships "
                                        "WHERE audience_id = $1 ORDER BY user_id",
                                        {audience_id}));
  std::vector<Membership> out;
  for (const auto& r : rows)
    out.push_back({r.Int(0), static_cast<UserId>(r.Int(1)), static_cast<int>(r.Int(2))});
  return out;
}

}  // namespace tandem::ads
