// Attachment encryption: the padding buckets, round trips at their edges,
// every kind of damage a blob can suffer, streaming in odd pieces, files,
// and a fixed vector computed outside this code.
#include "crypto/attachment.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/encoding.h"  // Sha256
#include "common/random.h"
#include "crypto/test_util.h"

namespace tandem::crypto {
namespace {

std::string ToHex(std::string_view s) {
  return testing::ToHex(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

std::string Range(int first, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += static_cast<char>(first + i);
  return s;
}

std::string Payload(size_t n, uint64_t seed = 1) {
  SeededRandom random(seed);
  std::string s(n, '\0');
  random.Fill(std::span(reinterpret_cast<uint8_t*>(s.data()), s.size()));
  return s;
}

class AttachmentTest : public ::testing::Test {
 protected:
  SeededRandom random_{7};
  std::string key_ = GenerateAttachmentKey(random_);
  std::string iv_ = Range(0xa0, 16);
};

TEST(AttachmentPadding, FollowsSignalsBuckets) {
  EXPECT_EQ(PaddedAttachmentSize(0), 541u);
  EXPECT_EQ(PaddedAttachmentSize(1), 541u);
  EXPECT_EQ(PaddedAttachmentSize(541), 541u);
  EXPECT_EQ(PaddedAttachmentSize(542), 568u);
  EXPECT_EQ(PaddedAttachmentSize(568), 568u);
  EXPECT_EQ(PaddedAttachmentSize(569), 596u);
  EXPECT_EQ(PaddedAttachmentSize(1000), 1020u);
  EXPECT_EQ(PaddedAttachmentSize(100 << 20), 107335738u);
  // Never below the size, and at most 5% above it past the minimum.
  for (uint64_t n = 1; n < 2'000'000; n = n * 3 / 2 + 1) {
    uint64_t p = PaddedAttachmentSize(n);
    EXPECT_GE(p, n);
    if (n > 541) {
      EXPECT_LE(p, n + n / 20 + 1) << n;
    }
  }
  EXPECT_EQ(AttachmentBlobSize(0), 16u + 544u + 32u);
}

TEST_F(AttachmentTest, RoundTripsAtBucketEdges) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{15}, size_t{16}, size_t{540}, size_t{541}, size_t{542},
                   size_t{567}, size_t{568}, size_t{569}, size_t{100000}}) {
    std::string plain = Payload(n, n);
    auto enc = EncryptAttachment(key_, iv_, plain);
    ASSERT_TRUE(enc.ok()) << enc.status();
    EXPECT_EQ(enc->blob.size(), AttachmentBlobSize(n)) << n;
    EXPECT_EQ(enc->blob.substr(0, 16), iv_);
    auto dec = DecryptAttachment(key_, enc->digest, n, enc->blob);
    ASSERT_TRUE(dec.ok()) << n << ": " << dec.status();
    EXPECT_EQ(*dec, plain) << n;
  }
}

TEST_F(AttachmentTest, AnyAlteredByteFailsTheDigest) {
  std::string plain = Payload(1000);
  auto enc = EncryptAttachment(key_, iv_, plain);
  ASSERT_TRUE(enc.ok());
  for (size_t i = 0; i < enc->blob.size(); i += 37) {
    std::string blob = enc->blob;
    blob[i] = static_cast<char>(blob[i] ^ 0x01);
    auto dec = DecryptAttachment(key_, enc->digest, plain.size(), blob);
    ASSERT_FALSE(dec.ok()) << i;
    EXPECT_EQ(dec.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_EQ(dec.status().message(), "attachment digest mismatch: the blob was altered or truncated");
  }
}

TEST_F(AttachmentTest, AlteredBlobWithMatchingDigestFailsTheMac) {
  // Whoever writes the pointer can describe an altered blob correctly, yet
  // cannot get past the MAC without the key.
  auto enc = EncryptAttachment(key_, iv_, Payload(700));
  ASSERT_TRUE(enc.ok());
  for (size_t i : {size_t{0}, size_t{15}, size_t{16}, size_t{100}, enc->blob.size() - 33,
                   enc->blob.size() - 32, enc->blob.size() - 1}) {
    std::string blob = enc->blob;
    blob[i] = static_cast<char>(blob[i] ^ 0x80);
    auto dec = DecryptAttachment(key_, Sha256(blob), 700, blob);
    ASSERT_FALSE(dec.ok()) << i;
    EXPECT_EQ(dec.status().message(),
              "attachment MAC mismatch: the key is not the one the blob was encrypted with")
        << i;
  }
}

TEST_F(AttachmentTest, TruncatedOrExtendedBlobFails) {
  auto enc = EncryptAttachment(key_, iv_, Payload(2000));
  ASSERT_TRUE(enc.ok());
  for (size_t cut : {size_t{1}, size_t{16}, size_t{32}, enc->blob.size() - 1, enc->blob.size()}) {
    auto dec = DecryptAttachment(key_, enc->digest, 2000, enc->blob.substr(0, enc->blob.size() - cut));
    ASSERT_FALSE(dec.ok()) << cut;
    EXPECT_EQ(dec.status().code(), absl::StatusCode::kDataLoss) << dec.status();
  }
  auto longer = DecryptAttachment(key_, enc->digest, 2000, enc->blob + "x");
  EXPECT_EQ(longer.status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(AttachmentTest, WrongKeyFailsTheMac) {
  auto enc = EncryptAttachment(key_, iv_, Payload(3000));
  ASSERT_TRUE(enc.ok());
  std::string other = GenerateAttachmentKey(random_);
  // Only the MAC half matters for the check; a wrong AES half alone is
  // caught too, because the keys travel together.
  std::string wrong_mac_half = key_.substr(0, 32) + other.substr(32);
  for (const std::string& k : {other, wrong_mac_half}) {
    auto dec = DecryptAttachment(k, enc->digest, 3000, enc->blob);
    ASSERT_FALSE(dec.ok());
    EXPECT_EQ(dec.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_EQ(dec.status().message(),
              "attachment MAC mismatch: the key is not the one the blob was encrypted with");
  }
}

TEST_F(AttachmentTest, DeclaredSizeBeyondTheBlobFails) {
  auto enc = EncryptAttachment(key_, iv_, Payload(10));
  ASSERT_TRUE(enc.ok());
  // 541 padded bytes fit, so a size up to there decrypts (padding zeros);
  // past the PKCS#7 content it cannot.
  auto dec = DecryptAttachment(key_, enc->digest, 542, enc->blob);
  ASSERT_FALSE(dec.ok());
  EXPECT_EQ(dec.status().code(), absl::StatusCode::kDataLoss);
  auto too_big = DecryptAttachment(key_, enc->digest, 1 << 20, enc->blob);
  EXPECT_EQ(too_big.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(too_big.status().message().find("exceeds what its blob can hold"), std::string::npos);
}

TEST_F(AttachmentTest, BadArgumentsAreInvalid) {
  EXPECT_EQ(AttachmentEncryptor::Create("short", iv_, 1).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AttachmentEncryptor::Create(key_, "short", 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AttachmentDecryptor::Create(key_, "short", 1, 100).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto enc = AttachmentEncryptor::Create(key_, iv_, 3);
  ASSERT_TRUE(enc.ok());
  std::string out;
  EXPECT_EQ((*enc)->Update("four", &out).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE((*enc)->Update("ab", &out).ok());
  EXPECT_EQ((*enc)->Finish(&out).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(AttachmentTest, NoPlaintextBeforeVerification) {
  auto enc = EncryptAttachment(key_, iv_, "hello");
  ASSERT_TRUE(enc.ok());
  auto dec = AttachmentDecryptor::Create(key_, enc->digest, 5, enc->blob.size());
  ASSERT_TRUE(dec.ok());
  std::string out;
  EXPECT_EQ((*dec)->Decrypt(enc->blob, &out).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE((*dec)->Verify(enc->blob).ok());
  EXPECT_EQ((*dec)->Decrypt(enc->blob, &out).code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE((*dec)->FinishVerification().ok());
  ASSERT_TRUE((*dec)->Decrypt(enc->blob, &out).ok());
  ASSERT_TRUE((*dec)->Finish(&out).ok());
  EXPECT_EQ(out, "hello");
  // A failed verification leaves the decryptor failed.
  auto bad = AttachmentDecryptor::Create(key_, std::string(32, '\x01'), 5, enc->blob.size());
  ASSERT_TRUE((*bad)->Verify(enc->blob).ok());
  EXPECT_FALSE((*bad)->FinishVerification().ok());
  EXPECT_EQ((*bad)->Decrypt(enc->blob, &out).code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(AttachmentTest, StreamsInOddPieces) {
  const std::string plain = Payload(123457);
  auto enc = AttachmentEncryptor::Create(key_, iv_, plain.size());
  ASSERT_TRUE(enc.ok());
  std::string blob;
  for (size_t at = 0, step = 1; at < plain.size(); at += step, step = step * 2 + 3) {
    ASSERT_TRUE((*enc)->Update(std::string_view(plain).substr(at, step), &blob).ok());
  }
  auto digest = (*enc)->Finish(&blob);
  ASSERT_TRUE(digest.ok());
  auto whole = EncryptAttachment(key_, iv_, plain);
  EXPECT_EQ(blob, whole->blob);
  EXPECT_EQ(*digest, whole->digest);

  auto dec = AttachmentDecryptor::Create(key_, *digest, plain.size(), blob.size());
  ASSERT_TRUE(dec.ok());
  for (size_t at = 0; at < blob.size(); at += 7) ASSERT_TRUE((*dec)->Verify(blob.substr(at, 7)).ok());
  ASSERT_TRUE((*dec)->FinishVerification().ok());
  std::string out;
  for (size_t at = 0, step = 1; at < blob.size(); at += step, step = step % 50 + 1) {
    ASSERT_TRUE((*dec)->Decrypt(std::string_view(blob).substr(at, step), &out).ok());
  }
  ASSERT_TRUE((*dec)->Finish(&out).ok());
  EXPECT_EQ(out, plain);
}

TEST_F(AttachmentTest, FilesRoundTripAndTamperLeavesNothing) {
  auto dir = std::filesystem::temp_directory_path() / absl::StrCat("attachment_test_", getpid());
  std::filesystem::create_directories(dir);
  const std::string plain_path = (dir / "plain").string(), blob_path = (dir / "blob").string(),
                    out_path = (dir / "out").string();
  const std::string plain = Payload(3'000'001);
  std::ofstream(plain_path, std::ios::binary) << plain;
  auto enc = EncryptAttachmentFile(key_, iv_, plain_path, blob_path);
  ASSERT_TRUE(enc.ok()) << enc.status();
  EXPECT_EQ(enc->size, plain.size());
  EXPECT_EQ(std::filesystem::file_size(blob_path), AttachmentBlobSize(plain.size()));
  ASSERT_TRUE(DecryptAttachmentFile(key_, enc->digest, enc->size, blob_path, out_path).ok());
  std::ifstream in(out_path, std::ios::binary);
  std::string back((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(back, plain);

  std::filesystem::remove(out_path);
  {
    std::fstream f(blob_path, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(2'000'000);
    f.put('\x55');
  }
  absl::Status st = DecryptAttachmentFile(key_, enc->digest, enc->size, blob_path, out_path);
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss) << st;
  EXPECT_FALSE(std::filesystem::exists(out_path));
  EXPECT_FALSE(std::filesystem::exists(out_path + ".part"));
  std::filesystem::remove_all(dir);
}

// Derived independently of this code, with the OpenSSL command line and
// Python's hashlib:
//   key = 00 01 .. 3f, iv = a0 a1 .. af, plaintext "tandem attachment test
//   vector" (29 bytes) padded with 512 zero bytes to the 541-byte bucket;
//   ct = `openssl enc -aes-256-cbc -K <key[0:32]> -iv <iv>` (PKCS#7: 544
//   bytes); mac = HMAC-SHA256(key[32:64], iv || ct);
//   digest = SHA-256(iv || ct || mac) over the 592-byte blob.
TEST(AttachmentVector, MatchesAnIndependentComputation) {
  const std::string key = Range(0, 64), iv = Range(0xa0, 16);
  const std::string plain = "tandem attachment test vector";
  auto enc = EncryptAttachment(key, iv, plain);
  ASSERT_TRUE(enc.ok());
  ASSERT_EQ(enc->blob.size(), 592u);
  EXPECT_EQ(ToHex(enc->blob.substr(544, 16)), "03596edef7323be61b6704bd98f5ecde");
  EXPECT_EQ(ToHex(enc->blob.substr(560)), "c720701c2de7f53c80e709947fbff4a8c90d4672213908b3b43c412116e7ee11");
  EXPECT_EQ(ToHex(enc->digest), "37e9f77cb2ed386ee9cdc354419c914f326e9ab058fbfeb23ac49b282fbacfe9");
  auto dec = DecryptAttachment(key, enc->digest, plain.size(), enc->blob);
  ASSERT_TRUE(dec.ok());
  EXPECT_EQ(*dec, plain);
}

}  // namespace
}  // namespace tandem::crypto
