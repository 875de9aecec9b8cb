// Tests of campaigns, serving and explanations: validation, frequency caps,
// exclusions, segments, objections at serving time and the timeline's ad
// source.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

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
  EXPECT_EQ(w.ads->GetCampaign(adv, c->id)->status, CampaignStatus::kCompleted);
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
  ASSERT_EQ(w.ads->MembershipsForTesting(customers)->size(), 3u) << "the window this test is about is gone";
  EXPECT_TRUE(w.ads->ServeAds(u[0])->empty());
  EXPECT_EQ(w.ads->ServeAds(u[1])->size(), 1u);  // others still are
  w.ads->RunPending();
  EXPECT_EQ(w.ads->MembershipsForTesting(customers)->size(), 2u);
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
  EXPECT_EQ(w.social.db->DatabaseForTesting()
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
  EXPECT_EQ(w.ads->SetCampaignStatus(adv, c->id, CampaignStatus::kPaused)->status, CampaignStatus::kPaused);
  EXPECT_TRUE(
      absl::IsInvalidArgument(w.ads->SetCampaignStatus(adv, c->id, CampaignStatus::kCompleted).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ParseSettableCampaignStatus("gone").status()));
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
  EXPECT_EQ(w.CountRows("ads_advertisers"), 1);
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

}  // namespace
}  // namespace tandem::ads
