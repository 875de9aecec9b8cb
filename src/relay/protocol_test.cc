// Wire format of the message stream: credentials, submits, batches, client
// message ids.
#include "relay_protocol/protocol.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/error_codes.h"
#include "common/random.h"
#include "crypto/keys.h"
#include "crypto/xeddsa.h"
#include "relay/relay.h"
#include "relay/relay_store.h"
#include "relay/test_util.h"
#include "store/fault_vfs.h"

namespace tandem::relay {
namespace {

TEST(ProtocolTest, CredentialsRoundTrip) {
  Credentials c{12, 1, "abcdef"};
  auto parsed = ParseBasicAuthorization(BasicAuthorization(c));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->account_id, 12u);
  EXPECT_EQ(parsed->device_id, 1u);
  EXPECT_EQ(parsed->password, "abcdef");
  EXPECT_EQ(ParseBasicAuthorization("").status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(ParseBasicAuthorization("Bearer x").status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(ParseBasicAuthorization("Basic !!!").status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_FALSE(ParseLogin("12", "pw").ok());
  EXPECT_FALSE(ParseLogin("0.1", "pw").ok());
  EXPECT_FALSE(ParseLogin("12.1", "").ok());
}

TEST(ProtocolTest, ValidatesSubmits) {
  auto frame = DecodeClientFrame(
      EncodeSubmit(1, "m1", RecipientByNumber("+14155550123"), pb::ENVELOPE_TYPE_SIGNAL_MESSAGE, "x"));
  ASSERT_TRUE(frame.ok());
  EXPECT_TRUE(ValidateSubmit(frame->submit()).ok());
  pb::SubmitEnvelope s = frame->submit();
  s.set_ciphertext(std::string(kMaxCiphertextBytes + 1, 'x'));
  EXPECT_EQ(ValidateSubmit(s).code(), absl::StatusCode::kOutOfRange);
  s = frame->submit();
  s.set_client_message_id("");
  EXPECT_EQ(ValidateSubmit(s).code(), absl::StatusCode::kInvalidArgument);
  s = frame->submit();
  s.set_client_message_id("has space");
  EXPECT_EQ(ValidateSubmit(s).code(), absl::StatusCode::kInvalidArgument);
  s = frame->submit();
  s.set_type(static_cast<pb::EnvelopeType>(9));
  EXPECT_EQ(ValidateSubmit(s).code(), absl::StatusCode::kInvalidArgument);
  s = frame->submit();
  s.clear_recipient();
  EXPECT_EQ(ValidateSubmit(s).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeClientFrame("\xff\xff\xff").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeClientFrame("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrorCodeFromName("resource_exhausted"), absl::StatusCode::kResourceExhausted);
}

TEST(ProtocolTest, JoinedFramesAreBatchesOfTheSameFrames) {
  std::vector<std::string> server = {EncodeSubmitResult(1, "a", 10, 1000, false),
                                     EncodeError(2, "b", absl::ResourceExhaustedError("full")),
                                     EncodeQueueEmpty()};
  auto decoded = DecodeServerFrame(JoinServerFrames(server));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_TRUE(decoded->has_batch());
  auto frames = FramesOf(*decoded);
  ASSERT_EQ(frames.size(), 3u);
  for (size_t i = 0; i < frames.size(); ++i) EXPECT_EQ(frames[i]->SerializeAsString(), server[i]);
  // A frame alone is its own only frame.
  auto single = DecodeServerFrame(server[0]);
  ASSERT_TRUE(single.ok());
  EXPECT_EQ(FramesOf(*single).size(), 1u);

  // Large frames need multi-byte lengths.
  std::vector<std::string> client = {
      EncodeSubmit(1, "m1", RecipientByAccount(5), pb::ENVELOPE_TYPE_SIGNAL_MESSAGE, std::string(70000, 'x')),
      EncodeAck(std::vector<uint64_t>{1, 2, 3}, 2)};
  auto batch = DecodeClientFrame(JoinClientFrames(client));
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_EQ(batch->batch().frames_size(), 2);
  EXPECT_EQ(batch->batch().frames(0).submit().ciphertext().size(), 70000u);
  EXPECT_EQ(batch->batch().frames(1).request_id(), 2u);
  pb::ClientFrame built;
  for (const std::string& f : client) built.mutable_batch()->add_frames()->ParseFromString(f);
  EXPECT_EQ(JoinClientFrames(client), built.SerializeAsString());
}

// The hand-written encoders produce exactly protobuf's bytes.
TEST(ProtocolTest, HandWrittenEncodersMatchProtobuf) {
  for (const pb::Recipient& to :
       {RecipientByNumber("+14155550123"), RecipientByNumber(""), RecipientByAccount(0),
        RecipientByAccount(1ull << 40, 0), pb::Recipient()}) {
    for (std::string ct : {std::string(), std::string(200, 'c'), std::string(70000, 'c')}) {
      for (uint32_t registration_id : {0u, 42u}) {
        pb::ClientFrame frame;
        frame.set_request_id(ct.size());
        auto* s = frame.mutable_submit();
        s->set_client_message_id(ct.empty() ? "" : "018c0a1b2c3d-ab");
        *s->mutable_recipient() = to;
        s->set_type(ct.empty() ? pb::ENVELOPE_TYPE_UNSPECIFIED : pb::ENVELOPE_TYPE_PREKEY_MESSAGE);
        s->set_ciphertext(ct);
        s->set_destination_registration_id(registration_id);
        EXPECT_EQ(
            EncodeSubmit(frame.request_id(), s->client_message_id(), to, s->type(), ct, registration_id),
            frame.SerializeAsString());
      }
    }
  }
  for (int64_t ts : {int64_t{0}, int64_t{1795949531116}, int64_t{-1}}) {
    for (uint64_t id : {uint64_t{0}, uint64_t{1}, uint64_t{300}, ~uint64_t{0}}) {
      for (bool dup : {false, true}) {
        for (std::string cmid : {std::string(), std::string("018c0a1b2c3d-ab"), std::string(64, 'x')}) {
          pb::ServerFrame frame;
          frame.set_request_id(id);
          auto* r = frame.mutable_submit_result();
          r->set_client_message_id(cmid);
          r->set_server_id(id / 3);
          r->set_server_timestamp_ms(ts);
          r->set_duplicate(dup);
          EXPECT_EQ(EncodeSubmitResult(id, cmid, id / 3, ts, dup), frame.SerializeAsString());
        }
      }
      for (size_t size : {size_t{0}, size_t{1}, size_t{127}, size_t{128}, size_t{70000}}) {
        pb::Envelope env;
        env.set_server_id(id);
        env.set_sender_account_id(id / 7);
        env.set_sender_device_id(static_cast<uint32_t>(id % 5));
        env.set_sender_number(size ? "+14155550123" : "");
        env.set_server_timestamp_ms(ts);
        env.set_type(size % 2 ? pb::ENVELOPE_TYPE_RECEIPT : pb::ENVELOPE_TYPE_SIGNAL_MESSAGE);
        env.set_ciphertext(std::string(size, 'c'));
        env.set_destination_device_id(static_cast<uint32_t>(id % 3));
        EnvelopeFields fields{env.server_id(),     env.sender_account_id(),    env.sender_device_id(),
                              env.sender_number(), env.server_timestamp_ms(),  env.type(),
                              env.ciphertext(),    env.destination_device_id()};
        EXPECT_EQ(EncodeDeliver(fields), EncodeDeliver(env));
      }
    }
  }
}

TEST(ProtocolTest, BatchesThatAreEmptyTooLongOrNestedAreRefused) {
  EXPECT_EQ(DecodeClientFrame(JoinClientFrames({})).status().code(), absl::StatusCode::kInvalidArgument);
  std::string ack = EncodeAck(std::vector<uint64_t>{1});
  std::vector<std::string> many(kMaxFramesPerBatch + 1, ack);
  EXPECT_EQ(DecodeClientFrame(JoinClientFrames(many)).status().code(), absl::StatusCode::kInvalidArgument);
  many.pop_back();
  EXPECT_TRUE(DecodeClientFrame(JoinClientFrames(many)).ok());
  std::vector<std::string> inner = {ack};
  std::vector<std::string> nested = {JoinClientFrames(inner)};
  EXPECT_EQ(DecodeClientFrame(JoinClientFrames(nested)).status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<std::string> server_inner = {EncodeQueueEmpty()};
  std::vector<std::string> server_nested = {JoinServerFrames(server_inner)};
  EXPECT_FALSE(DecodeServerFrame(JoinServerFrames(server_nested)).ok());
  EXPECT_FALSE(DecodeServerFrame(JoinServerFrames({})).ok());
}

TEST(ProtocolTest, ClientMessageIdsSortByTime) {
  std::string a = MakeClientMessageId(0x18c0a1b2c3d, "ffff0000ffff0000");
  EXPECT_EQ(a, "018c0a1b2c3d-ffff0000ffff0000");
  EXPECT_LT(a, MakeClientMessageId(0x18c0a1b2c3e, "0000000000000000"));
  EXPECT_LT(MakeClientMessageId(999, "z"), MakeClientMessageId(1000, "a"));
  EXPECT_EQ(MakeClientMessageId(-5, "r"), "000000000000-r");
  pb::SubmitEnvelope s;
  s.set_client_message_id(a);
  *s.mutable_recipient() = RecipientByAccount(1);
  s.set_type(pb::ENVELOPE_TYPE_SIGNAL_MESSAGE);
  s.set_ciphertext("x");
  EXPECT_TRUE(ValidateSubmit(s).ok());
}

}  // namespace
}  // namespace tandem::relay
