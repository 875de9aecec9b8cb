// Schema, migrations and the index rebuild for social.db.
#include "social/social_db.h"

#include <array>

#include "social/social_store.h"

namespace tandem::social {
namespace {

constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE accounts (
  id INTEGER PRIMARY KEY,
  phone TEXT NOT NULL UNIQUE,
  display_name TEXT NOT NULL DEFAULT '',
  discoverable_by_phone INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
);
CREATE TABLE sessions (
  token_hash BLOB PRIMARY KEY,
  account_id INTEGER NOT NULL REFERENCES accounts(id),
  created_at INTEGER NOT NULL
);
CREATE TABLE verifications (
  phone TEXT PRIMARY KEY,
  code_hash BLOB NOT NULL,
  expires_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  sent_at INTEGER NOT NULL
);
CREATE TABLE friend_requests (
  from_id INTEGER NOT NULL,
  to_id INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (from_id, to_id)
);
CREATE INDEX friend_requests_to ON friend_requests(to_id);
CREATE TABLE friendships (
  a INTEGER NOT NULL,
  b INTEGER NOT NULL,
  since INTEGER NOT NULL,
  PRIMARY KEY (a, b),
  CHECK (a < b)
);
CREATE INDEX friendships_b ON friendships(b);
CREATE TABLE blocks (
  blocker INTEGER NOT NULL,
  blocked INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (blocker, blocked)
);
CREATE TABLE dismissals (
  account_id INTEGER NOT NULL,
  dismissed_id INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (account_id, dismissed_id)
);
CREATE TABLE address_book (
  owner_id INTEGER NOT NULL,
  phone TEXT NOT NULL,
  uploaded_at INTEGER NOT NULL,
  PRIMARY KEY (owner_id, phone)
);
CREATE TABLE messenger_accounts (
  account_id TEXT PRIMARY KEY,
  phone TEXT NOT NULL,
  linked_at INTEGER NOT NULL,
  seq INTEGER NOT NULL
);
CREATE INDEX messenger_accounts_phone ON messenger_accounts(phone);
CREATE TABLE messenger_usage (
  account_id TEXT PRIMARY KEY,
  day TEXT NOT NULL,
  active_days_28 INTEGER NOT NULL,
  last_active_day TEXT NOT NULL,
  at INTEGER NOT NULL,
  seq INTEGER NOT NULL
);
CREATE TABLE messenger_objections (
  account_id TEXT NOT NULL,
  purpose TEXT NOT NULL,
  objected INTEGER NOT NULL,
  at INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (account_id, purpose)
);
CREATE TABLE feed_cursor (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
INSERT INTO feed_cursor (id, seq, updated_at) VALUES (1, 0, 0);
)sql";

// Verification codes: several valid codes per number (a new code does not
// replace the ones sent before). Codes pending at the upgrade are dropped.
// The address-book budget: a token bucket per account.
constexpr std::string_view kSchemaV2 = R"sql(
DROP TABLE verifications;
CREATE TABLE verification_codes (
  id INTEGER PRIMARY KEY,
  phone TEXT NOT NULL,
  code_hash BLOB NOT NULL,
  expires_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX verification_codes_by_phone ON verification_codes (phone);
CREATE TABLE address_book_budget (
  owner_id INTEGER PRIMARY KEY,
  tokens REAL NOT NULL,
  updated_ms INTEGER NOT NULL
);
)sql";

const std::array<store::Migration, 2> kMigrations = {{
    {1, "social accounts, friends, address books, messenger facts, feed cursor", kSchemaV1},
    {2, "verification codes that survive a reissue, address-book budget", kSchemaV2},
}};

}  // namespace

absl::StatusOr<std::unique_ptr<SocialDb>> SocialDb::Open(std::unique_ptr<store::Database> db) {
  RETURN_IF_ERROR(db->Migrate(kMigrations));
  std::unique_ptr<SocialDb> social(new SocialDb(std::move(db)));
  RETURN_IF_ERROR(social->LoadIndex());
  return social;
}

absl::StatusOr<std::unique_ptr<SocialDb>> SocialDb::OpenSqlite(const std::string& path) {
  ASSIGN_OR_RETURN(auto db, store::OpenSqlite(path));
  return Open(std::move(db));
}

absl::Status SocialDb::Write(const std::function<absl::Status(store::Database&)>& txn,
                             const std::function<void(FactIndex&)>& apply) {
  std::lock_guard lock(write_mu_);
  RETURN_IF_ERROR(db_->InTransaction(txn));
  if (apply) apply(index_);
  for (const auto& listener : commit_listeners_) listener();
  return absl::OkStatus();
}

absl::Status SocialDb::LoadIndex() {
  std::lock_guard lock(write_mu_);
  store::Database& d = *db_;
  ASSIGN_OR_RETURN(UserId max_id, db::MaxAccountId(d));
  index_.ReserveUsers(max_id);
  RETURN_IF_ERROR(db::ForEachAccount(d, [&](const db::AccountRow& r) {
    index_.PutUser(r.id, PhoneKeyFromE164(r.phone), r.discoverable_by_phone);
  }));
  RETURN_IF_ERROR(db::ForEachFriendship(d, [&](UserId a, UserId b) { index_.AddFriendshipUnlocked(a, b); }));
  RETURN_IF_ERROR(
      db::ForEachBlock(d, [&](UserId blocker, UserId blocked) { index_.AddBlock(blocker, blocked); }));
  RETURN_IF_ERROR(db::ForEachDismissal(d, [&](UserId me, UserId other) { index_.AddDismissal(me, other); }));
  RETURN_IF_ERROR(db::ForEachAddressBook(d, [&](UserId owner, std::vector<std::string> phones) {
    std::vector<PhoneKey> keys;
    keys.reserve(phones.size());
    for (const std::string& p : phones) keys.push_back(PhoneKeyFromE164(p));
    index_.SetAddressBook(owner, std::move(keys));
  }));
  RETURN_IF_ERROR(db::ForEachMessengerAccount(d, [&](const db::MessengerAccountRow& r) {
    index_.LinkMessengerAccount(r.account_id, PhoneKeyFromE164(r.phone));
  }));
  RETURN_IF_ERROR(db::ForEachMessengerUsage(d, [&](const db::MessengerUsageRow& r) {
    index_.SetMessengerUsage(r.account_id, static_cast<uint8_t>(r.active_days_28),
                             ParseDay(r.last_active_day).value_or(0));
  }));
  return db::ForEachMessengerObjection(d, [&](const db::MessengerObjectionRow& r) {
    index_.SetObjection(r.account_id, r.purpose, r.objected);
  });
}

}  // namespace tandem::social
