// Tests for version 4 sessions: PQXDH with Kyber prekeys, the v4 wire
// format, the post-quantum ratchet's first epoch, and every v4 failure,
// each of which leaves the record as it was. The libsignal test decrypts
// messages that libsignal itself produced.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "crypto/internal/messages.h"
#include "crypto/internal/primitives.h"
#include "crypto/internal/session_state.h"
#include "crypto/internal/spqr.h"
#include "crypto/session.h"
#include "crypto/test_util.h"

namespace tandem::crypto {
namespace {

using testing::Bytes;
using testing::FromHex;

// A device with EC prekeys, one-time Kyber prekeys and a last-resort one.
struct PqParty {
  PqParty(Random& random, uint32_t first_id) {
    identity.key_pair = KeyPair::Generate(random);
    identity.registration_id = GenerateRegistrationId(random);
    signed_prekey = GenerateSignedPreKey(identity.key_pair, 1, random);
    for (auto& k : GenerateOneTimePreKeys(first_id, 3, random)) one_time.emplace(k.id, k);
    for (auto& k : GenerateKyberPreKeys(identity.key_pair, first_id, 2, random)) kyber.emplace(k.id, k);
    last_resort.emplace(GenerateKyberPreKey(identity.key_pair, 0xFFFF, random));
  }

  PreKeyBundle Bundle(bool with_one_time, bool last_resort_kyber) const {
    const OneTimePreKey* otk = with_one_time && !one_time.empty() ? &one_time.begin()->second : nullptr;
    const KyberPreKey* kpk = last_resort_kyber ? &*last_resort : &kyber.begin()->second;
    return MakePreKeyBundle(identity.registration_id, 1, identity.key_pair.public_key, signed_prekey, otk,
                            kpk);
  }

  PreKeyLookup Lookup() {
    PreKeyLookup lookup;
    lookup.signed_prekey = [this](uint32_t id) -> absl::StatusOr<KeyPair> {
      if (id != signed_prekey.id) return absl::NotFoundError("no such signed prekey");
      return signed_prekey.key_pair;
    };
    lookup.one_time_prekey = [this](uint32_t id) -> absl::StatusOr<KeyPair> {
      auto it = one_time.find(id);
      if (it == one_time.end()) return absl::NotFoundError("no such one-time prekey");
      return it->second.key_pair;
    };
    lookup.kyber_prekey = [this](uint32_t id) -> absl::StatusOr<KemSecretKey> {
      if (id == last_resort->id) return last_resort->key_pair.secret_key;
      auto it = kyber.find(id);
      if (it == kyber.end()) return absl::NotFoundError("no such Kyber prekey");
      return it->second.key_pair.secret_key;
    };
    return lookup;
  }

  LocalIdentity identity;
  SignedPreKey signed_prekey;
  std::map<uint32_t, OneTimePreKey> one_time;
  std::map<uint32_t, KyberPreKey> kyber;
  std::optional<KyberPreKey> last_resort;
  SessionRecord record;
};

class SessionV4Test : public ::testing::Test {
 protected:
  SessionV4Test() : random_(44), alice_(random_, 100), bob_(random_, 200) {}

  absl::StatusOr<std::vector<uint8_t>> Deliver(PqParty& to, const CiphertextMessage& m) {
    if (m.type == MessageType::kSignal) return DecryptSignalMessage(to.record, m.bytes, random_);
    auto r = DecryptPreKeySignalMessage(to.record, to.identity, to.Lookup(), m.bytes, random_);
    if (!r.ok()) return r.status();
    if (r->consumed_one_time_prekey) to.one_time.erase(*r->consumed_one_time_prekey);
    if (r->used_kyber_prekey && *r->used_kyber_prekey != to.last_resort->id)
      to.kyber.erase(*r->used_kyber_prekey);
    return std::move(r->plaintext);
  }

  CiphertextMessage Send(PqParty& from, std::string_view text) {
    auto m = Encrypt(from.record, Bytes(text));
    EXPECT_TRUE(m.ok()) << m.status();
    return m.ok() ? *m : CiphertextMessage{};
  }

  SeededRandom random_;
  PqParty alice_;
  PqParty bob_;
};

TEST_F(SessionV4Test, EveryKindOfSetupGivesAVersion4SessionBothWays) {
  for (bool one_time : {true, false}) {
    for (bool last_resort : {false, true}) {
      SCOPED_TRACE(::testing::Message()
                   << "one-time EC prekey " << one_time << ", last-resort Kyber " << last_resort);
      PqParty a(random_, 300), b(random_, 400);
      PreKeyBundle bundle = b.Bundle(one_time, last_resort);
      ASSERT_TRUE(InitiateSession(a.record, a.identity, bundle, random_).ok());
      EXPECT_EQ(a.record.version(), 4u);
      CiphertextMessage first = Send(a, "hello");
      ASSERT_EQ(first.type, MessageType::kPreKey);
      EXPECT_EQ(first.bytes[0], 0x44);
      auto info = InspectPreKeySignalMessage(first.bytes);
      ASSERT_TRUE(info.ok()) << info.status();
      EXPECT_EQ(info->version, 4u);
      EXPECT_EQ(info->kyber_prekey_id, bundle.kyber_prekey->id);
      auto r = DecryptPreKeySignalMessage(b.record, b.identity, b.Lookup(), first.bytes, random_);
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_EQ(r->plaintext, Bytes("hello"));
      EXPECT_EQ(r->used_kyber_prekey, bundle.kyber_prekey->id);
      EXPECT_EQ(r->consumed_one_time_prekey.has_value(), one_time);
      EXPECT_EQ(b.record.version(), 4u);
      // A conversation with ratchet steps both ways.
      PqParty* parties[2] = {&a, &b};
      for (int i = 0; i < 10; ++i) {
        PqParty& from = *parties[i % 2];
        PqParty& to = *parties[1 - i % 2];
        std::string text = "message " + std::to_string(i);
        CiphertextMessage m = Send(from, text);
        EXPECT_EQ(m.bytes[0], 0x44);
        auto got = Deliver(to, m);
        ASSERT_TRUE(got.ok()) << got.status();
        EXPECT_EQ(*got, Bytes(text));
      }
    }
  }
}

TEST_F(SessionV4Test, OutOfOrderBurstsAndALatePreKeyMessage) {
  ASSERT_TRUE(InitiateSession(alice_.record, alice_.identity, bob_.Bundle(true, false), random_).ok());
  std::vector<CiphertextMessage> burst;
  for (int i = 0; i < 50; ++i) burst.push_back(Send(alice_, "a" + std::to_string(i)));
  // The second prekey message arrives first: it sets up the session too.
  for (int i : {1, 0}) {
    auto got = Deliver(bob_, burst[i]);
    ASSERT_TRUE(got.ok()) << i << ": " << got.status();
  }
  for (int i = 49; i >= 2; --i) {
    auto got = Deliver(bob_, burst[i]);
    ASSERT_TRUE(got.ok()) << i << ": " << got.status();
    EXPECT_EQ(*got, Bytes("a" + std::to_string(i)));
  }
  // Bob answers; Alice's next messages are SignalMessages.
  ASSERT_TRUE(Deliver(alice_, Send(bob_, "reply")).ok());
  CiphertextMessage after = Send(alice_, "after");
  EXPECT_EQ(after.type, MessageType::kSignal);
  EXPECT_TRUE(Deliver(bob_, after).ok());
}

TEST_F(SessionV4Test, ARecordSurvivesSerializationMidConversation) {
  ASSERT_TRUE(InitiateSession(alice_.record, alice_.identity, bob_.Bundle(true, false), random_).ok());
  CiphertextMessage m0 = Send(alice_, "zero");
  CiphertextMessage m1 = Send(alice_, "one");
  CiphertextMessage m2 = Send(alice_, "two");
  ASSERT_TRUE(Deliver(bob_, m2).ok());
  for (PqParty* p : {&alice_, &bob_}) {
    auto restored = SessionRecord::Deserialize(p->record.Serialize());
    ASSERT_TRUE(restored.ok()) << restored.status();
    EXPECT_TRUE(*restored == p->record);
    p->record = std::move(*restored);
  }
  EXPECT_EQ(*Deliver(bob_, m0), Bytes("zero"));
  EXPECT_EQ(*Deliver(bob_, m1), Bytes("one"));
}

TEST_F(SessionV4Test, ABundleWithoutAKyberPrekeyGivesVersion3) {
  PreKeyBundle bundle = bob_.Bundle(true, false);
  bundle.kyber_prekey.reset();
  ASSERT_TRUE(InitiateSession(alice_.record, alice_.identity, bundle, random_).ok());
  EXPECT_EQ(alice_.record.version(), 3u);
  CiphertextMessage m = Send(alice_, "old style");
  EXPECT_EQ(m.bytes[0], 0x33);
  auto got = Deliver(bob_, m);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(bob_.record.version(), 3u);
}

TEST_F(SessionV4Test, AForgedKyberPrekeySignatureIsRefused) {
  PreKeyBundle bundle = bob_.Bundle(true, false);
  bundle.kyber_prekey->signature[5] ^= 1;
  auto st = InitiateSession(alice_.record, alice_.identity, bundle, random_);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("Kyber prekey signature"), std::string::npos);
  EXPECT_FALSE(alice_.record.has_session());
  // A key swapped for another (validly signed, but for another id) fails too:
  // the signature covers the key bytes.
  bundle = bob_.Bundle(true, false);
  bundle.kyber_prekey->key = bob_.last_resort->key_pair.public_key;
  EXPECT_EQ(InitiateSession(alice_.record, alice_.identity, bundle, random_).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(SessionV4Test, FailuresOfTheResponderLeaveItsRecordAsItWas) {
  // Bob has a session already, so a failure must not disturb it.
  PqParty carol(random_, 500);
  ASSERT_TRUE(InitiateSession(carol.record, carol.identity, bob_.Bundle(false, true), random_).ok());
  ASSERT_TRUE(InitiateSession(alice_.record, alice_.identity, bob_.Bundle(true, false), random_).ok());
  CiphertextMessage good = Send(alice_, "hi");
  std::vector<uint8_t> before = bob_.record.Serialize();
  auto view = internal::ParsePreKeySignalMessage(good.bytes);
  ASSERT_TRUE(view.ok());
  auto rebuild = [&](uint32_t kyber_id, std::vector<uint8_t> ciphertext) {
    return internal::SerializePreKeySignalMessage(
        internal::PreKeyFields{4, view->registration_id, view->prekey_id, view->signed_prekey_id,
                               view->base_key, view->identity_key, kyber_id, ciphertext},
        view->message);
  };
  std::vector<uint8_t> ct(view->kyber_ciphertext.begin(), view->kyber_ciphertext.end());
  // A wrong ciphertext decapsulates to the implicit-rejection key: the
  // session keys differ and the MAC fails.
  std::vector<uint8_t> flipped = ct;
  flipped[100] ^= 0x40;
  auto r = DecryptPreKeySignalMessage(bob_.record, bob_.identity, bob_.Lookup(),
                                      rebuild(*view->kyber_prekey_id, flipped), random_);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("MAC"), std::string::npos) << r.status();
  // A truncated ciphertext is malformed.
  std::vector<uint8_t> shortened(ct.begin(), ct.end() - 1);
  r = DecryptPreKeySignalMessage(bob_.record, bob_.identity, bob_.Lookup(),
                                 rebuild(*view->kyber_prekey_id, shortened), random_);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  // An unknown Kyber prekey.
  r = DecryptPreKeySignalMessage(bob_.record, bob_.identity, bob_.Lookup(), rebuild(999999, ct), random_);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("Kyber prekey 999999"), std::string::npos);
  // A responder that keeps no Kyber prekeys at all.
  PreKeyLookup no_kyber = bob_.Lookup();
  no_kyber.kyber_prekey = nullptr;
  r = DecryptPreKeySignalMessage(bob_.record, bob_.identity, no_kyber, good.bytes, random_);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  // A version byte from the future.
  std::vector<uint8_t> future = good.bytes;
  future[0] = 0x54;
  r = DecryptPreKeySignalMessage(bob_.record, bob_.identity, bob_.Lookup(), future, random_);
  EXPECT_NE(r.status().message().find("unknown message version 5"), std::string::npos) << r.status();
  EXPECT_EQ(bob_.record.Serialize(), before);
  // And the genuine message still works.
  EXPECT_TRUE(Deliver(bob_, good).ok());
}

TEST_F(SessionV4Test, PostQuantumRatchetFailuresChangeNothing) {
  ASSERT_TRUE(InitiateSession(alice_.record, alice_.identity, bob_.Bundle(true, false), random_).ok());
  ASSERT_TRUE(Deliver(bob_, Send(alice_, "setup")).ok());
  ASSERT_TRUE(Deliver(alice_, Send(bob_, "ack")).ok());
  CiphertextMessage m = Send(alice_, "pq");
  ASSERT_EQ(m.type, MessageType::kSignal);
  auto view = internal::ParseSignalMessage(m.bytes);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->pq_ratchet.size(), 4u);
  EXPECT_EQ(view->pq_ratchet[0], 1);  // version 1
  EXPECT_EQ(view->pq_ratchet[1], 1);  // epoch 1
  std::vector<uint8_t> before = bob_.record.Serialize();
  // Re-encode the message with another SPQR field (the MAC then fails, or
  // the field is refused first).
  auto with_pq = [&](std::vector<uint8_t> pq) {
    auto body = internal::SerializeSignalMessageBody(4, view->ratchet_key, view->counter,
                                                     view->previous_counter, view->ciphertext, pq);
    body.insert(body.end(), view->mac.begin(), view->mac.end());
    return body;
  };
  struct Case {
    std::vector<uint8_t> pq;
    std::string error;
  } cases[] = {
      {{}, "no post-quantum ratchet data"},
      {{0x02, 0x01, 0x01, 0x00}, "unknown post-quantum ratchet version 2"},
      {{0x01, 0x02, 0x01, 0x00}, "epoch 2"},
      {{0x01, 0x01, 0x01}, "no type"},
      {{0x01, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x00}, "out of range"},
      {{0x01, 0x01, 0xB0, 0xEA, 0x01, 0x00}, "at most 25000"},  // index 30000
      {{0x01, 0x01, 0x05, 0x00}, "MAC"},                        // a key, but not this message's
  };
  for (const Case& c : cases) {
    auto got = DecryptSignalMessage(bob_.record, with_pq(c.pq), random_);
    EXPECT_FALSE(got.ok());
    EXPECT_NE(got.status().message().find(c.error), std::string::npos) << got.status();
    EXPECT_EQ(bob_.record.Serialize(), before);
  }
  // A replay of a message already read.
  auto first = DecryptSignalMessage(bob_.record, m.bytes, random_);
  ASSERT_TRUE(first.ok()) << first.status();
  before = bob_.record.Serialize();
  EXPECT_EQ(DecryptSignalMessage(bob_.record, m.bytes, random_).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(bob_.record.Serialize(), before);
}

TEST_F(SessionV4Test, AVersion3MessageForAVersion4SessionIsRefused) {
  ASSERT_TRUE(InitiateSession(alice_.record, alice_.identity, bob_.Bundle(true, false), random_).ok());
  ASSERT_TRUE(Deliver(bob_, Send(alice_, "setup")).ok());
  CiphertextMessage m = Send(bob_, "reply");
  std::vector<uint8_t> bytes = m.bytes;
  bytes[0] = 0x33;  // claims v3, and field 5 is then refused by the parser
  std::vector<uint8_t> before = alice_.record.Serialize();
  EXPECT_EQ(DecryptSignalMessage(alice_.record, bytes, random_).status().code(),
            absl::StatusCode::kInvalidArgument);
  // A well-formed v3 message (no field 5) for the same session.
  auto view = internal::ParseSignalMessage(m.bytes);
  auto v3 = internal::SerializeSignalMessageBody(3, view->ratchet_key, view->counter, view->previous_counter,
                                                 view->ciphertext);
  v3.insert(v3.end(), view->mac.begin(), view->mac.end());
  auto got = DecryptSignalMessage(alice_.record, v3, random_);
  EXPECT_NE(got.status().message().find("a version 3 message for a version 4 session"), std::string::npos)
      << got.status();
  EXPECT_EQ(alice_.record.Serialize(), before);
}

TEST(PqRatchet, BothEndsDeriveTheSameKeysAndOutOfOrderWorks) {
  std::array<uint8_t, 32> auth{};
  auth[0] = 7;
  auto initiator = internal::StartPqRatchet(auth, true);
  auto responder = internal::StartPqRatchet(auth, false);
  EXPECT_EQ(initiator.sending.next, responder.receiving.next);
  EXPECT_EQ(initiator.receiving.next, responder.sending.next);
  EXPECT_NE(initiator.sending.next, initiator.receiving.next);
  std::vector<internal::PqSend> sent;
  for (int i = 0; i < 5; ++i) sent.push_back(*internal::PqRatchetSend(initiator.sending));
  EXPECT_EQ(sent[4].message, (std::vector<uint8_t>{0x01, 0x01, 0x05, 0x00}));
  for (int i : {4, 0, 2, 1, 3}) {
    auto key = internal::PqRatchetReceive(responder, sent[i].message);
    ASSERT_TRUE(key.ok()) << key.status();
    ASSERT_TRUE(key->has_value());
    EXPECT_EQ(**key, sent[i].key) << i;
  }
  EXPECT_EQ(internal::PqRatchetReceive(responder, sent[2].message).status().code(),
            absl::StatusCode::kAlreadyExists);
  // Index 0 names no key.
  auto none = internal::PqRatchetReceive(responder, std::vector<uint8_t>{0x01, 0x01, 0x00, 0x00});
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

// libsignal 0.103.0 as Alice sent three PreKeySignalMessages to a bundle of
// Bob's; tandem, holding Bob's keys, must read all three (PQXDH with a
// one-time EC prekey and a Kyber prekey, and SPQR keys from libsignal's
// epoch-1 chain with a header chunk attached).
TEST(LibsignalVectors, TandemDecryptsLibsignalsPreKeyMessages) {
  std::ifstream in(std::string(TANDEM_CRYPTO_TESTDATA) + "/libsignal_v4_prekey_messages.json");
  ASSERT_TRUE(in) << "test data missing";
  nlohmann::json j = nlohmann::json::parse(in);
  const auto& b = j["bob"];
  auto priv = [](const std::string& hex) {
    std::array<uint8_t, 32> raw;
    auto bytes = FromHex(hex);
    std::copy(bytes.begin(), bytes.end(), raw.begin());
    return KeyPair::FromPrivate(PrivateKey(raw));
  };
  LocalIdentity bob{priv(b["identityPrivate"]), b["registrationId"].get<uint32_t>()};
  ASSERT_EQ(testing::ToHex(bob.key_pair.public_key.Serialize()), b["identityPublic"].get<std::string>());
  KeyPair spk = priv(b["signedPreKeyPrivate"]);
  KeyPair opk = priv(b["preKeyPrivate"]);
  auto kyber = KemSecretKey::Deserialize(FromHex(b["kyberPreKeySecret"].get<std::string>()));
  ASSERT_TRUE(kyber.ok()) << kyber.status();
  EXPECT_EQ(testing::ToHex(kyber->public_key().Serialize()), b["kyberPreKeyPublic"].get<std::string>());
  PreKeyLookup lookup;
  lookup.signed_prekey = [&](uint32_t id) -> absl::StatusOr<KeyPair> {
    if (id != b["signedPreKeyId"].get<uint32_t>()) return absl::NotFoundError("signed prekey");
    return spk;
  };
  lookup.one_time_prekey = [&](uint32_t id) -> absl::StatusOr<KeyPair> {
    if (id != b["preKeyId"].get<uint32_t>()) return absl::NotFoundError("one-time prekey");
    return opk;
  };
  lookup.kyber_prekey = [&](uint32_t id) -> absl::StatusOr<KemSecretKey> {
    if (id != b["kyberPreKeyId"].get<uint32_t>()) return absl::NotFoundError("Kyber prekey");
    return *kyber;
  };
  SeededRandom random(9);
  SessionRecord record;
  // Out of order: the last first.
  for (size_t i : {2u, 0u, 1u}) {
    auto bytes = FromHex(j["messages"][i]["serialized"].get<std::string>());
    ASSERT_EQ(bytes[0], 0x44);
    auto r = DecryptPreKeySignalMessage(record, bob, lookup, bytes, random);
    ASSERT_TRUE(r.ok()) << "message " << i << ": " << r.status();
    EXPECT_EQ(std::string(r->plaintext.begin(), r->plaintext.end()), j["plaintexts"][i].get<std::string>());
    EXPECT_EQ(testing::ToHex(r->remote_identity.Serialize()),
              j["alice"]["identityPublic"].get<std::string>());
  }
  EXPECT_EQ(record.version(), 4u);
  // Replaying one is refused.
  auto again = DecryptPreKeySignalMessage(record, bob, lookup,
                                          FromHex(j["messages"][0]["serialized"].get<std::string>()), random);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists) << again.status();
}

}  // namespace
}  // namespace tandem::crypto

namespace tandem::crypto {
namespace {

// Records and messages written by tandem before version 4 existed (commit
// cff0683): Alice initiated to Bob and sent two prekey messages; Bob read
// the second and replied. They still load, serialize to the same bytes and
// carry on.
TEST(OldRecords, RecordsFromBeforeVersion4LoadAndCarryOn) {
  std::ifstream in(std::string(TANDEM_CRYPTO_TESTDATA) + "/v3_records_before_v4.txt");
  ASSERT_TRUE(in) << "test data missing";
  std::map<std::string, std::vector<uint8_t>> v;
  std::string name, hex;
  while (in >> name >> hex) v[name] = FromHex(hex);
  auto alice = SessionRecord::Deserialize(v["alice_record"]);
  auto bob = SessionRecord::Deserialize(v["bob_record"]);
  ASSERT_TRUE(alice.ok()) << alice.status();
  ASSERT_TRUE(bob.ok()) << bob.status();
  EXPECT_EQ(alice->version(), 3u);
  EXPECT_EQ(alice->Serialize(), v["alice_record"]);
  EXPECT_EQ(bob->Serialize(), v["bob_record"]);
  SeededRandom random(5);
  auto reply = DecryptSignalMessage(*alice, v["reply_to_alice"], random);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(*reply, Bytes("hi"));
  // Bob's late copy of the first prekey message uses the existing session.
  PreKeyLookup none;
  LocalIdentity unused;
  auto late = DecryptPreKeySignalMessage(*bob, unused, none, v["m1_to_bob"], random);
  ASSERT_TRUE(late.ok()) << late.status();
  EXPECT_FALSE(late->new_session);
  auto next = Encrypt(*alice, Bytes("after"));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->bytes[0], 0x33);
  EXPECT_EQ(*DecryptSignalMessage(*bob, next->bytes, random), Bytes("after"));
}

}  // namespace
}  // namespace tandem::crypto
