// The linking helpers against a relay in this process (the in-process
// transport on a FakeClock): link codes and their errors, the sealed
// provision, a companion linked end to end, listed and removed, an expired
// code and a provisioning message that was tampered with.
#include "client/device_link.h"

#include <gtest/gtest.h>
#include <sodium.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "client/in_process_transport.h"
#include "common/clock.h"
#include "common/encoding.h"
#include "common/random.h"
#include "net/metrics.h"
#include "net/server.h"
#include "relay/accounts.h"
#include "relay/message_stream.h"
#include "relay/relay.h"
#include "relay_protocol/protocol.h"
#include "testing/capturing_sender.h"

namespace tandem::client {
namespace {

using nlohmann::json;
using ::tandem::testing::CapturingSender;

constexpr char kAlice[] = "+14155550123";
constexpr char kServer[] = "relay.test:443";  // the in-process transport ignores it

class DeviceLinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / absl::StrCat("device_link_test_", getpid(), "_", counter_++);
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    relay::RelayOptions options;
    options.writer.commit_gap = absl::ZeroDuration();
    auto storage = relay::Relay::OpenSqliteStorage((dir_ / "messenger.db").string(), store::SqliteOptions{},
                                                   options, metrics_, clock_);
    ASSERT_TRUE(storage.ok()) << storage.status();
    auto sender = std::make_unique<CapturingSender>();
    sender_ = sender.get();
    auto r = relay::Relay::Create(std::move(*storage), std::move(sender), options, metrics_, clock_,
                                  relay_random_);
    ASSERT_TRUE(r.ok()) << r.status();
    relay_ = *std::move(r);
    relay_->RegisterRoutes(router_);
    transport_ = std::make_unique<InProcessTransport>(router_, clock_);
    transport_->AddWebSocket(std::string(relay::kWebSocketPath), relay_->StreamForTesting());
  }

  void TearDown() override {
    transport_.reset();
    if (relay_) relay_->Stop();
    relay_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Registers Alice's primary device; its identity in identity_.
  relay::Credentials RegisterPrimary() {
    identity_ = crypto::KeyPair::Generate(random_);
    auto pub = identity_.public_key.Serialize();
    EXPECT_TRUE(relay_->accounts().RequestCode(kAlice, "", "10.0.0.1:1").ok());
    relay::AccountService::VerifyRequest v{
        kAlice, "", sender_->CodeFor(kAlice), std::string(pub.begin(), pub.end()), 42, "10.0.0.1:1"};
    auto registered = relay_->accounts().Verify(v);
    EXPECT_TRUE(registered.ok()) << registered.status();
    return registered.ok() ? registered->credentials : relay::Credentials{};
  }

  ProvisionData DataFor(const relay::Credentials& primary) {
    return ProvisionData{kAlice, primary.account_id, identity_, ""};
  }

  static inline int counter_ = 0;
  std::filesystem::path dir_;
  FakeClock clock_;
  SeededRandom random_{11};
  SeededRandom relay_random_{12};
  net::Metrics metrics_;
  CapturingSender* sender_ = nullptr;
  std::unique_ptr<relay::Relay> relay_;
  net::Router router_;
  std::unique_ptr<InProcessTransport> transport_;
  crypto::IdentityKeyPair identity_;
};

TEST(LinkCodeTest, RoundTripsAndSaysWhatIsWrong) {
  LinkCode code;
  code.address = "00112233445566778899aabbccddeeff";
  for (size_t i = 0; i < code.public_key.size(); ++i) code.public_key[i] = static_cast<uint8_t>(250 - i);
  auto text = EncodeLinkCode(code);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(text->rfind("tandem-link:", 0), 0u);
  EXPECT_EQ(text->size(), std::string("tandem-link:").size() + 64);  // 48 bytes, no padding
  EXPECT_EQ(text->find_first_of("+/="), std::string::npos);
  auto parsed = ParseLinkCode("  " + *text + "\n");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->address, code.address);
  EXPECT_EQ(parsed->public_key, code.public_key);

  const std::string body = text->substr(12);
  struct Case {
    std::string input;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {"tandem-lnk:" + body, "a link code begins with \"tandem-link:\""},
           {body, "a link code begins with \"tandem-link:\""},
           {"tandem-link:" + body.substr(0, 40),
            "the link code holds 30 bytes; a complete one holds 48 (was it cut short?)"},
           {"tandem-link:" + body + "AAAA",
            "the link code is too long: it holds 48 bytes (64 characters after the prefix)"},
           {"tandem-link:" + body.substr(0, 63) + "+",
            "the link code is not base64url without padding (letters, digits, '-' and '_' after the prefix)"},
           {"tandem-link:" + body.substr(0, 62) + "==",
            "the link code is not base64url without padding (letters, digits, '-' and '_' after the prefix)"},
       }) {
    auto bad = ParseLinkCode(c.input);
    ASSERT_FALSE(bad.ok()) << c.input;
    EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument) << c.input;
    EXPECT_EQ(bad.status().message(), c.message) << c.input;
  }
  code.address = "00112233445566778899AABBCCDDEEFF";
  EXPECT_EQ(EncodeLinkCode(code).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ProvisionDataTest, SealsToTheCodesKeyOnly) {
  SeededRandom random(3);
  ProvisionData data{kAlice, 1234, crypto::KeyPair::Generate(random), std::string(64, 'f')};
  std::array<uint8_t, crypto::kKeySize> secret{};
  random.Fill(secret);
  auto other = secret;
  other[5] ^= 1;  // not a bit that X25519 clamps away
  std::array<uint8_t, crypto::kKeySize> pub{};
  ASSERT_GE(sodium_init(), 0);
  crypto_scalarmult_base(pub.data(), secret.data());
  std::string sealed = SealProvision(data, pub);
  EXPECT_EQ(sealed.find(kAlice), std::string::npos);
  auto opened = OpenProvision(sealed, secret);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->number, kAlice);
  EXPECT_EQ(opened->account_id, 1234u);
  EXPECT_EQ(opened->identity.public_key, data.identity.public_key);
  EXPECT_EQ(opened->identity.private_key, data.identity.private_key);
  EXPECT_EQ(opened->link_token, data.link_token);
  EXPECT_EQ(OpenProvision(sealed, other).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(OpenProvision("short", secret).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(ParseProvisionData("{}").status().code(), absl::StatusCode::kInvalidArgument);
  // Halves that do not belong together are refused.
  json j = json::parse(SerializeProvisionData(data));
  auto stranger = crypto::KeyPair::Generate(random).public_key.Serialize();
  j["identity_public"] = Base64Encode(std::string(stranger.begin(), stranger.end()));
  EXPECT_EQ(ParseProvisionData(j.dump()).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(DeviceLinkTest, ACompanionIsLinkedListedAndRemoved) {
  relay::Credentials primary = RegisterPrimary();

  auto pending = StartLink(*transport_, kServer, random_);
  ASSERT_TRUE(pending.ok()) << pending.status();
  EXPECT_EQ(pending->address.size(), 32u);
  auto waiting = PollProvision(*transport_, kServer, pending->address, pending->secret);
  ASSERT_TRUE(waiting.ok()) << waiting.status();
  EXPECT_FALSE(waiting->has_value());

  ASSERT_TRUE(SendProvision(*transport_, kServer, primary, pending->code, DataFor(primary)).ok());
  auto polled = PollProvision(*transport_, kServer, pending->address, pending->secret);
  ASSERT_TRUE(polled.ok()) << polled.status();
  ASSERT_TRUE(polled->has_value());
  const ProvisionData& data = **polled;
  EXPECT_EQ(data.number, kAlice);
  EXPECT_EQ(data.account_id, primary.account_id);
  EXPECT_EQ(data.identity.private_key, identity_.private_key);
  EXPECT_EQ(data.link_token.size(), 64u);
  // Taken once: the address is gone now.
  EXPECT_EQ(PollProvision(*transport_, kServer, pending->address, pending->secret).status().code(),
            absl::StatusCode::kNotFound);

  auto companion = RegisterCompanion(*transport_, kServer, data, 4321);
  ASSERT_TRUE(companion.ok()) << companion.status();
  EXPECT_EQ(companion->credentials.account_id, primary.account_id);
  EXPECT_EQ(companion->credentials.device_id, 2u);
  EXPECT_EQ(companion->number, kAlice);
  // The token was used up.
  EXPECT_EQ(RegisterCompanion(*transport_, kServer, data, 4321).status().code(),
            absl::StatusCode::kPermissionDenied);

  auto devices = ListDevices(*transport_, kServer, companion->credentials);
  ASSERT_TRUE(devices.ok()) << devices.status();
  ASSERT_EQ(devices->size(), 2u);
  EXPECT_EQ((*devices)[0].device_id, 1u);
  EXPECT_EQ((*devices)[1].device_id, 2u);
  EXPECT_EQ((*devices)[1].registration_id, 4321u);
  EXPECT_EQ((*devices)[1].created_ms, absl::ToUnixMillis(clock_.Now()));

  // A companion cannot link further devices nor remove the primary.
  auto second = StartLink(*transport_, kServer, random_);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(
      SendProvision(*transport_, kServer, companion->credentials, second->code, DataFor(primary)).code(),
      absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(RemoveDevice(*transport_, kServer, companion->credentials, 1).code(),
            absl::StatusCode::kInvalidArgument);

  ASSERT_TRUE(RemoveDevice(*transport_, kServer, primary, 2).ok());
  absl::Status after = ListDevices(*transport_, kServer, companion->credentials).status();
  EXPECT_EQ(after.code(), absl::StatusCode::kUnauthenticated) << after;
  devices = ListDevices(*transport_, kServer, primary);
  ASSERT_TRUE(devices.ok()) << devices.status();
  EXPECT_EQ(devices->size(), 1u);
}

TEST_F(DeviceLinkTest, AnExpiredCodeIsRefusedOnBothSides) {
  relay::Credentials primary = RegisterPrimary();
  auto pending = StartLink(*transport_, kServer, random_);
  ASSERT_TRUE(pending.ok()) << pending.status();
  clock_.Advance(absl::Minutes(10) + absl::Seconds(1));
  absl::Status sent = SendProvision(*transport_, kServer, primary, pending->code, DataFor(primary));
  EXPECT_EQ(sent.code(), absl::StatusCode::kNotFound) << sent;
  EXPECT_NE(sent.message().find("the link code is unknown or expired"), std::string::npos) << sent;
  EXPECT_EQ(PollProvision(*transport_, kServer, pending->address, pending->secret).status().code(),
            absl::StatusCode::kNotFound);
  // A malformed code never reaches the relay.
  EXPECT_EQ(SendProvision(*transport_, kServer, primary, "tandem-link:abc", DataFor(primary)).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(DeviceLinkTest, ATamperedProvisioningMessageIsRefused) {
  relay::Credentials primary = RegisterPrimary();
  auto pending = StartLink(*transport_, kServer, random_);
  ASSERT_TRUE(pending.ok()) << pending.status();
  auto code = ParseLinkCode(pending->code);
  ASSERT_TRUE(code.ok());
  ProvisionData data = DataFor(primary);
  data.link_token = std::string(64, 'a');
  std::string sealed = SealProvision(data, code->public_key);
  sealed[sealed.size() / 2] ^= 0x20;  // what a relay that alters messages would store
  json body = {{"message", Base64Encode(sealed)}};
  auto put = transport_->Request(kServer, "PUT", "/v1/provisioning/" + pending->address, body.dump(),
                                 {{"Authorization", relay::BasicAuthorization(primary)}});
  ASSERT_TRUE(put.ok());
  ASSERT_EQ(put->status, 200) << put->body;
  absl::Status polled = PollProvision(*transport_, kServer, pending->address, pending->secret).status();
  EXPECT_EQ(polled.code(), absl::StatusCode::kDataLoss) << polled;
  EXPECT_EQ(relay_->DirectoryForTesting().DevicesOf(primary.account_id).size(), 1u);
}

TEST_F(DeviceLinkTest, TheWholeLinkRunsOverHttpOnLoopback) {
  relay::Credentials primary = RegisterPrimary();
  net::Router router;
  relay_->RegisterRoutes(router);
  net::ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.threads = 1;
  net::Server server(options, std::move(router), metrics_);
  ASSERT_TRUE(server.Start().ok());
  const std::string address = absl::StrCat("127.0.0.1:", server.port());
  std::unique_ptr<RelayTransport> network = MakeNetworkTransport();

  auto pending = StartLink(*network, address, random_);
  ASSERT_TRUE(pending.ok()) << pending.status();
  ASSERT_TRUE(SendProvision(*network, address, primary, pending->code, DataFor(primary)).ok());
  auto polled = PollProvision(*network, address, pending->address, pending->secret);
  ASSERT_TRUE(polled.ok()) << polled.status();
  ASSERT_TRUE(polled->has_value());
  auto companion = RegisterCompanion(*network, address, **polled, 777);
  ASSERT_TRUE(companion.ok()) << companion.status();
  EXPECT_EQ(companion->credentials.device_id, 2u);
  auto devices = ListDevices(*network, address, companion->credentials);
  ASSERT_TRUE(devices.ok()) << devices.status();
  EXPECT_EQ(devices->size(), 2u);
  ASSERT_TRUE(RemoveDevice(*network, address, companion->credentials, 2).ok());
  absl::Status after = ListDevices(*network, address, companion->credentials).status();
  EXPECT_EQ(after.code(), absl::StatusCode::kUnauthenticated) << after;
  EXPECT_NE(after.message().find("this device was removed"), std::string::npos) << after;
  network.reset();
  server.Stop();
}

}  // namespace
}  // namespace tandem::client
