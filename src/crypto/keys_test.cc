// Tests for key serialization, agreement and prekey generation.
#include "crypto/keys.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include "crypto/xeddsa.h"

namespace tandem::crypto {
namespace {

TEST(PublicKey, SerializeRoundTrip) {
  SeededRandom random(10);
  KeyPair pair = KeyPair::Generate(random);
  auto bytes = pair.public_key.Serialize();
  EXPECT_EQ(bytes[0], 0x05);
  auto back = PublicKey::Deserialize(bytes);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, pair.public_key);
}

TEST(PublicKey, RejectsBadEncodings) {
  SeededRandom random(11);
  auto bytes = KeyPair::Generate(random).public_key.Serialize();
  EXPECT_FALSE(PublicKey::Deserialize(std::span<const uint8_t>(bytes).first(32)).ok());
  auto wrong_type = bytes;
  wrong_type[0] = 0x06;
  EXPECT_EQ(PublicKey::Deserialize(wrong_type).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(PublicKey::Deserialize({}).ok());
}

TEST(Agree, BothSidesMatchAndSmallOrderIsRejected) {
  SeededRandom random(12);
  KeyPair a = KeyPair::Generate(random), b = KeyPair::Generate(random);
  auto ab = Agree(a.private_key, b.public_key);
  auto ba = Agree(b.private_key, a.public_key);
  ASSERT_TRUE(ab.ok() && ba.ok());
  EXPECT_EQ(*ab, *ba);
  EXPECT_FALSE(Agree(a.private_key, PublicKey()).ok());  // u = 0 has small order
}

TEST(KeyPair, FromPrivateRecomputesPublic) {
  SeededRandom random(13);
  KeyPair a = KeyPair::Generate(random);
  EXPECT_EQ(KeyPair::FromPrivate(a.private_key), a);
}

TEST(KeyPair, MatchesX25519BaseMultiplication) {
  ASSERT_GE(sodium_init(), 0);
  SeededRandom random(15);
  for (int i = 0; i < 300; ++i) {
    std::array<uint8_t, 32> raw;
    random.Fill(raw);  // unclamped on purpose: X25519 clamps on use
    KeyPair pair = KeyPair::FromPrivate(PrivateKey(raw));
    std::array<uint8_t, 32> expected;
    ASSERT_EQ(crypto_scalarmult_curve25519_base(expected.data(), raw.data()), 0);
    EXPECT_EQ(pair.public_key.raw(), expected) << i;
  }
}

TEST(PreKeys, SignedPreKeyVerifiesAndIdsSkipZero) {
  SeededRandom random(14);
  IdentityKeyPair identity = KeyPair::Generate(random);
  SignedPreKey spk = GenerateSignedPreKey(identity, 7, random);
  EXPECT_EQ(spk.id, 7u);
  EXPECT_TRUE(XEdDSAVerify(identity.public_key, spk.key_pair.public_key.Serialize(), spk.signature));

  auto otks = GenerateOneTimePreKeys(0xFFFFFD, 3, random);
  ASSERT_EQ(otks.size(), 3u);
  EXPECT_EQ(otks[0].id, 0xFFFFFDu);
  EXPECT_EQ(otks[1].id, 1u);  // wrapped, 0 skipped
  EXPECT_EQ(otks[2].id, 2u);
  for (int i = 0; i < 100; ++i) {
    uint32_t id = GenerateRegistrationId(random);
    EXPECT_GE(id, 1u);
    EXPECT_LE(id, 16380u);
  }
}

}  // namespace
}  // namespace tandem::crypto
