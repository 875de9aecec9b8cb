// Tests for X3DH session setup, the Double Ratchet, session records and
// every failure the session API reports.
#include "crypto/session.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

#include "crypto/internal/messages.h"
#include "crypto/internal/session_state.h"
#include "crypto/test_util.h"
#include "crypto/xeddsa.h"

namespace tandem::crypto {
namespace {

using testing::Bytes;

struct Party {
  Party(Random& random, uint32_t first_otk) {
    identity.key_pair = KeyPair::Generate(random);
    identity.registration_id = GenerateRegistrationId(random);
    signed_prekey = GenerateSignedPreKey(identity.key_pair, 1, random);
    for (auto& k : GenerateOneTimePreKeys(first_otk, 5, random)) one_time.emplace(k.id, k);
  }

  PreKeyBundle Bundle(bool with_one_time) const {
    const OneTimePreKey* otk = with_one_time ? &one_time.begin()->second : nullptr;
    return MakePreKeyBundle(identity.registration_id, 1, identity.key_pair.public_key, signed_prekey, otk);
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
    return lookup;
  }

  LocalIdentity identity;
  SignedPreKey signed_prekey;
  std::map<uint32_t, OneTimePreKey> one_time;
  SessionRecord record;
};

class SessionTest : public ::testing::Test {
 protected:
  SessionTest() : random_(42), alice_(random_, 100), bob_(random_, 200) {}

  // Alice starts a session to Bob; Bob receives her first message.
  void Establish(bool with_one_time = true) {
    ASSERT_TRUE(InitiateSession(alice_.record, alice_.identity, bob_.Bundle(with_one_time), random_).ok());
    auto first = Encrypt(alice_.record, Bytes("hello"));
    ASSERT_TRUE(first.ok());
    ASSERT_EQ(first->type, MessageType::kPreKey);
    auto result =
        DecryptPreKeySignalMessage(bob_.record, bob_.identity, bob_.Lookup(), first->bytes, random_);
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->plaintext, Bytes("hello"));
    EXPECT_TRUE(result->new_session);
    if (with_one_time) {
      ASSERT_TRUE(result->consumed_one_time_prekey.has_value());
      bob_.one_time.erase(*result->consumed_one_time_prekey);
    }
  }

  absl::StatusOr<std::vector<uint8_t>> Deliver(Party& to, const CiphertextMessage& m) {
    if (m.type == MessageType::kSignal) return DecryptSignalMessage(to.record, m.bytes, random_);
    auto r = DecryptPreKeySignalMessage(to.record, to.identity, to.Lookup(), m.bytes, random_);
    if (!r.ok()) return r.status();
    if (r->consumed_one_time_prekey) to.one_time.erase(*r->consumed_one_time_prekey);
    return std::move(r->plaintext);
  }

  CiphertextMessage Send(Party& from, const std::string& text) {
    auto m = Encrypt(from.record, Bytes(text));
    EXPECT_TRUE(m.ok());
    return *m;
  }

  SeededRandom random_;
  Party alice_;
  Party bob_;
};

TEST_F(SessionTest, ConversationWithAndWithoutOneTimePreKey) {
  for (bool with_otk : {true, false}) {
    alice_.record = SessionRecord();
    bob_.record = SessionRecord();
    Establish(with_otk);
    for (int turn = 0; turn < 20; ++turn) {
      Party& from = turn % 2 ? alice_ : bob_;
      Party& to = turn % 2 ? bob_ : alice_;
      for (int i = 0; i < turn % 3 + 1; ++i) {
        std::string text = "turn " + std::to_string(turn) + " msg " + std::to_string(i);
        auto m = Send(from, text);
        EXPECT_EQ(m.type, MessageType::kSignal);
        auto got = Deliver(to, m);
        ASSERT_TRUE(got.ok()) << got.status();
        EXPECT_EQ(*got, Bytes(text));
      }
    }
    EXPECT_FALSE(alice_.record.awaiting_first_reply());
  }
}

TEST_F(SessionTest, InitiatorSendsPreKeyMessagesUntilReply) {
  Establish();
  auto second = Send(alice_, "second");
  EXPECT_EQ(second.type, MessageType::kPreKey);
  auto got = Deliver(bob_, second);
  ASSERT_TRUE(got.ok()) << got.status();
  auto reply = Send(bob_, "reply");
  EXPECT_EQ(reply.type, MessageType::kSignal);
  ASSERT_TRUE(Deliver(alice_, reply).ok());
  EXPECT_EQ(Send(alice_, "third").type, MessageType::kSignal);
}

TEST_F(SessionTest, OutOfOrderAcrossRatchetSteps) {
  Establish();
  std::vector<std::pair<std::string, CiphertextMessage>> from_alice, from_bob;
  ASSERT_TRUE(Deliver(alice_, Send(bob_, "ack")).ok());
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 30; ++i) {
      std::string t = "a" + std::to_string(round) + "-" + std::to_string(i);
      from_alice.emplace_back(t, Send(alice_, t));
    }
    // Bob hears one message of this round, so each round is a new chain.
    ASSERT_TRUE(Deliver(bob_, from_alice.back().second).ok());
    from_alice.pop_back();
    ASSERT_TRUE(Deliver(alice_, Send(bob_, "r" + std::to_string(round))).ok());
  }
  std::mt19937 shuffle(7);
  std::shuffle(from_alice.begin(), from_alice.end(), shuffle);
  for (auto& [text, m] : from_alice) {
    auto got = Deliver(bob_, m);
    ASSERT_TRUE(got.ok()) << text << ": " << got.status();
    EXPECT_EQ(*got, Bytes(text));
  }
}

TEST_F(SessionTest, PreKeyMessageArrivingAfterLaterMessages) {
  ASSERT_TRUE(InitiateSession(alice_.record, alice_.identity, bob_.Bundle(true), random_).ok());
  auto m0 = Send(alice_, "zero");
  auto m1 = Send(alice_, "one");
  auto m2 = Send(alice_, "two");
  ASSERT_TRUE(Deliver(bob_, m2).ok());
  ASSERT_TRUE(Deliver(alice_, Send(bob_, "reply")).ok());
  auto m3 = Send(alice_, "three");
  EXPECT_EQ(m3.type, MessageType::kSignal);
  ASSERT_TRUE(Deliver(bob_, m3).ok());
  // The earlier prekey messages still decrypt, without a second X3DH.
  auto r0 = DecryptPreKeySignalMessage(bob_.record, bob_.identity, bob_.Lookup(), m0.bytes, random_);
  ASSERT_TRUE(r0.ok()) << r0.status();
  EXPECT_EQ(r0->plaintext, Bytes("zero"));
  EXPECT_FALSE(r0->new_session);
  EXPECT_FALSE(r0->consumed_one_time_prekey.has_value());
  auto r1 = Deliver(bob_, m1);
  ASSERT_TRUE(r1.ok()) << r1.status();
  EXPECT_EQ(*r1, Bytes("one"));
  EXPECT_EQ(bob_.record.archived_count(), 0u);
}

TEST_F(SessionTest, RecordSerializationRoundTrip) {
  Establish();
  ASSERT_TRUE(Deliver(alice_, Send(bob_, "x")).ok());
  auto skipped = Send(alice_, "skipped");
  ASSERT_TRUE(Deliver(bob_, Send(alice_, "y")).ok());
  for (Party* p : {&alice_, &bob_}) {
    auto bytes = p->record.Serialize();
    auto back = SessionRecord::Deserialize(bytes);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, p->record);
    EXPECT_EQ(back->Serialize(), bytes);
    p->record = *back;
  }
  auto got = Deliver(bob_, skipped);  // the skipped key survived serialization
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, Bytes("skipped"));

  EXPECT_TRUE(SessionRecord::Deserialize(SessionRecord().Serialize()).ok());
}

TEST_F(SessionTest, RecordDeserializationRejectsBadInput) {
  Establish();
  auto bytes = bob_.record.Serialize();
  for (size_t n = 0; n < bytes.size(); n += 7) {
    auto r = SessionRecord::Deserialize(std::span<const uint8_t>(bytes).first(n));
    EXPECT_FALSE(r.ok()) << n;
  }
  auto future = bytes;
  ASSERT_EQ(future[0], 0x08);
  future[1] = 2;  // version 2
  auto status = SessionRecord::Deserialize(future).status();
  EXPECT_NE(status.message().find("unknown session record version"), std::string::npos) << status;
}

// Every failure must leave the record byte-for-byte unchanged.
class FailureTest : public SessionTest {
 protected:
  void ExpectFailure(Party& to, const CiphertextMessage& m, absl::StatusCode code, const std::string& what) {
    auto before = to.record.Serialize();
    auto got = Deliver(to, m);
    ASSERT_FALSE(got.ok()) << what;
    EXPECT_EQ(got.status().code(), code) << what << ": " << got.status();
    EXPECT_EQ(to.record.Serialize(), before) << what << " changed the record";
  }
};

TEST_F(FailureTest, BadMac) {
  Establish();
  auto m = Send(alice_, "text");
  m.bytes.back() ^= 1;
  ExpectFailure(bob_, m, absl::StatusCode::kInvalidArgument, "bad MAC");
  auto c = Send(alice_, "text");
  c.bytes[c.bytes.size() - 12] ^= 1;  // in the ciphertext
  ExpectFailure(bob_, c, absl::StatusCode::kInvalidArgument, "tampered ciphertext");
}

TEST_F(FailureTest, BadMacOnRatchetStepLeavesStateUnchanged) {
  Establish();
  ASSERT_TRUE(Deliver(alice_, Send(bob_, "x")).ok());
  auto m = Send(alice_, "new chain");  // carries a new ratchet key for Bob
  m.bytes.back() ^= 1;
  ExpectFailure(bob_, m, absl::StatusCode::kInvalidArgument, "bad MAC on a ratchet step");
}

TEST_F(FailureTest, UnknownVersion) {
  Establish();
  auto m = Send(alice_, "text");
  m.bytes[0] = 0x43;
  ExpectFailure(bob_, m, absl::StatusCode::kInvalidArgument, "unknown version");
  m.bytes[0] = 0x23;
  ExpectFailure(bob_, m, absl::StatusCode::kInvalidArgument, "legacy version");
}

TEST_F(FailureTest, TruncatedAndMalformed) {
  Establish();
  auto m = Send(alice_, "text");
  for (size_t n : {size_t{0}, size_t{1}, size_t{5}, m.bytes.size() / 2, m.bytes.size() - 1}) {
    CiphertextMessage cut{m.type, std::vector<uint8_t>(m.bytes.begin(), m.bytes.begin() + n)};
    ExpectFailure(bob_, cut, absl::StatusCode::kInvalidArgument, "truncated to " + std::to_string(n));
  }
  CiphertextMessage garbage{MessageType::kSignal,
                            {0x33, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
  ExpectFailure(bob_, garbage, absl::StatusCode::kInvalidArgument, "garbage");
}

TEST_F(FailureTest, WrongIdentity) {
  Establish();
  ASSERT_TRUE(Deliver(alice_, Send(bob_, "ack")).ok());
  // A third party with Alice's session layout but its own identity key
  // cannot produce a message Bob accepts: the MAC covers both identities.
  Party mallory(random_, 300);
  SessionRecord forged = alice_.record;
  internal::StatesOf(forged).current->local_identity = mallory.identity.key_pair.public_key;
  auto m = Encrypt(forged, Bytes("from mallory"));
  ASSERT_TRUE(m.ok());
  ExpectFailure(bob_, *m, absl::StatusCode::kInvalidArgument, "wrong identity in MAC");

  // A prekey message from an identity other than the trusted one.
  Party carol(random_, 400);
  ASSERT_TRUE(InitiateSession(carol.record, carol.identity, bob_.Bundle(false), random_).ok());
  auto pm = Encrypt(carol.record, Bytes("hi"));
  auto before = bob_.record.Serialize();
  auto r = DecryptPreKeySignalMessage(bob_.record, bob_.identity, bob_.Lookup(), pm->bytes, random_,
                                      alice_.identity.key_pair.public_key);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(bob_.record.Serialize(), before);

  // A bundle whose signed prekey is not signed by its identity key.
  PreKeyBundle bundle = bob_.Bundle(true);
  bundle.identity_key = carol.identity.key_pair.public_key;
  SessionRecord record;
  EXPECT_EQ(InitiateSession(record, alice_.identity, bundle, random_).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(record.has_session());
}

TEST_F(FailureTest, Replay) {
  Establish();
  auto m = Send(alice_, "once");
  ASSERT_TRUE(Deliver(bob_, m).ok());
  ExpectFailure(bob_, m, absl::StatusCode::kAlreadyExists, "replay");
  // Replaying a skipped key that was then used.
  auto a = Send(alice_, "a");
  auto b = Send(alice_, "b");
  ASSERT_TRUE(Deliver(bob_, b).ok());
  ASSERT_TRUE(Deliver(bob_, a).ok());
  ExpectFailure(bob_, a, absl::StatusCode::kAlreadyExists, "replay of a skipped message");
}

TEST_F(FailureTest, TooManySkippedKeys) {
  Establish();
  ASSERT_TRUE(Deliver(alice_, Send(bob_, "x")).ok());
  std::vector<CiphertextMessage> sent;
  for (int i = 0; i < 2003; ++i) sent.push_back(Send(alice_, "m"));
  ExpectFailure(bob_, sent[2002], absl::StatusCode::kResourceExhausted, "2002 skipped");
  auto ok = Deliver(bob_, sent[2000]);  // exactly 2000 skipped is allowed
  ASSERT_TRUE(ok.ok()) << ok.status();
  ASSERT_TRUE(Deliver(bob_, sent[0]).ok());
}

// Skipped message keys accumulate over several messages of one chain; the
// chain keeps only the newest kMaxSkippedKeysPerChain (2000), so a peer
// cannot make a session record grow without bound.
TEST_F(FailureTest, StoredSkippedKeysAreBoundedPerChain) {
  Establish();
  ASSERT_TRUE(Deliver(alice_, Send(bob_, "x")).ok());
  std::vector<CiphertextMessage> sent;
  for (int i = 0; i < 3001; ++i) sent.push_back(Send(alice_, "m" + std::to_string(i)));
  ASSERT_TRUE(Deliver(bob_, sent[1500]).ok());  // 1500 keys kept
  ASSERT_TRUE(Deliver(bob_, sent[3000]).ok());  // 1499 more: the oldest 999 are dropped
  auto oldest = Deliver(bob_, sent[0]);
  EXPECT_EQ(oldest.status().code(), absl::StatusCode::kAlreadyExists) << oldest.status();
  auto last_dropped = Deliver(bob_, sent[998]);
  EXPECT_EQ(last_dropped.status().code(), absl::StatusCode::kAlreadyExists) << last_dropped.status();
  EXPECT_TRUE(Deliver(bob_, sent[999]).ok());
  EXPECT_TRUE(Deliver(bob_, sent[1499]).ok());
  EXPECT_TRUE(Deliver(bob_, sent[2999]).ok());
}

TEST_F(FailureTest, MissingPreKeys) {
  ASSERT_TRUE(InitiateSession(alice_.record, alice_.identity, bob_.Bundle(true), random_).ok());
  auto m = Send(alice_, "hello");
  auto used = bob_.one_time;
  bob_.one_time.clear();
  ExpectFailure(bob_, m, absl::StatusCode::kNotFound, "missing one-time prekey");
  bob_.one_time = used;
  auto saved = bob_.signed_prekey;
  bob_.signed_prekey.id = 99;
  ExpectFailure(bob_, m, absl::StatusCode::kNotFound, "missing signed prekey");
  bob_.signed_prekey = saved;
  ASSERT_TRUE(Deliver(bob_, m).ok());
}

TEST_F(FailureTest, NoSession) {
  auto m = Encrypt(alice_.record, Bytes("x"));
  EXPECT_EQ(m.status().code(), absl::StatusCode::kFailedPrecondition);
  CiphertextMessage junk{MessageType::kSignal, std::vector<uint8_t>(40, 0x33)};
  auto r = DecryptSignalMessage(bob_.record, junk.bytes, random_);
  EXPECT_FALSE(r.ok());
}

TEST_F(SessionTest, ReinitiatedSessionReplacesOldOne) {
  Establish();
  ASSERT_TRUE(Deliver(alice_, Send(bob_, "x")).ok());
  auto old_in_flight = Send(alice_, "sent on the old session");
  // Alice re-initiates (e.g. after losing her record); Bob switches over.
  SessionRecord fresh;
  ASSERT_TRUE(InitiateSession(fresh, alice_.identity, bob_.Bundle(true), random_).ok());
  auto pm = Encrypt(fresh, Bytes("new session"));
  auto r = DecryptPreKeySignalMessage(bob_.record, bob_.identity, bob_.Lookup(), pm->bytes, random_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->new_session);
  EXPECT_EQ(bob_.record.archived_count(), 1u);
  // Bob now replies on the new session...
  auto reply = Encrypt(bob_.record, Bytes("reply"));
  ASSERT_TRUE(DecryptSignalMessage(fresh, reply->bytes, random_).ok());
  // ...and still reads a late message from the old one (archived session).
  auto late = Deliver(bob_, old_in_flight);
  ASSERT_TRUE(late.ok()) << late.status();
  EXPECT_EQ(*late, Bytes("sent on the old session"));
}

TEST_F(SessionTest, ArchivedSessionStillDecryptsAndBecomesCurrent) {
  Establish();
  auto m = Send(alice_, "after archive");
  bob_.record.ArchiveCurrentSession();
  EXPECT_FALSE(bob_.record.has_session());
  auto got = Deliver(bob_, m);  // a prekey message for the archived session
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(bob_.record.has_session());
  EXPECT_EQ(bob_.record.archived_count(), 0u);
}

TEST_F(SessionTest, InspectPreKeyMessage) {
  ASSERT_TRUE(InitiateSession(alice_.record, alice_.identity, bob_.Bundle(true), random_).ok());
  auto m = Send(alice_, "x");
  auto info = InspectPreKeySignalMessage(m.bytes);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->identity_key, alice_.identity.key_pair.public_key);
  EXPECT_EQ(info->registration_id, alice_.identity.registration_id);
  EXPECT_EQ(info->signed_prekey_id, 1u);
  EXPECT_EQ(info->one_time_prekey_id, bob_.one_time.begin()->first);
}

}  // namespace
}  // namespace tandem::crypto
