// HTTP handlers: parse, authenticate, call AdsService, render JSON. Request
// bodies are never logged (they hold customer-list rows).
#include "ads/http_api.h"

#include <openssl/crypto.h>

#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace tandem::ads {
namespace {

using net::StringField;

using net::Request;
using net::Response;
using nlohmann::json;

absl::StatusOr<int64_t> IdParam(const Request& req, const char* name) {
  int64_t id;
  std::string text = req.PathParam(name);
  if (!absl::SimpleAtoi(text, &id) || id <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("'", text.substr(0, 32), "' is not an id"));
  }
  return id;
}

absl::StatusOr<std::vector<int64_t>> IdList(const json& body, const char* key) {
  std::vector<int64_t> ids;
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return ids;
  if (!it->is_array())
    return absl::InvalidArgumentError(absl::StrCat("field '", key, "' must be an array of ids"));
  for (const auto& v : *it) {
    if (!v.is_number_unsigned() || v.get<uint64_t>() == 0 || v.get<uint64_t>() > INT64_MAX) {
      return absl::InvalidArgumentError(absl::StrCat("field '", key, "' must be an array of ids"));
    }
    ids.push_back(static_cast<int64_t>(v.get<uint64_t>()));
  }
  return ids;
}

absl::StatusOr<int64_t> IntField(const json& body, const char* key, int64_t fallback) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return fallback;
  if (!it->is_number_integer())
    return absl::InvalidArgumentError(absl::StrCat("field '", key, "' must be an integer"));
  return it->get<int64_t>();
}

json SizeJson(const SizeReport& s) {
  json j = {{"range", s.text}, {"targetable", s.targetable}, {"threshold", s.threshold}};
  if (s.targetable) {
    j["lower_bound"] = s.lower;
    j["upper_bound"] = s.upper;
  }
  return j;
}

json AudienceJson(const Audience& a) {
  json sessions = json::array();
  for (const auto& s : a.sessions) {
    sessions.push_back({{"session_id", s.session_id},
                        {"kind", s.kind},
                        {"state", s.state},
                        {"batches", s.batches},
                        {"rows", s.rows},
                        {"invalid_rows", s.invalid_rows}});
  }
  json j = {{"id", a.id},         {"name", a.name},       {"description", a.description},
            {"status", a.status}, {"version", a.version}, {"sessions", sessions}};
  j["size"] = a.size ? SizeJson(*a.size) : json(nullptr);
  if (!a.size_note.empty()) j["size_note"] = a.size_note;
  return j;
}

json InvalidJson(const std::vector<InvalidRow>& rows) {
  json a = json::array();
  for (const auto& r : rows) a.push_back({{"index", r.index}, {"reason", r.reason}, {"message", r.message}});
  return a;
}

json CampaignJson(const Campaign& c) {
  return {
      {"id", c.id},
      {"name", c.spec.name},
      {"creative",
       {{"title", c.spec.creative.title}, {"text", c.spec.creative.text}, {"link", c.spec.creative.link}}},
      {"targeting",
       {{"include_audiences", c.spec.include_audiences},
        {"exclude_audiences", c.spec.exclude_audiences},
        {"segments", c.spec.segments}}},
      {"impression_budget", c.spec.impression_budget},
      {"frequency_cap_per_day", c.spec.frequency_cap_per_day},
      {"status", c.status},
      {"impressions", c.impressions}};
}

absl::StatusOr<CampaignSpec> ParseCampaign(const json& body) {
  CampaignSpec s;
  ASSIGN_OR_RETURN(s.name, StringField(body, "name", true));
  auto creative = body.find("creative");
  if (creative == body.end() || !creative->is_object()) {
    return absl::InvalidArgumentError("missing object 'creative' (title, text, link)");
  }
  ASSIGN_OR_RETURN(s.creative.title, StringField(*creative, "title", true));
  ASSIGN_OR_RETURN(s.creative.text, StringField(*creative, "text", true));
  ASSIGN_OR_RETURN(s.creative.link, StringField(*creative, "link", true));
  json targeting = json::object();
  if (auto t = body.find("targeting"); t != body.end()) {
    if (!t->is_object()) return absl::InvalidArgumentError("'targeting' must be an object");
    targeting = *t;
  }
  ASSIGN_OR_RETURN(s.include_audiences, IdList(targeting, "include_audiences"));
  ASSIGN_OR_RETURN(s.exclude_audiences, IdList(targeting, "exclude_audiences"));
  if (auto seg = targeting.find("segments"); seg != targeting.end() && !seg->is_null()) {
    if (!seg->is_array()) return absl::InvalidArgumentError("'targeting.segments' must be an array of names");
    for (const auto& v : *seg) {
      if (!v.is_string()) return absl::InvalidArgumentError("'targeting.segments' must be an array of names");
      s.segments.push_back(v.get<std::string>());
    }
  }
  ASSIGN_OR_RETURN(s.impression_budget, IntField(body, "impression_budget", 0));
  ASSIGN_OR_RETURN(s.frequency_cap_per_day, IntField(body, "frequency_cap_per_day", 1));
  return s;
}

using AdvHandler = std::function<absl::StatusOr<Response>(Request&, AdvertiserId)>;

net::Handler Advertiser(AdsService& ads, AdvHandler fn) {
  return [&ads, fn = std::move(fn)](Request& req) {
    auto adv = ads.Authenticate(req.BearerToken());
    if (!adv.ok()) return Response::Error(adv.status());
    auto res = fn(req, *adv);
    if (!res.ok()) return Response::Error(res.status());
    return *std::move(res);
  };
}

Response UploadHandler(AdsService& ads, Request& req, AdvertiserId adv, SessionKind kind) {
  auto id = IdParam(req, "id");
  if (!id.ok()) return Response::Error(id.status());
  auto body = net::ParseJsonObject(req);
  if (!body.ok()) return Response::Error(body.status());
  auto upload = ParseUploadRequest(*body);
  if (!upload.ok()) return Response::Error(upload.status());
  std::vector<InvalidRow> rejected;
  auto result = ads.Upload(adv, *id, kind, *upload, &rejected);
  if (!result.ok()) {
    Response r = Response::Error(result.status());
    if (!rejected.empty()) {
      json j = json::parse(r.body);
      j["error"]["invalid_entries"] = InvalidJson(rejected);
      r.body = j.dump();
    }
    return r;
  }
  return Response::Json({{"audience_id", *id},
                         {"session_id", result->session_id},
                         {"num_received", result->received},
                         {"num_invalid_entries", result->invalid.size()},
                         {"invalid_entries", InvalidJson(result->invalid)},
                         {"session_state", result->session_state}});
}

}  // namespace

void AddAdsRoutes(net::Router& router, AdsService& ads, std::string admin_token) {
  router.Post("/v1/ads/advertisers", [&ads, admin_token](Request& req) {
    if (admin_token.empty()) {
      return Response::Error(
          absl::PermissionDeniedError("advertiser sign-up over HTTP is off (set ads.admin_token)"));
    }
    std::string given = req.BearerToken();
    if (given.size() != admin_token.size() ||
        CRYPTO_memcmp(given.data(), admin_token.data(), given.size()) != 0) {
      return Response::Error(absl::UnauthenticatedError("wrong operator token"));
    }
    auto body = net::ParseJsonObject(req);
    if (!body.ok()) return Response::Error(body.status());
    auto name = StringField(*body, "name", true);
    if (!name.ok()) return Response::Error(name.status());
    auto a = ads.CreateAdvertiser(*name);
    if (!a.ok()) return Response::Error(a.status());
    return Response::Json({{"advertiser_id", a->id}, {"name", a->name}, {"token", a->token}}, 201);
  });
  router.Get("/v1/ads/me", Advertiser(ads, [&ads](Request&, AdvertiserId adv) -> absl::StatusOr<Response> {
               ASSIGN_OR_RETURN(auto left, ads.Budget(adv));
               return Response::Json(
                   {{"advertiser_id", adv},
                    {"budget_today",
                     {{"audience_creations_left", left.audiences}, {"size_looks_left", left.size_queries}}}});
             }));
  router.Post("/v1/ads/audiences",
              Advertiser(ads, [&ads](Request& req, AdvertiserId adv) -> absl::StatusOr<Response> {
                ASSIGN_OR_RETURN(json body, net::ParseJsonObject(req));
                ASSIGN_OR_RETURN(std::string name, StringField(body, "name", true));
                ASSIGN_OR_RETURN(std::string description, StringField(body, "description", false));
                ASSIGN_OR_RETURN(Audience a, ads.CreateAudience(adv, name, description));
                return Response::Json(AudienceJson(a), 201);
              }));
  router.Get("/v1/ads/audiences",
             Advertiser(ads, [&ads](Request&, AdvertiserId adv) -> absl::StatusOr<Response> {
               ASSIGN_OR_RETURN(auto list, ads.ListAudiences(adv));
               json a = json::array();
               for (const auto& x : list) a.push_back(AudienceJson(x));
               return Response::Json({{"audiences", a}});
             }));
  router.Get("/v1/ads/audiences/{id}",
             Advertiser(ads, [&ads](Request& req, AdvertiserId adv) -> absl::StatusOr<Response> {
               ASSIGN_OR_RETURN(int64_t id, IdParam(req, "id"));
               ASSIGN_OR_RETURN(Audience a, ads.GetAudience(adv, id));
               return Response::Json(AudienceJson(a));
             }));
  router.Delete("/v1/ads/audiences/{id}",
                Advertiser(ads, [&ads](Request& req, AdvertiserId adv) -> absl::StatusOr<Response> {
                  ASSIGN_OR_RETURN(int64_t id, IdParam(req, "id"));
                  RETURN_IF_ERROR(ads.DeleteAudience(adv, id));
                  return Response::Json({{"status", "deleted"}});
                }));
  router.Post("/v1/ads/audiences/{id}/users",
              Advertiser(ads,
                         [&ads](Request& req, AdvertiserId adv) {
                           return absl::StatusOr<Response>(UploadHandler(ads, req, adv, SessionKind::kAdd));
                         }),
              net::Work::kHeavy);
  router.Post(
      "/v1/ads/audiences/{id}/users/remove",
      Advertiser(ads,
                 [&ads](Request& req, AdvertiserId adv) {
                   return absl::StatusOr<Response>(UploadHandler(ads, req, adv, SessionKind::kRemove));
                 }),
      net::Work::kHeavy);
  router.Delete(
      "/v1/ads/audiences/{id}/users",
      Advertiser(ads,
                 [&ads](Request& req, AdvertiserId adv) {
                   return absl::StatusOr<Response>(UploadHandler(ads, req, adv, SessionKind::kRemove));
                 }),
      net::Work::kHeavy);
  router.Post(
      "/v1/ads/audiences/{id}/users/replace",
      Advertiser(ads,
                 [&ads](Request& req, AdvertiserId adv) {
                   return absl::StatusOr<Response>(UploadHandler(ads, req, adv, SessionKind::kReplace));
                 }),
      net::Work::kHeavy);

  router.Post("/v1/ads/campaigns",
              Advertiser(ads, [&ads](Request& req, AdvertiserId adv) -> absl::StatusOr<Response> {
                ASSIGN_OR_RETURN(json body, net::ParseJsonObject(req));
                ASSIGN_OR_RETURN(CampaignSpec spec, ParseCampaign(body));
                ASSIGN_OR_RETURN(Campaign c, ads.CreateCampaign(adv, spec));
                return Response::Json(CampaignJson(c), 201);
              }));
  router.Get("/v1/ads/campaigns",
             Advertiser(ads, [&ads](Request&, AdvertiserId adv) -> absl::StatusOr<Response> {
               ASSIGN_OR_RETURN(auto list, ads.ListCampaigns(adv));
               json a = json::array();
               for (const auto& c : list) a.push_back(CampaignJson(c));
               return Response::Json({{"campaigns", a}});
             }));
  router.Get("/v1/ads/campaigns/{id}",
             Advertiser(ads, [&ads](Request& req, AdvertiserId adv) -> absl::StatusOr<Response> {
               ASSIGN_OR_RETURN(int64_t id, IdParam(req, "id"));
               ASSIGN_OR_RETURN(Campaign c, ads.GetCampaign(adv, id));
               return Response::Json(CampaignJson(c));
             }));
  router.Post("/v1/ads/campaigns/{id}/status",
              Advertiser(ads, [&ads](Request& req, AdvertiserId adv) -> absl::StatusOr<Response> {
                ASSIGN_OR_RETURN(int64_t id, IdParam(req, "id"));
                ASSIGN_OR_RETURN(json body, net::ParseJsonObject(req));
                ASSIGN_OR_RETURN(std::string status, StringField(body, "status", true));
                ASSIGN_OR_RETURN(Campaign c, ads.SetCampaignStatus(adv, id, status));
                return Response::Json(CampaignJson(c));
              }));
  router.Delete("/v1/ads/campaigns/{id}",
                Advertiser(ads, [&ads](Request& req, AdvertiserId adv) -> absl::StatusOr<Response> {
                  ASSIGN_OR_RETURN(int64_t id, IdParam(req, "id"));
                  RETURN_IF_ERROR(ads.DeleteCampaign(adv, id));
                  return Response::Json({{"status", "deleted"}});
                }));
}

}  // namespace tandem::ads
