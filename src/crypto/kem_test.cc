// Tests for ML-KEM-1024 and Kyber-1024: known answers from independent
// implementations, round trips, implicit rejection checked against the
// standards' formulas, and the strict handling of malformed input.
#include "crypto/kem.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sodium.h>

#include <string>
#include <vector>

#include "common/random.h"
#include "crypto/internal/mlkem.h"
#include "crypto/test_util.h"

namespace tandem::crypto {
namespace {

namespace mlkem = internal::mlkem;
using testing::ToHex;

constexpr KemKind kKinds[] = {KemKind::kKyber1024, KemKind::kMlKem1024};

std::string KindName(KemKind kind) { return kind == KemKind::kKyber1024 ? "Kyber1024" : "MlKem1024"; }

mlkem::Variant VariantOf(KemKind kind) {
  return kind == KemKind::kMlKem1024 ? mlkem::Variant::kMlKem : mlkem::Variant::kKyberRound3;
}

// Byte i of seed `label` for vector n; tests/interop/kem_vectors.cjs builds
// the same seeds.
std::array<uint8_t, 32> Seed(int label, int n) {
  std::array<uint8_t, 32> out;
  for (int i = 0; i < 32; ++i) out[i] = static_cast<uint8_t>(label * 64 + n * 7 + i * 13);
  return out;
}

std::string Sha256Hex(std::span<const uint8_t> bytes) {
  uint8_t digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, bytes.data(), bytes.size());
  return ToHex(digest, sizeof digest);
}

// One-shot OpenSSL digests, written out here so the rejection keys are
// computed independently of the code under test.
std::vector<uint8_t> OpenSslDigest(const char* name, std::initializer_list<std::span<const uint8_t>> parts,
                                   size_t xof_length = 0) {
  EVP_MD* md = EVP_MD_fetch(nullptr, name, nullptr);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex2(ctx, md, nullptr);
  for (auto part : parts) EVP_DigestUpdate(ctx, part.data(), part.size());
  std::vector<uint8_t> out(xof_length == 0 ? static_cast<size_t>(EVP_MD_get_size(md)) : xof_length);
  if (xof_length == 0) {
    EVP_DigestFinal_ex(ctx, out.data(), nullptr);
  } else {
    EVP_DigestFinalXOF(ctx, out.data(), out.size());
  }
  EVP_MD_CTX_free(ctx);
  EVP_MD_free(md);
  return out;
}

// The shared secret a standard decapsulator returns for a ciphertext it
// rejects: J(z ‖ c) = SHAKE256(z ‖ c, 32) for ML-KEM (FIPS 203 Algorithm
// 18), KDF(z ‖ H(c)) = SHAKE256(z ‖ SHA3-256(c), 32) for Kyber round 3.
std::vector<uint8_t> StandardRejectionKey(KemKind kind, const KemSecretKey& secret_key,
                                          std::span<const uint8_t> raw_ciphertext) {
  std::span<const uint8_t> z = std::span<const uint8_t>(secret_key.raw()).last(32);
  if (kind == KemKind::kMlKem1024) return OpenSslDigest("SHAKE256", {z, raw_ciphertext}, 32);
  std::vector<uint8_t> ciphertext_hash = OpenSslDigest("SHA3-256", {raw_ciphertext});
  return OpenSslDigest("SHAKE256", {z, ciphertext_hash}, 32);
}

struct KnownAnswer {
  KemKind kind;
  int n;
  const char* public_key_sha256;
  const char* secret_key_sha256;
  const char* ciphertext_sha256;
  const char* shared_secret;
  const char* rejected_shared_secret;  // for the ciphertext with bit 0 of byte 0 flipped
};

// From `node tests/interop/kem_vectors.cjs` (see its header): keygen(d ‖ z)
// and encapsulate(ek, m) of @noble/post-quantum 0.1.0's round-3 kyber1024 and
// of @noble/post-quantum 0.7.1's FIPS 203 ml_kem1024, with d = Seed(1, n),
// z = Seed(2, n), m = Seed(3, n). Digests are SHA-256 of the raw encodings
// (no type byte).
constexpr KnownAnswer kKnownAnswers[] = {
    {KemKind::kKyber1024, 0, "5102699ae42a0d91c8d618cf3858f62c53ab5ba9348a56210d1ebb902b913108",
     "0fc9f264b20baa230b186587db9f7b20183f10593e83ba0164de07cbe2817017",
     "2c366bab583c429264621062af7cb777a55baa8d6b6a0d11a4f2e8e9297131e4",
     "10de442c030d562ebc865784e884f336996e2479638218cdb1406c176a5cc42a",
     "ea9bb748f4b457cd9526424b6dd9b4c200311980434d6bfa3e73850fe3893076"},
    {KemKind::kKyber1024, 1, "1c0d5d08db5b286d41bf22408d129b1c8b717d628d032563c4e0a4778b66663d",
     "09cc0796a415e3b3db93a87b0ea4851313cd381f3c4c641ec6f17aa8778795ea",
     "ac4b94252cbf9515293ac246559622080645ffa49cd792b2afe6eb40df8fa297",
     "03fd375ee8f493050117734bff3dac3b4cfbd4ab05f4b67222434725ea4ae80b",
     "6aeabf554aa20282957e3b2a2747dc4974bee5685d319125d840d85ed7047dd5"},
    {KemKind::kKyber1024, 2, "ab282e7a8f18f920c7212b473f797d660fae0e95f37b159f83cf980fa67b7308",
     "01df4137092451b65d757f72d807a9310008ff0f0d244f3c9f6342f8de0e4dc4",
     "817ca4b2c60d74e43063a6b9521bc7bfc175e36df17746e5619ef53c4d00d041",
     "1572a3500e066ff477b1c05694842df71ab9056852fdb6d4af1cf5aaa9247da7",
     "4aaf623d953d43ca4ce613184e8fc67e16399c2ad0eba36f9b3aa418669c7f30"},
    {KemKind::kMlKem1024, 0, "d29a79d2fcc732cdf3af8b3f78fde7fc11e9d55a362ca929e9d4359ee1e4f77a",
     "3370a8b9493e426b690d81610e92ad17c6cabe1dd8c3815ed91ff8de5c985735",
     "56d31a474c435067257d3655c2025e6f9bc865743b7fcf56354879342eb9ea7a",
     "81ffdd43c72ddd428e668babec6a4d01c259113287cb966cf2e020e1104fbfd3",
     "59d1c9c6aad50437429cbf888fdc522c9c26514a4f39d75de8b8a827b37349fc"},
    {KemKind::kMlKem1024, 1, "377771cddc9c80efab55c55e9b3d95f42d38c82cca3571f8cf7b2a37585a70ed",
     "574462d58f53e7fbcc782c790c342b043b1e870eaf637ccccf41628f67ef8ac3",
     "ce0325dae84b91c81c1a3ebda336bbfe60de30b7d66d34e9b813d14176904d63",
     "39b58a84afe77caaf3e4d7cb2bb3aca74871d64fe718a1cc06285df3c991f164",
     "c10126e9ec360bcab233d04da49b8819b99f8f4c8e95fff87fbd210b759c1aee"},
    {KemKind::kMlKem1024, 2, "edc67d2a05436fd0544bcec5f176eb4d8603b882a665e6bb05d0540a8255efd5",
     "e645de2349af5d26fd87822777b05f8dcef21deda0344ef1a5b0737c9dc6b5d3",
     "ad14481ca4eb4ad27280da9feb83f32aeed01e6712ec60ae742d5367d51e3c37",
     "4356ae4367970370d169fd6adbca3a2c58f4c9f7753bcc7be182dcee84529d9c",
     "ed4867eda6c0e3131c85758cf223f664f305d0919a5daac9fe7bd12e8cad3146"},
};

struct RawKeys {
  std::array<uint8_t, mlkem::kPublicKeySize> public_key;
  std::array<uint8_t, mlkem::kSecretKeySize> secret_key;
};

RawKeys KeyGenFromSeeds(KemKind kind, int n) {
  RawKeys keys;
  auto d = Seed(1, n), z = Seed(2, n);
  mlkem::KeyGen(VariantOf(kind), d, z, keys.public_key, keys.secret_key);
  return keys;
}

TEST(KemTest, KnownAnswersFromIndependentImplementations) {
  for (const KnownAnswer& answer : kKnownAnswers) {
    SCOPED_TRACE(KindName(answer.kind) + " vector " + std::to_string(answer.n));
    RawKeys keys = KeyGenFromSeeds(answer.kind, answer.n);
    EXPECT_EQ(Sha256Hex(keys.public_key), answer.public_key_sha256);
    EXPECT_EQ(Sha256Hex(keys.secret_key), answer.secret_key_sha256);

    std::array<uint8_t, 32> hash;
    mlkem::HashPublicKey(keys.public_key, hash);
    auto m = Seed(3, answer.n);
    std::array<uint8_t, mlkem::kCiphertextSize> ciphertext;
    std::array<uint8_t, 32> shared_secret;
    mlkem::Encapsulate(VariantOf(answer.kind), keys.public_key, hash, m, ciphertext, shared_secret);
    EXPECT_EQ(Sha256Hex(ciphertext), answer.ciphertext_sha256);
    EXPECT_EQ(ToHex(shared_secret), answer.shared_secret);

    std::array<uint8_t, 32> decapsulated;
    mlkem::Decapsulate(VariantOf(answer.kind), keys.secret_key, ciphertext, decapsulated);
    EXPECT_EQ(ToHex(decapsulated), answer.shared_secret);
    ciphertext[0] ^= 1;
    mlkem::Decapsulate(VariantOf(answer.kind), keys.secret_key, ciphertext, decapsulated);
    EXPECT_EQ(ToHex(decapsulated), answer.rejected_shared_secret);
  }
}

TEST(KemTest, RoundTripBothKinds) {
  SeededRandom random(1);
  for (KemKind kind : kKinds) {
    SCOPED_TRACE(KindName(kind));
    for (int i = 0; i < 20; ++i) {
      KemKeyPair pair = KemKeyPair::Generate(kind, random);
      auto sent = Encapsulate(pair.public_key, random);
      ASSERT_TRUE(sent.ok()) << sent.status();
      ASSERT_EQ(sent->ciphertext.size(), 1 + kKemCiphertextSize);
      EXPECT_EQ(sent->ciphertext[0], static_cast<uint8_t>(kind));
      auto received = Decapsulate(pair.secret_key, sent->ciphertext);
      ASSERT_TRUE(received.ok()) << received.status();
      EXPECT_EQ(*received, sent->shared_secret);
    }
  }
}

TEST(KemTest, KindsDifferForTheSameSeeds) {
  // Same d: ML-KEM's G(d ‖ 4) and Kyber's G(d) give unrelated keys.
  EXPECT_NE(KeyGenFromSeeds(KemKind::kKyber1024, 0).public_key,
            KeyGenFromSeeds(KemKind::kMlKem1024, 0).public_key);
}

TEST(KemTest, ImplicitRejectionGivesTheStandardsRejectionKey) {
  SeededRandom random(2);
  for (KemKind kind : kKinds) {
    SCOPED_TRACE(KindName(kind));
    KemKeyPair pair = KemKeyPair::Generate(kind, random);
    auto sent = Encapsulate(pair.public_key, random);
    ASSERT_TRUE(sent.ok());
    // Bits in u (the first 1408 bytes), in v, and the very last one.
    for (size_t bit :
         {size_t{0}, size_t{8 * 700 + 3}, size_t{8 * 1500 + 5}, size_t{8 * kKemCiphertextSize - 1}}) {
      std::vector<uint8_t> tampered = sent->ciphertext;
      tampered[1 + bit / 8] ^= static_cast<uint8_t>(1 << (bit % 8));
      auto received = Decapsulate(pair.secret_key, tampered);
      ASSERT_TRUE(received.ok()) << "a well-formed ciphertext is never an error";
      EXPECT_NE(*received, sent->shared_secret);
      std::vector<uint8_t> expected =
          StandardRejectionKey(kind, pair.secret_key, std::span<const uint8_t>(tampered).subspan(1));
      EXPECT_EQ(ToHex(*received), ToHex(expected)) << "bit " << bit;
    }
  }
}

TEST(KemTest, DecapsulationUnderAnotherKeyIsItsRejectionKey) {
  SeededRandom random(3);
  for (KemKind kind : kKinds) {
    KemKeyPair alice = KemKeyPair::Generate(kind, random), bob = KemKeyPair::Generate(kind, random);
    auto sent = Encapsulate(alice.public_key, random);
    auto received = Decapsulate(bob.secret_key, sent->ciphertext);
    ASSERT_TRUE(received.ok());
    EXPECT_EQ(ToHex(*received),
              ToHex(StandardRejectionKey(kind, bob.secret_key,
                                         std::span<const uint8_t>(sent->ciphertext).subspan(1))));
  }
}

TEST(KemTest, MalformedCiphertextsAreInvalidArgument) {
  SeededRandom random(4);
  for (KemKind kind : kKinds) {
    SCOPED_TRACE(KindName(kind));
    KemKeyPair pair = KemKeyPair::Generate(kind, random);
    auto sent = Encapsulate(pair.public_key, random);
    const std::vector<uint8_t>& c = sent->ciphertext;
    auto code = [&](std::span<const uint8_t> bytes) {
      return Decapsulate(pair.secret_key, bytes).status().code();
    };
    EXPECT_EQ(code({}), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(code(std::span<const uint8_t>(c).first(c.size() - 1)), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(code(std::span<const uint8_t>(c).subspan(1)), absl::StatusCode::kInvalidArgument)
        << "no type byte";
    std::vector<uint8_t> longer = c;
    longer.push_back(0);
    EXPECT_EQ(code(longer), absl::StatusCode::kInvalidArgument);
    std::vector<uint8_t> other_kind = c;
    other_kind[0] =
        static_cast<uint8_t>(kind == KemKind::kKyber1024 ? KemKind::kMlKem1024 : KemKind::kKyber1024);
    EXPECT_EQ(code(other_kind), absl::StatusCode::kInvalidArgument);
    std::vector<uint8_t> kyber768 = c;
    kyber768[0] = 0x07;
    EXPECT_EQ(code(kyber768), absl::StatusCode::kInvalidArgument);
  }
}

TEST(KemTest, KeysSerializeAsLibsignalDoes) {
  SeededRandom random(5);
  for (KemKind kind : kKinds) {
    SCOPED_TRACE(KindName(kind));
    KemKeyPair pair = KemKeyPair::Generate(kind, random);
    std::vector<uint8_t> public_bytes = pair.public_key.Serialize();
    std::vector<uint8_t> secret_bytes = pair.secret_key.Serialize();
    ASSERT_EQ(public_bytes.size(), 1569u);
    ASSERT_EQ(secret_bytes.size(), 3169u);
    EXPECT_EQ(public_bytes[0], static_cast<uint8_t>(kind));
    EXPECT_EQ(secret_bytes[0], static_cast<uint8_t>(kind));
    auto public_key = KemPublicKey::Deserialize(public_bytes);
    auto secret_key = KemSecretKey::Deserialize(secret_bytes);
    ASSERT_TRUE(public_key.ok() && secret_key.ok());
    EXPECT_EQ(*public_key, pair.public_key);
    EXPECT_EQ(*secret_key, pair.secret_key);
    EXPECT_EQ(secret_key->public_key(), pair.public_key);
    EXPECT_EQ(public_key->Serialize(), public_bytes);
    EXPECT_EQ(secret_key->Serialize(), secret_bytes);
    // The secret key carries ek, then H(ek), then z.
    EXPECT_TRUE(std::equal(pair.public_key.raw().begin(), pair.public_key.raw().end(),
                           pair.secret_key.raw().begin() + 1536));
    EXPECT_TRUE(std::equal(pair.public_key.hash().begin(), pair.public_key.hash().end(),
                           pair.secret_key.raw().begin() + 1536 + 1568));
  }
}

TEST(KemTest, MalformedKeysAreInvalidArgument) {
  SeededRandom random(6);
  KemKeyPair pair = KemKeyPair::Generate(KemKind::kMlKem1024, random);
  std::vector<uint8_t> public_bytes = pair.public_key.Serialize();
  std::vector<uint8_t> secret_bytes = pair.secret_key.Serialize();
  auto public_code = [](std::span<const uint8_t> b) { return KemPublicKey::Deserialize(b).status().code(); };
  auto secret_code = [](std::span<const uint8_t> b) { return KemSecretKey::Deserialize(b).status().code(); };
  EXPECT_EQ(public_code({}), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(public_code(std::span<const uint8_t>(public_bytes).first(1568)),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(public_code(std::span<const uint8_t>(public_bytes).subspan(1)),
            absl::StatusCode::kInvalidArgument);
  std::vector<uint8_t> wrong_type = public_bytes;
  wrong_type[0] = 0x05;
  EXPECT_EQ(public_code(wrong_type), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(secret_code({}), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(secret_code(std::span<const uint8_t>(secret_bytes).first(3168)),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(secret_code(public_bytes), absl::StatusCode::kInvalidArgument);
  // FIPS 203 §7.3: a secret key whose ek no longer hashes to its H(ek).
  std::vector<uint8_t> corrupt = secret_bytes;
  corrupt[1 + 1536 + 10] ^= 1;
  EXPECT_EQ(secret_code(corrupt), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(KemPublicKey::FromRaw(KemKind::kMlKem1024, public_bytes).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Coefficient i of t̂ (12 bits, two per three bytes, low bits first).
uint16_t Coefficient(std::span<const uint8_t> raw_public_key, size_t i) {
  const uint8_t* b = raw_public_key.data() + 3 * (i / 2);
  return static_cast<uint16_t>(i % 2 == 0 ? b[0] | ((b[1] & 0x0f) << 8) : (b[1] >> 4) | (b[2] << 4));
}

void SetCoefficient(std::vector<uint8_t>& raw_public_key, size_t i, uint16_t value) {
  uint8_t* b = raw_public_key.data() + 3 * (i / 2);
  if (i % 2 == 0) {
    b[0] = static_cast<uint8_t>(value);
    b[1] = static_cast<uint8_t>((b[1] & 0xf0) | (value >> 8));
  } else {
    b[1] = static_cast<uint8_t>((b[1] & 0x0f) | ((value & 0x0f) << 4));
    b[2] = static_cast<uint8_t>(value >> 4);
  }
}

TEST(KemTest, MlKemEncapsulationChecksTheModulus) {
  SeededRandom random(7);
  for (uint16_t value : {uint16_t{3329}, uint16_t{4095}}) {
    KemKeyPair pair = KemKeyPair::Generate(KemKind::kMlKem1024, random);
    std::vector<uint8_t> raw = pair.public_key.raw();
    SetCoefficient(raw, 0, value);
    auto key = KemPublicKey::FromRaw(KemKind::kMlKem1024, raw);
    ASSERT_TRUE(key.ok()) << "parsing does not look inside the key, as in libsignal";
    EXPECT_EQ(Encapsulate(*key, random).status().code(), absl::StatusCode::kInvalidArgument) << value;
  }
  KemKeyPair pair = KemKeyPair::Generate(KemKind::kMlKem1024, random);
  std::vector<uint8_t> raw = pair.public_key.raw();
  SetCoefficient(raw, 1023, 3328);
  EXPECT_TRUE(Encapsulate(*KemPublicKey::FromRaw(KemKind::kMlKem1024, raw), random).ok()) << "q - 1 is fine";
}

TEST(KemTest, KyberReducesUnreducedPublicKeyCoefficients) {
  // Round 3 has no modulus check: a coefficient x + q means x. With the same
  // H(ek) and coins, the key with x + q must give the same ciphertext.
  RawKeys keys = KeyGenFromSeeds(KemKind::kKyber1024, 0);
  std::vector<uint8_t> raw(keys.public_key.begin(), keys.public_key.end());
  int changed = 0;
  for (size_t i = 0; i < 1024; ++i) {
    uint16_t x = Coefficient(raw, i);
    if (x + 3329 <= 4095) {
      SetCoefficient(raw, i, static_cast<uint16_t>(x + 3329));
      ++changed;
    }
  }
  ASSERT_GT(changed, 100);
  std::array<uint8_t, 32> hash;
  mlkem::HashPublicKey(keys.public_key, hash);
  auto m = Seed(3, 0);
  std::array<uint8_t, mlkem::kCiphertextSize> c1, c2;
  std::array<uint8_t, 32> k1, k2;
  mlkem::Encapsulate(mlkem::Variant::kKyberRound3, keys.public_key, hash, m, c1, k1);
  mlkem::Encapsulate(mlkem::Variant::kKyberRound3, mlkem::PublicKeyView(raw.data(), mlkem::kPublicKeySize),
                     hash, m, c2, k2);
  EXPECT_EQ(c1, c2);
  EXPECT_EQ(k1, k2);
  SeededRandom random(8);
  EXPECT_TRUE(Encapsulate(*KemPublicKey::FromRaw(KemKind::kKyber1024, raw), random).ok());
}

}  // namespace
}  // namespace tandem::crypto
