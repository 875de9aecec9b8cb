#include "social/suggestions.h"

#include <gtest/gtest.h>

#include "social/test_util.h"

namespace tandem::social {
namespace {

using testing::Deleted;
using testing::Linked;
using testing::Numbered;
using testing::Objection;
using testing::Usage;
using testing::World;

std::vector<UserId> Ids(World& w, UserId viewer) {
  PurposeView v = w.db->View(Purpose::kFriendSuggestions);
  std::vector<UserId> ids;
  for (const auto& s : Suggest(v, viewer, 10)) ids.push_back(s.user);
  return ids;
}

AddressBookUpload Book(std::vector<std::string> entries) { return {"", std::move(entries)}; }

TEST(Suggestions, RanksMutualFriendsAndExcludesFriends) {
  World w;
  UserId a = w.AddUser("+16502530001"), b = w.AddUser("+16502530002"), c = w.AddUser("+16502530003"),
         d = w.AddUser("+16502530004"), e = w.AddUser("+16502530005");
  w.MakeFriends(a, b);
  w.MakeFriends(a, c);
  w.MakeFriends(b, d);
  w.MakeFriends(c, d);
  w.MakeFriends(c, e);
  EXPECT_EQ(Ids(w, a), (std::vector<UserId>{d, e}));  // d: 2 mutual, e: 1
  PurposeView v = w.db->View(Purpose::kFriendSuggestions);
  auto s = Suggest(v, a, 10);
  EXPECT_EQ(s[0].mutual_friends, 2u);
  EXPECT_EQ(s[0].score, 2 * kScorePerMutualFriend);
}

TEST(Suggestions, BlockedAndDismissedAreExcluded) {
  World w;
  UserId a = w.AddUser("+16502530001"), b = w.AddUser("+16502530002"), c = w.AddUser("+16502530003"),
         d = w.AddUser("+16502530004");
  w.MakeFriends(a, b);
  w.MakeFriends(b, c);
  w.MakeFriends(b, d);
  EXPECT_EQ(Ids(w, a), (std::vector<UserId>{c, d}));
  ASSERT_TRUE(w.service->Block(c, a).ok());  // blocked by the candidate
  ASSERT_TRUE(w.service->Dismiss(a, d).ok());
  EXPECT_TRUE(Ids(w, a).empty());
  ASSERT_TRUE(w.service->Unblock(c, a).ok());
  EXPECT_EQ(Ids(w, a), (std::vector<UserId>{c}));
}

// The scenario: B registers on both networks with the same number;
// A has that number in an uploaded address book.
TEST(Suggestions, MessengerLinkMakesAContactFindableUntilObjection) {
  World w;
  UserId a = w.AddUser("+16502530001"), b = w.AddUser("+16502530002");
  ASSERT_TRUE(w.service->ReplaceAddressBook(a, Book({"+16502530002"})).ok());
  EXPECT_TRUE(Ids(w, a).empty());  // b is not discoverable by phone on the social network
  w.Apply(Numbered({Linked("m7", "+16502530002"), Usage("m7", 21)}));
  {
    PurposeView v = w.db->View(Purpose::kFriendSuggestions);
    auto s = Suggest(v, a, 10);
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s[0].user, b);
    EXPECT_TRUE(s[0].in_your_contacts);
    EXPECT_EQ(s[0].messenger_active_days, 21);
    EXPECT_EQ(s[0].score, kScoreInYourContacts + 21 / kMessengerActivityDivisor);
    // The other direction: a has b's number, and b is findable at it.
    auto back = Suggest(v, b, 10);
    ASSERT_EQ(back.size(), 1u);
    EXPECT_EQ(back[0].user, a);
    EXPECT_TRUE(back[0].has_your_number);
  }
  w.Apply(Numbered({Objection("m7", Purpose::kFriendSuggestions, true)}, 2));
  EXPECT_TRUE(Ids(w, a).empty());
  {
    PurposeView ads = w.db->View(Purpose::kAds);  // other purposes are unaffected
    EXPECT_TRUE(ads.MessengerLinked(b));
  }
  w.Apply(Numbered({Objection("m7", Purpose::kFriendSuggestions, false)}, 3));
  EXPECT_EQ(Ids(w, a), (std::vector<UserId>{b}));
  w.Apply(Numbered({Deleted("m7")}, 4));
  EXPECT_TRUE(Ids(w, a).empty());
  {
    PurposeView security = w.db->View(Purpose::kSecurity);
    EXPECT_FALSE(security.MessengerLinked(b));
    EXPECT_FALSE(security.Usage(b).has_value());
  }
  // Being discoverable on the social network is the user's own choice and
  // survives anything the messenger says.
  ASSERT_TRUE(w.service->UpdateProfile(b, std::nullopt, true).ok());
  EXPECT_EQ(Ids(w, a), (std::vector<UserId>{b}));
}

TEST(Suggestions, HasYourNumberDirection) {
  World w;
  UserId a = w.AddUser("+16502530001"), b = w.AddUser("+16502530002");
  ASSERT_TRUE(w.service->ReplaceAddressBook(b, Book({"+16502530001"})).ok());
  EXPECT_TRUE(Ids(w, a).empty());
  w.Apply(Numbered({Linked("ma", "+16502530001")}));
  PurposeView v = w.db->View(Purpose::kFriendSuggestions);
  auto s = Suggest(v, a, 10);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].user, b);
  EXPECT_TRUE(s[0].has_your_number);
  EXPECT_EQ(Suggest(v, b, 10)[0].user, a);  // and b sees a as a contact
}

TEST(Suggestions, TwoAccountsOnOneNumberObjectSeparately) {
  World w;
  UserId a = w.AddUser("+16502530001"), b = w.AddUser("+16502530002");
  ASSERT_TRUE(w.service->ReplaceAddressBook(a, Book({"+16502530002"})).ok());
  w.Apply(Numbered({Linked("old", "+16502530002"), Linked("new", "+16502530002"),
                    Objection("old", Purpose::kFriendSuggestions, true)}));
  EXPECT_EQ(Ids(w, a), (std::vector<UserId>{b}));
  w.Apply(Numbered({Objection("new", Purpose::kFriendSuggestions, true)}, 3));
  EXPECT_TRUE(Ids(w, a).empty());
}

TEST(Suggestions, UsageOnlyReordersAndLimitHolds) {
  World w;
  UserId a = w.AddUser("+16502530001");
  std::vector<UserId> others;
  std::vector<std::string> book;
  std::vector<FeedEvent> events;
  for (int i = 2; i <= 13; ++i) {
    std::string phone = "+165025300" + std::to_string(10 + i);
    others.push_back(w.AddUser(phone));
    book.push_back(phone);
    events.push_back(Linked("m" + std::to_string(i), phone));
    events.push_back(Usage("m" + std::to_string(i), i * 2));
  }
  ASSERT_TRUE(w.service->ReplaceAddressBook(a, Book(book)).ok());
  w.Apply(Numbered(events));
  PurposeView v = w.db->View(Purpose::kFriendSuggestions);
  auto s = Suggest(v, a, 3);
  ASSERT_EQ(s.size(), 3u);
  // The most active messenger users first (26, 24, 22 days -> +3 each; ties by id).
  EXPECT_EQ(s[0].user, others[9]);
  EXPECT_EQ(s[1].user, others[10]);
  EXPECT_EQ(s[2].user, others[11]);
  EXPECT_TRUE(Suggest(v, a, 0).empty());
}

// A viewer with more friends than kMaxFriendsWalked: mutual counts are
// estimated from an even sample, deterministic, and close to the truth.
TEST(Suggestions, ManyFriendsAreSampledAndCountsScaledBack) {
  World w;
  UserId viewer = w.AddUser("+16502530001");
  UserId everyone = w.AddUser("+16502530002");  // friend of all of viewer's friends
  UserId half = w.AddUser("+16502530003");      // friend of every other one
  const int kFriends = 200;
  for (int i = 0; i < kFriends; ++i) {
    UserId f = w.AddUser("+1650254" + std::to_string(1000 + i));
    w.MakeFriends(viewer, f);
    w.MakeFriends(everyone, f);
    if (i % 2 == 0) w.MakeFriends(half, f);
  }
  PurposeView v = w.db->View(Purpose::kFriendSuggestions);
  auto s = Suggest(v, viewer, 10);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].user, everyone);
  EXPECT_EQ(s[0].mutual_friends, static_cast<uint32_t>(kFriends));
  EXPECT_EQ(s[1].user, half);
  EXPECT_NEAR(static_cast<double>(s[1].mutual_friends), kFriends / 2.0, kFriends * 0.1);
  EXPECT_EQ(Suggest(v, viewer, 10), s);  // the same sample every time
}

}  // namespace
}  // namespace tandem::social
