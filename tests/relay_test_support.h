// Helpers for the relay's end-to-end tests and its load generator: start and
// kill -9 a real tandemd, and a synchronous test user that registers through
// the HTTP API (reading the code the dev sender wrote), publishes real Signal
// keys, and talks the binary frame protocol over a WebSocket.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "crypto/kem.h"
#include "crypto/keys.h"
#include "crypto/session.h"
#include "net/client.h"
#include "relay_protocol/protocol.h"

namespace tandem::relay::testing {

// A tandemd child process on a free port with its own data directory.
class Tandemd {
 public:
  Tandemd(std::string binary, std::filesystem::path dir, std::vector<std::string> extra = {})
      : binary_(std::move(binary)), dir_(std::move(dir)), extra_(std::move(extra)) {}
  ~Tandemd() { Kill(); }

  // Starts and waits for the ready file. Reuses the data directory.
  bool Start() {
    std::filesystem::create_directories(dir_);
    std::filesystem::path ready = dir_ / "ready";
    std::filesystem::remove(ready);
    std::vector<std::string> args = {
        binary_,        "serve",        "--listen",    listen_, "--data-dir", (dir_ / "data").string(),
        "--ready-file", ready.string(), "--log-level", "warn"};
    for (const auto& e : extra_) {
      args.push_back("--set");
      args.push_back(e);
    }
    pid_ = fork();
    if (pid_ == 0) {
      FILE* log = std::fopen((dir_ / "tandemd.log").c_str(), "a");
      if (log) {
        dup2(fileno(log), 1);
        dup2(fileno(log), 2);
      }
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(binary_.c_str(), argv.data());
      _exit(127);
    }
    for (int i = 0; i < 400; ++i) {
      std::ifstream in(ready);
      std::string addr;
      if (in >> addr && !addr.empty()) {
        address_ = addr;
        // Restarts keep the port so that clients can reconnect.
        listen_ = addr;
        return true;
      }
      int status;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return false;
  }
  void Kill(int sig = SIGKILL) {
    if (pid_ <= 0) return;
    kill(pid_, sig);
    int status;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  const std::string& address() const { return address_; }
  pid_t pid() const { return pid_; }
  std::filesystem::path data_dir() const { return dir_ / "data"; }

 private:
  std::string binary_;
  std::filesystem::path dir_;
  std::vector<std::string> extra_;
  std::string listen_ = "127.0.0.1:0";
  std::string address_;
  pid_t pid_ = -1;
};

inline std::string ToString(std::span<const uint8_t> b) { return std::string(b.begin(), b.end()); }
template <size_t N>
std::string ToString(const std::array<uint8_t, N>& a) {
  return std::string(a.begin(), a.end());
}
inline std::span<const uint8_t> AsBytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// The last code the dev sender wrote for `number`.
inline std::optional<std::string> ReadCode(const std::filesystem::path& data_dir, const std::string& number) {
  std::ifstream in(data_dir / "verification-codes.log");
  std::string line, found;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string when, n, code;
    if (fields >> when >> n >> code && n == number) found = code;
  }
  if (found.empty()) return std::nullopt;
  return found;
}

// Registers `number` and returns its credentials (identity key `identity`).
inline absl::StatusOr<Credentials> RegisterNumber(net::HttpClient& http,
                                                  const std::filesystem::path& data_dir,
                                                  const std::string& number, const std::string& identity_key,
                                                  uint32_t registration_id = 1) {
  ASSIGN_OR_RETURN(auto res, http.Post("/v1/registration/code", nlohmann::json{{"number", number}}.dump()));
  if (res.status != 200) return net::StatusFromResponse(res);
  std::optional<std::string> code;
  for (int i = 0; i < 100 && !code; ++i) {
    code = ReadCode(data_dir, number);
    if (!code) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!code) return absl::NotFoundError("no code in verification-codes.log for " + number);
  nlohmann::json body = {{"number", number},
                         {"code", *code},
                         {"identity_key", absl::Base64Escape(identity_key)},
                         {"registration_id", registration_id}};
  ASSIGN_OR_RETURN(res, http.Post("/v1/registration/verify", body.dump()));
  if (res.status != 200) return net::StatusFromResponse(res);
  auto j = nlohmann::json::parse(res.body);
  return Credentials{j["account_id"].get<uint64_t>(), j["device_id"].get<uint32_t>(),
                     j["password"].get<std::string>()};
}

// A user with real Signal keys and sessions, one WebSocket, synchronous calls.
class TestUser {
 public:
  TestUser(std::string address, std::filesystem::path data_dir, std::string number, Random& random)
      : address_(std::move(address)),
        data_dir_(std::move(data_dir)),
        number_(std::move(number)),
        random_(random),
        http_(address_) {
    NewIdentity();
  }

  void NewIdentity() {
    identity_.key_pair = crypto::KeyPair::Generate(random_);
    identity_.registration_id = crypto::GenerateRegistrationId(random_);
    signed_prekey_ = crypto::GenerateSignedPreKey(identity_.key_pair, 1, random_);
    prekeys_.clear();
    kyber_prekeys_.clear();
    sessions_.clear();
  }

  absl::Status Register() {
    ASSIGN_OR_RETURN(
        creds_, RegisterNumber(http_, data_dir_, number_, ToString(identity_.key_pair.public_key.Serialize()),
                               identity_.registration_id));
    return absl::OkStatus();
  }

  net::Headers Auth() const { return {{"Authorization", BasicAuthorization(creds_)}}; }

  // The id of the last-resort Kyber prekey UploadKeys publishes.
  static constexpr uint32_t kKyberLastResortId = 0xFFFFF0;

  // Publishes the signed prekey and `count` one-time prekeys from
  // `first_id`; with `kyber`, also `count` one-time Kyber prekeys from
  // `first_id` and a last-resort one (kKyberLastResortId), so that peers
  // start version 4 sessions.
  absl::Status UploadKeys(int count, uint32_t first_id = 1, bool kyber = true) {
    nlohmann::json otks = nlohmann::json::array();
    for (const auto& k : crypto::GenerateOneTimePreKeys(first_id, count, random_)) {
      prekeys_[k.id] = k.key_pair;
      otks.push_back({{"key_id", k.id},
                      {"public_key", absl::Base64Escape(ToString(k.key_pair.public_key.Serialize()))}});
    }
    nlohmann::json body = {
        {"identity_key", absl::Base64Escape(ToString(identity_.key_pair.public_key.Serialize()))},
        {"signed_prekey",
         {{"key_id", signed_prekey_.id},
          {"public_key", absl::Base64Escape(ToString(signed_prekey_.key_pair.public_key.Serialize()))},
          {"signature", absl::Base64Escape(ToString(signed_prekey_.signature))}}},
        {"one_time_prekeys", otks}};
    if (kyber) {
      auto publish = [this](const crypto::KyberPreKey& k) {
        kyber_prekeys_.insert_or_assign(k.id, k.key_pair.secret_key);
        return nlohmann::json{{"key_id", k.id},
                              {"public_key", absl::Base64Escape(ToString(k.key_pair.public_key.Serialize()))},
                              {"signature", absl::Base64Escape(ToString(k.signature))}};
      };
      nlohmann::json kyber_keys = nlohmann::json::array();
      for (const auto& k : crypto::GenerateKyberPreKeys(identity_.key_pair, first_id, count, random_))
        kyber_keys.push_back(publish(k));
      body["kyber_prekeys"] = kyber_keys;
      body["kyber_last_resort"] =
          publish(crypto::GenerateKyberPreKey(identity_.key_pair, kKyberLastResortId, random_));
    }
    ASSIGN_OR_RETURN(auto res, http_.Request("PUT", "/v1/keys", body.dump(), Auth()));
    return net::StatusFromResponse(res);
  }

  absl::StatusOr<nlohmann::json> FetchBundleJson(const std::string& number) {
    ASSIGN_OR_RETURN(auto res, http_.Get("/v1/keys/" + number, Auth()));
    RETURN_IF_ERROR(net::StatusFromResponse(res));
    return nlohmann::json::parse(res.body);
  }

  static absl::StatusOr<crypto::PreKeyBundle> BundleFromJson(const nlohmann::json& j) {
    auto key = [](const nlohmann::json& v) -> absl::StatusOr<crypto::PublicKey> {
      std::string bytes;
      absl::Base64Unescape(v.get<std::string>(), &bytes);
      return crypto::PublicKey::Deserialize(AsBytes(bytes));
    };
    const auto& d = j["devices"][0];
    crypto::PreKeyBundle b;
    b.registration_id = d["registration_id"];
    b.device_id = d["device_id"];
    ASSIGN_OR_RETURN(b.identity_key, key(j["identity_key"]));
    b.signed_prekey.id = d["signed_prekey"]["key_id"];
    ASSIGN_OR_RETURN(b.signed_prekey.key, key(d["signed_prekey"]["public_key"]));
    std::string sig;
    absl::Base64Unescape(d["signed_prekey"]["signature"].get<std::string>(), &sig);
    if (sig.size() != b.signed_prekey_signature.size())
      return absl::InvalidArgumentError("bad signature size");
    std::copy(sig.begin(), sig.end(), b.signed_prekey_signature.begin());
    if (!d["one_time_prekey"].is_null()) {
      crypto::PublicPreKey otk;
      otk.id = d["one_time_prekey"]["key_id"];
      ASSIGN_OR_RETURN(otk.key, key(d["one_time_prekey"]["public_key"]));
      b.one_time_prekey = otk;
    }
    if (d.contains("kyber_prekey") && !d["kyber_prekey"].is_null()) {
      const auto& k = d["kyber_prekey"];
      std::string bytes, signature;
      absl::Base64Unescape(k["public_key"].get<std::string>(), &bytes);
      absl::Base64Unescape(k["signature"].get<std::string>(), &signature);
      ASSIGN_OR_RETURN(auto kem, crypto::KemPublicKey::Deserialize(AsBytes(bytes)));
      crypto::PublicKyberPreKey kyber{k["key_id"].get<uint32_t>(), std::move(kem), {}};
      if (signature.size() != kyber.signature.size()) return absl::InvalidArgumentError("bad signature size");
      std::copy(signature.begin(), signature.end(), kyber.signature.begin());
      b.kyber_prekey = std::move(kyber);
    }
    return b;
  }

  // Encrypts for `number`, starting a session from its bundle if needed.
  absl::StatusOr<crypto::CiphertextMessage> Encrypt(const std::string& number, const std::string& plaintext) {
    if (!sessions_[number].has_session()) {
      ASSIGN_OR_RETURN(auto j, FetchBundleJson(number));
      ASSIGN_OR_RETURN(auto bundle, BundleFromJson(j));
      RETURN_IF_ERROR(crypto::InitiateSession(sessions_[number], identity_, bundle, random_));
    }
    return crypto::Encrypt(sessions_[number], AsBytes(plaintext));
  }

  absl::StatusOr<std::string> Decrypt(const pb::Envelope& e) {
    auto& record = sessions_[e.sender_number()];
    if (e.type() == pb::ENVELOPE_TYPE_PREKEY_MESSAGE) {
      crypto::PreKeyLookup lookup;
      lookup.signed_prekey = [this](uint32_t id) -> absl::StatusOr<crypto::KeyPair> {
        if (id != signed_prekey_.id) return absl::NotFoundError("signed prekey");
        return signed_prekey_.key_pair;
      };
      lookup.one_time_prekey = [this](uint32_t id) -> absl::StatusOr<crypto::KeyPair> {
        auto it = prekeys_.find(id);
        if (it == prekeys_.end()) return absl::NotFoundError("one-time prekey");
        return it->second;
      };
      lookup.kyber_prekey = [this](uint32_t id) -> absl::StatusOr<crypto::KemSecretKey> {
        auto it = kyber_prekeys_.find(id);
        if (it == kyber_prekeys_.end()) return absl::NotFoundError("Kyber prekey");
        return it->second;
      };
      ASSIGN_OR_RETURN(auto r, crypto::DecryptPreKeySignalMessage(record, identity_, lookup,
                                                                  AsBytes(e.ciphertext()), random_));
      if (r.consumed_one_time_prekey) prekeys_.erase(*r.consumed_one_time_prekey);
      if (r.used_kyber_prekey && *r.used_kyber_prekey != kKyberLastResortId)
        kyber_prekeys_.erase(*r.used_kyber_prekey);
      return std::string(r.plaintext.begin(), r.plaintext.end());
    }
    ASSIGN_OR_RETURN(auto p, crypto::DecryptSignalMessage(record, AsBytes(e.ciphertext()), random_));
    return std::string(p.begin(), p.end());
  }

  absl::Status Connect() {
    ASSIGN_OR_RETURN(ws_,
                     net::WebSocketClient::Connect(runtime(), address_, std::string(kWebSocketPath), Auth()));
    return absl::OkStatus();
  }
  void Disconnect() { ws_.reset(); }

  void SendFrame(std::string bytes) { ws_->Send(std::move(bytes)); }

  absl::StatusOr<pb::ServerFrame> Next(absl::Duration timeout = absl::Seconds(10)) {
    ASSIGN_OR_RETURN(auto m, ws_->Receive(timeout));
    return DecodeServerFrame(m.data);
  }

  // Submits and waits for the answer; Deliver frames that arrive meanwhile
  // are kept for Inbox().
  absl::StatusOr<pb::SubmitResult> Submit(const std::string& to, pb::EnvelopeType type,
                                          const std::string& ciphertext, std::string client_message_id = "") {
    if (client_message_id.empty()) client_message_id = random_.Hex(16);
    uint64_t rid = ++request_id_;
    ws_->Send(EncodeSubmit(rid, client_message_id, RecipientByNumber(to), type, ciphertext));
    for (;;) {
      ASSIGN_OR_RETURN(auto f, Next());
      if (f.has_deliver() || f.has_queue_empty()) {
        pending_.push_back(std::move(f));
        continue;
      }
      if (f.request_id() != rid) continue;
      if (f.has_error()) return StatusFromError(f.error());
      return f.submit_result();
    }
  }

  // Encrypts `text` for `to` and submits it.
  absl::StatusOr<pb::SubmitResult> SendText(const std::string& to, const std::string& text) {
    ASSIGN_OR_RETURN(auto ct, Encrypt(to, text));
    auto type = ct.type == crypto::MessageType::kPreKey ? pb::ENVELOPE_TYPE_PREKEY_MESSAGE
                                                        : pb::ENVELOPE_TYPE_SIGNAL_MESSAGE;
    return Submit(to, type, ToString(ct.bytes));
  }

  // Receives until `n` envelopes arrived (and, if asked, QueueEmpty), acking them.
  absl::StatusOr<std::vector<pb::Envelope>> Receive(size_t n, bool expect_queue_empty = false,
                                                    absl::Duration timeout = absl::Seconds(10)) {
    std::vector<pb::Envelope> out;
    bool empty_seen = !expect_queue_empty;
    auto take = [&](const pb::ServerFrame& f) {
      if (f.has_deliver()) out.push_back(f.deliver().envelope());
      if (f.has_queue_empty()) empty_seen = true;
    };
    while (!pending_.empty()) {
      take(pending_.front());
      pending_.erase(pending_.begin());
    }
    while (out.size() < n || !empty_seen) {
      ASSIGN_OR_RETURN(auto f, Next(timeout));
      take(f);
    }
    std::vector<uint64_t> ids;
    for (const auto& e : out) ids.push_back(e.server_id());
    if (!ids.empty()) ws_->Send(EncodeAck(ids));
    return out;
  }

  const Credentials& credentials() const { return creds_; }
  void set_credentials(Credentials c) { creds_ = std::move(c); }
  const std::string& number() const { return number_; }
  net::HttpClient& http() { return http_; }
  net::WebSocketClient* ws() { return ws_.get(); }
  const crypto::LocalIdentity& identity() const { return identity_; }
  // The version of the current session with `number` (0: none).
  uint32_t SessionVersion(const std::string& number) const {
    auto it = sessions_.find(number);
    return it != sessions_.end() && it->second.has_session() ? it->second.version() : 0;
  }
  // Kyber prekeys whose secrets this user still holds.
  size_t KyberPreKeysHeld() const { return kyber_prekeys_.size(); }

  static net::ClientRuntime& runtime() {
    static net::ClientRuntime rt(1);
    return rt;
  }

 private:
  std::string address_;
  std::filesystem::path data_dir_;
  std::string number_;
  Random& random_;
  net::HttpClient http_;
  Credentials creds_;
  crypto::LocalIdentity identity_;
  crypto::SignedPreKey signed_prekey_;
  std::map<uint32_t, crypto::KeyPair> prekeys_;
  std::map<uint32_t, crypto::KemSecretKey> kyber_prekeys_;
  std::map<std::string, crypto::SessionRecord> sessions_;
  std::unique_ptr<net::WebSocketClient> ws_;
  std::vector<pb::ServerFrame> pending_;
  uint64_t request_id_ = 0;
};

// Counts occurrences of `needle` in a file (0 if it does not exist).
inline size_t CountInFile(const std::filesystem::path& file, const std::string& needle) {
  std::ifstream in(file, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t n = 0;
  for (size_t pos = data.find(needle); pos != std::string::npos; pos = data.find(needle, pos + 1)) ++n;
  return n;
}

// The relay's database files: messenger.db and its WAL and shared memory.
inline std::vector<std::filesystem::path> RelayDatabaseFiles(const std::filesystem::path& data_dir) {
  std::vector<std::filesystem::path> out;
  for (const char* name : {"messenger.db", "messenger.db-wal", "messenger.db-shm", "messenger.db-journal"}) {
    if (std::filesystem::exists(data_dir / name)) out.push_back(data_dir / name);
  }
  return out;
}

}  // namespace tandem::relay::testing
