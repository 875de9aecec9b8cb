// Tests for sender keys: the group round trip, the bounds, every failure
// (each leaving the record as it was), and messages made by libsignal.
#include "crypto/sender_keys.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "crypto/test_util.h"

namespace tandem::crypto {
namespace {

using testing::Bytes;
using testing::FromHex;

DistributionId Id(uint8_t fill) {
  DistributionId id;
  id.fill(fill);
  return id;
}

class SenderKeysTest : public ::testing::Test {
 protected:
  SenderKeysTest() : random_(77) {
    auto skdm = CreateSenderKeyDistributionMessage(alice_own_, Id(1), random_);
    EXPECT_TRUE(skdm.ok()) << skdm.status();
    skdm_ = *skdm;
    EXPECT_TRUE(ProcessSenderKeyDistributionMessage(bob_from_alice_, skdm_).ok());
  }

  std::vector<uint8_t> Send(std::string_view text) {
    auto m = GroupEncrypt(alice_own_, Bytes(text), random_);
    EXPECT_TRUE(m.ok()) << m.status();
    return *m;
  }

  SeededRandom random_;
  SenderKeyRecord alice_own_;
  SenderKeyRecord bob_from_alice_;
  std::vector<uint8_t> skdm_;
};

TEST_F(SenderKeysTest, MessagesDecryptInAnyOrderOnce) {
  std::vector<std::vector<uint8_t>> sent;
  for (int i = 0; i < 20; ++i) sent.push_back(Send("group " + std::to_string(i)));
  EXPECT_EQ(sent[0][0], 0x33);
  auto info = InspectSenderKeyMessage(sent[7]);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->iteration, 7u);
  EXPECT_EQ(info->distribution_id, Id(1));
  for (int i : {19, 3, 0, 12, 5, 1, 2, 4, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18}) {
    auto got = GroupDecrypt(bob_from_alice_, sent[i]);
    ASSERT_TRUE(got.ok()) << i << ": " << got.status();
    EXPECT_EQ(*got, Bytes("group " + std::to_string(i)));
  }
  auto before = bob_from_alice_.Serialize();
  EXPECT_EQ(GroupDecrypt(bob_from_alice_, sent[12]).status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(bob_from_alice_.Serialize(), before);
}

TEST_F(SenderKeysTest, FailuresChangeNothing) {
  auto m = Send("hello");
  auto before = bob_from_alice_.Serialize();
  // A forged signature, a changed ciphertext (the signature no longer
  // covers it), a future version, a truncated message.
  auto forged = m;
  forged.back() ^= 1;
  EXPECT_NE(GroupDecrypt(bob_from_alice_, forged).status().message().find("bad signature"),
            std::string::npos);
  auto changed = m;
  changed[25] ^= 1;
  EXPECT_EQ(GroupDecrypt(bob_from_alice_, changed).status().code(), absl::StatusCode::kInvalidArgument);
  auto future = m;
  future[0] = 0x44;
  EXPECT_NE(GroupDecrypt(bob_from_alice_, future).status().message().find("unsupported version 4"),
            std::string::npos);
  for (size_t n = 0; n < m.size(); n += 7) {
    EXPECT_FALSE(GroupDecrypt(bob_from_alice_, std::span<const uint8_t>(m).first(n)).ok()) << n;
  }
  EXPECT_EQ(bob_from_alice_.Serialize(), before);
  // A member without the distribution message.
  SenderKeyRecord carol;
  EXPECT_EQ(GroupDecrypt(carol, m).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(GroupDecrypt(bob_from_alice_, m).ok());
}

TEST_F(SenderKeysTest, TooFarAheadIsRefusedAndStoredKeysAreBounded) {
  // Messages 0 .. 25,001 of Alice's chain; Bob has read none.
  SenderKeyRecord probe = alice_own_;
  std::vector<std::vector<uint8_t>> all;
  for (uint32_t i = 0; i <= kSenderKeyMaxJump + 1; ++i)
    all.push_back(*GroupEncrypt(probe, Bytes("y"), random_));
  auto before = bob_from_alice_.Serialize();
  EXPECT_EQ(GroupDecrypt(bob_from_alice_, all.back()).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(bob_from_alice_.Serialize(), before);
  // Exactly the limit works, and keeps only the newest 2,000 skipped keys.
  ASSERT_TRUE(GroupDecrypt(bob_from_alice_, all[kSenderKeyMaxJump]).ok());
  EXPECT_TRUE(GroupDecrypt(bob_from_alice_, all[kSenderKeyMaxJump - 1]).ok());
  EXPECT_TRUE(GroupDecrypt(bob_from_alice_, all[kSenderKeyMaxJump - kSenderKeyMaxStoredKeys]).ok());
  EXPECT_EQ(
      GroupDecrypt(bob_from_alice_, all[kSenderKeyMaxJump - kSenderKeyMaxStoredKeys - 1]).status().code(),
      absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(GroupDecrypt(bob_from_alice_, all[0]).status().code(), absl::StatusCode::kAlreadyExists);
  auto restored = SenderKeyRecord::Deserialize(bob_from_alice_.Serialize());
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_TRUE(*restored == bob_from_alice_);
}

TEST_F(SenderKeysTest, ProcessingADistributionAgainDoesNotRewindTheChain) {
  auto m0 = Send("zero");
  ASSERT_TRUE(GroupDecrypt(bob_from_alice_, m0).ok());
  ASSERT_TRUE(ProcessSenderKeyDistributionMessage(bob_from_alice_, skdm_).ok());
  EXPECT_EQ(GroupDecrypt(bob_from_alice_, m0).status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(bob_from_alice_.state_count(), 1u);
}

TEST_F(SenderKeysTest, ALateMemberCannotReadEarlierMessages) {
  auto early = Send("before dave joined");
  auto skdm = CreateSenderKeyDistributionMessage(alice_own_, Id(1), random_);
  ASSERT_TRUE(skdm.ok());
  EXPECT_EQ(InspectSenderKeyDistributionMessage(*skdm)->iteration, 1u);
  SenderKeyRecord dave;
  ASSERT_TRUE(ProcessSenderKeyDistributionMessage(dave, *skdm).ok());
  EXPECT_EQ(GroupDecrypt(dave, early).status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(*GroupDecrypt(dave, Send("after")), Bytes("after"));
}

TEST_F(SenderKeysTest, ANewChainKeepsOldOnesUpToFive) {
  auto old = Send("on the first chain");
  for (int i = 0; i < 6; ++i) {
    SenderKeyRecord fresh;
    auto skdm = CreateSenderKeyDistributionMessage(fresh, Id(1), random_);
    ASSERT_TRUE(ProcessSenderKeyDistributionMessage(bob_from_alice_, *skdm).ok());
    if (i == 2) {
      EXPECT_TRUE(GroupDecrypt(bob_from_alice_, old).ok());
    }
  }
  EXPECT_EQ(bob_from_alice_.state_count(), kSenderKeyMaxStates);
  SenderKeyRecord empty;
  EXPECT_EQ(GroupEncrypt(empty, Bytes("x"), random_).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(SenderKeysLibsignal, TandemDecryptsLibsignalsGroupMessages) {
  std::ifstream in(std::string(TANDEM_CRYPTO_TESTDATA) + "/libsignal_sender_keys.json");
  ASSERT_TRUE(in) << "test data missing";
  nlohmann::json j = nlohmann::json::parse(in);
  SenderKeyRecord record;
  auto skdm = FromHex(j["skdm"].get<std::string>());
  auto info = InspectSenderKeyDistributionMessage(skdm);
  ASSERT_TRUE(info.ok()) << info.status();
  ASSERT_TRUE(ProcessSenderKeyDistributionMessage(record, skdm).ok());
  for (size_t i : {3u, 0u, 2u, 1u}) {
    auto got = GroupDecrypt(record, FromHex(j["messages"][i].get<std::string>()));
    ASSERT_TRUE(got.ok()) << i << ": " << got.status();
    EXPECT_EQ(std::string(got->begin(), got->end()), j["plaintexts"][i].get<std::string>());
  }
}

}  // namespace
}  // namespace tandem::crypto
