// Tests of advertisers, uploads and matching: tokens, upload validation
// (nothing stored on bad input), matching and its sources, sessions,
// objections, sizes and budgets.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>

#include "ads/test_util.h"

namespace tandem::ads {
namespace {

using social::Purpose;
using social::testing::Deleted;
using social::testing::Linked;
using social::testing::Objection;
using social::testing::TestPhone;
using social::testing::Usage;
using testing::AdsWorld;
using testing::HashHex;
using ::testing::HasSubstr;

TEST(AdsServiceTest, AdvertiserTokensAreStoredOnlyAsHashes) {
  AdsWorld w;
  auto a = w.ads->CreateAdvertiser("Acme");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->token.size(), 64u);
  EXPECT_EQ(*w.ads->Authenticate(a->token), a->id);
  EXPECT_TRUE(absl::IsUnauthenticated(w.ads->Authenticate("nope").status()));
  EXPECT_TRUE(absl::IsUnauthenticated(w.ads->Authenticate("").status()));
  auto rows = w.social.db->DatabaseForTesting().Query("SELECT token_hash FROM ads_tokens");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_NE((*rows)[0].Bytes(0), a->token);
  EXPECT_TRUE(absl::IsInvalidArgument(w.ads->CreateAdvertiser("").status()));
}

TEST(AdsServiceTest, BadBatchesStoreNothing) {
  AdsWorld w;
  w.social.AddUser(TestPhone(1));
  auto adv = w.NewAdvertiser();
  auto aud = w.NewAudience(adv);

  UploadRequest big;
  big.session_id = "s";
  big.batch_seq = 1;
  big.rows.assign(10'001, HashHex(TestPhone(1)));
  auto st = w.ads->Upload(adv, aud, SessionKind::kAdd, big).status();
  EXPECT_TRUE(absl::IsInvalidArgument(st));
  EXPECT_THAT(std::string(st.message()), HasSubstr("at most 10,000 rows"));

  UploadRequest bad;
  bad.session_id = "s";
  bad.batch_seq = 1;
  bad.rows = {HashHex(TestPhone(1)), "xyz", std::string(64, 'A'), HashHex(TestPhone(2)) + "0"};
  std::vector<InvalidRow> rejected;
  st = w.ads->Upload(adv, aud, SessionKind::kAdd, bad, &rejected).status();
  EXPECT_TRUE(absl::IsInvalidArgument(st));
  ASSERT_EQ(rejected.size(), 3u);
  EXPECT_EQ(rejected[0].index, 1u);
  EXPECT_EQ(rejected[1].index, 2u);
  EXPECT_EQ(rejected[1].message, "not lowercase hexadecimal");
  EXPECT_EQ(rejected[2].index, 3u);
  EXPECT_THAT(std::string(st.message()), Not(HasSubstr(HashHex(TestPhone(1)))));

  auto schema = ParseUploadRequest(nlohmann::json::parse(
      R"({"session":{"session_id":"s","batch_seq":1},"payload":{"schema":"EMAIL_SHA256","data":["a"]}})"));
  EXPECT_TRUE(absl::IsInvalidArgument(schema.status()));
  EXPECT_THAT(std::string(schema.status().message()), HasSubstr("unknown schema 'EMAIL_SHA256'"));

  // Someone else's audience and an unknown one.
  auto other = w.NewAdvertiser("Other");
  UploadRequest good = bad;
  good.rows = {HashHex(TestPhone(1))};
  EXPECT_TRUE(absl::IsNotFound(w.ads->Upload(other, aud, SessionKind::kAdd, good).status()));
  EXPECT_TRUE(absl::IsNotFound(w.ads->Upload(adv, 999, SessionKind::kAdd, good).status()));

  UploadRequest region = good;
  region.schema = Schema::kPhone;
  region.country = "XX";
  EXPECT_TRUE(absl::IsInvalidArgument(w.ads->Upload(adv, aud, SessionKind::kAdd, region).status()));

  w.ads->RunPending();
  for (const char* table :
       {"ads_sessions", "ads_session_batches", "ads_session_matches", "ads_memberships"}) {
    EXPECT_EQ(w.CountRows(table), 0) << table;
  }
}

TEST(AdsServiceTest, MatchesThroughSocialAndMessengerFactsOnly) {
  AdsWorld w;
  auto discoverable = w.social.AddUser(TestPhone(1), "D");
  ASSERT_TRUE(w.social.service->UpdateProfile(discoverable, std::nullopt, true).ok());
  auto linked = w.social.AddUser(TestPhone(2), "L");
  auto hidden = w.social.AddUser(TestPhone(3), "H");  // neither: not findable for ads
  auto objector = w.social.AddUser(TestPhone(4), "O");
  auto both = w.social.AddUser(TestPhone(5), "B");
  ASSERT_TRUE(w.social.service->UpdateProfile(both, std::nullopt, true).ok());
  w.Feed({Linked("m2", TestPhone(2)), Linked("m4", TestPhone(4)), Objection("m4", Purpose::kAds, true),
          Linked("m5", TestPhone(5)), Linked("m9", TestPhone(9))});

  auto adv = w.NewAdvertiser();
  auto aud = w.NewAudience(adv);
  std::vector<std::string> list;
  for (int i = 1; i <= 9; ++i) list.push_back(TestPhone(i));
  for (int i = 100; i < 400; ++i) list.push_back(TestPhone(i));  // strangers
  auto res = w.UploadAll(adv, aud, SessionKind::kAdd, list, 50);
  ASSERT_TRUE(res.ok()) << res.status();
  EXPECT_EQ(res->session_state, SessionState::kMatching);
  w.ads->RunPending();
  EXPECT_THAT(w.Members(aud), ::testing::ElementsAre(Membership{aud, discoverable, kViaSocial},
                                                     Membership{aud, linked, kViaMessenger},
                                                     Membership{aud, both, kViaSocial | kViaMessenger}));
  (void)hidden;
  (void)objector;
  auto a = w.ads->GetAudience(adv, aud);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->status, AudienceStatus::kReady);
  ASSERT_EQ(a->sessions.size(), 1u);
  EXPECT_EQ(a->sessions[0].state, SessionState::kApplied);
  EXPECT_EQ(a->sessions[0].batches, 7);
}

TEST(AdsServiceTest, RawPhonesAreNormalizedWithTheCountryHint) {
  AdsWorld w;
  auto u = w.social.AddUser("+16502530001");
  ASSERT_TRUE(w.social.service->UpdateProfile(u, std::nullopt, true).ok());
  auto adv = w.NewAdvertiser();
  auto aud = w.NewAudience(adv);
  auto res =
      w.UploadAll(adv, aud, SessionKind::kAdd, {"(650) 253-0001", "12", "not a number", "+44 20 7946 0958"},
                  10, Schema::kPhone, "US");
  ASSERT_TRUE(res.ok()) << res.status();
  EXPECT_EQ(res->received, 4u);
  ASSERT_EQ(res->invalid.size(), 2u);
  EXPECT_EQ(res->invalid[0].index, 1u);
  EXPECT_EQ(res->invalid[1].index, 2u);
  EXPECT_FALSE(res->invalid[0].reason.empty());
  w.ads->RunPending();
  EXPECT_THAT(w.Members(aud), ::testing::ElementsAre(Membership{aud, u, kViaSocial}));
}

TEST(AdsServiceTest, SessionsRemoveReplaceAndRefuseMisuse) {
  AdsWorld w;
  std::vector<social::UserId> users;
  for (int i = 1; i <= 6; ++i) {
    users.push_back(w.social.AddUser(TestPhone(i)));
    ASSERT_TRUE(w.social.service->UpdateProfile(users.back(), std::nullopt, true).ok());
  }
  auto adv = w.NewAdvertiser();
  auto aud = w.NewAudience(adv);
  ASSERT_TRUE(w.UploadAll(adv, aud, SessionKind::kAdd, {TestPhone(1), TestPhone(2), TestPhone(3)}).ok());
  w.ads->RunPending();
  EXPECT_EQ(w.Members(aud).size(), 3u);
  ASSERT_TRUE(w.UploadAll(adv, aud, SessionKind::kRemove, {TestPhone(2)}).ok());
  w.ads->RunPending();
  EXPECT_EQ(w.Members(aud).size(), 2u);
  ASSERT_TRUE(w.UploadAll(adv, aud, SessionKind::kReplace, {TestPhone(5), TestPhone(6)}, 1).ok());
  w.ads->RunPending();
  auto m = w.Members(aud);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].user, users[4]);
  EXPECT_EQ(m[1].user, users[5]);

  UploadRequest r;
  r.session_id = "open";
  r.batch_seq = 1;
  r.rows = {HashHex(TestPhone(1))};
  ASSERT_TRUE(w.ads->Upload(adv, aud, SessionKind::kAdd, r).ok());
  EXPECT_TRUE(absl::IsAlreadyExists(w.ads->Upload(adv, aud, SessionKind::kAdd, r).status()));
  EXPECT_TRUE(absl::IsFailedPrecondition(w.ads->Upload(adv, aud, SessionKind::kRemove, r).status()));
  r.batch_seq = 2;
  r.last_batch = true;
  ASSERT_TRUE(w.ads->Upload(adv, aud, SessionKind::kAdd, r).ok());
  r.batch_seq = 3;
  EXPECT_TRUE(absl::IsFailedPrecondition(w.ads->Upload(adv, aud, SessionKind::kAdd, r).status()));
  auto a = w.ads->GetAudience(adv, aud);
  EXPECT_EQ(a->status, AudienceStatus::kMatching);
  w.ads->RunPending();
  EXPECT_EQ(w.Members(aud).size(), 3u);

  ASSERT_TRUE(w.ads->DeleteAudience(adv, aud).ok());
  EXPECT_EQ(w.CountRows("ads_memberships"), 0);
  EXPECT_TRUE(absl::IsNotFound(w.ads->GetAudience(adv, aud).status()));
}

TEST(AdsServiceTest, ObjectionAndDeletionRemoveMessengerMembershipsWithinASecond) {
  AdsWorld w;
  auto both = w.social.AddUser(TestPhone(1));
  ASSERT_TRUE(w.social.service->UpdateProfile(both, std::nullopt, true).ok());
  auto linked = w.social.AddUser(TestPhone(2));
  auto deleted = w.social.AddUser(TestPhone(3));
  w.Feed({Linked("m1", TestPhone(1)), Linked("m2", TestPhone(2)), Linked("m3", TestPhone(3))});
  auto adv = w.NewAdvertiser();
  auto aud = w.NewAudience(adv);
  ASSERT_TRUE(w.UploadAll(adv, aud, SessionKind::kAdd, {TestPhone(1), TestPhone(2), TestPhone(3)}).ok());
  w.ads->RunPending();
  ASSERT_EQ(w.Members(aud).size(), 3u);

  w.ads->Start();  // the worker thread, woken by the social database
  // The measurement is of real time: how long the woken worker takes.
  const auto start = std::chrono::steady_clock::now();
  w.Feed({Objection("m1", Purpose::kAds, true), Objection("m2", Purpose::kAds, true), Deleted("m3")});
  w.ads->WaitIdle();
  auto elapsed = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  RecordProperty("objection_to_removal_ms", std::to_string(elapsed));
  EXPECT_LT(elapsed, 60000) << "not reconciled";
  EXPECT_THAT(w.Members(aud), ::testing::ElementsAre(Membership{aud, both, kViaSocial}));
  (void)linked;
  (void)deleted;
}

TEST(AdsServiceTest, SizesAreRangesWithinABudget) {
  AdsOptions o = AdsWorld::TestOptions();
  o.size.min_size = 100;
  o.size.margin = 0;
  o.size.noise_scale = 0;
  o.size_budget_per_day = 3;
  o.audience_budget_per_day = 2;
  AdsWorld w(o);
  std::vector<std::string> phones;
  for (int i = 1; i <= 130; ++i) {
    auto u = w.social.AddUser(TestPhone(i));
    ASSERT_TRUE(w.social.service->UpdateProfile(u, std::nullopt, true).ok());
    phones.push_back(TestPhone(i));
  }
  auto adv = w.NewAdvertiser();
  auto small = w.NewAudience(adv, "small");
  auto big = w.NewAudience(adv, "big");
  EXPECT_TRUE(absl::IsResourceExhausted(w.ads->CreateAudience(adv, "third", "").status()));
  ASSERT_TRUE(w.UploadAll(adv, small, SessionKind::kAdd, {phones.begin(), phones.begin() + 99}).ok());
  ASSERT_TRUE(w.UploadAll(adv, big, SessionKind::kAdd, phones).ok());
  w.ads->RunPending();
  auto s = w.ads->GetAudience(adv, small);
  ASSERT_TRUE(s.ok() && s->size);
  EXPECT_EQ(s->size->text, "too small to target");
  EXPECT_FALSE(s->size->targetable);
  auto b = w.ads->GetAudience(adv, big);
  ASSERT_TRUE(b->size);
  EXPECT_EQ(b->size->text, "130 to 140");
  // Looking again at the same version is free; a new version costs one.
  EXPECT_TRUE(w.ads->GetAudience(adv, big)->size.has_value());
  EXPECT_EQ(w.ads->Budget(adv)->size_queries, 1);
  CampaignSpec spec;
  spec.name = "c";
  spec.creative = {"Hi", "Buy", "https://example.com"};
  spec.impression_budget = 10;
  spec.include_audiences = {small};
  auto c = w.ads->CreateCampaign(adv, spec);
  EXPECT_TRUE(absl::IsFailedPrecondition(c.status())) << c.status();
  ASSERT_TRUE(w.UploadAll(adv, big, SessionKind::kRemove, {TestPhone(1)}).ok());
  w.ads->RunPending();
  EXPECT_TRUE(w.ads->GetAudience(adv, big)->size.has_value());
  ASSERT_TRUE(w.UploadAll(adv, big, SessionKind::kRemove, {TestPhone(2)}).ok());
  w.ads->RunPending();
  auto exhausted = w.ads->GetAudience(adv, big);
  ASSERT_TRUE(exhausted.ok());
  EXPECT_FALSE(exhausted->size.has_value());
  EXPECT_THAT(exhausted->size_note, HasSubstr("budget"));
  spec.include_audiences = {big};
  EXPECT_TRUE(absl::IsResourceExhausted(w.ads->CreateCampaign(adv, spec).status()));
  w.social.clock.Advance(absl::Hours(24));
  EXPECT_TRUE(w.ads->CreateCampaign(adv, spec).ok());
}

// docs/ads-api.md: the same audience version always gives the same answer.
// Objections take effect for serving at once, and show in the size only
// through a new version, which costs a look.
TEST(AdsServiceTest, SizeOfAVersionIsFixedWhenTheVersionIsMade) {
  AdsOptions o = AdsWorld::TestOptions();
  o.size.min_size = 100;
  o.size.margin = 0;
  o.size.noise_scale = 0;  // the shown size is the count itself
  o.size_budget_per_day = 5;
  AdsWorld w(o);
  std::vector<std::string> phones;
  std::vector<social::UserId> users = w.AddLinkedUsers(251, &phones);
  auto adv = w.NewAdvertiser();
  auto aud = w.NewAudience(adv);
  ASSERT_TRUE(w.UploadAll(adv, aud, SessionKind::kAdd, phones).ok());
  w.ads->RunPending();
  auto before = w.ads->GetAudience(adv, aud);
  ASSERT_TRUE(before.ok() && before->size);
  EXPECT_EQ(before->size->text, "250 to 260");
  EXPECT_EQ(before->version, 1);
  CampaignSpec spec;
  spec.name = "c";
  spec.creative = {"Hi", "Buy", "https://shop.example"};
  spec.impression_budget = 1000;
  spec.include_audiences = {aud};
  ASSERT_TRUE(w.ads->CreateCampaign(adv, spec).ok());
  const int looks_left = w.ads->Budget(adv)->size_queries;
  EXPECT_EQ(looks_left, 4);

  w.Feed({Objection("m1", Purpose::kAds, true), Objection("m2", Purpose::kAds, true),
          Objection("m3", Purpose::kAds, true)});
  // Serving excludes the objectors at once, before any cleanup...
  EXPECT_TRUE(w.ads->ServeAds(users[0])->empty());
  EXPECT_EQ(w.ads->ServeAds(users[10])->size(), 1u);
  w.ads->RunPending();
  EXPECT_EQ(w.Members(aud).size(), 248u);
  EXPECT_TRUE(w.ads->ServeAds(users[1])->empty());
  // ... but the version's size does not move, however often one looks, and
  // the looks stay free.
  for (int i = 0; i < 5; ++i) {
    auto again = w.ads->GetAudience(adv, aud);
    ASSERT_TRUE(again.ok() && again->size);
    EXPECT_EQ(again->version, 1);
    EXPECT_EQ(again->size->text, "250 to 260");
    EXPECT_EQ(again->size->lower, before->size->lower);
  }
  EXPECT_EQ(w.ads->Budget(adv)->size_queries, looks_left);
  // A new version (an upload) shows the change, for one look.
  ASSERT_TRUE(w.UploadAll(adv, aud, SessionKind::kAdd, {TestPhone(9000)}).ok());
  w.ads->RunPending();
  auto after = w.ads->GetAudience(adv, aud);
  ASSERT_TRUE(after.ok() && after->size);
  EXPECT_EQ(after->version, 2);
  EXPECT_EQ(after->size->text, "240 to 250");
  EXPECT_EQ(w.ads->Budget(adv)->size_queries, looks_left - 1);
}

// States are stored as text and read back as enums: text the store does not
// know is reported, never shown as some other state.
TEST(AdsStoreTest, AnUnknownStoredStateIsDataLoss) {
  AdsWorld w;
  auto adv = w.NewAdvertiser();
  auto aud = w.NewAudience(adv);
  UploadRequest r;
  r.session_id = "s";
  r.batch_seq = 1;
  r.rows = {HashHex(TestPhone(1))};
  ASSERT_TRUE(w.ads->Upload(adv, aud, SessionKind::kAdd, r).ok());
  auto listed = w.ads->ListAudiences(adv);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ((*listed)[0].status, AudienceStatus::kUploading);
  ASSERT_TRUE(w.social.db->DatabaseForTesting().Execute("UPDATE ads_sessions SET state = 'paused'").ok());
  EXPECT_TRUE(absl::IsDataLoss(w.ads->ListAudiences(adv).status()));
}

}  // namespace
}  // namespace tandem::ads
