#include "feed/feed.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/clock.h"
#include "feed/privacy.h"
#include "net/client.h"
#include "net/server.h"

namespace tandem::feed {
namespace {

using nlohmann::json;

// The messenger's accounts and usage as the relay would answer, from memory.
class FakeAccounts : public MessengerAccounts {
 public:
  std::map<uint64_t, Account> accounts;
  std::map<uint64_t, std::vector<UsageDay>> usage;

  absl::StatusOr<Account> Get(store::Database&, uint64_t id) override {
    auto it = accounts.find(id);
    if (it == accounts.end()) return absl::NotFoundError("no such account");
    return it->second;
  }
  absl::StatusOr<std::vector<UsageDay>> Usage(store::Database&, uint64_t id) override { return usage[id]; }
  absl::StatusOr<std::vector<Activity>> ActivityBetween(store::Database&, const std::string& first,
                                                        const std::string& last) override {
    std::vector<Activity> out;
    for (const auto& [id, a] : accounts) {
      Activity act{id, a.number, 0, ""};
      for (const auto& d : usage[id]) {
        if (d.sessions == 0 && d.messages_sent == 0) continue;
        if (d.day >= first && d.day <= last) ++act.active_days;
        if (d.day <= last && d.day > act.last_active_day) act.last_active_day = d.day;
      }
      out.push_back(act);
    }
    return out;
  }
};

class FeedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = *store::OpenSqlite(":memory:");
    ASSERT_TRUE(Migrate(*db_).ok());
    Config config;
    ASSERT_TRUE(config.Set("feed.blocked_calling_codes=49, +33").ok());
    outbox_ = std::make_unique<Outbox>(*Policy::FromConfig(config));
    privacy_ = std::make_unique<PrivacyService>(*db_, *outbox_, accounts_, clock_);
    Link(1, "+14155550101");
    Link(2, "+491701234567");  // blocked jurisdiction
  }

  void Link(uint64_t id, const std::string& number) {
    accounts_.accounts[id] = {number, 1000, 0};
    ASSERT_TRUE(db_->InTransaction([&](store::Database& tx) -> absl::Status {
                     return outbox_->AccountLinked(tx, id, number, 100);
                   })
                    .ok());
  }

  std::vector<json> All() {
    auto page = outbox_->Read(*db_, 0, 1000, 5);
    std::vector<json> out;
    for (const auto& e : page->events) out.push_back(json::parse(e.payload));
    return out;
  }

  FakeClock clock_;
  FakeAccounts accounts_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<Outbox> outbox_;
  std::unique_ptr<PrivacyService> privacy_;
};

TEST_F(FeedTest, PolicyParsesAndBlocksCallingCodes) {
  Config bad;
  ASSERT_TRUE(bad.Set("feed.blocked_calling_codes=49,abc").ok());
  EXPECT_FALSE(Policy::FromConfig(bad).ok());
  EXPECT_FALSE(outbox_->policy().MayShare("+491701234567"));
  EXPECT_FALSE(outbox_->policy().MayShare("+33612345678"));
  EXPECT_TRUE(outbox_->policy().MayShare("+14155550101"));
  EXPECT_TRUE(outbox_->policy().MayShare("+4415550101"));  // 44 is not 4 or 49
}

// Calling codes have one, two or three digits, and a blocked code must
// match the number's own code: blocking 353 (Ireland) says nothing about
// 351 (Portugal) or about a code that merely starts the same way.
TEST_F(FeedTest, PolicyMatchesCallingCodesOfEveryLength) {
  Config config;
  ASSERT_TRUE(config.Set("feed.blocked_calling_codes=7, 44,+353").ok());
  auto policy = Policy::FromConfig(config);
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_FALSE(policy->MayShare("+79161234567"));   // 7: Russia, one digit
  EXPECT_FALSE(policy->MayShare("+447911123456"));  // 44: United Kingdom, two
  EXPECT_FALSE(policy->MayShare("+353851234567"));  // 353: Ireland, three
  EXPECT_TRUE(policy->MayShare("+351912345678"));   // 351: Portugal
  EXPECT_TRUE(policy->MayShare("+14155550101"));
  EXPECT_TRUE(policy->MayShare("+4915112345678"));  // 49, not 4 or 44
  EXPECT_TRUE(policy->MayShare("+37061234567"));    // 370 starts with 3 and 7 but is neither
  // "35" is a prefix of 353 but no country's code: refused, rather than
  // taken to block Ireland, Portugal and a dozen others.
  Config prefix;
  ASSERT_TRUE(prefix.Set("feed.blocked_calling_codes=35").ok());
  auto refused = Policy::FromConfig(prefix);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("'35' is not a country calling code"), std::string::npos)
      << refused.status();
}

TEST_F(FeedTest, OnlyAllowedFieldsCrossAndBlockedNumbersNever) {
  auto events = All();
  ASSERT_EQ(events.size(), 1u);  // the German number was not shared
  const json& e = events[0];
  EXPECT_EQ(e["type"], "account_linked");
  EXPECT_EQ(e["phone"], "+14155550101");
  EXPECT_EQ(e["account_id"], "1");
  std::set<std::string> keys;
  for (auto& [k, v] : e.items()) keys.insert(k);
  EXPECT_EQ(keys, (std::set<std::string>{"seq", "type", "account_id", "at", "phone"}));
}

TEST_F(FeedTest, ObjectionsAreRecordedOnceWithTheirDevice) {
  Caller who{1, 1, "+14155550101", "127.0.0.1:5"};
  ASSERT_TRUE(privacy_->SetObjection(who, "ads", true).ok());
  ASSERT_TRUE(privacy_->SetObjection(who, "ads", true).ok());  // no change, no event
  EXPECT_EQ(privacy_->SetObjection(who, "weather", true).code(), absl::StatusCode::kInvalidArgument);
  auto settings = privacy_->Settings(who);
  EXPECT_TRUE((*settings)["ads"]["objected"].get<bool>());
  EXPECT_FALSE((*settings)["friend_suggestions"]["objected"].get<bool>());
  auto events = All();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1]["type"], "objection_changed");
  EXPECT_EQ(events[1]["purpose"], "ads");
  EXPECT_TRUE(events[1]["objected"].get<bool>());
  ASSERT_TRUE(privacy_->SetObjection(who, "ads", false).ok());
  EXPECT_EQ(All().size(), 3u);
  auto exported = privacy_->Export(who);
  ASSERT_TRUE(exported.ok()) << exported.status();
  EXPECT_EQ((*exported)["privacy_changes"].size(), 2u);
  EXPECT_EQ((*exported)["privacy_changes"][0]["client_address"], "127.0.0.1:5");
  // The blocked-jurisdiction user's objection is recorded but not shared.
  Caller de{2, 1, "+491701234567", ""};
  ASSERT_TRUE(privacy_->SetObjection(de, "ads", true).ok());
  EXPECT_EQ(All().size(), 3u);
  EXPECT_EQ((*privacy_->Settings(de))["sharing"], "blocked_by_jurisdiction");
}

TEST_F(FeedTest, ReadPagesMarksSharedAndRejectsUnknownCursors) {
  Caller who{1, 1, "+14155550101", ""};
  ASSERT_TRUE(privacy_->SetObjection(who, "ads", true).ok());
  ASSERT_TRUE(privacy_->SetObjection(who, "friend_suggestions", true).ok());
  auto shared_before = privacy_->Shared(who);
  EXPECT_TRUE((*shared_before)["events"][0]["shared_at"].is_null());
  auto p1 = outbox_->Read(*db_, 0, 2, 777);
  ASSERT_TRUE(p1.ok());
  EXPECT_EQ(p1->events.size(), 2u);
  EXPECT_TRUE(p1->has_more);
  auto p2 = outbox_->Read(*db_, p1->next, 2, 778);
  EXPECT_EQ(p2->events.size(), 1u);
  EXPECT_FALSE(p2->has_more);
  EXPECT_EQ(outbox_->Read(*db_, 99, 2, 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(outbox_->Read(*db_, -1, 2, 0).status().code(), absl::StatusCode::kInvalidArgument);
  auto shared = privacy_->Shared(who);
  EXPECT_EQ((*shared)["events"][0]["shared_at"], "1970-01-01T00:12:57Z");
}

TEST_F(FeedTest, DeletionPurgesEarlierEventsAndStillCrosses) {
  Caller who{1, 1, "+14155550101", ""};
  ASSERT_TRUE(privacy_->SetObjection(who, "ads", true).ok());
  ASSERT_TRUE(
      db_->InTransaction([&](store::Database& tx) { return outbox_->AccountDeleted(tx, 1, who.number, 200); })
          .ok());
  auto events = All();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["type"], "account_deleted");
  EXPECT_FALSE(events[0].contains("phone"));
  EXPECT_EQ(events[0]["seq"], 3);  // sequence numbers never go back
}

TEST_F(FeedTest, UsageSummariesOnlyWhenActivityChanges) {
  accounts_.usage[1] = {{"2026-10-01", 1, 1}, {"2026-11-01", 1, 3}, {"2026-11-20", 2, 0}};
  EXPECT_EQ(*privacy_->SummarizeUsage("2026-11-28"), 1);  // only account 1 was active
  EXPECT_EQ(*privacy_->SummarizeUsage("2026-11-28"), 0);
  auto events = All();
  EXPECT_EQ(events.back()["type"], "usage_summary");
  EXPECT_EQ(events.back()["active_days_28"], 2);  // Oct 1 is outside the window
  EXPECT_EQ(events.back()["last_active_day"], "2026-11-20");
  EXPECT_EQ(*privacy_->SummarizeUsage("2026-11-29"), 1);  // Nov 1 fell out of the window
  EXPECT_EQ(All().back()["active_days_28"], 1);
}

TEST_F(FeedTest, HttpFeedNeedsTheTokenAndAValidCursor) {
  net::Router router;
  AddRoutes(
      router, *db_, *outbox_, *privacy_, "secret-token",
      [](const net::Request& req) -> absl::StatusOr<Caller> {
        if (req.Header("x-test-user") != "1") return absl::UnauthenticatedError("who are you");
        return Caller{1, 1, "+14155550101", req.remote_address};
      },
      clock_);
  net::Metrics metrics;
  net::ServerOptions options;
  options.listen = "127.0.0.1:0";
  net::Server server(options, std::move(router), metrics);
  ASSERT_TRUE(server.Start().ok());
  net::HttpClient http("127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(http.Get("/v1/feed/events")->status, 401);
  EXPECT_EQ(http.Get("/v1/feed/events", {{"Authorization", "Bearer wrong-token!"}})->status, 401);
  net::Headers auth = {{"Authorization", "Bearer secret-token"}};
  EXPECT_EQ(http.Get("/v1/feed/events?after=42", auth)->status, 400);
  EXPECT_EQ(http.Get("/v1/feed/events?limit=0", auth)->status, 400);
  auto ok = http.Get("/v1/feed/events?after=0&limit=10", auth);
  ASSERT_EQ(ok->status, 200);
  auto j = json::parse(ok->body);
  EXPECT_EQ(j["events"].size(), 1u);
  EXPECT_EQ(j["next"], 1);
  EXPECT_FALSE(j["has_more"].get<bool>());

  EXPECT_EQ(http.Request("PUT", "/v1/privacy/objections/ads", R"({"objected":true})")->status, 401);
  net::Headers user = {{"X-Test-User", "1"}};
  EXPECT_EQ(http.Request("PUT", "/v1/privacy/objections/ads", R"({"objected":"yes"})", user)->status, 400);
  EXPECT_EQ(http.Request("PUT", "/v1/privacy/objections/weather", R"({"objected":true})", user)->status, 400);
  auto set = http.Request("PUT", "/v1/privacy/objections/ads", R"({"objected":true})", user);
  ASSERT_EQ(set->status, 200);
  EXPECT_TRUE(json::parse(set->body)["ads"]["objected"].get<bool>());
  auto after = http.Get("/v1/feed/events?after=1", auth);
  EXPECT_EQ(json::parse(after->body)["events"][0]["type"], "objection_changed");
  server.Stop();
}

// The feed endpoint on a real server, for long polls.
class FeedLongPollTest : public FeedTest {
 protected:
  void StartServer(size_t max_waiting = 64) {
    net::Router router;
    AddRoutes(
        router, *db_, *outbox_, *privacy_, "secret-token",
        [](const net::Request&) -> absl::StatusOr<Caller> { return absl::UnauthenticatedError("no"); },
        clock_);
    net::ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.threads = 1;
    options.max_waiting = max_waiting;
    options.drain_timeout = absl::Seconds(60);
    server_ = std::make_unique<net::Server>(options, std::move(router), metrics_);
    ASSERT_TRUE(server_->Start().ok());
    base_ = "127.0.0.1:" + std::to_string(server_->port());
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }
  absl::StatusOr<net::HttpResponse> Poll(const std::string& query) {
    return net::HttpClient(base_, absl::Seconds(60)).Get("/v1/feed/events?" + query, auth_);
  }
  // Until `n` requests wait (the server's gauge).
  void AwaitWaiting(int n) {
    for (int i = 0; i < 5000; ++i) {
      auto m = net::HttpClient(base_).Get("/metrics");
      if (m.ok() &&
          m->body.find("\ntandem_http_waiting_requests " + std::to_string(n) + "\n") != std::string::npos) {
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    FAIL() << "no " << n << " waiting requests";
  }
  Caller user_{1, 1, "+14155550101", "127.0.0.1"};
  net::Headers auth_ = {{"Authorization", "Bearer secret-token"}};
  net::Metrics metrics_;
  std::unique_ptr<net::Server> server_;
  std::string base_;
};

TEST_F(FeedLongPollTest, AWaitingPollGetsTheEventThatCommits) {
  StartServer();
  // Event 1 is the link: a poll after it waits.
  absl::StatusOr<net::HttpResponse> res;
  std::thread poll([&] { res = Poll("after=1&wait_ms=30000"); });
  AwaitWaiting(1);
  ASSERT_TRUE(privacy_->SetObjection(user_, "ads", true).ok());
  poll.join();
  ASSERT_TRUE(res.ok());
  ASSERT_EQ(res->status, 200);
  EXPECT_EQ(res->Header("x-feed-wait-ms"), "30000");
  json page = json::parse(res->body);
  ASSERT_EQ(page["events"].size(), 1u);
  EXPECT_EQ(page["events"][0]["type"], "objection_changed");
  EXPECT_EQ(page["events"][0]["seq"], 2);
  EXPECT_EQ(page["next"], 2);

  // A poll behind the head is answered at once, whatever it asks; a wait
  // beyond the cap is cut to the cap.
  res = Poll("after=0&wait_ms=999999999");
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(json::parse(res->body)["events"].size(), 2u);
  EXPECT_EQ(res->Header("x-feed-wait-ms"), std::to_string(kMaxFeedWaitMs));
  EXPECT_EQ(Poll("after=0&wait_ms=-1")->status, 400);
  EXPECT_EQ(Poll("after=0&wait_ms=soon")->status, 400);
  EXPECT_EQ(Poll("after=9&wait_ms=100")->status, 400) << "an unknown cursor is an error, not a wait";
}

TEST_F(FeedLongPollTest, AWaitWithoutEventsEndsWithAnEmptyPage) {
  StartServer();
  auto res = Poll("after=1&wait_ms=50");
  ASSERT_TRUE(res.ok());
  ASSERT_EQ(res->status, 200);
  EXPECT_EQ(res->Header("x-feed-wait-ms"), "50");
  json page = json::parse(res->body);
  EXPECT_TRUE(page["events"].empty());
  EXPECT_EQ(page["next"], 1);
  EXPECT_FALSE(page["has_more"].get<bool>());
  // Without wait_ms, the old pull: answered at once.
  res = Poll("after=1");
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->Header("x-feed-wait-ms"), "0");
  // An append that rolls back wakes no one.
  absl::Status st = db_->InTransaction([&](store::Database& tx) -> absl::Status {
    RETURN_IF_ERROR(outbox_->ObjectionChanged(tx, 1, "+14155550101", "ads", true, 200));
    return absl::AbortedError("changed my mind");
  });
  EXPECT_FALSE(st.ok());
  res = Poll("after=1&wait_ms=50");
  ASSERT_TRUE(res.ok());
  EXPECT_TRUE(json::parse(res->body)["events"].empty());
}

TEST_F(FeedLongPollTest, WaitersAreBoundedAndShutdownAnswersThem) {
  StartServer(/*max_waiting=*/1);
  absl::StatusOr<net::HttpResponse> res;
  std::thread poll([&] { res = Poll("after=1&wait_ms=30000"); });
  AwaitWaiting(1);
  auto second = Poll("after=1&wait_ms=30000");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->status, 503);
  EXPECT_EQ(second->Header("retry-after"), "1");
  // The wait (30 s) and the drain timeout (60 s) are long; the drain
  // answers the waiting poll at once with what there is: nothing new.
  server_->Stop();
  poll.join();
  ASSERT_TRUE(res.ok()) << res.status();
  ASSERT_EQ(res->status, 200);
  EXPECT_TRUE(json::parse(res->body)["events"].empty());
  EXPECT_EQ(res->Header("connection"), "close");
}

}  // namespace
}  // namespace tandem::feed
