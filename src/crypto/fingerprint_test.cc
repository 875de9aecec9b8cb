// Tests for safety numbers.
#include "crypto/fingerprint.h"

#include <gtest/gtest.h>

namespace tandem::crypto {
namespace {

TEST(SafetyNumber, SixtyDigitsAndSymmetric) {
  SeededRandom random(30);
  PublicKey alice = KeyPair::Generate(random).public_key;
  PublicKey bob = KeyPair::Generate(random).public_key;
  std::string a = SafetyNumber("+14155550101", alice, "+14155550102", bob);
  std::string b = SafetyNumber("+14155550102", bob, "+14155550101", alice);
  EXPECT_EQ(a.size(), 60u);
  EXPECT_EQ(a.find_first_not_of("0123456789"), std::string::npos);
  EXPECT_EQ(a, b);
}

TEST(SafetyNumber, ChangesWithKeyOrIdentifier) {
  SeededRandom random(31);
  PublicKey alice = KeyPair::Generate(random).public_key;
  PublicKey bob = KeyPair::Generate(random).public_key;
  PublicKey bob2 = KeyPair::Generate(random).public_key;
  std::string base = SafetyNumber("+14155550101", alice, "+14155550102", bob);
  EXPECT_NE(base, SafetyNumber("+14155550101", alice, "+14155550102", bob2));
  EXPECT_NE(base, SafetyNumber("+14155550101", alice, "+14155550103", bob));
}

TEST(SafetyNumber, HalvesAreOrdered) {
  SeededRandom random(32);
  PublicKey alice = KeyPair::Generate(random).public_key;
  PublicKey bob = KeyPair::Generate(random).public_key;
  std::string a = FingerprintHalf("alice", alice);
  std::string b = FingerprintHalf("bob", bob);
  EXPECT_EQ(SafetyNumber("alice", alice, "bob", bob), a < b ? a + b : b + a);
}

}  // namespace
}  // namespace tandem::crypto
