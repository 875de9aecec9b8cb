// Tests for the symmetric primitives: HMAC-SHA256 (RFC 4231), HKDF
// (RFC 5869 test cases 1-3) and AES-256-CBC.
#include "crypto/internal/primitives.h"

#include <gtest/gtest.h>

#include "crypto/test_util.h"

namespace tandem::crypto::internal {
namespace {

using testing::FromHex;
using testing::ToHex;

TEST(HmacSha256, Rfc4231Case2) {
  auto key = testing::Bytes("Jefe");
  auto msg = testing::Bytes("what do ya want for nothing?");
  EXPECT_EQ(ToHex(HmacSha256(key, {msg})),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(HmacSha256, LongKeyIsHashedFirst) {  // RFC 4231 case 6
  std::vector<uint8_t> key(131, 0xaa);
  auto msg = testing::Bytes("Test Using Larger Than Block-Size Key - Hash Key First");
  EXPECT_EQ(ToHex(HmacSha256(key, {msg})),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(HmacSha256, PartsConcatenate) {
  auto key = testing::Bytes("k");
  auto ab = testing::Bytes("ab");
  auto a = testing::Bytes("a");
  auto b = testing::Bytes("b");
  EXPECT_EQ(HmacSha256(key, {ab}), HmacSha256(key, {a, b}));
}

TEST(Hkdf, Rfc5869Case1) {
  auto ikm = std::vector<uint8_t>(22, 0x0b);
  auto salt = FromHex("000102030405060708090a0b0c");
  auto info = FromHex("f0f1f2f3f4f5f6f7f8f9");
  std::vector<uint8_t> okm(42);
  Hkdf(ikm, salt, info, okm);
  EXPECT_EQ(ToHex(okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

TEST(Hkdf, Rfc5869Case2LongInputs) {
  std::vector<uint8_t> ikm, salt, info;
  for (int i = 0x00; i <= 0x4f; ++i) ikm.push_back(static_cast<uint8_t>(i));
  for (int i = 0x60; i <= 0xaf; ++i) salt.push_back(static_cast<uint8_t>(i));
  for (int i = 0xb0; i <= 0xff; ++i) info.push_back(static_cast<uint8_t>(i));
  std::vector<uint8_t> okm(82);
  Hkdf(ikm, salt, info, okm);
  EXPECT_EQ(
      ToHex(okm),
      "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da"
      "3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87");
}

TEST(Hkdf, Rfc5869Case3EmptySaltAndInfo) {
  auto ikm = std::vector<uint8_t>(22, 0x0b);
  std::vector<uint8_t> okm(42);
  Hkdf(ikm, {}, {}, okm);
  EXPECT_EQ(ToHex(okm),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

TEST(Aes256Cbc, RoundTripAndPadding) {
  std::vector<uint8_t> key(32, 7), iv(16, 9);
  for (size_t n : {0, 1, 15, 16, 17, 100}) {
    std::vector<uint8_t> plain(n, 0x42);
    auto ct = Aes256CbcEncrypt(key, iv, plain);
    EXPECT_EQ(ct.size(), (n / 16 + 1) * 16);
    auto back = Aes256CbcDecrypt(key, iv, ct);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, plain);
  }
}

TEST(Aes256Cbc, Nist80038aVector) {  // F.2.5 CBC-AES256.Encrypt, first block
  auto key = FromHex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4");
  auto iv = FromHex("000102030405060708090a0b0c0d0e0f");
  auto plain = FromHex("6bc1bee22e409f96e93d7e117393172a");
  auto ct = Aes256CbcEncrypt(key, iv, plain);
  EXPECT_EQ(ToHex(ct).substr(0, 32), "f58c4c04d6e5f1ba779eabfb5f7bfbd6");
}

TEST(Aes256Cbc, RejectsBadLengthAndPadding) {
  std::vector<uint8_t> key(32, 7), iv(16, 9);
  EXPECT_FALSE(Aes256CbcDecrypt(key, iv, std::vector<uint8_t>(15)).ok());
  EXPECT_FALSE(Aes256CbcDecrypt(key, iv, {}).ok());
  auto ct = Aes256CbcEncrypt(key, iv, std::vector<uint8_t>(20, 1));
  std::vector<uint8_t> wrong_key(32, 8);
  // A wrong key almost always yields invalid padding.
  EXPECT_FALSE(Aes256CbcDecrypt(wrong_key, iv, ct).ok());
}

}  // namespace
}  // namespace tandem::crypto::internal
