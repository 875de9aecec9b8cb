// The message stream driven through fake connections on a FakeClock: delivery
// online and offline, acks, idempotent resubmits, batches, windows, queue and
// size limits, malformed frames, credentials at upgrade.
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
#include "relay_protocol/protocol.h"
#include "store/fault_vfs.h"

namespace tandem::relay {
namespace {

TEST_F(RelayTest, OnlineAndOfflineDeliveryInOrderWithAcks) {
  Credentials alice = Register("+14155550123");
  Credentials bob = Register("+14155550199");
  auto a = Connect(alice);
  ASSERT_TRUE(a->Next().value().has_queue_empty());
  // Bob offline: three envelopes queue up.
  SubmitSeveral(a, 3, "+14155550199", 10);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM envelopes"), 3);
  auto b = Connect(bob);
  std::vector<uint64_t> ids;
  for (int i = 0; i < 3; ++i) {
    auto f = b->Next().value();
    ASSERT_TRUE(f.has_deliver()) << f.DebugString();
    EXPECT_EQ(f.deliver().envelope().ciphertext(), absl::StrCat("c", i));
    EXPECT_EQ(f.deliver().envelope().sender_number(), "+14155550123");
    EXPECT_EQ(f.deliver().envelope().sender_account_id(), alice.account_id);
    ids.push_back(f.deliver().envelope().server_id());
  }
  EXPECT_TRUE(b->Next().value().has_queue_empty());
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  // Bob online: pushed at once.
  Submit(a, 20, "m3", "+14155550199", "c3");
  ASSERT_TRUE(a->Next().value().has_submit_result());
  auto live = b->Next().value();
  ASSERT_TRUE(live.has_deliver());
  ids.push_back(live.deliver().envelope().server_id());
  Ack(b, ids);
  // The queue empties at once; the rows go purge_delay after they were stored.
  EXPECT_EQ(relay_->DirectoryForTesting().QueueDepth(bob.account_id, 1), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM envelopes"), 4);
  // The acks are committed before the clock moves: their commit is the
  // one purge_delay is counted from.
  Flush();
  clock_.Advance(options_.writer.purge_delay);
  Flush();
  EXPECT_EQ(Count("SELECT COUNT(*) FROM envelopes"), 0);
  EXPECT_EQ(relay_->WriterForTesting().envelopes_purged(), 4u);
}

TEST_F(RelayTest, UnackedEnvelopesAreRedeliveredOnReconnect) {
  Credentials alice = Register("+14155550123");
  Credentials bob = Register("+14155550199");
  auto a = Connect(alice);
  a->Next();
  auto b = Connect(bob);
  ASSERT_TRUE(b->Next().value().has_queue_empty());
  Submit(a, 1, "m1", "+14155550199", "c1");
  ASSERT_TRUE(a->Next().value().has_submit_result());
  auto first = b->Next().value();
  ASSERT_TRUE(first.has_deliver());
  Disconnect(b);
  auto b2 = Connect(bob);
  auto again = b2->Next().value();
  ASSERT_TRUE(again.has_deliver());
  EXPECT_EQ(again.deliver().envelope().server_id(), first.deliver().envelope().server_id());
  EXPECT_TRUE(b2->Next().value().has_queue_empty());
}

TEST_F(RelayTest, ResubmittedClientMessageIdIsNotQueuedTwice) {
  Credentials alice = Register("+14155550123");
  Register("+14155550199");
  auto a = Connect(alice);
  a->Next();
  Submit(a, 1, "same-id", "+14155550199", "c1");
  auto r1 = a->Next().value();
  ASSERT_TRUE(r1.has_submit_result());
  EXPECT_FALSE(r1.submit_result().duplicate());
  clock_.Advance(absl::Seconds(3));
  Submit(a, 2, "same-id", "+14155550199", "c1");
  auto r2 = a->Next().value();
  ASSERT_TRUE(r2.has_submit_result()) << r2.DebugString();
  EXPECT_TRUE(r2.submit_result().duplicate());
  EXPECT_EQ(r2.submit_result().server_id(), r1.submit_result().server_id());
  EXPECT_EQ(r2.submit_result().server_timestamp_ms(), r1.submit_result().server_timestamp_ms());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM envelopes"), 1);
  EXPECT_EQ(
      relay_->DirectoryForTesting().QueueDepth(
          r1.submit_result().server_id() ? *relay_->DirectoryForTesting().AccountForNumber("+14155550199")
                                         : 0,
          1),
      1);
}

// An ack names server ids; only the acking device's own queued envelopes
// may be taken by it. Acked rows are purged for good at the latest when the
// relay stops, so the check is seen across a restart.
TEST_F(RelayTest, AnAckOfSomeoneElsesEnvelopeChangesNothing) {
  Credentials alice = Register("+14155550123");
  Credentials bob = Register("+14155550199");
  Credentials mallory = Register("+14155550188");
  auto a = Connect(alice);
  a->Next();
  Submit(a, 1, "m1", "+14155550199", "for bob");
  auto result = a->Next().value();
  ASSERT_TRUE(result.has_submit_result()) << result.DebugString();
  uint64_t bobs = result.submit_result().server_id();
  auto m = Connect(mallory);
  ASSERT_TRUE(m->Next().value().has_queue_empty());
  Ack(m, {bobs});
  Disconnect(a);
  Disconnect(m);
  Reopen();
  EXPECT_EQ(Count(absl::StrCat("SELECT COUNT(*) FROM envelopes WHERE server_id = ", bobs)), 1);
  auto b = Connect(bob);
  auto delivered = b->Next().value();
  ASSERT_TRUE(delivered.has_deliver()) << delivered.DebugString();
  EXPECT_EQ(delivered.deliver().envelope().server_id(), bobs);
}

// A submission names a device; a device the account does not have is an
// error, never a silent redirect to the primary device.
TEST_F(RelayTest, ASubmissionToAnUnknownDeviceIsRefusedAndStoresNothing) {
  Credentials alice = Register("+14155550123");
  Credentials bob = Register("+14155550199");
  auto a = Connect(alice);
  a->Next();
  relay_->StreamForTesting().OnMessage(
      a, EncodeSubmit(1, "m1", RecipientByNumber("+14155550199", 7), pb::ENVELOPE_TYPE_SIGNAL_MESSAGE, "c1"),
      true);
  auto answer = a->Next().value();
  ASSERT_TRUE(answer.has_error()) << answer.DebugString();
  EXPECT_EQ(answer.error().code(), "not_found");
  EXPECT_EQ(answer.error().message(), "the recipient has no such device");
  relay_->StreamForTesting().OnMessage(
      a, EncodeSubmit(2, "m2", RecipientByAccount(bob.account_id, 7), pb::ENVELOPE_TYPE_SIGNAL_MESSAGE, "c2"),
      true);
  ASSERT_TRUE(a->Next().value().has_error());
  Disconnect(a);
  Reopen();
  EXPECT_EQ(Count("SELECT COUNT(*) FROM envelopes"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM submissions"), 0);
  auto b = Connect(bob);
  EXPECT_TRUE(b->Next().value().has_queue_empty());
}

// Lookups of numbers nobody registered share one bucket per account,
// whether they come as a key bundle request or as a submission to an
// unknown recipient; lookups of registered numbers cost nothing from it.
TEST_F(RelayTest, LookupMissesAreLimitedOnBothPaths) {
  // The documented default: 60 misses, then one a minute.
  ASSERT_EQ(options_.lookup_miss.burst, 60);
  Credentials alice = Register("+14155550123");
  Register("+14155550199");
  for (int i = 0; i < 30; ++i) {
    auto miss = accounts().FetchBundle(alice, absl::StrCat("+141555503", 10 + i));
    ASSERT_EQ(miss.status().code(), absl::StatusCode::kNotFound) << i << ": " << miss.status();
  }
  auto a = Connect(alice);
  a->Next();
  for (int i = 0; i < 30; ++i) {
    Submit(a, i, absl::StrCat("m", i), absl::StrCat("+141555504", 10 + i), "c");
    auto answer = a->Next().value();
    ASSERT_TRUE(answer.has_error());
    ASSERT_EQ(answer.error().code(), "not_found") << i;
  }
  // The bucket is empty now: both paths answer resource_exhausted.
  EXPECT_EQ(accounts().FetchBundle(alice, "+14155550500").status().code(),
            absl::StatusCode::kResourceExhausted);
  Submit(a, 90, "m90", "+14155550501", "c");
  auto limited = a->Next().value();
  ASSERT_TRUE(limited.has_error());
  EXPECT_EQ(limited.error().code(), "resource_exhausted");
  // A registered recipient is still reachable.
  EXPECT_NE(accounts().FetchBundle(alice, "+14155550199").status().code(),
            absl::StatusCode::kResourceExhausted);
  Submit(a, 91, "m91", "+14155550199", "c");
  EXPECT_TRUE(a->Next().value().has_submit_result());
  // One more miss a minute later.
  clock_.Advance(absl::Minutes(1));
  EXPECT_EQ(accounts().FetchBundle(alice, "+14155550502").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(accounts().FetchBundle(alice, "+14155550503").status().code(),
            absl::StatusCode::kResourceExhausted);
}

TEST_F(RelayTest, BatchedFramesAreAnsweredOneByOneInOrder) {
  Credentials alice = Register("+14155550123");
  Credentials bob = Register("+14155550199");
  auto a = Connect(alice);
  a->Next();
  pb::ClientFrame empty;
  empty.set_request_id(4);
  std::vector<std::string> frames = {
      EncodeSubmit(1, "m1", RecipientByNumber("+14155550199"), pb::ENVELOPE_TYPE_SIGNAL_MESSAGE, "c1"),
      EncodeSubmit(2, "m2", RecipientByNumber("+14155550199"), pb::ENVELOPE_TYPE_SIGNAL_MESSAGE, ""),
      EncodeAck(std::vector<uint64_t>{}, 3), empty.SerializeAsString(),
      EncodeSubmit(5, "m5", RecipientByNumber("+14155550199"), pb::ENVELOPE_TYPE_SIGNAL_MESSAGE, "c5")};
  relay_->StreamForTesting().OnMessage(a, JoinClientFrames(frames), true);
  // Rejections are answered at once, stored submits after their commit.
  std::map<uint64_t, pb::ServerFrame> answers;
  for (int i = 0; i < 5; ++i) {
    auto f = a->Next().value();
    answers[f.request_id()] = f;
  }
  EXPECT_TRUE(answers[1].has_submit_result());
  EXPECT_EQ(answers[2].error().code(), ErrorCodeName(absl::StatusCode::kOutOfRange));
  EXPECT_EQ(answers[3].error().code(), "invalid_argument");
  EXPECT_EQ(answers[4].error().code(), "invalid_argument");
  EXPECT_TRUE(answers[5].has_submit_result());
  EXPECT_LT(answers[1].submit_result().server_id(), answers[5].submit_result().server_id());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM envelopes"), 2);
  EXPECT_EQ(relay_->DirectoryForTesting().QueueDepth(bob.account_id, 1), 2);
}

TEST_F(RelayTest, OnlyConnectionsThatAskForBatchesGetJoinedFrames) {
  Credentials alice = Register("+14155550123");
  auto plain = Connect(alice);
  EXPECT_EQ(relay_->StreamForTesting().JoinLimit(*plain), 0u);
  auto conn = std::make_shared<FakeConnection>();
  net::Request req;
  req.headers.emplace_back("authorization", BasicAuthorization(alice));
  req.query = "frames=batch";
  ASSERT_TRUE(relay_->StreamForTesting().OnUpgrade(req, &conn->context_).ok());
  EXPECT_EQ(relay_->StreamForTesting().JoinLimit(*conn), kMaxFramesPerBatch);
  std::vector<std::string> frames = {EncodeQueueEmpty(), EncodeQueueEmpty()};
  auto joined = DecodeServerFrame(relay_->StreamForTesting().Join(frames));
  ASSERT_TRUE(joined.ok());
  EXPECT_EQ(joined->batch().frames_size(), 2);
}

// A ciphertext for an installation that has since registered again is
// refused (the new one cannot read it), and nothing is stored.
TEST_F(RelayTest, SubmitsForAReplacedInstallationAreRefusedAsStale) {
  Credentials alice = Register("+14155550123");
  Credentials bob = Register("+14155550199");  // registration id 42 (see Register)
  auto a = Connect(alice);
  a->Next();
  auto submit = [&](uint64_t rid, const std::string& cmid, uint32_t registration_id) {
    relay_->StreamForTesting().OnMessage(a,
                                         EncodeSubmit(rid, cmid, RecipientByNumber("+14155550199"),
                                                      pb::ENVELOPE_TYPE_SIGNAL_MESSAGE, "c", registration_id),
                                         true);
    return a->Next().value();
  };
  EXPECT_TRUE(submit(1, "m1", 42).has_submit_result());
  EXPECT_TRUE(submit(2, "m2", 0).has_submit_result());  // unchecked
  auto stale = submit(3, "m3", 41);
  ASSERT_TRUE(stale.has_error()) << stale.DebugString();
  EXPECT_EQ(stale.error().code(), ErrorCodeName(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(stale.error().client_message_id(), "m3");
  EXPECT_NE(stale.error().message().find("registered again"), std::string::npos);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM envelopes"), 2);
  EXPECT_EQ(relay_->DirectoryForTesting().QueueDepth(bob.account_id, 1), 2);
  // The id was not used up: the same id goes through once encrypted anew.
  EXPECT_FALSE(submit(4, "m3", 42).submit_result().duplicate());
}

TEST_F(RelayTest, LimitsAnswerWithClearErrorsAndStoreNothing) {
  options_.stream.max_queue_depth = 2;
  options_.send = RateLimit{5, absl::Seconds(1)};
  Reopen();
  Credentials alice = Register("+14155550123");
  Register("+14155550199");
  auto a = Connect(alice);
  a->Next();
  // Oversized.
  Submit(a, 1, "big", "+14155550199", std::string(kMaxCiphertextBytes + 1, 'x'));
  auto e = a->Next().value();
  ASSERT_TRUE(e.has_error());
  EXPECT_EQ(e.error().code(), "payload_too_large");
  EXPECT_EQ(e.error().client_message_id(), "big");
  // Unknown recipient.
  Submit(a, 2, "nobody", "+14155550100", "c");
  e = a->Next().value();
  ASSERT_TRUE(e.has_error());
  EXPECT_EQ(e.error().code(), "not_found");
  // Queue depth 2.
  Submit(a, 3, "q1", "+14155550199", "c");
  Submit(a, 4, "q2", "+14155550199", "c");
  EXPECT_TRUE(a->Next().value().has_submit_result());
  EXPECT_TRUE(a->Next().value().has_submit_result());
  Submit(a, 5, "q3", "+14155550199", "c");
  e = a->Next().value();
  ASSERT_TRUE(e.has_error());
  EXPECT_EQ(e.error().code(), "resource_exhausted");
  EXPECT_NE(e.error().message().find("queue is full"), std::string::npos);
  // Send rate: 4 tokens were spent above (the oversized envelope was refused
  // before), a fifth on a full queue; the next one is refused.
  Submit(a, 6, "r1", "+14155550199", "c");
  EXPECT_EQ(a->Next().value().error().code(), "resource_exhausted");
  Submit(a, 7, "r2", "+14155550199", "c");
  e = a->Next().value();
  ASSERT_TRUE(e.has_error());
  EXPECT_NE(e.error().message().find("envelopes sent"), std::string::npos) << e.DebugString();
  EXPECT_EQ(Count("SELECT COUNT(*) FROM envelopes"), 2);
}

TEST_F(RelayTest, MalformedFramesGetErrorsAndChangeNothing) {
  Credentials alice = Register("+14155550123");
  auto a = Connect(alice);
  a->Next();
  // A frame without a body: error, the connection stays.
  relay_->StreamForTesting().OnMessage(a, pb::ClientFrame().SerializeAsString(), true);
  auto e = a->Next().value();
  ASSERT_TRUE(e.has_error());
  EXPECT_EQ(e.error().code(), "invalid_argument");
  EXPECT_EQ(a->close_code(), 0);
  // Empty ack.
  relay_->StreamForTesting().OnMessage(a, EncodeAck({}, 9), true);
  e = a->Next().value();
  ASSERT_TRUE(e.has_error());
  EXPECT_EQ(e.request_id(), 9u);
  // Garbage: error then close 1007.
  relay_->StreamForTesting().OnMessage(a, std::string("\xff\xff\xff\xff", 4), true);
  EXPECT_TRUE(a->Next().value().has_error());
  EXPECT_EQ(a->close_code(), 1007);
  // Text: close 1003.
  auto a2 = Connect(alice);
  a2->Next();
  relay_->StreamForTesting().OnMessage(a2, "hello", false);
  EXPECT_TRUE(a2->Next().value().has_error());
  EXPECT_EQ(a2->close_code(), 1003);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM envelopes"), 0);
}

TEST_F(RelayTest, BadCredentialsAreRefusedAtUpgrade) {
  Credentials alice = Register("+14155550123");
  std::shared_ptr<void> ctx;
  net::Request req;
  EXPECT_EQ(relay_->StreamForTesting().OnUpgrade(req, &ctx).code(), absl::StatusCode::kUnauthenticated);
  req.headers.emplace_back("authorization", BasicAuthorization({alice.account_id, 1, "nope"}));
  EXPECT_EQ(relay_->StreamForTesting().OnUpgrade(req, &ctx).code(), absl::StatusCode::kUnauthenticated);
  net::Request q;
  q.query = WebSocketTargetWithCredentials(alice).substr(std::string(kWebSocketPath).size() + 1);
  EXPECT_TRUE(relay_->StreamForTesting().OnUpgrade(q, &ctx).ok());
}

TEST_F(RelayTest, WindowBoundsUnackedEnvelopes) {
  options_.stream.window_envelopes = 4;
  Reopen();
  Credentials alice = Register("+14155550123");
  Credentials bob = Register("+14155550199");
  auto a = Connect(alice);
  a->Next();
  SubmitSeveral(a, 10, "+14155550199");
  auto b = Connect(bob);
  std::vector<std::string> got;
  for (int round = 0; round < 3; ++round) {
    std::vector<uint64_t> ids;
    for (;;) {
      auto f = b->Next(absl::Milliseconds(300));
      if (!f) break;
      if (f->has_queue_empty()) {
        got.push_back("EMPTY");
        break;
      }
      ASSERT_TRUE(f->has_deliver());
      got.push_back(f->deliver().envelope().ciphertext());
      ids.push_back(f->deliver().envelope().server_id());
    }
    EXPECT_LE(ids.size(), 4u);
    if (!ids.empty()) Ack(b, ids);
  }
  std::vector<std::string> want;
  for (int i = 0; i < 10; ++i) want.push_back(absl::StrCat("c", i));
  want.push_back("EMPTY");
  EXPECT_EQ(got, want);
}

}  // namespace
}  // namespace tandem::relay
