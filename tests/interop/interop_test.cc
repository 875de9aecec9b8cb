// Interop test: tandem's Signal Protocol library against another
// implementation run as a Node child process that speaks one JSON object per
// line: either @privacyresearch/libsignal-protocol-typescript
// (tests/interop/signal_peer.cjs, version 3 sessions) or, with --libsignal,
// libsignal itself (tests/libsignal/libsignal_peer.cjs: version 4 sessions
// with PQXDH and the post-quantum ratchet, sender keys).
//
// Scenarios: this side initiates to the peer and the peer initiates to this
// side; in each, more than 1,000 messages each way, with out-of-order
// delivery, long one-way bursts, alternating turns, prekey messages that
// arrive after later messages, and both sides computing the same safety
// number. Also XEdDSA signatures in both directions and sessions without a
// one-time prekey; with libsignal, sessions on a one-time and on the
// last-resort Kyber prekey. Any failure, including a peer that cannot be
// started or stops answering, fails the test.
//
// Usage: crypto_interop_test [--libsignal] PATH/TO/PEER.cjs
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "common/random.h"
#include "crypto/fingerprint.h"
#include "crypto/keys.h"
#include "crypto/sender_keys.h"
#include "crypto/session.h"
#include "crypto/xeddsa.h"

extern char** environ;

namespace tandem::crypto {
namespace {

using Json = nlohmann::json;

int g_checks = 0;
int g_failures = 0;
// The peer is libsignal: v4 sessions, and SignalMessages are type 2 (the
// older peer calls them 1).
bool g_libsignal = false;

#define CHECK_TRUE(cond, what)                                                                   \
  do {                                                                                           \
    ++g_checks;                                                                                  \
    if (!(cond)) {                                                                               \
      ++g_failures;                                                                              \
      std::fprintf(stderr, "FAILED %s:%d: %s\n", __FILE__, __LINE__, std::string(what).c_str()); \
    }                                                                                            \
  } while (0)

[[noreturn]] void Fatal(const std::string& what) {
  std::fprintf(stderr, "FATAL: %s\n", what.c_str());
  std::printf("0 passed, 1 failed\n");
  std::exit(1);
}

std::string B64(std::span<const uint8_t> bytes) {
  return absl::Base64Escape(absl::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

std::vector<uint8_t> Unb64(const std::string& s) {
  std::string out;
  if (!absl::Base64Unescape(s, &out)) Fatal("peer sent invalid base64");
  return std::vector<uint8_t>(out.begin(), out.end());
}

std::vector<uint8_t> Text(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }

// The Node peer as a child process with pipes on stdin and stdout.
class NodePeer {
 public:
  explicit NodePeer(const std::string& script) {
    int to_child[2], from_child[2];
    if (pipe(to_child) != 0 || pipe(from_child) != 0) Fatal("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, to_child[0], 0);
    posix_spawn_file_actions_adddup2(&actions, from_child[1], 1);
    posix_spawn_file_actions_addclose(&actions, to_child[1]);
    posix_spawn_file_actions_addclose(&actions, from_child[0]);
    std::string node = "node";
    std::vector<char*> argv = {node.data(), const_cast<char*>(script.c_str()), nullptr};
    if (posix_spawnp(&pid_, "node", &actions, nullptr, argv.data(), environ) != 0) {
      Fatal("cannot start node (is Node.js installed?)");
    }
    posix_spawn_file_actions_destroy(&actions);
    close(to_child[0]);
    close(from_child[1]);
    in_ = to_child[1];
    out_ = from_child[0];
  }

  ~NodePeer() {
    close(in_);
    close(out_);
    int status = 0;
    waitpid(pid_, &status, 0);
  }

  // Sends one request and returns the response; any transport failure or
  // an {"ok": false} answer is fatal.
  Json Call(const Json& request) {
    std::string line = request.dump() + "\n";
    for (size_t done = 0; done < line.size();) {
      ssize_t n = write(in_, line.data() + done, line.size() - done);
      if (n <= 0) Fatal("peer is not reading (did it crash?)");
      done += static_cast<size_t>(n);
    }
    std::string response = ReadLine();
    Json parsed = Json::parse(response, nullptr, false);
    if (parsed.is_discarded()) Fatal("peer sent a malformed response: " + response.substr(0, 200));
    if (!parsed.value("ok", false)) Fatal("peer failed " + request.value("op", "?") + ": " + parsed.dump());
    return parsed;
  }

 private:
  std::string ReadLine() {
    for (;;) {
      size_t nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      char chunk[65536];
      ssize_t n = read(out_, chunk, sizeof chunk);
      if (n <= 0) Fatal("peer closed its output (did it crash? see stderr)");
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

  pid_t pid_ = -1;
  int in_ = -1;
  int out_ = -1;
  std::string buffer_;
};

struct PeerResult {
  bool ok = false;
  std::vector<uint8_t> plaintext;
  std::string error;
};

enum class Kyber { kNone, kOneTime, kLastResort };

// Our side of the conversation: identity, prekeys, one session record.
class Local {
 public:
  static constexpr uint32_t kLastResortId = 0xFFFFF0;

  explicit Local(Random& random)
      : random_(random),
        identity_{KeyPair::Generate(random), GenerateRegistrationId(random)},
        signed_prekey_(GenerateSignedPreKey(identity_.key_pair, 5, random)),
        last_resort_(GenerateKyberPreKey(identity_.key_pair, kLastResortId, random)) {}

  PreKeyBundle PublishBundle(bool one_time, Kyber kyber = Kyber::kNone) {
    const OneTimePreKey* otk = nullptr;
    if (one_time) {
      auto keys = GenerateOneTimePreKeys(next_prekey_id_++, 1, random_);
      auto [it, _] = one_time_.emplace(keys[0].id, keys[0]);
      otk = &it->second;
    }
    const KyberPreKey* kpk = nullptr;
    if (kyber == Kyber::kOneTime) {
      auto [it, _] =
          kyber_.emplace(next_kyber_id_, GenerateKyberPreKey(identity_.key_pair, next_kyber_id_, random_));
      ++next_kyber_id_;
      kpk = &it->second;
    } else if (kyber == Kyber::kLastResort) {
      kpk = &last_resort_;
    }
    return MakePreKeyBundle(identity_.registration_id, 1, identity_.key_pair.public_key, signed_prekey_, otk,
                            kpk);
  }

  PreKeyLookup Lookup() {
    return PreKeyLookup{[this](uint32_t id) -> absl::StatusOr<KeyPair> {
                          if (id != signed_prekey_.id) return absl::NotFoundError("unknown signed prekey");
                          return signed_prekey_.key_pair;
                        },
                        [this](uint32_t id) -> absl::StatusOr<KeyPair> {
                          auto it = one_time_.find(id);
                          if (it == one_time_.end()) return absl::NotFoundError("unknown one-time prekey");
                          return it->second.key_pair;
                        },
                        [this](uint32_t id) -> absl::StatusOr<KemSecretKey> {
                          if (id == last_resort_.id) return last_resort_.key_pair.secret_key;
                          auto it = kyber_.find(id);
                          if (it == kyber_.end()) return absl::NotFoundError("unknown Kyber prekey");
                          return it->second.key_pair.secret_key;
                        }};
  }

  absl::StatusOr<std::vector<uint8_t>> Decrypt(int peer_type, const std::vector<uint8_t>& body,
                                               bool* new_session = nullptr) {
    if (peer_type == 3) {
      auto r = DecryptPreKeySignalMessage(record_, identity_, Lookup(), body, random_);
      if (!r.ok()) return r.status();
      if (r->consumed_one_time_prekey) one_time_.erase(*r->consumed_one_time_prekey);
      // A one-time Kyber prekey is used up; the last-resort one stays.
      if (r->used_kyber_prekey && *r->used_kyber_prekey != last_resort_.id)
        kyber_.erase(*r->used_kyber_prekey);
      if (new_session) *new_session = r->new_session;
      return std::move(r->plaintext);
    }
    return DecryptSignalMessage(record_, body, random_);
  }

  // Round-trips the record through its serialized form, as a client that
  // persists after every message would.
  void Persist() {
    auto back = SessionRecord::Deserialize(record_.Serialize());
    CHECK_TRUE(back.ok(), "session record round trip");
    if (back.ok()) record_ = std::move(*back);
  }

  LocalIdentity& identity() { return identity_; }
  SessionRecord& record() { return record_; }
  size_t one_time_count() const { return one_time_.size(); }
  size_t kyber_count() const { return kyber_.size(); }

 private:
  Random& random_;
  LocalIdentity identity_;
  SignedPreKey signed_prekey_;
  std::map<uint32_t, OneTimePreKey> one_time_;
  std::map<uint32_t, KyberPreKey> kyber_;
  KyberPreKey last_resort_;
  uint32_t next_prekey_id_ = 1;
  uint32_t next_kyber_id_ = 1;
  SessionRecord record_;
};

int WireType(MessageType t) { return t == MessageType::kPreKey ? 3 : (g_libsignal ? 2 : 1); }

struct Outgoing {
  std::string text;
  int type;
  std::vector<uint8_t> body;
};

class Conversation {
 public:
  Conversation(NodePeer& peer, Local& local, Random& random) : peer_(peer), local_(local), random_(random) {}

  std::vector<Outgoing> LocalSend(int count, const std::string& tag) {
    std::vector<Outgoing> out;
    for (int i = 0; i < count; ++i) {
      std::string text =
          tag + " c->n #" + std::to_string(sent_by_local_++) + std::string((i * 37) % 180, 'x');
      auto m = Encrypt(local_.record(), Text(text));
      CHECK_TRUE(m.ok(), "local encrypt");
      if (!m.ok()) continue;
      out.push_back(Outgoing{text, WireType(m->type), m->bytes});
    }
    return out;
  }

  std::vector<Outgoing> PeerSend(int count, const std::string& tag) {
    std::vector<std::string> texts;
    Json plaintexts = Json::array();
    for (int i = 0; i < count; ++i) {
      texts.push_back(tag + " n->c #" + std::to_string(sent_by_peer_++) + std::string((i * 53) % 170, 'y'));
      plaintexts.push_back(B64(Text(texts.back())));
    }
    Json r = peer_.Call({{"op", "encrypt"}, {"plaintexts", plaintexts}});
    std::vector<Outgoing> out;
    for (size_t i = 0; i < texts.size(); ++i) {
      const Json& m = r["messages"][i];
      out.push_back(Outgoing{texts[i], m["type"].get<int>(), Unb64(m["body"].get<std::string>())});
    }
    return out;
  }

  // Delivers messages from us to the peer and checks each plaintext.
  void ToPeer(const std::vector<Outgoing>& messages) {
    if (messages.empty()) return;
    Json list = Json::array();
    for (const auto& m : messages) list.push_back({{"type", m.type}, {"body", B64(m.body)}});
    Json r = peer_.Call({{"op", "decrypt"}, {"messages", list}});
    for (size_t i = 0; i < messages.size(); ++i) {
      const Json& res = r["results"][i];
      bool ok = res["ok"].get<bool>() && Unb64(res["plaintext"].get<std::string>()) == Text(messages[i].text);
      CHECK_TRUE(ok, "peer decrypts '" + messages[i].text.substr(0, 40) +
                         "': " + res.value("error", "wrong plaintext"));
      delivered_to_peer_ += ok;
    }
  }

  void ToLocal(const std::vector<Outgoing>& messages) {
    for (const auto& m : messages) {
      auto plain = local_.Decrypt(m.type, m.body);
      bool ok = plain.ok() && *plain == Text(m.text);
      CHECK_TRUE(ok, "local decrypts '" + m.text.substr(0, 40) +
                         "': " + (plain.ok() ? "wrong plaintext" : plain.status().ToString()));
      delivered_to_local_ += ok;
      if (delivered_to_local_ % 97 == 0) local_.Persist();
    }
  }

  // Shuffles within windows, so delivery is out of order but bounded.
  std::vector<Outgoing> Shuffled(std::vector<Outgoing> m, size_t window) {
    std::mt19937 rng(static_cast<uint32_t>(random_.NextU64()));
    for (size_t start = 0; start < m.size(); start += window) {
      std::shuffle(m.begin() + start, m.begin() + std::min(m.size(), start + window), rng);
    }
    return m;
  }

  // The shared middle of both scenarios: bursts each way, alternating turns,
  // and messages held back across ratchet steps.
  void Exchange(int burst) {
    // Long one-way burst to the peer, out of order in windows, with a few
    // messages held back until after later ratchet steps.
    auto to_peer = LocalSend(burst, "burst");
    std::vector<Outgoing> held_for_peer(to_peer.begin() + 10, to_peer.begin() + 15);
    to_peer.erase(to_peer.begin() + 10, to_peer.begin() + 15);
    ToPeer(Shuffled(to_peer, 40));

    auto to_local = PeerSend(burst, "burst");
    std::vector<Outgoing> held_for_local(to_local.begin() + 20, to_local.begin() + 25);
    to_local.erase(to_local.begin() + 20, to_local.begin() + 25);
    ToLocal(Shuffled(to_local, 40));

    // Alternating turns: every turn a DH ratchet step on the receiving side.
    std::mt19937 rng(static_cast<uint32_t>(random_.NextU64()));
    for (int turn = 0; turn < 300; ++turn) {
      if (turn == 6) {
        // The held-back messages arrive three ratchet steps late (within the
        // bound of old receiving chains a session keeps).
        ToPeer(held_for_peer);
        ToLocal(held_for_local);
      }
      int n = 1 + static_cast<int>(rng() % 3);
      if (turn % 2 == 0) {
        auto m = LocalSend(n, "turn" + std::to_string(turn));
        if (n > 1 && rng() % 2) std::reverse(m.begin(), m.end());
        ToPeer(m);
      } else {
        auto m = PeerSend(n, "turn" + std::to_string(turn));
        if (n > 1 && rng() % 2) std::reverse(m.begin(), m.end());
        ToLocal(m);
      }
    }
  }

  int delivered_to_peer() const { return delivered_to_peer_; }
  int delivered_to_local() const { return delivered_to_local_; }

 private:
  NodePeer& peer_;
  Local& local_;
  Random& random_;
  int sent_by_local_ = 0;
  int sent_by_peer_ = 0;
  int delivered_to_peer_ = 0;
  int delivered_to_local_ = 0;
};

PublicKey KeyFromB64(const std::string& s) {
  auto key = PublicKey::Deserialize(Unb64(s));
  if (!key.ok()) Fatal("peer sent a bad public key: " + key.status().ToString());
  return *key;
}

PreKeyBundle BundleFromPeer(const Json& b) {
  PreKeyBundle bundle;
  bundle.registration_id = b["registrationId"].get<uint32_t>();
  bundle.identity_key = KeyFromB64(b["identityKey"].get<std::string>());
  bundle.signed_prekey =
      PublicPreKey{b["signedPreKeyId"].get<uint32_t>(), KeyFromB64(b["signedPreKey"].get<std::string>())};
  auto sig = Unb64(b["signature"].get<std::string>());
  if (sig.size() != kSignatureSize) Fatal("peer signature has the wrong size");
  std::copy(sig.begin(), sig.end(), bundle.signed_prekey_signature.begin());
  if (b.contains("preKey")) {
    bundle.one_time_prekey =
        PublicPreKey{b["preKeyId"].get<uint32_t>(), KeyFromB64(b["preKey"].get<std::string>())};
  }
  if (b.contains("kyberPreKey")) {
    auto key = KemPublicKey::Deserialize(Unb64(b["kyberPreKey"].get<std::string>()));
    if (!key.ok()) Fatal("peer sent a bad Kyber prekey: " + key.status().ToString());
    auto ksig = Unb64(b["kyberSignature"].get<std::string>());
    if (ksig.size() != kSignatureSize) Fatal("peer Kyber signature has the wrong size");
    PublicKyberPreKey kyber{b["kyberPreKeyId"].get<uint32_t>(), *key, {}};
    std::copy(ksig.begin(), ksig.end(), kyber.signature.begin());
    bundle.kyber_prekey = std::move(kyber);
  }
  return bundle;
}

Json BundleToJson(const PreKeyBundle& b) {
  Json j = {{"op", "start"},
            {"identityKey", B64(b.identity_key.Serialize())},
            {"registrationId", b.registration_id},
            {"signedPreKeyId", b.signed_prekey.id},
            {"signedPreKey", B64(b.signed_prekey.key.Serialize())},
            {"signature", B64(b.signed_prekey_signature)}};
  if (b.one_time_prekey) {
    j["preKeyId"] = b.one_time_prekey->id;
    j["preKey"] = B64(b.one_time_prekey->key.Serialize());
  }
  if (b.kyber_prekey) {
    j["kyberPreKeyId"] = b.kyber_prekey->id;
    j["kyberPreKey"] = B64(b.kyber_prekey->key.Serialize());
    j["kyberSignature"] = B64(b.kyber_prekey->signature);
  }
  return j;
}

// The session version each side must reach with this peer.
uint32_t ExpectedVersion() { return g_libsignal ? 4 : 3; }

void CheckSafetyNumber(NodePeer& peer, Local& local, const PublicKey& peer_identity) {
  const std::string local_id = "+14155550100", peer_id = "+14155550199";
  std::string ours = SafetyNumber(local_id, local.identity().key_pair.public_key, peer_id, peer_identity);
  Json r = peer.Call({{"op", "fingerprint"},
                      {"localId", peer_id},
                      {"remoteId", local_id},
                      {"remoteKey", B64(local.identity().key_pair.public_key.Serialize())}});
  std::string theirs = r["number"].get<std::string>();
  CHECK_TRUE(ours.size() == 60 && ours == theirs, "safety numbers differ: " + ours + " vs " + theirs);
  std::printf("  safety number (both sides): %s\n", ours.c_str());
}

void LocalInitiates(const std::string& script, Random& random, bool one_time, int burst) {
  std::printf("scenario: C++ initiates to the peer (%s one-time prekey)\n", one_time ? "with" : "without");
  NodePeer peer(script);
  Json init = peer.Call({{"op", "init"}});
  Local local(random);
  PreKeyBundle bundle = BundleFromPeer(peer.Call({{"op", "bundle"}, {"oneTime", one_time}}));
  auto started = InitiateSession(local.record(), local.identity(), bundle, random);
  CHECK_TRUE(started.ok(),
             "initiate session from the peer's bundle (XEdDSA signature by the peer): " + started.ToString());
  if (!started.ok()) return;
  CHECK_TRUE(local.record().version() == ExpectedVersion(),
             "session version " + std::to_string(local.record().version()));
  Conversation c(peer, local, random);

  auto prekey_messages = c.LocalSend(5, "prekey");
  for (const auto& m : prekey_messages) {
    CHECK_TRUE(m.type == 3, "first messages are PreKeySignalMessages");
    CHECK_TRUE(m.body[0] >> 4 == ExpectedVersion(), "prekey message version byte");
  }
  c.ToPeer({prekey_messages[4]});  // a later prekey message arrives first
  c.ToLocal(c.PeerSend(1, "reply"));
  auto after = c.LocalSend(2, "after-reply");
  for (const auto& m : after) CHECK_TRUE(m.type != 3, "SignalMessages once the peer replied");
  c.ToPeer(after);
  // The earlier prekey messages arrive after later messages.
  c.ToPeer({prekey_messages[2], prekey_messages[0], prekey_messages[3], prekey_messages[1]});
  if (bundle.one_time_prekey) {
    Json has = peer.Call({{"op", "hasPreKey"}, {"id", bundle.one_time_prekey->id}});
    CHECK_TRUE(!has["present"].get<bool>(), "peer consumed its one-time prekey");
  }
  if (burst > 0) c.Exchange(burst);
  std::printf("  delivered C++ -> peer: %d, peer -> C++: %d\n", c.delivered_to_peer(),
              c.delivered_to_local());
  if (burst > 0) {
    CHECK_TRUE(c.delivered_to_peer() >= 1000 && c.delivered_to_local() >= 1000,
               "at least 1,000 messages each way");
  }
  CheckSafetyNumber(peer, local, KeyFromB64(init["identityKey"].get<std::string>()));
}

void PeerInitiates(const std::string& script, Random& random, bool one_time, int burst,
                   Kyber kyber = Kyber::kNone) {
  std::printf("scenario: the peer initiates to C++ (%s one-time prekey%s)\n", one_time ? "with" : "without",
              kyber == Kyber::kOneTime      ? ", one-time Kyber prekey"
              : kyber == Kyber::kLastResort ? ", last-resort Kyber prekey"
                                            : "");
  NodePeer peer(script);
  Json init = peer.Call({{"op", "init"}});
  Local local(random);
  PreKeyBundle bundle = local.PublishBundle(one_time, kyber);
  peer.Call(BundleToJson(bundle));  // the peer verifies our XEdDSA signatures
  Conversation c(peer, local, random);

  auto prekey_messages = c.PeerSend(5, "prekey");
  for (const auto& m : prekey_messages)
    CHECK_TRUE(m.type == 3, "peer's first messages are PreKeySignalMessages");
  bool new_session = false;
  auto first = local.Decrypt(prekey_messages[3].type, prekey_messages[3].body, &new_session);
  CHECK_TRUE(
      first.ok() && *first == Text(prekey_messages[3].text),
      "first prekey message (out of order): " + (first.ok() ? "wrong text" : first.status().ToString()));
  CHECK_TRUE(new_session, "first prekey message starts a session");
  CHECK_TRUE(local.one_time_count() == 0, "one-time prekey consumed");
  CHECK_TRUE(local.kyber_count() == 0, "a one-time Kyber prekey is consumed (none is published otherwise)");
  if (!local.record().has_session()) return;
  CHECK_TRUE(local.record().version() == ExpectedVersion(),
             "session version " + std::to_string(local.record().version()));
  c.ToPeer(c.LocalSend(1, "reply"));
  auto after = c.PeerSend(2, "after-reply");
  for (const auto& m : after) CHECK_TRUE(m.type != 3, "peer sends SignalMessages once we replied");
  c.ToLocal(after);
  for (int i : {0, 2, 1, 4}) {
    bool again = true;
    auto late = local.Decrypt(prekey_messages[i].type, prekey_messages[i].body, &again);
    CHECK_TRUE(late.ok() && *late == Text(prekey_messages[i].text),
               "late prekey message " + std::to_string(i) + ": " +
                   (late.ok() ? "wrong text" : late.status().ToString()));
    CHECK_TRUE(!again, "late prekey message reuses the session");
  }
  CHECK_TRUE(local.record().archived_count() == 0, "no extra sessions from late prekey messages");

  // A corrupted message is rejected and does not disturb the session.
  auto corrupt = c.PeerSend(1, "corrupt");
  corrupt[0].body[corrupt[0].body.size() - 3] ^= 0x40;
  auto before = local.record().Serialize();
  auto bad = local.Decrypt(corrupt[0].type, corrupt[0].body);
  CHECK_TRUE(!bad.ok() && local.record().Serialize() == before,
             "corrupted message rejected, state unchanged");

  if (burst > 0) c.Exchange(burst);
  std::printf("  delivered C++ -> peer: %d, peer -> C++: %d\n", c.delivered_to_peer(),
              c.delivered_to_local());
  if (burst > 0) {
    CHECK_TRUE(c.delivered_to_peer() >= 1000 && c.delivered_to_local() >= 1000,
               "at least 1,000 messages each way");
  }
  CheckSafetyNumber(peer, local, KeyFromB64(init["identityKey"].get<std::string>()));

  if (kyber == Kyber::kLastResort) {
    // The peer starts over on the same bundle: a second session on the
    // last-resort Kyber prekey, which we kept.
    peer.Call({{"op", "archive"}});
    peer.Call(BundleToJson(local.PublishBundle(/*one_time=*/false, Kyber::kLastResort)));
    auto again = c.PeerSend(3, "second session");
    bool fresh = false;
    auto got = local.Decrypt(again[1].type, again[1].body, &fresh);
    CHECK_TRUE(got.ok() && *got == Text(again[1].text),
               "second session on the last-resort Kyber prekey: " +
                   (got.ok() ? "wrong text" : got.status().ToString()));
    CHECK_TRUE(fresh, "the second session is new");
    c.ToLocal({again[2], again[0]});
    c.ToPeer(c.LocalSend(3, "second session reply"));
  }
}

// Checks signatures with one peer identity; returns whether that identity's
// Edwards form has the sign bit set (the peer then carries it in s).
bool Signatures(const std::string& script, Random& random) {
  std::printf("scenario: XEdDSA signatures in both directions\n");
  NodePeer peer(script);
  Json init = peer.Call({{"op", "init"}});
  PublicKey peer_key = KeyFromB64(init["identityKey"].get<std::string>());
  std::vector<std::vector<uint8_t>> messages;
  Json list = Json::array();
  for (int i = 0; i < 64; ++i) {
    std::vector<uint8_t> m(static_cast<size_t>(i * 3 + 1));
    random.Fill(m);
    messages.push_back(m);
    list.push_back(B64(m));
  }
  Json r = peer.Call({{"op", "sign"}, {"messages", list}});
  int verified = 0, sign_bit = 0;
  for (size_t i = 0; i < messages.size(); ++i) {
    auto sig = Unb64(r["signatures"][i].get<std::string>());
    sign_bit += sig.size() == 64 && (sig[63] & 0x80);
    verified += XEdDSAVerify(peer_key, messages[i], sig);
    sig[0] ^= 1;
    CHECK_TRUE(!XEdDSAVerify(peer_key, messages[i], sig), "tampered peer signature rejected");
  }
  CHECK_TRUE(verified == 64, "all 64 peer signatures verify, got " + std::to_string(verified));
  std::printf("  peer signatures verified: %d/64 (%d carried the sign bit in s)\n", verified, sign_bit);

  KeyPair ours = KeyPair::Generate(random);
  Json items = Json::array();
  for (size_t i = 0; i < messages.size(); ++i) {
    Signature sig = XEdDSASign(ours.private_key, messages[i], random);
    if (i % 8 == 7) sig[40] ^= 1;  // every eighth is a forgery
    items.push_back({{"message", B64(messages[i])}, {"signature", B64(sig)}});
  }
  Json v = peer.Call({{"op", "verify"}, {"key", B64(ours.public_key.Serialize())}, {"items", items}});
  int accepted = 0;
  for (size_t i = 0; i < messages.size(); ++i) {
    bool ok = v["results"][i].get<bool>();
    CHECK_TRUE(ok == (i % 8 != 7), "peer verdict on our signature " + std::to_string(i));
    accepted += ok;
  }
  std::printf("  our signatures accepted by the peer: %d/56, forgeries rejected: %d/8\n", accepted,
              static_cast<int>(messages.size()) / 8 - (accepted - 56));
  return sign_bit > 0;
}

// A group of three: tandem and two libsignal members, each sending with its
// own sender key. Distribution messages go straight to the members (in an
// app they travel over the 1:1 sessions tested above). Delivery is out of
// order, and each side meets a sender whose chain ran far ahead.
void Group(const std::string& script, Random& random) {
  std::printf("scenario: a group of tandem and two libsignal members (sender keys)\n");
  const std::string dist_text = "d1d1d1d1-2222-4333-8444-555555555555";
  DistributionId dist;
  for (size_t i = 0, j = 0; i < dist.size(); ++j) {
    if (dist_text[j] == '-') continue;
    dist[i++] = static_cast<uint8_t>(std::stoi(dist_text.substr(j, 2), nullptr, 16));
    ++j;
  }
  const std::string tandem_name = "0a0a0a0a-0000-4000-8000-00000000000c";
  const std::string names[2] = {"0b0b0b0b-0000-4000-8000-00000000000a",
                                "0b0b0b0b-0000-4000-8000-00000000000b"};
  NodePeer l0(script), l1(script);
  NodePeer* peers[2] = {&l0, &l1};
  for (int i = 0; i < 2; ++i) peers[i]->Call({{"op", "init"}, {"name", names[i]}});
  auto sender = [](const std::string& name) { return Json{{"name", name}, {"deviceId", 1}}; };

  // Sender keys handed out: ours to both, theirs to us and to each other.
  SenderKeyRecord own, from[2];
  auto skdm = CreateSenderKeyDistributionMessage(own, dist, random);
  CHECK_TRUE(skdm.ok(), "create our distribution message");
  for (NodePeer* p : peers) {
    Json r = p->Call({{"op", "senderKeyProcess"}, {"skdm", B64(*skdm)}, {"sender", sender(tandem_name)}});
    CHECK_TRUE(r["distributionId"].get<std::string>() == dist_text, "libsignal reads our distribution id");
  }
  for (int i = 0; i < 2; ++i) {
    Json r = peers[i]->Call({{"op", "senderKeyCreate"}, {"distributionId", dist_text}});
    auto theirs = Unb64(r["skdm"].get<std::string>());
    auto info = InspectSenderKeyDistributionMessage(theirs);
    CHECK_TRUE(info.ok() && info->distribution_id == dist, "we read libsignal's distribution message");
    CHECK_TRUE(ProcessSenderKeyDistributionMessage(from[i], theirs).ok(), "process libsignal's distribution");
    peers[1 - i]->Call({{"op", "senderKeyProcess"}, {"skdm", r["skdm"]}, {"sender", sender(names[i])}});
  }

  std::mt19937 rng(static_cast<uint32_t>(random.NextU64()));
  int to_peers = 0, to_local = 0;
  uint32_t sent_by[2] = {0, 0};  // each member's chain iteration
  for (int round = 0; round < 4; ++round) {
    // We send; both members read out of order. In round 2 our chain runs
    // 400 ahead of what they last read.
    int count = round == 2 ? 450 : 60;
    std::vector<std::pair<std::string, std::vector<uint8_t>>> ours;
    for (int i = 0; i < count; ++i) {
      std::string text = "group r" + std::to_string(round) + " tandem #" + std::to_string(i);
      auto m = GroupEncrypt(own, Text(text), random);
      CHECK_TRUE(m.ok(), "group encrypt");
      ours.emplace_back(text, *m);
    }
    if (round == 2) ours.erase(ours.begin(), ours.begin() + 400);
    std::shuffle(ours.begin(), ours.end(), rng);
    for (NodePeer* p : peers) {
      Json list = Json::array();
      for (const auto& [text, m] : ours) list.push_back(B64(m));
      Json r = p->Call({{"op", "groupDecrypt"}, {"messages", list}, {"sender", sender(tandem_name)}});
      for (size_t i = 0; i < ours.size(); ++i) {
        bool ok = r["results"][i]["ok"].get<bool>() &&
                  Unb64(r["results"][i]["plaintext"].get<std::string>()) == Text(ours[i].first);
        CHECK_TRUE(
            ok, "libsignal member reads our group message: " + r["results"][i].value("error", "wrong text"));
        to_peers += ok;
      }
    }
    // Each libsignal member sends; we and the other member read out of
    // order. In round 3 the first member's chain runs 1,000 ahead.
    for (int i = 0; i < 2; ++i) {
      int n = round == 3 && i == 0 ? 1030 : 40;
      Json plaintexts = Json::array();
      std::vector<std::string> texts;
      for (int k = 0; k < n; ++k) {
        texts.push_back("group r" + std::to_string(round) + " member" + std::to_string(i) + " #" +
                        std::to_string(k));
        plaintexts.push_back(B64(Text(texts.back())));
      }
      Json r =
          peers[i]->Call({{"op", "groupEncrypt"}, {"distributionId", dist_text}, {"plaintexts", plaintexts}});
      std::vector<size_t> order(texts.size());
      for (size_t k = 0; k < order.size(); ++k) order[k] = k;
      if (n > 1000) order.erase(order.begin(), order.begin() + 1000);
      std::shuffle(order.begin(), order.end(), rng);
      Json list = Json::array();
      for (size_t k : order) {
        auto m = Unb64(r["messages"][k].get<std::string>());
        auto info = InspectSenderKeyMessage(m);
        CHECK_TRUE(info.ok() && info->iteration == sent_by[i] + k, "libsignal's group message header");
        auto got = GroupDecrypt(from[i], m);
        bool ok = got.ok() && *got == Text(texts[k]);
        CHECK_TRUE(
            ok, "we read libsignal's group message: " + (got.ok() ? "wrong text" : got.status().ToString()));
        to_local += ok;
        list.push_back(r["messages"][k]);
      }
      sent_by[i] += static_cast<uint32_t>(n);
      // A replay is refused.
      auto replay = GroupDecrypt(from[i], Unb64(r["messages"][order[0]].get<std::string>()));
      CHECK_TRUE(absl::IsAlreadyExists(replay.status()), "a replayed group message is refused");
      Json other =
          peers[1 - i]->Call({{"op", "groupDecrypt"}, {"messages", list}, {"sender", sender(names[i])}});
      for (size_t k = 0; k < order.size(); ++k) {
        CHECK_TRUE(other["results"][k]["ok"].get<bool>(), "the other libsignal member reads it");
      }
    }
  }
  std::printf("  group messages read by libsignal members: %d, by tandem: %d\n", to_peers, to_local);
  CHECK_TRUE(to_peers >= 2 * 230 && to_local >= 2 * 150, "group messages flowed both ways");
  auto restored = SenderKeyRecord::Deserialize(from[0].Serialize());
  CHECK_TRUE(restored.ok() && *restored == from[0], "sender key record round trip");
}

}  // namespace
}  // namespace tandem::crypto

int main(int argc, char** argv) {
  int arg = 1;
  if (argc == 3 && std::string(argv[1]) == "--libsignal") {
    tandem::crypto::g_libsignal = true;
    ++arg;
  }
  if (argc != arg + 1) {
    std::fprintf(stderr, "usage: %s [--libsignal] PATH/TO/PEER.cjs\n", argv[0]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  std::string script = argv[arg];
  tandem::SecureRandom random;
  using namespace tandem::crypto;
  // Peer identities whose Edwards sign bit is 0 and 1 sign differently on
  // the wire; keep drawing identities until both kinds were checked.
  bool seen[2] = {false, false};
  for (int i = 0; i < 12 && !(seen[0] && seen[1]); ++i) seen[Signatures(script, random)] = true;
  CHECK_TRUE(seen[0] && seen[1], "signatures checked for both Edwards sign bits");
  LocalInitiates(script, random, /*one_time=*/true, /*burst=*/800);
  LocalInitiates(script, random, /*one_time=*/false, /*burst=*/0);
  if (tandem::crypto::g_libsignal) {
    PeerInitiates(script, random, /*one_time=*/true, /*burst=*/800, Kyber::kOneTime);
    PeerInitiates(script, random, /*one_time=*/false, /*burst=*/0, Kyber::kOneTime);
    PeerInitiates(script, random, /*one_time=*/true, /*burst=*/0, Kyber::kLastResort);
    PeerInitiates(script, random, /*one_time=*/false, /*burst=*/0, Kyber::kLastResort);
    Group(script, random);
  } else {
    PeerInitiates(script, random, /*one_time=*/true, /*burst=*/800);
    PeerInitiates(script, random, /*one_time=*/false, /*burst=*/0);
  }
  std::printf("%d passed, %d failed\n", g_checks - g_failures, g_failures);
  return g_failures == 0 ? 0 : 1;
}
