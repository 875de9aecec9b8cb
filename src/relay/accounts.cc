// Registration, keys, discovery and deletion.
#include "relay/accounts.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/log.h"
#include "crypto/kem.h"
#include "crypto/keys.h"
#include "crypto/xeddsa.h"
#include "phone/phone.h"

namespace tandem::relay {
namespace {

absl::Status CheckPublicKey(const std::string& bytes, std::string_view what) {
  auto key = crypto::PublicKey::Deserialize(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  if (!key.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(what), " must be 33 bytes: 0x05 followed by an X25519 public key"));
  }
  return absl::OkStatus();
}

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

constexpr uint32_t kMaxPreKeyId = 0xFFFFFF;  // Signal prekey ids are 24-bit

// The prekeys of an upload: well-formed, ids in range and unique, the
// signed prekey signed by `identity_key`.
absl::Status CheckPreKeys(const std::string& identity_key,
                          const std::optional<db::SignedPreKeyRow>& signed_prekey,
                          const std::vector<db::PreKeyRow>& one_time_prekeys) {
  if (signed_prekey) {
    const db::SignedPreKeyRow& spk = *signed_prekey;
    RETURN_IF_ERROR(CheckPublicKey(spk.public_key, "signed_prekey.public_key"));
    if (spk.key_id == 0 || spk.key_id > kMaxPreKeyId) {
      return absl::InvalidArgumentError("signed_prekey.key_id must be between 1 and 16777215");
    }
    auto identity = crypto::PublicKey::Deserialize(Bytes(identity_key));
    if (spk.signature.size() != crypto::kSignatureSize || !identity.ok() ||
        !crypto::XEdDSAVerify(*identity, Bytes(spk.public_key), Bytes(spk.signature))) {
      return absl::InvalidArgumentError(
          "signed_prekey.signature does not verify under the account's identity key");
    }
  }
  std::set<uint32_t> ids;
  for (const auto& k : one_time_prekeys) {
    if (k.key_id == 0 || k.key_id > kMaxPreKeyId) {
      return absl::InvalidArgumentError("one-time prekey ids must be between 1 and 16777215");
    }
    if (!ids.insert(k.key_id).second) {
      return absl::InvalidArgumentError(absl::StrCat("one-time prekey id ", k.key_id, " appears twice"));
    }
    RETURN_IF_ERROR(CheckPublicKey(k.public_key, "one_time_prekeys[].public_key"));
  }
  return absl::OkStatus();
}

// One signed Kyber prekey of an upload (`what` names it in errors): an id in
// range, a Kyber-1024 key, its signature by `identity`.
absl::Status CheckKyberPreKey(const crypto::PublicKey& identity, const db::KyberPreKeyRow& k,
                              const std::string& what) {
  if (k.key_id == 0 || k.key_id > kMaxPreKeyId) {
    return absl::InvalidArgumentError(absl::StrCat(what, ".key_id must be between 1 and 16777215"));
  }
  auto key = crypto::KemPublicKey::Deserialize(Bytes(k.public_key));
  if (key.ok() && key->kind() != crypto::KemKind::kKyber1024) {
    return absl::InvalidArgumentError(
        absl::StrCat(what,
                     ".public_key is an ML-KEM-1024 key; only Kyber-1024 (type byte 0x08) is accepted, as "
                     "libsignal's clients accept no other in a prekey bundle"));
  }
  if (!key.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ".public_key must be ", 1 + crypto::kKemPublicKeySize,
        " bytes: 0x08 followed by a Kyber-1024 public key (got ", k.public_key.size(), " bytes)"));
  }
  if (k.signature.size() != crypto::kSignatureSize ||
      !crypto::XEdDSAVerify(identity, Bytes(k.public_key), Bytes(k.signature))) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ".signature does not verify under the account's identity key"));
  }
  return absl::OkStatus();
}

// The Kyber prekeys of an upload: each as CheckKyberPreKey says, ids unique
// across the one-time keys and the last-resort key (the device looks them up
// by id).
absl::Status CheckKyberPreKeys(const std::string& identity_key,
                               const std::vector<db::KyberPreKeyRow>& kyber_prekeys,
                               const std::optional<db::KyberPreKeyRow>& last_resort) {
  if (kyber_prekeys.empty() && !last_resort) return absl::OkStatus();
  ASSIGN_OR_RETURN(crypto::PublicKey identity, crypto::PublicKey::Deserialize(Bytes(identity_key)));
  std::set<uint32_t> ids;
  for (const auto& k : kyber_prekeys) {
    RETURN_IF_ERROR(CheckKyberPreKey(identity, k, absl::StrCat("kyber_prekeys (key ", k.key_id, ")")));
    if (!ids.insert(k.key_id).second) {
      return absl::InvalidArgumentError(absl::StrCat("Kyber prekey id ", k.key_id, " appears twice"));
    }
  }
  if (last_resort) {
    RETURN_IF_ERROR(CheckKyberPreKey(identity, *last_resort, "kyber_last_resort"));
    if (ids.count(last_resort->key_id)) {
      return absl::InvalidArgumentError(absl::StrCat("kyber_last_resort.key_id ", last_resort->key_id,
                                                     " is also the id of a one-time Kyber prekey"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

AccountService::AccountService(store::Database& db, Directory& directory, EnvelopeWriter& writer,
                               const Clock& clock, Random& random, verification::CodeSender& code_sender,
                               RateLimiter& miss_limiter, AccountOptions options, Disconnect disconnect)
    : db_(db),
      directory_(directory),
      writer_(writer),
      clock_(clock),
      random_(random),
      code_sender_(code_sender),
      miss_limiter_(miss_limiter),
      options_(options),
      disconnect_(std::move(disconnect)),
      guard_(clock, options.codes),
      bundle_fetches_(clock, options.bundle_fetches_per_account, "key bundle requests") {}

absl::Status AccountService::LoadDirectory() {
  RETURN_IF_ERROR(db::ForEachDevice(db_, [&](db::DeviceRow d) {
    PasswordHash hash{};
    std::copy_n(d.password_hash.begin(), std::min(d.password_hash.size(), hash.size()), hash.begin());
    directory_.PutDevice(d.account_id, d.number, d.device_id, hash, d.registration_id);
  }));
  RETURN_IF_ERROR(db::ForEachRetiredDevice(db_, [&](db::RetiredDeviceRow d) {
    PasswordHash hash{};
    std::copy_n(d.password_hash.begin(), std::min(d.password_hash.size(), hash.size()), hash.begin());
    directory_.RetireDevice(d.account_id, d.device_id, hash, d.retired_ms, d.removed);
  }));
  // Envelopes of devices that are gone (a crash between a re-registration
  // or deletion and the purge of what raced with it) are deleted now.
  std::vector<uint64_t> orphans;
  RETURN_IF_ERROR(db::ForEachEnvelope(db_, [&](uint64_t server_id, uint64_t account, uint32_t device) {
    if (!directory_.CommitQueued(account, device, server_id)) orphans.push_back(server_id);
  }));
  if (orphans.empty()) return absl::OkStatus();
  log::Info("relay.orphaned_envelopes_deleted", {{"count", static_cast<uint64_t>(orphans.size())}});
  return db_.InTransaction([&](store::Database& tx) { return db::DeleteEnvelopes(tx, orphans).status(); });
}

std::string AccountService::DirectoryHash(uint64_t account_id, const std::string& number) const {
  return Sha256(absl::StrCat("tandem-directory:", account_id, ":", number)).substr(0, 16);
}

absl::StatusOr<AccountService::CodeIssued> AccountService::RequestCode(std::string_view number,
                                                                       std::string_view region,
                                                                       const std::string& client_address) {
  // The address pays before anything is parsed: parsing is the costly part.
  RETURN_IF_ERROR(guard_.AdmitCodeRequest(client_address));
  ASSIGN_OR_RETURN(std::string e164, phone::Normalize(number, region));
  RETURN_IF_ERROR(guard_.AdmitCodeFor(e164));
  std::string code = random_.Digits(6);
  db::CodeRow row{verification::CodeHash(e164, code), absl::ToUnixMillis(clock_.Now() + options_.code_ttl),
                  0};
  RETURN_IF_ERROR(db::PutCode(db_, e164, row));
  RETURN_IF_ERROR(code_sender_.Send(e164, code));
  log::Info("relay.code_sent");
  return CodeIssued{e164, options_.code_ttl, options_.max_code_attempts};
}

absl::StatusOr<AccountService::Registered> AccountService::Verify(const VerifyRequest& req) {
  RETURN_IF_ERROR(guard_.AdmitCheck(req.client_address));
  ASSIGN_OR_RETURN(std::string e164, phone::Normalize(req.number, req.region));
  if (req.code.empty()) return absl::InvalidArgumentError("code is missing");
  RETURN_IF_ERROR(CheckPublicKey(req.identity_key, "identity_key"));
  if (req.registration_id == 0 || req.registration_id > 16380) {
    return absl::InvalidArgumentError("registration_id must be between 1 and 16380");
  }
  // Charged per number whatever the code: requesting a new code does not
  // buy more guesses.
  RETURN_IF_ERROR(guard_.AdmitGuess(e164));
  int64_t now_ms = absl::ToUnixMillis(clock_.Now());
  std::string given = verification::CodeHash(e164, req.code);
  // Check and consume the code in one transaction, so that two concurrent
  // verifications cannot both use it. A wrong attempt must be recorded,
  // so that outcome commits and is reported after the transaction.
  absl::Status verdict = absl::OkStatus();
  RETURN_IF_ERROR(db_.InTransaction([&](store::Database& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto code, db::GetCode(tx, e164));
    if (!code) {
      verdict = absl::NotFoundError("no verification code is pending for this number; request one first");
      return absl::OkStatus();
    }
    if (code->expires_ms <= now_ms) {
      RETURN_IF_ERROR(db::DeleteCode(tx, e164));
      verdict = absl::FailedPreconditionError("the verification code expired; request a new one");
      return absl::OkStatus();
    }
    if (verification::SameHash(code->code_hash, given)) return db::DeleteCode(tx, e164);
    int attempts = code->attempts + 1;
    if (attempts >= options_.max_code_attempts) {
      RETURN_IF_ERROR(db::DeleteCode(tx, e164));
      verdict = absl::PermissionDeniedError("wrong verification code; no attempts left, request a new code");
    } else {
      RETURN_IF_ERROR(db::SetCodeAttempts(tx, e164, attempts));
      verdict = absl::PermissionDeniedError(
          absl::StrCat("wrong verification code; ", options_.max_code_attempts - attempts, " attempts left"));
    }
    return absl::OkStatus();
  }));
  RETURN_IF_ERROR(verdict);

  Registered out;
  out.number = e164;
  out.credentials.device_id = kPrimaryDeviceId;
  out.credentials.password = random_.Hex(32);
  PasswordHash hash = HashPassword(out.credentials.password);
  std::string hash_bytes(hash.begin(), hash.end());

  std::optional<uint64_t> existing = directory_.AccountForNumber(e164);
  std::vector<uint64_t> queued;  // for the old installation, encrypted to its keys
  if (existing) queued = directory_.ClearDevices(*existing, now_ms);  // refuse envelopes for it from now on
  RETURN_IF_ERROR(writer_.RunExclusive([&](store::Database& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto found, db::FindAccountByNumber(tx, e164));
    if (found) {
      out.credentials.account_id = *found;
      out.reregistered = true;
      RETURN_IF_ERROR(db::ResetAccountForReregistration(tx, *found, req.identity_key, now_ms, queued));
    } else {
      ASSIGN_OR_RETURN(out.credentials.account_id, NewAccountId(tx));
      RETURN_IF_ERROR(
          db::InsertAccount(tx, {out.credentials.account_id, e164, req.identity_key, now_ms, now_ms}));
      if (hooks_.on_created) RETURN_IF_ERROR(hooks_.on_created(tx, out.credentials.account_id, e164, now_ms));
    }
    db::DeviceRow device{out.credentials.account_id, e164, kPrimaryDeviceId, hash_bytes, req.registration_id};
    return db::InsertDevice(tx, device, now_ms);
  }));
  directory_.PutDevice(out.credentials.account_id, e164, kPrimaryDeviceId, hash, req.registration_id);
  if (out.reregistered) disconnect_(out.credentials.account_id, 0, "the number was registered again");
  log::Info("relay.registered",
            {{"account", out.credentials.account_id}, {"reregistered", out.reregistered}});
  return out;
}

absl::StatusOr<Credentials> AccountService::AddLinkedDevice(uint64_t account_id, uint32_t registration_id) {
  if (registration_id == 0 || registration_id > 16380) {
    return absl::InvalidArgumentError("registration_id must be between 1 and 16380");
  }
  std::optional<std::string> number = directory_.NumberOf(account_id);
  if (!number) return absl::NotFoundError("no such account");
  Credentials out;
  out.account_id = account_id;
  out.password = random_.Hex(32);
  PasswordHash hash = HashPassword(out.password);
  const int64_t now_ms = absl::ToUnixMillis(clock_.Now());
  // Two links at once could pick the same id; the second then fails on the
  // devices table's key and stores nothing.
  RETURN_IF_ERROR(writer_.RunExclusive([&](store::Database& tx) -> absl::Status {
    std::vector<Directory::DeviceInfo> devices = directory_.DevicesOf(account_id);
    if (devices.empty()) return absl::NotFoundError("no such account");
    if (devices.size() > kMaxLinkedDevices) {
      return absl::ResourceExhaustedError(
          absl::StrCat("the account has ", kMaxLinkedDevices, " linked devices already; remove one first"));
    }
    out.device_id = devices.back().device_id + 1;
    db::DeviceRow device{account_id, *number, out.device_id, std::string(hash.begin(), hash.end()),
                         registration_id};
    return db::InsertDevice(tx, device, now_ms);
  }));
  directory_.PutDevice(account_id, *number, out.device_id, hash, registration_id);
  log::Info("relay.device_linked",
            {{"account", account_id}, {"device", static_cast<int64_t>(out.device_id)}});
  return out;
}

absl::StatusOr<std::vector<db::DeviceInfoRow>> AccountService::ListDevices(const Credentials& who) {
  return db::ListDeviceInfo(db_, who.account_id);
}

absl::Status AccountService::RemoveDevice(const Credentials& who, uint32_t device_id) {
  if (device_id == kPrimaryDeviceId) {
    return absl::InvalidArgumentError(
        "the primary device cannot be removed; delete the account instead (DELETE /v1/account)");
  }
  if (who.device_id != kPrimaryDeviceId && who.device_id != device_id) {
    return absl::PermissionDeniedError(
        "a linked device may remove only itself; the primary device removes others");
  }
  const int64_t now_ms = absl::ToUnixMillis(clock_.Now());
  // Out of the directory first: its credentials fail and nothing new is
  // queued for it from now on; what the writer stores for it meanwhile is
  // orphaned and purged.
  std::optional<std::vector<uint64_t>> queued = directory_.RemoveDevice(who.account_id, device_id, now_ms);
  if (!queued) return absl::NotFoundError(absl::StrCat("the account has no device ", device_id));
  disconnect_(who.account_id, device_id, "this device was removed from the account");
  // Its queue goes in the same transaction as its rows, deleted as if
  // acknowledged so that a shared body goes with its last copy; the
  // account's acknowledged rows still waiting for the purge go with it.
  const size_t dropped = queued->size();
  RETURN_IF_ERROR(writer_.RunExclusive(
      [&](store::Database& tx) { return db::DeleteDevice(tx, who.account_id, device_id, now_ms); },
      /*forget_account=*/who.account_id, *std::move(queued)));
  log::Info("relay.device_removed", {{"account", who.account_id},
                                     {"device", static_cast<int64_t>(device_id)},
                                     {"queued", static_cast<int64_t>(dropped)}});
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> AccountService::NewAccountId(store::Database& tx) {
  for (int attempt = 0;; ++attempt) {
    // Random 53-bit ids: they say nothing about how many accounts exist
    // and survive JavaScript's number type.
    uint64_t id = random_.NextU64() & ((uint64_t{1} << 53) - 1);
    if (id == 0) continue;
    ASSIGN_OR_RETURN(auto taken, db::GetAccount(tx, id));
    if (taken && attempt < 5) continue;
    return id;
  }
}

absl::StatusOr<std::vector<AccountService::Registered>> AccountService::ImportAccounts(
    const std::vector<ImportedAccount>& accounts) {
  std::set<std::string> numbers;
  for (const ImportedAccount& a : accounts) {
    ASSIGN_OR_RETURN(std::string e164, phone::Normalize(a.number));
    if (e164 != a.number) return absl::InvalidArgumentError("numbers must be given in E.164 form");
    if (!numbers.insert(e164).second || directory_.AccountForNumber(e164)) {
      return absl::AlreadyExistsError(
          absl::StrCat("an account is registered for ", e164, " (or it appears twice)"));
    }
    RETURN_IF_ERROR(CheckPublicKey(a.identity_key, "identity_key"));
    if (a.registration_id == 0 || a.registration_id > 16380) {
      return absl::InvalidArgumentError("registration_id must be between 1 and 16380");
    }
    if (a.one_time_prekeys.size() > kMaxStoredPreKeys) {
      return absl::InvalidArgumentError(
          absl::StrCat("at most ", kMaxStoredPreKeys, " one-time prekeys per account"));
    }
    RETURN_IF_ERROR(CheckPreKeys(a.identity_key, a.signed_prekey, a.one_time_prekeys));
    for (const db::UsageRow& u : a.usage) {
      absl::Time day;
      std::string err;
      if (u.day.size() != 10 || !absl::ParseTime("%Y-%m-%d", u.day, absl::UTCTimeZone(), &day, &err)) {
        return absl::InvalidArgumentError("usage days must be YYYY-MM-DD");
      }
      if (u.sessions < 0 || u.messages < 0)
        return absl::InvalidArgumentError("usage counts must not be negative");
    }
  }
  const int64_t now_ms = absl::ToUnixMillis(clock_.Now());
  std::vector<Registered> out(accounts.size());
  std::vector<PasswordHash> hashes(accounts.size());
  RETURN_IF_ERROR(writer_.RunExclusive([&](store::Database& tx) -> absl::Status {
    for (size_t i = 0; i < accounts.size(); ++i) {
      const ImportedAccount& a = accounts[i];
      Registered& r = out[i];
      r.number = a.number;
      r.credentials.device_id = kPrimaryDeviceId;
      r.credentials.password = random_.Hex(32);
      hashes[i] = HashPassword(r.credentials.password);
      ASSIGN_OR_RETURN(r.credentials.account_id, NewAccountId(tx));
      const uint64_t id = r.credentials.account_id;
      RETURN_IF_ERROR(db::InsertAccount(tx, {id, a.number, a.identity_key, now_ms, now_ms}));
      if (hooks_.on_created) RETURN_IF_ERROR(hooks_.on_created(tx, id, a.number, now_ms));
      RETURN_IF_ERROR(db::InsertDevice(tx,
                                       {id, a.number, kPrimaryDeviceId,
                                        std::string(hashes[i].begin(), hashes[i].end()), a.registration_id},
                                       now_ms));
      if (a.signed_prekey) RETURN_IF_ERROR(db::PutSignedPreKey(tx, id, kPrimaryDeviceId, *a.signed_prekey));
      for (const auto& k : a.one_time_prekeys) RETURN_IF_ERROR(db::PutPreKey(tx, id, kPrimaryDeviceId, k));
      for (const auto& u : a.usage) RETURN_IF_ERROR(db::AddUsage(tx, id, u.day, u.sessions, u.messages));
    }
    return absl::OkStatus();
  }));
  for (size_t i = 0; i < accounts.size(); ++i) {
    directory_.PutDevice(out[i].credentials.account_id, out[i].number, kPrimaryDeviceId, hashes[i],
                         accounts[i].registration_id);
  }
  log::Info("relay.accounts_imported", {{"accounts", static_cast<uint64_t>(accounts.size())}});
  return out;
}

absl::Status AccountService::Authenticate(const Credentials& credentials) const {
  return directory_.Authenticate(credentials);
}

absl::StatusOr<AccountService::AccountInfo> AccountService::GetAccountInfo(const Credentials& who) {
  ASSIGN_OR_RETURN(auto account, db::GetAccount(db_, who.account_id));
  if (!account) return absl::NotFoundError("the account no longer exists");
  return AccountInfo{account->account_id, account->number, account->identity_key, account->created_ms};
}

absl::Status AccountService::UploadKeys(const Credentials& who, const KeyUpload& upload) {
  if (upload.one_time_prekeys.size() > kMaxPreKeysPerUpload) {
    return absl::InvalidArgumentError(absl::StrCat("at most ", kMaxPreKeysPerUpload,
                                                   " one-time prekeys per request; got ",
                                                   upload.one_time_prekeys.size()));
  }
  if (upload.kyber_prekeys.size() > kMaxKyberPreKeysPerUpload) {
    return absl::InvalidArgumentError(absl::StrCat("at most ", kMaxKyberPreKeysPerUpload,
                                                   " Kyber prekeys per request; got ",
                                                   upload.kyber_prekeys.size()));
  }
  if (!upload.signed_prekey && upload.one_time_prekeys.empty() && upload.kyber_prekeys.empty() &&
      !upload.kyber_last_resort) {
    return absl::InvalidArgumentError(
        "nothing to upload: give signed_prekey, one_time_prekeys, kyber_prekeys and/or kyber_last_resort");
  }
  ASSIGN_OR_RETURN(auto account, db::GetAccount(db_, who.account_id));
  if (!account) return absl::NotFoundError("the account no longer exists");
  if (upload.identity_key && *upload.identity_key != account->identity_key) {
    return absl::FailedPreconditionError(
        "identity_key differs from the registered one; register the number again to change it");
  }
  RETURN_IF_ERROR(CheckPreKeys(account->identity_key, upload.signed_prekey, upload.one_time_prekeys));
  RETURN_IF_ERROR(CheckKyberPreKeys(account->identity_key, upload.kyber_prekeys, upload.kyber_last_resort));
  return db_.InTransaction([&](store::Database& tx) -> absl::Status {
    if (upload.signed_prekey)
      RETURN_IF_ERROR(db::PutSignedPreKey(tx, who.account_id, who.device_id, *upload.signed_prekey));
    for (const auto& k : upload.one_time_prekeys)
      RETURN_IF_ERROR(db::PutPreKey(tx, who.account_id, who.device_id, k));
    ASSIGN_OR_RETURN(int64_t stored, db::CountPreKeys(tx, who.account_id, who.device_id));
    if (stored > static_cast<int64_t>(kMaxStoredPreKeys)) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "this upload would store ", stored, " one-time prekeys; the limit is ", kMaxStoredPreKeys));
    }
    for (const auto& k : upload.kyber_prekeys)
      RETURN_IF_ERROR(db::PutKyberPreKey(tx, who.account_id, who.device_id, k));
    ASSIGN_OR_RETURN(int64_t kyber, db::CountKyberPreKeys(tx, who.account_id, who.device_id));
    if (kyber > static_cast<int64_t>(kMaxStoredKyberPreKeys)) {
      return absl::ResourceExhaustedError(absl::StrCat("this upload would store ", kyber,
                                                       " one-time Kyber prekeys; the limit is ",
                                                       kMaxStoredKyberPreKeys));
    }
    if (upload.kyber_last_resort) {
      RETURN_IF_ERROR(db::PutKyberLastResort(tx, who.account_id, who.device_id, *upload.kyber_last_resort));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<int64_t> AccountService::PreKeyCount(const Credentials& who) {
  return db::CountPreKeys(db_, who.account_id, who.device_id);
}

absl::StatusOr<int64_t> AccountService::KyberPreKeyCount(const Credentials& who) {
  return db::CountKyberPreKeys(db_, who.account_id, who.device_id);
}

absl::StatusOr<AccountService::Bundle> AccountService::FetchBundle(const Credentials& who,
                                                                   std::string_view number) {
  std::string input(number);
  if (!input.empty() && input[0] != '+') input = "+" + input;
  ASSIGN_OR_RETURN(std::string e164, phone::Normalize(input));
  RETURN_IF_ERROR(bundle_fetches_.Take(absl::StrCat("bundle:", who.account_id)));
  std::optional<uint64_t> account_id = directory_.AccountForNumber(e164);
  if (!account_id) {
    RETURN_IF_ERROR(miss_limiter_.Take(absl::StrCat("miss:", who.account_id)));
    return absl::NotFoundError("no account is registered for this number");
  }
  Bundle bundle;
  RETURN_IF_ERROR(db_.InTransaction([&](store::Database& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto account, db::GetAccount(tx, *account_id));
    if (!account) return absl::NotFoundError("no account is registered for this number");
    bundle.account_id = account->account_id;
    bundle.number = account->number;
    bundle.identity_key = account->identity_key;
    bundle.identity_changed_ms = account->identity_changed_ms;
    ASSIGN_OR_RETURN(auto devices, db::ListDevices(tx, *account_id));
    for (uint32_t device_id : devices) {
      ASSIGN_OR_RETURN(auto spk, db::GetSignedPreKey(tx, *account_id, device_id));
      if (!spk) continue;
      DeviceBundle d;
      d.device_id = device_id;
      ASSIGN_OR_RETURN(
          auto reg,
          tx.QueryOne("SELECT registration_id FROM devices WHERE account_id = $1 AND device_id = $2",
                      {static_cast<int64_t>(*account_id), device_id}));
      d.registration_id = static_cast<uint32_t>(reg.Int(0));
      d.signed_prekey = std::move(*spk);
      ASSIGN_OR_RETURN(d.one_time_prekey, db::TakePreKey(tx, *account_id, device_id));
      ASSIGN_OR_RETURN(d.kyber_prekey, db::TakeKyberPreKey(tx, *account_id, device_id));
      if (!d.kyber_prekey) {
        ASSIGN_OR_RETURN(d.kyber_prekey, db::GetKyberLastResort(tx, *account_id, device_id));
      }
      bundle.devices.push_back(std::move(d));
    }
    return absl::OkStatus();
  }));
  if (bundle.devices.empty()) return absl::NotFoundError("the account has not published its keys yet");
  return bundle;
}

absl::StatusOr<AccountService::Discovery> AccountService::Discover(const Credentials& who,
                                                                   const std::vector<std::string>& numbers,
                                                                   std::string_view region) {
  if (numbers.size() > kMaxDirectoryNumbersPerRequest) {
    return absl::InvalidArgumentError(absl::StrCat("at most ", kMaxDirectoryNumbersPerRequest,
                                                   " numbers per request; got ", numbers.size()));
  }
  Discovery out;
  std::set<std::string> unique;
  for (const std::string& n : numbers) {
    phone::Parsed p = phone::Parse(n, region);
    if (p.reason != phone::Reason::kOk) {
      out.invalid.emplace_back(n, std::string(phone::ReasonCode(p.reason)));
    } else {
      unique.insert(p.e164);
    }
  }
  std::string day = EnvelopeWriter::DayOf(clock_.Now());
  const int64_t budget = options_.directory_daily_budget;
  absl::Status verdict = absl::OkStatus();
  RETURN_IF_ERROR(db_.InTransaction([&](store::Database& tx) -> absl::Status {
    ASSIGN_OR_RETURN(int64_t used, db::DirectoryUsed(tx, who.account_id, day));
    std::vector<std::string> fresh;
    for (const std::string& e164 : unique) {
      std::string h = DirectoryHash(who.account_id, e164);
      ASSIGN_OR_RETURN(bool seen, db::DirectorySeen(tx, who.account_id, h));
      if (!seen) fresh.push_back(std::move(h));
    }
    if (used + static_cast<int64_t>(fresh.size()) > budget) {
      verdict = absl::ResourceExhaustedError(
          absl::StrCat("contact discovery budget exhausted: this request has ", fresh.size(),
                       " numbers not looked up before, ", std::max<int64_t>(0, budget - used), " of ", budget,
                       " are left today"));
      return absl::OkStatus();
    }
    for (const std::string& h : fresh) RETURN_IF_ERROR(db::MarkDirectorySeen(tx, who.account_id, h));
    if (!fresh.empty())
      RETURN_IF_ERROR(db::AddDirectoryUsed(tx, who.account_id, day, static_cast<int64_t>(fresh.size())));
    out.budget_remaining = budget - used - static_cast<int64_t>(fresh.size());
    return absl::OkStatus();
  }));
  RETURN_IF_ERROR(verdict);
  for (const std::string& e164 : unique) {
    if (directory_.AccountForNumber(e164)) out.registered.push_back(e164);
  }
  return out;
}

absl::StatusOr<std::vector<db::UsageRow>> AccountService::Usage(const Credentials& who) {
  return db::GetUsage(db_, who.account_id);
}

absl::Status AccountService::DeleteAccount(const Credentials& who) {
  std::optional<std::string> number = directory_.NumberOf(who.account_id);
  if (!number) return absl::NotFoundError("the account no longer exists");
  // Removed from the directory first: from now on nothing new is accepted
  // for it, and the writer drops what was accepted but not yet stored.
  std::vector<uint64_t> queued = directory_.RemoveAccount(who.account_id);
  disconnect_(who.account_id, 0, "the account was deleted");
  const int64_t now_ms = absl::ToUnixMillis(clock_.Now());
  RETURN_IF_ERROR(writer_.RunExclusive(
      [&](store::Database& tx) -> absl::Status {
        RETURN_IF_ERROR(db::DeleteAccount(tx, who.account_id, *number, queued));
        if (hooks_.on_deleted) RETURN_IF_ERROR(hooks_.on_deleted(tx, who.account_id, *number, now_ms));
        return absl::OkStatus();
      },
      /*forget_account=*/who.account_id));
  log::Info("relay.account_deleted", {{"account", who.account_id}});
  return absl::OkStatus();
}

}  // namespace tandem::relay
