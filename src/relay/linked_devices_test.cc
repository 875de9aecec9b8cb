// Linked devices through the relay's HTTP routes on a FakeClock: the whole
// link flow, expired codes and tokens, single use, the identity key check,
// who may remove which device, what a removal deletes (and what it leaves),
// input that stores nothing, and the per-address limits that come first.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "crypto/keys.h"
#include "relay/device_links.h"
#include "relay/http_api.h"
#include "relay/test_util.h"
#include "relay_protocol/protocol.h"

namespace tandem::relay {
namespace {

using nlohmann::json;

template <typename Bytes>
std::string Str(const Bytes& b) {
  return std::string(b.begin(), b.end());
}

class LinkedDevicesTest : public RelayTest {
 protected:
  void SetUp() override {
    RelayTest::SetUp();
    Route();
  }
  // The routes of the relay now open (again after a Reopen).
  void Route() {
    router_ = net::Router();
    relay_->RegisterRoutes(router_);
  }

  net::Response Call(const std::string& method, const std::string& path, const std::string& body = "",
                     const std::optional<Credentials>& who = std::nullopt,
                     const std::string& address = "10.0.0.1:5") {
    net::Request req;
    req.method = method;
    req.target = req.path = path;
    req.body = body;
    req.remote_address = address;
    if (who) req.headers.emplace_back("authorization", BasicAuthorization(*who));
    net::Response error;
    std::string route;
    const net::Router::Route* r = router_.Match(req, &error, &route);
    if (!r) return error;
    return r->handler(req);
  }

  static json Body(const net::Response& r) { return json::parse(r.body, nullptr, false); }
  static std::string ErrorCode(const net::Response& r) {
    json j = Body(r);
    return j.is_object() && j.contains("error") ? j["error"].value("code", "") : "";
  }
  static std::string ErrorMessage(const net::Response& r) {
    json j = Body(r);
    return j.is_object() && j.contains("error") ? j["error"].value("message", "") : "";
  }

  std::string NewAddress(const std::string& from = "10.0.0.9:1") {
    net::Response r = Call("POST", "/v1/provisioning", "", std::nullopt, from);
    EXPECT_EQ(r.status, 200) << r.body;
    return Body(r).value("address", "");
  }
  std::string NewToken(const Credentials& primary) {
    net::Response r = Call("POST", "/v1/devices/link-token", "", primary);
    EXPECT_EQ(r.status, 200) << r.body;
    return Body(r).value("token", "");
  }
  net::Response LinkWith(const std::string& token, const std::string& identity_key,
                         uint32_t registration_id = 77, const std::string& from = "10.0.0.9:1") {
    json body = {
        {"token", token}, {"registration_id", registration_id}, {"identity_key", Base64Encode(identity_key)}};
    return Call("POST", "/v1/devices", body.dump(), std::nullopt, from);
  }
  // Links a companion to `primary`'s account (identity `id`) and returns
  // its credentials.
  Credentials AddCompanion(const Credentials& primary, const Identity& id) {
    net::Response r = LinkWith(NewToken(primary), id.Public());
    EXPECT_EQ(r.status, 200) << r.body;
    json j = Body(r);
    return Credentials{j["account_id"].get<uint64_t>(), j["device_id"].get<uint32_t>(),
                       j["password"].get<std::string>()};
  }

  // A signed prekey, two one-time EC prekeys, one one-time Kyber prekey and
  // a last-resort one for `who`.
  void UploadKeys(const Credentials& who, const Identity& id) {
    AccountService::KeyUpload up;
    crypto::SignedPreKey spk = crypto::GenerateSignedPreKey(id.pair, 1, random_);
    up.signed_prekey =
        db::SignedPreKeyRow{spk.id, Str(spk.key_pair.public_key.Serialize()), Str(spk.signature)};
    for (const auto& k : crypto::GenerateOneTimePreKeys(1, 2, random_))
      up.one_time_prekeys.push_back({k.id, Str(k.key_pair.public_key.Serialize())});
    if (!kyber_) kyber_ = crypto::GenerateKyberPreKey(id.pair, 1, random_);
    db::KyberPreKeyRow row{kyber_->id, Str(kyber_->key_pair.public_key.Serialize()), Str(kyber_->signature)};
    up.kyber_prekeys.push_back(row);
    row.key_id = 2;
    up.kyber_last_resort = row;
    ASSERT_TRUE(accounts().UploadKeys(who, up).ok());
  }

  int64_t CountFor(const char* table, const Credentials& who) {
    return Count(absl::StrCat("SELECT COUNT(*) FROM ", table, " WHERE account_id = ", who.account_id,
                              " AND device_id = ", who.device_id));
  }

  void SubmitTo(const std::shared_ptr<FakeConnection>& conn, uint64_t request_id, const std::string& number,
                uint32_t device_id, const std::string& ciphertext) {
    relay_->StreamForTesting().OnMessage(
        conn,
        EncodeSubmit(request_id, absl::StrCat("m", request_id), RecipientByNumber(number, device_id),
                     pb::ENVELOPE_TYPE_SIGNAL_MESSAGE, ciphertext),
        true);
    auto r = conn->Next().value();
    ASSERT_TRUE(r.has_submit_result()) << r.DebugString();
  }

  net::Router router_;
  std::optional<crypto::KyberPreKey> kyber_;  // one generated key, signed by the first identity asked
};

constexpr char kAlice[] = "+14155550123";
constexpr char kBob[] = "+14155550199";

TEST_F(LinkedDevicesTest, EveryLinkRouteIsRegistered) {
  std::vector<std::string> routes;
  for (const auto& r : router_.routes()) routes.push_back(r.method + " " + r.pattern);
  for (const char* expected :
       {"POST /v1/provisioning", "PUT /v1/provisioning/{address}", "GET /v1/provisioning/{address}",
        "POST /v1/devices/link-token", "POST /v1/devices", "GET /v1/devices", "DELETE /v1/devices/{id}"}) {
    EXPECT_NE(std::find(routes.begin(), routes.end(), expected), routes.end()) << expected;
  }
}

TEST_F(LinkedDevicesTest, TheWholeFlowLinksACompanionThatCanLogIn) {
  Identity id;
  Credentials primary = Register(kAlice, &id);

  // The companion asks for an address and polls it.
  net::Response created = Call("POST", "/v1/provisioning", "", std::nullopt, "10.0.0.9:1");
  ASSERT_EQ(created.status, 200) << created.body;
  const std::string address = Body(created)["address"];
  EXPECT_EQ(address.size(), 32u);
  EXPECT_EQ(address.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(Body(created)["expires_in_seconds"], 600);
  net::Response waiting = Call("GET", "/v1/provisioning/" + address);
  ASSERT_EQ(waiting.status, 200) << waiting.body;
  EXPECT_EQ(Body(waiting), json({{"waiting", true}}));

  // The primary gets a token and stores the (opaque) message.
  net::Response token = Call("POST", "/v1/devices/link-token", "", primary);
  ASSERT_EQ(token.status, 200) << token.body;
  const std::string t = Body(token)["token"];
  EXPECT_EQ(t.size(), 64u);
  EXPECT_EQ(Body(token)["expires_in_seconds"], 600);
  net::Response put = Call("PUT", "/v1/provisioning/" + address,
                           json{{"message", Base64Encode(std::string("sealed"))}}.dump(), primary);
  ASSERT_EQ(put.status, 200) << put.body;
  net::Response again = Call("PUT", "/v1/provisioning/" + address,
                             json{{"message", Base64Encode(std::string("other"))}}.dump(), primary);
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_EQ(ErrorCode(again), "failed_precondition");

  // The companion takes it once.
  net::Response taken = Call("GET", "/v1/provisioning/" + address);
  ASSERT_EQ(taken.status, 200) << taken.body;
  EXPECT_EQ(Body(taken)["message"], Base64Encode(std::string("sealed")));
  net::Response gone = Call("GET", "/v1/provisioning/" + address);
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(ErrorCode(gone), "not_found");
  EXPECT_EQ(ErrorMessage(gone), "the link code is unknown or expired");

  // It registers with the token and is device 2 of the account.
  net::Response linked = LinkWith(t, id.Public(), 99);
  ASSERT_EQ(linked.status, 200) << linked.body;
  json j = Body(linked);
  EXPECT_EQ(j["account_id"], primary.account_id);
  EXPECT_EQ(j["device_id"], 2);
  EXPECT_EQ(j["number"], kAlice);
  Credentials companion{j["account_id"].get<uint64_t>(), 2, j["password"].get<std::string>()};
  EXPECT_EQ(j["login"], companion.Login());
  EXPECT_TRUE(accounts().Authenticate(companion).ok());
  EXPECT_TRUE(accounts().Authenticate(primary).ok());

  net::Response list = Call("GET", "/v1/devices", "", companion);
  ASSERT_EQ(list.status, 200) << list.body;
  json devices = Body(list)["devices"];
  ASSERT_EQ(devices.size(), 2u);
  EXPECT_EQ(devices[0]["device_id"], 1);
  EXPECT_EQ(devices[0]["registration_id"], 42);
  EXPECT_EQ(devices[1]["device_id"], 2);
  EXPECT_EQ(devices[1]["registration_id"], 99);
  EXPECT_EQ(devices[1]["created_ms"], absl::ToUnixMillis(clock_.Now()));
}

TEST_F(LinkedDevicesTest, ExpiredCodesAndTokensAreRefused) {
  Identity id;
  Credentials primary = Register(kAlice, &id);
  const std::string address = NewAddress();
  const std::string token = NewToken(primary);
  clock_.Advance(absl::Minutes(10) + absl::Seconds(1));
  net::Response put = Call("PUT", "/v1/provisioning/" + address,
                           json{{"message", Base64Encode(std::string("sealed"))}}.dump(), primary);
  EXPECT_EQ(put.status, 404) << put.body;
  EXPECT_EQ(ErrorMessage(put), "the link code is unknown or expired");
  net::Response poll = Call("GET", "/v1/provisioning/" + address);
  EXPECT_EQ(poll.status, 404);
  EXPECT_EQ(ErrorCode(poll), "not_found");
  net::Response linked = LinkWith(token, id.Public());
  EXPECT_EQ(linked.status, 403) << linked.body;
  EXPECT_EQ(ErrorMessage(linked), "the link token is unknown, used or expired");
  EXPECT_EQ(relay_->DirectoryForTesting().DevicesOf(primary.account_id).size(), 1u);

  // A message stored in time but not taken expires too.
  const std::string second = NewAddress();
  ASSERT_EQ(Call("PUT", "/v1/provisioning/" + second,
                 json{{"message", Base64Encode(std::string("x"))}}.dump(), primary)
                .status,
            200);
  clock_.Advance(absl::Minutes(11));
  EXPECT_EQ(Call("GET", "/v1/provisioning/" + second).status, 404);
}

TEST_F(LinkedDevicesTest, ATokenWorksOnceAndOnlyWithTheAccountsIdentityKey) {
  Identity id;
  Credentials primary = Register(kAlice, &id);
  const std::string token = NewToken(primary);
  Identity other{crypto::KeyPair::Generate(random_)};
  net::Response wrong = LinkWith(token, other.Public());
  EXPECT_EQ(wrong.status, 409) << wrong.body;
  EXPECT_EQ(ErrorCode(wrong), "failed_precondition");
  EXPECT_EQ(relay_->DirectoryForTesting().DevicesOf(primary.account_id).size(), 1u);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM devices"), 1);

  // The failed attempt left the token usable; the success uses it up.
  ASSERT_EQ(LinkWith(token, id.Public()).status, 200);
  net::Response used = LinkWith(token, id.Public());
  EXPECT_EQ(used.status, 403);
  EXPECT_EQ(ErrorMessage(used), "the link token is unknown, used or expired");
  EXPECT_EQ(LinkWith(std::string(64, 'a'), id.Public()).status, 403);

  // A new token replaces the previous one.
  const std::string first = NewToken(primary);
  const std::string second = NewToken(primary);
  EXPECT_EQ(LinkWith(first, id.Public()).status, 403);
  EXPECT_EQ(LinkWith(second, id.Public()).status, 200);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM devices"), 3);
}

TEST_F(LinkedDevicesTest, OnlyThePrimaryLinksAndTheCompanionsAreBounded) {
  Identity id;
  Credentials primary = Register(kAlice, &id);
  Credentials companion = AddCompanion(primary, id);
  EXPECT_EQ(Call("POST", "/v1/devices/link-token", "", companion).status, 403);
  const std::string address = NewAddress();
  net::Response put = Call("PUT", "/v1/provisioning/" + address,
                           json{{"message", Base64Encode(std::string("x"))}}.dump(), companion);
  EXPECT_EQ(put.status, 403);
  EXPECT_EQ(ErrorCode(put), "permission_denied");
  EXPECT_EQ(Call("POST", "/v1/devices/link-token").status, 401);
  EXPECT_EQ(Call("PUT", "/v1/provisioning/" + address, json{{"message", "eA=="}}.dump()).status, 401);

  for (size_t i = 1; i < AccountService::kMaxLinkedDevices; ++i) AddCompanion(primary, id);
  const std::string token = NewToken(primary);
  net::Response full = LinkWith(token, id.Public());
  EXPECT_EQ(full.status, 429) << full.body;
  EXPECT_EQ(ErrorCode(full), "resource_exhausted");
}

TEST_F(LinkedDevicesTest, ACompanionRemovesOnlyItselfAndThePrimaryIsNeverRemoved) {
  Identity id;
  Credentials primary = Register(kAlice, &id);
  Credentials second = AddCompanion(primary, id);
  Credentials third = AddCompanion(primary, id);
  net::Response other = Call("DELETE", "/v1/devices/3", "", second);
  EXPECT_EQ(other.status, 403) << other.body;
  EXPECT_EQ(ErrorCode(other), "permission_denied");
  net::Response first = Call("DELETE", "/v1/devices/1", "", second);
  EXPECT_EQ(first.status, 400);
  net::Response by_primary = Call("DELETE", "/v1/devices/1", "", primary);
  EXPECT_EQ(by_primary.status, 400);
  EXPECT_EQ(ErrorCode(by_primary), "invalid_argument");
  EXPECT_EQ(Call("DELETE", "/v1/devices/9", "", primary).status, 404);
  EXPECT_EQ(Call("DELETE", "/v1/devices/x2", "", primary).status, 400);
  EXPECT_EQ(Call("DELETE", "/v1/devices/+3", "", primary).status, 400);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM devices"), 3);

  EXPECT_EQ(Call("DELETE", "/v1/devices/2", "", second).status, 200);
  EXPECT_EQ(Call("DELETE", "/v1/devices/3", "", primary).status, 200);
  EXPECT_FALSE(accounts().Authenticate(third).ok());
  EXPECT_TRUE(accounts().Authenticate(primary).ok());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM devices"), 1);
}

TEST_F(LinkedDevicesTest, RemovalRevokesAtOnceAndDeletesOnlyTheDevicesRows) {
  Identity id;
  Credentials primary = Register(kAlice, &id);
  Credentials companion = AddCompanion(primary, id);
  Credentials kept = AddCompanion(primary, id);
  Credentials bob = Register(kBob);
  for (const Credentials& c : {primary, companion, kept}) UploadKeys(c, id);
  auto b = Connect(bob);
  b->Next();
  auto c = Connect(companion);
  c->Next();
  // Two envelopes for each of Alice's devices; the companion acknowledges
  // one of its own (its row waits for the purge).
  for (uint32_t device : {1u, 2u, 3u}) {
    SubmitTo(b, device * 10, kAlice, device, "c");
    SubmitTo(b, device * 10 + 1, kAlice, device, "c");
  }
  auto delivered = c->Next().value();
  ASSERT_TRUE(delivered.has_deliver());
  Ack(c, {delivered.deliver().envelope().server_id()});
  Flush();
  ASSERT_EQ(Count("SELECT COUNT(*) FROM envelopes"), 6);

  net::Response removed = Call("DELETE", "/v1/devices/2", "", primary);
  ASSERT_EQ(removed.status, 200) << removed.body;
  EXPECT_EQ(c->close_code(), kCloseRevoked);
  absl::Status login = accounts().Authenticate(companion);
  EXPECT_EQ(login.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(login.message().find("this device was removed"), std::string::npos) << login;
  net::Response refused = Call("GET", "/v1/devices", "", companion);
  EXPECT_EQ(refused.status, 401);

  for (const char* table :
       {"signed_prekeys", "one_time_prekeys", "kyber_prekeys", "kyber_last_resort_prekeys"}) {
    EXPECT_EQ(CountFor(table, companion), 0) << table;
    EXPECT_EQ(CountFor(table, primary), 1 + (std::string(table) == "one_time_prekeys")) << table;
    EXPECT_EQ(CountFor(table, kept), 1 + (std::string(table) == "one_time_prekeys")) << table;
  }
  EXPECT_EQ(Count("SELECT COUNT(*) FROM envelopes WHERE recipient_device = 2"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM envelopes"), 4);
  EXPECT_EQ(relay_->DirectoryForTesting().QueueDepth(primary.account_id, 1), 2);
  EXPECT_EQ(relay_->DirectoryForTesting().QueueDepth(primary.account_id, 3), 2);
  EXPECT_EQ(Count(absl::StrCat("SELECT COUNT(*) FROM devices WHERE account_id = ", primary.account_id)), 2);
  EXPECT_TRUE(accounts().Authenticate(kept).ok());

  // Senders are told the device is gone; the removal survives a restart,
  // with its message.
  relay_->StreamForTesting().OnMessage(
      b, EncodeSubmit(99, "m99", RecipientByNumber(kAlice, 2), pb::ENVELOPE_TYPE_SIGNAL_MESSAGE, "c"), true);
  auto e = b->Next().value();
  ASSERT_TRUE(e.has_error()) << e.DebugString();
  EXPECT_EQ(e.error().code(), "not_found");
  for (auto& conn : connections_) relay_->StreamForTesting().OnClose(conn);
  connections_.clear();
  Reopen();
  Route();
  login = accounts().Authenticate(companion);
  EXPECT_NE(login.message().find("this device was removed"), std::string::npos) << login;
  EXPECT_EQ(relay_->DirectoryForTesting().DevicesOf(primary.account_id).size(), 2u);
}

TEST_F(LinkedDevicesTest, ARemovedDevicesCopiesOfSharedBodiesGoAndTheBodyWithItsLastCopy) {
  options_.writer.purge_delay = absl::ZeroDuration();
  Reopen();
  Route();
  Identity id;
  Credentials primary = Register(kAlice, &id);
  Credentials companion = AddCompanion(primary, id);
  Credentials bob = Register(kBob);
  auto b = Connect(bob);
  b->Next();
  auto group = [&](uint64_t request_id, const std::string& cmid, std::vector<uint32_t> devices) {
    pb::MultiSubmit m;
    m.set_client_message_id(cmid);
    m.set_type(pb::ENVELOPE_TYPE_SENDER_KEY_MESSAGE);
    m.set_body(std::string(500, 'g'));
    pb::RecipientDevices* r = m.add_recipients();
    r->set_number(kAlice);
    for (uint32_t d : devices) {
      pb::DeviceCopy* c = r->add_devices();
      c->set_device_id(d);
      c->set_registration_id(d == 1 ? 42 : 77);
    }
    relay_->StreamForTesting().OnMessage(b, EncodeMultiSubmit(request_id, m), true);
    auto answer = b->Next().value();
    ASSERT_TRUE(answer.has_submit_result()) << answer.DebugString();
  };
  group(1, "first", {1, 2});
  group(2, "second", {1, 2});
  // The primary acknowledges its copy of the second: the companion's is
  // that body's last.
  auto a = Connect(primary);
  pb::ServerFrame first = a->Next().value();
  pb::ServerFrame second = a->Next().value();
  ASSERT_TRUE(first.has_deliver() && second.has_deliver()) << first.DebugString() << second.DebugString();
  Ack(a, {second.deliver().envelope().server_id()});
  Flush();
  ASSERT_EQ(Count("SELECT COUNT(*) FROM bodies"), 2);
  ASSERT_EQ(Count(kStoredCopiesSql), 3);

  ASSERT_EQ(Call("DELETE", "/v1/devices/2", "", primary).status, 200);
  // The second body went with its last copy; the first waits for the
  // primary's.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM bodies"), 1);
  EXPECT_EQ(Count(kStoredCopiesSql), 1);
  EXPECT_EQ(relay_->WriterForTesting().bodies_stored(), 1u);
  Ack(a, {first.deliver().envelope().server_id()});
  Flush();
  EXPECT_EQ(Count(kStoredCopiesSql), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM bodies"), 0);
  EXPECT_EQ(relay_->WriterForTesting().bodies_stored(), 0u);
}

TEST_F(LinkedDevicesTest, BadInputStoresNothing) {
  Identity id;
  Credentials primary = Register(kAlice, &id);
  const std::string address = NewAddress();
  auto put = [&](const std::string& body) {
    return Call("PUT", "/v1/provisioning/" + address, body, primary);
  };
  EXPECT_EQ(put("{}").status, 400);
  EXPECT_EQ(put(R"({"message": "not base64!"})").status, 400);
  EXPECT_EQ(put(R"({"message": ""})").status, 400);
  net::Response big = put(json{{"message", Base64Encode(std::string(16 * 1024 + 1, 'x'))}}.dump());
  EXPECT_EQ(big.status, 400) << big.body;
  EXPECT_EQ(Call("PUT", "/v1/provisioning/ABC", json{{"message", "eA=="}}.dump(), primary).status, 400);
  // Nothing was stored: the address still waits and takes a message.
  EXPECT_EQ(Body(Call("GET", "/v1/provisioning/" + address)), json({{"waiting", true}}));
  EXPECT_EQ(put(json{{"message", Base64Encode(std::string(16 * 1024, 'x'))}}.dump()).status, 200);
  EXPECT_EQ(Call("GET", "/v1/provisioning/" + std::string(32, 'g')).status, 400);

  const std::string token = NewToken(primary);
  EXPECT_EQ(Call("POST", "/v1/devices", R"({"token": 5})").status, 400);
  EXPECT_EQ(LinkWith(token, id.Public(), 0).status, 400);
  EXPECT_EQ(LinkWith(token, id.Public(), 16381).status, 400);
  EXPECT_EQ(LinkWith(token, "short").status, 409);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM devices"), 1);
  EXPECT_EQ(LinkWith(token, id.Public()).status, 200);
}

TEST_F(LinkedDevicesTest, RateLimitsComeBeforeAnyWork) {
  // 20 addresses, then one a minute (per client address, any port).
  for (int i = 0; i < 20; ++i) NewAddress(absl::StrCat("10.0.0.9:", i));
  const size_t pending = relay_->LinksForTesting().pending_addresses();
  net::Response limited = Call("POST", "/v1/provisioning", "", std::nullopt, "10.0.0.9:77");
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(ErrorCode(limited), "resource_exhausted");
  EXPECT_EQ(relay_->LinksForTesting().pending_addresses(), pending);
  // Registrations share that budget: a malformed request pays too.
  EXPECT_EQ(LinkWith(std::string(64, 'a'), "x", 1, "10.0.0.9:3").status, 429);
  NewAddress("10.0.0.8:1");  // another client is not limited
  clock_.Advance(absl::Minutes(1));
  NewAddress("10.0.0.9:1");

  // Polls: 60 at once, then one per 500 ms; limited before the address is
  // even parsed.
  for (int i = 0; i < 60; ++i)
    ASSERT_EQ(Call("GET", "/v1/provisioning/bad", "", std::nullopt, "10.0.0.7:1").status, 400);
  EXPECT_EQ(Call("GET", "/v1/provisioning/bad", "", std::nullopt, "10.0.0.7:1").status, 429);
  clock_.Advance(absl::Milliseconds(500));
  EXPECT_EQ(Call("GET", "/v1/provisioning/bad", "", std::nullopt, "10.0.0.7:1").status, 400);
}

TEST_F(LinkedDevicesTest, PendingAddressesAreBoundedInTotal) {
  options_.links.max_pending_addresses = 3;
  options_.links.links_per_address = RateLimit{1000, absl::Seconds(1)};
  Reopen();
  Route();
  for (int i = 0; i < 3; ++i) NewAddress();
  net::Response full = Call("POST", "/v1/provisioning");
  EXPECT_EQ(full.status, 429);
  EXPECT_EQ(ErrorCode(full), "resource_exhausted");
  clock_.Advance(absl::Minutes(10));
  NewAddress();  // the expired ones made room
}

}  // namespace
}  // namespace tandem::relay
