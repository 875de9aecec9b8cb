// End-to-end tests of the relay through the real tandemd binary (path in
// $TANDEMD), with several clients that encrypt with the Signal Protocol:
// online and offline delivery, ordering, encrypted receipts, re-registration
// key change, prekey exhaustion, account deletion, bad input, the SMS gateway
// sender, a kill -9 crash during sends, and a scan of the relay's database
// files for the plaintexts that were sent.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <set>
#include <thread>

#include "common/random.h"
#include "net/server.h"
#include "relay_test_support.h"

namespace tandem::relay::testing {
namespace {

std::string TandemdPath() {
  const char* p = std::getenv("TANDEMD");
  return p ? p : "";
}

class RelayE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    if (TandemdPath().empty()) GTEST_SKIP() << "set TANDEMD to the tandemd binary";
    work_ = std::filesystem::temp_directory_path() /
            absl::StrCat("relay_e2e_", getpid(), "_",
                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(work_);
    server_ = std::make_unique<Tandemd>(TandemdPath(), work_, extra_);
    ASSERT_TRUE(server_->Start()) << "tandemd did not start; see " << (work_ / "tandemd.log");
  }
  void TearDown() override {
    users_.clear();
    if (server_) server_->Kill(SIGTERM);
    if (!HasFailure()) std::filesystem::remove_all(work_);
  }

  // With `kyber`, the user publishes Kyber prekeys too: peers start
  // version 4 sessions with it.
  TestUser& NewUser(const std::string& number, int prekeys = 10, bool kyber = true) {
    users_.push_back(std::make_unique<TestUser>(server_->address(), server_->data_dir(), number, random_));
    TestUser& u = *users_.back();
    absl::Status st = u.Register();
    EXPECT_TRUE(st.ok()) << number << ": " << st;
    if (prekeys > 0) {
      st = u.UploadKeys(prekeys, 1, kyber);
      EXPECT_TRUE(st.ok()) << st;
    }
    return u;
  }

  int HttpStatus(const std::string& method, const std::string& target, const std::string& body,
                 const net::Headers& headers = {}) {
    net::HttpClient http(server_->address());
    auto res = http.Request(method, target, body, headers);
    return res.ok() ? res->status : -1;
  }

  std::vector<std::string> extra_;
  std::filesystem::path work_;
  std::unique_ptr<Tandemd> server_;
  SecureRandom& random_ = SecureRandom::Instance();
  std::vector<std::unique_ptr<TestUser>> users_;
};

TEST_F(RelayE2E, ThreeClientsOnlineOfflineOrderReceiptsAndNoPlaintextInTheDatabase) {
  TestUser& alice = NewUser("+14155550101");
  TestUser& bob = NewUser("+14155550102");
  TestUser& carol = NewUser("+14155550103");
  ASSERT_TRUE(alice.Connect().ok());
  ASSERT_TRUE(carol.Connect().ok());
  ASSERT_TRUE(alice.Receive(0, true).ok());
  ASSERT_TRUE(carol.Receive(0, true).ok());

  std::vector<std::string> plaintexts;
  // Bob is offline: five messages queue up for him.
  for (int i = 0; i < 5; ++i) {
    plaintexts.push_back(absl::StrCat("secret-for-bob-", i, "-", random_.Hex(6)));
    auto r = alice.SendText(bob.number(), plaintexts.back());
    ASSERT_TRUE(r.ok()) << r.status();
  }
  // Carol is online: delivered at once.
  plaintexts.push_back("secret-for-carol-" + random_.Hex(6));
  ASSERT_TRUE(alice.SendText(carol.number(), plaintexts.back()).ok());
  auto at_carol = carol.Receive(1);
  ASSERT_TRUE(at_carol.ok()) << at_carol.status();
  auto text = carol.Decrypt((*at_carol)[0]);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, plaintexts.back());
  EXPECT_EQ(alice.SessionVersion(carol.number()), 4u) << "Carol's bundle had a Kyber prekey: PQXDH";
  EXPECT_EQ(carol.SessionVersion(alice.number()), 4u);

  // Bob connects: the backlog arrives in order, then QueueEmpty.
  ASSERT_TRUE(bob.Connect().ok());
  auto backlog = bob.Receive(5, true);
  ASSERT_TRUE(backlog.ok()) << backlog.status();
  ASSERT_EQ(backlog->size(), 5u);
  for (int i = 0; i < 5; ++i) {
    auto t = bob.Decrypt((*backlog)[i]);
    ASSERT_TRUE(t.ok()) << t.status();
    EXPECT_EQ(*t, plaintexts[i]) << "out of order at " << i;
    EXPECT_EQ((*backlog)[i].sender_number(), alice.number());
    if (i > 0) {
      EXPECT_GT((*backlog)[i].server_id(), (*backlog)[i - 1].server_id());
    }
  }
  EXPECT_EQ(bob.SessionVersion(alice.number()), 4u);
  // Bob answers with an encrypted read receipt; Alice gets it.
  std::string receipt = absl::StrCat("read-receipt:", (*backlog)[4].server_id(), ":", random_.Hex(6));
  plaintexts.push_back(receipt);
  auto ct = bob.Encrypt(alice.number(), receipt);
  ASSERT_TRUE(ct.ok());
  ASSERT_TRUE(bob.Submit(alice.number(), pb::ENVELOPE_TYPE_RECEIPT, ToString(ct->bytes)).ok());
  auto at_alice = alice.Receive(1);
  ASSERT_TRUE(at_alice.ok()) << at_alice.status();
  EXPECT_EQ((*at_alice)[0].type(), pb::ENVELOPE_TYPE_RECEIPT);
  auto r = alice.Decrypt((*at_alice)[0]);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, receipt);

  // Usage: Alice opened one session and sent 6 messages (receipts do not count).
  auto usage = alice.http().Get("/v1/account/usage", alice.Auth());
  ASSERT_TRUE(usage.ok());
  auto uj = nlohmann::json::parse(usage->body);
  ASSERT_EQ(uj["usage"].size(), 1u);
  EXPECT_EQ(uj["usage"][0]["sessions"], 1);
  EXPECT_EQ(uj["usage"][0]["messages"], 6);

  // Stop the server cleanly and also scan after a kill: no plaintext anywhere.
  server_->Kill(SIGKILL);
  auto files = RelayDatabaseFiles(server_->data_dir());
  ASSERT_FALSE(files.empty());
  size_t scanned = 0;
  for (const auto& f : files) {
    scanned += std::filesystem::file_size(f);
    for (const auto& p : plaintexts) EXPECT_EQ(CountInFile(f, p), 0u) << p << " found in " << f;
  }
  EXPECT_GT(scanned, 0u);
  // The scan itself works: the ciphertext-only sender number is there.
  size_t numbers = 0;
  for (const auto& f : files) numbers += CountInFile(f, alice.number());
  EXPECT_GT(numbers, 0u);
}

TEST_F(RelayE2E, ReregistrationIsAKeyChangePeersSee) {
  TestUser& alice = NewUser("+14155550111");
  TestUser& bob = NewUser("+14155550112");
  auto before = alice.FetchBundleJson(bob.number());
  ASSERT_TRUE(before.ok());
  Credentials old = bob.credentials();
  ASSERT_TRUE(bob.Connect().ok());
  ASSERT_TRUE(bob.Receive(0, true).ok());
  bob.NewIdentity();
  ASSERT_TRUE(bob.Register().ok());
  EXPECT_EQ(bob.credentials().account_id, old.account_id);
  ASSERT_TRUE(bob.UploadKeys(5).ok());
  auto after = alice.FetchBundleJson(bob.number());
  ASSERT_TRUE(after.ok());
  EXPECT_NE((*before)["identity_key"], (*after)["identity_key"]);
  EXPECT_GE((*after)["identity_changed_ms"].get<int64_t>(), (*before)["identity_changed_ms"].get<int64_t>());
  // The old connection was closed, the old credentials are refused.
  for (int i = 0; i < 100 && !bob.ws()->closed(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(bob.ws()->close_code(), kCloseRevoked);
  auto ws =
      net::WebSocketClient::Connect(TestUser::runtime(), server_->address(), std::string(kWebSocketPath),
                                    {{"Authorization", BasicAuthorization(old)}});
  EXPECT_EQ(ws.status().code(), absl::StatusCode::kUnauthenticated);
  // A new session with the new key works.
  ASSERT_TRUE(bob.Connect().ok());
  ASSERT_TRUE(alice.Connect().ok());
  ASSERT_TRUE(alice.SendText(bob.number(), "after the key change").ok());
  auto got = bob.Receive(1);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*bob.Decrypt((*got)[0]), "after the key change");
}

TEST_F(RelayE2E, PreKeyExhaustionStillAllowsSessions) {
  TestUser& alice = NewUser("+14155550121");
  TestUser& bob = NewUser("+14155550122", 2);
  TestUser& carol = NewUser("+14155550123");
  std::vector<bool> had;
  std::vector<uint32_t> kyber_ids;
  for (int i = 0; i < 3; ++i) {
    auto b = carol.FetchBundleJson(bob.number());
    ASSERT_TRUE(b.ok()) << b.status();
    had.push_back(!(*b)["devices"][0]["one_time_prekey"].is_null());
    kyber_ids.push_back((*b)["devices"][0]["kyber_prekey"]["key_id"].get<uint32_t>());
  }
  EXPECT_EQ(had, (std::vector<bool>{true, true, false}));
  EXPECT_EQ(kyber_ids, (std::vector<uint32_t>{1, 2, TestUser::kKyberLastResortId}))
      << "one-time Kyber prekeys, then the last-resort one";
  auto count = bob.http().Get("/v1/keys/count", bob.Auth());
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(nlohmann::json::parse(count->body),
            nlohmann::json({{"one_time_prekeys", 0}, {"kyber_prekeys", 0}}));
  // Alice starts a session from a bundle without a one-time prekey, on
  // the last-resort Kyber prekey, which Bob keeps.
  ASSERT_TRUE(alice.Connect().ok());
  ASSERT_TRUE(bob.Connect().ok());
  ASSERT_TRUE(alice.SendText(bob.number(), "no one-time prekey left").ok());
  auto got = bob.Receive(1, true);
  ASSERT_TRUE(got.ok()) << got.status();
  auto t = bob.Decrypt((*got)[0]);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*t, "no one-time prekey left");
  EXPECT_EQ(alice.SessionVersion(bob.number()), 4u);
  EXPECT_EQ(bob.SessionVersion(alice.number()), 4u);
  EXPECT_EQ(bob.KyberPreKeysHeld(), 3u) << "the last-resort key is not deleted for its use";
  // Replenish.
  ASSERT_TRUE(bob.UploadKeys(3, 100).ok());
  count = bob.http().Get("/v1/keys/count", bob.Auth());
  EXPECT_EQ(nlohmann::json::parse(count->body),
            nlohmann::json({{"one_time_prekeys", 3}, {"kyber_prekeys", 3}}));
}

// A device that never published Kyber prekeys (as before PQXDH): its
// bundle has "kyber_prekey": null and sessions with it are version 3.
TEST_F(RelayE2E, APeerWithoutKyberPreKeysGetsAVersion3Session) {
  TestUser& alice = NewUser("+14155550124");
  TestUser& bob = NewUser("+14155550125", 10, /*kyber=*/false);
  auto bundle = alice.FetchBundleJson(bob.number());
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  EXPECT_TRUE((*bundle)["devices"][0]["kyber_prekey"].is_null()) << bundle->dump();
  auto count = bob.http().Get("/v1/keys/count", bob.Auth());
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(nlohmann::json::parse(count->body),
            nlohmann::json({{"one_time_prekeys", 9}, {"kyber_prekeys", 0}}));
  ASSERT_TRUE(alice.Connect().ok());
  ASSERT_TRUE(bob.Connect().ok());
  ASSERT_TRUE(alice.SendText(bob.number(), "classic").ok());
  auto got = bob.Receive(1, true);
  ASSERT_TRUE(got.ok()) << got.status();
  auto t = bob.Decrypt((*got)[0]);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*t, "classic");
  EXPECT_EQ(alice.SessionVersion(bob.number()), 3u);
  EXPECT_EQ(bob.SessionVersion(alice.number()), 3u);
}

TEST_F(RelayE2E, AccountDeletionRemovesTheAccount) {
  TestUser& alice = NewUser("+14155550131");
  TestUser& bob = NewUser("+14155550132");
  ASSERT_TRUE(alice.Connect().ok());
  ASSERT_TRUE(alice.SendText(bob.number(), "queued before deletion").ok());
  auto res = bob.http().Request("DELETE", "/v1/account", "", bob.Auth());
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(HttpStatus("GET", "/v1/account", "", bob.Auth()), 401);
  auto d = alice.http().Post("/v1/directory", R"({"numbers":["+14155550132","+14155550131"]})", alice.Auth());
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(nlohmann::json::parse(d->body)["registered"], nlohmann::json::array({"+14155550131"}));
  auto sent = alice.Submit(bob.number(), pb::ENVELOPE_TYPE_SIGNAL_MESSAGE, "x");
  EXPECT_EQ(sent.status().code(), absl::StatusCode::kNotFound) << sent.status();
  EXPECT_EQ(HttpStatus("GET", "/v1/keys/+14155550132", "", alice.Auth()), 404);
}

TEST_F(RelayE2E, BadInputGetsClearErrorsAndTheServerKeepsServing) {
  TestUser& alice = NewUser("+14155550141");
  TestUser& bob = NewUser("+14155550142");
  ASSERT_TRUE(alice.Connect().ok());
  ASSERT_TRUE(bob.Connect().ok());
  ASSERT_TRUE(bob.Receive(0, true).ok());

  // Invalid phone numbers.
  net::HttpClient http(server_->address());
  auto res = http.Post("/v1/registration/code", R"({"number":"+1 555"})");
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 400);
  EXPECT_NE(res->body.find("invalid_argument"), std::string::npos) << res->body;
  EXPECT_EQ(HttpStatus("POST", "/v1/registration/code", "not json"), 400);
  EXPECT_EQ(HttpStatus("POST", "/v1/registration/verify", R"({"number":"+14155550141","code":"1"})"), 400);
  // Missing and bad credentials, HTTP and WebSocket.
  EXPECT_EQ(HttpStatus("GET", "/v1/keys/count", ""), 401);
  EXPECT_EQ(HttpStatus("GET", "/v1/keys/count", "", {{"Authorization", "Basic Zm9vOmJhcg=="}}), 401);
  Credentials wrong = alice.credentials();
  wrong.password = std::string(64, '0');
  EXPECT_EQ(HttpStatus("PUT", "/v1/keys", "{}", {{"Authorization", BasicAuthorization(wrong)}}), 401);
  auto ws =
      net::WebSocketClient::Connect(TestUser::runtime(), server_->address(), std::string(kWebSocketPath));
  EXPECT_EQ(ws.status().code(), absl::StatusCode::kUnauthenticated);
  ws = net::WebSocketClient::Connect(TestUser::runtime(), server_->address(),
                                     WebSocketTargetWithCredentials(wrong));
  EXPECT_EQ(ws.status().code(), absl::StatusCode::kUnauthenticated);
  // Credentials in the query work (for browsers). This second connection of
  // Alice's device replaces the first, which is closed with kCloseReplaced.
  ws = net::WebSocketClient::Connect(TestUser::runtime(), server_->address(),
                                     WebSocketTargetWithCredentials(alice.credentials()));
  EXPECT_TRUE(ws.ok()) << ws.status();
  for (int i = 0; i < 200 && !alice.ws()->closed(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(alice.ws()->close_code(), kCloseReplaced);
  ws->reset();
  ASSERT_TRUE(alice.Connect().ok());

  // Oversized envelope and unknown recipient: errors, nothing stored.
  auto big =
      alice.Submit(bob.number(), pb::ENVELOPE_TYPE_SIGNAL_MESSAGE, std::string(kMaxCiphertextBytes + 1, 'x'));
  EXPECT_EQ(big.status().code(), absl::StatusCode::kOutOfRange) << big.status();
  auto unknown = alice.Submit("+14155550149", pb::ENVELOPE_TYPE_SIGNAL_MESSAGE, "x");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound) << unknown.status();
  auto bad_number = alice.Submit("0049", pb::ENVELOPE_TYPE_SIGNAL_MESSAGE, "x");
  EXPECT_EQ(bad_number.status().code(), absl::StatusCode::kInvalidArgument) << bad_number.status();
  // A frame without a body gets an error and the connection stays.
  alice.SendFrame(pb::ClientFrame().SerializeAsString());
  auto err = alice.Next();
  ASSERT_TRUE(err.ok());
  EXPECT_TRUE(err->has_error());
  // A message bigger than the server's frame limit closes with 1009; garbage with 1007.
  TestUser& mallory = NewUser("+14155550143", 0);
  ASSERT_TRUE(mallory.Connect().ok());
  mallory.SendFrame(std::string("\x0a\xff\xff\xff\xff\x0f", 6));
  for (int i = 0; i < 200 && !mallory.ws()->closed(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(mallory.ws()->close_code(), 1007);
  ASSERT_TRUE(mallory.Connect().ok());
  mallory.SendFrame(std::string(2 << 20, 'x'));
  for (int i = 0; i < 200 && !mallory.ws()->closed(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(mallory.ws()->closed());

  // Nothing was queued for Bob by any of that; the server still delivers.
  ASSERT_TRUE(alice.SendText(bob.number(), "still serving").ok());
  auto got = bob.Receive(1);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->size(), 1u);
  EXPECT_EQ(*bob.Decrypt((*got)[0]), "still serving");
  EXPECT_EQ(HttpStatus("GET", "/healthz", ""), 200);
}

// The SMS-gateway sender posts to a local HTTP server standing in for the gateway.
class RelayGatewayE2E : public RelayE2E {
 protected:
  void SetUp() override {
    net::Router router;
    router.Post("/sms", [this](net::Request& req) {
      std::lock_guard lock(mu_);
      posts_.push_back(nlohmann::json::parse(req.body));
      return fail_ ? net::Response::Text("down", 500) : net::Response::Json({{"queued", true}});
    });
    gateway_ =
        std::make_unique<net::Server>(net::ServerOptions{"127.0.0.1:0", 1}, std::move(router), metrics_);
    ASSERT_TRUE(gateway_->Start().ok());
    extra_ = {"relay.code_sender=http",
              absl::StrCat("relay.sms_gateway_url=http://127.0.0.1:", gateway_->port(), "/sms")};
    RelayE2E::SetUp();
  }
  void TearDown() override {
    RelayE2E::TearDown();
    gateway_->Stop();
  }
  net::Metrics metrics_;
  std::unique_ptr<net::Server> gateway_;
  std::mutex mu_;
  std::vector<nlohmann::json> posts_;
  std::atomic<bool> fail_{false};
};

TEST_F(RelayGatewayE2E, CodesGoToTheGateway) {
  net::HttpClient http(server_->address());
  auto res = http.Post("/v1/registration/code", R"({"number":"415 555 0151","region":"US"})");
  ASSERT_TRUE(res.ok());
  ASSERT_EQ(res->status, 200) << res->body;
  std::string code;
  {
    std::lock_guard lock(mu_);
    ASSERT_EQ(posts_.size(), 1u);
    EXPECT_EQ(posts_[0]["to"], "+14155550151");
    code = posts_[0]["code"];
    EXPECT_NE(posts_[0]["message"].get<std::string>().find(code), std::string::npos);
  }
  EXPECT_FALSE(std::filesystem::exists(server_->data_dir() / "verification-codes.log"));
  SecureRandom& rnd = SecureRandom::Instance();
  auto ik = crypto::KeyPair::Generate(rnd).public_key.Serialize();
  nlohmann::json body = {{"number", "+14155550151"},
                         {"code", code},
                         {"identity_key", absl::Base64Escape(ToString(ik))},
                         {"registration_id", 7}};
  res = http.Post("/v1/registration/verify", body.dump());
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 200) << res->body;
  // A failing gateway is reported as unavailable.
  fail_ = true;
  res = http.Post("/v1/registration/code", R"({"number":"+14155550152"})");
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 503) << res->body;
}

// kill -9 while two clients submit; restart on the same data directory;
// clients resubmit whatever was not acknowledged (same client message ids).
// Every acknowledged envelope is delivered, and after dropping repeated
// server ids (as clients do) each message arrives exactly once.
TEST_F(RelayE2E, KillNineDuringSendsLosesNothingAcknowledged) {
  TestUser& r = NewUser("+14155550161", 0);
  Credentials recipient = r.credentials();
  std::vector<Credentials> senders;
  for (int i = 0; i < 2; ++i) senders.push_back(NewUser(absl::StrCat("+1415555017", i), 0).credentials());

  constexpr int kPerSender = 400;
  std::mutex mu;
  std::map<std::string, uint64_t> acked;  // client message id -> server id
  std::atomic<bool> crashed{false};
  auto run_sender = [&](int s, int from, std::atomic<int>* next) {
    auto ws =
        net::WebSocketClient::Connect(TestUser::runtime(), server_->address(), std::string(kWebSocketPath),
                                      {{"Authorization", BasicAuthorization(senders[s])}});
    if (!ws.ok()) return;
    // Pipelined: up to 32 submits in flight.
    int sent = from, in_flight = 0;
    while (*next < kPerSender) {
      while (in_flight < 32 && sent < kPerSender) {
        std::string id = absl::StrCat("s", s, "-", sent);
        (*ws)->Send(EncodeSubmit(sent, id, RecipientByAccount(recipient.account_id),
                                 pb::ENVELOPE_TYPE_SIGNAL_MESSAGE, "payload-" + id));
        ++sent;
        ++in_flight;
      }
      auto m = (*ws)->Receive(absl::Seconds(5));
      if (!m.ok()) return;  // the server died
      auto f = DecodeServerFrame(m->data);
      if (!f.ok() || !f->has_submit_result()) continue;
      --in_flight;
      std::lock_guard lock(mu);
      acked[f->submit_result().client_message_id()] = f->submit_result().server_id();
      ++*next;
    }
  };
  std::vector<std::atomic<int>> progress(2);
  {
    std::vector<std::thread> threads;
    for (int s = 0; s < 2; ++s) threads.emplace_back(run_sender, s, 0, &progress[s]);
    // Kill once some, but not all, were acknowledged.
    for (int i = 0; i < 1000; ++i) {
      {
        std::lock_guard lock(mu);
        if (acked.size() >= 150) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    server_->Kill(SIGKILL);
    crashed = true;
    for (auto& t : threads) t.join();
  }
  size_t acked_before_crash;
  {
    std::lock_guard lock(mu);
    acked_before_crash = acked.size();
  }
  ASSERT_GT(acked_before_crash, 0u);
  ASSERT_LT(acked_before_crash, 2u * kPerSender) << "the crash came too late to mean anything";
  std::map<std::string, uint64_t> before = acked;

  ASSERT_TRUE(server_->Start());
  // Resubmit everything from the start (a client resubmits all it has no
  // SubmitResult for; resubmitting acknowledged ones too is the harder case).
  for (int s = 0; s < 2; ++s) {
    std::atomic<int> n{0};
    run_sender(s, 0, &n);
    ASSERT_EQ(n.load(), kPerSender);
  }
  {
    std::lock_guard lock(mu);
    for (const auto& [id, server_id] : before) {
      EXPECT_EQ(acked[id], server_id) << id << " got a new server id after the restart";
    }
  }
  // The recipient drains its queue.
  auto ws =
      net::WebSocketClient::Connect(TestUser::runtime(), server_->address(), std::string(kWebSocketPath),
                                    {{"Authorization", BasicAuthorization(recipient)}});
  ASSERT_TRUE(ws.ok()) << ws.status();
  std::set<uint64_t> server_ids;
  std::map<std::string, int> by_payload;
  bool empty = false;
  while (!empty) {
    auto m = (*ws)->Receive(absl::Seconds(10));
    ASSERT_TRUE(m.ok()) << m.status() << " after " << server_ids.size();
    auto f = DecodeServerFrame(m->data);
    ASSERT_TRUE(f.ok());
    if (f->has_queue_empty()) {
      empty = true;
      continue;
    }
    if (!f->has_deliver()) continue;
    const auto& e = f->deliver().envelope();
    uint64_t id = e.server_id();
    (*ws)->Send(EncodeAck(std::vector<uint64_t>{id}));
    if (!server_ids.insert(id).second) continue;  // client-side dedup by server id
    ++by_payload[e.ciphertext()];
  }
  EXPECT_EQ(by_payload.size(), 2u * kPerSender);
  for (const auto& [payload, n] : by_payload) EXPECT_EQ(n, 1) << payload << " delivered under two server ids";
  for (const auto& [id, server_id] : before) {
    EXPECT_EQ(by_payload.count("payload-" + id), 1u)
        << id << " was acknowledged before the crash but not delivered";
  }
}

}  // namespace
}  // namespace tandem::relay::testing
