// JSON <-> AccountService.
#include "relay/http_api.h"

#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace tandem::relay {
namespace {

using net::StringField;

using nlohmann::json;

std::string B64(const std::string& bytes) { return absl::Base64Escape(bytes); }

absl::StatusOr<std::string> Base64Field(const json& j, const std::string& name) {
  ASSIGN_OR_RETURN(std::string text, StringField(j, name));
  std::string bytes;
  if (!absl::Base64Unescape(text, &bytes)) {
    return absl::InvalidArgumentError(absl::StrCat("\"", name, "\" must be base64"));
  }
  return bytes;
}

absl::StatusOr<uint32_t> UintField(const json& j, const std::string& name, uint64_t max) {
  auto it = j.find(name);
  if (it == j.end()) return absl::InvalidArgumentError(absl::StrCat("\"", name, "\" is missing"));
  if (!it->is_number_unsigned() || it->get<uint64_t>() > max) {
    return absl::InvalidArgumentError(absl::StrCat("\"", name, "\" must be an integer from 0 to ", max));
  }
  return static_cast<uint32_t>(it->get<uint64_t>());
}

absl::StatusOr<Credentials> Authenticate(AccountService& accounts, const net::Request& req) {
  ASSIGN_OR_RETURN(Credentials c, ParseBasicAuthorization(req.Header("authorization")));
  RETURN_IF_ERROR(accounts.Authenticate(c));
  return c;
}

// Wraps a handler body that returns StatusOr<json>.
template <typename Fn>
net::Handler Json(Fn fn) {
  return [fn](net::Request& req) -> net::Response {
    absl::StatusOr<json> out = fn(req);
    if (!out.ok()) return net::Response::Error(out.status());
    return net::Response::Json(*out);
  };
}

template <typename Fn>
net::Handler Authed(AccountService& accounts, Fn fn) {
  return Json([&accounts, fn](net::Request& req) -> absl::StatusOr<json> {
    ASSIGN_OR_RETURN(Credentials who, Authenticate(accounts, req));
    return fn(req, who);
  });
}

absl::StatusOr<db::SignedPreKeyRow> ParseSignedPreKey(const json& j) {
  if (!j.is_object()) return absl::InvalidArgumentError("\"signed_prekey\" must be an object");
  db::SignedPreKeyRow k;
  ASSIGN_OR_RETURN(k.key_id, UintField(j, "key_id", 0xFFFFFFFFu));
  ASSIGN_OR_RETURN(k.public_key, Base64Field(j, "public_key"));
  ASSIGN_OR_RETURN(k.signature, Base64Field(j, "signature"));
  return k;
}

}  // namespace

void RegisterHttpRoutes(AccountService& accounts, net::Router& router) {
  router.Post("/v1/registration/code", Json([&accounts](net::Request& req) -> absl::StatusOr<json> {
                ASSIGN_OR_RETURN(json body, net::ParseJsonObject(req));
                ASSIGN_OR_RETURN(std::string number, StringField(body, "number"));
                ASSIGN_OR_RETURN(std::string region, StringField(body, "region", false));
                ASSIGN_OR_RETURN(auto issued, accounts.RequestCode(number, region, req.remote_address));
                return json{{"number", issued.number},
                            {"expires_in_seconds", absl::ToInt64Seconds(issued.expires_in)},
                            {"attempts", issued.attempts}};
              }));

  router.Post("/v1/registration/verify", Json([&accounts](net::Request& req) -> absl::StatusOr<json> {
                ASSIGN_OR_RETURN(json body, net::ParseJsonObject(req));
                AccountService::VerifyRequest v;
                ASSIGN_OR_RETURN(v.number, StringField(body, "number"));
                ASSIGN_OR_RETURN(v.region, StringField(body, "region", false));
                ASSIGN_OR_RETURN(v.code, StringField(body, "code"));
                ASSIGN_OR_RETURN(v.identity_key, Base64Field(body, "identity_key"));
                ASSIGN_OR_RETURN(v.registration_id, UintField(body, "registration_id", 16380));
                v.client_address = req.remote_address;
                ASSIGN_OR_RETURN(auto r, accounts.Verify(v));
                return json{{"account_id", r.credentials.account_id},
                            {"device_id", r.credentials.device_id},
                            {"password", r.credentials.password},
                            {"login", r.credentials.Login()},
                            {"number", r.number},
                            {"reregistered", r.reregistered}};
              }));

  router.Get("/v1/account",
             Authed(accounts, [&accounts](net::Request&, const Credentials& who) -> absl::StatusOr<json> {
               ASSIGN_OR_RETURN(auto info, accounts.GetAccountInfo(who));
               return json{{"account_id", info.account_id},
                           {"device_id", who.device_id},
                           {"number", info.number},
                           {"identity_key", B64(info.identity_key)},
                           {"created_ms", info.created_ms}};
             }));

  router.Get("/v1/account/usage",
             Authed(accounts, [&accounts](net::Request&, const Credentials& who) -> absl::StatusOr<json> {
               ASSIGN_OR_RETURN(auto rows, accounts.Usage(who));
               json days = json::array();
               for (const auto& r : rows) {
                 days.push_back({{"day", r.day}, {"sessions", r.sessions}, {"messages", r.messages}});
               }
               return json{{"usage", days}};
             }));

  router.Delete("/v1/account",
                Authed(accounts, [&accounts](net::Request&, const Credentials& who) -> absl::StatusOr<json> {
                  RETURN_IF_ERROR(accounts.DeleteAccount(who));
                  return json{{"deleted", true}};
                }));

  router.Put("/v1/keys",
             Authed(accounts, [&accounts](net::Request& req, const Credentials& who) -> absl::StatusOr<json> {
               ASSIGN_OR_RETURN(json body, net::ParseJsonObject(req));
               AccountService::KeyUpload upload;
               if (body.contains("identity_key")) {
                 ASSIGN_OR_RETURN(upload.identity_key, Base64Field(body, "identity_key"));
               }
               if (body.contains("signed_prekey")) {
                 ASSIGN_OR_RETURN(upload.signed_prekey, ParseSignedPreKey(body["signed_prekey"]));
               }
               if (body.contains("one_time_prekeys")) {
                 const json& list = body["one_time_prekeys"];
                 if (!list.is_array())
                   return absl::InvalidArgumentError("\"one_time_prekeys\" must be an array");
                 if (list.size() > kMaxPreKeysPerUpload) {
                   return absl::InvalidArgumentError(absl::StrCat(
                       "at most ", kMaxPreKeysPerUpload, " one-time prekeys per request; got ", list.size()));
                 }
                 for (const json& item : list) {
                   if (!item.is_object())
                     return absl::InvalidArgumentError("one-time prekeys must be objects");
                   db::PreKeyRow k;
                   ASSIGN_OR_RETURN(k.key_id, UintField(item, "key_id", 0xFFFFFFFFu));
                   ASSIGN_OR_RETURN(k.public_key, Base64Field(item, "public_key"));
                   upload.one_time_prekeys.push_back(std::move(k));
                 }
               }
               RETURN_IF_ERROR(accounts.UploadKeys(who, upload));
               ASSIGN_OR_RETURN(int64_t count, accounts.PreKeyCount(who));
               return json{{"one_time_prekeys", count}};
             }));

  router.Get("/v1/keys/count",
             Authed(accounts, [&accounts](net::Request&, const Credentials& who) -> absl::StatusOr<json> {
               ASSIGN_OR_RETURN(int64_t count, accounts.PreKeyCount(who));
               return json{{"one_time_prekeys", count}};
             }));

  router.Get("/v1/keys/{number}",
             Authed(accounts, [&accounts](net::Request& req, const Credentials& who) -> absl::StatusOr<json> {
               ASSIGN_OR_RETURN(auto b, accounts.FetchBundle(who, req.PathParam("number")));
               json devices = json::array();
               for (const auto& d : b.devices) {
                 json dev = {{"device_id", d.device_id},
                             {"registration_id", d.registration_id},
                             {"signed_prekey",
                              {{"key_id", d.signed_prekey.key_id},
                               {"public_key", B64(d.signed_prekey.public_key)},
                               {"signature", B64(d.signed_prekey.signature)}}},
                             {"one_time_prekey", nullptr}};
                 if (d.one_time_prekey) {
                   dev["one_time_prekey"] = {{"key_id", d.one_time_prekey->key_id},
                                             {"public_key", B64(d.one_time_prekey->public_key)}};
                 }
                 devices.push_back(std::move(dev));
               }
               return json{{"account_id", b.account_id},
                           {"number", b.number},
                           {"identity_key", B64(b.identity_key)},
                           {"identity_changed_ms", b.identity_changed_ms},
                           {"devices", devices}};
             }));

  router.Post("/v1/directory",
              Authed(accounts,
                     [&accounts](net::Request& req, const Credentials& who) -> absl::StatusOr<json> {
                       ASSIGN_OR_RETURN(json body, net::ParseJsonObject(req));
                       ASSIGN_OR_RETURN(std::string region, StringField(body, "region", false));
                       auto it = body.find("numbers");
                       if (it == body.end() || !it->is_array()) {
                         return absl::InvalidArgumentError("\"numbers\" must be an array of phone numbers");
                       }
                       std::vector<std::string> numbers;
                       for (const json& n : *it) {
                         if (!n.is_string())
                           return absl::InvalidArgumentError("\"numbers\" must contain strings only");
                         numbers.push_back(n.get<std::string>());
                       }
                       ASSIGN_OR_RETURN(auto d, accounts.Discover(who, numbers, region));
                       json invalid = json::array();
                       for (const auto& [input, reason] : d.invalid)
                         invalid.push_back({{"input", input}, {"reason", reason}});
                       return json{{"registered", d.registered},
                                   {"invalid", invalid},
                                   {"budget_remaining", d.budget_remaining}};
                     }),
              net::Work::kHeavy);
}

}  // namespace tandem::relay
