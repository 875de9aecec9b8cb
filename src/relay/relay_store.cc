// SQL for the relay's tables (SQLite). Integer primary keys are 64-bit;
// envelopes have "INTEGER PRIMARY KEY" (the rowid, the fastest insert path).
#include "relay/relay_store.h"

#include <algorithm>
#include <limits>
#include <string_view>

#include "absl/strings/str_cat.h"

namespace tandem::relay::db {
namespace {

using store::Params;
using store::Value;

constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE relay_meta (
  key TEXT PRIMARY KEY,
  value BIGINT NOT NULL
);
CREATE TABLE accounts (
  account_id BIGINT PRIMARY KEY,
  number TEXT NOT NULL UNIQUE,
  identity_key BLOB NOT NULL,
  created_ms BIGINT NOT NULL,
  identity_changed_ms BIGINT NOT NULL
);
CREATE TABLE devices (
  account_id BIGINT NOT NULL,
  device_id INTEGER NOT NULL,
  password_hash BLOB NOT NULL,
  registration_id INTEGER NOT NULL,
  created_ms BIGINT NOT NULL,
  PRIMARY KEY (account_id, device_id)
);
CREATE TABLE signed_prekeys (
  account_id BIGINT NOT NULL,
  device_id INTEGER NOT NULL,
  key_id BIGINT NOT NULL,
  public_key BLOB NOT NULL,
  signature BLOB NOT NULL,
  PRIMARY KEY (account_id, device_id)
);
CREATE TABLE one_time_prekeys (
  account_id BIGINT NOT NULL,
  device_id INTEGER NOT NULL,
  key_id BIGINT NOT NULL,
  public_key BLOB NOT NULL,
  PRIMARY KEY (account_id, device_id, key_id)
);
CREATE TABLE envelopes (
  server_id INTEGER PRIMARY KEY,
  recipient_account BIGINT NOT NULL,
  recipient_device INTEGER NOT NULL,
  sender_account BIGINT NOT NULL,
  sender_device INTEGER NOT NULL,
  sender_number TEXT NOT NULL,
  server_ts_ms BIGINT NOT NULL,
  type INTEGER NOT NULL,
  ciphertext BLOB NOT NULL
);
CREATE INDEX envelopes_by_recipient ON envelopes (recipient_account, recipient_device, server_id);
CREATE TABLE submissions (
  sender_account BIGINT NOT NULL,
  sender_device INTEGER NOT NULL,
  client_message_id TEXT NOT NULL,
  server_id BIGINT NOT NULL,
  server_ts_ms BIGINT NOT NULL,
  PRIMARY KEY (sender_account, sender_device, client_message_id)
);
CREATE INDEX submissions_by_time ON submissions (server_ts_ms);
CREATE TABLE verification_codes (
  number TEXT PRIMARY KEY,
  code_hash BLOB NOT NULL,
  expires_ms BIGINT NOT NULL,
  attempts INTEGER NOT NULL
);
CREATE TABLE usage_daily (
  account_id BIGINT NOT NULL,
  day TEXT NOT NULL,
  sessions BIGINT NOT NULL,
  messages BIGINT NOT NULL,
  PRIMARY KEY (account_id, day)
);
CREATE TABLE directory_seen (
  account_id BIGINT NOT NULL,
  number_hash BLOB NOT NULL,
  PRIMARY KEY (account_id, number_hash)
);
CREATE TABLE directory_budget (
  account_id BIGINT NOT NULL,
  day TEXT NOT NULL,
  used BIGINT NOT NULL,
  PRIMARY KEY (account_id, day)
);
)sql";

// De-duplication records ordered by client message id first. Clients begin
// ids with the relay's time (MakeClientMessageId), so the records one group
// commit inserts land next to each other at the end of the tree instead of
// on a page per sender; any other id still works, at the cost of a page.
constexpr std::string_view kSchemaV2 = R"sql(
CREATE TABLE submissions_v2 (
  client_message_id TEXT NOT NULL,
  sender_account BIGINT NOT NULL,
  sender_device INTEGER NOT NULL,
  server_id BIGINT NOT NULL,
  server_ts_ms BIGINT NOT NULL,
  PRIMARY KEY (client_message_id, sender_account, sender_device)
) WITHOUT ROWID;
INSERT INTO submissions_v2 (client_message_id, sender_account, sender_device, server_id, server_ts_ms)
  SELECT client_message_id, sender_account, sender_device, server_id, server_ts_ms FROM submissions;
DROP TABLE submissions;
ALTER TABLE submissions_v2 RENAME TO submissions;
CREATE INDEX submissions_by_time ON submissions (server_ts_ms);
)sql";

// Which envelopes wait for which device is kept in memory (Directory), so
// storing one no longer writes a page of a per-recipient index as well.
constexpr std::string_view kSchemaV3 = "DROP INDEX IF EXISTS envelopes_by_recipient;";

// The password hashes of installations that a re-registration replaced, so
// that such a device is told what happened instead of "invalid credentials".
// Only a device that still holds the old password can match a row.
constexpr std::string_view kSchemaV4 = R"sql(
CREATE TABLE retired_devices (
  account_id BIGINT NOT NULL,
  device_id INTEGER NOT NULL,
  password_hash BLOB NOT NULL,
  retired_ms BIGINT NOT NULL,
  PRIMARY KEY (account_id, device_id, password_hash)
);
)sql";

// Signed Kyber prekeys for PQXDH (see KyberPreKeyRow).
constexpr std::string_view kSchemaV5 = R"sql(
CREATE TABLE kyber_prekeys (
  account_id BIGINT NOT NULL,
  device_id INTEGER NOT NULL,
  key_id BIGINT NOT NULL,
  public_key BLOB NOT NULL,
  signature BLOB NOT NULL,
  PRIMARY KEY (account_id, device_id, key_id)
);
CREATE TABLE kyber_last_resort_prekeys (
  account_id BIGINT NOT NULL,
  device_id INTEGER NOT NULL,
  key_id BIGINT NOT NULL,
  public_key BLOB NOT NULL,
  signature BLOB NOT NULL,
  PRIMARY KEY (account_id, device_id)
);
)sql";

// Multi-recipient submissions: one shared body per submission; each copy's
// envelope row names it and stores no ciphertext.
constexpr std::string_view kSchemaV6 = R"sql(
CREATE TABLE bodies (
  body_id INTEGER PRIMARY KEY,
  copies INTEGER NOT NULL,
  created_ms BIGINT NOT NULL,
  ciphertext BLOB NOT NULL
);
ALTER TABLE envelopes ADD COLUMN body_id BIGINT NOT NULL DEFAULT 0;
)sql";

// Unlinked companion devices are remembered like replaced installations,
// so that one is told it was removed instead of "invalid credentials".
constexpr std::string_view kSchemaV7 =
    "ALTER TABLE retired_devices ADD COLUMN removed INTEGER NOT NULL DEFAULT 0;";

// A submission's record also covers its own copies (they take the ids after
// the shared ones) and names the attachments it carries, deleted with it.
constexpr std::string_view kSchemaV8 = R"sql(
ALTER TABLE bodies ADD COLUMN owner BIGINT NOT NULL DEFAULT 0;
ALTER TABLE bodies ADD COLUMN attachments TEXT NOT NULL DEFAULT '';
)sql";

// A multi-recipient submission's copies of its shared body are no rows of
// their own: the body row lists their devices (12 bytes each: account and
// device, little-endian, in server id order), and acked_copies names those
// acknowledged, until the body goes with its last copy.
constexpr std::string_view kSchemaV9 = R"sql(
ALTER TABLE bodies ADD COLUMN shared INTEGER NOT NULL DEFAULT 0;
ALTER TABLE bodies ADD COLUMN recipients BLOB NOT NULL DEFAULT x'';
ALTER TABLE bodies ADD COLUMN sender_device INTEGER NOT NULL DEFAULT 0;
ALTER TABLE bodies ADD COLUMN sender_number TEXT NOT NULL DEFAULT '';
ALTER TABLE bodies ADD COLUMN type INTEGER NOT NULL DEFAULT 0;
CREATE TABLE acked_copies (server_id INTEGER PRIMARY KEY);
)sql";

Value Blob(const std::string& s) { return Value::Blob(s); }
Value Int(uint64_t v) { return Value(static_cast<int64_t>(v)); }

}  // namespace

absl::Status Migrate(Database& db) {
  store::Migration migrations[] = {{1, "relay schema", kSchemaV1},
                                   {2, "submissions ordered by client message id", kSchemaV2},
                                   {3, "queues by recipient kept in memory", kSchemaV3},
                                   {4, "replaced installations", kSchemaV4},
                                   {5, "signed Kyber prekeys", kSchemaV5},
                                   {6, "shared bodies of multi-recipient submissions", kSchemaV6},
                                   {7, "unlinked companion devices", kSchemaV7},
                                   {8, "the attachments a submission carries", kSchemaV8},
                                   {9, "a shared body lists its copies' devices", kSchemaV9}};
  return db.Migrate(migrations);
}

absl::StatusOr<int64_t> GetMeta(Database& db, const std::string& key, int64_t fallback) {
  ASSIGN_OR_RETURN(auto rows, db.Query("SELECT value FROM relay_meta WHERE key = $1", {key}));
  return rows.empty() ? fallback : rows[0].Int(0);
}

absl::Status SetMeta(Database& db, const std::string& key, int64_t value) {
  return db
      .Execute(
          "INSERT INTO relay_meta (key, value) VALUES ($1, $2) "
          "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
          {key, value})
      .status();
}

absl::Status ForEachDevice(Database& db, const std::function<void(DeviceRow)>& fn) {
  ASSIGN_OR_RETURN(auto rows, db.Query("SELECT a.account_id, a.number, d.device_id, d.password_hash, "
                                       "d.registration_id FROM accounts a JOIN devices d "
                                       "ON a.account_id = d.account_id"));
  for (const auto& r : rows) {
    fn(DeviceRow{static_cast<uint64_t>(r.Int(0)), r.Text(1), static_cast<uint32_t>(r.Int(2)), r.Bytes(3),
                 static_cast<uint32_t>(r.Int(4))});
  }
  return absl::OkStatus();
}

absl::Status ForEachRetiredDevice(Database& db, const std::function<void(RetiredDeviceRow)>& fn) {
  ASSIGN_OR_RETURN(auto rows, db.Query("SELECT account_id, device_id, password_hash, retired_ms, removed "
                                       "FROM retired_devices"));
  for (const auto& r : rows) {
    fn(RetiredDeviceRow{static_cast<uint64_t>(r.Int(0)), static_cast<uint32_t>(r.Int(1)), r.Bytes(2),
                        r.Int(3), r.Int(4) != 0});
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<UsageDayRow>> UsageOf(Database& db, uint64_t account_id) {
  ASSIGN_OR_RETURN(
      auto rows,
      db.Query("SELECT day, sessions, messages FROM usage_daily WHERE account_id = $1 ORDER BY day",
               {Int(account_id)}));
  std::vector<UsageDayRow> out;
  for (const auto& r : rows) out.push_back({r.Text(0), r.Int(1), r.Int(2)});
  return out;
}

absl::StatusOr<std::vector<ActivityRow>> ActivityBetween(Database& db, const std::string& first,
                                                         const std::string& last) {
  ASSIGN_OR_RETURN(auto rows, db.Query("SELECT a.account_id, a.number, "
                                       " (SELECT COUNT(*) FROM usage_daily u WHERE u.account_id = "
                                       "a.account_id AND u.day >= $1 AND u.day <= $2 "
                                       "   AND (u.sessions > 0 OR u.messages > 0)), "
                                       " (SELECT COALESCE(MAX(day), '') FROM usage_daily u WHERE "
                                       "u.account_id = a.account_id AND u.day <= $2 "
                                       "   AND (u.sessions > 0 OR u.messages > 0)) "
                                       "FROM accounts a",
                                       {first, last}));
  std::vector<ActivityRow> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back({static_cast<uint64_t>(r.Int(0)), r.Text(1), r.Int(2), r.Text(3)});
  return out;
}

absl::StatusOr<std::optional<uint64_t>> FindAccountByNumber(Database& db, const std::string& number) {
  ASSIGN_OR_RETURN(auto rows, db.Query("SELECT account_id FROM accounts WHERE number = $1", {number}));
  if (rows.empty()) return std::nullopt;
  return static_cast<uint64_t>(rows[0].Int(0));
}

absl::StatusOr<std::optional<AccountRow>> GetAccount(Database& db, uint64_t account_id) {
  ASSIGN_OR_RETURN(auto rows,
                   db.Query("SELECT account_id, number, identity_key, created_ms, identity_changed_ms "
                            "FROM accounts WHERE account_id = $1",
                            {Int(account_id)}));
  if (rows.empty()) return std::nullopt;
  const auto& r = rows[0];
  return AccountRow{static_cast<uint64_t>(r.Int(0)), r.Text(1), r.Bytes(2), r.Int(3), r.Int(4)};
}

absl::Status InsertAccount(Database& db, const AccountRow& a) {
  return db
      .Execute(
          "INSERT INTO accounts (account_id, number, identity_key, created_ms, identity_changed_ms) "
          "VALUES ($1, $2, $3, $4, $5)",
          {Int(a.account_id), a.number, Blob(a.identity_key), a.created_ms, a.identity_changed_ms})
      .status();
}

absl::Status ResetAccountForReregistration(Database& db, uint64_t account_id, const std::string& identity_key,
                                           int64_t now_ms, std::span<const uint64_t> queued) {
  RETURN_IF_ERROR(db.Execute("UPDATE accounts SET identity_key = $2, identity_changed_ms = $3 "
                             "WHERE account_id = $1",
                             {Int(account_id), Blob(identity_key), now_ms})
                      .status());
  RETURN_IF_ERROR(
      db.Execute("INSERT INTO retired_devices (account_id, device_id, password_hash, retired_ms) "
                 "SELECT account_id, device_id, password_hash, $2 FROM devices WHERE account_id = $1 "
                 "ON CONFLICT DO NOTHING",
                 {Int(account_id), now_ms})
          .status());
  for (const char* sql :
       {"DELETE FROM devices WHERE account_id = $1", "DELETE FROM signed_prekeys WHERE account_id = $1",
        "DELETE FROM one_time_prekeys WHERE account_id = $1",
        "DELETE FROM kyber_prekeys WHERE account_id = $1",
        "DELETE FROM kyber_last_resort_prekeys WHERE account_id = $1"}) {
    RETURN_IF_ERROR(db.Execute(sql, {Int(account_id)}).status());
  }
  return DeleteEnvelopes(db, queued).status();
}

absl::Status InsertDevice(Database& db, const DeviceRow& d, int64_t now_ms) {
  return db
      .Execute(
          "INSERT INTO devices (account_id, device_id, password_hash, registration_id, created_ms) "
          "VALUES ($1, $2, $3, $4, $5)",
          {Int(d.account_id), d.device_id, Blob(d.password_hash), d.registration_id, now_ms})
      .status();
}

absl::Status DeleteAccount(Database& db, uint64_t account_id, const std::string& number,
                           std::span<const uint64_t> queued) {
  RETURN_IF_ERROR(DeleteEnvelopes(db, queued).status());
  for (const char* sql :
       {"DELETE FROM accounts WHERE account_id = $1", "DELETE FROM devices WHERE account_id = $1",
        "DELETE FROM retired_devices WHERE account_id = $1",
        "DELETE FROM signed_prekeys WHERE account_id = $1",
        "DELETE FROM one_time_prekeys WHERE account_id = $1",
        "DELETE FROM kyber_prekeys WHERE account_id = $1",
        "DELETE FROM kyber_last_resort_prekeys WHERE account_id = $1",
        "DELETE FROM submissions WHERE sender_account = $1", "DELETE FROM usage_daily WHERE account_id = $1",
        "DELETE FROM directory_seen WHERE account_id = $1",
        "DELETE FROM directory_budget WHERE account_id = $1"}) {
    RETURN_IF_ERROR(db.Execute(sql, {Int(account_id)}).status());
  }
  return db.Execute("DELETE FROM verification_codes WHERE number = $1", {number}).status();
}

absl::Status PutCode(Database& db, const std::string& number, const CodeRow& code) {
  return db
      .Execute(
          "INSERT INTO verification_codes (number, code_hash, expires_ms, attempts) VALUES ($1, $2, $3, $4) "
          "ON CONFLICT (number) DO UPDATE SET code_hash = excluded.code_hash, "
          "expires_ms = excluded.expires_ms, attempts = excluded.attempts",
          {number, Blob(code.code_hash), code.expires_ms, code.attempts})
      .status();
}

absl::StatusOr<std::optional<CodeRow>> GetCode(Database& db, const std::string& number) {
  ASSIGN_OR_RETURN(auto rows, db.Query("SELECT code_hash, expires_ms, attempts FROM verification_codes "
                                       "WHERE number = $1",
                                       {number}));
  if (rows.empty()) return std::nullopt;
  return CodeRow{rows[0].Bytes(0), rows[0].Int(1), static_cast<int>(rows[0].Int(2))};
}

absl::Status SetCodeAttempts(Database& db, const std::string& number, int attempts) {
  return db.Execute("UPDATE verification_codes SET attempts = $2 WHERE number = $1", {number, attempts})
      .status();
}

absl::Status DeleteCode(Database& db, const std::string& number) {
  return db.Execute("DELETE FROM verification_codes WHERE number = $1", {number}).status();
}

absl::Status DeleteExpiredCodes(Database& db, int64_t now_ms) {
  return db.Execute("DELETE FROM verification_codes WHERE expires_ms <= $1", {now_ms}).status();
}

namespace {

// The prekey tables share their shape: keys per (account, device), either
// one per device (signed prekeys, last-resort Kyber prekeys) or many, each
// handed out once (one-time EC and Kyber prekeys). Table names below are
// constants, never input.
constexpr char kSignedKeyColumns[] = "key_id, public_key, signature";

// Puts the one key of a device in `table`, replacing the previous one.
absl::Status PutDeviceKey(Database& db, const char* table, uint64_t account_id, uint32_t device_id,
                          const SignedPreKeyRow& k) {
  return db
      .Execute(absl::StrCat("INSERT INTO ", table, " (account_id, device_id, ", kSignedKeyColumns,
                            ") VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, device_id) DO UPDATE SET "
                            "key_id = excluded.key_id, public_key = excluded.public_key, "
                            "signature = excluded.signature"),
               {Int(account_id), device_id, k.key_id, Blob(k.public_key), Blob(k.signature)})
      .status();
}

absl::StatusOr<std::optional<SignedPreKeyRow>> GetDeviceKey(Database& db, const char* table,
                                                            uint64_t account_id, uint32_t device_id) {
  ASSIGN_OR_RETURN(auto rows, db.Query(absl::StrCat("SELECT ", kSignedKeyColumns, " FROM ", table,
                                                    " WHERE account_id = $1 AND device_id = $2"),
                                       {Int(account_id), device_id}));
  if (rows.empty()) return std::nullopt;
  return SignedPreKeyRow{static_cast<uint32_t>(rows[0].Int(0)), rows[0].Bytes(1), rows[0].Bytes(2)};
}

absl::StatusOr<int64_t> CountDeviceKeys(Database& db, const char* table, uint64_t account_id,
                                        uint32_t device_id) {
  ASSIGN_OR_RETURN(auto row, db.QueryOne(absl::StrCat("SELECT COUNT(*) FROM ", table,
                                                      " WHERE account_id = $1 AND device_id = $2"),
                                         {Int(account_id), device_id}));
  return row.Int(0);
}

// Deletes and returns the lowest-numbered key of a device in `table` (the
// columns named by `columns`, key_id first); run it inside a transaction.
absl::StatusOr<std::optional<store::Row>> TakeDeviceKey(Database& db, const char* table, const char* columns,
                                                        uint64_t account_id, uint32_t device_id) {
  ASSIGN_OR_RETURN(auto rows,
                   db.Query(absl::StrCat("SELECT ", columns, " FROM ", table,
                                         " WHERE account_id = $1 AND device_id = $2 ORDER BY key_id LIMIT 1"),
                            {Int(account_id), device_id}));
  if (rows.empty()) return std::nullopt;
  RETURN_IF_ERROR(db.Execute(absl::StrCat("DELETE FROM ", table,
                                          " WHERE account_id = $1 AND device_id = $2 AND key_id = $3"),
                             {Int(account_id), device_id, rows[0].Int(0)})
                      .status());
  return std::move(rows[0]);
}

}  // namespace

absl::Status PutSignedPreKey(Database& db, uint64_t account_id, uint32_t device_id,
                             const SignedPreKeyRow& k) {
  return PutDeviceKey(db, "signed_prekeys", account_id, device_id, k);
}

absl::StatusOr<std::optional<SignedPreKeyRow>> GetSignedPreKey(Database& db, uint64_t account_id,
                                                               uint32_t device_id) {
  return GetDeviceKey(db, "signed_prekeys", account_id, device_id);
}

absl::Status PutPreKey(Database& db, uint64_t account_id, uint32_t device_id, const PreKeyRow& k) {
  return db
      .Execute(
          "INSERT INTO one_time_prekeys (account_id, device_id, key_id, public_key) VALUES ($1, $2, $3, $4) "
          "ON CONFLICT (account_id, device_id, key_id) DO UPDATE SET public_key = excluded.public_key",
          {Int(account_id), device_id, k.key_id, Blob(k.public_key)})
      .status();
}

absl::StatusOr<int64_t> CountPreKeys(Database& db, uint64_t account_id, uint32_t device_id) {
  return CountDeviceKeys(db, "one_time_prekeys", account_id, device_id);
}

absl::StatusOr<std::optional<PreKeyRow>> TakePreKey(Database& db, uint64_t account_id, uint32_t device_id) {
  ASSIGN_OR_RETURN(auto row,
                   TakeDeviceKey(db, "one_time_prekeys", "key_id, public_key", account_id, device_id));
  if (!row) return std::nullopt;
  return PreKeyRow{static_cast<uint32_t>(row->Int(0)), row->Bytes(1)};
}

absl::Status PutKyberPreKey(Database& db, uint64_t account_id, uint32_t device_id, const KyberPreKeyRow& k) {
  return db
      .Execute(
          "INSERT INTO kyber_prekeys (account_id, device_id, key_id, public_key, signature) "
          "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, device_id, key_id) DO UPDATE SET "
          "public_key = excluded.public_key, signature = excluded.signature",
          {Int(account_id), device_id, k.key_id, Blob(k.public_key), Blob(k.signature)})
      .status();
}

absl::StatusOr<int64_t> CountKyberPreKeys(Database& db, uint64_t account_id, uint32_t device_id) {
  return CountDeviceKeys(db, "kyber_prekeys", account_id, device_id);
}

absl::StatusOr<std::optional<KyberPreKeyRow>> TakeKyberPreKey(Database& db, uint64_t account_id,
                                                              uint32_t device_id) {
  ASSIGN_OR_RETURN(auto row, TakeDeviceKey(db, "kyber_prekeys", kSignedKeyColumns, account_id, device_id));
  if (!row) return std::nullopt;
  return KyberPreKeyRow{static_cast<uint32_t>(row->Int(0)), row->Bytes(1), row->Bytes(2)};
}

absl::Status PutKyberLastResort(Database& db, uint64_t account_id, uint32_t device_id,
                                const KyberPreKeyRow& k) {
  return PutDeviceKey(db, "kyber_last_resort_prekeys", account_id, device_id,
                      SignedPreKeyRow{k.key_id, k.public_key, k.signature});
}

absl::StatusOr<std::optional<KyberPreKeyRow>> GetKyberLastResort(Database& db, uint64_t account_id,
                                                                 uint32_t device_id) {
  ASSIGN_OR_RETURN(auto key, GetDeviceKey(db, "kyber_last_resort_prekeys", account_id, device_id));
  if (!key) return std::nullopt;
  return KyberPreKeyRow{key->key_id, std::move(key->public_key), std::move(key->signature)};
}

absl::StatusOr<std::vector<uint32_t>> ListDevices(Database& db, uint64_t account_id) {
  ASSIGN_OR_RETURN(
      auto rows,
      db.Query("SELECT device_id FROM devices WHERE account_id = $1 ORDER BY device_id", {Int(account_id)}));
  std::vector<uint32_t> out;
  for (const auto& r : rows) out.push_back(static_cast<uint32_t>(r.Int(0)));
  return out;
}

absl::StatusOr<std::vector<DeviceInfoRow>> ListDeviceInfo(Database& db, uint64_t account_id) {
  ASSIGN_OR_RETURN(auto rows, db.Query("SELECT device_id, created_ms, registration_id FROM devices "
                                       "WHERE account_id = $1 ORDER BY device_id",
                                       {Int(account_id)}));
  std::vector<DeviceInfoRow> out;
  out.reserve(rows.size());
  for (const auto& r : rows) {
    out.push_back({static_cast<uint32_t>(r.Int(0)), r.Int(1), static_cast<uint32_t>(r.Int(2))});
  }
  return out;
}

absl::Status DeleteDevice(Database& db, uint64_t account_id, uint32_t device_id, int64_t now_ms) {
  RETURN_IF_ERROR(
      db.Execute("INSERT INTO retired_devices (account_id, device_id, password_hash, retired_ms, removed) "
                 "SELECT account_id, device_id, password_hash, $3, 1 FROM devices "
                 "WHERE account_id = $1 AND device_id = $2 ON CONFLICT DO NOTHING",
                 {Int(account_id), device_id, now_ms})
          .status());
  for (const char* sql : {"DELETE FROM devices WHERE account_id = $1 AND device_id = $2",
                          "DELETE FROM signed_prekeys WHERE account_id = $1 AND device_id = $2",
                          "DELETE FROM one_time_prekeys WHERE account_id = $1 AND device_id = $2",
                          "DELETE FROM kyber_prekeys WHERE account_id = $1 AND device_id = $2",
                          "DELETE FROM kyber_last_resort_prekeys WHERE account_id = $1 AND device_id = $2",
                          "DELETE FROM submissions WHERE sender_account = $1 AND sender_device = $2"}) {
    RETURN_IF_ERROR(db.Execute(sql, {Int(account_id), device_id}).status());
  }
  return absl::OkStatus();
}

absl::Status InsertEnvelope(Database& db, const EnvelopeRow& e) {
  return db
      .Execute(
          "INSERT INTO envelopes (server_id, recipient_account, recipient_device, sender_account, "
          "sender_device, sender_number, server_ts_ms, type, ciphertext, body_id) "
          "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
          {Int(e.server_id), Int(e.recipient_account), e.recipient_device, Int(e.sender_account),
           e.sender_device, e.sender_number, e.server_ts_ms, e.type,
           Blob(e.body_id != 0 ? std::string() : e.ciphertext), Int(e.body_id)})
      .status();
}

namespace {

constexpr size_t kRowChunk = 32;
constexpr int kEnvelopeColumns = 10;

std::string MultiRowInsert(size_t rows) {
  std::string sql =
      "INSERT INTO envelopes (server_id, recipient_account, recipient_device, sender_account, "
      "sender_device, sender_number, server_ts_ms, type, ciphertext, body_id) VALUES ";
  int p = 1;
  for (size_t r = 0; r < rows; ++r) {
    sql += r ? ", (" : "(";
    for (int c = 0; c < kEnvelopeColumns; ++c) absl::StrAppend(&sql, c ? ", $" : "$", p++);
    sql += ")";
  }
  return sql;
}

void AppendEnvelope(Params& params, const EnvelopeRow& e) {
  params.emplace_back(Int(e.server_id));
  params.emplace_back(Int(e.recipient_account));
  params.emplace_back(e.recipient_device);
  params.emplace_back(Int(e.sender_account));
  params.emplace_back(e.sender_device);
  params.emplace_back(e.sender_number);
  params.emplace_back(e.server_ts_ms);
  params.emplace_back(e.type);
  params.push_back(Blob(e.body_id != 0 ? std::string() : e.ciphertext));
  params.emplace_back(Int(e.body_id));
}

}  // namespace

absl::Status InsertEnvelopes(Database& db, std::span<const EnvelopeRow* const> rows) {
  static const std::string chunk_sql = MultiRowInsert(kRowChunk);
  size_t at = 0;
  Params params;
  params.reserve(kRowChunk * kEnvelopeColumns);
  for (; at + kRowChunk <= rows.size(); at += kRowChunk) {
    params.clear();
    for (size_t i = 0; i < kRowChunk; ++i) AppendEnvelope(params, *rows[at + i]);
    RETURN_IF_ERROR(db.Execute(chunk_sql, params).status());
  }
  for (; at < rows.size(); ++at) RETURN_IF_ERROR(InsertEnvelope(db, *rows[at]));
  return absl::OkStatus();
}

// Both statements take a fixed number of ids, so each is prepared once;
// short chunks repeat their last id.
constexpr size_t kIdChunk = 32;

std::string WithIdList(std::string sql, int first_param) {
  sql += "server_id IN (";
  for (size_t i = 0; i < kIdChunk; ++i)
    absl::StrAppend(&sql, i ? ", $" : "$", first_param + static_cast<int>(i));
  return sql + ")";
}

void AppendIdChunk(Params& params, std::span<const uint64_t> ids, size_t start) {
  for (size_t i = 0; i < kIdChunk; ++i) params.push_back(Int(ids[std::min(start + i, ids.size() - 1)]));
}

namespace {

// The number of different ids in the chunk at `start` (AppendIdChunk pads
// with the last one).
size_t DistinctInChunk(std::span<const uint64_t> ids, size_t start) {
  std::vector<uint64_t> chunk(ids.begin() + static_cast<ptrdiff_t>(start),
                              ids.begin() + static_cast<ptrdiff_t>(std::min(ids.size(), start + kIdChunk)));
  std::sort(chunk.begin(), chunk.end());
  return static_cast<size_t>(std::unique(chunk.begin(), chunk.end()) - chunk.begin());
}

// "(VALUES ($first), ..., ($first + kIdChunk - 1)) v": the chunk's ids as a
// table whose column is v.column1.
std::string IdTable(int first_param) {
  std::string sql = "(VALUES ";
  for (size_t i = 0; i < kIdChunk; ++i)
    absl::StrAppend(&sql, i ? ", ($" : "($", first_param + static_cast<int>(i), ")");
  return sql + ") v";
}

// The shared body whose copies' ids include v.column1, if any.
constexpr char kBodyOfId[] =
    "bodies b ON b.body_id = (SELECT body_id FROM bodies WHERE body_id <= v.column1 ORDER BY body_id DESC "
    "LIMIT 1) AND v.column1 < b.body_id + b.shared";

}  // namespace

absl::StatusOr<int64_t> DeleteEnvelopes(Database& db, std::span<const uint64_t> server_ids) {
  static const std::string sql = WithIdList("DELETE FROM envelopes WHERE ", 1);
  static const std::string mark_sql =
      absl::StrCat("INSERT OR IGNORE INTO acked_copies (server_id) SELECT v.column1 FROM ", IdTable(1),
                   " JOIN ", kBodyOfId);
  int64_t deleted = 0;
  for (size_t start = 0; start < server_ids.size(); start += kIdChunk) {
    Params params;
    AppendIdChunk(params, server_ids, start);
    ASSIGN_OR_RETURN(int64_t n, db.Execute(sql, params));
    deleted += n;
    // Ids without a row may be copies of a shared body: they are marked.
    if (static_cast<size_t>(n) < DistinctInChunk(server_ids, start)) {
      ASSIGN_OR_RETURN(int64_t marked, db.Execute(mark_sql, params));
      deleted += marked;
    }
  }
  return deleted;
}

namespace {

std::string PackedDevice(uint64_t account_id, uint32_t device_id) {
  std::string out(12, '\0');
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>((account_id >> (8 * i)) & 0xFF);
  for (int i = 0; i < 4; ++i)
    out[static_cast<size_t>(8 + i)] = static_cast<char>((device_id >> (8 * i)) & 0xFF);
  return out;
}

std::pair<uint64_t, uint32_t> UnpackDevice(std::string_view packed, size_t index) {
  const auto* p = reinterpret_cast<const uint8_t*>(packed.data()) + index * kPackedDeviceSize;
  uint64_t account = 0;
  uint32_t device = 0;
  for (int i = 7; i >= 0; --i) account = (account << 8) | p[i];
  for (int i = 3; i >= 0; --i) device = (device << 8) | p[8 + i];
  return {account, device};
}

// The unacknowledged copies of shared bodies among the chunk's ids (in
// `params` after the account and device) that are the device's.
absl::Status FetchSharedCopies(Database& db, uint64_t account_id, uint32_t device_id, const Params& params,
                               std::vector<EnvelopeRow>& out) {
  static const std::string sql = absl::StrCat(
      "SELECT v.column1, b.body_id, b.owner, b.sender_device, b.sender_number, b.created_ms, b.type, "
      "b.ciphertext FROM ",
      IdTable(2), " JOIN ", kBodyOfId,
      " WHERE substr(b.recipients, (v.column1 - b.body_id) * 12 + 1, 12) = $1 "
      "AND v.column1 NOT IN (SELECT server_id FROM acked_copies)");
  Params shared;
  shared.reserve(params.size() - 1);
  shared.push_back(Value::Blob(PackedDevice(account_id, device_id)));
  shared.insert(shared.end(), params.begin() + 2, params.end());
  ASSIGN_OR_RETURN(auto rows, db.Query(sql, shared));
  for (const auto& r : rows) {
    EnvelopeRow e;
    e.server_id = static_cast<uint64_t>(r.Int(0));
    e.body_id = static_cast<uint64_t>(r.Int(1));
    e.recipient_account = account_id;
    e.recipient_device = device_id;
    e.sender_account = static_cast<uint64_t>(r.Int(2));
    e.sender_device = static_cast<uint32_t>(r.Int(3));
    e.sender_number = r.Text(4);
    e.server_ts_ms = r.Int(5);
    e.type = static_cast<int>(r.Int(6));
    e.ciphertext = r.Bytes(7);
    out.push_back(std::move(e));
  }
  return absl::OkStatus();
}

}  // namespace

void AppendSharedCopy(std::string& recipients, uint64_t account_id, uint32_t device_id) {
  recipients += PackedDevice(account_id, device_id);
}

absl::StatusOr<std::vector<EnvelopeRow>> FetchEnvelopes(Database& db, uint64_t account_id, uint32_t device_id,
                                                        std::span<const uint64_t> server_ids) {
  static const std::string sql =
      WithIdList(
          "SELECT e.server_id, e.sender_account, e.sender_device, e.sender_number, e.server_ts_ms, e.type, "
          "CASE WHEN e.body_id = 0 THEN e.ciphertext ELSE b.ciphertext END, e.body_id "
          "FROM envelopes e LEFT JOIN bodies b ON b.body_id = e.body_id "
          "WHERE e.recipient_account = $1 AND e.recipient_device = $2 AND e.",
          3) +
      " ORDER BY e.server_id";
  std::vector<EnvelopeRow> out;
  out.reserve(server_ids.size());
  for (size_t start = 0; start < server_ids.size(); start += kIdChunk) {
    Params params = {Int(account_id), device_id};
    AppendIdChunk(params, server_ids, start);
    ASSIGN_OR_RETURN(auto rows, db.Query(sql, params));
    for (const auto& r : rows) {
      EnvelopeRow e;
      e.server_id = static_cast<uint64_t>(r.Int(0));
      e.recipient_account = account_id;
      e.recipient_device = device_id;
      e.sender_account = static_cast<uint64_t>(r.Int(1));
      e.sender_device = static_cast<uint32_t>(r.Int(2));
      e.sender_number = r.Text(3);
      e.server_ts_ms = r.Int(4);
      e.type = static_cast<int>(r.Int(5));
      e.ciphertext = r.Bytes(6);
      e.body_id = static_cast<uint64_t>(r.Int(7));
      out.push_back(std::move(e));
    }
    if (rows.size() < DistinctInChunk(server_ids, start)) {
      RETURN_IF_ERROR(FetchSharedCopies(db, account_id, device_id, params, out));
    }
  }
  // Shared copies come after the rows of their chunk, and a chunk padded
  // with its last id may name one twice.
  std::sort(out.begin(), out.end(),
            [](const EnvelopeRow& a, const EnvelopeRow& b) { return a.server_id < b.server_id; });
  out.erase(
      std::unique(out.begin(), out.end(),
                  [](const EnvelopeRow& a, const EnvelopeRow& b) { return a.server_id == b.server_id; }),
      out.end());
  return out;
}

namespace {

// fn(server_id, account, device) for the unacknowledged shared copies of the
// bodies with ids in [first, end), in server id order.
absl::Status ForEachSharedCopy(Database& db, uint64_t first, uint64_t end,
                               const std::function<void(uint64_t, uint64_t, uint32_t)>& fn) {
  ASSIGN_OR_RETURN(auto bodies,
                   db.Query("SELECT body_id, shared, recipients FROM bodies "
                            "WHERE shared > 0 AND body_id >= $1 AND body_id < $2 ORDER BY body_id",
                            {Int(first), Int(end)}));
  if (bodies.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(auto acked, db.Query("SELECT server_id FROM acked_copies WHERE server_id >= $1 "
                                        "ORDER BY server_id",
                                        {Int(first)}));
  size_t next_acked = 0;
  for (const auto& b : bodies) {
    const auto body_id = static_cast<uint64_t>(b.Int(0));
    const auto shared = static_cast<size_t>(b.Int(1));
    const std::string recipients = b.Bytes(2);
    if (recipients.size() != shared * kPackedDeviceSize) {
      return absl::DataLossError(absl::StrCat("body ", body_id, " lists ", recipients.size(),
                                              " bytes of devices for ", shared, " copies"));
    }
    for (size_t k = 0; k < shared; ++k) {
      const uint64_t id = body_id + k;
      while (next_acked < acked.size() && static_cast<uint64_t>(acked[next_acked].Int(0)) < id) ++next_acked;
      if (next_acked < acked.size() && static_cast<uint64_t>(acked[next_acked].Int(0)) == id) continue;
      auto [account, device] = UnpackDevice(recipients, k);
      fn(id, account, device);
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ForEachEnvelope(Database& db, const std::function<void(uint64_t, uint64_t, uint32_t)>& fn) {
  ASSIGN_OR_RETURN(auto rows, db.Query("SELECT server_id, recipient_account, recipient_device FROM envelopes "
                                       "ORDER BY server_id"));
  for (const auto& r : rows) {
    fn(static_cast<uint64_t>(r.Int(0)), static_cast<uint64_t>(r.Int(1)), static_cast<uint32_t>(r.Int(2)));
  }
  return ForEachSharedCopy(db, 0, std::numeric_limits<int64_t>::max(), fn);
}

absl::StatusOr<uint64_t> MaxServerId(Database& db) {
  // Submissions need no look: their ids were handed out in transactions
  // that also advanced next_server_id.
  ASSIGN_OR_RETURN(auto a, db.QueryOne("SELECT MAX(COALESCE((SELECT MAX(server_id) FROM envelopes), 0), "
                                       "COALESCE((SELECT MAX(body_id + copies - 1) FROM bodies), 0))"));
  return static_cast<uint64_t>(a.Int(0));
}

absl::Status InsertBody(Database& db, const BodyRow& body, const std::string& ciphertext) {
  return db
      .Execute(
          "INSERT INTO bodies (body_id, copies, created_ms, ciphertext, owner, attachments, shared, "
          "recipients, "
          "sender_device, sender_number, type) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
          {Int(body.body_id), body.copies, body.created_ms, Blob(ciphertext), Int(body.owner),
           body.attachments, body.shared, Blob(body.recipients), body.sender_device, body.sender_number,
           body.type})
      .status();
}

absl::Status DeleteBodies(Database& db, std::span<const uint64_t> body_ids) {
  for (uint64_t id : body_ids) {
    RETURN_IF_ERROR(db.Execute("DELETE FROM acked_copies WHERE server_id >= $1 AND server_id < "
                               "(SELECT body_id + copies FROM bodies WHERE body_id = $1)",
                               {Int(id)})
                        .status());
    RETURN_IF_ERROR(db.Execute("DELETE FROM bodies WHERE body_id = $1", {Int(id)}).status());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<BodyRow>> ListBodies(Database& db) {
  ASSIGN_OR_RETURN(auto rows, db.Query("SELECT b.body_id, b.copies, b.created_ms, "
                                       "(SELECT COUNT(*) FROM envelopes e WHERE e.server_id >= b.body_id "
                                       "AND e.server_id < b.body_id + b.copies) + b.shared - "
                                       "(SELECT COUNT(*) FROM acked_copies a WHERE a.server_id >= b.body_id "
                                       "AND a.server_id < b.body_id + b.shared), b.owner, b.attachments "
                                       "FROM bodies b ORDER BY b.body_id"));
  std::vector<BodyRow> out;
  out.reserve(rows.size());
  for (const auto& r : rows) {
    BodyRow& b = out.emplace_back();
    b.body_id = static_cast<uint64_t>(r.Int(0));
    b.copies = static_cast<uint32_t>(r.Int(1));
    b.created_ms = r.Int(2);
    b.stored_copies = r.Int(3);
    b.owner = static_cast<uint64_t>(r.Int(4));
    b.attachments = r.Text(5);
  }
  return out;
}

absl::StatusOr<std::vector<QueuedCopy>> EnvelopesBetween(Database& db, uint64_t first, uint64_t end) {
  ASSIGN_OR_RETURN(auto rows, db.Query("SELECT server_id, recipient_account, recipient_device FROM envelopes "
                                       "WHERE server_id >= $1 AND server_id < $2 ORDER BY server_id",
                                       {Int(first), Int(end)}));
  std::vector<QueuedCopy> out;
  out.reserve(rows.size());
  for (const auto& r : rows) {
    out.push_back(
        {static_cast<uint64_t>(r.Int(0)), static_cast<uint64_t>(r.Int(1)), static_cast<uint32_t>(r.Int(2))});
  }
  RETURN_IF_ERROR(ForEachSharedCopy(db, first, end, [&](uint64_t id, uint64_t account, uint32_t device) {
    if (id < end) out.push_back({id, account, device});
  }));
  std::sort(out.begin(), out.end(),
            [](const QueuedCopy& a, const QueuedCopy& b) { return a.server_id < b.server_id; });
  return out;
}

absl::StatusOr<std::optional<SubmissionRow>> InsertSubmission(Database& db, uint64_t account_id,
                                                              uint32_t device_id,
                                                              const std::string& client_message_id,
                                                              const SubmissionRow& row) {
  ASSIGN_OR_RETURN(
      int64_t inserted,
      db.Execute("INSERT INTO submissions (sender_account, sender_device, client_message_id, "
                 "server_id, server_ts_ms) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                 {Int(account_id), device_id, client_message_id, Int(row.server_id), row.server_ts_ms}));
  if (inserted == 1) return std::nullopt;
  ASSIGN_OR_RETURN(auto r,
                   db.QueryOne("SELECT server_id, server_ts_ms FROM submissions WHERE sender_account = $1 "
                               "AND sender_device = $2 AND client_message_id = $3",
                               {Int(account_id), device_id, client_message_id}));
  return SubmissionRow{static_cast<uint64_t>(r.Int(0)), r.Int(1)};
}

absl::StatusOr<int64_t> DeleteSubmissionsBefore(Database& db, int64_t before_ms) {
  return db.Execute("DELETE FROM submissions WHERE server_ts_ms < $1", {before_ms});
}

absl::Status AddUsage(Database& db, uint64_t account_id, const std::string& day, int64_t sessions,
                      int64_t messages) {
  return db
      .Execute(
          "INSERT INTO usage_daily (account_id, day, sessions, messages) VALUES ($1, $2, $3, $4) "
          "ON CONFLICT (account_id, day) DO UPDATE SET sessions = usage_daily.sessions + excluded.sessions, "
          "messages = usage_daily.messages + excluded.messages",
          {Int(account_id), day, sessions, messages})
      .status();
}

absl::StatusOr<std::vector<UsageRow>> GetUsage(Database& db, uint64_t account_id) {
  ASSIGN_OR_RETURN(auto rows,
                   db.Query("SELECT day, sessions, messages FROM usage_daily WHERE account_id = $1 "
                            "ORDER BY day",
                            {Int(account_id)}));
  std::vector<UsageRow> out;
  for (const auto& r : rows) out.push_back({r.Text(0), r.Int(1), r.Int(2)});
  return out;
}

absl::StatusOr<bool> DirectorySeen(Database& db, uint64_t account_id, const std::string& number_hash) {
  ASSIGN_OR_RETURN(auto rows,
                   db.Query("SELECT 1 FROM directory_seen WHERE account_id = $1 AND number_hash = $2",
                            {Int(account_id), Blob(number_hash)}));
  return !rows.empty();
}

absl::Status MarkDirectorySeen(Database& db, uint64_t account_id, const std::string& number_hash) {
  return db
      .Execute("INSERT INTO directory_seen (account_id, number_hash) VALUES ($1, $2) ON CONFLICT DO NOTHING",
               {Int(account_id), Blob(number_hash)})
      .status();
}

absl::StatusOr<int64_t> DirectoryUsed(Database& db, uint64_t account_id, const std::string& day) {
  ASSIGN_OR_RETURN(auto rows, db.Query("SELECT used FROM directory_budget WHERE account_id = $1 AND day = $2",
                                       {Int(account_id), day}));
  return rows.empty() ? 0 : rows[0].Int(0);
}

absl::Status AddDirectoryUsed(Database& db, uint64_t account_id, const std::string& day, int64_t n) {
  return db
      .Execute(
          "INSERT INTO directory_budget (account_id, day, used) VALUES ($1, $2, $3) "
          "ON CONFLICT (account_id, day) DO UPDATE SET used = directory_budget.used + excluded.used",
          {Int(account_id), day, n})
      .status();
}

}  // namespace tandem::relay::db
