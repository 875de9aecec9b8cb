// Non-interference of objections (DESIGN.md section 4): for random worlds of
// users, friendships, blocks, dismissals, address books, discoverability,
// messenger links, usage and objections, every user's friend suggestions
// equal those computed in the same world with the objectors' messenger
// facts deleted.
#include <gtest/gtest.h>

#include <cstdio>
#include <set>

#include "social/suggestions.h"
#include "social/test_util.h"

namespace tandem::social {
namespace {

using testing::TestPhone;
using testing::World;

struct Recipe {
  int users = 0;
  std::vector<std::pair<int, int>> friendships, blocks, dismissals;
  std::vector<int> discoverable;
  std::vector<std::pair<int, std::vector<std::string>>> books;
  std::vector<FeedEvent> feed;  // numbered
};

Recipe RandomRecipe(uint64_t seed) {
  SeededRandom r(seed);
  Recipe w;
  w.users = 3 + static_cast<int>(r.Uniform(20));
  const int phones = w.users + 1 + static_cast<int>(r.Uniform(8));  // some numbers belong to nobody
  auto pick = [&](int n) { return 1 + static_cast<int>(r.Uniform(n)); };
  const int density = 5 + static_cast<int>(r.Uniform(30));
  for (int a = 1; a <= w.users; ++a) {
    for (int b = a + 1; b <= w.users; ++b) {
      if (static_cast<int>(r.Uniform(100)) < density) w.friendships.emplace_back(a, b);
    }
    if (r.Uniform(5) == 0) w.discoverable.push_back(a);
    if (r.Uniform(2) == 0) {
      std::vector<std::string> book;
      int n = static_cast<int>(r.Uniform(6));
      for (int i = 0; i < n; ++i) book.push_back(TestPhone(pick(phones)));
      w.books.emplace_back(a, std::move(book));
    }
  }
  for (int i = static_cast<int>(r.Uniform(3)); i > 0; --i)
    w.blocks.emplace_back(pick(w.users), pick(w.users));
  for (int i = static_cast<int>(r.Uniform(3)); i > 0; --i)
    w.dismissals.emplace_back(pick(w.users), pick(w.users));
  // Messenger accounts: most on users' numbers, some on numbers shared by
  // two accounts, some on numbers no social user has.
  int accounts = static_cast<int>(r.Uniform(static_cast<uint64_t>(phones) + 4));
  int64_t seq = 0;
  auto push = [&](FeedEvent e) {
    e.seq = ++seq;
    w.feed.push_back(std::move(e));
  };
  for (int m = 1; m <= accounts; ++m) {
    std::string id = "m" + std::to_string(m);
    push(testing::Linked(id, TestPhone(pick(phones))));
    if (r.Uniform(3) != 0) push(testing::Usage(id, static_cast<int>(r.Uniform(29))));
  }
  for (int i = static_cast<int>(r.Uniform(3 * static_cast<uint64_t>(accounts) + 1)); i > 0 && accounts > 0;
       --i) {
    std::string id = "m" + std::to_string(pick(accounts));
    switch (r.Uniform(6)) {
      case 0:
      case 1:
      case 2:
        push(testing::Objection(id, r.Uniform(3) ? Purpose::kFriendSuggestions : Purpose::kAds,
                                r.Uniform(3) != 0));
        break;
      case 3:
        push(testing::Usage(id, static_cast<int>(r.Uniform(29))));
        break;
      case 4:
        push(testing::Linked(id, TestPhone(pick(phones))));  // re-linked to another number
        break;
      default:
        if (r.Uniform(4) == 0) push(testing::Deleted(id));
        break;
    }
  }
  return w;
}

// Builds the world; `keep` filters feed events; `batch` splits the feed.
void Build(World& world, const Recipe& recipe, const std::function<bool(const FeedEvent&)>& keep,
           size_t batch) {
  for (int u = 1; u <= recipe.users; ++u) ASSERT_EQ(world.AddUser(TestPhone(u)), static_cast<UserId>(u));
  for (auto [a, b] : recipe.friendships) world.MakeFriends(a, b);
  for (int u : recipe.discoverable) ASSERT_TRUE(world.service->UpdateProfile(u, std::nullopt, true).ok());
  for (const auto& [u, book] : recipe.books)
    ASSERT_TRUE(world.service->ReplaceAddressBook(u, {"", book}).ok());
  for (auto [a, b] : recipe.blocks) (void)world.service->Block(a, b);
  for (auto [a, b] : recipe.dismissals) (void)world.service->Dismiss(a, b);
  std::vector<FeedEvent> events;
  for (const auto& e : recipe.feed) {
    if (keep(e)) events.push_back(e);
  }
  for (size_t i = 0; i < events.size(); i += batch) {
    std::vector<FeedEvent> part(events.begin() + static_cast<long>(i),
                                events.begin() + static_cast<long>(std::min(events.size(), i + batch)));
    world.Apply(part);
  }
}

std::vector<std::vector<Suggestion>> AllSuggestions(World& world, int users) {
  PurposeView v = world.db->View(Purpose::kFriendSuggestions);
  std::vector<std::vector<Suggestion>> out;
  for (int u = 1; u <= users; ++u) out.push_back(Suggest(v, static_cast<UserId>(u), kMaxSuggestions));
  return out;
}

// Accounts whose final friend_suggestions objection state is "objected"
// (and that were not deleted afterwards, which removes everything anyway).
std::set<std::string> Objectors(const Recipe& recipe) {
  std::set<std::string> objecting;
  for (const auto& e : recipe.feed) {
    if (e.type == FeedEventType::kObjectionChanged && e.purpose == Purpose::kFriendSuggestions) {
      if (e.objected) {
        objecting.insert(e.account_id);
      } else {
        objecting.erase(e.account_id);
      }
    } else if (e.type == FeedEventType::kAccountDeleted) {
      objecting.erase(e.account_id);
    }
  }
  return objecting;
}

TEST(NonInterference, SuggestionsIgnoreObjectorsMessengerFacts) {
  constexpr int kWorlds = 300;
  int worlds_with_objectors = 0, worlds_where_it_mattered = 0;
  for (int seed = 1; seed <= kWorlds; ++seed) {
    SCOPED_TRACE("world seed " + std::to_string(seed));
    Recipe recipe = RandomRecipe(static_cast<uint64_t>(seed));
    std::set<std::string> objectors = Objectors(recipe);
    if (!objectors.empty()) ++worlds_with_objectors;

    World actual;
    Build(
        actual, recipe, [](const FeedEvent&) { return true; }, 1 + static_cast<size_t>(seed % 7));
    // The same world with the objectors' messenger facts deleted (and thus
    // no objection left to enforce).
    World reference;
    Build(
        reference, recipe, [&](const FeedEvent& e) { return !objectors.count(e.account_id); }, 1000);
    auto got = AllSuggestions(actual, recipe.users);
    auto want = AllSuggestions(reference, recipe.users);
    for (int u = 0; u < recipe.users; ++u) ASSERT_EQ(got[u], want[u]) << "user " << u + 1;

    // The test has teeth: with the objections ignored, the objectors' facts
    // would change someone's suggestions in some worlds.
    World ignoring;
    Build(
        ignoring, recipe,
        [](const FeedEvent& e) {
          return !(e.type == FeedEventType::kObjectionChanged && e.purpose == Purpose::kFriendSuggestions);
        },
        1000);
    if (AllSuggestions(ignoring, recipe.users) != got) ++worlds_where_it_mattered;
  }
  RecordProperty("worlds_with_objectors", worlds_with_objectors);
  RecordProperty("worlds_where_objection_mattered", worlds_where_it_mattered);
  EXPECT_GT(worlds_with_objectors, kWorlds / 3);
  EXPECT_GT(worlds_where_it_mattered, kWorlds / 10);
}

// The index rebuilt from the database at start gives the same answers as
// the index kept current by the writes.
TEST(NonInterference, RebuiltIndexAgrees) {
  for (int seed = 1000; seed < 1030; ++seed) {
    SCOPED_TRACE("world seed " + std::to_string(seed));
    Recipe recipe = RandomRecipe(static_cast<uint64_t>(seed));
    std::string path = ::testing::TempDir() + "/social_rebuild_" + std::to_string(seed) + ".db";
    std::remove(path.c_str());
    std::vector<std::vector<Suggestion>> live;
    {
      World w(path);
      Build(
          w, recipe, [](const FeedEvent&) { return true; }, 5);
      live = AllSuggestions(w, recipe.users);
    }
    World reopened(path);
    EXPECT_EQ(AllSuggestions(reopened, recipe.users), live);
    std::remove(path.c_str());
  }
}

}  // namespace
}  // namespace tandem::social
