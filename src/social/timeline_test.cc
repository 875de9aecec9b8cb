// The timeline over HTTP with a fake ad source: where ads go among posts,
// the exact fields of both items and of an explanation, and a timeline
// without an ad platform.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "social/ad_source.h"
#include "social/http_api.h"
#include "social/posts.h"
#include "social/test_util.h"

namespace tandem::social {
namespace {

using nlohmann::json;
using testing::TestPhone;
using testing::World;

class FakeAds : public AdSource {
 public:
  absl::StatusOr<std::vector<TimelineAd>> AdsFor(UserId viewer) override {
    viewers.push_back(viewer);
    std::vector<TimelineAd> out;
    for (int i = 0; i < ads; ++i) {
      int64_t id = ++last_impression;
      out.push_back({id, 100 + i, "Bakery", "Rye", "Baked daily", "https://bakery.example"});
      shown[id] = viewer;
    }
    return out;
  }
  absl::StatusOr<AdExplanation> Explain(UserId viewer, int64_t impression_id) override {
    auto it = shown.find(impression_id);
    if (it == shown.end() || it->second != viewer) return absl::NotFoundError("no impression");
    return AdExplanation{impression_id, "Bakery", "spring", "Regulars", {"messenger"}, "", "because"};
  }

  int ads = 0;
  int64_t last_impression = 0;
  std::map<int64_t, UserId> shown;
  std::vector<UserId> viewers;
};

class Timeline : public ::testing::Test {
 protected:
  Timeline() {
    auto posts = Posts::Create(*world_.db, world_.clock);
    if (!posts.ok()) abort();
    posts_ = std::move(*posts);
    AddTimelineRoutes(router_, *world_.service, *posts_, &ads_);
  }

  // A verified user and their session token.
  std::pair<UserId, std::string> SignIn(const std::string& e164, const std::string& name) {
    if (!world_.service->StartVerification(e164, "", testing::kTestAddress).ok()) abort();
    auto s = world_.service->CompleteVerification(e164, "", world_.sender.CodeFor(e164), name,
                                                  testing::kTestAddress);
    if (!s.ok()) abort();
    return {s->user, s->token};
  }

  net::Response Call(const std::string& method, const std::string& path, const std::string& query,
                     const json& body, const std::string& token) {
    net::Request req;
    req.method = method;
    req.path = path;
    req.query = query;
    req.target = query.empty() ? path : path + "?" + query;
    req.body = body.dump();
    req.remote_address = "198.51.100.1:9";
    req.headers.emplace_back("authorization", "Bearer " + token);
    net::Response error;
    std::string route;
    const net::Router::Route* r = router_.Match(req, &error, &route);
    return r ? r->handler(req) : error;
  }

  World world_;
  std::unique_ptr<Posts> posts_;
  AdSource* ads_ = nullptr;
  net::Router router_;
};

TEST_F(Timeline, OneAdAfterEveryThirdPostTheRestAtTheEnd) {
  auto [me, token] = SignIn(TestPhone(1), "Me");
  UserId friend_id = world_.AddUser(TestPhone(2), "Friend");
  UserId stranger = world_.AddUser(TestPhone(3), "Stranger");
  world_.MakeFriends(me, friend_id);
  for (int i = 0; i < 4; ++i) {
    net::Response r = Call("POST", "/v1/social/posts", "", {{"text", "mine " + std::to_string(i)}}, token);
    ASSERT_EQ(r.status, 201) << r.body;
    json j = json::parse(r.body);
    EXPECT_TRUE(j.contains("id") && j.contains("created_at")) << r.body;
  }
  ASSERT_TRUE(posts_->Create(friend_id, "from a friend").ok());
  ASSERT_TRUE(posts_->Create(stranger, "not a friend").ok());
  FakeAds fake;
  fake.ads = 3;
  ads_ = &fake;

  net::Response r = Call("GET", "/v1/social/timeline", "limit=4", json::object(), token);
  ASSERT_EQ(r.status, 200) << r.body;
  json items = json::parse(r.body)["items"];
  std::string kinds;
  for (const auto& item : items) kinds += item["type"] == "ad" ? 'A' : 'P';
  EXPECT_EQ(kinds, "PPPAPAA");
  EXPECT_EQ(items[0], json({{"type", "post"},
                            {"id", items[0]["id"]},
                            {"author_id", friend_id},
                            {"author_name", "Friend"},
                            {"text", "from a friend"},
                            {"created_at", items[0]["created_at"]}}));
  EXPECT_EQ(items[3], json({{"type", "ad"},
                            {"impression_id", 1},
                            {"campaign_id", 100},
                            {"advertiser", "Bakery"},
                            {"title", "Rye"},
                            {"text", "Baked daily"},
                            {"link", "https://bakery.example"},
                            {"why", "/v1/social/ads/1/why"}}));
  EXPECT_EQ(fake.viewers, std::vector<UserId>{me});
  EXPECT_EQ(r.body.find("not a friend"), std::string::npos);

  r = Call("GET", "/v1/social/ads/2/why", "", json::object(), token);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body), json({{"impression_id", 2},
                                       {"advertiser", "Bakery"},
                                       {"campaign", "spring"},
                                       {"audience", "Regulars"},
                                       {"data_sources", {"messenger"}},
                                       {"segment", ""},
                                       {"text", "because"}}));
  auto [other, other_token] = SignIn(TestPhone(4), "Other");
  EXPECT_EQ(Call("GET", "/v1/social/ads/2/why", "", json::object(), other_token).status, 404);
  EXPECT_EQ(Call("GET", "/v1/social/ads/x/why", "", json::object(), token).status, 400);
}

TEST_F(Timeline, WithoutAnAdSourceOnlyPosts) {
  auto [me, token] = SignIn(TestPhone(1), "Me");
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(posts_->Create(me, "post").ok());
  net::Response r = Call("GET", "/v1/social/timeline", "", json::object(), token);
  ASSERT_EQ(r.status, 200) << r.body;
  json items = json::parse(r.body)["items"];
  ASSERT_EQ(items.size(), 3u);
  for (const auto& item : items) EXPECT_EQ(item["type"], "post");
  EXPECT_EQ(Call("GET", "/v1/social/ads/1/why", "", json::object(), token).status, 404);
  EXPECT_EQ(Call("GET", "/v1/social/timeline", "limit=0", json::object(), token).status, 400);
  EXPECT_EQ(Call("GET", "/v1/social/timeline", "", json::object(), "wrong").status, 401);
}

}  // namespace
}  // namespace tandem::social
