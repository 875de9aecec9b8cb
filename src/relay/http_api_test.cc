// The relay's HTTP JSON API on a FakeClock: the routes it registers, the
// registration round trip, authentication and base64 fields.
#include "relay/http_api.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/encoding.h"
#include "relay/test_util.h"

namespace tandem::relay {
namespace {

using nlohmann::json;

class HttpApiTest : public RelayTest {
 protected:
  void SetUp() override {
    RelayTest::SetUp();
    relay_->RegisterRoutes(router_);
  }

  net::Response Call(const std::string& method, const std::string& path, const std::string& body = "",
                     const std::string& authorization = "") {
    net::Request req;
    req.method = method;
    req.target = req.path = path;
    req.body = body;
    req.remote_address = "10.0.0.1:5";
    if (!authorization.empty()) req.headers.emplace_back("authorization", authorization);
    net::Response error;
    std::string route;
    const net::Router::Route* r = router_.Match(req, &error, &route);
    if (!r) return error;
    return r->handler(req);
  }

  net::Router router_;
};

TEST_F(HttpApiTest, EveryRouteIsRegistered) {
  std::vector<std::string> routes;
  for (const auto& r : router_.routes()) routes.push_back(r.method + " " + r.pattern);
  for (const char* expected :
       {"POST /v1/registration/code", "POST /v1/registration/verify", "GET /v1/account",
        "GET /v1/account/usage", "DELETE /v1/account", "PUT /v1/keys", "GET /v1/keys/count",
        "GET /v1/keys/{number}", "POST /v1/directory"}) {
    EXPECT_NE(std::find(routes.begin(), routes.end(), expected), routes.end()) << expected;
  }
}

TEST_F(HttpApiTest, RegistrationRoundTripAndAuthentication) {
  net::Response code = Call("POST", "/v1/registration/code", R"({"number":"+14155550123"})");
  ASSERT_EQ(code.status, 200) << code.body;
  EXPECT_EQ(json::parse(code.body)["number"], "+14155550123");

  Identity id{crypto::KeyPair::Generate(random_)};
  json verify = {{"number", "+14155550123"},
                 {"code", sender_->CodeFor("+14155550123")},
                 {"identity_key", Base64Encode(id.Public())},
                 {"registration_id", 42}};
  net::Response verified = Call("POST", "/v1/registration/verify", verify.dump());
  ASSERT_EQ(verified.status, 200) << verified.body;
  json creds = json::parse(verified.body);
  Credentials c{creds["account_id"].get<uint64_t>(), creds["device_id"].get<uint32_t>(),
                creds["password"].get<std::string>()};

  net::Response account = Call("GET", "/v1/account", "", BasicAuthorization(c));
  ASSERT_EQ(account.status, 200) << account.body;
  EXPECT_EQ(json::parse(account.body)["identity_key"], Base64Encode(id.Public()));

  c.password = "wrong";
  EXPECT_EQ(Call("GET", "/v1/account", "", BasicAuthorization(c)).status, 401);
  EXPECT_EQ(Call("GET", "/v1/account").status, 401);
}

TEST_F(HttpApiTest, BinaryFieldsMustBeBase64) {
  ASSERT_EQ(Call("POST", "/v1/registration/code", R"({"number":"+14155550123"})").status, 200);
  json verify = {{"number", "+14155550123"},
                 {"code", sender_->CodeFor("+14155550123")},
                 {"identity_key", "not base64!"},
                 {"registration_id", 42}};
  net::Response r = Call("POST", "/v1/registration/verify", verify.dump());
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body)["error"]["message"], "\"identity_key\" must be base64") << r.body;
}

}  // namespace
}  // namespace tandem::relay
