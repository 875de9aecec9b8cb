#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "social/test_util.h"
#include "testing/feed_test_peer.h"

namespace tandem::social {
namespace {

using nlohmann::json;
using testing::Deleted;
using testing::Linked;
using testing::Numbered;
using testing::Objection;
using testing::Usage;
using testing::World;

TEST(FeedEvent, ParsesEveryTypeAndRoundTrips) {
  auto events = Numbered(
      {Linked("m1", "+16502530001"), Usage("m1", 12), Objection("m1", Purpose::kAds, true), Deleted("m1")});
  for (const auto& e : events) {
    auto parsed = ParseFeedEvent(FeedEventToJson(e));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, e);
  }
}

TEST(FeedEvent, RejectsUnknownTypesAndBadFields) {
  std::vector<std::string> bad = {
      R"({"seq":1,"type":"message_sent","account_id":"m1","at":1})",
      R"({"seq":1,"type":"account_linked","account_id":"m1","at":1,"phone":"6502530001"})",
      R"({"seq":1,"type":"account_linked","account_id":"","at":1,"phone":"+16502530001"})",
      R"({"seq":1,"type":"usage_summary","account_id":"m1","at":1,"day":"2026-02-30","active_days_28":1,"last_active_day":"2026-01-01"})",
      R"({"seq":1,"type":"usage_summary","account_id":"m1","at":1,"day":"2026-02-03","active_days_28":29,"last_active_day":"2026-01-01"})",
      R"({"seq":1,"type":"objection_changed","account_id":"m1","at":1,"purpose":"security","objected":true})",
      R"({"seq":1,"type":"objection_changed","account_id":"m1","at":1,"purpose":"ads","objected":"yes"})",
      R"({"seq":0,"type":"account_deleted","account_id":"m1","at":1})",
      R"({"type":"account_deleted","account_id":"m1","at":1})",
      R"([1,2])",
  };
  for (const auto& text : bad) {
    EXPECT_EQ(ParseFeedEvent(json::parse(text)).status().code(), absl::StatusCode::kInvalidArgument) << text;
  }
  auto unknown = ParseFeedEvent(json::parse(bad[0]));
  EXPECT_NE(std::string(unknown.status().message()).find("unknown event type 'message_sent'"),
            std::string::npos);
}

TEST(FeedEvent, PagesMustBeOrdered) {
  auto page = ParseFeedPage(R"({"events":[{"seq":3,"type":"account_deleted","account_id":"m","at":1},
                                           {"seq":3,"type":"account_deleted","account_id":"m","at":1}],
                                "next":3,"has_more":false})",
                            2);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->events.size(), 1u);
  EXPECT_FALSE(page->error.ok());
  EXPECT_FALSE(ParseFeedPage(R"({"events":[],"next":5,"has_more":false})", 4).ok());
  EXPECT_FALSE(ParseFeedPage("not json", 0).ok());
  EXPECT_TRUE(ParseFeedPage(R"({"events":[],"next":4,"has_more":false})", 4).ok());
}

TEST(FeedApplier, AppliesEachEventOnce) {
  World w;
  auto events =
      Numbered({Linked("m1", "+16502530001"), Usage("m1", 12), Objection("m1", Purpose::kAds, true)});
  ASSERT_EQ(*w.applier->Apply(events), 3u);
  EXPECT_EQ(*w.applier->Cursor(), 3);
  ASSERT_EQ(*w.applier->Apply(events), 0u);  // a replayed page changes nothing
  auto more = Numbered({Objection("m1", Purpose::kAds, false), Deleted("m1")}, 3);
  std::vector<FeedEvent> overlap = {events[2], more[0], more[1]};
  ASSERT_EQ(*w.applier->Apply(overlap), 2u);
  EXPECT_EQ(*w.applier->Cursor(), 5);
  // account_deleted removed every messenger fact of the account.
  for (const char* table : {"messenger_accounts", "messenger_usage", "messenger_objections"}) {
    EXPECT_EQ(w.db->DatabaseForTesting().QueryOne(std::string("SELECT COUNT(*) FROM ") + table)->Int(0), 0)
        << table;
  }
  EXPECT_EQ(w.db->index().messenger_account_count(), 0u);
}

// The cursor is stored in the same transaction as the page's effects: when
// the cursor write fails, nothing of the page may remain (neither rows nor
// the in-memory index), and the page applies in full once it can.
TEST(FeedApplier, AFailedCursorWriteLeavesNothingOfThePage) {
  World w;
  ASSERT_TRUE(w.db->DatabaseForTesting()
                  .Execute("CREATE TRIGGER fail_cursor BEFORE UPDATE ON feed_cursor "
                           "BEGIN SELECT RAISE(ABORT, 'injected cursor failure'); END")
                  .ok());
  auto events =
      Numbered({Linked("m1", "+16502530001"), Usage("m1", 12), Objection("m1", Purpose::kAds, true)});
  auto failed = w.applier->Apply(events);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(std::string(failed.status().message()).find("injected cursor failure"), std::string::npos)
      << failed.status();
  EXPECT_EQ(*w.applier->Cursor(), 0);
  for (const char* table : {"messenger_accounts", "messenger_usage", "messenger_objections"}) {
    EXPECT_EQ(w.db->DatabaseForTesting().QueryOne(std::string("SELECT COUNT(*) FROM ") + table)->Int(0), 0)
        << table;
  }
  EXPECT_EQ(w.db->index().messenger_account_count(), 0u);

  ASSERT_TRUE(w.db->DatabaseForTesting().Execute("DROP TRIGGER fail_cursor").ok());
  ASSERT_EQ(*w.applier->Apply(events), 3u);
  EXPECT_EQ(*w.applier->Cursor(), 3);
  EXPECT_EQ(w.db->index().messenger_account_count(), 1u);
}

class FeedConsumerTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(peer_.Start().ok()); }
  FeedConsumerOptions Options(const std::string& token = "secret") {
    FeedConsumerOptions o;
    o.url = peer_.address();
    o.token = token;
    o.batch = 7;
    o.poll_interval = absl::Milliseconds(5);
    o.error_backoff = absl::Milliseconds(5);
    return o;
  }
  // Drives the consumer's poll interval and backoff (the requests
  // themselves go to a real peer).
  void AdvanceAndYield() {
    clock_.Advance(absl::Milliseconds(5));
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  testing::FeedTestPeer peer_{"secret"};
  net::Metrics metrics_;
  FakeClock clock_;
};

TEST_F(FeedConsumerTest, CatchesUpInPagesAndMatchesDirectApplication) {
  auto events = testing::GenerateFeed(3, 500, 40);
  for (const auto& e : events) peer_.Append(e);
  World pulled, direct;
  FeedConsumer consumer(*pulled.db, Options(), metrics_, clock_);
  auto cursor = consumer.CatchUp();
  ASSERT_TRUE(cursor.ok()) << cursor.status();
  EXPECT_EQ(*cursor, 500);
  direct.Apply(events);
  EXPECT_EQ(*testing::DumpFeedState(pulled.db->DatabaseForTesting()),
            *testing::DumpFeedState(direct.db->DatabaseForTesting()));
  EXPECT_NE(metrics_.Render().find("tandem_social_feed_cursor 500"), std::string::npos);
}

TEST_F(FeedConsumerTest, WrongCredentialsApplyNothing) {
  peer_.Append(Linked("m1", "+16502530001"));
  World w;
  FeedConsumer consumer(*w.db, Options("wrong"), metrics_, clock_);
  auto r = consumer.PollOnce();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(*w.applier->Cursor(), 0);
  EXPECT_EQ(w.db->index().messenger_account_count(), 0u);
  std::string m = metrics_.Render();
  EXPECT_NE(m.find("tandem_social_feed_errors_total{reason=\"unauthenticated\"} 1"), std::string::npos) << m;
  EXPECT_NE(m.find("tandem_social_feed_stalled 1"), std::string::npos);
}

TEST_F(FeedConsumerTest, UnknownCursorIsAnError) {
  peer_.Append(Linked("m1", "+16502530001"));
  World w;
  w.Apply(Numbered({Linked("m1", "+16502530001"), Usage("m1", 3), Usage("m1", 4)}));  // cursor 3 > head 1
  FeedConsumer consumer(*w.db, Options(), metrics_, clock_);
  auto r = consumer.PollOnce();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(r.status().message()).find("unknown cursor"), std::string::npos) << r.status();
  EXPECT_EQ(*w.applier->Cursor(), 3);
}

TEST_F(FeedConsumerTest, UnknownEventTypeStopsAtTheLastGoodEvent) {
  peer_.Append(Linked("m1", "+16502530001"));
  peer_.Append(Usage("m1", 5));
  peer_.AppendRaw(R"({"seq":3,"type":"contacts_uploaded","account_id":"m1","at":1})", 3);
  peer_.Append(Deleted("m1"));
  World w;
  FeedConsumer consumer(*w.db, Options(), metrics_, clock_);
  auto r = consumer.PollOnce();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(r.status().message()).find("contacts_uploaded"), std::string::npos);
  EXPECT_EQ(*w.applier->Cursor(), 2);
  // Retrying never skips it.
  EXPECT_FALSE(consumer.PollOnce().ok());
  EXPECT_EQ(*w.applier->Cursor(), 2);
  EXPECT_EQ(w.db->index().messenger_account_count(), 1u);
  EXPECT_NE(metrics_.Render().find("reason=\"bad_event\"} 2"), std::string::npos);
  EXPECT_NE(consumer.last_error().find("contacts_uploaded"), std::string::npos);
}

TEST_F(FeedConsumerTest, BackgroundThreadFollowsTheFeed) {
  World w;
  UserId alice = w.AddUser("+16502530001");
  FeedConsumer consumer(*w.db, Options(), metrics_, clock_);
  consumer.Start();
  peer_.Append(Linked("m1", "+16502530001"));
  auto linked = [&] {
    PurposeView v = w.db->View(Purpose::kFriendSuggestions);
    return v.MessengerLinked(alice);
  };
  auto wait_for = [&](bool want) {
    for (int i = 0; i < 10000 && linked() != want; ++i) AdvanceAndYield();
    return linked() == want;
  };
  EXPECT_TRUE(wait_for(true));
  peer_.Append(Objection("m1", Purpose::kFriendSuggestions, true));
  EXPECT_TRUE(wait_for(false));
  peer_.Append(Objection("m1", Purpose::kFriendSuggestions, false));
  EXPECT_TRUE(wait_for(true));
  consumer.Stop();
}

TEST_F(FeedConsumerTest, LongPollsFollowTheFeedAndAStopIsNoError) {
  peer_.set_long_poll(true);
  World w;
  UserId alice = w.AddUser("+16502530001");
  FeedConsumerOptions options = Options();
  options.wait = absl::Seconds(25);
  options.poll_interval = absl::Hours(1);  // only long polls can make progress
  FeedConsumer consumer(*w.db, options, metrics_, clock_);
  consumer.Start();
  auto linked = [&] { return w.db->View(Purpose::kAds).MessengerLinked(alice); };
  auto wait_for = [&](bool want) {
    for (int i = 0; i < 10000 && linked() != want; ++i) AdvanceAndYield();
    return linked() == want;
  };
  peer_.Append(Linked("m1", "+16502530001"));
  EXPECT_TRUE(wait_for(true));
  peer_.Append(Objection("m1", Purpose::kAds, true));
  EXPECT_TRUE(wait_for(false));
  peer_.Append(Objection("m1", Purpose::kAds, false));
  EXPECT_TRUE(wait_for(true));
  // The consumer now waits in a long poll; stopping cancels it, quietly.
  consumer.Stop();
  std::string m = metrics_.Render();
  EXPECT_EQ(m.find("tandem_social_feed_errors_total"), std::string::npos) << m;
  EXPECT_NE(m.find("tandem_social_feed_stalled 0"), std::string::npos) << m;
  EXPECT_EQ(consumer.last_error(), "");
  // And the peer stopping under a waiting poll answers it: the consumer
  // (polled by hand here) gets an empty page, not an error.
  // A long poll the stopped consumer had sent may still reach the peer (a
  // slow machine): let such stragglers arrive first, so that the count
  // below moves only for the poll made here.
  uint64_t before = peer_.requests();
  for (int quiet = 0, i = 0; quiet < 100 && i < 5000; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    const uint64_t now = peer_.requests();
    quiet = now == before ? quiet + 1 : 0;
    before = now;
  }
  absl::StatusOr<PollResult> r;
  std::thread poll([&] { r = consumer.PollOnce(); });
  for (int i = 0; i < 5000 && peer_.requests() == before; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  peer_.Stop();
  poll.join();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->applied, 0u);
}

}  // namespace
}  // namespace tandem::social
