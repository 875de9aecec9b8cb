// SQLite schema and queries of the client's local database.
#include "client/client_store.h"

#include <sys/stat.h>

#include "absl/strings/str_cat.h"

namespace tandem::client {
namespace {

constexpr store::Migration kMigrations[] = {
    {1, "client schema", R"sql(
CREATE TABLE account (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  server TEXT NOT NULL,
  number TEXT NOT NULL,
  account_id BIGINT NOT NULL,
  device_id INTEGER NOT NULL,
  password TEXT NOT NULL,
  identity_private BLOB NOT NULL,
  registration_id INTEGER NOT NULL,
  next_prekey_id INTEGER NOT NULL,
  signed_prekey_id INTEGER NOT NULL
);
CREATE TABLE signed_prekeys (id INTEGER PRIMARY KEY, private_key BLOB NOT NULL, signature BLOB NOT NULL);
CREATE TABLE one_time_prekeys (id INTEGER PRIMARY KEY, private_key BLOB NOT NULL);
CREATE TABLE sessions (
  peer TEXT NOT NULL, device_id INTEGER NOT NULL, record BLOB NOT NULL,
  PRIMARY KEY (peer, device_id)
);
CREATE TABLE identities (
  peer TEXT PRIMARY KEY, identity_key BLOB NOT NULL,
  first_seen_ms BIGINT NOT NULL, changed_at_ms BIGINT NOT NULL
);
CREATE TABLE outbox (
  client_message_id TEXT PRIMARY KEY, recipient TEXT NOT NULL, device_id INTEGER NOT NULL,
  type INTEGER NOT NULL, ciphertext BLOB NOT NULL, seq INTEGER NOT NULL
);
CREATE TABLE messages (
  id INTEGER PRIMARY KEY, peer TEXT NOT NULL, direction TEXT NOT NULL, message_id TEXT NOT NULL,
  body TEXT NOT NULL, sent_at_ms BIGINT NOT NULL, server_timestamp_ms BIGINT NOT NULL, status TEXT NOT NULL
);
CREATE INDEX messages_peer ON messages (peer, id);
CREATE UNIQUE INDEX messages_dedup ON messages (peer, direction, message_id);
CREATE TABLE seen_envelopes (server_id BIGINT PRIMARY KEY);
)sql"},
    {2, "settings", "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);"},
    {3, "outbox registration ids",
     "ALTER TABLE outbox ADD COLUMN registration_id INTEGER NOT NULL DEFAULT 0;"},
    {4, "Kyber prekeys", R"sql(
CREATE TABLE kyber_prekeys (
  id INTEGER PRIMARY KEY, secret_key BLOB NOT NULL, last_resort INTEGER NOT NULL
);
ALTER TABLE account ADD COLUMN next_kyber_prekey_id INTEGER NOT NULL DEFAULT 1;
)sql"},
    // Every device of every peer (and of this account): a message goes to
    // all of them. Profiles from before knew only device 1 of each peer.
    {5, "peer devices", R"sql(
CREATE TABLE peer_devices (
  peer TEXT NOT NULL, device_id INTEGER NOT NULL, registration_id INTEGER NOT NULL,
  PRIMARY KEY (peer, device_id)
);
INSERT INTO peer_devices (peer, device_id, registration_id) SELECT peer, device_id, 0 FROM sessions;
)sql"},
    // Groups: their state as this device knows it, the sender keys (this
    // device's own per group and distribution, and every member device's),
    // which devices hold this device's current sender key, group messages
    // in the history, and what an outbox row needs to be encrypted anew.
    {6, "groups", R"sql(
CREATE TABLE chat_groups (
  group_id BLOB PRIMARY KEY, title TEXT NOT NULL, version INTEGER NOT NULL,
  distribution_id BLOB NOT NULL, active INTEGER NOT NULL, updated_ms BIGINT NOT NULL
);
CREATE TABLE group_members (
  group_id BLOB NOT NULL, number TEXT NOT NULL, admin INTEGER NOT NULL, PRIMARY KEY (group_id, number)
);
CREATE TABLE sender_keys (
  sender TEXT NOT NULL, device_id INTEGER NOT NULL, distribution_id BLOB NOT NULL, record BLOB NOT NULL,
  PRIMARY KEY (sender, device_id, distribution_id)
);
CREATE TABLE sender_key_shared (
  distribution_id BLOB NOT NULL, peer TEXT NOT NULL, device_id INTEGER NOT NULL,
  PRIMARY KEY (distribution_id, peer, device_id)
);
ALTER TABLE messages ADD COLUMN group_id BLOB NOT NULL DEFAULT x'';
ALTER TABLE outbox ADD COLUMN plan BLOB NOT NULL DEFAULT x'';
)sql"},
    // The attachments a message carries (a serialized StoredAttachments).
    {7, "attachments", "ALTER TABLE messages ADD COLUMN attachments BLOB NOT NULL DEFAULT x'';"},
};

std::string Bytes(std::span<const uint8_t> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}
std::span<const uint8_t> Span(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

const char* DirectionName(Direction d) { return d == Direction::kIncoming ? "in" : "out"; }

}  // namespace

absl::StatusOr<std::unique_ptr<ClientStore>> ClientStore::Open(const std::string& path) {
  ASSIGN_OR_RETURN(auto db, store::OpenSqlite(path));
  // Private keys live here: keep the file to its owner.
  if (path != ":memory:") ::chmod(path.c_str(), 0600);
  RETURN_IF_ERROR(db->Migrate(kMigrations));
  return std::unique_ptr<ClientStore>(new ClientStore(std::move(db)));
}

absl::StatusOr<AccountRow> ClientStore::LoadAccount() {
  auto row = db_->QueryOne(
      "SELECT server, number, account_id, device_id, password, identity_private, registration_id, "
      "next_prekey_id, signed_prekey_id, next_kyber_prekey_id FROM account WHERE id = 1");
  if (!row.ok()) {
    if (row.status().code() == absl::StatusCode::kNotFound) {
      return absl::NotFoundError("this profile is not registered yet: run `tandem register` first");
    }
    return row.status();
  }
  AccountRow a;
  a.server = row->Text(0);
  a.number = row->Text(1);
  a.account_id = static_cast<uint64_t>(row->Int(2));
  a.device_id = static_cast<uint32_t>(row->Int(3));
  a.password = row->Text(4);
  ASSIGN_OR_RETURN(crypto::PrivateKey priv, crypto::PrivateKey::Deserialize(Span(row->Bytes(5))));
  a.identity.key_pair = crypto::KeyPair::FromPrivate(priv);
  a.identity.registration_id = static_cast<uint32_t>(row->Int(6));
  a.next_prekey_id = static_cast<uint32_t>(row->Int(7));
  a.signed_prekey_id = static_cast<uint32_t>(row->Int(8));
  a.next_kyber_prekey_id = static_cast<uint32_t>(row->Int(9));
  return a;
}

absl::Status ClientStore::SaveAccount(const AccountRow& a) {
  return db_
      ->Execute(
          "INSERT INTO account (id, server, number, account_id, device_id, password, identity_private, "
          "registration_id, next_prekey_id, signed_prekey_id, next_kyber_prekey_id) "
          "VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
          "ON CONFLICT (id) DO UPDATE SET server = excluded.server, number = excluded.number, "
          "account_id = excluded.account_id, device_id = excluded.device_id, password = excluded.password, "
          "identity_private = excluded.identity_private, registration_id = excluded.registration_id, "
          "next_prekey_id = excluded.next_prekey_id, signed_prekey_id = excluded.signed_prekey_id, "
          "next_kyber_prekey_id = excluded.next_kyber_prekey_id",
          {a.server, a.number, static_cast<int64_t>(a.account_id), a.device_id, a.password,
           store::Value::Blob(Bytes(a.identity.key_pair.private_key.raw())), a.identity.registration_id,
           a.next_prekey_id, a.signed_prekey_id, a.next_kyber_prekey_id})
      .status();
}

absl::Status ClientStore::DeleteEverything() {
  return db_->InTransaction([](store::Database& tx) -> absl::Status {
    for (const char* table : {"account", "signed_prekeys", "one_time_prekeys", "kyber_prekeys", "sessions",
                              "identities", "outbox", "messages", "seen_envelopes"}) {
      RETURN_IF_ERROR(tx.Execute(absl::StrCat("DELETE FROM ", table)).status());
    }
    return absl::OkStatus();
  });
}

absl::Status ClientStore::SetSetting(const std::string& key, const std::string& value) {
  return db_->Execute("INSERT OR REPLACE INTO settings (key, value) VALUES ($1, $2)", {key, value}).status();
}

std::string ClientStore::GetSetting(const std::string& key) {
  auto row = db_->QueryOne("SELECT value FROM settings WHERE key = $1", {key});
  return row.ok() ? row->Text(0) : "";
}

absl::Status ClientStore::SaveSignedPreKey(const crypto::SignedPreKey& key) {
  return db_
      ->Execute("INSERT OR REPLACE INTO signed_prekeys (id, private_key, signature) VALUES ($1, $2, $3)",
                {key.id, store::Value::Blob(Bytes(key.key_pair.private_key.raw())),
                 store::Value::Blob(Bytes(key.signature))})
      .status();
}

absl::StatusOr<crypto::KeyPair> ClientStore::LoadSignedPreKey(uint32_t id) {
  auto row = db_->QueryOne("SELECT private_key FROM signed_prekeys WHERE id = $1", {id});
  if (!row.ok()) return absl::NotFoundError(absl::StrCat("no signed prekey ", id));
  ASSIGN_OR_RETURN(crypto::PrivateKey priv, crypto::PrivateKey::Deserialize(Span(row->Bytes(0))));
  return crypto::KeyPair::FromPrivate(priv);
}

absl::Status ClientStore::SaveOneTimePreKeys(const std::vector<crypto::OneTimePreKey>& keys) {
  return db_->InTransaction([&](store::Database& tx) -> absl::Status {
    for (const auto& k : keys) {
      RETURN_IF_ERROR(tx.Execute("INSERT OR REPLACE INTO one_time_prekeys (id, private_key) VALUES ($1, $2)",
                                 {k.id, store::Value::Blob(Bytes(k.key_pair.private_key.raw()))})
                          .status());
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<crypto::KeyPair> ClientStore::LoadOneTimePreKey(uint32_t id) {
  auto row = db_->QueryOne("SELECT private_key FROM one_time_prekeys WHERE id = $1", {id});
  if (!row.ok()) return absl::NotFoundError(absl::StrCat("no one-time prekey ", id));
  ASSIGN_OR_RETURN(crypto::PrivateKey priv, crypto::PrivateKey::Deserialize(Span(row->Bytes(0))));
  return crypto::KeyPair::FromPrivate(priv);
}

absl::Status ClientStore::DeleteOneTimePreKey(uint32_t id) {
  return db_->Execute("DELETE FROM one_time_prekeys WHERE id = $1", {id}).status();
}

absl::Status ClientStore::SaveKyberPreKeys(const std::vector<crypto::KyberPreKey>& keys, bool last_resort) {
  return db_->InTransaction([&](store::Database& tx) -> absl::Status {
    for (const auto& k : keys) {
      RETURN_IF_ERROR(
          tx.Execute(
                "INSERT OR REPLACE INTO kyber_prekeys (id, secret_key, last_resort) VALUES ($1, $2, $3)",
                {k.id, store::Value::Blob(Bytes(k.key_pair.secret_key.Serialize())), last_resort ? 1 : 0})
              .status());
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<crypto::KemSecretKey> ClientStore::LoadKyberPreKey(uint32_t id) {
  auto row = db_->QueryOne("SELECT secret_key FROM kyber_prekeys WHERE id = $1", {id});
  if (!row.ok()) return absl::NotFoundError(absl::StrCat("no Kyber prekey ", id));
  return crypto::KemSecretKey::Deserialize(Span(row->Bytes(0)));
}

absl::Status ClientStore::DeleteUsedKyberPreKey(uint32_t id) {
  return db_->Execute("DELETE FROM kyber_prekeys WHERE id = $1 AND last_resort = 0", {id}).status();
}

absl::StatusOr<bool> ClientStore::HasKyberLastResort() {
  ASSIGN_OR_RETURN(auto rows, db_->Query("SELECT 1 FROM kyber_prekeys WHERE last_resort = 1 LIMIT 1"));
  return !rows.empty();
}

absl::StatusOr<crypto::SessionRecord> ClientStore::LoadSession(const std::string& peer, uint32_t device) {
  auto row = db_->QueryOne("SELECT record FROM sessions WHERE peer = $1 AND device_id = $2", {peer, device});
  if (!row.ok()) return absl::NotFoundError(absl::StrCat("no session with ", peer));
  return crypto::SessionRecord::Deserialize(Span(row->Bytes(0)));
}

absl::Status ClientStore::SaveSession(const std::string& peer, uint32_t device,
                                      const crypto::SessionRecord& record) {
  return db_
      ->Execute("INSERT OR REPLACE INTO sessions (peer, device_id, record) VALUES ($1, $2, $3)",
                {peer, device, store::Value::Blob(Bytes(record.Serialize()))})
      .status();
}

absl::Status ClientStore::DeleteSessions(const std::string& peer) {
  RETURN_IF_ERROR(db_->Execute("DELETE FROM sessions WHERE peer = $1", {peer}).status());
  return db_->Execute("DELETE FROM peer_devices WHERE peer = $1", {peer}).status();
}

absl::Status ClientStore::DeleteSession(const std::string& peer, uint32_t device) {
  RETURN_IF_ERROR(
      db_->Execute("DELETE FROM sessions WHERE peer = $1 AND device_id = $2", {peer, device}).status());
  return db_->Execute("DELETE FROM peer_devices WHERE peer = $1 AND device_id = $2", {peer, device}).status();
}

absl::Status ClientStore::PutPeerDevice(const std::string& peer, const PeerDevice& device) {
  return db_
      ->Execute(
          "INSERT INTO peer_devices (peer, device_id, registration_id) VALUES ($1, $2, $3) "
          "ON CONFLICT (peer, device_id) DO UPDATE SET registration_id = excluded.registration_id",
          {peer, device.device_id, static_cast<int64_t>(device.registration_id)})
      .status();
}

absl::StatusOr<std::vector<PeerDevice>> ClientStore::PeerDevices(const std::string& peer) {
  ASSIGN_OR_RETURN(auto rows,
                   db_->Query("SELECT device_id, registration_id FROM peer_devices WHERE peer = $1 "
                              "ORDER BY device_id",
                              {peer}));
  std::vector<PeerDevice> out;
  for (const auto& r : rows)
    out.push_back({static_cast<uint32_t>(r.Int(0)), static_cast<uint32_t>(r.Int(1))});
  return out;
}

absl::StatusOr<bool> ClientStore::SaveIdentity(const std::string& peer, const crypto::PublicKey& key,
                                               int64_t now_ms) {
  auto existing = LoadIdentity(peer);
  std::string serialized = Bytes(key.Serialize());
  if (!existing.ok()) {
    RETURN_IF_ERROR(db_->Execute("INSERT INTO identities (peer, identity_key, first_seen_ms, changed_at_ms) "
                                 "VALUES ($1, $2, $3, 0)",
                                 {peer, store::Value::Blob(serialized), now_ms})
                        .status());
    return false;
  }
  if (existing->identity_key == key) return false;
  RETURN_IF_ERROR(db_->Execute("UPDATE identities SET identity_key = $2, changed_at_ms = $3 WHERE peer = $1",
                               {peer, store::Value::Blob(serialized), now_ms})
                      .status());
  return true;
}

absl::StatusOr<IdentityRow> ClientStore::LoadIdentity(const std::string& peer) {
  auto row = db_->QueryOne(
      "SELECT identity_key, first_seen_ms, changed_at_ms FROM identities WHERE peer = $1", {peer});
  if (!row.ok()) return absl::NotFoundError(absl::StrCat("no identity key known for ", peer));
  IdentityRow r;
  r.peer = peer;
  ASSIGN_OR_RETURN(r.identity_key, crypto::PublicKey::Deserialize(Span(row->Bytes(0))));
  r.first_seen_ms = row->Int(1);
  r.changed_at_ms = row->Int(2);
  return r;
}

absl::Status ClientStore::AddToOutbox(const OutboxRow& row) {
  return db_
      ->Execute(
          "INSERT INTO outbox (client_message_id, recipient, device_id, type, ciphertext, registration_id, "
          "plan, seq) "
          "VALUES ($1, $2, $3, $4, $5, $6, $7, (SELECT COALESCE(MAX(seq), 0) + 1 FROM outbox))",
          {row.client_message_id, row.recipient, row.device_id, row.type, store::Value::Blob(row.ciphertext),
           static_cast<int64_t>(row.registration_id), store::Value::Blob(row.plan)})
      .status();
}

namespace {

constexpr char kOutboxColumns[] =
    "SELECT client_message_id, recipient, device_id, type, ciphertext, registration_id, plan FROM outbox ";

std::vector<OutboxRow> ToOutboxRows(const std::vector<store::Row>& rows) {
  std::vector<OutboxRow> out;
  for (const auto& r : rows) {
    out.push_back({r.Text(0), r.Text(1), static_cast<uint32_t>(r.Int(2)), static_cast<int>(r.Int(3)),
                   r.Bytes(4), static_cast<uint32_t>(r.Int(5)), r.Bytes(6)});
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<OutboxRow>> ClientStore::Outbox() {
  ASSIGN_OR_RETURN(auto rows, db_->Query(absl::StrCat(kOutboxColumns, "ORDER BY seq")));
  return ToOutboxRows(rows);
}

absl::StatusOr<std::optional<OutboxRow>> ClientStore::OutboxEntry(const std::string& client_message_id) {
  ASSIGN_OR_RETURN(auto rows, db_->Query(absl::StrCat(kOutboxColumns, "WHERE client_message_id = $1"),
                                         {client_message_id}));
  auto out = ToOutboxRows(rows);
  if (out.empty()) return std::nullopt;
  return std::move(out.front());
}

absl::Status ClientStore::RemoveFromOutbox(const std::string& client_message_id) {
  return db_->Execute("DELETE FROM outbox WHERE client_message_id = $1", {client_message_id}).status();
}

absl::StatusOr<int64_t> ClientStore::AddMessage(const MessageRow& m) {
  // The id comes from the insert itself, not from the handle afterwards,
  // where another thread's insert may have replaced it.
  ASSIGN_OR_RETURN(auto row,
                   db_->QueryOne("INSERT INTO messages (peer, direction, message_id, body, sent_at_ms, "
                                 "server_timestamp_ms, status, group_id, attachments) "
                                 "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                                 {m.peer, DirectionName(m.direction), m.message_id, m.body, m.sent_at_ms,
                                  m.server_timestamp_ms, m.status, store::Value::Blob(m.group_id),
                                  store::Value::Blob(m.attachments)}));
  return row.Int(0);
}

absl::Status ClientStore::SetOutgoingStatus(const std::string& message_id, const std::string& status) {
  // Statuses only move forward: pending < sent < delivered < read.
  return db_
      ->Execute(
          "UPDATE messages SET status = $2 WHERE direction = 'out' AND message_id = $1 AND "
          "(CASE status WHEN 'pending' THEN 0 WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2 ELSE 3 END) < "
          "(CASE $2 WHEN 'pending' THEN 0 WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2 ELSE 3 END)",
          {message_id, status})
      .status();
}

namespace {
std::vector<MessageRow> ToMessages(const std::vector<store::Row>& rows) {
  std::vector<MessageRow> out;
  for (const auto& r : rows) {
    MessageRow m;
    m.id = r.Int(0);
    m.peer = r.Text(1);
    m.direction = r.Text(2) == "in" ? Direction::kIncoming : Direction::kOutgoing;
    m.message_id = r.Text(3);
    m.body = r.Text(4);
    m.sent_at_ms = r.Int(5);
    m.server_timestamp_ms = r.Int(6);
    m.status = r.Text(7);
    m.group_id = r.Bytes(8);
    m.attachments = r.Bytes(9);
    out.push_back(std::move(m));
  }
  return out;
}
constexpr char kMessageColumns[] =
    "SELECT id, peer, direction, message_id, body, sent_at_ms, server_timestamp_ms, status, group_id, "
    "attachments FROM messages ";
}  // namespace

absl::StatusOr<std::vector<MessageRow>> ClientStore::Messages(const std::string& peer, int limit) {
  ASSIGN_OR_RETURN(
      auto rows,
      db_->Query(absl::StrCat(kMessageColumns,
                              "WHERE ($1 = '' OR (peer = $1 AND group_id = x'')) ORDER BY id DESC LIMIT $2"),
                 {peer, limit}));
  auto out = ToMessages(rows);
  std::reverse(out.begin(), out.end());
  return out;
}

absl::StatusOr<std::optional<MessageRow>> ClientStore::OutgoingMessage(const std::string& message_id) {
  ASSIGN_OR_RETURN(
      auto rows,
      db_->Query(absl::StrCat(kMessageColumns, "WHERE direction = 'out' AND message_id = $1"), {message_id}));
  auto out = ToMessages(rows);
  if (out.empty()) return std::nullopt;
  return out.front();
}

absl::StatusOr<std::vector<MessageRow>> ClientStore::UnreadFrom(const std::string& peer) {
  ASSIGN_OR_RETURN(auto rows,
                   db_->Query(absl::StrCat(kMessageColumns,
                                           "WHERE direction = 'in' AND status = 'received' AND "
                                           "group_id = x'' AND ($1 = '' OR peer = $1) ORDER BY id"),
                              {peer}));
  return ToMessages(rows);
}

absl::Status ClientStore::MarkIncomingRead(const std::string& peer) {
  return db_
      ->Execute(
          "UPDATE messages SET status = 'read' WHERE direction = 'in' AND status = 'received' AND "
          "group_id = x'' AND ($1 = '' OR peer = $1)",
          {peer})
      .status();
}

absl::StatusOr<bool> ClientStore::SeenEnvelope(uint64_t server_id) {
  ASSIGN_OR_RETURN(auto rows, db_->Query("SELECT 1 FROM seen_envelopes WHERE server_id = $1",
                                         {static_cast<int64_t>(server_id)}));
  return !rows.empty();
}

absl::Status ClientStore::MarkEnvelopeSeen(uint64_t server_id) {
  return db_
      ->Execute("INSERT OR IGNORE INTO seen_envelopes (server_id) VALUES ($1)",
                {static_cast<int64_t>(server_id)})
      .status();
}

}  // namespace tandem::client

namespace tandem::client {

absl::Status ClientStore::SaveGroup(const GroupRow& g) {
  RETURN_IF_ERROR(
      db_->Execute("INSERT INTO chat_groups (group_id, title, version, distribution_id, active, "
                   "updated_ms) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (group_id) DO UPDATE SET "
                   "title = excluded.title, version = excluded.version, distribution_id = "
                   "excluded.distribution_id, active = excluded.active, updated_ms = excluded.updated_ms",
                   {store::Value::Blob(g.group_id), g.title, static_cast<int64_t>(g.version),
                    store::Value::Blob(g.distribution_id), g.active ? 1 : 0, g.updated_ms})
          .status());
  RETURN_IF_ERROR(
      db_->Execute("DELETE FROM group_members WHERE group_id = $1", {store::Value::Blob(g.group_id)})
          .status());
  for (const GroupMemberRow& m : g.members) {
    RETURN_IF_ERROR(db_->Execute("INSERT INTO group_members (group_id, number, admin) VALUES ($1, $2, $3)",
                                 {store::Value::Blob(g.group_id), m.number, m.admin ? 1 : 0})
                        .status());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<GroupRow>> ClientStore::Groups(const std::string& group_id) {
  ASSIGN_OR_RETURN(auto rows,
                   db_->Query("SELECT group_id, title, version, distribution_id, active, updated_ms "
                              "FROM chat_groups WHERE ($1 = x'' OR group_id = $1) ORDER BY updated_ms",
                              {store::Value::Blob(group_id)}));
  std::vector<GroupRow> out;
  for (const auto& r : rows) {
    GroupRow g;
    g.group_id = r.Bytes(0);
    g.title = r.Text(1);
    g.version = static_cast<uint32_t>(r.Int(2));
    g.distribution_id = r.Bytes(3);
    g.active = r.Int(4) != 0;
    g.updated_ms = r.Int(5);
    ASSIGN_OR_RETURN(auto members, db_->Query("SELECT number, admin FROM group_members WHERE group_id = $1 "
                                              "ORDER BY number",
                                              {store::Value::Blob(g.group_id)}));
    for (const auto& m : members) g.members.push_back({m.Text(0), m.Int(1) != 0});
    out.push_back(std::move(g));
  }
  return out;
}

absl::StatusOr<std::optional<GroupRow>> ClientStore::Group(const std::string& group_id) {
  if (group_id.empty()) return std::nullopt;
  ASSIGN_OR_RETURN(auto groups, Groups(group_id));
  if (groups.empty()) return std::nullopt;
  return std::move(groups.front());
}

absl::StatusOr<crypto::SenderKeyRecord> ClientStore::LoadSenderKey(const std::string& sender, uint32_t device,
                                                                   const std::string& distribution_id) {
  ASSIGN_OR_RETURN(auto rows,
                   db_->Query("SELECT record FROM sender_keys WHERE sender = $1 AND device_id = $2 "
                              "AND distribution_id = $3",
                              {sender, device, store::Value::Blob(distribution_id)}));
  if (rows.empty()) return crypto::SenderKeyRecord();
  return crypto::SenderKeyRecord::Deserialize(Span(rows[0].Bytes(0)));
}

absl::Status ClientStore::SaveSenderKey(const std::string& sender, uint32_t device,
                                        const std::string& distribution_id,
                                        const crypto::SenderKeyRecord& record) {
  return db_
      ->Execute(
          "INSERT OR REPLACE INTO sender_keys (sender, device_id, distribution_id, record) "
          "VALUES ($1, $2, $3, $4)",
          {sender, device, store::Value::Blob(distribution_id),
           store::Value::Blob(Bytes(record.Serialize()))})
      .status();
}

absl::StatusOr<bool> ClientStore::SenderKeyShared(const std::string& distribution_id, const std::string& peer,
                                                  uint32_t device) {
  ASSIGN_OR_RETURN(auto rows,
                   db_->Query("SELECT 1 FROM sender_key_shared WHERE distribution_id = $1 AND peer = $2 "
                              "AND device_id = $3",
                              {store::Value::Blob(distribution_id), peer, device}));
  return !rows.empty();
}

absl::Status ClientStore::MarkSenderKeyShared(const std::string& distribution_id, const std::string& peer,
                                              uint32_t device) {
  return db_
      ->Execute(
          "INSERT OR IGNORE INTO sender_key_shared (distribution_id, peer, device_id) VALUES ($1, $2, $3)",
          {store::Value::Blob(distribution_id), peer, device})
      .status();
}

absl::Status ClientStore::ForgetSenderKeyShared(const std::string& peer, uint32_t device) {
  return db_->Execute("DELETE FROM sender_key_shared WHERE peer = $1 AND device_id = $2", {peer, device})
      .status();
}

absl::StatusOr<std::vector<MessageRow>> ClientStore::GroupMessages(const std::string& group_id, int limit) {
  ASSIGN_OR_RETURN(auto rows,
                   db_->Query(absl::StrCat(kMessageColumns, "WHERE group_id = $1 ORDER BY id DESC LIMIT $2"),
                              {store::Value::Blob(group_id), limit}));
  auto out = ToMessages(rows);
  std::reverse(out.begin(), out.end());
  return out;
}

}  // namespace tandem::client
