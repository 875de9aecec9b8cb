// Tests for the strict v3 message parsers and the wire reader.
#include "crypto/internal/messages.h"

#include <gtest/gtest.h>

#include "crypto/internal/wire.h"
#include "crypto/test_util.h"

namespace tandem::crypto::internal {
namespace {

std::vector<uint8_t> SampleSignalMessage(const PublicKey& key) {
  std::vector<uint8_t> ct(32, 0xAB);
  auto body = SerializeSignalMessageBody(key, 5, 2, ct);
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
  bytes[0] = 0x44;
  auto future = ParseSignalMessage(bytes);
  EXPECT_NE(future.status().message().find("unknown message version"), std::string::npos);
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
  w.buffer().push_back(kVersionByte);
  w.Varint(2, 1);
  w.Bytes(4, std::vector<uint8_t>(16));
  auto no_key = w.Take();
  no_key.insert(no_key.end(), kMacSize, 0);
  EXPECT_NE(ParseSignalMessage(no_key).status().message().find("incomplete"), std::string::npos);

  WireWriter k;
  k.buffer().push_back(kVersionByte);
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
    auto bytes = SerializePreKeySignalMessage(1234, id, 9, base, identity, inner);
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
