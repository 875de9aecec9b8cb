// Unit tests of the relay's logic on a FakeClock: registration codes
// (expiry, attempts, rate limits), keys (signature check, bounds, one-time
// prekey consumption and exhaustion), the message stream driven through
// fake connections (idempotent resubmit, ordering, acks, queue and size
// limits, malformed frames), usage metering and account deletion.
#include "relay/relay.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/error_codes.h"
#include "common/random.h"
#include "crypto/keys.h"
#include "crypto/xeddsa.h"
#include "relay/relay_store.h"
#include "relay_protocol/protocol.h"
#include "store/fault_vfs.h"

namespace tandem::relay {
namespace {

class CapturingSender final : public verification::CodeSender {
 public:
  absl::Status Send(const std::string& number, const std::string& code) override {
    std::lock_guard lock(mu);
    codes[number] = code;
    ++sent;
    return fail ? absl::UnavailableError("gateway down") : absl::OkStatus();
  }
  std::string CodeFor(const std::string& n) {
    std::lock_guard lock(mu);
    return codes[n];
  }
  std::mutex mu;
  std::map<std::string, std::string> codes;
  int sent = 0;
  bool fail = false;
};

class FakeConnection final : public net::WebSocketConnection {
 public:
  void Send(std::string data, bool binary) override {
    std::lock_guard lock(mu_);
    frames_.push_back(std::move(data));
    cv_.notify_all();
  }
  void Close(int code, std::string reason) override {
    std::lock_guard lock(mu_);
    close_code_ = code;
    cv_.notify_all();
  }
  uint64_t id() const override { return 1; }
  const std::string& remote_address() const override { return address_; }
  const std::shared_ptr<void>& context() const override { return context_; }

  // Waits for the next frame.
  std::optional<pb::ServerFrame> Next(absl::Duration timeout = absl::Seconds(5)) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, std::chrono::milliseconds(absl::ToInt64Milliseconds(timeout)),
                      [&] { return read_ < frames_.size(); })) {
      return std::nullopt;
    }
    auto f = DecodeServerFrame(frames_[read_++]);
    EXPECT_TRUE(f.ok()) << f.status();
    return f.ok() ? std::optional(*f) : std::nullopt;
  }
  int close_code() {
    std::lock_guard lock(mu_);
    return close_code_;
  }

  std::shared_ptr<void> context_;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> frames_;
  size_t read_ = 0;
  int close_code_ = 0;
  std::string address_ = "127.0.0.1:1";
};

struct Identity {
  crypto::IdentityKeyPair pair;
  std::string Public() const {
    auto s = pair.public_key.Serialize();
    return std::string(s.begin(), s.end());
  }
};

class RelayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / absl::StrCat("relay_test_", getpid(), "_", counter_++);
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    Open();
  }
  void TearDown() override {
    // The server calls OnClose for every opened connection; so do we (it
    // breaks the session <-> connection reference cycle).
    for (auto& c : connections_) relay_->stream().OnClose(c);
    connections_.clear();
    relay_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Open(const std::string& pragmas = "") {
    std::string path = (dir_ / "messenger.db").string();
    auto db = store::OpenSqlite(path, sqlite_);
    ASSERT_TRUE(db.ok()) << db.status();
    if (!pragmas.empty()) {
      ASSERT_TRUE((*db)->ExecuteScript(pragmas).ok());
    }
    absl::Status migrated = db::Migrate(**db);
    ASSERT_TRUE(migrated.ok()) << migrated;
    auto reader = store::OpenSqlite(path, sqlite_);
    ASSERT_TRUE(reader.ok());
    auto sender = std::make_unique<CapturingSender>();
    sender_ = sender.get();
    auto r = Relay::Create(std::move(*db), std::move(*reader), std::move(sender), options_, metrics_, clock_,
                           random_);
    ASSERT_TRUE(r.ok()) << r.status();
    relay_ = std::move(*r);
  }

  AccountService& accounts() { return relay_->accounts(); }

  // Registers `number` and returns its credentials.
  Credentials Register(const std::string& number, Identity* identity = nullptr,
                       std::string address = "10.0.0.1:5") {
    Identity local{crypto::KeyPair::Generate(random_)};
    if (identity) *identity = local;
    auto issued = accounts().RequestCode(number, "", address);
    EXPECT_TRUE(issued.ok()) << issued.status();
    AccountService::VerifyRequest v{number, "", sender_->CodeFor(number), local.Public(), 42, address};
    auto r = accounts().Verify(v);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->credentials : Credentials{};
  }

  std::shared_ptr<FakeConnection> Connect(const Credentials& c) {
    auto conn = std::make_shared<FakeConnection>();
    net::Request req;
    req.headers.emplace_back("authorization", BasicAuthorization(c));
    EXPECT_TRUE(relay_->stream().OnUpgrade(req, &conn->context_).ok());
    relay_->stream().OnOpen(conn);
    connections_.push_back(conn);
    return conn;
  }
  void Disconnect(const std::shared_ptr<FakeConnection>& conn) { relay_->stream().OnClose(conn); }

  void Submit(const std::shared_ptr<FakeConnection>& conn, uint64_t request_id, const std::string& cmid,
              const std::string& to, const std::string& ciphertext,
              pb::EnvelopeType type = pb::ENVELOPE_TYPE_SIGNAL_MESSAGE) {
    relay_->stream().OnMessage(conn, EncodeSubmit(request_id, cmid, RecipientByNumber(to), type, ciphertext),
                               true);
  }
  // Submits "c<i>" as client message id "m<i>" (request id first_request + i)
  // to `to`, n times, each answered with a SubmitResult.
  void SubmitSeveral(const std::shared_ptr<FakeConnection>& conn, int n, const std::string& to,
                     uint64_t first_request = 0) {
    for (int i = 0; i < n; ++i) {
      Submit(conn, first_request + i, absl::StrCat("m", i), to, absl::StrCat("c", i));
      auto r = conn->Next().value();
      ASSERT_TRUE(r.has_submit_result()) << r.DebugString();
      EXPECT_EQ(r.request_id(), first_request + i);
    }
  }
  // Starts the relay again on the same data, with the current options_.
  void Reopen() {
    relay_.reset();
    Open();
  }
  void Ack(const std::shared_ptr<FakeConnection>& conn, std::vector<uint64_t> ids) {
    relay_->stream().OnMessage(conn, EncodeAck(ids), true);
  }

  int64_t Count(const std::string& sql) {
    auto row = relay_->database().QueryOne(sql);
    EXPECT_TRUE(row.ok()) << row.status();
    return row.ok() ? row->Int(0) : -1;
  }

  static inline int counter_ = 0;
  std::filesystem::path dir_;
  FakeClock clock_;
  SeededRandom random_{7};
  net::Metrics metrics_;
  RelayOptions options_;
  store::SqliteOptions sqlite_;  // as tandemd opens the relay's files
  CapturingSender* sender_ = nullptr;
  std::unique_ptr<Relay> relay_;
  std::vector<std::shared_ptr<FakeConnection>> connections_;
};

// ---- protocol ----

TEST(ProtocolTest, CredentialsRoundTrip) {
  Credentials c{12, 1, "abcdef"};
  auto parsed = ParseBasicAuthorization(BasicAuthorization(c));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->account_id, 12u);
  EXPECT_EQ(parsed->device_id, 1u);
  EXPECT_EQ(parsed->password, "abcdef");
  EXPECT_EQ(ParseBasicAuthorization("").status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(ParseBasicAuthorization("Bearer x").status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(ParseBasicAuthorization("Basic !!!").status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_FALSE(ParseLogin("12", "pw").ok());
  EXPECT_FALSE(ParseLogin("0.1", "pw").ok());
  EXPECT_FALSE(ParseLogin("12.1", "").ok());
}

TEST(ProtocolTest, ValidatesSubmits) {
  auto frame = DecodeClientFrame(
      EncodeSubmit(1, "m1", RecipientByNumber("+14155550123"), pb::ENVELOPE_TYPE_SIGNAL_MESSAGE, "x"));
  ASSERT_TRUE(frame.ok());
  EXPECT_TRUE(ValidateSubmit(frame->submit()).ok());
  pb::SubmitEnvelope s = frame->submit();
  s.set_ciphertext(std::string(kMaxCiphertextBytes + 1, 'x'));
  EXPECT_EQ(ValidateSubmit(s).code(), absl::StatusCode::kOutOfRange);
  s = frame->submit();
  s.set_client_message_id("");
  EXPECT_EQ(ValidateSubmit(s).code(), absl::StatusCode::kInvalidArgument);
  s = frame->submit();
  s.set_client_message_id("has space");
  EXPECT_EQ(ValidateSubmit(s).code(), absl::StatusCode::kInvalidArgument);
  s = frame->submit();
  s.set_type(static_cast<pb::EnvelopeType>(9));
  EXPECT_EQ(ValidateSubmit(s).code(), absl::StatusCode::kInvalidArgument);
  s = frame->submit();
  s.clear_recipient();
  EXPECT_EQ(ValidateSubmit(s).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeClientFrame("\xff\xff\xff").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeClientFrame("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrorCodeFromName("resource_exhausted"), absl::StatusCode::kResourceExhausted);
}

TEST(ProtocolTest, JoinedFramesAreBatchesOfTheSameFrames) {
  std::vector<std::string> server = {EncodeSubmitResult(1, "a", 10, 1000, false),
                                     EncodeError(2, "b", absl::ResourceExhaustedError("full")),
                                     EncodeQueueEmpty()};
  auto decoded = DecodeServerFrame(JoinServerFrames(server));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_TRUE(decoded->has_batch());
  auto frames = FramesOf(*decoded);
  ASSERT_EQ(frames.size(), 3u);
  for (size_t i = 0; i < frames.size(); ++i) EXPECT_EQ(frames[i]->SerializeAsString(), server[i]);
  // A frame alone is its own only frame.
  auto single = DecodeServerFrame(server[0]);
  ASSERT_TRUE(single.ok());
  EXPECT_EQ(FramesOf(*single).size(), 1u);

  // Large frames need multi-byte lengths.
  std::vector<std::string> client = {
      EncodeSubmit(1, "m1", RecipientByAccount(5), pb::ENVELOPE_TYPE_SIGNAL_MESSAGE, std::string(70000, 'x')),
      EncodeAck(std::vector<uint64_t>{1, 2, 3}, 2)};
  auto batch = DecodeClientFrame(JoinClientFrames(client));
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_EQ(batch->batch().frames_size(), 2);
  EXPECT_EQ(batch->batch().frames(0).submit().ciphertext().size(), 70000u);
  EXPECT_EQ(batch->batch().frames(1).request_id(), 2u);
  pb::ClientFrame built;
  for (const std::string& f : client) built.mutable_batch()->add_frames()->ParseFromString(f);
  EXPECT_EQ(JoinClientFrames(client), built.SerializeAsString());
}

// The hand-written encoders produce exactly protobuf's bytes.
TEST(ProtocolTest, HandWrittenEncodersMatchProtobuf) {
  for (const pb::Recipient& to :
       {RecipientByNumber("+14155550123"), RecipientByNumber(""), RecipientByAccount(0),
        RecipientByAccount(1ull << 40, 0), pb::Recipient()}) {
    for (std::string ct : {std::string(), std::string(200, 'c'), std::string(70000, 'c')}) {
      for (uint32_t registration_id : {0u, 42u}) {
        pb::ClientFrame frame;
        frame.set_request_id(ct.size());
        auto* s = frame.mutable_submit();
        s->set_client_message_id(ct.empty() ? "" : "018c0a1b2c3d-ab");
        *s->mutable_recipient() = to;
        s->set_type(ct.empty() ? pb::ENVELOPE_TYPE_UNSPECIFIED : pb::ENVELOPE_TYPE_PREKEY_MESSAGE);
        s->set_ciphertext(ct);
        s->set_destination_registration_id(registration_id);
        EXPECT_EQ(
            EncodeSubmit(frame.request_id(), s->client_message_id(), to, s->type(), ct, registration_id),
            frame.SerializeAsString());
      }
    }
  }
  for (int64_t ts : {int64_t{0}, int64_t{1795949531116}, int64_t{-1}}) {
    for (uint64_t id : {uint64_t{0}, uint64_t{1}, uint64_t{300}, ~uint64_t{0}}) {
      for (bool dup : {false, true}) {
        for (std::string cmid : {std::string(), std::string("018c0a1b2c3d-ab"), std::string(64, 'x')}) {
          pb::ServerFrame frame;
          frame.set_request_id(id);
          auto* r = frame.mutable_submit_result();
          r->set_client_message_id(cmid);
          r->set_server_id(id / 3);
          r->set_server_timestamp_ms(ts);
          r->set_duplicate(dup);
          EXPECT_EQ(EncodeSubmitResult(id, cmid, id / 3, ts, dup), frame.SerializeAsString());
        }
      }
      for (size_t size : {size_t{0}, size_t{1}, size_t{127}, size_t{128}, size_t{70000}}) {
        pb::Envelope env;
        env.set_server_id(id);
        env.set_sender_account_id(id / 7);
        env.set_sender_device_id(static_cast<uint32_t>(id % 5));
        env.set_sender_number(size ? "+14155550123" : "");
        env.set_server_timestamp_ms(ts);
        env.set_type(size % 2 ? pb::ENVELOPE_TYPE_RECEIPT : pb::ENVELOPE_TYPE_SIGNAL_MESSAGE);
        env.set_ciphertext(std::string(size, 'c'));
        env.set_destination_device_id(static_cast<uint32_t>(id % 3));
        EnvelopeFields fields{env.server_id(),     env.sender_account_id(),    env.sender_device_id(),
                              env.sender_number(), env.server_timestamp_ms(),  env.type(),
                              env.ciphertext(),    env.destination_device_id()};
        EXPECT_EQ(EncodeDeliver(fields), EncodeDeliver(env));
      }
    }
  }
}

TEST(ProtocolTest, BatchesThatAreEmptyTooLongOrNestedAreRefused) {
  EXPECT_EQ(DecodeClientFrame(JoinClientFrames({})).status().code(), absl::StatusCode::kInvalidArgument);
  std::string ack = EncodeAck(std::vector<uint64_t>{1});
  std::vector<std::string> many(kMaxFramesPerBatch + 1, ack);
  EXPECT_EQ(DecodeClientFrame(JoinClientFrames(many)).status().code(), absl::StatusCode::kInvalidArgument);
  many.pop_back();
  EXPECT_TRUE(DecodeClientFrame(JoinClientFrames(many)).ok());
  std::vector<std::string> inner = {ack};
  std::vector<std::string> nested = {JoinClientFrames(inner)};
  EXPECT_EQ(DecodeClientFrame(JoinClientFrames(nested)).status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<std::string> server_inner = {EncodeQueueEmpty()};
  std::vector<std::string> server_nested = {JoinServerFrames(server_inner)};
  EXPECT_FALSE(DecodeServerFrame(JoinServerFrames(server_nested)).ok());
  EXPECT_FALSE(DecodeServerFrame(JoinServerFrames({})).ok());
}

TEST(ProtocolTest, ClientMessageIdsSortByTime) {
  std::string a = MakeClientMessageId(0x18c0a1b2c3d, "ffff0000ffff0000");
  EXPECT_EQ(a, "018c0a1b2c3d-ffff0000ffff0000");
  EXPECT_LT(a, MakeClientMessageId(0x18c0a1b2c3e, "0000000000000000"));
  EXPECT_LT(MakeClientMessageId(999, "z"), MakeClientMessageId(1000, "a"));
  EXPECT_EQ(MakeClientMessageId(-5, "r"), "000000000000-r");
  pb::SubmitEnvelope s;
  s.set_client_message_id(a);
  *s.mutable_recipient() = RecipientByAccount(1);
  s.set_type(pb::ENVELOPE_TYPE_SIGNAL_MESSAGE);
  s.set_ciphertext("x");
  EXPECT_TRUE(ValidateSubmit(s).ok());
}

// ---- registration ----

TEST_F(RelayTest, RegistrationIssuesCredentialsStoredOnlyAsHash) {
  Credentials c = Register("+14155550123");
  EXPECT_NE(c.account_id, 0u);
  EXPECT_EQ(c.device_id, 1u);
  EXPECT_EQ(c.password.size(), 64u);
  EXPECT_TRUE(accounts().Authenticate(c).ok());
  Credentials wrong = c;
  wrong.password[0] = wrong.password[0] == 'a' ? 'b' : 'a';
  EXPECT_EQ(accounts().Authenticate(wrong).code(), absl::StatusCode::kUnauthenticated);
  auto row = relay_->database().QueryOne("SELECT password_hash FROM devices");
  ASSERT_TRUE(row.ok());
  EXPECT_EQ(row->Bytes(0).size(), 32u);
  EXPECT_EQ(row->Bytes(0).find(c.password), std::string::npos);
  // The code is consumed.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM verification_codes"), 0);
}

TEST_F(RelayTest, InvalidNumbersAreRejectedWithReason) {
  auto r = accounts().RequestCode("12", "", "10.0.0.1:1");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  r = accounts().RequestCode("(415) 555-0123", "US", "10.0.0.1:1");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->number, "+14155550123");
  EXPECT_EQ(sender_->sent, 1);
}

TEST_F(RelayTest, CodesExpireAfterTenMinutes) {
  ASSERT_TRUE(accounts().RequestCode("+14155550123", "", "10.0.0.1:1").ok());
  clock_.Advance(absl::Minutes(10) + absl::Seconds(1));
  Identity id{crypto::KeyPair::Generate(random_)};
  auto r =
      accounts().Verify({"+14155550123", "", sender_->CodeFor("+14155550123"), id.Public(), 1, "10.0.0.1:1"});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition) << r.status();
}

TEST_F(RelayTest, ThreeWrongAttemptsBurnTheCode) {
  ASSERT_TRUE(accounts().RequestCode("+14155550123", "", "10.0.0.1:1").ok());
  std::string code = sender_->CodeFor("+14155550123");
  std::string wrong = code == "000000" ? "111111" : "000000";
  Identity id{crypto::KeyPair::Generate(random_)};
  for (int i = 0; i < 3; ++i) {
    auto r = accounts().Verify({"+14155550123", "", wrong, id.Public(), 1, "10.0.0.1:1"});
    EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
  }
  auto r = accounts().Verify({"+14155550123", "", code, id.Public(), 1, "10.0.0.1:1"});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound) << "the right code after 3 wrong ones";
  EXPECT_EQ(relay_->directory().account_count(), 0u);
}

TEST_F(RelayTest, VerifyRejectsBadIdentityKeys) {
  ASSERT_TRUE(accounts().RequestCode("+14155550123", "", "10.0.0.1:1").ok());
  auto r =
      accounts().Verify({"+14155550123", "", sender_->CodeFor("+14155550123"), "short", 1, "10.0.0.1:1"});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM verification_codes"), 1) << "a bad request does not burn the code";
}

TEST_F(RelayTest, CodeRequestsAreRateLimitedPerNumberPrefixAndAddress) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(accounts().RequestCode("+14155550123", "", "10.0.0.1:1").ok());
  auto r = accounts().RequestCode("+14155550123", "", "10.0.0.2:1");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(std::string(r.status().message()).find("this number"), std::string::npos) << r.status();
  clock_.Advance(absl::Minutes(10));
  EXPECT_TRUE(accounts().RequestCode("+14155550123", "", "10.0.0.3:1").ok()) << "one token regained";

  // Per address: 20 requests for different numbers, then no more.
  int ok = 0;
  absl::Status last;
  for (int i = 0; i < 25; ++i) {
    last = accounts().RequestCode(absl::StrCat("+1415", 200 + i, "0123"), "", "10.9.9.9:1").status();
    if (last.ok()) ++ok;
  }
  EXPECT_EQ(ok, 20);
  EXPECT_NE(std::string(last.message()).find("this address"), std::string::npos) << last;

  // Per prefix: numbers sharing all but the last 4 digits.
  ok = 0;
  for (int i = 0; i < 25; ++i) {
    last = accounts()
               .RequestCode(absl::StrCat("+1212555", 1000 + i), "", absl::StrCat("10.1.", i, ".1:1"))
               .status();
    if (last.ok()) ++ok;
  }
  EXPECT_EQ(ok, 20);
  EXPECT_NE(std::string(last.message()).find("range"), std::string::npos) << last;
}

TEST_F(RelayTest, ALimitedAddressIsRefusedBeforeTheNumberIsParsed) {
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(accounts().RequestCode(absl::StrCat("+1415", 200 + i, "0123"), "", "10.9.9.9:1").ok());
  }
  const std::string garbage = std::string(60, '7') + "x";
  auto r = accounts().RequestCode(garbage, "", "10.9.9.9:2");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted) << r.status();
  EXPECT_NE(std::string(r.status().message()).find("this address"), std::string::npos) << r.status();
  EXPECT_EQ(accounts().RequestCode(garbage, "", "10.9.9.10:1").status().code(),
            absl::StatusCode::kInvalidArgument)
      << "another address gets the parse error";

  Identity id{crypto::KeyPair::Generate(random_)};
  for (int i = 0; i < 30; ++i) {
    (void)accounts().Verify(
        {absl::StrCat("+1415", 300 + i, "0123"), "", "123456", id.Public(), 1, "10.9.9.11:1"});
  }
  auto v = accounts().Verify({garbage, "", "123456", id.Public(), 1, "10.9.9.11:1"});
  EXPECT_EQ(v.status().code(), absl::StatusCode::kResourceExhausted) << v.status();
}

TEST_F(RelayTest, GuessesAcrossReissuedCodesStopAtTheNumberLimit) {
  options_.accounts.codes.codes_per_number = {1000, absl::Seconds(1)};
  Reopen();
  const std::string number = "+14155550123";
  Identity id{crypto::KeyPair::Generate(random_)};
  // Three wrong tries burn a code, and a new code comes at once: the
  // number's budget of 10 checks is what stops the guessing.
  int checked = 0;
  absl::Status last;
  for (int round = 0; round < 5; ++round) {
    ASSERT_TRUE(accounts().RequestCode(number, "", "10.0.0.1:1").ok());
    std::string wrong = sender_->CodeFor(number) == "000000" ? "111111" : "000000";
    for (int i = 0; i < 3; ++i) {
      last = accounts()
                 .Verify({number, "", wrong, id.Public(), 1, absl::StrCat("10.0.", round, ".", i, ":1")})
                 .status();
      if (absl::IsPermissionDenied(last)) ++checked;
    }
  }
  EXPECT_EQ(checked, 10);
  EXPECT_EQ(last.code(), absl::StatusCode::kResourceExhausted) << last;
  EXPECT_NE(std::string(last.message()).find("for this number"), std::string::npos) << last;
  ASSERT_TRUE(accounts().RequestCode(number, "", "10.0.0.1:1").ok());
  auto right = accounts().Verify({number, "", sender_->CodeFor(number), id.Public(), 1, "10.0.0.1:1"});
  EXPECT_EQ(right.status().code(), absl::StatusCode::kResourceExhausted)
      << "not even the right code is checked";
  clock_.Advance(absl::Hours(1));
  ASSERT_TRUE(accounts().RequestCode(number, "", "10.0.0.1:1").ok());
  right = accounts().Verify({number, "", sender_->CodeFor(number), id.Public(), 1, "10.0.0.1:1"});
  EXPECT_TRUE(right.ok()) << right.status();
}

TEST_F(RelayTest, FailedCodeDeliveryIsUnavailable) {
  sender_->fail = true;
  EXPECT_EQ(accounts().RequestCode("+14155550123", "", "10.0.0.1:1").status().code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(RelayTest, ReregistrationReplacesIdentityAndRevokesOldCredentials) {
  Identity first, second;
  Credentials a = Register("+14155550123", &first);
  Credentials b = Register("+14155550199");
  auto conn_a = Connect(a);
  ASSERT_TRUE(conn_a->Next().value().has_queue_empty());
  auto conn_b = Connect(b);
  ASSERT_TRUE(conn_b->Next().value().has_queue_empty());
  // B queues a message for A while A is offline.
  Disconnect(conn_a);
  Submit(conn_b, 1, "m1", "+14155550123", "old-session-ciphertext");
  ASSERT_TRUE(conn_b->Next().value().has_submit_result());
  auto a_again = Register("+14155550123", &second);
  EXPECT_EQ(a_again.account_id, a.account_id);
  EXPECT_FALSE(accounts().Authenticate(a).ok());
  EXPECT_TRUE(accounts().Authenticate(a_again).ok());
  auto info = accounts().GetAccountInfo(a_again);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->identity_key, second.Public());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM envelopes"), 0) << "envelopes for the old installation are dropped";
}

// ---- keys ----

AccountService::KeyUpload MakeUpload(const Identity& id, uint32_t first, int count, Random& random) {
  AccountService::KeyUpload up;
  crypto::SignedPreKey spk = crypto::GenerateSignedPreKey(id.pair, 1, random);
  auto pub = spk.key_pair.public_key.Serialize();
  up.signed_prekey = db::SignedPreKeyRow{spk.id, std::string(pub.begin(), pub.end()),
                                         std::string(spk.signature.begin(), spk.signature.end())};
  for (const auto& k : crypto::GenerateOneTimePreKeys(first, count, random)) {
    auto p = k.key_pair.public_key.Serialize();
    up.one_time_prekeys.push_back({k.id, std::string(p.begin(), p.end())});
  }
  return up;
}

TEST_F(RelayTest, PreKeysAreConsumedOnceAndBundlesWorkWhenExhausted) {
  Identity alice_id;
  Credentials alice = Register("+14155550123", &alice_id);
  Credentials bob = Register("+14155550199");
  ASSERT_TRUE(accounts().UploadKeys(alice, MakeUpload(alice_id, 1, 3, random_)).ok());
  EXPECT_EQ(*accounts().PreKeyCount(alice), 3);
  std::set<uint32_t> seen;
  for (int i = 0; i < 3; ++i) {
    auto b = accounts().FetchBundle(bob, "+14155550123");
    ASSERT_TRUE(b.ok()) << b.status();
    ASSERT_EQ(b->devices.size(), 1u);
    ASSERT_TRUE(b->devices[0].one_time_prekey.has_value());
    EXPECT_TRUE(seen.insert(b->devices[0].one_time_prekey->key_id).second) << "a prekey handed out twice";
    EXPECT_EQ(b->identity_key, alice_id.Public());
    EXPECT_EQ(b->devices[0].registration_id, 42u);
  }
  EXPECT_EQ(*accounts().PreKeyCount(alice), 0);
  auto b = accounts().FetchBundle(bob, "14155550123");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_FALSE(b->devices[0].one_time_prekey.has_value()) << "exhausted: signed prekey only";
}

TEST_F(RelayTest, KeyUploadsAreCheckedAndBounded) {
  Identity id;
  Credentials c = Register("+14155550123", &id);
  // A signature by another key is refused.
  Identity other{crypto::KeyPair::Generate(random_)};
  EXPECT_EQ(accounts().UploadKeys(c, MakeUpload(other, 1, 1, random_)).code(),
            absl::StatusCode::kInvalidArgument);
  // More than 100 per request.
  EXPECT_EQ(accounts().UploadKeys(c, MakeUpload(id, 1, 101, random_)).code(),
            absl::StatusCode::kInvalidArgument);
  // A foreign identity key.
  auto up = MakeUpload(id, 1, 1, random_);
  up.identity_key = other.Public();
  EXPECT_EQ(accounts().UploadKeys(c, up).code(), absl::StatusCode::kFailedPrecondition);
  // Up to 1000 stored, then an error that stores nothing.
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(accounts().UploadKeys(c, MakeUpload(id, 1 + i * 100, 100, random_)).ok());
  EXPECT_EQ(*accounts().PreKeyCount(c), 1000);
  EXPECT_EQ(accounts().UploadKeys(c, MakeUpload(id, 5000, 1, random_)).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(*accounts().PreKeyCount(c), 1000);
  // Nothing published: not found.
  Credentials bob = Register("+14155550199");
  EXPECT_EQ(accounts().FetchBundle(c, "+14155550199").status().code(), absl::StatusCode::kNotFound);
  (void)bob;
}

// The operator path: accounts with keys and usage in one transaction,
// refused whole when any of them is wrong, and charging no client's limits.
TEST_F(RelayTest, ImportedAccountsAreRegisteredWithKeysAndUsageAllOrNothing) {
  auto imported = [&](const std::string& number, Identity* id) {
    id->pair = crypto::KeyPair::Generate(random_);
    AccountService::KeyUpload keys = MakeUpload(*id, 1, 5, random_);
    AccountService::ImportedAccount a;
    a.number = number;
    a.identity_key = id->Public();
    a.registration_id = 7;
    a.signed_prekey = keys.signed_prekey;
    a.one_time_prekeys = keys.one_time_prekeys;
    a.usage = {{"2023-11-13", 2, 5}, {"2023-11-14", 1, 0}};
    return a;
  };
  // The address's code budget is spent; imports do not need it.
  for (int i = 0; i < 20; ++i)
    (void)accounts().RequestCode(absl::StrCat("+1415", 200 + i, "0123"), "", "10.0.0.9:1");
  ASSERT_EQ(accounts().RequestCode("+14153000123", "", "10.0.0.9:1").status().code(),
            absl::StatusCode::kResourceExhausted);

  Identity a_id, b_id, c_id;
  auto done = accounts().ImportAccounts({imported("+16505550100", &a_id), imported("+16505550101", &b_id)});
  ASSERT_TRUE(done.ok()) << done.status();
  ASSERT_EQ(done->size(), 2u);
  const Credentials a = (*done)[0].credentials;
  EXPECT_TRUE(accounts().Authenticate(a).ok());
  EXPECT_EQ(*accounts().PreKeyCount(a), 5);
  auto usage = accounts().Usage(a);
  ASSERT_TRUE(usage.ok());
  EXPECT_EQ(usage->size(), 2u);
  // Anyone can start a session with an imported account.
  Credentials carol = Register("+14155550123");
  auto bundle = accounts().FetchBundle(carol, "+16505550101");
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  EXPECT_EQ(bundle->identity_key, b_id.Public());
  EXPECT_EQ(bundle->devices[0].registration_id, 7u);

  const int64_t accounts_before = Count("SELECT COUNT(*) FROM accounts");
  // A registered number, a duplicate, a number not in E.164 form, a
  // signed prekey signed by someone else, a bad day: nothing is stored.
  auto foreign = imported("+16505550103", &c_id);
  foreign.identity_key = a_id.Public();
  auto bad_day = imported("+16505550104", &c_id);
  bad_day.usage = {{"yesterday", 1, 1}};
  for (auto batch : std::vector<std::vector<AccountService::ImportedAccount>>{
           {imported("+16505550102", &c_id), imported("+16505550100", &c_id)},
           {imported("+16505550102", &c_id), imported("+16505550102", &c_id)},
           {imported("(650) 555-0102", &c_id)},
           {foreign},
           {bad_day}}) {
    EXPECT_FALSE(accounts().ImportAccounts(batch).ok());
  }
  EXPECT_EQ(Count("SELECT COUNT(*) FROM accounts"), accounts_before);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM accounts WHERE number = '+16505550102'"), 0);
}

// ---- discovery ----

TEST_F(RelayTest, DiscoveryChargesNewNumbersAgainstADailyBudget) {
  options_.accounts.directory_daily_budget = 5;
  Reopen();
  Credentials a = Register("+14155550123");
  Register("+14155550199");
  auto d = accounts().Discover(a, {"+14155550199", "+14155550100", "nonsense"}, "");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->registered, std::vector<std::string>{"+14155550199"});
  EXPECT_EQ(d->invalid.size(), 1u);
  EXPECT_EQ(d->budget_remaining, 3);
  // Asking again about known numbers is free.
  d = accounts().Discover(a, {"+14155550199", "+14155550100"}, "");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->budget_remaining, 3);
  // Four new numbers exceed the three left: refused, nothing charged.
  auto refused = accounts().Discover(a, {"+14155550101", "+14155550102", "+14155550103", "+14155550104"}, "");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  d = accounts().Discover(a, {"+14155550101", "+14155550102", "+14155550103"}, "");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->budget_remaining, 0);
  // A new day, a new budget.
  clock_.Advance(absl::Hours(24));
  d = accounts().Discover(a, {"+14155550104"}, "");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->budget_remaining, 4);
}

// ---- message stream ----

TEST_F(RelayTest, OnlineAndOfflineDeliveryInOrderWithAcks) {
  Credentials alice = Register("+14155550123");
  Credentials bob = Register("+14155550199");
  auto a = Connect(alice);
  ASSERT_TRUE(a->Next().value().has_queue_empty());
  // Bob offline: three envelopes queue up.
  SubmitSeveral(a, 3, "+14155550199", 10);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM envelopes"), 3);
  auto b = Connect(bob);
  std::vector<uint64_t> ids;
  for (int i = 0; i < 3; ++i) {
    auto f = b->Next().value();
    ASSERT_TRUE(f.has_deliver()) << f.DebugString();
    EXPECT_EQ(f.deliver().envelope().ciphertext(), absl::StrCat("c", i));
    EXPECT_EQ(f.deliver().envelope().sender_number(), "+14155550123");
    EXPECT_EQ(f.deliver().envelope().sender_account_id(), alice.account_id);
    ids.push_back(f.deliver().envelope().server_id());
  }
  EXPECT_TRUE(b->Next().value().has_queue_empty());
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  // Bob online: pushed at once.
  Submit(a, 20, "m3", "+14155550199", "c3");
  ASSERT_TRUE(a->Next().value().has_submit_result());
  auto live = b->Next().value();
  ASSERT_TRUE(live.has_deliver());
  ids.push_back(live.deliver().envelope().server_id());
  Ack(b, ids);
  // The queue empties at once; the rows go purge_delay after they were stored.
  EXPECT_EQ(relay_->directory().QueueDepth(bob.account_id, 1), 0);
  for (int i = 0; i < 500 && Count("SELECT COUNT(*) FROM envelopes") != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(Count("SELECT COUNT(*) FROM envelopes"), 0);
  EXPECT_EQ(relay_->writer().envelopes_purged(), 4u);
}

TEST_F(RelayTest, AcknowledgedRowsWaitForThePurgeAndGoOnStop) {
  options_.writer.purge_delay = absl::Hours(1);
  Reopen();
  Credentials alice = Register("+14155550123");
  Credentials bob = Register("+14155550199");
  auto a = Connect(alice);
  a->Next();
  SubmitSeveral(a, 3, "+14155550199", 10);
  auto b = Connect(bob);
  std::vector<uint64_t> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(b->Next().value().deliver().envelope().server_id());
  EXPECT_TRUE(b->Next().value().has_queue_empty());
  // An ack for an id that is not queued for bob (alice's own, or unknown)
  // is ignored, and so is a second ack of the same id.
  Ack(a, {ids[0]});
  Ack(b, {ids[0], ids[1], ids[1], 999999});
  relay_->writer().RunExclusive([](store::Database&) { return absl::OkStatus(); }).IgnoreError();
  EXPECT_EQ(relay_->directory().QueueDepth(bob.account_id, 1), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM envelopes"), 3);  // not yet purged
  // Reconnecting delivers only what was not acknowledged.
  Disconnect(b);
  auto b2 = Connect(bob);
  auto again = b2->Next().value();
  ASSERT_TRUE(again.has_deliver());
  EXPECT_EQ(again.deliver().envelope().server_id(), ids[2]);
  EXPECT_TRUE(b2->Next().value().has_queue_empty());
  // Stopping deletes every acknowledged row; the unacknowledged one stays.
  for (auto& c : connections_) relay_->stream().OnClose(c);
  connections_.clear();
  Reopen();
  EXPECT_EQ(Count("SELECT COUNT(*) FROM envelopes"), 1);
  EXPECT_EQ(relay_->directory().QueueDepth(bob.account_id, 1), 1);
}

TEST_F(RelayTest, EnvelopesOfDevicesThatAreGoneAreDeletedAtStart) {
  Credentials alice = Register("+14155550123");
  auto db = relay_->database().Execute(
      "INSERT INTO envelopes (server_id, recipient_account, recipient_device, sender_account, sender_device, "
      "sender_number, server_ts_ms, type, ciphertext) VALUES (5, $1, 7, 1, 1, '+14155550100', 0, 1, x'00'), "
      "(6, 424242, 1, 1, 1, '+14155550100', 0, 1, x'00'), (7, $1, 1, 1, 1, '+14155550100', 0, 1, x'00')",
      {static_cast<int64_t>(alice.account_id)});
  ASSERT_TRUE(db.ok()) << db.status();
  Reopen();
  EXPECT_EQ(Count("SELECT COUNT(*) FROM envelopes"), 1);
  EXPECT_EQ(Count("SELECT server_id FROM envelopes"), 7);
  EXPECT_EQ(relay_->directory().QueueDepth(alice.account_id, 1), 1);
}

TEST_F(RelayTest, UnackedEnvelopesAreRedeliveredOnReconnect) {
  Credentials alice = Register("+14155550123");
  Credentials bob = Register("+14155550199");
  auto a = Connect(alice);
  a->Next();
  auto b = Connect(bob);
  ASSERT_TRUE(b->Next().value().has_queue_empty());
  Submit(a, 1, "m1", "+14155550199", "c1");
  ASSERT_TRUE(a->Next().value().has_submit_result());
  auto first = b->Next().value();
  ASSERT_TRUE(first.has_deliver());
  Disconnect(b);
  auto b2 = Connect(bob);
  auto again = b2->Next().value();
  ASSERT_TRUE(again.has_deliver());
  EXPECT_EQ(again.deliver().envelope().server_id(), first.deliver().envelope().server_id());
  EXPECT_TRUE(b2->Next().value().has_queue_empty());
}

TEST_F(RelayTest, ResubmittedClientMessageIdIsNotQueuedTwice) {
  Credentials alice = Register("+14155550123");
  Register("+14155550199");
  auto a = Connect(alice);
  a->Next();
  Submit(a, 1, "same-id", "+14155550199", "c1");
  auto r1 = a->Next().value();
  ASSERT_TRUE(r1.has_submit_result());
  EXPECT_FALSE(r1.submit_result().duplicate());
  clock_.Advance(absl::Seconds(3));
  Submit(a, 2, "same-id", "+14155550199", "c1");
  auto r2 = a->Next().value();
  ASSERT_TRUE(r2.has_submit_result()) << r2.DebugString();
  EXPECT_TRUE(r2.submit_result().duplicate());
  EXPECT_EQ(r2.submit_result().server_id(), r1.submit_result().server_id());
  EXPECT_EQ(r2.submit_result().server_timestamp_ms(), r1.submit_result().server_timestamp_ms());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM envelopes"), 1);
  EXPECT_EQ(
      relay_->directory().QueueDepth(
          r1.submit_result().server_id() ? *relay_->directory().AccountForNumber("+14155550199") : 0, 1),
      1);
}

// An ack names server ids; only the acking device's own queued envelopes
// may be taken by it. Acked rows are purged for good at the latest when the
// relay stops, so the check is seen across a restart.
TEST_F(RelayTest, AnAckOfSomeoneElsesEnvelopeChangesNothing) {
  Credentials alice = Register("+14155550123");
  Credentials bob = Register("+14155550199");
  Credentials mallory = Register("+14155550188");
  auto a = Connect(alice);
  a->Next();
  Submit(a, 1, "m1", "+14155550199", "for bob");
  auto result = a->Next().value();
  ASSERT_TRUE(result.has_submit_result()) << result.DebugString();
  uint64_t bobs = result.submit_result().server_id();
  auto m = Connect(mallory);
  ASSERT_TRUE(m->Next().value().has_queue_empty());
  Ack(m, {bobs});
  Disconnect(a);
  Disconnect(m);
  Reopen();
  EXPECT_EQ(Count(absl::StrCat("SELECT COUNT(*) FROM envelopes WHERE server_id = ", bobs)), 1);
  auto b = Connect(bob);
  auto delivered = b->Next().value();
  ASSERT_TRUE(delivered.has_deliver()) << delivered.DebugString();
  EXPECT_EQ(delivered.deliver().envelope().server_id(), bobs);
}

// A submission names a device; a device the account does not have is an
// error, never a silent redirect to the primary device.
TEST_F(RelayTest, ASubmissionToAnUnknownDeviceIsRefusedAndStoresNothing) {
  Credentials alice = Register("+14155550123");
  Credentials bob = Register("+14155550199");
  auto a = Connect(alice);
  a->Next();
  relay_->stream().OnMessage(
      a, EncodeSubmit(1, "m1", RecipientByNumber("+14155550199", 7), pb::ENVELOPE_TYPE_SIGNAL_MESSAGE, "c1"),
      true);
  auto answer = a->Next().value();
  ASSERT_TRUE(answer.has_error()) << answer.DebugString();
  EXPECT_EQ(answer.error().code(), "not_found");
  EXPECT_EQ(answer.error().message(), "the recipient has no such device");
  relay_->stream().OnMessage(
      a, EncodeSubmit(2, "m2", RecipientByAccount(bob.account_id, 7), pb::ENVELOPE_TYPE_SIGNAL_MESSAGE, "c2"),
      true);
  ASSERT_TRUE(a->Next().value().has_error());
  Disconnect(a);
  Reopen();
  EXPECT_EQ(Count("SELECT COUNT(*) FROM envelopes"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM submissions"), 0);
  auto b = Connect(bob);
  EXPECT_TRUE(b->Next().value().has_queue_empty());
}

// Lookups of numbers nobody registered share one bucket per account,
// whether they come as a key bundle request or as a submission to an
// unknown recipient; lookups of registered numbers cost nothing from it.
TEST_F(RelayTest, LookupMissesAreLimitedOnBothPaths) {
  // The documented default: 60 misses, then one a minute.
  ASSERT_EQ(options_.lookup_miss.burst, 60);
  Credentials alice = Register("+14155550123");
  Register("+14155550199");
  for (int i = 0; i < 30; ++i) {
    auto miss = accounts().FetchBundle(alice, absl::StrCat("+141555503", 10 + i));
    ASSERT_EQ(miss.status().code(), absl::StatusCode::kNotFound) << i << ": " << miss.status();
  }
  auto a = Connect(alice);
  a->Next();
  for (int i = 0; i < 30; ++i) {
    Submit(a, i, absl::StrCat("m", i), absl::StrCat("+141555504", 10 + i), "c");
    auto answer = a->Next().value();
    ASSERT_TRUE(answer.has_error());
    ASSERT_EQ(answer.error().code(), "not_found") << i;
  }
  // The bucket is empty now: both paths answer resource_exhausted.
  EXPECT_EQ(accounts().FetchBundle(alice, "+14155550500").status().code(),
            absl::StatusCode::kResourceExhausted);
  Submit(a, 90, "m90", "+14155550501", "c");
  auto limited = a->Next().value();
  ASSERT_TRUE(limited.has_error());
  EXPECT_EQ(limited.error().code(), "resource_exhausted");
  // A registered recipient is still reachable.
  EXPECT_NE(accounts().FetchBundle(alice, "+14155550199").status().code(),
            absl::StatusCode::kResourceExhausted);
  Submit(a, 91, "m91", "+14155550199", "c");
  EXPECT_TRUE(a->Next().value().has_submit_result());
  // One more miss a minute later.
  clock_.Advance(absl::Minutes(1));
  EXPECT_EQ(accounts().FetchBundle(alice, "+14155550502").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(accounts().FetchBundle(alice, "+14155550503").status().code(),
            absl::StatusCode::kResourceExhausted);
}

// Group commit saves fsyncs by batching, never by skipping them: every
// commit of the writer reaches the disk before its submits are answered.
TEST_F(RelayTest, EveryGroupCommitIsFsynced) {
  auto vfs = store::FaultVfs::Register("relay-sync-count");
  ASSERT_TRUE(vfs.ok()) << vfs.status();
  sqlite_.vfs = (*vfs)->name();
  Reopen();
  Credentials alice = Register("+14155550123");
  Register("+14155550199");
  auto a = Connect(alice);
  a->Next();
  uint64_t commits_before = relay_->writer().batches_committed();
  uint64_t syncs_before = (*vfs)->syncs();
  SubmitSeveral(a, 20, "+14155550199");
  uint64_t commits = relay_->writer().batches_committed() - commits_before;
  uint64_t syncs = (*vfs)->syncs() - syncs_before;
  ASSERT_GT(commits, 0u);
  EXPECT_GE(syncs, commits) << "a commit was answered without an fsync";
  // WAL with synchronous=FULL: one fsync of the log per commit (the
  // checkpointer, which would add its own, is not running here).
  EXPECT_LE(syncs, commits + 1);
  for (auto& c : connections_) relay_->stream().OnClose(c);
  connections_.clear();
  relay_.reset();
}

TEST_F(RelayTest, BatchedFramesAreAnsweredOneByOneInOrder) {
  Credentials alice = Register("+14155550123");
  Credentials bob = Register("+14155550199");
  auto a = Connect(alice);
  a->Next();
  pb::ClientFrame empty;
  empty.set_request_id(4);
  std::vector<std::string> frames = {
      EncodeSubmit(1, "m1", RecipientByNumber("+14155550199"), pb::ENVELOPE_TYPE_SIGNAL_MESSAGE, "c1"),
      EncodeSubmit(2, "m2", RecipientByNumber("+14155550199"), pb::ENVELOPE_TYPE_SIGNAL_MESSAGE, ""),
      EncodeAck(std::vector<uint64_t>{}, 3), empty.SerializeAsString(),
      EncodeSubmit(5, "m5", RecipientByNumber("+14155550199"), pb::ENVELOPE_TYPE_SIGNAL_MESSAGE, "c5")};
  relay_->stream().OnMessage(a, JoinClientFrames(frames), true);
  // Rejections are answered at once, stored submits after their commit.
  std::map<uint64_t, pb::ServerFrame> answers;
  for (int i = 0; i < 5; ++i) {
    auto f = a->Next().value();
    answers[f.request_id()] = f;
  }
  EXPECT_TRUE(answers[1].has_submit_result());
  EXPECT_EQ(answers[2].error().code(), ErrorCodeName(absl::StatusCode::kOutOfRange));
  EXPECT_EQ(answers[3].error().code(), "invalid_argument");
  EXPECT_EQ(answers[4].error().code(), "invalid_argument");
  EXPECT_TRUE(answers[5].has_submit_result());
  EXPECT_LT(answers[1].submit_result().server_id(), answers[5].submit_result().server_id());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM envelopes"), 2);
  EXPECT_EQ(relay_->directory().QueueDepth(bob.account_id, 1), 2);
}

TEST_F(RelayTest, OnlyConnectionsThatAskForBatchesGetJoinedFrames) {
  Credentials alice = Register("+14155550123");
  auto plain = Connect(alice);
  EXPECT_EQ(relay_->stream().JoinLimit(*plain), 0u);
  auto conn = std::make_shared<FakeConnection>();
  net::Request req;
  req.headers.emplace_back("authorization", BasicAuthorization(alice));
  req.query = "frames=batch";
  ASSERT_TRUE(relay_->stream().OnUpgrade(req, &conn->context_).ok());
  EXPECT_EQ(relay_->stream().JoinLimit(*conn), kMaxFramesPerBatch);
  std::vector<std::string> frames = {EncodeQueueEmpty(), EncodeQueueEmpty()};
  auto joined = DecodeServerFrame(relay_->stream().Join(frames));
  ASSERT_TRUE(joined.ok());
  EXPECT_EQ(joined->batch().frames_size(), 2);
}

// Under steady writes the WAL would only grow (a checkpoint never finds
// every frame copied when the next write begins); the relay starts it over.
TEST_F(RelayTest, WalIsStartedOverUnderSteadyWrites) {
  constexpr int64_t kFrames = 1024;  // 4 MiB
  options_.send = RateLimit{1000000, absl::Milliseconds(1)};
  options_.writer.commit_gap = absl::ZeroDuration();  // one commit per submit, back to back
  relay_.reset();
  Open(absl::StrCat("PRAGMA wal_autocheckpoint=0; PRAGMA journal_size_limit=", kFrames * 4096));
  auto checkpointer = store::OpenSqlite((dir_ / "messenger.db").string());
  ASSERT_TRUE(checkpointer.ok());
  relay_->StartCheckpointer(std::move(*checkpointer), kFrames);
  Credentials alice = Register("+14155550123");
  Register("+14155550199");
  auto a = Connect(alice);
  a->Next();
  std::string ciphertext(2000, 'x');
  uintmax_t largest = 0;
  const auto wal = dir_ / "messenger.db-wal";
  for (int i = 0; i < 5000; ++i) {  // ~10 MB of envelopes, one commit each
    Submit(a, i, absl::StrCat("m", i), "+14155550199", ciphertext);
    ASSERT_TRUE(a->Next().value().has_submit_result());
    if (i % 100 == 0) largest = std::max(largest, std::filesystem::file_size(wal));
  }
  largest = std::max(largest, std::filesystem::file_size(wal));
  // Every commit appends several 4 KiB frames: kept, they would pass 100 MB.
  // Started over, the WAL holds what accrues between two checkpointer
  // passes beyond 4 MiB.
  EXPECT_LT(largest, 40u << 20) << "the WAL kept growing";
  // Every commit wrote at least one page (the envelope's) that the
  // checkpointer counted, across the restarts.
  EXPECT_GE(metrics_.GetCounter("tandem_relay_wal_frames_total", "").value(), 5000u);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM envelopes"), 5000);
}

// A ciphertext for an installation that has since registered again is
// refused (the new one cannot read it), and nothing is stored.
TEST_F(RelayTest, SubmitsForAReplacedInstallationAreRefusedAsStale) {
  Credentials alice = Register("+14155550123");
  Credentials bob = Register("+14155550199");  // registration id 42 (see Register)
  auto a = Connect(alice);
  a->Next();
  auto submit = [&](uint64_t rid, const std::string& cmid, uint32_t registration_id) {
    relay_->stream().OnMessage(a,
                               EncodeSubmit(rid, cmid, RecipientByNumber("+14155550199"),
                                            pb::ENVELOPE_TYPE_SIGNAL_MESSAGE, "c", registration_id),
                               true);
    return a->Next().value();
  };
  EXPECT_TRUE(submit(1, "m1", 42).has_submit_result());
  EXPECT_TRUE(submit(2, "m2", 0).has_submit_result());  // unchecked
  auto stale = submit(3, "m3", 41);
  ASSERT_TRUE(stale.has_error()) << stale.DebugString();
  EXPECT_EQ(stale.error().code(), ErrorCodeName(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(stale.error().client_message_id(), "m3");
  EXPECT_NE(stale.error().message().find("registered again"), std::string::npos);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM envelopes"), 2);
  EXPECT_EQ(relay_->directory().QueueDepth(bob.account_id, 1), 2);
  // The id was not used up: the same id goes through once encrypted anew.
  EXPECT_FALSE(submit(4, "m3", 42).submit_result().duplicate());
}

// With a commit gap, commits start at least that far apart: one submit at
// a time (each waiting for its answer) takes a gap per commit.
TEST_F(RelayTest, CommitGapSpacesCommits) {
  options_.writer.commit_gap = absl::Milliseconds(50);
  Reopen();
  Credentials alice = Register("+14155550123");
  Register("+14155550199");
  auto a = Connect(alice);
  a->Next();
  auto started = std::chrono::steady_clock::now();
  SubmitSeveral(a, 5, "+14155550199");
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(190));
}

TEST_F(RelayTest, LimitsAnswerWithClearErrorsAndStoreNothing) {
  options_.stream.max_queue_depth = 2;
  options_.send = RateLimit{5, absl::Seconds(1)};
  Reopen();
  Credentials alice = Register("+14155550123");
  Register("+14155550199");
  auto a = Connect(alice);
  a->Next();
  // Oversized.
  Submit(a, 1, "big", "+14155550199", std::string(kMaxCiphertextBytes + 1, 'x'));
  auto e = a->Next().value();
  ASSERT_TRUE(e.has_error());
  EXPECT_EQ(e.error().code(), "payload_too_large");
  EXPECT_EQ(e.error().client_message_id(), "big");
  // Unknown recipient.
  Submit(a, 2, "nobody", "+14155550100", "c");
  e = a->Next().value();
  ASSERT_TRUE(e.has_error());
  EXPECT_EQ(e.error().code(), "not_found");
  // Queue depth 2.
  Submit(a, 3, "q1", "+14155550199", "c");
  Submit(a, 4, "q2", "+14155550199", "c");
  EXPECT_TRUE(a->Next().value().has_submit_result());
  EXPECT_TRUE(a->Next().value().has_submit_result());
  Submit(a, 5, "q3", "+14155550199", "c");
  e = a->Next().value();
  ASSERT_TRUE(e.has_error());
  EXPECT_EQ(e.error().code(), "resource_exhausted");
  EXPECT_NE(e.error().message().find("queue is full"), std::string::npos);
  // Send rate: 4 tokens were spent above (the oversized envelope was refused
  // before), a fifth on a full queue; the next one is refused.
  Submit(a, 6, "r1", "+14155550199", "c");
  EXPECT_EQ(a->Next().value().error().code(), "resource_exhausted");
  Submit(a, 7, "r2", "+14155550199", "c");
  e = a->Next().value();
  ASSERT_TRUE(e.has_error());
  EXPECT_NE(e.error().message().find("envelopes sent"), std::string::npos) << e.DebugString();
  EXPECT_EQ(Count("SELECT COUNT(*) FROM envelopes"), 2);
}

TEST_F(RelayTest, MalformedFramesGetErrorsAndChangeNothing) {
  Credentials alice = Register("+14155550123");
  auto a = Connect(alice);
  a->Next();
  // A frame without a body: error, the connection stays.
  relay_->stream().OnMessage(a, pb::ClientFrame().SerializeAsString(), true);
  auto e = a->Next().value();
  ASSERT_TRUE(e.has_error());
  EXPECT_EQ(e.error().code(), "invalid_argument");
  EXPECT_EQ(a->close_code(), 0);
  // Empty ack.
  relay_->stream().OnMessage(a, EncodeAck({}, 9), true);
  e = a->Next().value();
  ASSERT_TRUE(e.has_error());
  EXPECT_EQ(e.request_id(), 9u);
  // Garbage: error then close 1007.
  relay_->stream().OnMessage(a, std::string("\xff\xff\xff\xff", 4), true);
  EXPECT_TRUE(a->Next().value().has_error());
  EXPECT_EQ(a->close_code(), 1007);
  // Text: close 1003.
  auto a2 = Connect(alice);
  a2->Next();
  relay_->stream().OnMessage(a2, "hello", false);
  EXPECT_TRUE(a2->Next().value().has_error());
  EXPECT_EQ(a2->close_code(), 1003);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM envelopes"), 0);
}

TEST_F(RelayTest, BadCredentialsAreRefusedAtUpgrade) {
  Credentials alice = Register("+14155550123");
  std::shared_ptr<void> ctx;
  net::Request req;
  EXPECT_EQ(relay_->stream().OnUpgrade(req, &ctx).code(), absl::StatusCode::kUnauthenticated);
  req.headers.emplace_back("authorization", BasicAuthorization({alice.account_id, 1, "nope"}));
  EXPECT_EQ(relay_->stream().OnUpgrade(req, &ctx).code(), absl::StatusCode::kUnauthenticated);
  net::Request q;
  q.query = WebSocketTargetWithCredentials(alice).substr(std::string(kWebSocketPath).size() + 1);
  EXPECT_TRUE(relay_->stream().OnUpgrade(q, &ctx).ok());
}

TEST_F(RelayTest, WindowBoundsUnackedEnvelopes) {
  options_.stream.window_envelopes = 4;
  Reopen();
  Credentials alice = Register("+14155550123");
  Credentials bob = Register("+14155550199");
  auto a = Connect(alice);
  a->Next();
  SubmitSeveral(a, 10, "+14155550199");
  auto b = Connect(bob);
  std::vector<std::string> got;
  for (int round = 0; round < 3; ++round) {
    std::vector<uint64_t> ids;
    for (;;) {
      auto f = b->Next(absl::Milliseconds(300));
      if (!f) break;
      if (f->has_queue_empty()) {
        got.push_back("EMPTY");
        break;
      }
      ASSERT_TRUE(f->has_deliver());
      got.push_back(f->deliver().envelope().ciphertext());
      ids.push_back(f->deliver().envelope().server_id());
    }
    EXPECT_LE(ids.size(), 4u);
    if (!ids.empty()) Ack(b, ids);
  }
  std::vector<std::string> want;
  for (int i = 0; i < 10; ++i) want.push_back(absl::StrCat("c", i));
  want.push_back("EMPTY");
  EXPECT_EQ(got, want);
}

TEST_F(RelayTest, UsageCountsSessionsAndMessagesButNotReceipts) {
  Credentials alice = Register("+14155550123");
  Register("+14155550199");
  auto a = Connect(alice);
  a->Next();
  Submit(a, 1, "m1", "+14155550199", "c");
  Submit(a, 2, "m2", "+14155550199", "c");
  Submit(a, 3, "r1", "+14155550199", "c", pb::ENVELOPE_TYPE_RECEIPT);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(a->Next().value().has_submit_result());
  Disconnect(a);
  auto a2 = Connect(alice);
  a2->Next();
  relay_->writer().RunExclusive([](store::Database&) { return absl::OkStatus(); }).IgnoreError();
  auto usage = accounts().Usage(alice);
  ASSERT_TRUE(usage.ok());
  ASSERT_EQ(usage->size(), 1u);
  EXPECT_EQ((*usage)[0].day, "2023-11-14");
  EXPECT_EQ((*usage)[0].sessions, 2);
  EXPECT_EQ((*usage)[0].messages, 2);
}

TEST_F(RelayTest, DeletionRemovesEverythingOfTheAccount) {
  Identity id;
  Credentials alice = Register("+14155550123", &id);
  Credentials bob = Register("+14155550199");
  ASSERT_TRUE(accounts().UploadKeys(alice, MakeUpload(id, 1, 5, random_)).ok());
  auto b = Connect(bob);
  b->Next();
  Submit(b, 1, "m1", "+14155550123", "c");
  ASSERT_TRUE(b->Next().value().has_submit_result());
  Submit(b, 3, "m3", "+14155550123", "c");
  ASSERT_TRUE(b->Next().value().has_submit_result());
  auto a = Connect(alice);
  auto first = a->Next().value();
  ASSERT_TRUE(first.has_deliver());
  ASSERT_TRUE(a->Next().value().has_deliver());
  // One acknowledged (its row waits for the purge), one still queued.
  Ack(a, {first.deliver().envelope().server_id()});
  ASSERT_TRUE(accounts().Discover(alice, {"+14155550100"}, "").ok());
  ASSERT_TRUE(accounts().DeleteAccount(alice).ok());
  EXPECT_EQ(a->close_code(), kCloseRevoked);
  for (const char* table :
       {"one_time_prekeys", "signed_prekeys", "envelopes", "directory_seen", "directory_budget"}) {
    EXPECT_EQ(Count(absl::StrCat("SELECT COUNT(*) FROM ", table)), 0) << table;
  }
  EXPECT_EQ(Count(absl::StrCat("SELECT COUNT(*) FROM usage_daily WHERE account_id = ", alice.account_id)), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM accounts"), 1);
  EXPECT_FALSE(accounts().Authenticate(alice).ok());
  // Now unknown to senders.
  Submit(b, 2, "m2", "+14155550123", "c");
  auto e = b->Next().value();
  ASSERT_TRUE(e.has_error());
  EXPECT_EQ(e.error().code(), "not_found");
}

TEST_F(RelayTest, StateSurvivesReopenAndServerIdsKeepGrowing) {
  Credentials alice = Register("+14155550123");
  Register("+14155550199");
  auto a = Connect(alice);
  a->Next();
  Submit(a, 1, "m1", "+14155550199", "c1");
  auto r1 = a->Next().value();
  ASSERT_TRUE(r1.has_submit_result());
  Disconnect(a);
  connections_.clear();
  Reopen();
  EXPECT_TRUE(accounts().Authenticate(alice).ok());
  auto a2 = Connect(alice);
  a2->Next();
  Submit(a2, 2, "m1", "+14155550199", "c1");
  auto dup = a2->Next().value();
  ASSERT_TRUE(dup.has_submit_result());
  EXPECT_TRUE(dup.submit_result().duplicate());
  Submit(a2, 3, "m2", "+14155550199", "c2");
  auto r2 = a2->Next().value();
  ASSERT_TRUE(r2.has_submit_result());
  EXPECT_GT(r2.submit_result().server_id(), r1.submit_result().server_id());
  EXPECT_EQ(relay_->directory().QueueDepth(*relay_->directory().AccountForNumber("+14155550199"), 1), 2);
}

// RelayOptions{} is what tests construct directly; tandemd reads the
// configuration schema's defaults. The two must not drift apart.
TEST(RelayOptionsTest, DefaultsAreTheConfigurationSchemas) {
  RelayOptions configured = RelayOptions::FromConfig(Config());
  RelayOptions defaults;
  EXPECT_EQ(configured.stream.max_queue_depth, defaults.stream.max_queue_depth);
  EXPECT_EQ(configured.accounts.directory_daily_budget, defaults.accounts.directory_daily_budget);
  EXPECT_EQ(configured.writer.max_batch, defaults.writer.max_batch);
  EXPECT_EQ(configured.writer.dedup_retention, defaults.writer.dedup_retention);
  EXPECT_EQ(configured.writer.commit_gap, defaults.writer.commit_gap);
  EXPECT_EQ(configured.writer.purge_delay, defaults.writer.purge_delay);
  EXPECT_EQ(configured.checkpoint_interval, defaults.checkpoint_interval);
  for (auto member : {&RelayOptions::send, &RelayOptions::lookup_miss}) {
    EXPECT_EQ((configured.*member).burst, (defaults.*member).burst);
    EXPECT_EQ((configured.*member).interval, (defaults.*member).interval);
  }
  EXPECT_EQ(configured.accounts.bundle_fetches_per_account.burst,
            defaults.accounts.bundle_fetches_per_account.burst);
  EXPECT_EQ(configured.accounts.bundle_fetches_per_account.interval,
            defaults.accounts.bundle_fetches_per_account.interval);
  EXPECT_EQ(configured.accounts.codes.codes_per_prefix.interval,
            defaults.accounts.codes.codes_per_prefix.interval);
}

// The relay's database as tandemd opens it: WAL, and every commit on disk
// before it returns (synchronous=FULL, 2). A kill -9 test cannot see a
// weaker setting, because the kernel keeps the writes.
TEST(RelayDurabilityTest, TandemdsHandlesCommitToDisk) {
  auto dir = std::filesystem::temp_directory_path() / absl::StrCat("relay_durability_", getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  {
    auto config = Config::Load("", {"relay.code_sender=dev"});
    ASSERT_TRUE(config.ok()) << config.status();
    net::Router router;
    net::Metrics metrics;
    auto relay = StartRelay(*config, dir, router, metrics);
    ASSERT_TRUE(relay.ok()) << relay.status();
    ASSERT_TRUE(*relay);
    store::Database& db = (*relay)->database();
    EXPECT_EQ(db.QueryOne("PRAGMA synchronous")->Int(0), 2);
    EXPECT_EQ(db.QueryOne("PRAGMA journal_mode")->Text(0), "wal");
    (*relay)->Stop();
  }
  std::filesystem::remove_all(dir);
}

// A replaced installation is told what happened; a guess is not told
// anything more than before.
TEST(DirectoryTest, ReplacedCredentialsSayWhenAndGuessesSayNothing) {
  Directory d;
  d.PutDevice(7, "+14155550101", 1, HashPassword("old-password"), 11);
  const int64_t at_ms = 1'796'000'000'000;
  d.ClearDevices(7, at_ms);
  d.PutDevice(7, "+14155550101", 1, HashPassword("new-password"), 12);

  EXPECT_TRUE(d.Authenticate(Credentials{7, 1, "new-password"}).ok());
  absl::Status old = d.Authenticate(Credentials{7, 1, "old-password"});
  EXPECT_TRUE(absl::IsUnauthenticated(old));
  EXPECT_EQ(ReasonOf(old), "registration_replaced");
  EXPECT_NE(old.message().find("registered again on another device at 2026-"), absl::string_view::npos)
      << old.message();
  for (const Credentials& guess :
       {Credentials{7, 1, "guess"}, Credentials{7, 2, "old-password"}, Credentials{8, 1, "old-password"}}) {
    absl::Status st = d.Authenticate(guess);
    EXPECT_TRUE(absl::IsUnauthenticated(st));
    EXPECT_EQ(ReasonOf(st), "");
    EXPECT_EQ(st.message(), "invalid credentials");
  }
  // Only the newest few replaced installations are remembered.
  for (int i = 0; i < 6; ++i) d.RetireDevice(7, 1, HashPassword(absl::StrCat("p", i)), at_ms + i);
  EXPECT_EQ(ReasonOf(d.Authenticate(Credentials{7, 1, "p5"})), "registration_replaced");
  EXPECT_EQ(ReasonOf(d.Authenticate(Credentials{7, 1, "old-password"})), "");
  // A deleted account forgets them.
  d.RemoveAccount(7);
  EXPECT_EQ(ReasonOf(d.Authenticate(Credentials{7, 1, "p5"})), "");
}

}  // namespace
}  // namespace tandem::relay
