// HTTP handlers: parse, authenticate, call SocialService, the suggestion
// engine, posts or the ad source, render JSON.
#include "social/http_api.h"

#include <nlohmann/json.hpp>

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

// Wraps a handler that needs the caller's account.
net::Handler Authed(SocialService& service, std::function<absl::StatusOr<Response>(Request&, UserId)> fn) {
  return [&service, fn = std::move(fn)](Request& req) {
    auto me = service.Authenticate(req.BearerToken());
    if (!me.ok()) return Response::Error(me.status());
    auto res = fn(req, *me);
    if (!res.ok()) return Response::Error(res.status());
    return *std::move(res);
  };
}

net::Handler Plain(std::function<absl::StatusOr<Response>(Request&)> fn) {
  return [fn = std::move(fn)](Request& req) {
    auto res = fn(req);
    if (!res.ok()) return Response::Error(res.status());
    return *std::move(res);
  };
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

}  // namespace

void AddSocialRoutes(net::Router& router, SocialService& service) {
  SocialService* s = &service;

  router.Post("/v1/social/register", Plain([s](Request& req) -> absl::StatusOr<Response> {
                ASSIGN_OR_RETURN(json body, net::ParseJsonObject(req));
                ASSIGN_OR_RETURN(std::string phone, StringField(body, "phone", true));
                ASSIGN_OR_RETURN(std::string region, StringField(body, "region", false));
                RETURN_IF_ERROR(s->StartVerification(phone, region, req.remote_address));
                return Response::Json({{"status", "code_sent"}}, 202);
              }));

  router.Post("/v1/social/verify", Plain([s](Request& req) -> absl::StatusOr<Response> {
                ASSIGN_OR_RETURN(json body, net::ParseJsonObject(req));
                ASSIGN_OR_RETURN(std::string phone, StringField(body, "phone", true));
                ASSIGN_OR_RETURN(std::string region, StringField(body, "region", false));
                ASSIGN_OR_RETURN(std::string code, StringField(body, "code", true));
                ASSIGN_OR_RETURN(std::string name, StringField(body, "display_name", false));
                ASSIGN_OR_RETURN(Session session,
                                 s->CompleteVerification(phone, region, code, name, req.remote_address));
                return Response::Json(
                    {{"account_id", session.user}, {"token", session.token}, {"created", session.created}},
                    session.created ? 201 : 200);
              }));

  router.Get("/v1/social/me", Authed(service, [s](Request&, UserId me) -> absl::StatusOr<Response> {
               ASSIGN_OR_RETURN(Profile p, s->GetProfile(me, true));
               return Response::Json(ProfileJson(p, true));
             }));

  router.Put("/v1/social/me", Authed(service, [s](Request& req, UserId me) -> absl::StatusOr<Response> {
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
               ASSIGN_OR_RETURN(Profile p, s->UpdateProfile(me, name, discoverable));
               return Response::Json(ProfileJson(p, true));
             }));

  router.Get("/v1/social/me/facts", Authed(service, [s](Request& req, UserId me) -> absl::StatusOr<Response> {
               Purpose purpose;
               std::string name = req.QueryParam("purpose", "friend_suggestions");
               if (!ParsePurpose(name, &purpose)) {
                 return absl::InvalidArgumentError("purpose must be ads, friend_suggestions or security");
               }
               PurposeView view = s->db().View(purpose);
               json facts = json::array();
               for (const Fact& f : view.FactsAbout(me)) {
                 facts.push_back({{"kind", f.kind},
                                  {"value", f.value},
                                  {"provenance", std::string(ProvenanceName(f.provenance))}});
               }
               return Response::Json({{"purpose", name}, {"facts", facts}});
             }));

  router.Get("/v1/social/users/{id}", Authed(service, [s](Request& req, UserId) -> absl::StatusOr<Response> {
               ASSIGN_OR_RETURN(UserId id, ParseUserId(req.PathParam("id")));
               ASSIGN_OR_RETURN(Profile p, s->GetProfile(id, false));
               return Response::Json(ProfileJson(p, false));
             }));

  router.Get("/v1/social/friends", Authed(service, [s](Request&, UserId me) -> absl::StatusOr<Response> {
               ASSIGN_OR_RETURN(auto friends, s->ListFriends(me));
               return Response::Json({{"friends", ProfilesJson(friends)}});
             }));

  router.Delete("/v1/social/friends/{id}",
                Authed(service, [s](Request& req, UserId me) -> absl::StatusOr<Response> {
                  ASSIGN_OR_RETURN(UserId id, ParseUserId(req.PathParam("id")));
                  RETURN_IF_ERROR(s->RemoveFriend(me, id));
                  return Ok();
                }));

  router.Get("/v1/social/friend-requests",
             Authed(service, [s](Request&, UserId me) -> absl::StatusOr<Response> {
               ASSIGN_OR_RETURN(FriendRequests r, s->ListFriendRequests(me));
               return Response::Json(
                   {{"incoming", ProfilesJson(r.incoming)}, {"outgoing", ProfilesJson(r.outgoing)}});
             }));

  router.Post("/v1/social/friend-requests",
              Authed(service, [s](Request& req, UserId me) -> absl::StatusOr<Response> {
                ASSIGN_OR_RETURN(json body, net::ParseJsonObject(req));
                ASSIGN_OR_RETURN(UserId to, UserIdField(body, "to"));
                ASSIGN_OR_RETURN(std::string outcome, s->RequestFriend(me, to));
                return Response::Json({{"status", outcome}}, outcome == "friends" ? 200 : 201);
              }));

  router.Post("/v1/social/friend-requests/{id}/accept",
              Authed(service, [s](Request& req, UserId me) -> absl::StatusOr<Response> {
                ASSIGN_OR_RETURN(UserId id, ParseUserId(req.PathParam("id")));
                RETURN_IF_ERROR(s->AcceptFriend(me, id));
                return Response::Json({{"status", "friends"}});
              }));

  router.Post("/v1/social/friend-requests/{id}/decline",
              Authed(service, [s](Request& req, UserId me) -> absl::StatusOr<Response> {
                ASSIGN_OR_RETURN(UserId id, ParseUserId(req.PathParam("id")));
                RETURN_IF_ERROR(s->DeclineFriend(me, id));
                return Ok();
              }));

  router.Delete("/v1/social/friend-requests/{id}",
                Authed(service, [s](Request& req, UserId me) -> absl::StatusOr<Response> {
                  ASSIGN_OR_RETURN(UserId id, ParseUserId(req.PathParam("id")));
                  RETURN_IF_ERROR(s->CancelFriendRequest(me, id));
                  return Ok();
                }));

  router.Get("/v1/social/blocks", Authed(service, [s](Request&, UserId me) -> absl::StatusOr<Response> {
               ASSIGN_OR_RETURN(auto blocked, s->ListBlocked(me));
               return Response::Json({{"blocked", ProfilesJson(blocked)}});
             }));

  router.Put("/v1/social/blocks/{id}",
             Authed(service, [s](Request& req, UserId me) -> absl::StatusOr<Response> {
               ASSIGN_OR_RETURN(UserId id, ParseUserId(req.PathParam("id")));
               RETURN_IF_ERROR(s->Block(me, id));
               return Ok();
             }));

  router.Delete("/v1/social/blocks/{id}",
                Authed(service, [s](Request& req, UserId me) -> absl::StatusOr<Response> {
                  ASSIGN_OR_RETURN(UserId id, ParseUserId(req.PathParam("id")));
                  RETURN_IF_ERROR(s->Unblock(me, id));
                  return Ok();
                }));

  router.Put("/v1/social/address-book",
             Authed(service,
                    [s](Request& req, UserId me) -> absl::StatusOr<Response> {
                      ASSIGN_OR_RETURN(AddressBookUpload upload, ParseAddressBookUpload(req.body));
                      ASSIGN_OR_RETURN(AddressBookResult result, s->ReplaceAddressBook(me, upload));
                      json rejected = json::array();
                      for (const auto& r : result.rejected) {
                        rejected.push_back({{"index", r.index},
                                            {"input", upload.entries[r.index]},
                                            {"reason", r.reason},
                                            {"message", r.message}});
                      }
                      // Per row only whether it could be parsed: nothing about who uses the
                      // numbers (suggestions are the one place that shows that).
                      return Response::Json({{"stored", result.stored},
                                             {"rejected", rejected},
                                             {"budget_remaining", result.budget_remaining}});
                    }),
             net::Work::kHeavy);

  router.Get("/v1/social/address-book", Authed(service, [s](Request&, UserId me) -> absl::StatusOr<Response> {
               ASSIGN_OR_RETURN(auto phones, s->GetAddressBook(me));
               return Response::Json({{"entries", phones}});
             }));

  router.Delete("/v1/social/address-book",
                Authed(service, [s](Request&, UserId me) -> absl::StatusOr<Response> {
                  RETURN_IF_ERROR(s->DeleteAddressBook(me));
                  return Ok();
                }));

  router.Get("/v1/social/suggestions",
             Authed(service, [s](Request& req, UserId me) -> absl::StatusOr<Response> {
               int limit = 10;
               if (std::string l = req.QueryParam("limit"); !l.empty()) {
                 if (!absl::SimpleAtoi(l, &limit) || limit < 1 || limit > static_cast<int>(kMaxSuggestions)) {
                   return absl::InvalidArgumentError(absl::StrCat("limit must be 1..", kMaxSuggestions));
                 }
               }
               std::vector<Suggestion> suggestions;
               {
                 PurposeView view = s->db().View(Purpose::kFriendSuggestions);
                 suggestions = Suggest(view, me, static_cast<size_t>(limit));
               }
               json out = json::array();
               for (const Suggestion& sg : suggestions) {
                 json reasons = json::array();
                 if (sg.mutual_friends > 0)
                   reasons.push_back(absl::StrCat("mutual_friends:", sg.mutual_friends));
                 if (sg.in_your_contacts) reasons.push_back("in_your_contacts");
                 if (sg.has_your_number) reasons.push_back("has_your_number");
                 if (sg.messenger_active_days >= 0) reasons.push_back("active_on_messenger");
                 auto profile = s->GetProfile(sg.user, false);
                 out.push_back({{"account_id", sg.user},
                                {"display_name", profile.ok() ? profile->display_name : ""},
                                {"score", sg.score},
                                {"mutual_friends", sg.mutual_friends},
                                {"reasons", reasons}});
               }
               Response res = Response::Json({{"suggestions", out}});
               res.headers.emplace_back("Cache-Control", "no-store");
               return res;
             }));

  router.Post("/v1/social/suggestions/{id}/dismiss",
              Authed(service, [s](Request& req, UserId me) -> absl::StatusOr<Response> {
                ASSIGN_OR_RETURN(UserId id, ParseUserId(req.PathParam("id")));
                RETURN_IF_ERROR(s->Dismiss(me, id));
                return Ok();
              }));
}

void AddTimelineRoutes(net::Router& router, SocialService& service, Posts& posts, AdSource* const* ads) {
  router.Post("/v1/social/posts",
              Authed(service, [&posts](Request& req, UserId me) -> absl::StatusOr<Response> {
                ASSIGN_OR_RETURN(json body, net::ParseJsonObject(req));
                ASSIGN_OR_RETURN(std::string text, StringField(body, "text", true));
                ASSIGN_OR_RETURN(Post p, posts.Create(me, text));
                return Response::Json({{"id", p.id}, {"created_at", p.created_at}}, 201);
              }));

  router.Get("/v1/social/timeline",
             Authed(service, [&posts, ads](Request& req, UserId me) -> absl::StatusOr<Response> {
               int limit = 20;
               int64_t before = 0;
               if (std::string l = req.QueryParam("limit"); !l.empty() && !absl::SimpleAtoi(l, &limit)) {
                 return absl::InvalidArgumentError("limit must be a number");
               }
               if (std::string b = req.QueryParam("before"); !b.empty() && !absl::SimpleAtoi(b, &before)) {
                 return absl::InvalidArgumentError("before must be a post id");
               }
               ASSIGN_OR_RETURN(std::vector<Post> page, posts.Timeline(me, limit, before));
               std::vector<TimelineAd> served;
               if (AdSource* source = *ads) {
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
             }));

  router.Get("/v1/social/ads/{id}/why",
             Authed(service, [ads](Request& req, UserId me) -> absl::StatusOr<Response> {
               ASSIGN_OR_RETURN(int64_t id, ImpressionId(req));
               AdSource* source = *ads;
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
             }));
}

}  // namespace tandem::social
