// Tests for XEdDSA signatures and the Montgomery-to-Edwards conversion.
#include "crypto/xeddsa.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include "crypto/internal/field25519.h"
#include "crypto/test_util.h"

namespace tandem::crypto {
namespace {

TEST(Field25519, ConversionMatchesLibsodium) {
  ASSERT_GE(sodium_init(), 0);
  SeededRandom random(1);
  for (int i = 0; i < 200; ++i) {
    unsigned char ed_pk[32], ed_sk[64], seed[32];
    random.Fill(seed);
    crypto_sign_seed_keypair(ed_pk, ed_sk, seed);
    std::array<uint8_t, 32> u;
    ASSERT_EQ(crypto_sign_ed25519_pk_to_curve25519(u.data(), ed_pk), 0);
    ASSERT_TRUE(internal::IsCanonicalFieldElement(u));
    auto y = internal::MontgomeryUToEdwardsY(u);
    std::array<uint8_t, 32> expected;
    std::memcpy(expected.data(), ed_pk, 32);
    expected[31] &= 0x7F;
    EXPECT_EQ(y, expected);
  }
}

TEST(Field25519, CanonicalCheck) {
  std::array<uint8_t, 32> p{};
  p.fill(0xFF);
  p[0] = 0xED;
  p[31] = 0x7F;  // p itself
  EXPECT_FALSE(internal::IsCanonicalFieldElement(p));
  p[0] = 0xEC;  // p - 1
  EXPECT_TRUE(internal::IsCanonicalFieldElement(p));
  std::array<uint8_t, 32> high{};
  high[31] = 0x80;
  EXPECT_FALSE(internal::IsCanonicalFieldElement(high));
}

TEST(XEdDSA, SignVerifyRoundTrips) {
  SeededRandom random(2);
  for (int i = 0; i < 100; ++i) {
    KeyPair pair = KeyPair::Generate(random);
    auto msg = testing::Bytes("message number " + std::to_string(i));
    Signature sig = XEdDSASign(pair.private_key, msg, random);
    EXPECT_EQ(sig[63] & 0xE0, 0);  // spec signatures never set the top bits
    EXPECT_TRUE(XEdDSAVerify(pair.public_key, msg, sig)) << i;
  }
}

TEST(XEdDSA, SignaturesAreRandomized) {
  SeededRandom random(3);
  KeyPair pair = KeyPair::Generate(random);
  auto msg = testing::Bytes("same message");
  Signature a = XEdDSASign(pair.private_key, msg, random);
  Signature b = XEdDSASign(pair.private_key, msg, random);
  EXPECT_NE(a, b);
  EXPECT_TRUE(XEdDSAVerify(pair.public_key, msg, a));
  EXPECT_TRUE(XEdDSAVerify(pair.public_key, msg, b));
}

TEST(XEdDSA, RejectsForgeries) {
  SeededRandom random(4);
  KeyPair pair = KeyPair::Generate(random);
  KeyPair other = KeyPair::Generate(random);
  auto msg = testing::Bytes("signed prekey");
  Signature sig = XEdDSASign(pair.private_key, msg, random);

  auto tampered_msg = msg;
  tampered_msg[0] ^= 1;
  EXPECT_FALSE(XEdDSAVerify(pair.public_key, tampered_msg, sig));
  EXPECT_FALSE(XEdDSAVerify(other.public_key, msg, sig));
  for (size_t byte : {0, 17, 31, 32, 45, 62}) {
    Signature bad = sig;
    bad[byte] ^= 0x01;
    EXPECT_FALSE(XEdDSAVerify(pair.public_key, msg, bad)) << byte;
  }
  Signature flipped_sign = sig;
  flipped_sign[63] ^= 0x80;  // claims the other Edwards sign
  EXPECT_FALSE(XEdDSAVerify(pair.public_key, msg, flipped_sign));
  Signature high_s = sig;
  high_s[63] |= 0x20;  // s >= 2^253
  EXPECT_FALSE(XEdDSAVerify(pair.public_key, msg, high_s));
  EXPECT_FALSE(XEdDSAVerify(pair.public_key, msg, std::span<const uint8_t>(sig).first(63)));
  Signature zero{};
  EXPECT_FALSE(XEdDSAVerify(pair.public_key, msg, zero));
  std::array<uint8_t, 32> noncanonical{};
  noncanonical.fill(0xFF);
  noncanonical[31] = 0x7F;  // >= p
  EXPECT_FALSE(XEdDSAVerify(PublicKey(noncanonical), msg, sig));
}

// Other Signal libraries keep the signer's Edwards key as is and carry its
// sign bit in the top bit of s; those signatures must verify too.
TEST(XEdDSA, AcceptsSignBitInSignature) {
  ASSERT_GE(sodium_init(), 0);
  SeededRandom random(5);
  int with_sign_bit = 0;
  for (int i = 0; i < 40; ++i) {
    KeyPair pair = KeyPair::Generate(random);
    std::array<uint8_t, 64> k{};
    std::memcpy(k.data(), pair.private_key.raw().data(), 32);
    unsigned char edwards[32], a[32], r[32], ram[64], h[32], ha[32];
    ASSERT_EQ(crypto_scalarmult_ed25519_base_noclamp(edwards, k.data()), 0);
    crypto_core_ed25519_scalar_reduce(a, k.data());
    unsigned char nonce_wide[64];
    random.Fill(std::span<uint8_t>(nonce_wide, 64));
    crypto_core_ed25519_scalar_reduce(r, nonce_wide);
    Signature sig;
    ASSERT_EQ(crypto_scalarmult_ed25519_base_noclamp(sig.data(), r), 0);
    auto msg = testing::Bytes("legacy-style");
    crypto_hash_sha512_state st;
    crypto_hash_sha512_init(&st);
    crypto_hash_sha512_update(&st, sig.data(), 32);
    crypto_hash_sha512_update(&st, edwards, 32);
    crypto_hash_sha512_update(&st, msg.data(), msg.size());
    crypto_hash_sha512_final(&st, ram);
    crypto_core_ed25519_scalar_reduce(h, ram);
    crypto_core_ed25519_scalar_mul(ha, h, a);
    crypto_core_ed25519_scalar_add(sig.data() + 32, r, ha);
    sig[63] |= edwards[31] & 0x80;
    with_sign_bit += (edwards[31] & 0x80) != 0;
    EXPECT_TRUE(XEdDSAVerify(pair.public_key, msg, sig)) << i;
  }
  EXPECT_GT(with_sign_bit, 0);
}

}  // namespace
}  // namespace tandem::crypto
