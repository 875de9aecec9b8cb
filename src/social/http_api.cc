// HTTP handlers: parse, authenticate, call SocialService, the suggestion
// engine, posts or the ad source, render JSON.
#include "social/http_api.h"

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "social/suggestions.h"

namespace tandem::social {
namespace {

using net::StringField;

using net::Request;
using net::Response;
using nlohmann::json;

json ProfileJson(const Profile& p, bool own) {
  json j = {{"account_id", p.id}, {"display_name", p.display_name}};
  if (own) {
    j["phone"] = p.phone;
    j["discoverable_by_phone"] = p.discoverable_by_phone;
  }
  return j;
}

json ProfilesJson(const std::vector<Profile>& ps) {
  json a = json::array();
  for (const auto& p : ps) a.push_back(ProfileJson(p, false));
  return a;
}

absl::StatusOr<UserId> ParseUserId(std::string_view text) {
  uint32_t id;
  if (!absl::SimpleAtoi(std::string(text), &id) || id == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", std::string(text.substr(0, 32)), "' is not a user id"));
  }
  return id;
}

absl::StatusOr<UserId> UserIdField(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || !it->is_number_unsigned() || it->get<uint64_t>() == 0 ||
      it->get<uint64_t>() > UINT32_MAX) {
    return absl::InvalidArgumentError(absl::StrCat("field '", key, "' must be a user id"));
  }
  return static_cast<UserId>(it->get<uint64_t>());
}

Response Ok() { return Response::Json({{"status", "ok"}}); }

json AdJson(const TimelineAd& ad) {
  return {{"type", "ad"},
          {"impression_id", ad.impression_id},
          {"campaign_id", ad.campaign_id},
          {"advertiser", ad.advertiser},
          {"title", ad.title},
          {"text", ad.text},
          {"link", ad.link},
          {"why", absl::StrCat("/v1/social/ads/", ad.impression_id, "/why")}};
}

absl::StatusOr<int64_t> ImpressionId(const Request& req) {
  int64_t id;
  std::string text = req.PathParam("id");
  if (!absl::SimpleAtoi(text, &id) || id <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("'", text.substr(0, 32), "' is not an id"));
  }
  return id;
}

// What the handlers reach. Pointers, so that a handler is a plain function
// of (deps, request, caller) and the tables below stay data.
struct Deps {
  SocialService* service;
  Posts* posts;          // timeline routes only
  AdSource* const* ads;  // timeline routes only; *ads may be null
};

using PublicBody = absl::StatusOr<Response> (*)(const Deps&, Request&);
using Body = absl::StatusOr<Response> (*)(const Deps&, Request&, const UserId& me);

// ---- accounts ----

absl::StatusOr<Response> Register(const Deps& d, Request& req) {
  ASSIGN_OR_RETURN(json body, net::ParseJsonObject(req));
  ASSIGN_OR_RETURN(std::string phone, StringField(body, "phone", true));
  ASSIGN_OR_RETURN(std::string region, StringField(body, "region", false));
  RETURN_IF_ERROR(d.service->StartVerification(phone, region, req.remote_address));
  return Response::Json({{"status", "code_sent"}}, 202);
}

absl::StatusOr<Response> Verify(const Deps& d, Request& req) {
  ASSIGN_OR_RETURN(json body, net::ParseJsonObject(req));
  ASSIGN_OR_RETURN(std::string phone, StringField(body, "phone", true));
  ASSIGN_OR_RETURN(std::string region, StringField(body, "region", false));
  ASSIGN_OR_RETURN(std::string code, StringField(body, "code", true));
  ASSIGN_OR_RETURN(std::string name, StringField(body, "display_name", false));
  ASSIGN_OR_RETURN(Session session,
                   d.service->CompleteVerification(phone, region, code, name, req.remote_address));
  return Response::Json(
      {{"account_id", session.user}, {"token", session.token}, {"created", session.created}},
      session.created ? 201 : 200);
}

absl::StatusOr<Response> GetMe(const Deps& d, Request&, const UserId& me) {
  ASSIGN_OR_RETURN(Profile p, d.service->GetProfile(me, true));
  return Response::Json(ProfileJson(p, true));
}

absl::StatusOr<Response> PutMe(const Deps& d, Request& req, const UserId& me) {
  ASSIGN_OR_RETURN(json body, net::ParseJsonObject(req));
  std::optional<std::string> name;
  std::optional<bool> discoverable;
  if (body.contains("display_name")) {
    ASSIGN_OR_RETURN(name, StringField(body, "display_name", true));
  }
  if (auto it = body.find("discoverable_by_phone"); it != body.end()) {
    if (!it->is_boolean())
      return absl::InvalidArgumentError("field 'discoverable_by_phone' must be a boolean");
    discoverable = it->get<bool>();
  }
  ASSIGN_OR_RETURN(Profile p, d.service->UpdateProfile(me, name, discoverable));
  return Response::Json(ProfileJson(p, true));
}

absl::StatusOr<Response> GetMyFacts(const Deps& d, Request& req, const UserId& me) {
  std::string name = req.QueryParam("purpose", "friend_suggestions");
  ASSIGN_OR_RETURN(Purpose purpose, ParsePurpose(name));
  PurposeView view = d.service->db().View(purpose);
  json facts = json::array();
  for (const Fact& f : view.FactsAbout(me)) {
    facts.push_back(
        {{"kind", f.kind}, {"value", f.value}, {"provenance", std::string(ProvenanceName(f.provenance))}});
  }
  return Response::Json({{"purpose", name}, {"facts", facts}});
}

absl::StatusOr<Response> GetUser(const Deps& d, Request& req, const UserId&) {
  ASSIGN_OR_RETURN(UserId id, ParseUserId(req.PathParam("id")));
  ASSIGN_OR_RETURN(Profile p, d.service->GetProfile(id, false));
  return Response::Json(ProfileJson(p, false));
}

// ---- friends and blocks ----

absl::StatusOr<Response> GetFriends(const Deps& d, Request&, const UserId& me) {
  ASSIGN_OR_RETURN(auto friends, d.service->ListFriends(me));
  return Response::Json({{"friends", ProfilesJson(friends)}});
}

absl::StatusOr<Response> DeleteFriend(const Deps& d, Request& req, const UserId& me) {
  ASSIGN_OR_RETURN(UserId id, ParseUserId(req.PathParam("id")));
  RETURN_IF_ERROR(d.service->RemoveFriend(me, id));
  return Ok();
}

absl::StatusOr<Response> GetFriendRequests(const Deps& d, Request&, const UserId& me) {
  ASSIGN_OR_RETURN(FriendRequests r, d.service->ListFriendRequests(me));
  return Response::Json({{"incoming", ProfilesJson(r.incoming)}, {"outgoing", ProfilesJson(r.outgoing)}});
}

absl::StatusOr<Response> PostFriendRequest(const Deps& d, Request& req, const UserId& me) {
  ASSIGN_OR_RETURN(json body, net::ParseJsonObject(req));
  ASSIGN_OR_RETURN(UserId to, UserIdField(body, "to"));
  ASSIGN_OR_RETURN(FriendRequestOutcome outcome, d.service->RequestFriend(me, to));
  return Response::Json({{"status", std::string(FriendRequestOutcomeName(outcome))}},
                        outcome == FriendRequestOutcome::kFriends ? 200 : 201);
}

absl::StatusOr<Response> AcceptFriendRequest(const Deps& d, Request& req, const UserId& me) {
  ASSIGN_OR_RETURN(UserId id, ParseUserId(req.PathParam("id")));
  RETURN_IF_ERROR(d.service->AcceptFriend(me, id));
  return Response::Json({{"status", "friends"}});
}

absl::StatusOr<Response> DeclineFriendRequest(const Deps& d, Request& req, const UserId& me) {
  ASSIGN_OR_RETURN(UserId id, ParseUserId(req.PathParam("id")));
  RETURN_IF_ERROR(d.service->DeclineFriend(me, id));
  return Ok();
}

absl::StatusOr<Response> CancelFriendRequest(const Deps& d, Request& req, const UserId& me) {
  ASSIGN_OR_RETURN(UserId id, ParseUserId(req.PathParam("id")));
  RETURN_IF_ERROR(d.service->CancelFriendRequest(me, id));
  return Ok();
}

absl::StatusOr<Response> GetBlocks(const Deps& d, Request&, const UserId& me) {
  ASSIGN_OR_RETURN(auto blocked, d.service->ListBlocked(me));
  return Response::Json({{"blocked", ProfilesJson(blocked)}});
}

absl::StatusOr<Response> PutBlock(const Deps& d, Request& req, const UserId& me) {
  ASSIGN_OR_RETURN(UserId id, ParseUserId(req.PathParam("id")));
  RETURN_IF_ERROR(d.service->Block(me, id));
  return Ok();
}

absl::StatusOr<Response> DeleteBlock(const Deps& d, Request& req, const UserId& me) {
  ASSIGN_OR_RETURN(UserId id, ParseUserId(req.PathParam("id")));
  RETURN_IF_ERROR(d.service->Unblock(me, id));
  return Ok();
}

// ---- address book and suggestions ----

absl::StatusOr<Response> PutAddressBook(const Deps& d, Request& req, const UserId& me) {
  ASSIGN_OR_RETURN(AddressBookUpload upload, ParseAddressBookUpload(req.body));
  ASSIGN_OR_RETURN(AddressBookResult result, d.service->ReplaceAddressBook(me, upload));
  json rejected = json::array();
  for (const auto& r : result.rejected) {
    rejected.push_back({{"index", r.index},
                        {"input", upload.entries[r.index]},
                        {"reason", r.reason},
                        {"message", r.message}});
  }
  // Per row only whether it could be parsed: nothing about who uses the
  // numbers (suggestions are the one place that shows that).
  return Response::Json(
      {{"stored", result.stored}, {"rejected", rejected}, {"budget_remaining", result.budget_remaining}});
}

absl::StatusOr<Response> GetAddressBook(const Deps& d, Request&, const UserId& me) {
  ASSIGN_OR_RETURN(auto phones, d.service->GetAddressBook(me));
  return Response::Json({{"entries", phones}});
}

absl::StatusOr<Response> DeleteAddressBook(const Deps& d, Request&, const UserId& me) {
  RETURN_IF_ERROR(d.service->DeleteAddressBook(me));
  return Ok();
}

absl::StatusOr<Response> GetSuggestions(const Deps& d, Request& req, const UserId& me) {
  int limit = 10;
  if (std::string l = req.QueryParam("limit"); !l.empty()) {
    if (!absl::SimpleAtoi(l, &limit) || limit < 1 || limit > static_cast<int>(kMaxSuggestions)) {
      return absl::InvalidArgumentError(absl::StrCat("limit must be 1..", kMaxSuggestions));
    }
  }
  std::vector<Suggestion> suggestions;
  {
    PurposeView view = d.service->db().View(Purpose::kFriendSuggestions);
    suggestions = Suggest(view, me, static_cast<size_t>(limit));
  }
  json out = json::array();
  for (const Suggestion& sg : suggestions) {
    json reasons = json::array();
    if (sg.mutual_friends > 0) reasons.push_back(absl::StrCat("mutual_friends:", sg.mutual_friends));
    if (sg.in_your_contacts) reasons.push_back("in_your_contacts");
    if (sg.has_your_number) reasons.push_back("has_your_number");
    if (sg.messenger_active_days >= 0) reasons.push_back("active_on_messenger");
    auto profile = d.service->GetProfile(sg.user, false);
    out.push_back({{"account_id", sg.user},
                   {"display_name", profile.ok() ? profile->display_name : ""},
                   {"score", sg.score},
                   {"mutual_friends", sg.mutual_friends},
                   {"reasons", reasons}});
  }
  Response res = Response::Json({{"suggestions", out}});
  res.headers.emplace_back("Cache-Control", "no-store");
  return res;
}

absl::StatusOr<Response> DismissSuggestion(const Deps& d, Request& req, const UserId& me) {
  ASSIGN_OR_RETURN(UserId id, ParseUserId(req.PathParam("id")));
  RETURN_IF_ERROR(d.service->Dismiss(me, id));
  return Ok();
}

// ---- posts and the timeline ----

absl::StatusOr<Response> PostPost(const Deps& d, Request& req, const UserId& me) {
  ASSIGN_OR_RETURN(json body, net::ParseJsonObject(req));
  ASSIGN_OR_RETURN(std::string text, StringField(body, "text", true));
  ASSIGN_OR_RETURN(Post p, d.posts->Create(me, text));
  return Response::Json({{"id", p.id}, {"created_at", p.created_at}}, 201);
}

absl::StatusOr<Response> GetTimeline(const Deps& d, Request& req, const UserId& me) {
  int limit = 20;
  int64_t before = 0;
  if (std::string l = req.QueryParam("limit"); !l.empty() && !absl::SimpleAtoi(l, &limit)) {
    return absl::InvalidArgumentError("limit must be a number");
  }
  if (std::string b = req.QueryParam("before"); !b.empty() && !absl::SimpleAtoi(b, &before)) {
    return absl::InvalidArgumentError("before must be a post id");
  }
  ASSIGN_OR_RETURN(std::vector<Post> page, d.posts->Timeline(me, limit, before));
  std::vector<TimelineAd> served;
  if (AdSource* source = *d.ads) {
    ASSIGN_OR_RETURN(served, source->AdsFor(me));
  }
  json items = json::array();
  // One ad after every third post, the rest at the end: ads never crowd
  // out posts, and a short page still shows the ads it was served.
  size_t next_ad = 0;
  for (size_t i = 0; i < page.size(); ++i) {
    const Post& p = page[i];
    items.push_back({{"type", "post"},
                     {"id", p.id},
                     {"author_id", p.author},
                     {"author_name", p.author_name},
                     {"text", p.text},
                     {"created_at", p.created_at}});
    if ((i + 1) % 3 == 0 && next_ad < served.size()) items.push_back(AdJson(served[next_ad++]));
  }
  for (; next_ad < served.size(); ++next_ad) items.push_back(AdJson(served[next_ad]));
  return Response::Json({{"items", items}});
}

absl::StatusOr<Response> GetAdWhy(const Deps& d, Request& req, const UserId& me) {
  ASSIGN_OR_RETURN(int64_t id, ImpressionId(req));
  AdSource* source = *d.ads;
  // Without an ad platform no impression was ever shown.
  if (source == nullptr) return absl::NotFoundError(absl::StrCat("no impression ", id));
  ASSIGN_OR_RETURN(AdExplanation e, source->Explain(me, id));
  return Response::Json({{"impression_id", e.impression_id},
                         {"advertiser", e.advertiser},
                         {"campaign", e.campaign},
                         {"audience", e.audience},
                         {"data_sources", e.data_sources},
                         {"segment", e.segment},
                         {"text", e.text}});
}

// ---- the route tables ----

struct PublicRoute {
  const char* method;
  const char* pattern;
  PublicBody body;
};

struct Route {
  const char* method;
  const char* pattern;
  Body body;
  net::Work work = net::Work::kQuick;
};

constexpr PublicRoute kPublicRoutes[] = {
    {"POST", "/v1/social/register", &Register},
    {"POST", "/v1/social/verify", &Verify},
};

// Every route here needs "Authorization: Bearer <token>" of a session.
constexpr Route kSocialRoutes[] = {
    {"GET", "/v1/social/me", &GetMe},
    {"PUT", "/v1/social/me", &PutMe},
    {"GET", "/v1/social/me/facts", &GetMyFacts},
    {"GET", "/v1/social/users/{id}", &GetUser},
    {"GET", "/v1/social/friends", &GetFriends},
    {"DELETE", "/v1/social/friends/{id}", &DeleteFriend},
    {"GET", "/v1/social/friend-requests", &GetFriendRequests},
    {"POST", "/v1/social/friend-requests", &PostFriendRequest},
    {"POST", "/v1/social/friend-requests/{id}/accept", &AcceptFriendRequest},
    {"POST", "/v1/social/friend-requests/{id}/decline", &DeclineFriendRequest},
    {"DELETE", "/v1/social/friend-requests/{id}", &CancelFriendRequest},
    {"GET", "/v1/social/blocks", &GetBlocks},
    {"PUT", "/v1/social/blocks/{id}", &PutBlock},
    {"DELETE", "/v1/social/blocks/{id}", &DeleteBlock},
    // Parsing thousands of numbers is no work for an I/O thread.
    {"PUT", "/v1/social/address-book", &PutAddressBook, net::Work::kHeavy},
    {"GET", "/v1/social/address-book", &GetAddressBook},
    {"DELETE", "/v1/social/address-book", &DeleteAddressBook},
    {"GET", "/v1/social/suggestions", &GetSuggestions},
    {"POST", "/v1/social/suggestions/{id}/dismiss", &DismissSuggestion},
};

constexpr Route kTimelineRoutes[] = {
    {"POST", "/v1/social/posts", &PostPost},
    {"GET", "/v1/social/timeline", &GetTimeline},
    {"GET", "/v1/social/ads/{id}/why", &GetAdWhy},
};

void AddAuthenticated(net::Router& router, const Deps& deps, std::span<const Route> routes) {
  SocialService* service = deps.service;
  std::function<absl::StatusOr<UserId>(Request&)> authenticate = [service](Request& req) {
    return service->Authenticate(req.BearerToken());
  };
  for (const Route& route : routes) {
    router.Handle(route.method, route.pattern,
                  net::Authenticated<UserId>(authenticate,
                                             [deps, body = route.body](Request& req, const UserId& me) {
                                               return body(deps, req, me);
                                             }),
                  route.work);
  }
}

}  // namespace

void AddSocialRoutes(net::Router& router, SocialService& service) {
  const Deps deps{&service, nullptr, nullptr};
  for (const PublicRoute& route : kPublicRoutes) {
    router.Handle(route.method, route.pattern,
                  net::Checked([deps, body = route.body](Request& req) { return body(deps, req); }));
  }
  AddAuthenticated(router, deps, kSocialRoutes);
}

void AddTimelineRoutes(net::Router& router, SocialService& service, Posts& posts, AdSource* const* ads) {
  AddAuthenticated(router, Deps{&service, &posts, ads}, kTimelineRoutes);
}

}  // namespace tandem::social
