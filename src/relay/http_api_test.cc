// The relay's HTTP JSON API on a FakeClock: the routes it registers, the
// registration round trip, authentication, base64 fields and the Kyber
// prekey fields of uploads, bundles and counts.
#include "relay/http_api.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/encoding.h"
#include "crypto/keys.h"
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

TEST_F(HttpApiTest, KyberPrekeysAreUploadedCountedAndServed) {
  Identity alice_id, bob_id;
  Credentials alice = Register("+14155550123", &alice_id);
  Credentials bob = Register("+14155550199", &bob_id);
  auto b64 = [](const auto& bytes) { return Base64Encode(std::string(bytes.begin(), bytes.end())); };
  auto upload = [&](const Identity& id, bool kyber) {
    crypto::SignedPreKey spk = crypto::GenerateSignedPreKey(id.pair, 1, random_);
    json body = {{"signed_prekey",
                  {{"key_id", spk.id},
                   {"public_key", b64(spk.key_pair.public_key.Serialize())},
                   {"signature", b64(spk.signature)}}}};
    if (kyber) {
      crypto::KyberPreKey one_time = crypto::GenerateKyberPreKey(id.pair, 7, random_);
      crypto::KyberPreKey last_resort = crypto::GenerateKyberPreKey(id.pair, 8, random_);
      auto key_json = [&](const crypto::KyberPreKey& k) {
        return json{{"key_id", k.id},
                    {"public_key", b64(k.key_pair.public_key.Serialize())},
                    {"signature", b64(k.signature)}};
      };
      body["kyber_prekeys"] = json::array({key_json(one_time)});
      body["kyber_last_resort"] = key_json(last_resort);
    }
    return body;
  };
  json alice_keys = upload(alice_id, true);
  net::Response put = Call("PUT", "/v1/keys", alice_keys.dump(), BasicAuthorization(alice));
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(json::parse(put.body), json({{"one_time_prekeys", 0}, {"kyber_prekeys", 1}}));
  ASSERT_EQ(Call("PUT", "/v1/keys", upload(bob_id, false).dump(), BasicAuthorization(bob)).status, 200);

  net::Response first = Call("GET", "/v1/keys/+14155550123", "", BasicAuthorization(bob));
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(json::parse(first.body)["devices"][0]["kyber_prekey"], alice_keys["kyber_prekeys"][0]);
  net::Response second = Call("GET", "/v1/keys/+14155550123", "", BasicAuthorization(bob));
  EXPECT_EQ(json::parse(second.body)["devices"][0]["kyber_prekey"], alice_keys["kyber_last_resort"]);
  net::Response count = Call("GET", "/v1/keys/count", "", BasicAuthorization(alice));
  EXPECT_EQ(json::parse(count.body), json({{"one_time_prekeys", 0}, {"kyber_prekeys", 0}}));
  // A device without Kyber keys: null, so that the peer runs X3DH.
  net::Response old = Call("GET", "/v1/keys/+14155550199", "", BasicAuthorization(alice));
  ASSERT_EQ(old.status, 200) << old.body;
  EXPECT_TRUE(json::parse(old.body)["devices"][0]["kyber_prekey"].is_null()) << old.body;

  auto error = [&](const json& body) {
    net::Response r = Call("PUT", "/v1/keys", body.dump(), BasicAuthorization(alice));
    EXPECT_EQ(r.status, 400) << r.body;
    return json::parse(r.body)["error"]["message"].get<std::string>();
  };
  EXPECT_EQ(error({{"kyber_prekeys", "x"}}), "\"kyber_prekeys\" must be an array");
  EXPECT_EQ(error({{"kyber_prekeys", json::array({1})}}),
            "every entry of \"kyber_prekeys\" must be an object");
  EXPECT_EQ(error({{"kyber_last_resort", {{"key_id", 1}, {"public_key", "!"}, {"signature", ""}}}}),
            "\"public_key\" must be base64");
  json short_key = alice_keys;
  short_key["kyber_last_resort"]["public_key"] = Base64Encode(std::string(1568, '\x08'));
  EXPECT_EQ(error(short_key),
            "kyber_last_resort.public_key must be 1569 bytes: 0x08 followed by a Kyber-1024 public key (got "
            "1568 bytes)");
  json too_many = {{"kyber_prekeys", json::array()}};
  for (int i = 0; i < 101; ++i) too_many["kyber_prekeys"].push_back(alice_keys["kyber_prekeys"][0]);
  EXPECT_EQ(error(too_many), "at most 100 Kyber prekeys per request; got 101");
}

}  // namespace
}  // namespace tandem::relay
