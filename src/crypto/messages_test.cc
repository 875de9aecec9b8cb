// Tests for the strict v3 message parsers and the wire reader.
#include "crypto/internal/messages.h"

#include <gtest/gtest.h>

#include "crypto/internal/wire.h"
#include "crypto/test_util.h"

namespace tandem::crypto::internal {
namespace {

std::vector<uint8_t> SampleSignalMessage(const PublicKey& key) {
  std::vector<uint8_t> ct(32, 0xAB);
  auto body = SerializeSignalMessageBody(3, key, 5, 2, ct);
  body.insert(body.end(), kMacSize, 0xCD);
  return body;
}

TEST(SignalMessage, RoundTrip) {
  SeededRandom random(20);
  PublicKey key = KeyPair::Generate(random).public_key;
  auto bytes = SampleSignalMessage(key);
  EXPECT_EQ(bytes[0], 0x33);
  auto view = ParseSignalMessage(bytes);
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_EQ(view->ratchet_key, key);
  EXPECT_EQ(view->counter, 5u);
  EXPECT_EQ(view->previous_counter, 2u);
  EXPECT_EQ(view->ciphertext.size(), 32u);
  EXPECT_EQ(view->mac.size(), kMacSize);
  EXPECT_EQ(view->authenticated.size(), bytes.size() - kMacSize);
}

TEST(SignalMessage, RejectsVersions) {
  SeededRandom random(21);
  auto bytes = SampleSignalMessage(KeyPair::Generate(random).public_key);
  bytes[0] = 0x22;
  auto legacy = ParseSignalMessage(bytes);
  EXPECT_EQ(legacy.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(legacy.status().message().find("legacy"), std::string::npos);
  bytes[0] = 0x54;
  auto future = ParseSignalMessage(bytes);
  EXPECT_NE(future.status().message().find("unknown message version"), std::string::npos);
  // 0x44 is version 4, which libsignal writes; 0x34 the v3 byte libsignal
  // would write (only the high nibble counts).
  bytes[0] = 0x44;
  auto v4 = ParseSignalMessage(bytes);
  ASSERT_TRUE(v4.ok()) << v4.status();
  EXPECT_EQ(v4->version, 4u);
  bytes[0] = 0x34;
  auto v3 = ParseSignalMessage(bytes);
  ASSERT_TRUE(v3.ok()) << v3.status();
  EXPECT_EQ(v3->version, 3u);
}

TEST(SignalMessage, Version4CarriesThePostQuantumField) {
  SeededRandom random(24);
  PublicKey key = KeyPair::Generate(random).public_key;
  std::vector<uint8_t> ct(16, 0x11), pq = {0x01, 0x01, 0x05, 0x00};
  auto bytes = SerializeSignalMessageBody(4, key, 1, 0, ct, pq);
  EXPECT_EQ(bytes[0], 0x44);
  bytes.insert(bytes.end(), kMacSize, 0);
  auto view = ParseSignalMessage(bytes);
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_EQ(std::vector<uint8_t>(view->pq_ratchet.begin(), view->pq_ratchet.end()), pq);
  // The same field in a v3 message is refused, not ignored.
  bytes[0] = 0x33;
  EXPECT_EQ(ParseSignalMessage(bytes).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(PreKeySignalMessage, Version4NeedsBothKyberFieldsAndAMatchingInner) {
  SeededRandom random(25);
  PublicKey base = KeyPair::Generate(random).public_key;
  PublicKey identity = KeyPair::Generate(random).public_key;
  std::vector<uint8_t> ct(16, 0x11), pq = {0x01, 0x01, 0x01, 0x00}, kyber(1569, 0x08);
  auto inner = SerializeSignalMessageBody(4, KeyPair::Generate(random).public_key, 0, 0, ct, pq);
  inner.insert(inner.end(), kMacSize, 0);
  auto bytes = SerializePreKeySignalMessage(PreKeyFields{4, 7, 3, 9, base, identity, 11, kyber}, inner);
  EXPECT_EQ(bytes[0], 0x44);
  auto view = ParsePreKeySignalMessage(bytes);
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_EQ(view->version, 4u);
  EXPECT_EQ(view->kyber_prekey_id, 11u);
  EXPECT_EQ(view->kyber_ciphertext.size(), 1569u);
  auto no_ciphertext = SerializePreKeySignalMessage(PreKeyFields{4, 7, 3, 9, base, identity, 11, {}}, inner);
  EXPECT_NE(ParsePreKeySignalMessage(no_ciphertext).status().message().find("Kyber"), std::string::npos);
  auto no_id =
      SerializePreKeySignalMessage(PreKeyFields{4, 7, 3, 9, base, identity, std::nullopt, kyber}, inner);
  EXPECT_NE(ParsePreKeySignalMessage(no_id).status().message().find("Kyber"), std::string::npos);
  // A v3 inner message in a v4 envelope.
  auto v3_inner = SerializeSignalMessageBody(3, base, 0, 0, ct);
  v3_inner.insert(v3_inner.end(), kMacSize, 0);
  auto mixed = SerializePreKeySignalMessage(PreKeyFields{4, 7, 3, 9, base, identity, 11, kyber}, v3_inner);
  EXPECT_EQ(ParsePreKeySignalMessage(mixed).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SignalMessage, EveryTruncationIsRejectedOrHarmless) {
  SeededRandom random(22);
  auto bytes = SampleSignalMessage(KeyPair::Generate(random).public_key);
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto view = ParseSignalMessage(std::span<const uint8_t>(bytes).first(n));
    // Dropping bytes either breaks the structure or removes required fields.
    EXPECT_FALSE(view.ok()) << "prefix " << n;
  }
}

TEST(SignalMessage, RejectsMissingFieldsAndBadKeys) {
  WireWriter w;
  w.buffer().push_back(VersionByte(3));
  w.Varint(2, 1);
  w.Bytes(4, std::vector<uint8_t>(16));
  auto no_key = w.Take();
  no_key.insert(no_key.end(), kMacSize, 0);
  EXPECT_NE(ParseSignalMessage(no_key).status().message().find("incomplete"), std::string::npos);

  WireWriter k;
  k.buffer().push_back(VersionByte(3));
  k.Bytes(1, std::vector<uint8_t>(32, 1));  // 32 bytes, no type byte
  k.Varint(2, 1);
  k.Bytes(4, std::vector<uint8_t>(16));
  auto short_key = k.Take();
  short_key.insert(short_key.end(), kMacSize, 0);
  EXPECT_FALSE(ParseSignalMessage(short_key).ok());
}

TEST(PreKeySignalMessage, RoundTripWithAndWithoutPreKeyId) {
  SeededRandom random(23);
  PublicKey base = KeyPair::Generate(random).public_key;
  PublicKey identity = KeyPair::Generate(random).public_key;
  auto inner = SampleSignalMessage(KeyPair::Generate(random).public_key);
  for (std::optional<uint32_t> id : {std::optional<uint32_t>(), std::optional<uint32_t>(77)}) {
    auto bytes =
        SerializePreKeySignalMessage(PreKeyFields{3, 1234, id, 9, base, identity, std::nullopt, {}}, inner);
    auto view = ParsePreKeySignalMessage(bytes);
    ASSERT_TRUE(view.ok()) << view.status();
    EXPECT_EQ(view->registration_id, 1234u);
    EXPECT_EQ(view->prekey_id, id);
    EXPECT_EQ(view->signed_prekey_id, 9u);
    EXPECT_EQ(view->base_key, base);
    EXPECT_EQ(view->identity_key, identity);
    EXPECT_EQ(view->inner.counter, 5u);
    for (size_t n = 0; n < bytes.size(); ++n) {
      EXPECT_FALSE(ParsePreKeySignalMessage(std::span<const uint8_t>(bytes).first(n)).ok()) << n;
    }
  }
}

TEST(WireReader, RejectsMalformedInput) {
  auto next = [](std::vector<uint8_t> bytes) {
    WireReader r(bytes);
    for (;;) {
      auto field = r.Next();
      if (!field.ok()) return field.status();
      if (!*field) return absl::OkStatus();
    }
  };
  EXPECT_TRUE(next({0x08, 0x01}).ok());
  EXPECT_FALSE(next({0x08}).ok());                                // missing value
  EXPECT_FALSE(next({0x08, 0x80}).ok());                          // truncated varint
  EXPECT_FALSE(next({0x00, 0x01}).ok());                          // field number 0
  EXPECT_FALSE(next({0x0b}).ok());                                // group start
  EXPECT_FALSE(next({0x0f, 0x00}).ok());                          // wire type 7
  EXPECT_FALSE(next({0x12, 0x05, 0x01}).ok());                    // length past the end
  EXPECT_FALSE(next({0x12, 0xff, 0xff, 0xff, 0xff, 0x0f}).ok());  // huge length
  EXPECT_FALSE(next({0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}).ok());  // > 64 bits
  EXPECT_FALSE(next({0x0d, 0x00, 0x00}).ok());             // truncated fixed32
  EXPECT_TRUE(next({0x0d, 0x00, 0x00, 0x00, 0x00}).ok());  // unknown fixed32 skipped
}

}  // namespace
}  // namespace tandem::crypto::internal
