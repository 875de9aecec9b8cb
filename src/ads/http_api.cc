// HTTP handlers: parse, authenticate, call AdsService, render JSON. Request
// bodies are never logged (they hold customer-list rows). Each route is a
// named handler in the table at the end.
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
                        {"kind", SessionKindName(s.kind)},
                        {"state", SessionStateName(s.state)},
                        {"batches", s.batches},
                        {"rows", s.rows},
                        {"invalid_rows", s.invalid_rows}});
  }
  json j = {{"id", a.id},
            {"name", a.name},
            {"description", a.description},
            {"status", AudienceStatusName(a.status)},
            {"version", a.version},
            {"sessions", sessions}};
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
      {"status", CampaignStatusName(c.status)},
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

// ------------------------------------------------------------- handlers

using net::Handler;
using Result = absl::StatusOr<Response>;

// A handler body for an authenticated advertiser.
using AdvertiserBody = Result (*)(AdsService& ads, Request& req, AdvertiserId adv);

// What the route table's handlers are made from.
struct Deps {
  AdsService& ads;
  std::string admin_token;
};

template <AdvertiserBody body>
Handler ForAdvertiser(Deps& deps) {
  AdsService& ads = deps.ads;
  return net::Authenticated<AdvertiserId>(
      [&ads](Request& req) { return ads.Authenticate(req.BearerToken()); },
      [&ads](Request& req, const AdvertiserId& adv) { return body(ads, req, adv); });
}

// POST /v1/ads/advertisers: the operator's sign-up of an advertiser.
Handler SignUp(Deps& deps) {
  return net::Checked([&ads = deps.ads, admin_token = deps.admin_token](Request& req) -> Result {
    if (admin_token.empty()) {
      return absl::PermissionDeniedError("advertiser sign-up over HTTP is off (set ads.admin_token)");
    }
    std::string given = req.BearerToken();
    if (given.size() != admin_token.size() ||
        CRYPTO_memcmp(given.data(), admin_token.data(), given.size()) != 0) {
      return absl::UnauthenticatedError("wrong operator token");
    }
    ASSIGN_OR_RETURN(json body, net::ParseJsonObject(req));
    ASSIGN_OR_RETURN(std::string name, StringField(body, "name", true));
    ASSIGN_OR_RETURN(NewAdvertiser a, ads.CreateAdvertiser(name));
    return Response::Json({{"advertiser_id", a.id}, {"name", a.name}, {"token", a.token}}, 201);
  });
}

Result Me(AdsService& ads, Request&, AdvertiserId adv) {
  ASSIGN_OR_RETURN(BudgetLeft left, ads.Budget(adv));
  return Response::Json(
      {{"advertiser_id", adv},
       {"budget_today",
        {{"audience_creations_left", left.audiences}, {"size_looks_left", left.size_queries}}}});
}

Result CreateAudience(AdsService& ads, Request& req, AdvertiserId adv) {
  ASSIGN_OR_RETURN(json body, net::ParseJsonObject(req));
  ASSIGN_OR_RETURN(std::string name, StringField(body, "name", true));
  ASSIGN_OR_RETURN(std::string description, StringField(body, "description", false));
  ASSIGN_OR_RETURN(Audience a, ads.CreateAudience(adv, name, description));
  return Response::Json(AudienceJson(a), 201);
}

Result ListAudiences(AdsService& ads, Request&, AdvertiserId adv) {
  ASSIGN_OR_RETURN(std::vector<Audience> list, ads.ListAudiences(adv));
  json a = json::array();
  for (const Audience& x : list) a.push_back(AudienceJson(x));
  return Response::Json({{"audiences", a}});
}

Result GetAudience(AdsService& ads, Request& req, AdvertiserId adv) {
  ASSIGN_OR_RETURN(int64_t id, IdParam(req, "id"));
  ASSIGN_OR_RETURN(Audience a, ads.GetAudience(adv, id));
  return Response::Json(AudienceJson(a));
}

Result DeleteAudience(AdsService& ads, Request& req, AdvertiserId adv) {
  ASSIGN_OR_RETURN(int64_t id, IdParam(req, "id"));
  RETURN_IF_ERROR(ads.DeleteAudience(adv, id));
  return Response::Json({{"status", "deleted"}});
}

// One batch of a session of `kind`. A refused PHONE_SHA256 batch answers
// with the offending rows in error.invalid_entries.
template <SessionKind kind>
Result UploadBatch(AdsService& ads, Request& req, AdvertiserId adv) {
  ASSIGN_OR_RETURN(int64_t id, IdParam(req, "id"));
  ASSIGN_OR_RETURN(json body, net::ParseJsonObject(req));
  ASSIGN_OR_RETURN(UploadRequest upload, ParseUploadRequest(body));
  std::vector<InvalidRow> rejected;
  absl::StatusOr<BatchResult> result = ads.Upload(adv, id, kind, upload, &rejected);
  if (!result.ok()) {
    Response r = Response::Error(result.status());
    if (!rejected.empty()) {
      json j = json::parse(r.body);
      j["error"]["invalid_entries"] = InvalidJson(rejected);
      r.body = j.dump();
    }
    return r;
  }
  return Response::Json({{"audience_id", id},
                         {"session_id", result->session_id},
                         {"num_received", result->received},
                         {"num_invalid_entries", result->invalid.size()},
                         {"invalid_entries", InvalidJson(result->invalid)},
                         {"session_state", SessionStateName(result->session_state)}});
}

Result CreateCampaign(AdsService& ads, Request& req, AdvertiserId adv) {
  ASSIGN_OR_RETURN(json body, net::ParseJsonObject(req));
  ASSIGN_OR_RETURN(CampaignSpec spec, ParseCampaign(body));
  ASSIGN_OR_RETURN(Campaign c, ads.CreateCampaign(adv, spec));
  return Response::Json(CampaignJson(c), 201);
}

Result ListCampaigns(AdsService& ads, Request&, AdvertiserId adv) {
  ASSIGN_OR_RETURN(std::vector<Campaign> list, ads.ListCampaigns(adv));
  json a = json::array();
  for (const Campaign& c : list) a.push_back(CampaignJson(c));
  return Response::Json({{"campaigns", a}});
}

Result GetCampaign(AdsService& ads, Request& req, AdvertiserId adv) {
  ASSIGN_OR_RETURN(int64_t id, IdParam(req, "id"));
  ASSIGN_OR_RETURN(Campaign c, ads.GetCampaign(adv, id));
  return Response::Json(CampaignJson(c));
}

Result SetCampaignStatus(AdsService& ads, Request& req, AdvertiserId adv) {
  ASSIGN_OR_RETURN(int64_t id, IdParam(req, "id"));
  ASSIGN_OR_RETURN(json body, net::ParseJsonObject(req));
  ASSIGN_OR_RETURN(std::string name, StringField(body, "status", true));
  ASSIGN_OR_RETURN(CampaignStatus status, ParseSettableCampaignStatus(name));
  ASSIGN_OR_RETURN(Campaign c, ads.SetCampaignStatus(adv, id, status));
  return Response::Json(CampaignJson(c));
}

Result DeleteCampaign(AdsService& ads, Request& req, AdvertiserId adv) {
  ASSIGN_OR_RETURN(int64_t id, IdParam(req, "id"));
  RETURN_IF_ERROR(ads.DeleteCampaign(adv, id));
  return Response::Json({{"status", "deleted"}});
}

constexpr net::Work kQuick = net::Work::kQuick;
constexpr net::Work kHeavy = net::Work::kHeavy;  // uploads parse and hash up to 10,000 rows

const struct {
  const char* method;
  const char* pattern;
  Handler (*make)(Deps&);
  net::Work work;
} kRoutes[] = {
    {"POST", "/v1/ads/advertisers", SignUp, kQuick},
    {"GET", "/v1/ads/me", ForAdvertiser<Me>, kQuick},
    {"POST", "/v1/ads/audiences", ForAdvertiser<CreateAudience>, kQuick},
    {"GET", "/v1/ads/audiences", ForAdvertiser<ListAudiences>, kQuick},
    {"GET", "/v1/ads/audiences/{id}", ForAdvertiser<GetAudience>, kQuick},
    {"DELETE", "/v1/ads/audiences/{id}", ForAdvertiser<DeleteAudience>, kQuick},
    {"POST", "/v1/ads/audiences/{id}/users", ForAdvertiser<UploadBatch<SessionKind::kAdd>>, kHeavy},
    {"POST", "/v1/ads/audiences/{id}/users/remove", ForAdvertiser<UploadBatch<SessionKind::kRemove>>, kHeavy},
    {"DELETE", "/v1/ads/audiences/{id}/users", ForAdvertiser<UploadBatch<SessionKind::kRemove>>, kHeavy},
    {"POST", "/v1/ads/audiences/{id}/users/replace", ForAdvertiser<UploadBatch<SessionKind::kReplace>>,
     kHeavy},
    {"POST", "/v1/ads/campaigns", ForAdvertiser<CreateCampaign>, kQuick},
    {"GET", "/v1/ads/campaigns", ForAdvertiser<ListCampaigns>, kQuick},
    {"GET", "/v1/ads/campaigns/{id}", ForAdvertiser<GetCampaign>, kQuick},
    {"POST", "/v1/ads/campaigns/{id}/status", ForAdvertiser<SetCampaignStatus>, kQuick},
    {"DELETE", "/v1/ads/campaigns/{id}", ForAdvertiser<DeleteCampaign>, kQuick},
};

}  // namespace

void AddAdsRoutes(net::Router& router, AdsService& ads, std::string admin_token) {
  Deps deps{ads, std::move(admin_token)};
  for (const auto& route : kRoutes) router.Handle(route.method, route.pattern, route.make(deps), route.work);
}

}  // namespace tandem::ads
