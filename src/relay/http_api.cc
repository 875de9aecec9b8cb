// JSON <-> AccountService.
#include "relay/http_api.h"

#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/encoding.h"

namespace tandem::relay {
namespace {

using net::StringField;

using nlohmann::json;

absl::StatusOr<std::string> Base64Field(const json& j, const std::string& name) {
  ASSIGN_OR_RETURN(std::string text, StringField(j, name));
  return Base64Decode(text, absl::StrCat("\"", name, "\""));
}

absl::StatusOr<uint32_t> UintField(const json& j, const std::string& name, uint64_t max) {
  auto it = j.find(name);
  if (it == j.end()) return absl::InvalidArgumentError(absl::StrCat("\"", name, "\" is missing"));
  if (!it->is_number_unsigned() || it->get<uint64_t>() > max) {
    return absl::InvalidArgumentError(absl::StrCat("\"", name, "\" must be an integer from 0 to ", max));
  }
  return static_cast<uint32_t>(it->get<uint64_t>());
}

absl::StatusOr<db::SignedPreKeyRow> ParseSignedPreKey(const json& j) {
  if (!j.is_object()) return absl::InvalidArgumentError("\"signed_prekey\" must be an object");
  db::SignedPreKeyRow k;
  ASSIGN_OR_RETURN(k.key_id, UintField(j, "key_id", 0xFFFFFFFFu));
  ASSIGN_OR_RETURN(k.public_key, Base64Field(j, "public_key"));
  ASSIGN_OR_RETURN(k.signature, Base64Field(j, "signature"));
  return k;
}

// {"key_id", "public_key", "signature"}; `what` names it in errors.
absl::StatusOr<db::KyberPreKeyRow> ParseKyberPreKey(const json& j, const std::string& what) {
  if (!j.is_object()) return absl::InvalidArgumentError(absl::StrCat(what, " must be an object"));
  db::KyberPreKeyRow k;
  ASSIGN_OR_RETURN(k.key_id, UintField(j, "key_id", 0xFFFFFFFFu));
  ASSIGN_OR_RETURN(k.public_key, Base64Field(j, "public_key"));
  ASSIGN_OR_RETURN(k.signature, Base64Field(j, "signature"));
  return k;
}

json KyberPreKeyJson(const db::KyberPreKeyRow& k) {
  return {{"key_id", k.key_id},
          {"public_key", Base64Encode(k.public_key)},
          {"signature", Base64Encode(k.signature)}};
}

// The relay answers JSON: a body that yields StatusOr<json> becomes a
// net::Checked handler (errors as net::Response::Error).
using JsonBody = std::function<absl::StatusOr<json>(net::Request&)>;
using AuthedJsonBody = std::function<absl::StatusOr<json>(net::Request&, const Credentials&)>;

net::Handler Json(JsonBody body) {
  return net::Checked([body = std::move(body)](net::Request& req) -> absl::StatusOr<net::Response> {
    ASSIGN_OR_RETURN(json out, body(req));
    return net::Response::Json(out);
  });
}

// The same for a caller authenticated by its Basic credentials.
net::Handler Authed(AccountService& accounts, AuthedJsonBody body) {
  return net::Authenticated<Credentials>(
      [&accounts](net::Request& req) -> absl::StatusOr<Credentials> {
        ASSIGN_OR_RETURN(Credentials c, ParseBasicAuthorization(req.Header("authorization")));
        RETURN_IF_ERROR(accounts.Authenticate(c));
        return c;
      },
      [body = std::move(body)](net::Request& req, const Credentials& who) -> absl::StatusOr<net::Response> {
        ASSIGN_OR_RETURN(json out, body(req, who));
        return net::Response::Json(out);
      });
}

// ---- handlers, one per route ----

net::Handler RequestCode(AccountService& accounts) {
  return Json([&accounts](net::Request& req) -> absl::StatusOr<json> {
    ASSIGN_OR_RETURN(json body, net::ParseJsonObject(req));
    ASSIGN_OR_RETURN(std::string number, StringField(body, "number"));
    ASSIGN_OR_RETURN(std::string region, StringField(body, "region", false));
    ASSIGN_OR_RETURN(auto issued, accounts.RequestCode(number, region, req.remote_address));
    return json{{"number", issued.number},
                {"expires_in_seconds", absl::ToInt64Seconds(issued.expires_in)},
                {"attempts", issued.attempts}};
  });
}

net::Handler VerifyCode(AccountService& accounts) {
  return Json([&accounts](net::Request& req) -> absl::StatusOr<json> {
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
  });
}

net::Handler GetAccount(AccountService& accounts) {
  return Authed(accounts, [&accounts](net::Request&, const Credentials& who) -> absl::StatusOr<json> {
    ASSIGN_OR_RETURN(auto info, accounts.GetAccountInfo(who));
    return json{{"account_id", info.account_id},
                {"device_id", who.device_id},
                {"number", info.number},
                {"identity_key", Base64Encode(info.identity_key)},
                {"created_ms", info.created_ms}};
  });
}

net::Handler GetUsage(AccountService& accounts) {
  return Authed(accounts, [&accounts](net::Request&, const Credentials& who) -> absl::StatusOr<json> {
    ASSIGN_OR_RETURN(auto rows, accounts.Usage(who));
    json days = json::array();
    for (const auto& r : rows) {
      days.push_back({{"day", r.day}, {"sessions", r.sessions}, {"messages", r.messages}});
    }
    return json{{"usage", days}};
  });
}

net::Handler DeleteAccount(AccountService& accounts) {
  return Authed(accounts, [&accounts](net::Request&, const Credentials& who) -> absl::StatusOr<json> {
    RETURN_IF_ERROR(accounts.DeleteAccount(who));
    return json{{"deleted", true}};
  });
}

absl::StatusOr<AccountService::KeyUpload> ParseKeyUpload(json& body) {
  AccountService::KeyUpload upload;
  if (body.contains("identity_key")) {
    ASSIGN_OR_RETURN(upload.identity_key, Base64Field(body, "identity_key"));
  }
  if (body.contains("signed_prekey")) {
    ASSIGN_OR_RETURN(upload.signed_prekey, ParseSignedPreKey(body["signed_prekey"]));
  }
  if (body.contains("one_time_prekeys")) {
    const json& list = body["one_time_prekeys"];
    if (!list.is_array()) return absl::InvalidArgumentError("\"one_time_prekeys\" must be an array");
    if (list.size() > kMaxPreKeysPerUpload) {
      return absl::InvalidArgumentError(
          absl::StrCat("at most ", kMaxPreKeysPerUpload, " one-time prekeys per request; got ", list.size()));
    }
    for (const json& item : list) {
      if (!item.is_object()) return absl::InvalidArgumentError("one-time prekeys must be objects");
      db::PreKeyRow k;
      ASSIGN_OR_RETURN(k.key_id, UintField(item, "key_id", 0xFFFFFFFFu));
      ASSIGN_OR_RETURN(k.public_key, Base64Field(item, "public_key"));
      upload.one_time_prekeys.push_back(std::move(k));
    }
  }
  if (body.contains("kyber_prekeys")) {
    const json& list = body["kyber_prekeys"];
    if (!list.is_array()) return absl::InvalidArgumentError("\"kyber_prekeys\" must be an array");
    if (list.size() > kMaxKyberPreKeysPerUpload) {
      return absl::InvalidArgumentError(absl::StrCat("at most ", kMaxKyberPreKeysPerUpload,
                                                     " Kyber prekeys per request; got ", list.size()));
    }
    for (const json& item : list) {
      ASSIGN_OR_RETURN(db::KyberPreKeyRow k, ParseKyberPreKey(item, "every entry of \"kyber_prekeys\""));
      upload.kyber_prekeys.push_back(std::move(k));
    }
  }
  if (body.contains("kyber_last_resort")) {
    ASSIGN_OR_RETURN(upload.kyber_last_resort,
                     ParseKyberPreKey(body["kyber_last_resort"], "\"kyber_last_resort\""));
  }
  return upload;
}

// What the count endpoint and an upload answer.
absl::StatusOr<json> KeyCounts(AccountService& accounts, const Credentials& who) {
  ASSIGN_OR_RETURN(int64_t count, accounts.PreKeyCount(who));
  ASSIGN_OR_RETURN(int64_t kyber, accounts.KyberPreKeyCount(who));
  return json{{"one_time_prekeys", count}, {"kyber_prekeys", kyber}};
}

net::Handler UploadKeys(AccountService& accounts) {
  return Authed(accounts, [&accounts](net::Request& req, const Credentials& who) -> absl::StatusOr<json> {
    ASSIGN_OR_RETURN(json body, net::ParseJsonObject(req));
    ASSIGN_OR_RETURN(AccountService::KeyUpload upload, ParseKeyUpload(body));
    RETURN_IF_ERROR(accounts.UploadKeys(who, upload));
    return KeyCounts(accounts, who);
  });
}

net::Handler CountPreKeys(AccountService& accounts) {
  return Authed(accounts, [&accounts](net::Request&, const Credentials& who) -> absl::StatusOr<json> {
    return KeyCounts(accounts, who);
  });
}

net::Handler FetchBundle(AccountService& accounts) {
  return Authed(accounts, [&accounts](net::Request& req, const Credentials& who) -> absl::StatusOr<json> {
    ASSIGN_OR_RETURN(auto b, accounts.FetchBundle(who, req.PathParam("number")));
    json devices = json::array();
    for (const auto& d : b.devices) {
      json dev = {{"device_id", d.device_id},
                  {"registration_id", d.registration_id},
                  {"signed_prekey",
                   {{"key_id", d.signed_prekey.key_id},
                    {"public_key", Base64Encode(d.signed_prekey.public_key)},
                    {"signature", Base64Encode(d.signed_prekey.signature)}}},
                  {"one_time_prekey", nullptr},
                  {"kyber_prekey", nullptr}};
      if (d.one_time_prekey) {
        dev["one_time_prekey"] = {{"key_id", d.one_time_prekey->key_id},
                                  {"public_key", Base64Encode(d.one_time_prekey->public_key)}};
      }
      if (d.kyber_prekey) dev["kyber_prekey"] = KyberPreKeyJson(*d.kyber_prekey);
      devices.push_back(std::move(dev));
    }
    return json{{"account_id", b.account_id},
                {"number", b.number},
                {"identity_key", Base64Encode(b.identity_key)},
                {"identity_changed_ms", b.identity_changed_ms},
                {"devices", devices}};
  });
}

net::Handler Discover(AccountService& accounts) {
  return Authed(accounts, [&accounts](net::Request& req, const Credentials& who) -> absl::StatusOr<json> {
    ASSIGN_OR_RETURN(json body, net::ParseJsonObject(req));
    ASSIGN_OR_RETURN(std::string region, StringField(body, "region", false));
    auto it = body.find("numbers");
    if (it == body.end() || !it->is_array()) {
      return absl::InvalidArgumentError("\"numbers\" must be an array of phone numbers");
    }
    std::vector<std::string> numbers;
    for (const json& n : *it) {
      if (!n.is_string()) return absl::InvalidArgumentError("\"numbers\" must contain strings only");
      numbers.push_back(n.get<std::string>());
    }
    ASSIGN_OR_RETURN(auto d, accounts.Discover(who, numbers, region));
    json invalid = json::array();
    for (const auto& [input, reason] : d.invalid) invalid.push_back({{"input", input}, {"reason", reason}});
    return json{{"registered", d.registered}, {"invalid", invalid}, {"budget_remaining", d.budget_remaining}};
  });
}

struct Route {
  const char* method;
  const char* pattern;
  net::Handler (*make)(AccountService&);
  net::Work work = net::Work::kQuick;
};

const Route kRoutes[] = {
    {"POST", "/v1/registration/code", RequestCode},
    {"POST", "/v1/registration/verify", VerifyCode},
    {"GET", "/v1/account", GetAccount},
    {"GET", "/v1/account/usage", GetUsage},
    {"DELETE", "/v1/account", DeleteAccount},
    {"PUT", "/v1/keys", UploadKeys},
    {"GET", "/v1/keys/count", CountPreKeys},
    {"GET", "/v1/keys/{number}", FetchBundle},
    {"POST", "/v1/directory", Discover, net::Work::kHeavy},  // parses a batch of phone numbers
};

// ---- linked devices ----

net::Handler CreateProvisioningAddress(DeviceLinks& links) {
  return Json([&links](net::Request& req) -> absl::StatusOr<json> {
    ASSIGN_OR_RETURN(auto issued, links.CreateAddress(req.remote_address));
    return json{{"address", issued.value}, {"expires_in_seconds", absl::ToInt64Seconds(issued.expires_in)}};
  });
}

net::Handler PutProvisioningMessage(AccountService& accounts, DeviceLinks& links) {
  return Authed(accounts, [&links](net::Request& req, const Credentials& who) -> absl::StatusOr<json> {
    ASSIGN_OR_RETURN(json body, net::ParseJsonObject(req));
    ASSIGN_OR_RETURN(std::string message, Base64Field(body, "message"));
    RETURN_IF_ERROR(links.PutMessage(who, req.PathParam("address"), std::move(message)));
    return json{{"stored", true}};
  });
}

net::Handler TakeProvisioningMessage(DeviceLinks& links) {
  return Json([&links](net::Request& req) -> absl::StatusOr<json> {
    ASSIGN_OR_RETURN(auto message, links.TakeMessage(req.PathParam("address"), req.remote_address));
    if (!message) return json{{"waiting", true}};
    return json{{"message", Base64Encode(*message)}};
  });
}

net::Handler IssueLinkToken(AccountService& accounts, DeviceLinks& links) {
  return Authed(accounts, [&links](net::Request&, const Credentials& who) -> absl::StatusOr<json> {
    ASSIGN_OR_RETURN(auto issued, links.IssueToken(who));
    return json{{"token", issued.value}, {"expires_in_seconds", absl::ToInt64Seconds(issued.expires_in)}};
  });
}

net::Handler LinkDevice(DeviceLinks& links) {
  return Json([&links](net::Request& req) -> absl::StatusOr<json> {
    ASSIGN_OR_RETURN(json body, net::ParseJsonObject(req));
    DeviceLinks::LinkRequest link;
    ASSIGN_OR_RETURN(link.token, StringField(body, "token"));
    ASSIGN_OR_RETURN(link.registration_id, UintField(body, "registration_id", 16380));
    ASSIGN_OR_RETURN(link.identity_key, Base64Field(body, "identity_key"));
    link.client_address = req.remote_address;
    ASSIGN_OR_RETURN(auto linked, links.Link(link));
    return json{{"account_id", linked.credentials.account_id},
                {"device_id", linked.credentials.device_id},
                {"login", linked.credentials.Login()},
                {"password", linked.credentials.password},
                {"number", linked.number}};
  });
}

net::Handler ListDevices(AccountService& accounts, DeviceLinks&) {
  return Authed(accounts, [&accounts](net::Request&, const Credentials& who) -> absl::StatusOr<json> {
    ASSIGN_OR_RETURN(auto rows, accounts.ListDevices(who));
    json devices = json::array();
    for (const auto& d : rows) {
      devices.push_back(
          {{"device_id", d.device_id}, {"created_ms", d.created_ms}, {"registration_id", d.registration_id}});
    }
    return json{{"devices", devices}};
  });
}

net::Handler RemoveDevice(AccountService& accounts, DeviceLinks&) {
  return Authed(accounts, [&accounts](net::Request& req, const Credentials& who) -> absl::StatusOr<json> {
    const std::string id = req.PathParam("id");
    uint32_t device_id = 0;
    const bool digits =
        !id.empty() && id.size() <= 9 && id.find_first_not_of("0123456789") == std::string::npos;
    if (!digits || !absl::SimpleAtoi(id, &device_id)) {
      return absl::InvalidArgumentError("the device id must be a positive integer");
    }
    RETURN_IF_ERROR(accounts.RemoveDevice(who, device_id));
    return json{{"removed", true}};
  });
}

struct LinkRoute {
  const char* method;
  const char* pattern;
  net::Handler (*make)(AccountService&, DeviceLinks&);
};

// The unauthenticated ones reach only DeviceLinks, whose limits they pay
// first.
const LinkRoute kLinkRoutes[] = {
    {"POST", "/v1/provisioning",
     [](AccountService&, DeviceLinks& l) { return CreateProvisioningAddress(l); }},
    {"PUT", "/v1/provisioning/{address}", PutProvisioningMessage},
    {"GET", "/v1/provisioning/{address}",
     [](AccountService&, DeviceLinks& l) { return TakeProvisioningMessage(l); }},
    {"POST", "/v1/devices/link-token", IssueLinkToken},
    {"POST", "/v1/devices", [](AccountService&, DeviceLinks& l) { return LinkDevice(l); }},
    {"GET", "/v1/devices", ListDevices},
    {"DELETE", "/v1/devices/{id}", RemoveDevice},
};

}  // namespace

void RegisterDeviceLinkRoutes(AccountService& accounts, DeviceLinks& links, net::Router& router) {
  for (const LinkRoute& r : kLinkRoutes) router.Handle(r.method, r.pattern, r.make(accounts, links));
}

void RegisterHttpRoutes(AccountService& accounts, net::Router& router) {
  for (const Route& r : kRoutes) router.Handle(r.method, r.pattern, r.make(accounts), r.work);
}

}  // namespace tandem::relay
