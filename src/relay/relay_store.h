// The relay's persistent state behind store::Database: the schema and one
// function per query, so the services above never spell SQL and a second
// backend (PostgreSQL) needs only this file reviewed. SQL is portable
// ($n placeholders, ON CONFLICT upserts).
//
// What is stored: accounts (number, identity public key), devices (password
// hash, registration id), public prekeys (EC and signed Kyber ones), pending verification codes (as
// hashes), queued envelopes (ciphertext only), recent submission ids for
// de-duplication, usage counts per day, and the contact-discovery budget
// (keyed hashes of looked-up numbers). Never a plaintext message.
//
// Thread safety: the functions are stateless; pass the Database (or the
// transaction handle InTransaction gives you) that the caller owns.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/store.h"

namespace tandem::relay::db {

using store::Database;

// Creates or upgrades the schema.
absl::Status Migrate(Database& db);

// ---- relay_meta: counters that must never go backwards ----
absl::StatusOr<int64_t> GetMeta(Database& db, const std::string& key, int64_t fallback);
absl::Status SetMeta(Database& db, const std::string& key, int64_t value);

// ---- accounts and devices ----
struct DeviceRow {
  uint64_t account_id = 0;
  std::string number;
  uint32_t device_id = 0;
  std::string password_hash;  // 32 bytes
  uint32_t registration_id = 0;
};
absl::Status ForEachDevice(Database& db, const std::function<void(DeviceRow)>& fn);

// A device of an installation that a re-registration replaced, or a
// companion device that was unlinked (`removed`).
struct RetiredDeviceRow {
  uint64_t account_id = 0;
  uint32_t device_id = 0;
  std::string password_hash;
  int64_t retired_ms = 0;
  bool removed = false;
};
absl::Status ForEachRetiredDevice(Database& db, const std::function<void(RetiredDeviceRow)>& fn);
absl::StatusOr<std::optional<uint64_t>> FindAccountByNumber(Database& db, const std::string& number);

struct AccountRow {
  uint64_t account_id = 0;
  std::string number;
  std::string identity_key;  // 33 bytes
  int64_t created_ms = 0;
  int64_t identity_changed_ms = 0;
};
absl::StatusOr<std::optional<AccountRow>> GetAccount(Database& db, uint64_t account_id);

// Usage metering as the privacy center reads it (feed::MessengerAccounts).
struct UsageDayRow {
  std::string day;
  int64_t sessions = 0;
  int64_t messages = 0;
};
absl::StatusOr<std::vector<UsageDayRow>> UsageOf(Database& db, uint64_t account_id);
struct ActivityRow {
  uint64_t account_id = 0;
  std::string number;
  int64_t active_days = 0;
  std::string last_active_day;
};
// Each account's active days in [first, last] and its last active day on
// or before `last` ("" if none); a day is active with a session or a sent
// message.
absl::StatusOr<std::vector<ActivityRow>> ActivityBetween(Database& db, const std::string& first,
                                                         const std::string& last);

absl::Status InsertAccount(Database& db, const AccountRow& account);
// Replaces the identity key of a re-registered account and forgets
// everything that belonged to the old installation: devices, prekeys and
// the envelopes queued for it (`queued`, from Directory::ClearDevices: they
// were encrypted to the old identity).
absl::Status ResetAccountForReregistration(Database& db, uint64_t account_id, const std::string& identity_key,
                                           int64_t now_ms, std::span<const uint64_t> queued);
absl::Status InsertDevice(Database& db, const DeviceRow& device, int64_t now_ms);
// Removes every row that belongs to the account (see DESIGN.md: deletion
// removes account, keys, queued envelopes and usage data). `queued` are its
// envelopes' server ids (from Directory::RemoveAccount).
absl::Status DeleteAccount(Database& db, uint64_t account_id, const std::string& number,
                           std::span<const uint64_t> queued);

// ---- verification codes ----
struct CodeRow {
  std::string code_hash;
  int64_t expires_ms = 0;
  int attempts = 0;
};
absl::Status PutCode(Database& db, const std::string& number, const CodeRow& code);
absl::StatusOr<std::optional<CodeRow>> GetCode(Database& db, const std::string& number);
absl::Status SetCodeAttempts(Database& db, const std::string& number, int attempts);
absl::Status DeleteCode(Database& db, const std::string& number);
absl::Status DeleteExpiredCodes(Database& db, int64_t now_ms);

// ---- keys ----
struct SignedPreKeyRow {
  uint32_t key_id = 0;
  std::string public_key;  // 33 bytes
  std::string signature;   // 64 bytes
};
struct PreKeyRow {
  uint32_t key_id = 0;
  std::string public_key;
};
absl::Status PutSignedPreKey(Database& db, uint64_t account_id, uint32_t device_id,
                             const SignedPreKeyRow& key);
absl::StatusOr<std::optional<SignedPreKeyRow>> GetSignedPreKey(Database& db, uint64_t account_id,
                                                               uint32_t device_id);
absl::Status PutPreKey(Database& db, uint64_t account_id, uint32_t device_id, const PreKeyRow& key);
absl::StatusOr<int64_t> CountPreKeys(Database& db, uint64_t account_id, uint32_t device_id);
// Removes and returns the one-time prekey with the lowest id, if any. Call
// inside a transaction so that two fetches never get the same key.
absl::StatusOr<std::optional<PreKeyRow>> TakePreKey(Database& db, uint64_t account_id, uint32_t device_id);

// Signed Kyber prekeys (PQXDH): one-time ones, consumed like one-time EC
// prekeys, and at most one last-resort key per device, handed out when the
// one-time ones are gone. Ids are the device's: the one-time keys and the
// last-resort key share one id space, as the client looks them up by id.
struct KyberPreKeyRow {
  uint32_t key_id = 0;
  std::string public_key;  // 1569 bytes: type byte (0x08) + raw Kyber-1024 key
  std::string signature;   // 64 bytes, XEdDSA over public_key

  friend bool operator==(const KyberPreKeyRow&, const KyberPreKeyRow&) = default;
};
absl::Status PutKyberPreKey(Database& db, uint64_t account_id, uint32_t device_id, const KyberPreKeyRow& key);
absl::StatusOr<int64_t> CountKyberPreKeys(Database& db, uint64_t account_id, uint32_t device_id);
// Removes and returns the one-time Kyber prekey with the lowest id, if any;
// inside a transaction, as TakePreKey.
absl::StatusOr<std::optional<KyberPreKeyRow>> TakeKyberPreKey(Database& db, uint64_t account_id,
                                                              uint32_t device_id);
// Replaces the device's last-resort Kyber prekey.
absl::Status PutKyberLastResort(Database& db, uint64_t account_id, uint32_t device_id,
                                const KyberPreKeyRow& key);
absl::StatusOr<std::optional<KyberPreKeyRow>> GetKyberLastResort(Database& db, uint64_t account_id,
                                                                 uint32_t device_id);

absl::StatusOr<std::vector<uint32_t>> ListDevices(Database& db, uint64_t account_id);

// The account's devices as GET /v1/devices lists them, by device id.
struct DeviceInfoRow {
  uint32_t device_id = 0;
  int64_t created_ms = 0;
  uint32_t registration_id = 0;
};
absl::StatusOr<std::vector<DeviceInfoRow>> ListDeviceInfo(Database& db, uint64_t account_id);
// Unlinks one device: its row (remembered in retired_devices as removed at
// `now_ms`), its prekeys of every kind and the de-duplication records of its
// submissions (a later companion may get the same device id). Its queued
// envelopes are the caller's (AccountService acks them to the writer, which
// also deletes shared bodies whose last copies they are).
absl::Status DeleteDevice(Database& db, uint64_t account_id, uint32_t device_id, int64_t now_ms);

// ---- envelopes ----
struct EnvelopeRow {
  uint64_t server_id = 0;
  uint64_t recipient_account = 0;
  uint32_t recipient_device = 0;
  uint64_t sender_account = 0;
  uint32_t sender_device = 0;
  std::string sender_number;
  int64_t server_ts_ms = 0;
  int type = 0;
  std::string ciphertext;
  // A copy of a multi-recipient submission's shared body: the row holds no
  // ciphertext; the body row does, under the server id of its first copy.
  uint64_t body_id = 0;
  std::shared_ptr<const std::string> body;  // the shared body, when in memory

  const std::string& Ciphertext() const { return body ? *body : ciphertext; }
};
// The table is keyed by server id alone: which envelopes wait for which
// device is kept in memory (Directory), loaded at start with
// ForEachEnvelope, so storing an envelope appends to one tree.
absl::Status InsertEnvelope(Database& db, const EnvelopeRow& e);
// The same for many rows, 32 per statement (a fan-out's copies).
absl::Status InsertEnvelopes(Database& db, std::span<const EnvelopeRow* const> rows);
// Deletes the envelopes with these ids (ascending order touches each page
// once), 32 per statement; returns how many rows went.
absl::StatusOr<int64_t> DeleteEnvelopes(Database& db, std::span<const uint64_t> server_ids);
// The envelopes with these ids (ascending) that are queued for the device,
// oldest first; ids that are gone are skipped.
absl::StatusOr<std::vector<EnvelopeRow>> FetchEnvelopes(Database& db, uint64_t account_id, uint32_t device_id,
                                                        std::span<const uint64_t> server_ids);
// Calls fn(server_id, recipient_account, recipient_device) for every stored
// envelope: the rows in server id order, then the shared copies in theirs.
absl::Status ForEachEnvelope(Database& db, const std::function<void(uint64_t, uint64_t, uint32_t)>& fn);
absl::StatusOr<uint64_t> MaxServerId(Database& db);

// ---- shared bodies of multi-recipient submissions ----
// A body is stored once; a submission's copies have the server ids
// body_id .. body_id + copies - 1. The first `shared` of them carry the
// shared body and have no envelope row: the body lists their devices
// (`recipients`, AppendSharedCopy) and the sender, and their
// acknowledgement is recorded (DeleteEnvelopes) until the body goes. The
// others (own ciphertext) are envelope rows. The body is deleted with its
// last copy, or when it expires. Every envelope function below covers the
// shared copies as if they were rows.
struct BodyRow {
  uint64_t body_id = 0;
  uint32_t copies = 0;
  int64_t created_ms = 0;
  int64_t stored_copies = 0;  // ListBodies: copies still stored (not acknowledged)
  uint64_t owner = 0;         // the sending account
  std::string attachments;    // attachment ids the message carries, space-separated
  uint32_t shared = 0;
  std::string recipients;  // InsertBody: `shared` devices, AppendSharedCopy
  uint32_t sender_device = 0;
  std::string sender_number;
  int type = 0;
};
inline constexpr size_t kPackedDeviceSize = 12;
void AppendSharedCopy(std::string& recipients, uint64_t account_id, uint32_t device_id);
absl::Status InsertBody(Database& db, const BodyRow& body, const std::string& ciphertext);
absl::Status DeleteBodies(Database& db, std::span<const uint64_t> body_ids);
// Every body (without its ciphertext), by id, each with its stored copies
// counted.
absl::StatusOr<std::vector<BodyRow>> ListBodies(Database& db);
struct QueuedCopy {
  uint64_t server_id = 0;
  uint64_t recipient_account = 0;
  uint32_t recipient_device = 0;
};
// The stored envelopes with server ids in [first, end).
absl::StatusOr<std::vector<QueuedCopy>> EnvelopesBetween(Database& db, uint64_t first, uint64_t end);

// ---- submissions (de-duplication of client message ids) ----
struct SubmissionRow {
  uint64_t server_id = 0;
  int64_t server_ts_ms = 0;
};
// Records the submission unless the id is known; returns the earlier one
// if it is.
absl::StatusOr<std::optional<SubmissionRow>> InsertSubmission(Database& db, uint64_t account_id,
                                                              uint32_t device_id,
                                                              const std::string& client_message_id,
                                                              const SubmissionRow& row);
absl::StatusOr<int64_t> DeleteSubmissionsBefore(Database& db, int64_t before_ms);

// ---- usage ----
absl::Status AddUsage(Database& db, uint64_t account_id, const std::string& day, int64_t sessions,
                      int64_t messages);
struct UsageRow {
  std::string day;
  int64_t sessions = 0;
  int64_t messages = 0;
};
absl::StatusOr<std::vector<UsageRow>> GetUsage(Database& db, uint64_t account_id);

// ---- contact discovery budget ----
// True if the account looked this (keyed) number hash up before.
absl::StatusOr<bool> DirectorySeen(Database& db, uint64_t account_id, const std::string& number_hash);
absl::Status MarkDirectorySeen(Database& db, uint64_t account_id, const std::string& number_hash);
absl::StatusOr<int64_t> DirectoryUsed(Database& db, uint64_t account_id, const std::string& day);
absl::Status AddDirectoryUsed(Database& db, uint64_t account_id, const std::string& day, int64_t n);

}  // namespace tandem::relay::db
