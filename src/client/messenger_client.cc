// The messenger client's protocol logic: registration, session setup from
// prekey bundles, the outbox, envelope processing and receipts.
#include "client/messenger_client.h"

#include <sodium.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/attachments.h"
#include "client/content.pb.h"
#include "client/device_link.h"
#include "client/relay_transport.h"
#include "common/encoding.h"
#include "common/error_codes.h"
#include "common/log.h"
#include "common/text.h"
#include "crypto/fingerprint.h"
#include "crypto/kem.h"
#include "crypto/sender_keys.h"
#include "crypto/session.h"
#include "phone/phone.h"
#include "relay_protocol/protocol.h"

namespace tandem::client {
namespace {

using nlohmann::json;
namespace pb = relay::pb;
namespace cpb = ::tandem::client::v1;

constexpr size_t kPaddingBlock = 160;
constexpr uint32_t kPrimaryDevice = 1;
constexpr size_t kMaxGroupMembers = 1024;
constexpr size_t kMaxGroupTitleBytes = 128;
constexpr size_t kMaxAttachments = 32;

std::string Base64(std::span<const uint8_t> bytes) { return Base64Encode(bytes); }

// The relay's keys arrive in base64; a malformed one is the relay's fault,
// and the message says so.
absl::StatusOr<std::vector<uint8_t>> FromBase64(const std::string& text) {
  auto decoded = Base64Decode(text);
  if (!decoded.ok()) return absl::InvalidArgumentError("malformed base64 from the relay");
  return std::vector<uint8_t>(decoded->begin(), decoded->end());
}

std::span<const uint8_t> AsBytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Pads to a multiple of 160 bytes (0x80 then zeros) so ciphertext lengths say
// little about message lengths.
std::vector<uint8_t> Pad(const std::string& content) {
  std::vector<uint8_t> out(content.begin(), content.end());
  out.push_back(0x80);
  while (out.size() % kPaddingBlock) out.push_back(0);
  return out;
}

absl::StatusOr<std::string> Unpad(const std::vector<uint8_t>& padded) {
  size_t end = padded.size();
  while (end > 0 && padded[end - 1] == 0) --end;
  if (end == 0 || padded[end - 1] != 0x80) return absl::InvalidArgumentError("bad message padding");
  return std::string(padded.begin(), padded.begin() + static_cast<long>(end - 1));
}

absl::Status HttpError(const absl::StatusOr<net::HttpResponse>& r) {
  if (!r.ok()) return r.status();
  return net::StatusFromResponse(*r);
}

}  // namespace

class MessengerClient::Impl {
 public:
  Impl(ClientOptions options, std::unique_ptr<ClientStore> store)
      : options_(std::move(options)),
        clock_(*options_.clock),
        random_(*options_.random),
        store_(std::move(store)),
        own_transport_(options_.transport ? nullptr : MakeNetworkTransport()),
        transport_(options_.transport ? *options_.transport : *own_transport_) {
    auto account = store_->LoadAccount();
    if (account.ok()) account_ = *std::move(account);
  }

  bool registered() const { return account_.has_value(); }
  std::string number() const { return account_ ? account_->number : ""; }

  int64_t NowMs() const { return absl::ToUnixMillis(clock_.Now()); }
  // Ids begin with the relay's time as last seen (see MakeClientMessageId).
  std::string NewMessageId() {
    return relay::MakeClientMessageId(NowMs() + relay_offset_ms_, random_.Hex(10));
  }

  // The registered account's relay; before that, the one given in the
  // options or, failing that, the one the code was requested from.
  std::string Server() const {
    if (account_) return account_->server;
    if (!options_.server.empty()) return options_.server;
    std::string pending = store_->GetSetting("pending_server");
    return pending.empty() ? "127.0.0.1:8080" : pending;
  }

  relay::Credentials Creds() const {
    return relay::Credentials{account_->account_id, account_->device_id, account_->password};
  }

  net::Headers Auth() const { return {{"Authorization", relay::BasicAuthorization(Creds())}}; }

  absl::StatusOr<net::HttpResponse> Http(const std::string& method, const std::string& target,
                                         const std::string& body = "", const net::Headers& headers = {}) {
    return transport_.Request(Server(), method, target, body, headers);
  }

  absl::Status RequireAccount() const {
    if (std::string inactive = store_->GetSetting("inactive"); !inactive.empty()) {
      return WithReason(absl::FailedPreconditionError(inactive), "registration_replaced");
    }
    if (!account_) {
      if (std::string deleted = store_->GetSetting("deleted"); !deleted.empty()) {
        return WithReason(absl::FailedPreconditionError(deleted), "account_deleted");
      }
      return WithReason(absl::FailedPreconditionError("this profile has no messenger account yet"),
                        "not_registered");
    }
    return absl::OkStatus();
  }

  // A device whose registration another installation replaced can do
  // nothing more: the profile is marked inactive (every later command says
  // why) and what waits in the outbox is failed, each message told.
  absl::Status Deactivate(const absl::Status& st, const EventHandler* on_event) {
    if (ReasonOf(st) != "registration_replaced" || !account_) return st;
    std::string message = absl::StrCat(account_->number, ": ", st.message());
    std::vector<Event> failed;
    absl::Status done = store_->db().InTransaction([&](store::Database&) -> absl::Status {
      ASSIGN_OR_RETURN(auto rows, store_->Outbox());
      for (const auto& row : rows) {
        RETURN_IF_ERROR(store_->RemoveFromOutbox(row.client_message_id));
        if (row.type == pb::ENVELOPE_TYPE_RECEIPT) continue;
        const std::string id = MessageIdOf(row.client_message_id);
        RETURN_IF_ERROR(store_->SetOutgoingStatus(id, "failed"));
        failed.push_back(Event{Event::Kind::kFailed, row.recipient, id, "", NowMs(),
                               "not sent: this profile is no longer registered"});
      }
      return store_->SetSetting("inactive", message);
    });
    if (!done.ok()) return done;
    log::Warn("client.inactive", {{"reason", message}});
    if (on_event) {
      for (auto& e : failed) {
        if (auto m = store_->OutgoingMessage(e.message_id); m.ok() && *m) e.body = (*m)->body;
        (*on_event)(e);
      }
    }
    return WithReason(absl::FailedPreconditionError(message), "registration_replaced");
  }

  // ---- registration and keys ----

  absl::StatusOr<std::string> RequestCode(const std::string& number, const std::string& region) {
    json body = {{"number", number}};
    if (!region.empty()) body["region"] = region;
    auto r = Http("POST", "/v1/registration/code", body.dump());
    RETURN_IF_ERROR(HttpError(r));
    RETURN_IF_ERROR(store_->SetSetting("pending_server", Server()));
    auto j = json::parse(r->body, nullptr, false);
    return j.is_object() && j.contains("number") ? j["number"].get<std::string>() : number;
  }

  absl::Status Verify(const std::string& number, const std::string& region, const std::string& code) {
    crypto::LocalIdentity identity;
    identity.key_pair = crypto::KeyPair::Generate(random_);
    identity.registration_id = crypto::GenerateRegistrationId(random_);
    json body = {{"number", number},
                 {"code", code},
                 {"identity_key", Base64(identity.key_pair.public_key.Serialize())},
                 {"registration_id", identity.registration_id}};
    if (!region.empty()) body["region"] = region;
    auto r = Http("POST", "/v1/registration/verify", body.dump());
    RETURN_IF_ERROR(HttpError(r));
    auto j = json::parse(r->body, nullptr, false);
    if (!j.is_object() || !j.contains("account_id") || !j.contains("password")) {
      return absl::InternalError("unexpected answer from the relay: " + r->body.substr(0, 200));
    }
    AccountRow account;
    account.server = Server();
    account.number = j.value("number", number);
    account.account_id = j["account_id"].get<uint64_t>();
    account.device_id = j.value("device_id", 1u);
    account.password = j["password"].get<std::string>();
    account.identity = identity;
    return InstallAccount(std::move(account));
  }

  // A new installation (registered or linked): nothing of the profile's
  // earlier sessions and keys remains; this device's prekeys are generated
  // and published.
  absl::Status InstallAccount(AccountRow account) {
    account.next_prekey_id = 1;
    account.signed_prekey_id = 1;
    RETURN_IF_ERROR(store_->DeleteEverything());
    RETURN_IF_ERROR(store_->SetSetting("inactive", ""));
    RETURN_IF_ERROR(store_->SetSetting("deleted", ""));
    RETURN_IF_ERROR(store_->SaveAccount(account));
    account_ = account;
    crypto::SignedPreKey spk =
        crypto::GenerateSignedPreKey(account.identity.key_pair, account.signed_prekey_id, random_);
    RETURN_IF_ERROR(store_->SaveSignedPreKey(spk));
    return UploadPreKeys(&spk, {options_.one_time_prekeys, options_.one_time_prekeys, true});
  }

  // ---- linked devices ----

  // Companion side: a fresh profile shows a link code, then waits for the
  // primary to send the account over it.
  absl::StatusOr<std::string> BeginLink() {
    if (account_)
      return absl::FailedPreconditionError("this profile has an account already; link a new profile");
    ASSIGN_OR_RETURN(PendingLink pending, StartLink(transport_, Server(), random_));
    pending_link_ = pending;
    return pending.code;
  }

  absl::Status FinishLink(absl::Duration timeout) {
    if (!pending_link_) return absl::FailedPreconditionError("no link code was shown (BeginLink)");
    const absl::Duration deadline = clock_.Monotonic() + timeout;
    std::optional<ProvisionData> data;
    while (!data) {
      ASSIGN_OR_RETURN(data,
                       PollProvision(transport_, Server(), pending_link_->address, pending_link_->secret));
      if (data) break;
      if (clock_.Monotonic() >= deadline) {
        return absl::DeadlineExceededError("no device added this link code in time; show a new one");
      }
      clock_.SleepFor(absl::Seconds(1));
    }
    crypto::LocalIdentity identity;
    identity.key_pair = data->identity;
    identity.registration_id = crypto::GenerateRegistrationId(random_);
    ASSIGN_OR_RETURN(CompanionRegistration reg,
                     RegisterCompanion(transport_, Server(), *data, identity.registration_id));
    AccountRow account;
    account.server = Server();
    account.number = reg.number.empty() ? data->number : reg.number;
    account.account_id = reg.credentials.account_id;
    account.device_id = reg.credentials.device_id;
    account.password = reg.credentials.password;
    account.identity = identity;
    pending_link_.reset();
    RETURN_IF_ERROR(InstallAccount(account));
    // Sync copies go to the primary from the first message on.
    return store_->PutPeerDevice(account.number, PeerDevice{kPrimaryDevice, 0});
  }

  // Primary side: sends this account to the companion showing `code`.
  absl::Status AddDevice(const std::string& code) {
    RETURN_IF_ERROR(RequireAccount());
    if (account_->device_id != kPrimaryDevice) {
      return absl::PermissionDeniedError("only the primary device (1) links devices");
    }
    ProvisionData data;
    data.number = account_->number;
    data.account_id = account_->account_id;
    data.identity = account_->identity.key_pair;
    return SendProvision(transport_, Server(), Creds(), code, std::move(data));
  }

  absl::StatusOr<std::vector<LinkedDevice>> Devices() {
    RETURN_IF_ERROR(RequireAccount());
    return ::tandem::client::ListDevices(transport_, Server(), Creds());
  }

  absl::Status Unlink(uint32_t device_id) {
    RETURN_IF_ERROR(RequireAccount());
    RETURN_IF_ERROR(::tandem::client::RemoveDevice(transport_, Server(), Creds(), device_id));
    // Sync copies no longer go there.
    return store_->DeleteSession(account_->number, device_id);
  }

  uint32_t device_id() const { return account_ ? account_->device_id : 0; }

  // What UploadPreKeys generates and publishes besides the signed prekey.
  struct PreKeyBatch {
    int one_time = 0;  // EC one-time prekeys
    int kyber = 0;     // one-time Kyber prekeys
    bool kyber_last_resort = false;
  };

  // Generates the keys of `what` and stores their private halves before
  // publishing them (with `spk`, if given), so that no published key is
  // ever unknown here; the relay takes bounded batches.
  absl::Status UploadPreKeys(const crypto::SignedPreKey* spk, const PreKeyBatch& what) {
    const crypto::IdentityKeyPair& identity = account_->identity.key_pair;
    auto keys = crypto::GenerateOneTimePreKeys(account_->next_prekey_id,
                                               static_cast<size_t>(std::max(what.one_time, 0)), random_);
    auto kyber = crypto::GenerateKyberPreKeys(identity, account_->next_kyber_prekey_id,
                                              static_cast<size_t>(std::max(what.kyber, 0)), random_);
    if (!keys.empty()) account_->next_prekey_id = keys.back().id + 1;
    if (!kyber.empty()) account_->next_kyber_prekey_id = kyber.back().id + 1;
    std::vector<crypto::KyberPreKey> last_resort;
    if (what.kyber_last_resort) {
      last_resort = crypto::GenerateKyberPreKeys(identity, account_->next_kyber_prekey_id, 1, random_);
      account_->next_kyber_prekey_id = last_resort.back().id + 1;
    }
    RETURN_IF_ERROR(store_->db().InTransaction([&](store::Database&) -> absl::Status {
      RETURN_IF_ERROR(store_->SaveOneTimePreKeys(keys));
      RETURN_IF_ERROR(store_->SaveKyberPreKeys(kyber, false));
      RETURN_IF_ERROR(store_->SaveKyberPreKeys(last_resort, true));
      return store_->SaveAccount(*account_);
    }));
    auto kyber_json = [](const crypto::KyberPreKey& k) {
      return json{{"key_id", k.id},
                  {"public_key", Base64(k.key_pair.public_key.Serialize())},
                  {"signature", Base64(k.signature)}};
    };
    json body = json::object();
    body["identity_key"] = Base64(identity.public_key.Serialize());
    if (spk) {
      body["signed_prekey"] = {{"key_id", spk->id},
                               {"public_key", Base64(spk->key_pair.public_key.Serialize())},
                               {"signature", Base64(spk->signature)}};
    }
    if (!last_resort.empty()) body["kyber_last_resort"] = kyber_json(last_resort.front());
    size_t i = 0, k = 0;
    do {
      json batch = body;
      batch["one_time_prekeys"] = json::array();
      for (size_t n = 0; n < relay::kMaxPreKeysPerUpload && i < keys.size(); ++n, ++i) {
        batch["one_time_prekeys"].push_back(
            {{"key_id", keys[i].id}, {"public_key", Base64(keys[i].key_pair.public_key.Serialize())}});
      }
      if (k < kyber.size()) {
        batch["kyber_prekeys"] = json::array();
        for (size_t n = 0; n < relay::kMaxKyberPreKeysPerUpload && k < kyber.size(); ++n, ++k) {
          batch["kyber_prekeys"].push_back(kyber_json(kyber[k]));
        }
      }
      auto r = Http("PUT", "/v1/keys", batch.dump(), Auth());
      RETURN_IF_ERROR(HttpError(r));
      body.erase("signed_prekey");
      body.erase("kyber_last_resort");
    } while (i < keys.size() || k < kyber.size());
    return absl::OkStatus();
  }

  // Tops up the one-time prekeys of both kinds when the relay says they run
  // low, and publishes a last-resort Kyber prekey if this profile has none
  // (one registered before Kyber prekeys). A relay whose count has no
  // "kyber_prekeys" predates them and gets EC keys only.
  absl::Status RefillPreKeys() {
    auto r = Http("GET", "/v1/keys/count", "", Auth());
    RETURN_IF_ERROR(HttpError(r));
    auto j = json::parse(r->body, nullptr, false);
    auto left = [&](const char* field) -> std::optional<int64_t> {
      if (!j.is_object()) return std::nullopt;
      auto it = j.find(field);
      if (it == j.end() || !it->is_number_integer()) return std::nullopt;
      return it->get<int64_t>();
    };
    const int64_t ec = left("one_time_prekeys").value_or(0);
    const std::optional<int64_t> kyber = left("kyber_prekeys");
    PreKeyBatch batch;
    if (ec < options_.prekey_refill_below) batch.one_time = options_.one_time_prekeys - static_cast<int>(ec);
    if (kyber) {
      if (*kyber < options_.prekey_refill_below)
        batch.kyber = options_.one_time_prekeys - static_cast<int>(*kyber);
      ASSIGN_OR_RETURN(bool has_last_resort, store_->HasKyberLastResort());
      batch.kyber_last_resort = !has_last_resort;
    }
    if (batch.one_time <= 0 && batch.kyber <= 0 && !batch.kyber_last_resort) return absl::OkStatus();
    return UploadPreKeys(nullptr, batch);
  }

  struct FetchedBundle {
    std::vector<crypto::PreKeyBundle> devices;  // every device with keys, by device id
    std::string number;
  };

  absl::StatusOr<FetchedBundle> FetchBundle(const std::string& peer) {
    auto r = Http("GET", "/v1/keys/" + peer, "", Auth());
    if (absl::Status st = HttpError(r); !st.ok()) {
      if (absl::IsNotFound(st))
        return absl::NotFoundError(absl::StrCat("no account is registered for ", peer));
      return st;
    }
    auto j = json::parse(r->body, nullptr, false);
    if (!j.is_object() || !j.contains("devices") || j["devices"].empty()) {
      return absl::NotFoundError(absl::StrCat(peer, " has no devices with keys"));
    }
    FetchedBundle out;
    out.number = j.value("number", peer);
    ASSIGN_OR_RETURN(auto identity_bytes, FromBase64(j["identity_key"].get<std::string>()));
    ASSIGN_OR_RETURN(auto identity, crypto::PublicKey::Deserialize(identity_bytes));
    for (const json& d : j["devices"]) {
      if (!d.is_object()) return absl::InvalidArgumentError("malformed device in the bundle from the relay");
      ASSIGN_OR_RETURN(crypto::PreKeyBundle b, ParseDeviceBundle(d, identity));
      out.devices.push_back(std::move(b));
    }
    return out;
  }

  // One device's entry of a bundle.
  static absl::StatusOr<crypto::PreKeyBundle> ParseDeviceBundle(const json& d,
                                                                const crypto::PublicKey& identity) {
    const json& spk = d["signed_prekey"];
    ASSIGN_OR_RETURN(auto spk_bytes, FromBase64(spk["public_key"].get<std::string>()));
    ASSIGN_OR_RETURN(auto spk_key, crypto::PublicKey::Deserialize(spk_bytes));
    ASSIGN_OR_RETURN(auto sig_bytes, FromBase64(spk["signature"].get<std::string>()));
    if (sig_bytes.size() != crypto::kSignatureSize) return absl::InvalidArgumentError("bad signature length");
    crypto::PreKeyBundle b;
    b.registration_id = d.value("registration_id", 0u);
    b.device_id = d.value("device_id", 1u);
    b.identity_key = identity;
    b.signed_prekey = {spk["key_id"].get<uint32_t>(), spk_key};
    std::copy(sig_bytes.begin(), sig_bytes.end(), b.signed_prekey_signature.begin());
    if (d.contains("one_time_prekey") && d["one_time_prekey"].is_object()) {
      const json& otp = d["one_time_prekey"];
      ASSIGN_OR_RETURN(auto otp_bytes, FromBase64(otp["public_key"].get<std::string>()));
      ASSIGN_OR_RETURN(auto otp_key, crypto::PublicKey::Deserialize(otp_bytes));
      b.one_time_prekey = crypto::PublicPreKey{otp["key_id"].get<uint32_t>(), otp_key};
    }
    // Without a Kyber prekey (a peer that never published one) the session
    // is a version 3 one.
    if (d.contains("kyber_prekey") && d["kyber_prekey"].is_object()) {
      const json& kp = d["kyber_prekey"];
      if (!kp.contains("key_id") || !kp["key_id"].is_number_unsigned() || !kp.contains("public_key") ||
          !kp["public_key"].is_string() || !kp.contains("signature") || !kp["signature"].is_string()) {
        return absl::InvalidArgumentError("malformed kyber_prekey from the relay");
      }
      ASSIGN_OR_RETURN(auto kyber_bytes, FromBase64(kp["public_key"].get<std::string>()));
      ASSIGN_OR_RETURN(auto kyber_key, crypto::KemPublicKey::Deserialize(kyber_bytes));
      ASSIGN_OR_RETURN(auto kyber_sig, FromBase64(kp["signature"].get<std::string>()));
      if (kyber_sig.size() != crypto::kSignatureSize)
        return absl::InvalidArgumentError("bad Kyber prekey signature length");
      crypto::PublicKyberPreKey kyber{kp["key_id"].get<uint32_t>(), std::move(kyber_key), {}};
      std::copy(kyber_sig.begin(), kyber_sig.end(), kyber.signature.begin());
      b.kyber_prekey = std::move(kyber);
    }
    return b;
  }

  // ---- sending ----

  absl::StatusOr<std::string> NormalizePeer(const std::string& peer) {
    std::string region = phone::RegionOf(account_->number);
    auto n = phone::Normalize(peer, region == "001" ? "" : region);
    if (!n.ok())
      return absl::InvalidArgumentError(absl::StrCat("'", peer, "': ", std::string(n.status().message())));
    return *n;
  }

  absl::StatusOr<std::string> Send(const std::string& peer_in, const std::string& text,
                                   const std::vector<std::filesystem::path>& files) {
    RETURN_IF_ERROR(RequireAccount());
    ASSIGN_OR_RETURN(std::string peer, NormalizePeer(peer_in));
    if (peer == account_->number) return absl::InvalidArgumentError("sending to yourself is not supported");
    ASSIGN_OR_RETURN(cpb::StoredAttachments attachments, UploadAll(files));
    const std::string id = NewMessageId();
    const int64_t sent_at_ms = NowMs();
    Pending pending;
    absl::StatusOr<OutboxRow> row = BuildText(peer, id, id, text, sent_at_ms, attachments, pending);
    if (!row.ok()) {
      absl::Status st = Deactivate(row.status(), nullptr);
      if (absl::IsNotFound(st)) {
        // Kept in the history as failed, so the user sees what did not go out.
        MessageRow m{0, peer, Direction::kOutgoing, id, text, sent_at_ms, 0, "failed"};
        RETURN_IF_ERROR(store_->AddMessage(m).status());
        return absl::NotFoundError(
            absl::StrCat(peer,
                         " has no messenger account; the message was not sent (kept in "
                         "history as failed)"));
      }
      return st;
    }
    RETURN_IF_ERROR(store_->db().InTransaction([&](store::Database&) -> absl::Status {
      RETURN_IF_ERROR(SavePending(pending));
      RETURN_IF_ERROR(store_->AddToOutbox(*row));
      MessageRow m{0, peer, Direction::kOutgoing, id, text, sent_at_ms, 0, "pending"};
      if (!attachments.attachments().empty()) m.attachments = attachments.SerializeAsString();
      return store_->AddMessage(m).status();
    }));
    return id;
  }

  // ---- attachments ----

  static std::string ContentTypeOf(const std::filesystem::path& path) {
    static const std::pair<const char*, const char*> kTypes[] = {
        {".jpg", "image/jpeg"}, {".jpeg", "image/jpeg"},    {".png", "image/png"},
        {".gif", "image/gif"},  {".webp", "image/webp"},    {".pdf", "application/pdf"},
        {".txt", "text/plain"}, {".mp4", "video/mp4"},      {".mp3", "audio/mpeg"},
        {".ogg", "audio/ogg"},  {".zip", "application/zip"}};
    const std::string ext = absl::AsciiStrToLower(path.extension().string());
    for (const auto& [e, type] : kTypes) {
      if (ext == e) return type;
    }
    return "application/octet-stream";
  }

  AttachmentClient Attachments() {
    AttachmentOptions o;
    // Through a relay restart: about 15 s of retries.
    o.max_retries = 30;
    o.retry_delay = absl::Milliseconds(500);
    return AttachmentClient(transport_, Server(), relay::BasicAuthorization(Creds()), clock_, random_, o);
  }

  // Encrypts and uploads each file; the pointers go into the message.
  absl::StatusOr<cpb::StoredAttachments> UploadAll(const std::vector<std::filesystem::path>& files) {
    cpb::StoredAttachments out;
    if (files.size() > kMaxAttachments) {
      return absl::InvalidArgumentError(
          absl::StrCat("at most ", kMaxAttachments, " attachments per message"));
    }
    if (files.empty()) return out;
    AttachmentClient client = Attachments();
    for (const std::filesystem::path& f : files) {
      std::error_code ec;
      if (!std::filesystem::is_regular_file(f, ec)) {
        return absl::InvalidArgumentError(absl::StrCat("no such file to attach: ", f.string()));
      }
      auto p = client.Upload(f, ContentTypeOf(f));
      if (!p.ok()) {
        return absl::Status(p.status().code(), absl::StrCat("could not upload ", f.filename().string(), ": ",
                                                            p.status().message()));
      }
      cpb::AttachmentPointer* a = out.add_attachments();
      a->set_id(p->id);
      a->set_key(p->key);
      a->set_digest(p->digest);
      a->set_size(p->size);
      a->set_content_type(p->content_type);
      a->set_file_name(p->file_name);
    }
    return out;
  }

  // A name for a received file in the save directory: the sender's name
  // without any directory part, never overwriting what is there.
  static std::filesystem::path SavePathFor(const std::filesystem::path& dir,
                                           const cpb::AttachmentPointer& a) {
    std::string name = std::filesystem::path(a.file_name()).filename().string();
    for (char& c : name) {
      if (static_cast<unsigned char>(c) < 0x20 || c == '/' || c == '\\') c = '_';
    }
    if (name.empty() || name == "." || name == "..") name = "attachment";
    std::filesystem::path path = dir / name;
    for (int i = 1; std::filesystem::exists(path); ++i) {
      std::filesystem::path p(name);
      path = dir / absl::StrCat(p.stem().string(), " (", i, ")", p.extension().string());
    }
    return path;
  }

  // Downloads the attachments of a message shown in `e` into the save
  // directory (when one is set); a blob that fails its digest or MAC is
  // reported and nothing of it is written.
  void SaveAttachments(const cpb::TextMessage& t, Event& e, std::vector<Event>& more) {
    for (const cpb::AttachmentPointer& a : t.attachments()) {
      e.attachments.push_back(
          absl::StrCat(a.file_name().empty() ? "attachment" : a.file_name(), " (", a.size(), " bytes)"));
    }
    if (t.attachments().empty()) return;
    // Without a save directory, next to the profile (the relay keeps a blob
    // only until every recipient device has its message).
    std::filesystem::path dir = save_dir_;
    if (dir.empty()) {
      dir = options_.profile_path + ".attachments";
      std::error_code ec;
      std::filesystem::create_directories(dir, ec);
    }
    AttachmentClient client = Attachments();
    for (const cpb::AttachmentPointer& a : t.attachments()) {
      AttachmentPointer p{a.id(), a.key(), a.digest(), a.size(), a.content_type(), a.file_name()};
      std::filesystem::path path = SavePathFor(dir, a);
      absl::Status st = client.Download(p, path);
      if (st.ok()) {
        e.files.push_back(path.string());
      } else {
        more.push_back(Event{Event::Kind::kFailed, e.peer, e.message_id, "", e.timestamp_ms,
                             absl::StrCat("attachment ", a.file_name(), " not saved: ", st.message()),
                             e.group});
      }
    }
  }

  void set_save_dir(std::filesystem::path dir) { save_dir_ = std::move(dir); }

  // Sessions and device lists that building a submission changed, saved
  // with it in one transaction.
  struct Pending {
    std::map<std::pair<std::string, uint32_t>, crypto::SessionRecord> sessions;
    std::vector<std::pair<std::string, PeerDevice>> devices;
  };

  absl::Status SavePending(const Pending& p) {
    for (const auto& [key, record] : p.sessions)
      RETURN_IF_ERROR(store_->SaveSession(key.first, key.second, record));
    for (const auto& [peer, device] : p.devices) RETURN_IF_ERROR(store_->PutPeerDevice(peer, device));
    return absl::OkStatus();
  }

  // Starts sessions with `peer`'s devices from a freshly fetched bundle: all
  // of them (but this one), or those in `only`. A changed identity is
  // queued as a key-change event.
  absl::Status StartSessions(const std::string& peer, const std::set<uint32_t>* only, Pending& p) {
    ASSIGN_OR_RETURN(FetchedBundle fetched, FetchBundle(peer));
    if (!fetched.devices.empty()) {
      ASSIGN_OR_RETURN(bool changed,
                       store_->SaveIdentity(peer, fetched.devices.front().identity_key, NowMs()));
      if (changed) key_changes_.push_back(peer);
    }
    for (const crypto::PreKeyBundle& b : fetched.devices) {
      if (peer == account_->number && b.device_id == account_->device_id) continue;
      if (only != nullptr && !only->contains(b.device_id)) continue;
      ASSIGN_OR_RETURN(crypto::SessionRecord record, crypto::InitiateSession(account_->identity, b, random_));
      p.sessions[{peer, b.device_id}] = std::move(record);
      p.devices.emplace_back(peer, PeerDevice{b.device_id, b.registration_id});
    }
    return absl::OkStatus();
  }

  // The session with (peer, device) to send on: one this submission set up
  // or advanced, else the stored one; null if there is none.
  crypto::SessionRecord* SessionFor(const std::string& peer, uint32_t device, Pending& p) {
    auto key = std::make_pair(peer, device);
    if (auto it = p.sessions.find(key); it != p.sessions.end()) return &it->second;
    auto loaded = store_->LoadSession(peer, device);
    if (!loaded.ok() || !loaded->has_session()) return nullptr;
    return &(p.sessions[key] = *std::move(loaded));
  }

  // The devices messages to `peer` go to: stored and just learned, without
  // this device.
  absl::StatusOr<std::set<uint32_t>> KnownDevices(const std::string& peer, const Pending& p) {
    ASSIGN_OR_RETURN(std::vector<PeerDevice> stored, store_->PeerDevices(peer));
    std::set<uint32_t> ids;
    for (const PeerDevice& d : stored) ids.insert(d.device_id);
    for (const auto& [who, d] : p.devices) {
      if (who == peer) ids.insert(d.device_id);
    }
    if (peer == account_->number) ids.erase(account_->device_id);
    return ids;
  }

  // Encrypts `padded` content for every device of `peer` into `r` (for this
  // account: its other devices, possibly none), starting the sessions that
  // are missing; the relay corrects the list if it is not the current one.
  absl::Status EncryptForDevices(const std::string& peer, const std::vector<uint8_t>& padded, Pending& p,
                                 pb::RecipientDevices& r) {
    const bool own = peer == account_->number;
    ASSIGN_OR_RETURN(std::set<uint32_t> ids, KnownDevices(peer, p));
    if (ids.empty() && !own) {
      RETURN_IF_ERROR(StartSessions(peer, nullptr, p));
      ASSIGN_OR_RETURN(ids, KnownDevices(peer, p));
    }
    std::set<uint32_t> missing;
    for (uint32_t id : ids) {
      if (SessionFor(peer, id, p) == nullptr) missing.insert(id);
    }
    if (!missing.empty()) RETURN_IF_ERROR(StartSessions(peer, &missing, p));
    r.set_number(peer);
    for (uint32_t id : ids) {
      crypto::SessionRecord* record = SessionFor(peer, id, p);
      if (record == nullptr) {
        return absl::FailedPreconditionError(
            absl::StrCat(peer, "'s device ", id, " has published no keys yet; try again in a moment"));
      }
      ASSIGN_OR_RETURN(crypto::CiphertextMessage ct, crypto::Encrypt(*record, padded));
      pb::DeviceCopy* c = r.add_devices();
      c->set_device_id(id);
      c->set_registration_id(record->remote_registration_id());
      c->set_ciphertext(std::string(ct.bytes.begin(), ct.bytes.end()));
      c->set_type(ct.type == crypto::MessageType::kPreKey ? pb::ENVELOPE_TYPE_PREKEY_MESSAGE
                                                          : pb::ENVELOPE_TYPE_SIGNAL_MESSAGE);
    }
    return absl::OkStatus();
  }

  // A text to every device of `peer`, and its transcript to this account's
  // other devices, as one multi-recipient submission (an outbox row).
  absl::StatusOr<OutboxRow> BuildText(const std::string& peer, const std::string& client_message_id,
                                      const std::string& message_id, const std::string& body,
                                      int64_t sent_at_ms, const cpb::StoredAttachments& attachments,
                                      Pending& p) {
    cpb::Content content;
    cpb::TextMessage* t = content.mutable_text();
    t->set_id(message_id);
    t->set_body(body);
    t->set_sent_at_ms(sent_at_ms);
    *t->mutable_attachments() = attachments.attachments();
    cpb::Content sync;
    cpb::SyncMessage::Sent* sent = sync.mutable_sync()->mutable_sent();
    sent->set_destination(peer);
    *sent->mutable_text() = content.text();
    cpb::OutboxPlan plan;
    plan.add_recipients(peer);
    plan.set_content(content.SerializeAsString());
    plan.set_sync_content(sync.SerializeAsString());
    for (const cpb::AttachmentPointer& a : attachments.attachments()) plan.add_attachment_ids(a.id());
    return BuildPlanned(plan, client_message_id, peer, p);
  }

  // The submission an outbox plan describes, encrypted for the devices
  // known now (sessions started where missing).
  absl::StatusOr<OutboxRow> BuildPlanned(const cpb::OutboxPlan& plan, const std::string& client_message_id,
                                         const std::string& label, Pending& p) {
    pb::MultiSubmit m;
    m.set_client_message_id(client_message_id);
    for (const std::string& id : plan.attachment_ids()) m.add_attachment_ids(id);
    if (!plan.group_id().empty()) {
      ASSIGN_OR_RETURN(std::optional<GroupRow> group, store_->Group(plan.group_id()));
      if (!group) return absl::NotFoundError("unknown group");
      m.set_type(pb::ENVELOPE_TYPE_SENDER_KEY_MESSAGE);
      m.set_body(plan.body());
      for (const GroupMemberRow& member : group->members) {
        RETURN_IF_ERROR(AddressDevices(member.number, p, *m.add_recipients()));
      }
    } else {
      const std::vector<uint8_t> content = Pad(plan.content());
      for (const std::string& r : plan.recipients()) {
        RETURN_IF_ERROR(EncryptForDevices(r, content, p, *m.add_recipients()));
      }
      if (!plan.sync_content().empty()) {
        RETURN_IF_ERROR(
            EncryptForDevices(account_->number, Pad(plan.sync_content()), p, *m.add_recipients()));
      }
    }
    OutboxRow row{client_message_id,       label, 0, kOutboxMultiSubmit, m.SerializeAsString(), 0,
                  plan.SerializeAsString()};
    return row;
  }

  // Every device of `peer` (this account: its other devices) for a copy of
  // the shared body, each with the registration id of its session.
  absl::Status AddressDevices(const std::string& peer, Pending& p, pb::RecipientDevices& r) {
    const bool own = peer == account_->number;
    ASSIGN_OR_RETURN(std::set<uint32_t> ids, KnownDevices(peer, p));
    if (ids.empty() && !own) {
      RETURN_IF_ERROR(StartSessions(peer, nullptr, p));
      ASSIGN_OR_RETURN(ids, KnownDevices(peer, p));
    }
    r.set_number(peer);
    for (uint32_t id : ids) {
      crypto::SessionRecord* record = SessionFor(peer, id, p);
      pb::DeviceCopy* c = r.add_devices();
      c->set_device_id(id);
      c->set_registration_id(record ? record->remote_registration_id() : 0);
    }
    return absl::OkStatus();
  }

  // A new session with `peer` from a freshly fetched bundle (its first
  // device, in *device); a changed identity is queued as a key-change event.
  absl::StatusOr<crypto::SessionRecord> StartSession(const std::string& peer, uint32_t* device) {
    ASSIGN_OR_RETURN(FetchedBundle fetched, FetchBundle(peer));
    const crypto::PreKeyBundle& first = fetched.devices.front();
    *device = first.device_id;
    ASSIGN_OR_RETURN(bool changed, store_->SaveIdentity(peer, first.identity_key, NowMs()));
    if (changed) key_changes_.push_back(peer);
    return crypto::InitiateSession(account_->identity, first, random_);
  }

  // Encrypts text message `message_id` with `record` (advancing it) into the
  // outbox row `client_message_id`.
  absl::StatusOr<OutboxRow> EncryptText(crypto::SessionRecord& record, const std::string& peer,
                                        uint32_t device, const std::string& client_message_id,
                                        const std::string& message_id, const std::string& body,
                                        int64_t sent_at_ms) {
    cpb::Content content;
    auto* t = content.mutable_text();
    t->set_id(message_id);
    t->set_body(body);
    t->set_sent_at_ms(sent_at_ms);
    ASSIGN_OR_RETURN(crypto::CiphertextMessage ct, crypto::Encrypt(record, Pad(content.SerializeAsString())));
    return OutboxRow{client_message_id,
                     peer,
                     device,
                     ct.type == crypto::MessageType::kPreKey ? pb::ENVELOPE_TYPE_PREKEY_MESSAGE
                                                             : pb::ENVELOPE_TYPE_SIGNAL_MESSAGE,
                     std::string(ct.bytes.begin(), ct.bytes.end()),
                     record.remote_registration_id()};
  }

  // Encrypts a receipt to `peer` and queues it (inside the caller's transaction).
  absl::Status QueueReceipt(const std::string& peer, uint32_t device, crypto::SessionRecord& record,
                            cpb::Receipt::Kind kind, const std::vector<std::string>& ids) {
    cpb::Content content;
    auto* r = content.mutable_receipt();
    r->set_kind(kind);
    for (const auto& id : ids) r->add_message_ids(id);
    ASSIGN_OR_RETURN(crypto::CiphertextMessage ct, crypto::Encrypt(record, Pad(content.SerializeAsString())));
    RETURN_IF_ERROR(store_->SaveSession(peer, device, record));
    OutboxRow row{NewMessageId(),
                  peer,
                  device,
                  pb::ENVELOPE_TYPE_RECEIPT,
                  std::string(ct.bytes.begin(), ct.bytes.end()),
                  record.remote_registration_id()};
    RETURN_IF_ERROR(store_->AddToOutbox(row));
    queued_.push_back(std::move(row));
    return absl::OkStatus();
  }

  absl::StatusOr<int> MarkRead(const std::string& peer_in) {
    RETURN_IF_ERROR(RequireAccount());
    std::string peer;
    if (!peer_in.empty()) {
      ASSIGN_OR_RETURN(peer, NormalizePeer(peer_in));
    }
    ASSIGN_OR_RETURN(auto unread, store_->UnreadFrom(peer));
    std::map<std::string, std::vector<std::string>> by_peer;
    for (const auto& m : unread) by_peer[m.peer].push_back(m.message_id);
    RETURN_IF_ERROR(store_->db().InTransaction([&](store::Database&) -> absl::Status {
      for (auto& [p, ids] : by_peer) {
        ASSIGN_OR_RETURN(std::vector<PeerDevice> devices, store_->PeerDevices(p));
        if (devices.empty()) devices.push_back(PeerDevice{kPrimaryDevice, 0});
        for (const PeerDevice& d : devices) {
          auto record = store_->LoadSession(p, d.device_id);
          if (!record.ok() || !record->has_session()) continue;
          RETURN_IF_ERROR(QueueReceipt(p, d.device_id, *record, cpb::Receipt::READ, ids));
        }
      }
      return store_->MarkIncomingRead(peer);
    }));
    return static_cast<int>(unread.size());
  }

  // ---- groups ----

  static std::string GroupKey(const std::string& id) { return absl::BytesToHexString(id); }

  // A group by its hex id or an unambiguous prefix of it (8 digits at least).
  absl::StatusOr<GroupRow> FindGroup(const std::string& hex) {
    if (hex.size() < 8)
      return absl::InvalidArgumentError("give the group id (at least its first 8 hex digits)");
    ASSIGN_OR_RETURN(std::vector<GroupRow> groups, store_->Groups());
    std::vector<GroupRow> found;
    for (GroupRow& g : groups) {
      if (GroupKey(g.group_id).starts_with(absl::AsciiStrToLower(hex))) found.push_back(std::move(g));
    }
    if (found.empty())
      return absl::NotFoundError(absl::StrCat("no group ", hex, " is known to this profile"));
    if (found.size() > 1)
      return absl::InvalidArgumentError(
          absl::StrCat("the group id ", hex, " is ambiguous; give more digits"));
    return std::move(found.front());
  }

  static bool IsMember(const GroupRow& g, const std::string& number, bool* admin = nullptr) {
    for (const GroupMemberRow& m : g.members) {
      if (m.number == number) {
        if (admin) *admin = m.admin;
        return true;
      }
    }
    return false;
  }

  std::string NewDistributionId() {
    std::string id(16, '\0');
    random_.Fill(std::span(reinterpret_cast<uint8_t*>(id.data()), id.size()));
    return id;
  }

  // This device's sender key for the group's current distribution, and
  // what sharing it queued: saved together with the message that uses it.
  struct SenderKeyUse {
    crypto::SenderKeyRecord own;
    std::vector<OutboxRow> rows;                           // SenderKeyShare submissions, before the message
    std::vector<std::pair<std::string, uint32_t>> shared;  // the devices they reach
  };

  absl::Status SaveSenderKeyUse(const GroupRow& group, const SenderKeyUse& use) {
    RETURN_IF_ERROR(
        store_->SaveSenderKey(account_->number, account_->device_id, group.distribution_id, use.own));
    for (const auto& [peer, device] : use.shared) {
      RETURN_IF_ERROR(store_->MarkSenderKeyShared(group.distribution_id, peer, device));
    }
    for (const OutboxRow& r : use.rows) RETURN_IF_ERROR(store_->AddToOutbox(r));
    return absl::OkStatus();
  }

  // Loads this device's sender key for `group` (creating its chain on first
  // use) and queues it to every member account with a device that does not
  // have it yet (all of that account's devices: the relay wants whole
  // device lists).
  absl::StatusOr<SenderKeyUse> ShareSenderKey(const GroupRow& group, Pending& p) {
    SenderKeyUse use;
    ASSIGN_OR_RETURN(use.own,
                     store_->LoadSenderKey(account_->number, account_->device_id, group.distribution_id));
    cpb::OutboxPlan plan;
    for (const GroupMemberRow& member : group.members) {
      const bool self = member.number == account_->number;
      ASSIGN_OR_RETURN(std::set<uint32_t> ids, KnownDevices(member.number, p));
      if (ids.empty() && !self) {
        RETURN_IF_ERROR(StartSessions(member.number, nullptr, p));
        ASSIGN_OR_RETURN(ids, KnownDevices(member.number, p));
      }
      bool lacking = false;
      for (uint32_t d : ids) {
        ASSIGN_OR_RETURN(bool has, store_->SenderKeyShared(group.distribution_id, member.number, d));
        if (!has) {
          lacking = true;
          use.shared.emplace_back(member.number, d);
        }
      }
      if (lacking) plan.add_recipients(member.number);
    }
    if (!use.own.empty() && plan.recipients().empty()) return use;
    crypto::DistributionId dist{};
    std::copy(group.distribution_id.begin(), group.distribution_id.end(), dist.begin());
    ASSIGN_OR_RETURN(std::vector<uint8_t> skdm,
                     crypto::CreateSenderKeyDistributionMessage(use.own, dist, random_));
    if (plan.recipients().empty()) return use;
    cpb::Content content;
    content.mutable_sender_key()->set_group_id(group.group_id);
    content.mutable_sender_key()->set_distribution(std::string(skdm.begin(), skdm.end()));
    plan.set_content(content.SerializeAsString());
    ASSIGN_OR_RETURN(OutboxRow row, BuildPlanned(plan, NewMessageId(), GroupKey(group.group_id), p));
    use.rows.push_back(std::move(row));
    return use;
  }

  // Stores `next` (rotating this device's sender key when someone left) and
  // queues its update to every device of everyone in `old` or `next`.
  absl::Status PublishGroup(const std::optional<GroupRow>& old, GroupRow next, const std::string& change) {
    std::set<std::string> to;
    for (const GroupMemberRow& m : next.members) to.insert(m.number);
    bool removed = false;
    if (old) {
      for (const GroupMemberRow& m : old->members) {
        if (!IsMember(next, m.number)) removed = true;
        to.insert(m.number);
      }
    }
    if (removed) next.distribution_id = NewDistributionId();
    next.updated_ms = NowMs();
    cpb::Content content;
    cpb::GroupUpdate* u = content.mutable_group_update();
    u->set_group_id(next.group_id);
    u->set_version(next.version);
    u->set_title(next.title);
    u->set_change(change);
    for (const GroupMemberRow& m : next.members) {
      cpb::GroupMember* gm = u->add_members();
      gm->set_number(m.number);
      gm->set_admin(m.admin);
    }
    cpb::OutboxPlan plan;
    for (const std::string& n : to) plan.add_recipients(n);  // this account: its other devices
    plan.set_content(content.SerializeAsString());
    Pending pending;
    ASSIGN_OR_RETURN(OutboxRow row, BuildPlanned(plan, NewMessageId(), GroupKey(next.group_id), pending));
    RETURN_IF_ERROR(store_->db().InTransaction([&](store::Database&) -> absl::Status {
      RETURN_IF_ERROR(SavePending(pending));
      RETURN_IF_ERROR(store_->SaveGroup(next));
      return store_->AddToOutbox(row);
    }));
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<std::string>> NormalizeMembers(const std::vector<std::string>& numbers) {
    std::vector<std::string> out;
    for (const std::string& n : numbers) {
      ASSIGN_OR_RETURN(std::string e164, NormalizePeer(n));
      if (e164 == account_->number) continue;
      if (std::find(out.begin(), out.end(), e164) == out.end()) out.push_back(e164);
    }
    return out;
  }

  static absl::Status CheckTitle(const std::string& title) {
    return ValidateText("title", title, kMaxGroupTitleBytes);
  }

  absl::StatusOr<std::string> CreateGroup(const std::string& title, const std::vector<std::string>& numbers) {
    RETURN_IF_ERROR(RequireAccount());
    RETURN_IF_ERROR(CheckTitle(title));
    ASSIGN_OR_RETURN(std::vector<std::string> members, NormalizeMembers(numbers));
    if (members.size() + 1 > kMaxGroupMembers) {
      return absl::InvalidArgumentError(absl::StrCat("a group has at most ", kMaxGroupMembers, " members"));
    }
    GroupRow g;
    g.group_id = std::string(32, '\0');
    random_.Fill(std::span(reinterpret_cast<uint8_t*>(g.group_id.data()), g.group_id.size()));
    g.title = title;
    g.version = 1;
    g.distribution_id = NewDistributionId();
    g.members.push_back({account_->number, true});
    for (const std::string& m : members) g.members.push_back({m, false});
    std::sort(g.members.begin(), g.members.end(),
              [](const GroupMemberRow& a, const GroupMemberRow& b) { return a.number < b.number; });
    RETURN_IF_ERROR(PublishGroup(std::nullopt, g, "created"));
    return GroupKey(g.group_id);
  }

  enum class GroupChange { kAdd, kRemove, kRename, kLeave };

  absl::StatusOr<GroupRow> ChangeGroup(const std::string& hex, GroupChange change,
                                       const std::vector<std::string>& numbers, const std::string& title) {
    RETURN_IF_ERROR(RequireAccount());
    ASSIGN_OR_RETURN(GroupRow g, FindGroup(hex));
    bool admin = false;
    if (!g.active || !IsMember(g, account_->number, &admin)) {
      return absl::FailedPreconditionError("this profile is no longer a member of the group");
    }
    if (change != GroupChange::kLeave && !admin) {
      return absl::PermissionDeniedError("only the group's admins can change its members or title");
    }
    const GroupRow old = g;
    std::string what;
    if (change == GroupChange::kRename) {
      RETURN_IF_ERROR(CheckTitle(title));
      g.title = title;
      what = "renamed";
    } else if (change == GroupChange::kLeave) {
      std::erase_if(g.members, [&](const GroupMemberRow& m) { return m.number == account_->number; });
      g.active = false;
      what = absl::StrCat("left: ", account_->number);
    } else {
      ASSIGN_OR_RETURN(std::vector<std::string> people, NormalizeMembers(numbers));
      if (people.empty()) return absl::InvalidArgumentError("name at least one member other than yourself");
      for (const std::string& n : people) {
        if (change == GroupChange::kAdd) {
          if (IsMember(g, n)) return absl::AlreadyExistsError(absl::StrCat(n, " is a member already"));
          g.members.push_back({n, false});
        } else {
          if (!IsMember(g, n)) return absl::NotFoundError(absl::StrCat(n, " is not a member of the group"));
          std::erase_if(g.members, [&](const GroupMemberRow& m) { return m.number == n; });
        }
      }
      if (g.members.size() > kMaxGroupMembers) {
        return absl::InvalidArgumentError(absl::StrCat("a group has at most ", kMaxGroupMembers, " members"));
      }
      what = absl::StrCat(change == GroupChange::kAdd ? "added: " : "removed: ", absl::StrJoin(people, ", "));
    }
    std::sort(g.members.begin(), g.members.end(),
              [](const GroupMemberRow& a, const GroupMemberRow& b) { return a.number < b.number; });
    g.version = old.version + 1;
    RETURN_IF_ERROR(PublishGroup(old, g, what));
    ASSIGN_OR_RETURN(std::optional<GroupRow> saved, store_->Group(g.group_id));
    return *saved;
  }

  absl::StatusOr<std::string> SendGroup(const std::string& hex, const std::string& text,
                                        const std::vector<std::filesystem::path>& files) {
    RETURN_IF_ERROR(RequireAccount());
    ASSIGN_OR_RETURN(GroupRow g, FindGroup(hex));
    if (!g.active || !IsMember(g, account_->number)) {
      return absl::FailedPreconditionError("this profile is no longer a member of the group");
    }
    ASSIGN_OR_RETURN(cpb::StoredAttachments attachments, UploadAll(files));
    const std::string id = NewMessageId();
    const int64_t sent_at_ms = NowMs();
    Pending pending;
    absl::StatusOr<SenderKeyUse> use = ShareSenderKey(g, pending);
    RETURN_IF_ERROR(Deactivate(use.status(), nullptr));
    cpb::Content content;
    content.mutable_group_text()->set_group_id(g.group_id);
    cpb::TextMessage* t = content.mutable_group_text()->mutable_text();
    t->set_id(id);
    t->set_body(text);
    t->set_sent_at_ms(sent_at_ms);
    *t->mutable_attachments() = attachments.attachments();
    ASSIGN_OR_RETURN(std::vector<uint8_t> body,
                     crypto::GroupEncrypt(use->own, Pad(content.SerializeAsString()), random_));
    cpb::OutboxPlan plan;
    plan.set_group_id(g.group_id);
    plan.set_body(std::string(body.begin(), body.end()));
    for (const cpb::AttachmentPointer& a : attachments.attachments()) plan.add_attachment_ids(a.id());
    ASSIGN_OR_RETURN(OutboxRow row, BuildPlanned(plan, id, GroupKey(g.group_id), pending));
    RETURN_IF_ERROR(store_->db().InTransaction([&](store::Database&) -> absl::Status {
      RETURN_IF_ERROR(SavePending(pending));
      RETURN_IF_ERROR(SaveSenderKeyUse(g, *use));
      RETURN_IF_ERROR(store_->AddToOutbox(row));
      MessageRow m{0, account_->number, Direction::kOutgoing, id, text, sent_at_ms, 0, "pending", g.group_id};
      if (!attachments.attachments().empty()) m.attachments = attachments.SerializeAsString();
      return store_->AddMessage(m).status();
    }));
    return id;
  }

  // A group update from `sender` (inside the caller's transaction). Applied
  // when it is newer than what this device knows and comes from an admin
  // of the group as known (or, for a group new to it, names the sender an
  // admin), or from a member who leaves.
  absl::Status ApplyGroupUpdate(const std::string& sender, const cpb::GroupUpdate& u, int64_t at_ms,
                                std::vector<Event>& events) {
    if (u.group_id().size() != 32 || u.members_size() > static_cast<int>(kMaxGroupMembers))
      return absl::OkStatus();
    ASSIGN_OR_RETURN(std::optional<GroupRow> old, store_->Group(u.group_id()));
    if (old && u.version() <= old->version) return absl::OkStatus();
    GroupRow next;
    next.group_id = u.group_id();
    next.title = u.title();
    next.version = u.version();
    for (const cpb::GroupMember& m : u.members()) next.members.push_back({m.number(), m.admin()});
    bool sender_admin = false;
    if (old) {
      IsMember(*old, sender, &sender_admin);
      bool leaving =
          IsMember(*old, sender) && !IsMember(next, sender) && next.members.size() + 1 == old->members.size();
      if (!sender_admin && !leaving) return absl::OkStatus();
    } else {
      IsMember(next, sender, &sender_admin);
      if (!sender_admin) return absl::OkStatus();
    }
    next.active = IsMember(next, account_->number);
    if (!old && !next.active) return absl::OkStatus();
    bool removed = false;
    if (old) {
      for (const GroupMemberRow& m : old->members) removed |= !IsMember(next, m.number);
    }
    // After a removal this device's next group message uses a new sender
    // key, which the removed member never gets.
    next.distribution_id = old && !removed ? old->distribution_id : NewDistributionId();
    next.updated_ms = at_ms;
    RETURN_IF_ERROR(store_->SaveGroup(next));
    Event e{Event::Kind::kGroupUpdate, sender, "", next.title, at_ms, u.change()};
    e.group = GroupKey(next.group_id);
    if (!next.active) e.detail = absl::StrCat(u.change(), " (this profile is no longer a member)");
    events.push_back(std::move(e));
    return absl::OkStatus();
  }

  // A group message: decrypted with the sender device's sender key.
  absl::Status HandleGroupEnvelope(const pb::Envelope& env, const EventHandler& on_event) {
    const uint64_t sid = env.server_id();
    const std::string sender = env.sender_number();
    const uint32_t device = env.sender_device_id() ? env.sender_device_id() : kPrimaryDevice;
    auto fail = [&](const std::string& why) -> absl::Status {
      RETURN_IF_ERROR(store_->MarkEnvelopeSeen(sid));
      Ack(sid);
      on_event(Event{Event::Kind::kFailed, sender, "", "", env.server_timestamp_ms(),
                     absl::StrCat("could not decrypt a group message: ", why)});
      return absl::OkStatus();
    };
    const auto ct = AsBytes(env.ciphertext());
    auto info = crypto::InspectSenderKeyMessage(ct);
    if (!info.ok()) return fail(std::string(info.status().message()));
    const std::string dist(info->distribution_id.begin(), info->distribution_id.end());
    ASSIGN_OR_RETURN(crypto::SenderKeyRecord record, store_->LoadSenderKey(sender, device, dist));
    if (record.empty()) return fail("no sender key from this sender (it was never shared with this device)");
    auto plain = crypto::GroupDecrypt(record, ct);
    if (!plain.ok()) return fail(std::string(plain.status().message()));
    auto unpadded = Unpad(*plain);
    cpb::Content content;
    if (!unpadded.ok() || !content.ParseFromString(*unpadded) || !content.has_group_text()) {
      return fail("malformed content");
    }
    const cpb::GroupText& gt = content.group_text();
    std::vector<Event> events;
    RETURN_IF_ERROR(store_->db().InTransaction([&](store::Database&) -> absl::Status {
      RETURN_IF_ERROR(store_->SaveSenderKey(sender, device, dist, record));
      RETURN_IF_ERROR(store_->MarkEnvelopeSeen(sid));
      ASSIGN_OR_RETURN(std::optional<GroupRow> group, store_->Group(gt.group_id()));
      if (!group || !IsMember(*group, sender)) return absl::OkStatus();  // not a member: dropped
      const bool own = sender == account_->number;
      MessageRow m{0,
                   sender,
                   own ? Direction::kOutgoing : Direction::kIncoming,
                   gt.text().id(),
                   gt.text().body(),
                   gt.text().sent_at_ms(),
                   env.server_timestamp_ms(),
                   own ? "sent" : "received",
                   gt.group_id()};
      if (!gt.text().attachments().empty()) {
        cpb::StoredAttachments stored;
        *stored.mutable_attachments() = gt.text().attachments();
        m.attachments = stored.SerializeAsString();
      }
      auto added = store_->AddMessage(m);
      if (!added.ok() && added.status().code() != absl::StatusCode::kAlreadyExists) return added.status();
      if (added.ok()) {
        Event e{own ? Event::Kind::kSent : Event::Kind::kMessage,
                sender,
                gt.text().id(),
                gt.text().body(),
                env.server_timestamp_ms(),
                own ? absl::StrCat("sent from your device ", device) : ""};
        e.group = GroupKey(gt.group_id());
        events.push_back(std::move(e));
      }
      return absl::OkStatus();
    }));
    // Attachments are fetched before the ack: the relay deletes a blob once
    // every copy of its message has been acknowledged.
    std::vector<Event> more;
    for (Event& e : events) SaveAttachments(gt.text(), e, more);
    Ack(sid);
    for (const Event& e : events) on_event(e);
    for (const Event& e : more) on_event(e);
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<GroupRow>> Groups() {
    RETURN_IF_ERROR(RequireAccount());
    return store_->Groups();
  }

  absl::StatusOr<std::vector<MessageRow>> GroupHistory(const std::string& hex, int limit) {
    RETURN_IF_ERROR(RequireAccount());
    ASSIGN_OR_RETURN(GroupRow g, FindGroup(hex));
    return store_->GroupMessages(g.group_id, limit);
  }

  // ---- the stream ----

  absl::Status Connect() {
    if (stream_ && !stream_->closed()) return absl::OkStatus();
    ASSIGN_OR_RETURN(stream_, transport_.OpenStream(
                                  Server(), std::string(relay::kWebSocketPath) + "?frames=batch", Auth()));
    in_flight_.clear();
    queue_empty_ = false;
    return absl::OkStatus();
  }

  void Disconnect() {
    if (stream_) stream_->Close(1000, "bye");
    stream_.reset();
  }

  void Submit(const OutboxRow& row) {
    uint64_t rid = next_request_id_++;
    in_flight_[rid] = {row.client_message_id, row.type == pb::ENVELOPE_TYPE_RECEIPT, row.recipient};
    if (row.type == kOutboxMultiSubmit) {
      pb::MultiSubmit m;
      if (m.ParseFromString(row.ciphertext)) stream_->Send(relay::EncodeMultiSubmit(rid, m));
      return;
    }
    stream_->Send(relay::EncodeSubmit(
        rid, row.client_message_id, relay::RecipientByNumber(row.recipient, row.device_id),
        static_cast<pb::EnvelopeType>(row.type), row.ciphertext, row.registration_id));
  }

  // Submits every outbox row not already in flight (a full scan: at connect,
  // and periodically while listening, for rows other processes queued).
  absl::Status SubmitOutbox() {
    queued_.clear();
    ASSIGN_OR_RETURN(auto rows, store_->Outbox());
    std::set<std::string> flying;
    for (const auto& [rid, f] : in_flight_) flying.insert(f.client_message_id);
    for (const auto& row : rows) {
      if (!flying.contains(row.client_message_id)) Submit(row);
    }
    return absl::OkStatus();
  }

  // Submits only what this process queued since (receipts), without a scan.
  void SubmitQueued() {
    for (const auto& row : queued_) Submit(row);
    queued_.clear();
  }

  void FlushKeyChanges(const EventHandler& on_event) {
    for (const auto& peer : key_changes_)
      on_event(Event{Event::Kind::kKeyChanged, peer, "", "", NowMs(), ""});
    key_changes_.clear();
  }

  absl::Status HandleMessage(const std::string& bytes, const EventHandler& on_event) {
    ASSIGN_OR_RETURN(pb::ServerFrame message, relay::DecodeServerFrame(bytes));
    for (const pb::ServerFrame* frame : relay::FramesOf(message))
      RETURN_IF_ERROR(HandleFrame(*frame, on_event));
    return absl::OkStatus();
  }

  absl::Status HandleFrame(const pb::ServerFrame& frame, const EventHandler& on_event) {
    switch (frame.body_case()) {
      case pb::ServerFrame::kSubmitResult: {
        const auto& r = frame.submit_result();
        if (!r.duplicate()) relay_offset_ms_ = r.server_timestamp_ms() - NowMs();
        auto it = in_flight_.find(frame.request_id());
        const bool receipt = it != in_flight_.end() && it->second.receipt;
        const std::string recipient = it != in_flight_.end() ? it->second.recipient : "";
        if (it != in_flight_.end()) in_flight_.erase(it);
        RETURN_IF_ERROR(store_->RemoveFromOutbox(r.client_message_id()));
        if (!receipt) {
          // Group updates and sender keys are not messages of the history.
          const std::string id = MessageIdOf(r.client_message_id());
          ASSIGN_OR_RETURN(std::optional<MessageRow> message, store_->OutgoingMessage(id));
          if (message) {
            RETURN_IF_ERROR(store_->SetOutgoingStatus(id, "sent"));
            Event e{Event::Kind::kSent,
                    message->group_id.empty() ? recipient : "",
                    id,
                    message->body,
                    r.server_timestamp_ms(),
                    ""};
            e.group = message->group_id.empty() ? "" : absl::BytesToHexString(message->group_id);
            on_event(e);
          }
        }
        return absl::OkStatus();
      }
      case pb::ServerFrame::kError: {
        const auto& e = frame.error();
        absl::Status st = relay::StatusFromError(e);
        if (e.client_message_id().empty()) {
          in_flight_.erase(frame.request_id());
          on_event(Event{Event::Kind::kFailed, "", "", "", NowMs(), std::string(st.message())});
          return absl::OkStatus();
        }
        if (st.code() == absl::StatusCode::kResourceExhausted ||
            st.code() == absl::StatusCode::kUnavailable) {
          in_flight_.erase(frame.request_id());
          retry_later_ = true;  // stays in the outbox
          return absl::OkStatus();
        }
        if (st.code() == absl::StatusCode::kFailedPrecondition) {
          in_flight_.erase(frame.request_id());
          ASSIGN_OR_RETURN(bool resent, EncryptAnew(e, on_event));
          if (resent) return absl::OkStatus();
        }
        const std::string id = MessageIdOf(e.client_message_id());
        auto it = in_flight_.find(frame.request_id());
        const std::string recipient = it != in_flight_.end() ? it->second.recipient : "";
        RETURN_IF_ERROR(store_->RemoveFromOutbox(e.client_message_id()));
        RETURN_IF_ERROR(store_->SetOutgoingStatus(id, "failed"));
        in_flight_.erase(frame.request_id());
        on_event(WithText(Event{Event::Kind::kFailed, recipient, id, "", NowMs(),
                                absl::StrCat(e.code(), ": ", e.message())}));
        return absl::OkStatus();
      }
      case pb::ServerFrame::kDeliver:
        return HandleEnvelope(frame.deliver().envelope(), on_event);
      case pb::ServerFrame::kQueueEmpty:
        queue_empty_ = true;
        return absl::OkStatus();
      default:
        return absl::OkStatus();
    }
  }

  // A message encrypted anew is submitted as "<message id>.r<attempt>": the
  // relay remembers the first id as submitted-and-refused.
  static std::string MessageIdOf(const std::string& client_message_id) {
    size_t dot = client_message_id.rfind(".r");
    return dot == std::string::npos ? client_message_id : client_message_id.substr(0, dot);
  }

  // The relay refused `client_message_id` as encrypted for an installation
  // of the recipient that has since registered again. A text is encrypted
  // anew for the new keys (a fresh session, a key-changed event) and
  // submitted under a new id; a receipt is dropped (it acknowledged
  // messages of the old installation). False if it gives up.
  absl::StatusOr<bool> EncryptAnew(const pb::Error& error, const EventHandler& on_event) {
    const std::string& client_message_id = error.client_message_id();
    ASSIGN_OR_RETURN(std::optional<OutboxRow> row, store_->OutboxEntry(client_message_id));
    if (!row) return true;  // already handled
    if (row->type == kOutboxMultiSubmit) return CorrectDevices(*row, error, on_event);
    if (row->type == pb::ENVELOPE_TYPE_RECEIPT) {
      RETURN_IF_ERROR(store_->RemoveFromOutbox(client_message_id));
      return true;
    }
    const std::string id = MessageIdOf(client_message_id);
    int attempt = 1;
    if (id != client_message_id) attempt = std::atoi(client_message_id.c_str() + id.size() + 2) + 1;
    ASSIGN_OR_RETURN(std::optional<MessageRow> message, store_->OutgoingMessage(id));
    if (!message || attempt > 3) return false;
    uint32_t device = 1;
    ASSIGN_OR_RETURN(crypto::SessionRecord record, StartSession(row->recipient, &device));
    FlushKeyChanges(on_event);
    ASSIGN_OR_RETURN(OutboxRow fresh,
                     EncryptText(record, row->recipient, device, absl::StrCat(id, ".r", attempt), id,
                                 message->body, message->sent_at_ms));
    RETURN_IF_ERROR(store_->db().InTransaction([&](store::Database&) -> absl::Status {
      RETURN_IF_ERROR(store_->DeleteSessions(row->recipient));
      RETURN_IF_ERROR(store_->SaveSession(row->recipient, fresh.device_id, record));
      RETURN_IF_ERROR(store_->RemoveFromOutbox(client_message_id));
      return store_->AddToOutbox(fresh);
    }));
    Submit(fresh);
    return true;
  }

  // The relay refused a multi-recipient submission because its device
  // lists were not the recipients' current devices: forget the extra and
  // stale devices, start sessions with the missing and stale ones, encrypt
  // the text anew for the corrected lists and submit it under a new id.
  absl::StatusOr<bool> CorrectDevices(const OutboxRow& row, const pb::Error& error,
                                      const EventHandler& on_event) {
    const std::string& client_message_id = row.client_message_id;
    if (error.mismatches().empty()) return false;
    const std::string id = MessageIdOf(client_message_id);
    int attempt = 1;
    if (id != client_message_id) attempt = std::atoi(client_message_id.c_str() + id.size() + 2) + 1;
    if (attempt > 3) return false;
    Pending fixes;
    std::vector<std::pair<std::string, uint32_t>> forget;
    for (const pb::DeviceMismatch& m : error.mismatches()) {
      std::string who = m.has_number() ? m.number() : "";
      if (!m.has_number() && m.account_id() == account_->account_id) who = account_->number;
      if (who.empty()) continue;
      std::set<uint32_t> fetch(m.missing().begin(), m.missing().end());
      for (uint32_t d : m.stale()) fetch.insert(d);
      for (uint32_t d : m.extra()) forget.emplace_back(who, d);
      for (uint32_t d : m.stale()) forget.emplace_back(who, d);
      if (!fetch.empty()) RETURN_IF_ERROR(StartSessions(who, &fetch, fixes));
    }
    FlushKeyChanges(on_event);
    RETURN_IF_ERROR(store_->db().InTransaction([&](store::Database&) -> absl::Status {
      for (const auto& [who, d] : forget) {
        RETURN_IF_ERROR(store_->DeleteSession(who, d));
        RETURN_IF_ERROR(store_->ForgetSenderKeyShared(who, d));
      }
      return SavePending(fixes);
    }));
    cpb::OutboxPlan plan;
    if (row.plan.empty() || !plan.ParseFromString(row.plan)) return false;
    Pending pending;
    std::optional<GroupRow> group;
    std::optional<SenderKeyUse> use;
    if (!plan.group_id().empty()) {
      // Devices new to the group's messages need this device's sender key first.
      ASSIGN_OR_RETURN(group, store_->Group(plan.group_id()));
      if (!group) return false;
      ASSIGN_OR_RETURN(use, ShareSenderKey(*group, pending));
    }
    ASSIGN_OR_RETURN(OutboxRow fresh,
                     BuildPlanned(plan, absl::StrCat(id, ".r", attempt), row.recipient, pending));
    RETURN_IF_ERROR(store_->db().InTransaction([&](store::Database&) -> absl::Status {
      RETURN_IF_ERROR(SavePending(pending));
      if (use) RETURN_IF_ERROR(SaveSenderKeyUse(*group, *use));
      RETURN_IF_ERROR(store_->RemoveFromOutbox(client_message_id));
      return store_->AddToOutbox(fresh);
    }));
    if (use) {
      for (const OutboxRow& r : use->rows) Submit(r);
    }
    Submit(fresh);
    return true;
  }

  void Ack(uint64_t server_id) { stream_->Send(relay::EncodeAck(std::span<const uint64_t>(&server_id, 1))); }

  absl::Status HandleEnvelope(const pb::Envelope& env, const EventHandler& on_event) {
    const uint64_t sid = env.server_id();
    ASSIGN_OR_RETURN(bool seen, store_->SeenEnvelope(sid));
    if (seen) {
      Ack(sid);
      return absl::OkStatus();
    }
    if (env.type() == pb::ENVELOPE_TYPE_SENDER_KEY_MESSAGE) return HandleGroupEnvelope(env, on_event);
    const std::string peer = env.sender_number();
    const uint32_t device = env.sender_device_id() ? env.sender_device_id() : 1;
    auto loaded = store_->LoadSession(peer, device);
    crypto::SessionRecord record = loaded.ok() ? *std::move(loaded) : crypto::SessionRecord();
    std::vector<uint8_t> padded;
    std::optional<uint32_t> consumed;
    std::optional<uint32_t> used_kyber;
    std::optional<crypto::PublicKey> new_identity;
    auto fail = [&](const absl::Status& st) -> absl::Status {
      // Undecryptable envelopes are dropped (acknowledged) so they do not
      // block the queue; the user is told.
      RETURN_IF_ERROR(store_->MarkEnvelopeSeen(sid));
      Ack(sid);
      on_event(Event{Event::Kind::kFailed, peer, "", "", env.server_timestamp_ms(),
                     absl::StrCat("could not decrypt a message: ", std::string(st.message()))});
      return absl::OkStatus();
    };
    const auto ct = AsBytes(env.ciphertext());
    if (env.type() == pb::ENVELOPE_TYPE_PREKEY_MESSAGE) {
      crypto::PreKeyLookup lookup{[this](uint32_t id) { return store_->LoadSignedPreKey(id); },
                                  [this](uint32_t id) { return store_->LoadOneTimePreKey(id); },
                                  [this](uint32_t id) { return store_->LoadKyberPreKey(id); }};
      auto r = crypto::DecryptPreKeySignalMessage(record, account_->identity, lookup, ct, random_);
      if (!r.ok()) return fail(r.status());
      padded = std::move(r->plaintext);
      consumed = r->consumed_one_time_prekey;
      used_kyber = r->used_kyber_prekey;
      new_identity = r->remote_identity;
    } else {
      auto r = crypto::DecryptSignalMessage(record, ct, random_);
      if (!r.ok()) return fail(r.status());
      padded = *std::move(r);
    }
    auto unpadded = Unpad(padded);
    cpb::Content content;
    if (!unpadded.ok() || !content.ParseFromString(*unpadded))
      return fail(absl::InvalidArgumentError("malformed content"));

    std::vector<Event> events;
    const bool from_own_device = peer == account_->number;
    absl::Status applied = store_->db().InTransaction([&](store::Database&) -> absl::Status {
      RETURN_IF_ERROR(store_->SaveSession(peer, device, record));
      // Replies and sync copies go to every device heard from.
      RETURN_IF_ERROR(store_->PutPeerDevice(peer, PeerDevice{device, record.remote_registration_id()}));
      if (consumed) RETURN_IF_ERROR(store_->DeleteOneTimePreKey(*consumed));
      if (used_kyber) RETURN_IF_ERROR(store_->DeleteUsedKyberPreKey(*used_kyber));
      if (new_identity) {
        ASSIGN_OR_RETURN(bool changed, store_->SaveIdentity(peer, *new_identity, NowMs()));
        if (changed) events.push_back(Event{Event::Kind::kKeyChanged, peer, "", "", NowMs(), ""});
      }
      RETURN_IF_ERROR(store_->MarkEnvelopeSeen(sid));
      if (content.has_sync() && from_own_device) {
        // What this account sent from another device: into the history as
        // sent, with no receipt (the peer sends those to the sending device).
        const auto& sent = content.sync().sent();
        const auto& t = sent.text();
        MessageRow m{0,        sent.destination(), Direction::kOutgoing,      t.id(),
                     t.body(), t.sent_at_ms(),     env.server_timestamp_ms(), "sent"};
        auto added = store_->AddMessage(m);
        if (added.ok()) {
          events.push_back(Event{Event::Kind::kSent, sent.destination(), t.id(), t.body(),
                                 env.server_timestamp_ms(), absl::StrCat("sent from your device ", device)});
        } else if (added.status().code() != absl::StatusCode::kAlreadyExists) {
          return added.status();
        }
      } else if (content.has_group_update()) {
        RETURN_IF_ERROR(ApplyGroupUpdate(peer, content.group_update(), env.server_timestamp_ms(), events));
      } else if (content.has_sender_key()) {
        const std::string& skdm = content.sender_key().distribution();
        auto dist = crypto::InspectSenderKeyDistributionMessage(AsBytes(skdm));
        if (dist.ok()) {
          const std::string id(dist->distribution_id.begin(), dist->distribution_id.end());
          ASSIGN_OR_RETURN(crypto::SenderKeyRecord sk, store_->LoadSenderKey(peer, device, id));
          if (crypto::ProcessSenderKeyDistributionMessage(sk, AsBytes(skdm)).ok()) {
            RETURN_IF_ERROR(store_->SaveSenderKey(peer, device, id, sk));
          }
        }
      } else if (content.has_text() && !from_own_device) {
        const auto& t = content.text();
        MessageRow m{0,        peer,           Direction::kIncoming,      t.id(),
                     t.body(), t.sent_at_ms(), env.server_timestamp_ms(), "received"};
        if (!t.attachments().empty()) {
          cpb::StoredAttachments stored;
          *stored.mutable_attachments() = t.attachments();
          m.attachments = stored.SerializeAsString();
        }
        auto added = store_->AddMessage(m);
        if (added.ok()) {
          events.push_back(
              Event{Event::Kind::kMessage, peer, t.id(), t.body(), env.server_timestamp_ms(), ""});
        } else if (added.status().code() != absl::StatusCode::kAlreadyExists) {
          return added.status();
        }
        RETURN_IF_ERROR(QueueReceipt(peer, device, record, cpb::Receipt::DELIVERED, {t.id()}));
      } else if (content.has_receipt()) {
        const auto& r = content.receipt();
        const bool read = r.kind() == cpb::Receipt::READ;
        for (const auto& id : r.message_ids()) {
          RETURN_IF_ERROR(store_->SetOutgoingStatus(id, read ? "read" : "delivered"));
          events.push_back(Event{read ? Event::Kind::kRead : Event::Kind::kDelivered, peer, id, "",
                                 env.server_timestamp_ms(), ""});
        }
      }
      return absl::OkStatus();
    });
    if (!applied.ok()) {
      queued_.clear();  // rolled back with the transaction
      return applied;
    }
    // Attachments are fetched before the ack: the relay deletes a blob once
    // every copy of its message has been acknowledged.
    std::vector<Event> more;
    if (content.has_text()) {
      for (Event& e : events) {
        if (e.kind == Event::Kind::kMessage) SaveAttachments(content.text(), e, more);
      }
    }
    Ack(sid);
    for (const auto& e : events) on_event(WithText(e));
    for (const auto& e : more) on_event(e);
    // Shown is read: with auto-read on, the read receipt goes out now,
    // not when the command ends.
    if (auto_read_ && content.has_text()) {
      auto marked = MarkRead(peer);
      if (!marked.ok()) return marked.status();
    }
    SubmitQueued();
    return absl::OkStatus();
  }

  // Receipts and outgoing events name the text they are about.
  Event WithText(Event e) {
    if (e.body.empty() && !e.message_id.empty() &&
        (e.kind == Event::Kind::kSent || e.kind == Event::Kind::kDelivered || e.kind == Event::Kind::kRead ||
         e.kind == Event::Kind::kFailed)) {
      if (auto m = store_->OutgoingMessage(e.message_id); m.ok() && *m) {
        e.body = (*m)->body;
        if (e.peer.empty()) e.peer = (*m)->peer;
      }
    }
    return e;
  }

  void set_auto_read(bool on) { auto_read_ = on; }

  absl::StatusOr<std::vector<MessageRow>> History(const std::string& peer, int limit) {
    return store_->Messages(peer, limit);
  }

  absl::Status Pump(const EventHandler& on_event, absl::Duration deadline,
                    const std::function<bool()>& done) {
    while (!done()) {
      if (clock_.Monotonic() >= deadline)
        return absl::DeadlineExceededError("timed out waiting for the relay");
      auto m = stream_->Receive(absl::Milliseconds(200));
      if (!m.ok()) {
        if (m.status().code() == absl::StatusCode::kDeadlineExceeded) continue;
        return absl::UnavailableError(
            absl::StrCat("connection to the relay closed (code ", stream_->close_code(), ")"));
      }
      RETURN_IF_ERROR(HandleMessage(*m, on_event));
      FlushKeyChanges(on_event);
    }
    return absl::OkStatus();
  }

  absl::Status Sync(const EventHandler& on_event, absl::Duration timeout) {
    RETURN_IF_ERROR(RequireAccount());
    FlushKeyChanges(on_event);
    RETURN_IF_ERROR(Deactivate(RefillPreKeys(), &on_event));
    RETURN_IF_ERROR(Deactivate(Connect(), &on_event));
    retry_later_ = false;
    RETURN_IF_ERROR(SubmitOutbox());
    absl::Status st =
        Pump(on_event, clock_.Monotonic() + timeout, [this] { return queue_empty_ && in_flight_.empty(); });
    Disconnect();
    if (st.ok() && retry_later_) {
      return absl::ResourceExhaustedError("the relay asked to retry some messages later; they stay queued");
    }
    return st;
  }

  absl::Status Listen(const EventHandler& on_event, const std::function<bool()>& keep_going) {
    RETURN_IF_ERROR(RequireAccount());
    FlushKeyChanges(on_event);
    RETURN_IF_ERROR(Deactivate(RefillPreKeys(), &on_event));
    RETURN_IF_ERROR(Deactivate(Connect(), &on_event));
    RETURN_IF_ERROR(SubmitOutbox());
    absl::Duration last_submit = clock_.Monotonic();
    absl::Status st = Pump(on_event, absl::InfiniteDuration(), [&] {
      if (!keep_going()) return true;
      // Messages queued by another process using this profile go out too.
      if (clock_.Monotonic() - last_submit > absl::Seconds(1)) {
        last_submit = clock_.Monotonic();
        SubmitOutbox().IgnoreError();
      }
      return false;
    });
    Disconnect();
    return st;
  }

  // ---- the rest ----

  absl::StatusOr<std::vector<std::string>> Discover(const std::vector<std::string>& numbers,
                                                    int64_t* budget) {
    RETURN_IF_ERROR(RequireAccount());
    std::string region = phone::RegionOf(account_->number);
    json body = {{"numbers", numbers}};
    if (!region.empty() && region != "001") body["region"] = region;
    auto r = Http("POST", "/v1/directory", body.dump(), Auth());
    RETURN_IF_ERROR(Deactivate(HttpError(r), nullptr));
    auto j = json::parse(r->body, nullptr, false);
    if (!j.is_object() || !j.contains("registered"))
      return absl::InternalError("unexpected directory answer");
    if (budget) *budget = j.value("budget_remaining", int64_t{-1});
    return j["registered"].get<std::vector<std::string>>();
  }

  absl::StatusOr<std::string> SafetyNumber(const std::string& peer_in) {
    RETURN_IF_ERROR(RequireAccount());
    ASSIGN_OR_RETURN(std::string peer, NormalizePeer(peer_in));
    auto known = store_->LoadIdentity(peer);
    crypto::PublicKey key;
    if (known.ok()) {
      key = known->identity_key;
    } else {
      ASSIGN_OR_RETURN(FetchedBundle fetched, FetchBundle(peer));
      key = fetched.devices.front().identity_key;
      ASSIGN_OR_RETURN(bool changed, store_->SaveIdentity(peer, key, NowMs()));
      (void)changed;
    }
    std::string digits =
        crypto::SafetyNumber(account_->number, account_->identity.key_pair.public_key, peer, key);
    std::string grouped;
    for (size_t i = 0; i < digits.size(); i += 5) {
      if (i) grouped += ' ';
      grouped += digits.substr(i, 5);
    }
    return grouped;
  }

  absl::StatusOr<std::string> PrivacyRequest(const std::string& method, const std::string& path,
                                             const std::string& body) {
    RETURN_IF_ERROR(RequireAccount());
    auto r = Http(method, path, body, Auth());
    RETURN_IF_ERROR(Deactivate(HttpError(r), nullptr));
    return r->body;
  }

  absl::Status DeleteAccount() {
    RETURN_IF_ERROR(RequireAccount());
    auto r = Http("DELETE", "/v1/account", "", Auth());
    RETURN_IF_ERROR(Deactivate(HttpError(r), nullptr));
    const std::string number = account_->number;
    RETURN_IF_ERROR(store_->DeleteEverything());
    RETURN_IF_ERROR(store_->SetSetting(
        "deleted", absl::StrCat("the messenger account ", number, " of this profile was deleted at ",
                                absl::FormatTime("%Y-%m-%d %H:%M %Z", clock_.Now(), absl::LocalTimeZone()))));
    account_.reset();
    return absl::OkStatus();
  }

 private:
  ClientOptions options_;
  const Clock& clock_;
  Random& random_;
  int64_t relay_offset_ms_ = 0;  // relay clock minus ours, from the last SubmitResult
  std::unique_ptr<ClientStore> store_;
  std::optional<AccountRow> account_;
  std::unique_ptr<RelayTransport> own_transport_;  // when the options name none
  RelayTransport& transport_;
  std::unique_ptr<RelayStream> stream_;
  struct InFlight {
    std::string client_message_id;
    bool receipt = false;
    std::string recipient;
  };
  std::map<uint64_t, InFlight> in_flight_;  // by request id
  std::vector<OutboxRow> queued_;           // added to the outbox by this process, not yet submitted
  uint64_t next_request_id_ = 1;
  bool queue_empty_ = false;
  bool retry_later_ = false;
  bool auto_read_ = false;
  std::vector<std::string> key_changes_;
  std::optional<PendingLink> pending_link_;
  std::filesystem::path save_dir_;  // where received attachments go; empty: not fetched
};

absl::StatusOr<std::unique_ptr<MessengerClient>> MessengerClient::Open(const ClientOptions& options) {
  if (sodium_init() < 0) return absl::InternalError("libsodium failed to initialize");
  if (options.clock == nullptr || options.random == nullptr) {
    return absl::InvalidArgumentError("ClientOptions needs a clock and a source of randomness");
  }
  ASSIGN_OR_RETURN(auto store, ClientStore::Open(options.profile_path));
  auto impl = std::make_unique<Impl>(options, std::move(store));
  return std::unique_ptr<MessengerClient>(new MessengerClient(std::move(impl)));
}

MessengerClient::MessengerClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MessengerClient::~MessengerClient() = default;

absl::StatusOr<std::string> MessengerClient::RequestCode(const std::string& number,
                                                         const std::string& region) {
  return impl_->RequestCode(number, region);
}
absl::Status MessengerClient::Verify(const std::string& number, const std::string& region,
                                     const std::string& code) {
  return impl_->Verify(number, region, code);
}
bool MessengerClient::registered() const { return impl_->registered(); }
std::string MessengerClient::number() const { return impl_->number(); }
void MessengerClient::SetSaveDir(const std::string& dir) { impl_->set_save_dir(dir); }
absl::StatusOr<std::string> MessengerClient::Send(const std::string& peer, const std::string& text,
                                                  const std::vector<std::string>& files) {
  return impl_->Send(peer, text, std::vector<std::filesystem::path>(files.begin(), files.end()));
}
absl::Status MessengerClient::Sync(const EventHandler& on_event, absl::Duration timeout) {
  return impl_->Sync(on_event, timeout);
}
absl::Status MessengerClient::Listen(const EventHandler& on_event, const std::function<bool()>& keep_going) {
  return impl_->Listen(on_event, keep_going);
}
absl::StatusOr<int> MessengerClient::MarkRead(const std::string& peer) { return impl_->MarkRead(peer); }
void MessengerClient::SetAutoRead(bool on) { impl_->set_auto_read(on); }
std::string MessengerClient::server() const { return impl_->Server(); }
absl::StatusOr<std::vector<std::string>> MessengerClient::Discover(const std::vector<std::string>& numbers,
                                                                   int64_t* budget_remaining) {
  return impl_->Discover(numbers, budget_remaining);
}
absl::StatusOr<std::string> MessengerClient::SafetyNumber(const std::string& peer) {
  return impl_->SafetyNumber(peer);
}
absl::StatusOr<std::vector<MessageRow>> MessengerClient::History(const std::string& peer, int limit) {
  std::string normalized = peer;
  if (!peer.empty()) {
    auto n = phone::Normalize(peer, phone::RegionOf(impl_->number()));
    if (n.ok()) normalized = *n;
  }
  return impl_->History(normalized, limit);
}
absl::StatusOr<std::string> MessengerClient::PrivacyRequest(const std::string& method,
                                                            const std::string& path,
                                                            const std::string& body) {
  return impl_->PrivacyRequest(method, path, body);
}
absl::Status MessengerClient::DeleteAccount() { return impl_->DeleteAccount(); }

namespace {

GroupInfo InfoOf(const GroupRow& g) {
  GroupInfo info;
  info.id = absl::BytesToHexString(g.group_id);
  info.title = g.title;
  info.version = g.version;
  info.active = g.active;
  for (const GroupMemberRow& m : g.members) info.members.push_back({m.number, m.admin});
  return info;
}

}  // namespace

absl::StatusOr<std::string> MessengerClient::BeginLink() { return impl_->BeginLink(); }
absl::Status MessengerClient::FinishLink(absl::Duration timeout) { return impl_->FinishLink(timeout); }
absl::Status MessengerClient::AddDevice(const std::string& code) { return impl_->AddDevice(code); }
absl::StatusOr<std::vector<LinkedDevice>> MessengerClient::Devices() { return impl_->Devices(); }
absl::Status MessengerClient::RemoveDevice(uint32_t device_id) { return impl_->Unlink(device_id); }
uint32_t MessengerClient::device_id() const { return impl_->device_id(); }

absl::StatusOr<std::string> MessengerClient::CreateGroup(const std::string& title,
                                                         const std::vector<std::string>& members) {
  return impl_->CreateGroup(title, members);
}
absl::StatusOr<GroupInfo> MessengerClient::AddToGroup(const std::string& group,
                                                      const std::vector<std::string>& numbers) {
  ASSIGN_OR_RETURN(GroupRow g, impl_->ChangeGroup(group, Impl::GroupChange::kAdd, numbers, ""));
  return InfoOf(g);
}
absl::StatusOr<GroupInfo> MessengerClient::RemoveFromGroup(const std::string& group,
                                                           const std::vector<std::string>& numbers) {
  ASSIGN_OR_RETURN(GroupRow g, impl_->ChangeGroup(group, Impl::GroupChange::kRemove, numbers, ""));
  return InfoOf(g);
}
absl::StatusOr<GroupInfo> MessengerClient::RenameGroup(const std::string& group, const std::string& title) {
  ASSIGN_OR_RETURN(GroupRow g, impl_->ChangeGroup(group, Impl::GroupChange::kRename, {}, title));
  return InfoOf(g);
}
absl::StatusOr<GroupInfo> MessengerClient::LeaveGroup(const std::string& group) {
  ASSIGN_OR_RETURN(GroupRow g, impl_->ChangeGroup(group, Impl::GroupChange::kLeave, {}, ""));
  return InfoOf(g);
}
absl::StatusOr<std::vector<GroupInfo>> MessengerClient::Groups() {
  ASSIGN_OR_RETURN(std::vector<GroupRow> rows, impl_->Groups());
  std::vector<GroupInfo> out;
  for (const GroupRow& g : rows) out.push_back(InfoOf(g));
  return out;
}
absl::StatusOr<GroupInfo> MessengerClient::Group(const std::string& group) {
  ASSIGN_OR_RETURN(GroupRow g, impl_->FindGroup(group));
  return InfoOf(g);
}
absl::StatusOr<std::string> MessengerClient::SendToGroup(const std::string& group, const std::string& text,
                                                         const std::vector<std::string>& files) {
  return impl_->SendGroup(group, text, std::vector<std::filesystem::path>(files.begin(), files.end()));
}
absl::StatusOr<std::vector<MessageRow>> MessengerClient::GroupHistory(const std::string& group, int limit) {
  return impl_->GroupHistory(group, limit);
}

}  // namespace tandem::client
