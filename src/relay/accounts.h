// Accounts, keys and contact discovery: everything the HTTP API does, as
// typed calls that know nothing of JSON (http_api.cc translates).
//
//  - Registration: RequestCode() takes the client address's token, then
//    normalizes the number and applies the per-prefix and per-number
//    limits, stores a hash of a fresh 6-digit code (valid 10 minutes, 3
//    attempts) and sends it. Verify() is limited per address (before the
//    number is parsed) and per number across reissued codes; it checks the
//    code and creates the account, or re-registers it: a new
//    identity key (a key change peers see in the bundle), new credentials,
//    and the old installation's devices, prekeys and queued envelopes gone.
//  - Keys: UploadKeys() stores a signed prekey (its XEdDSA signature checked
//    against the account's identity key), bounded batches of one-time
//    prekeys, and signed Kyber prekeys for PQXDH: bounded batches of
//    one-time ones and one last-resort key per device (every signature
//    checked likewise). FetchBundle() hands out one one-time EC prekey and
//    one one-time Kyber prekey per device, both removed in the same
//    transaction; when no one-time Kyber key is left, the last-resort one.
//    A bundle still works when none are left (and has no Kyber key at all
//    for a device that never published one: such a peer gets a v3
//    session).
//  - Discovery: Discover() answers which numbers are registered, charging
//    each account a daily budget of numbers it never looked up before.
//  - DeleteAccount() removes the account and all its rows.
//  - Linked devices: AddLinkedDevice() (device_links.h checks the link
//    token first), ListDevices() and RemoveDevice().
//  - ImportAccounts() is an operator path that no route reaches: tandemd
//    calls it in-process to create accounts an operator vouches for (the
//    demo world, app/demo.h). It charges no client's limits because no
//    client is asking; every route keeps its limits.
//
// Mutations that must be ordered with the envelope stream (create,
// re-register, delete) run through EnvelopeWriter::RunExclusive.
// Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/clock.h"
#include "common/random.h"
#include "common/rate_limiter.h"
#include "common/status.h"
#include "relay/directory.h"
#include "relay/envelope_writer.h"
#include "relay/relay_store.h"
#include "relay_protocol/protocol.h"
#include "store/store.h"
#include "verification/code_guard.h"
#include "verification/code_sender.h"

namespace tandem::relay {

struct AccountOptions {
  absl::Duration code_ttl = absl::Minutes(10);
  int max_code_attempts = 3;
  // Code requests per number, per number prefix (all but the last 4
  // digits) and per client address; code checks per address and per
  // number (across reissued codes). See verification/code_guard.h.
  verification::Limits codes;
  RateLimit bundle_fetches_per_account{100, absl::Minutes(1)};
  int64_t directory_daily_budget = 2000;  // new numbers per account per day
};

// Called inside the transaction that creates or deletes an account, so that
// whatever they write (the data-sharing feed) commits or rolls back with it.
struct AccountHooks {
  std::function<absl::Status(store::Database& tx, uint64_t account_id, const std::string& number,
                             int64_t at_ms)>
      on_created;
  std::function<absl::Status(store::Database& tx, uint64_t account_id, const std::string& number,
                             int64_t at_ms)>
      on_deleted;
};

class AccountService {
 public:
  // Closes live connections: every one of the account (device_id 0:
  // re-registration, deletion) or one device's (it was unlinked).
  using Disconnect = std::function<void(uint64_t account_id, uint32_t device_id, const std::string& reason)>;

  // `miss_limiter` is shared with the message stream: every lookup of an
  // unregistered number costs a token.
  AccountService(store::Database& db, Directory& directory, EnvelopeWriter& writer, const Clock& clock,
                 Random& random, verification::CodeSender& code_sender, RateLimiter& miss_limiter,
                 AccountOptions options, Disconnect disconnect);

  // Installs the hooks; call before serving.
  void SetHooks(AccountHooks hooks) { hooks_ = std::move(hooks); }

  // Loads the directory from the database (call once at start).
  absl::Status LoadDirectory();

  struct CodeIssued {
    std::string number;  // normalized E.164
    absl::Duration expires_in;
    int attempts;
  };
  absl::StatusOr<CodeIssued> RequestCode(std::string_view number, std::string_view region,
                                         const std::string& client_address);

  struct VerifyRequest {
    std::string number;
    std::string region;
    std::string code;
    std::string identity_key;  // 33 bytes (0x05 || X25519 public key)
    uint32_t registration_id = 0;
    std::string client_address;
  };
  struct Registered {
    Credentials credentials;
    std::string number;
    bool reregistered = false;
  };
  absl::StatusOr<Registered> Verify(const VerifyRequest& request);

  absl::Status Authenticate(const Credentials& credentials) const;

  struct AccountInfo {
    uint64_t account_id = 0;
    std::string number;
    std::string identity_key;
    int64_t created_ms = 0;
  };
  absl::StatusOr<AccountInfo> GetAccountInfo(const Credentials& who);

  // All or nothing: InvalidArgument (the message names the field and, for a
  // Kyber key, its id) for a malformed key, an id out of 1..16777215 or
  // given twice, a signature that does not verify under the account's
  // identity key, or more than kMaxPreKeysPerUpload one-time EC keys or
  // kMaxKyberPreKeysPerUpload one-time Kyber keys; FailedPrecondition for a
  // foreign identity_key; ResourceExhausted if the device would store more
  // than kMaxStoredPreKeys / kMaxStoredKyberPreKeys one-time keys of a kind.
  // Kyber keys must be Kyber-1024 (type byte 0x08), what libsignal's
  // clients generate and accept. kyber_last_resort replaces the device's.
  struct KeyUpload {
    std::optional<std::string> identity_key;  // if given, must be the registered one
    std::optional<db::SignedPreKeyRow> signed_prekey;
    std::vector<db::PreKeyRow> one_time_prekeys;
    std::vector<db::KyberPreKeyRow> kyber_prekeys;
    std::optional<db::KyberPreKeyRow> kyber_last_resort;
  };
  absl::Status UploadKeys(const Credentials& who, const KeyUpload& upload);
  // One-time prekeys this device has left: EC and Kyber (the last-resort key
  // is not counted).
  absl::StatusOr<int64_t> PreKeyCount(const Credentials& who);
  absl::StatusOr<int64_t> KyberPreKeyCount(const Credentials& who);

  struct DeviceBundle {
    uint32_t device_id = 0;
    uint32_t registration_id = 0;
    db::SignedPreKeyRow signed_prekey;
    std::optional<db::PreKeyRow> one_time_prekey;
    // A one-time Kyber prekey (now removed), else the last-resort one, else
    // none (the device never published Kyber keys, or has no one-time ones
    // left and no last-resort one): the peer then starts a v3 session.
    std::optional<db::KyberPreKeyRow> kyber_prekey;
  };
  struct Bundle {
    uint64_t account_id = 0;
    std::string number;
    std::string identity_key;
    int64_t identity_changed_ms = 0;
    std::vector<DeviceBundle> devices;
  };
  // `number` in any form phone::Normalize accepts with a leading '+' (or
  // digits, read as international).
  absl::StatusOr<Bundle> FetchBundle(const Credentials& who, std::string_view number);

  struct Discovery {
    std::vector<std::string> registered;                       // E.164
    std::vector<std::pair<std::string, std::string>> invalid;  // input, reason code
    int64_t budget_remaining = 0;
  };
  absl::StatusOr<Discovery> Discover(const Credentials& who, const std::vector<std::string>& numbers,
                                     std::string_view region);

  absl::StatusOr<std::vector<db::UsageRow>> Usage(const Credentials& who);

  absl::Status DeleteAccount(const Credentials& who);

  // Linked devices: the primary device (1) adds up to kMaxLinkedDevices
  // companions. A companion gets the lowest device id above every current
  // one and fresh credentials; its registration id tells peers' sessions
  // apart from a device that held the id before. InvalidArgument for a
  // registration id out of 1..16380, NotFound for an unknown account,
  // ResourceExhausted when the account has its companions already.
  static constexpr size_t kMaxLinkedDevices = 5;
  absl::StatusOr<Credentials> AddLinkedDevice(uint64_t account_id, uint32_t registration_id);

  // The caller's account's devices, by device id.
  absl::StatusOr<std::vector<db::DeviceInfoRow>> ListDevices(const Credentials& who);

  // Unlinks `device_id`: the primary may remove any companion, a companion
  // only itself; the primary device cannot be removed (InvalidArgument:
  // delete the account instead). PermissionDenied for a companion removing
  // another device, NotFound for a device the account does not have. Its
  // credentials fail at once (Unauthenticated, reason "device_removed"),
  // its live connection is closed, and its row, prekeys and queued
  // envelopes are deleted in one transaction.
  absl::Status RemoveDevice(const Credentials& who, uint32_t device_id);

  // Operator path (no HTTP route reaches it): creates these accounts in
  // one transaction, each as a registration with its key upload would,
  // with the usage history given (what the message stream meters per
  // day). Every account gets a primary device and fresh credentials;
  // account_linked is written to the feed for each, as for any new
  // account. All or nothing: AlreadyExists if a number is registered (or
  // appears twice); InvalidArgument for a number not in E.164 form,
  // malformed keys, a signed prekey not signed by the identity key, or a
  // bad usage day.
  struct ImportedAccount {
    std::string number;        // E.164
    std::string identity_key;  // 33 bytes (0x05 || X25519 public key)
    uint32_t registration_id = 0;
    std::optional<db::SignedPreKeyRow> signed_prekey;
    std::vector<db::PreKeyRow> one_time_prekeys;
    std::vector<db::UsageRow> usage;
  };
  absl::StatusOr<std::vector<Registered>> ImportAccounts(const std::vector<ImportedAccount>& accounts);

 private:
  std::string DirectoryHash(uint64_t account_id, const std::string& number) const;
  // A random account id no account has (inside `tx`).
  absl::StatusOr<uint64_t> NewAccountId(store::Database& tx);

  store::Database& db_;
  Directory& directory_;
  EnvelopeWriter& writer_;
  const Clock& clock_;
  Random& random_;
  verification::CodeSender& code_sender_;
  RateLimiter& miss_limiter_;
  const AccountOptions options_;
  Disconnect disconnect_;
  AccountHooks hooks_;
  verification::CodeGuard guard_;
  RateLimiter bundle_fetches_;
};

}  // namespace tandem::relay
