// The social network's abuse limits: verification codes (brute force, SMS
// pumping, locking the owner out) and the address-book budget, through the
// service and through the HTTP handlers.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/config.h"
#include "common/rate_limiter.h"
#include "net/http.h"
#include "social/http_api.h"
#include "social/test_util.h"

namespace tandem::social {
namespace {

using nlohmann::json;
using testing::TestPhone;
using testing::World;

// The production limits, with one of them widened where a test needs room.
SocialServiceOptions Defaults() { return SocialServiceOptions{}; }

// SocialServiceOptions{} are "the production limits" of these tests;
// tandemd reads the configuration schema's defaults. They must agree.
TEST(SocialLimitsTest, DefaultsAreTheConfigurationSchemas) {
  Config config;
  SocialServiceOptions defaults;
  verification::Limits configured = verification::Limits::FromConfig(config, "social.limits");
  for (auto member : {&verification::Limits::codes_per_address, &verification::Limits::codes_per_prefix,
                      &verification::Limits::codes_per_number, &verification::Limits::checks_per_address,
                      &verification::Limits::guesses_per_number}) {
    EXPECT_EQ((configured.*member).burst, (defaults.codes.*member).burst);
    EXPECT_EQ((configured.*member).interval, (defaults.codes.*member).interval);
  }
  RateLimit book = ReadRateLimit(config, "social.limits.address_book_new_numbers");
  EXPECT_EQ(book.burst, defaults.address_book_new_numbers.burst);
  EXPECT_EQ(book.interval, defaults.address_book_new_numbers.interval);
  EXPECT_EQ(absl::Seconds(config.GetInt("social.code_ttl_s")), defaults.code_ttl);
}

std::string Other(const std::string& code) { return code == "000000" ? "111111" : "000000"; }

bool Mentions(const absl::Status& st, std::string_view text) {
  return std::string(st.message()).find(text) != std::string::npos;
}

TEST(SocialCodeLimits, GuessesAcrossReissuedCodesStopAtTheNumberLimit) {
  SocialServiceOptions o = Defaults();
  o.codes.codes_per_number = {1000, absl::Seconds(1)};
  o.codes.checks_per_address = {1000, absl::Seconds(1)};
  World w(":memory:", 1, o);
  const std::string number = TestPhone(1);
  // Five wrong tries per code, and a new code after each five: the number's
  // budget (10 checks) is what stops the guessing, not the count per code.
  int checked = 0;
  absl::Status last;
  for (int round = 0; round < 6; ++round) {
    ASSERT_TRUE(w.service->StartVerification(number, "", "198.51.100.7:1").ok());
    for (int i = 0; i < 5; ++i) {
      last =
          w.service->CompleteVerification(number, "", Other(w.sender.CodeFor(number)), "", "198.51.100.7:1")
              .status();
      if (absl::IsUnauthenticated(last)) ++checked;
    }
  }
  EXPECT_EQ(checked, 10);
  EXPECT_EQ(last.code(), absl::StatusCode::kResourceExhausted) << last;
  EXPECT_TRUE(Mentions(last, "for this number")) << last;
  // Even the right code is not checked now, from any address...
  ASSERT_TRUE(w.service->StartVerification(number, "", "203.0.113.1:1").ok());
  auto right = w.service->CompleteVerification(number, "", w.sender.CodeFor(number), "", "203.0.113.1:1");
  EXPECT_EQ(right.status().code(), absl::StatusCode::kResourceExhausted);
  // ...until the bucket has regained a token.
  w.clock.Advance(absl::Hours(1));
  ASSERT_TRUE(w.service->StartVerification(number, "", "203.0.113.1:1").ok());
  right = w.service->CompleteVerification(number, "", w.sender.CodeFor(number), "", "203.0.113.1:1");
  EXPECT_TRUE(right.ok()) << right.status();
}

TEST(SocialCodeLimits, ManyNumbersOfOneRangeOrFromOneAddressAreRefused) {
  World w(":memory:", 1, Defaults());
  // 40 numbers of one range from one address (the probe that found the
  // defect): the address budget stops it first.
  int ok = 0;
  absl::Status last;
  for (int i = 0; i < 40; ++i) {
    last = w.service->StartVerification(TestPhone(i, 201), "", "198.51.100.7:1");
    if (last.ok()) ++ok;
  }
  EXPECT_EQ(ok, 20);
  EXPECT_EQ(last.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(Mentions(last, "from this address")) << last;
  EXPECT_TRUE(Mentions(last, "try again in")) << last;
  // One range from many addresses: the range budget.
  ok = 0;
  for (int i = 0; i < 40; ++i) {
    last = w.service->StartVerification(TestPhone(i, 202), "", absl::StrCat("198.51.", i, ".1:1"));
    if (last.ok()) ++ok;
  }
  EXPECT_EQ(ok, 20);
  EXPECT_TRUE(Mentions(last, "in this range")) << last;
  // One number: three, then one per 10 minutes.
  ok = 0;
  for (int i = 0; i < 5; ++i) {
    ok += w.service->StartVerification(TestPhone(1, 203), "", absl::StrCat("203.0.113.", i, ":1")).ok();
  }
  EXPECT_EQ(ok, 3);
}

TEST(SocialCodeLimits, ALimitedAddressIsRefusedBeforeTheNumberIsParsed) {
  World w(":memory:", 1, Defaults());
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(w.service->StartVerification(TestPhone(i, 230 + i), "", "198.51.100.9:1").ok());
  }
  const std::string garbage(60, '7');
  absl::Status st = w.service->StartVerification(garbage + "x", "", "198.51.100.9:1");
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted) << st;
  EXPECT_EQ(w.service->StartVerification(garbage + "x", "", "198.51.100.10:1").code(),
            absl::StatusCode::kInvalidArgument)
      << "another address gets the parse error";
  for (int i = 0; i < 30; ++i) {
    (void)w.service->CompleteVerification(TestPhone(i, 250 + i), "", "123456", "", "198.51.100.9:1");
  }
  auto checked = w.service->CompleteVerification(garbage + "x", "", "123456", "", "198.51.100.9:1");
  EXPECT_EQ(checked.status().code(), absl::StatusCode::kResourceExhausted) << checked.status();
}

TEST(SocialCodeLimits, RequestsByOthersDoNotLockTheOwnerOut) {
  World w(":memory:", 1, Defaults());
  const std::string number = TestPhone(5);
  const std::string owner = "203.0.113.5:1", attacker = "198.51.100.66:1";
  // The owner gets a code; codes requested afterwards by someone else do not
  // make it invalid.
  ASSERT_TRUE(w.service->StartVerification(number, "", owner).ok());
  std::string owners_code = w.sender.CodeFor(number);
  EXPECT_TRUE(w.service->StartVerification(number, "", attacker).ok());
  EXPECT_TRUE(w.service->StartVerification(number, "", attacker).ok());
  w.clock.Advance(absl::Minutes(1));
  auto s = w.service->CompleteVerification(number, "", owners_code, "Owner", owner);
  ASSERT_TRUE(s.ok()) << s.status();

  // An attacker on one address asks for a code for the number every five
  // minutes (twice as often as the number's bucket refills) for a day; the
  // owner asks once an hour and types the code seven minutes later, after
  // the attacker has asked again. Once the attacker's address burst is
  // spent, its bucket refills more slowly than the number's, so the owner
  // finds a code to be had, and the attacker's later requests do not
  // invalidate it.
  int owner_logins = 0, attacker_codes = 0;
  for (int minute = 0; minute < 24 * 60; ++minute) {
    if (minute % 5 == 0) attacker_codes += w.service->StartVerification(number, "", attacker).ok();
    if (minute % 60 == 30 && w.service->StartVerification(number, "", owner).ok()) {
      owners_code = w.sender.CodeFor(number);
    }
    if (minute % 60 == 37 && !owners_code.empty()) {
      owner_logins += w.service->CompleteVerification(number, "", owners_code, "", owner).ok();
      owners_code.clear();
    }
    w.clock.Advance(absl::Minutes(1));
  }
  EXPECT_GE(owner_logins, 18) << "the attacker got " << attacker_codes << " codes";
  EXPECT_LE(attacker_codes, 20 + 3 * 24 + 1) << "bounded by the address bucket";
}

TEST(SocialAddressBook, NewNumbersBeyondTheBudgetAreRefusedWholly) {
  SocialServiceOptions o = testing::UnlimitedOptions();
  o.address_book_new_numbers = {100, absl::Minutes(1)};
  World w(":memory:", 1, o);
  UserId me = w.AddUser(TestPhone(1), "Me");
  AddressBookUpload up;
  for (int i = 0; i < 60; ++i) up.entries.push_back(TestPhone(i, 300));
  auto r = w.service->ReplaceAddressBook(me, up);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->budget_remaining, 40);
  // The same 60 again plus 50 new ones: over the 40 left, refused whole.
  for (int i = 0; i < 50; ++i) up.entries.push_back(TestPhone(i, 301));
  r = w.service->ReplaceAddressBook(me, up);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted) << r.status();
  EXPECT_TRUE(Mentions(r.status(), "40 can be added now; try again in 600 s")) << r.status();
  auto book = w.service->GetAddressBook(me);
  ASSERT_TRUE(book.ok());
  EXPECT_EQ(book->size(), 60u) << "the refused upload changed nothing";
  EXPECT_EQ(w.db->View(Purpose::kFriendSuggestions).AddressBook(me).size(), 60u);
  // Numbers already in the book are free: 60 old + 40 new fits exactly.
  up.entries.resize(100);
  r = w.service->ReplaceAddressBook(me, up);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->budget_remaining, 0);
  // The budget refills over time (one number a minute here), and an upload
  // larger than the whole bucket says so.
  w.clock.Advance(absl::Minutes(10));
  for (int i = 0; i < 10; ++i) up.entries.push_back(TestPhone(i, 302));
  EXPECT_TRUE(w.service->ReplaceAddressBook(me, up).ok());
  AddressBookUpload huge;
  for (int i = 0; i < 150; ++i) huge.entries.push_back(TestPhone(i, 303));
  w.clock.Advance(absl::Hours(10));
  r = w.service->ReplaceAddressBook(me, huge);
  EXPECT_TRUE(Mentions(r.status(), "at most 100 can be added at once")) << r.status();
}

// Calls the social HTTP API in process.
class SocialHttp : public ::testing::Test {
 protected:
  SocialHttp() : world_(":memory:", 1, Options()) { AddSocialRoutes(router_, *world_.service); }
  static SocialServiceOptions Options() {
    SocialServiceOptions o = Defaults();
    o.address_book_new_numbers = {5, absl::Hours(1)};
    return o;
  }

  net::Response Call(const std::string& method, const std::string& path, const json& body,
                     const std::string& token = "", const std::string& address = "198.51.100.1:9") {
    net::Request req;
    req.method = method;
    req.path = req.target = path;
    req.body = body.dump();
    req.remote_address = address;
    if (!token.empty()) req.headers.emplace_back("authorization", "Bearer " + token);
    net::Response error;
    std::string route;
    const net::Router::Route* r = router_.Match(req, &error, &route);
    return r ? r->handler(req) : error;
  }

  World world_;
  net::Router router_;
};

TEST_F(SocialHttp, AddressBookAnswerSaysNothingAboutMessengerMembership) {
  UserId me = world_.AddUser(TestPhone(1), "Me");
  UserId bob = world_.AddUser(TestPhone(2), "Bob");
  world_.Apply(testing::Numbered({testing::Linked("m-bob", TestPhone(2)), testing::Usage("m-bob", 20),
                                  testing::Linked("m-x", TestPhone(3))}));
  auto login = world_.service->StartVerification(TestPhone(1), "", "192.0.2.50:1");
  ASSERT_TRUE(login.ok());
  auto session = world_.service->CompleteVerification(TestPhone(1), "", world_.sender.CodeFor(TestPhone(1)),
                                                      "", "192.0.2.50:1");
  ASSERT_TRUE(session.ok());
  ASSERT_EQ(session->user, me);
  net::Response res = Call("PUT", "/v1/social/address-book",
                           {{"entries", {TestPhone(2), TestPhone(3), TestPhone(4), "12"}}}, session->token);
  ASSERT_EQ(res.status, 200) << res.body;
  json body = json::parse(res.body);
  std::set<std::string> keys;
  for (auto& [k, v] : body.items()) keys.insert(k);
  EXPECT_EQ(keys, (std::set<std::string>{"stored", "rejected", "budget_remaining"})) << res.body;
  EXPECT_EQ(body["stored"], 3);
  ASSERT_EQ(body["rejected"].size(), 1u);
  for (auto& [k, v] : body["rejected"][0].items()) {
    EXPECT_TRUE(k == "index" || k == "input" || k == "reason" || k == "message") << k;
  }
  EXPECT_EQ(res.body.find("messenger"), std::string::npos) << res.body;
  EXPECT_EQ(res.body.find(TestPhone(2)), std::string::npos) << "valid numbers are not echoed";
  // The listing is the uploader's own numbers, nothing more.
  res = Call("GET", "/v1/social/address-book", json::object(), session->token);
  EXPECT_EQ(json::parse(res.body), json({{"entries", {TestPhone(2), TestPhone(3), TestPhone(4)}}}));
  // Suggestions are the one place that shows messenger activity.
  res = Call("GET", "/v1/social/suggestions", json::object(), session->token);
  EXPECT_NE(res.body.find("active_on_messenger"), std::string::npos) << res.body;
  EXPECT_NE(res.body.find(absl::StrCat("\"account_id\":", bob)), std::string::npos) << res.body;
}

TEST_F(SocialHttp, BudgetAndRateLimitsAre429WithARetryHint) {
  UserId me = world_.AddUser(TestPhone(1), "Me");
  (void)me;
  ASSERT_TRUE(world_.service->StartVerification(TestPhone(1), "", "192.0.2.50:1").ok());
  auto session = world_.service->CompleteVerification(TestPhone(1), "", world_.sender.CodeFor(TestPhone(1)),
                                                      "", "192.0.2.50:1");
  ASSERT_TRUE(session.ok());
  json entries = json::array();
  for (int i = 0; i < 3; ++i) entries.push_back(TestPhone(i, 400));
  net::Response res = Call("PUT", "/v1/social/address-book", {{"entries", entries}}, session->token);
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(json::parse(res.body)["budget_remaining"], 2);
  for (int i = 0; i < 3; ++i) entries.push_back(TestPhone(i, 401));
  res = Call("PUT", "/v1/social/address-book", {{"entries", entries}}, session->token);
  EXPECT_EQ(res.status, 429) << res.body;
  json err = json::parse(res.body)["error"];
  EXPECT_EQ(err["code"], "resource_exhausted");
  EXPECT_NE(err["message"].get<std::string>().find("try again in"), std::string::npos) << res.body;
  res = Call("GET", "/v1/social/address-book", json::object(), session->token);
  EXPECT_EQ(json::parse(res.body)["entries"].size(), 3u) << "nothing of the refused upload is stored";

  // Registration: the 21st request from one address is a 429 even for a
  // number that would not parse.
  for (int i = 0; i < 20; ++i) {
    res = Call("POST", "/v1/social/register", {{"phone", TestPhone(i, 720 + i)}}, "", "198.51.100.77:5");
    ASSERT_EQ(res.status, 202) << res.body;
  }
  res = Call("POST", "/v1/social/register", {{"phone", std::string(60, '9') + "z"}}, "", "198.51.100.77:6");
  EXPECT_EQ(res.status, 429) << res.body;
  EXPECT_NE(res.body.find("try again in"), std::string::npos) << res.body;
}

}  // namespace
}  // namespace tandem::social
