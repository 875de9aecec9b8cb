// Unit tests of the ads platform: tokens, upload validation (nothing stored
// on bad input), matching and its sources, sessions, objections, sizes and
// budgets, campaigns, serving and explanations.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "ads/match_index.h"
#include "ads/size_report.h"
#include "ads/test_util.h"
#include "ads/timeline_ads.h"

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

int64_t Count(AdsWorld& w, const std::string& table) {
  auto row = w.social.db->database_for_ads().QueryOne("SELECT COUNT(*) FROM " + table);
  return row.ok() ? row->Int(0) : -1;
}

TEST(MatchIndexTest, FindsEveryKeyAndNothingElse) {
  std::vector<MatchIndex::Entry> entries;
  SeededRandom r(7);
  for (uint32_t u = 1; u <= 50'000; ++u) entries.push_back({r.NextU64() | 1, u});
  MatchIndex index = MatchIndex::Build(entries);
  EXPECT_EQ(index.size(), entries.size());
  EXPECT_LE(index.memory_bytes(), entries.size() * 16);
  std::vector<uint64_t> keys;
  for (const auto& e : entries) keys.push_back(e.key);
  for (int i = 0; i < 1000; ++i) keys.push_back(r.NextU64() | 1);
  std::vector<uint32_t> out(keys.size());
  index.LookupBatch(keys, out);
  for (size_t i = 0; i < entries.size(); ++i) ASSERT_EQ(out[i], entries[i].user);
  for (size_t i = entries.size(); i < keys.size(); ++i) EXPECT_EQ(out[i], 0u);
  EXPECT_EQ(MatchIndex().Lookup(5), 0u);
}

TEST(SizeReportTest, TwoSignificantDigitsAndThreshold) {
  SizePolicy p;
  p.noise_scale = 0;
  p.margin = 0;
  EXPECT_EQ(ReportSize(99, 0, p).text, "too small to target");
  EXPECT_FALSE(ReportSize(99, 0, p).targetable);
  EXPECT_FALSE(ReportSize(99, 500, p).targetable);  // the true count rules
  EXPECT_EQ(ReportSize(100, 0, p).text, "100 to 110");
  EXPECT_EQ(ReportSize(1234, 0, p).text, "1,200 to 1,300");
  EXPECT_EQ(ReportSize(98765, 0, p).text, "98,000 to 99,000");
  p.margin = 80;
  EXPECT_FALSE(ReportSize(150, 0, p).targetable);
  EXPECT_TRUE(ReportSize(181, 0, p).targetable);
  // Noise is fixed per version and differs between versions.
  EXPECT_EQ(VersionNoise("k", 1, 2, 10), VersionNoise("k", 1, 2, 10));
  EXPECT_NE(VersionNoise("k", 1, 2, 10), VersionNoise("k", 1, 3, 10));
  double sum = 0, abs_sum = 0;
  for (int v = 0; v < 4000; ++v) {
    double n = VersionNoise("k", 9, v, 10);
    sum += n;
    abs_sum += std::fabs(n);
  }
  EXPECT_NEAR(sum / 4000, 0, 1.0);
  EXPECT_NEAR(abs_sum / 4000, 10, 1.0);  // E|Laplace(b)| = b
}

// The noise reaches the report: the same true size shows as different
// ranges across versions, and sizes that differ by one are reported alike
// about as often as each is reported at all.
TEST(SizeReportTest, ReportsCarryTheNoise) {
  SizePolicy p;  // the defaults: scale 10, margin 80, minimum 100
  std::map<std::string, int> seen_255, seen_256;
  int same = 0;
  for (int v = 1; v <= 400; ++v) {
    double noise = VersionNoise("k", 5, v, p.noise_scale);
    std::string a = ReportSize(255, noise, p).text, b = ReportSize(256, noise, p).text;
    ++seen_255[a];
    ++seen_256[b];
    same += a == b;
  }
  EXPECT_GE(seen_255.size(), 3u);  // without noise: one range, "250 to 260", every time
  EXPECT_LT(seen_255["250 to 260"], 300);
  EXPECT_GT(same, 340);  // one person rarely moves a noisy size across a boundary
  // A true size of 100 with noise often falls short of min_size + margin.
  int targetable = 0;
  for (int v = 1; v <= 400; ++v)
    targetable += ReportSize(185, VersionNoise("k", 6, v, p.noise_scale), p).targetable;
  EXPECT_GT(targetable, 100);
  EXPECT_LT(targetable, 390);
}

TEST(AdsServiceTest, AdvertiserTokensAreStoredOnlyAsHashes) {
  AdsWorld w;
  auto a = w.ads->CreateAdvertiser("Acme");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->token.size(), 64u);
  EXPECT_EQ(*w.ads->Authenticate(a->token), a->id);
  EXPECT_TRUE(absl::IsUnauthenticated(w.ads->Authenticate("nope").status()));
  EXPECT_TRUE(absl::IsUnauthenticated(w.ads->Authenticate("").status()));
  auto rows = w.social.db->database_for_ads().Query("SELECT token_hash FROM ads_tokens");
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
    EXPECT_EQ(Count(w, table), 0) << table;
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
  EXPECT_EQ(res->session_state, "matching");
  w.ads->RunPending();
  EXPECT_THAT(w.Members(aud), ::testing::ElementsAre(Membership{aud, discoverable, kViaSocial},
                                                     Membership{aud, linked, kViaMessenger},
                                                     Membership{aud, both, kViaSocial | kViaMessenger}));
  (void)hidden;
  (void)objector;
  auto a = w.ads->GetAudience(adv, aud);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->status, "ready");
  ASSERT_EQ(a->sessions.size(), 1u);
  EXPECT_EQ(a->sessions[0].state, "applied");
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
  EXPECT_EQ(a->status, "matching");
  w.ads->RunPending();
  EXPECT_EQ(w.Members(aud).size(), 3u);

  ASSERT_TRUE(w.ads->DeleteAudience(adv, aud).ok());
  EXPECT_EQ(Count(w, "ads_memberships"), 0);
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
  auto start = std::chrono::steady_clock::now();
  w.Feed({Objection("m1", Purpose::kAds, true), Objection("m2", Purpose::kAds, true), Deleted("m3")});
  while (w.Members(aud).size() != 1) {
    ASSERT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(60)) << "not reconciled";
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  auto elapsed = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  RecordProperty("objection_to_removal_ms", std::to_string(elapsed));
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

// The timeline's ad source is AdsService's serving and explanations, field
// for field: each ad it returns is an impression, and only its viewer may
// have it explained.
TEST(AdsServiceTest, TheTimelineAdSourceServesAndExplains) {
  AdsWorld w;
  std::vector<social::UserId> u;
  for (int i = 1; i <= 4; ++i) u.push_back(w.social.AddUser(TestPhone(i)));
  w.Feed({Linked("m1", TestPhone(1)), Linked("m2", TestPhone(2)), Linked("m3", TestPhone(3))});
  auto adv = w.NewAdvertiser("Corner Shop");
  auto customers = w.NewAudience(adv, "Loyalty members");
  ASSERT_TRUE(
      w.UploadAll(adv, customers, SessionKind::kAdd, {TestPhone(1), TestPhone(2), TestPhone(3)}).ok());
  w.ads->RunPending();
  CampaignSpec spec;
  spec.name = "spring";
  spec.creative = {"Spring sale", "Everything half price", "https://shop.example/spring"};
  spec.include_audiences = {customers};
  spec.impression_budget = 10;
  auto c = w.ads->CreateCampaign(adv, spec);
  ASSERT_TRUE(c.ok()) << c.status();

  TimelineAds source(*w.ads);
  auto ads = source.AdsFor(u[0]);
  ASSERT_TRUE(ads.ok()) << ads.status();
  ASSERT_EQ(ads->size(), 1u);
  const social::TimelineAd& ad = (*ads)[0];
  EXPECT_GT(ad.impression_id, 0);
  EXPECT_EQ(ad.campaign_id, c->id);
  EXPECT_EQ(ad.advertiser, "Corner Shop");
  EXPECT_EQ(ad.title, "Spring sale");
  EXPECT_EQ(ad.text, "Everything half price");
  EXPECT_EQ(ad.link, "https://shop.example/spring");
  EXPECT_EQ(w.ads->GetCampaign(adv, c->id)->impressions, 1);
  EXPECT_TRUE(source.AdsFor(u[3])->empty());  // not on the list

  auto why = source.Explain(u[0], ad.impression_id);
  ASSERT_TRUE(why.ok()) << why.status();
  auto direct = w.ads->Why(u[0], ad.impression_id);
  ASSERT_TRUE(direct.ok());
  EXPECT_EQ(why->impression_id, ad.impression_id);
  EXPECT_EQ(why->advertiser, direct->advertiser);
  EXPECT_EQ(why->campaign, "spring");
  EXPECT_EQ(why->audience, "Loyalty members");
  EXPECT_EQ(why->data_sources, direct->data_sources);
  EXPECT_EQ(why->segment, direct->segment);
  EXPECT_EQ(why->text, direct->text);
  EXPECT_TRUE(absl::IsNotFound(source.Explain(u[1], ad.impression_id).status()));
}

TEST(AdsServiceTest, ServingCapsExclusionsSegmentsAndExplanations) {
  AdsWorld w;
  std::vector<social::UserId> u;
  for (int i = 1; i <= 4; ++i) u.push_back(w.social.AddUser(TestPhone(i)));
  ASSERT_TRUE(w.social.service->UpdateProfile(u[0], std::nullopt, true).ok());
  w.Feed({Linked("m2", TestPhone(2)), Usage("m2", 20), Linked("m3", TestPhone(3)), Usage("m3", 2),
          Linked("m4", TestPhone(4)), Usage("m4", 25)});
  auto adv = w.NewAdvertiser("Corner Shop");
  auto customers = w.NewAudience(adv, "Loyalty members");
  auto unsubscribed = w.NewAudience(adv, "Unsubscribed");
  ASSERT_TRUE(
      w.UploadAll(adv, customers, SessionKind::kAdd, {TestPhone(1), TestPhone(2), TestPhone(3)}).ok());
  ASSERT_TRUE(w.UploadAll(adv, unsubscribed, SessionKind::kAdd, {TestPhone(3), TestPhone(4)}).ok());
  w.ads->RunPending();

  CampaignSpec spec;
  spec.name = "spring";
  spec.creative = {"Spring sale", "Everything half price", "https://shop.example/spring"};
  spec.include_audiences = {customers};
  spec.exclude_audiences = {unsubscribed};
  spec.impression_budget = 3;
  spec.frequency_cap_per_day = 1;
  auto c = w.ads->CreateCampaign(adv, spec);
  ASSERT_TRUE(c.ok()) << c.status();
  CampaignSpec active;
  active.name = "active";
  active.creative = {"Chat with us", "We answer on the messenger", "https://shop.example/chat"};
  active.segments = {"active_messenger_users"};
  active.impression_budget = 100;
  active.frequency_cap_per_day = 2;
  auto c2 = w.ads->CreateCampaign(adv, active);
  ASSERT_TRUE(c2.ok()) << c2.status();

  auto ads1 = w.ads->ServeAds(u[1]);  // customer via messenger, active
  ASSERT_TRUE(ads1.ok());
  ASSERT_EQ(ads1->size(), 2u);
  EXPECT_EQ((*ads1)[0].campaign_id, c->id);
  EXPECT_EQ((*ads1)[0].advertiser, "Corner Shop");
  auto why = w.ads->Why(u[1], (*ads1)[0].impression_id);
  ASSERT_TRUE(why.ok());
  EXPECT_EQ(why->audience, "Loyalty members");
  EXPECT_THAT(why->data_sources, ::testing::ElementsAre("messenger"));
  EXPECT_THAT(why->text, HasSubstr("the messenger you use with this number shares it with us"));
  EXPECT_THAT(why->text, HasSubstr(TestPhone(2)));
  auto why2 = w.ads->Why(u[1], (*ads1)[1].impression_id);
  EXPECT_THAT(why2->text, HasSubstr("active on it"));
  // Someone else cannot read this explanation.
  EXPECT_TRUE(absl::IsNotFound(w.ads->Why(u[0], (*ads1)[0].impression_id).status()));

  // Frequency cap: the spring ad once a day, the active one twice.
  auto again = w.ads->ServeAds(u[1]);
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ((*again)[0].campaign_id, c2->id);
  EXPECT_TRUE(w.ads->ServeAds(u[1])->empty());
  // u[2] is excluded (unsubscribed) and not active enough; u[3] excluded
  // from spring but active.
  EXPECT_TRUE(w.ads->ServeAds(u[2])->empty());
  auto u3 = w.ads->ServeAds(u[3]);
  ASSERT_EQ(u3->size(), 1u);
  EXPECT_EQ((*u3)[0].campaign_id, c2->id);
  // u[0] matched through the social profile.
  auto u0 = w.ads->ServeAds(u[0]);
  ASSERT_EQ(u0->size(), 1u);
  EXPECT_THAT(w.ads->Why(u[0], (*u0)[0].impression_id)->text,
              HasSubstr("you let people find you by this number"));
  // The impression budget of 3: two used; the next day one more, then done.
  w.social.clock.Advance(absl::Hours(24));
  EXPECT_EQ(w.ads->ServeAds(u[1])->size(), 2u);
  EXPECT_EQ(w.ads->GetCampaign(adv, c->id)->status, "completed");
  EXPECT_EQ(w.ads->ServeAds(u[0])->size(), 0u);

  // An objection is honoured at serving time at once, before any cleanup.
  w.social.clock.Advance(absl::Hours(24));
  w.Feed({Objection("m4", Purpose::kAds, true)});
  EXPECT_TRUE(w.ads->ServeAds(u[3])->empty());
}

// The window between an objection and the worker's cleanup: the membership
// row still exists, yet serving must not use it.
TEST(AdsServiceTest, AnObjectionStopsAudienceAdsBeforeTheCleanupRuns) {
  AdsWorld w;
  std::vector<std::string> phones;
  std::vector<social::UserId> u = w.AddLinkedUsers(3, &phones);
  auto adv = w.NewAdvertiser();
  auto customers = w.NewAudience(adv);
  ASSERT_TRUE(w.UploadAll(adv, customers, SessionKind::kAdd, phones).ok());
  w.ads->RunPending();
  CampaignSpec spec;
  spec.name = "c";
  spec.creative = {"Title", "Body", "https://shop.example/"};
  spec.include_audiences = {customers};
  spec.impression_budget = 100;
  spec.frequency_cap_per_day = 10;
  ASSERT_TRUE(w.ads->CreateCampaign(adv, spec).ok());
  ASSERT_EQ(w.ads->ServeAds(u[0])->size(), 1u);  // matched through the messenger only

  w.Feed({Objection("m1", Purpose::kAds, true)});  // no RunPending: the cleanup has not run
  ASSERT_EQ(w.ads->Memberships(customers)->size(), 3u) << "the window this test is about is gone";
  EXPECT_TRUE(w.ads->ServeAds(u[0])->empty());
  EXPECT_EQ(w.ads->ServeAds(u[1])->size(), 1u);  // others still are
  w.ads->RunPending();
  EXPECT_EQ(w.ads->Memberships(customers)->size(), 2u);
  EXPECT_TRUE(w.ads->ServeAds(u[0])->empty());
}

// Deleting the messenger account removes every messenger fact, including
// what stored explanations of earlier ads say about them.
TEST(AdsServiceTest, DeletingTheMessengerAccountRewritesExplanations) {
  AdsWorld w;
  std::vector<std::string> phones;
  std::vector<social::UserId> u = w.AddLinkedUsers(3, &phones);
  w.Feed({Usage("m1", 20), Usage("m2", 20)});
  auto adv = w.NewAdvertiser("Corner Shop");
  auto customers = w.NewAudience(adv, "Loyalty members");
  ASSERT_TRUE(w.UploadAll(adv, customers, SessionKind::kAdd, phones).ok());
  w.ads->RunPending();
  CampaignSpec list;
  list.name = "list";
  list.creative = {"Title", "Body", "https://shop.example/"};
  list.include_audiences = {customers};
  list.impression_budget = 100;
  ASSERT_TRUE(w.ads->CreateCampaign(adv, list).ok());
  CampaignSpec active = list;
  active.name = "active";
  active.include_audiences = {};
  active.segments = {"active_messenger_users"};
  ASSERT_TRUE(w.ads->CreateCampaign(adv, active).ok());
  auto shown = w.ads->ServeAds(u[0]);
  ASSERT_EQ(shown->size(), 2u);
  auto other = w.ads->ServeAds(u[1]);
  ASSERT_EQ(other->size(), 2u);
  ASSERT_THAT(w.ads->Why(u[0], (*shown)[0].impression_id)->data_sources, ::testing::ElementsAre("messenger"));

  w.Feed({Deleted("m1")});
  w.ads->RunPending();
  for (const ServedAd& ad : *shown) {
    auto why = w.ads->Why(u[0], ad.impression_id);
    ASSERT_TRUE(why.ok()) << why.status();
    EXPECT_TRUE(why->data_sources.empty());
    EXPECT_TRUE(why->segment.empty());
    EXPECT_THAT(why->text, ::testing::Not(HasSubstr("messenger")));
    EXPECT_THAT(why->text, HasSubstr("deleted"));
  }
  EXPECT_EQ(w.social.db->database_for_ads()
                .QueryOne(absl::StrCat("SELECT COUNT(*) FROM ads_impressions WHERE user_id = ", u[0],
                                       " AND ((source & 2) != 0 OR segment != '')"))
                ->Int(0),
            0);
  // Someone who still has the account keeps the explanation as it was.
  EXPECT_THAT(w.ads->Why(u[1], (*other)[0].impression_id)->data_sources, ::testing::ElementsAre("messenger"));
  EXPECT_THAT(w.ads->Why(u[1], (*other)[1].impression_id)->text, HasSubstr("active on it"));
}

TEST(AdsServiceTest, CampaignValidation) {
  AdsWorld w;
  auto adv = w.NewAdvertiser();
  CampaignSpec s;
  s.name = "x";
  s.creative = {"t", "b", "ftp://x"};
  s.impression_budget = 1;
  s.segments = {"active_messenger_users"};
  EXPECT_TRUE(absl::IsInvalidArgument(w.ads->CreateCampaign(adv, s).status()));
  s.creative.link = "https://x.example";
  s.segments = {"rich_people"};
  EXPECT_TRUE(absl::IsInvalidArgument(w.ads->CreateCampaign(adv, s).status()));
  s.segments = {};
  EXPECT_TRUE(absl::IsInvalidArgument(w.ads->CreateCampaign(adv, s).status()));
  s.include_audiences = {77};
  EXPECT_TRUE(absl::IsNotFound(w.ads->CreateCampaign(adv, s).status()));
  s.include_audiences = {};
  s.segments = {"active_messenger_users"};
  s.impression_budget = 0;
  EXPECT_TRUE(absl::IsInvalidArgument(w.ads->CreateCampaign(adv, s).status()));
  s.impression_budget = 5;
  auto c = w.ads->CreateCampaign(adv, s);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(w.ads->SetCampaignStatus(adv, c->id, "paused")->status, "paused");
  EXPECT_TRUE(absl::IsInvalidArgument(w.ads->SetCampaignStatus(adv, c->id, "gone").status()));
  auto other = w.NewAdvertiser("o");
  EXPECT_TRUE(absl::IsNotFound(w.ads->GetCampaign(other, c->id).status()));
  ASSERT_TRUE(w.ads->DeleteCampaign(adv, c->id).ok());
  EXPECT_TRUE(w.ads->ListCampaigns(adv)->empty());
}

// Creatives and names are shown to other people: links must be real http(s)
// links, texts single lines without control characters. Nothing is stored
// when they are refused.
TEST(AdsServiceTest, CreativesAndNamesAreValidated) {
  AdsWorld w;
  auto adv = w.NewAdvertiser();
  CampaignSpec s;
  s.name = "spring";
  s.creative = {"Fresh rye", "Baked daily", "https://bakery.example/rye"};
  s.impression_budget = 1;
  s.segments = {"active_messenger_users"};
  auto expect_refused = [&](const CampaignSpec& spec, const std::string& field) {
    auto c = w.ads->CreateCampaign(adv, spec);
    EXPECT_TRUE(absl::IsInvalidArgument(c.status())) << field << ": " << c.status();
    EXPECT_THAT(std::string(c.status().message()), HasSubstr("'" + field + "'"));
  };
  for (std::string link : std::vector<std::string>{
           "https://bakery.example/\r\nSet-Cookie: a=b", "https://bakery.example/ rye",
           "https://bakery.example/\"onclick=\"x", "https://bakery.example/<script>",
           "https://bakery.example/'x'", "https://bakery.example/\x01", "https://bad host/",
           "https://localhost/", "https://bakery.example@evil.example/", "https://", "javascript:alert(1)",
           "https://bakery.example/" + std::string(2000, 'a')}) {
    CampaignSpec bad = s;
    bad.creative.link = link;
    expect_refused(bad, "link");
  }
  for (std::string text :
       std::vector<std::string>{"two\nlines", "carriage\rreturn", "bell\x07", "escape\x1b[2J", "tab\tbed",
                                "nel\u0085", "rlo\u202e", "bad\xffutf8"}) {
    CampaignSpec bad = s;
    bad.creative.title = text;
    expect_refused(bad, "title");
    bad = s;
    bad.creative.text = text;
    expect_refused(bad, "text");
    bad = s;
    bad.name = text;
    expect_refused(bad, "name");
    auto audience = w.ads->CreateAudience(adv, text, "");
    EXPECT_TRUE(absl::IsInvalidArgument(audience.status())) << audience.status();
    EXPECT_TRUE(absl::IsInvalidArgument(w.ads->CreateAdvertiser(text).status()));
  }
  EXPECT_THAT(std::string(w.ads->CreateAudience(adv, "ok", "a\rb").status().message()),
              HasSubstr("'description'"));
  EXPECT_TRUE(w.ads->ListCampaigns(adv)->empty());
  EXPECT_TRUE(w.ads->ListAudiences(adv)->empty());
  EXPECT_EQ(Count(w, "ads_advertisers"), 1);
  // What people do write passes.
  s.creative.title = "Pain de seigle \u00e0 l'ancienne";
  s.creative.text = "\"Best rye in town\" <since 1921> \u2013 50% off";
  s.creative.link = "https://bakery.example:8443/rye?utm_source=tandem&x=%20#top";
  EXPECT_TRUE(w.ads->CreateCampaign(adv, s).ok());
  EXPECT_TRUE(w.ads->CreateAudience(adv, "Loyalty card holders", "Two lines\nof notes").ok());
}

// Two advertisers create campaigns at the same time, on many threads; each
// id returned must name the campaign its caller just created.
TEST(AdsServiceTest, ConcurrentCampaignCreationReturnsTheCallersOwnIds) {
  AdsWorld w;
  const AdvertiserId advertisers[2] = {w.NewAdvertiser("A"), w.NewAdvertiser("B")};
  constexpr int kThreads = 8, kPerThread = 1000;
  std::atomic<int> failed{0}, wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const AdvertiserId adv = advertisers[t % 2];
      for (int i = 0; i < kPerThread; ++i) {
        CampaignSpec spec;
        spec.name = "t" + std::to_string(t) + "-" + std::to_string(i);
        spec.creative = {"Hi", "Buy", "https://shop.example"};
        spec.segments = {"active_messenger_users"};
        spec.impression_budget = 1;
        auto c = w.ads->CreateCampaign(adv, spec);
        if (!c.ok()) {
          ++failed;
          continue;
        }
        auto mine = w.ads->GetCampaign(adv, c->id);
        if (!mine.ok() || mine->spec.name != spec.name) ++wrong;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(wrong.load(), 0) << "campaign ids returned to the wrong caller";
  EXPECT_EQ(w.ads->ListCampaigns(advertisers[0])->size() + w.ads->ListCampaigns(advertisers[1])->size(),
            size_t{kThreads * kPerThread});
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

// Serving stops at once when objections take an audience below the
// minimum, even though the version's size report still shows it above.
TEST(AdsServiceTest, ServingStopsWhenObjectionsTakeAnAudienceBelowTheMinimum) {
  AdsOptions o = AdsWorld::TestOptions();
  o.size.min_size = 100;
  o.size.margin = 0;
  o.size.noise_scale = 0;
  AdsWorld w(o);
  std::vector<std::string> phones;
  std::vector<social::UserId> users = w.AddLinkedUsers(100, &phones);
  auto adv = w.NewAdvertiser();
  auto aud = w.NewAudience(adv);
  ASSERT_TRUE(w.UploadAll(adv, aud, SessionKind::kAdd, phones).ok());
  w.ads->RunPending();
  CampaignSpec spec;
  spec.name = "c";
  spec.creative = {"Hi", "Buy", "https://shop.example"};
  spec.impression_budget = 1000;
  spec.include_audiences = {aud};
  ASSERT_TRUE(w.ads->CreateCampaign(adv, spec).ok());
  EXPECT_EQ(w.ads->ServeAds(users[5])->size(), 1u);
  w.Feed({Objection("m1", Purpose::kAds, true)});
  w.ads->RunPending();
  EXPECT_EQ(w.ads->GetAudience(adv, aud)->size->text, "100 to 110");
  EXPECT_TRUE(w.ads->ServeAds(users[6])->empty());
}

// The word-at-a-time decoder must agree with the plain definition for every
// byte value in every position.
TEST(DecodeHashTest, AgreesWithThePlainDefinition) {
  auto reference = [](std::string_view s, phone::Digest* out) {
    if (s.size() != 64) return false;
    auto nibble = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    for (size_t i = 0; i < 32; ++i) {
      int hi = nibble(s[2 * i]), lo = nibble(s[2 * i + 1]);
      if (hi < 0 || lo < 0) return false;
      (*out)[i] = static_cast<uint8_t>(hi << 4 | lo);
    }
    return true;
  };
  SeededRandom random(9);
  const std::string kHex = "0123456789abcdef";
  for (int round = 0; round < 50; ++round) {
    std::string s(64, '0');
    for (char& c : s) c = kHex[random.Uniform(16)];
    phone::Digest want{}, got{};
    ASSERT_TRUE(reference(s, &want));
    ASSERT_TRUE(DecodeLowerHexSha256(s, &got));
    ASSERT_EQ(got, want) << s;
    ASSERT_TRUE(DecodeLowerHexSha256Portable(s, &got));
    ASSERT_EQ(got, want) << s;
    // Every byte value at a rotating position: accepted exactly when the
    // definition accepts it, with the same digest.
    const size_t pos = static_cast<size_t>(round) % 64;
    for (int b = 0; b < 256; ++b) {
      std::string t = s;
      t[pos] = static_cast<char>(b);
      phone::Digest r{}, g{};
      bool ok_ref = reference(t, &r);
      bool ok = DecodeLowerHexSha256(t, &g);
      ASSERT_EQ(ok, ok_ref) << "byte " << b << " at " << pos;
      if (ok) {
        ASSERT_EQ(g, r);
      }
      phone::Digest p{};
      ASSERT_EQ(DecodeLowerHexSha256Portable(t, &p), ok_ref) << "portable: byte " << b << " at " << pos;
      if (ok_ref) {
        ASSERT_EQ(p, r);
      }
    }
  }
  phone::Digest d{};
  EXPECT_FALSE(DecodeLowerHexSha256(std::string(63, 'a'), &d));
  EXPECT_FALSE(DecodeLowerHexSha256(std::string(64, 'A'), &d));
  EXPECT_FALSE(DecodeLowerHexSha256Portable(std::string(64, 'A'), &d));
}

}  // namespace
}  // namespace tandem::ads
