// Shared fixtures of the relay's tests: a code sender that keeps the codes,
// a WebSocket connection that records its frames, and RelayTest, a relay on
// a FakeClock in a scratch directory, driven through fake connections.
#pragma once

#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/random.h"
#include "crypto/keys.h"
#include "net/metrics.h"
#include "net/server.h"
#include "relay/accounts.h"
#include "relay/directory.h"
#include "relay/envelope_writer.h"
#include "relay/message_stream.h"
#include "relay/relay.h"
#include "relay/relay_store.h"
#include "relay_protocol/protocol.h"
#include "store/store.h"
#include "testing/capturing_sender.h"
#include "verification/code_sender.h"

namespace tandem::relay {

// The copies stored and not yet acknowledged: envelope rows, and the copies
// of shared bodies that have no row of their own.
inline constexpr char kStoredCopiesSql[] =
    "SELECT (SELECT COUNT(*) FROM envelopes) + (SELECT COALESCE(SUM(shared), 0) FROM bodies) - "
    "(SELECT COUNT(*) FROM acked_copies)";

using ::tandem::testing::CapturingSender;

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
    for (auto& c : connections_) relay_->StreamForTesting().OnClose(c);
    connections_.clear();
    relay_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Opens the relay on the data in dir_ with the current options_, its
  // storage as tandemd opens it (the maintenance is not started).
  void Open() {
    std::string path = (dir_ / "messenger.db").string();
    auto storage = Relay::OpenSqliteStorage(path, sqlite_, options_, metrics_, clock_);
    ASSERT_TRUE(storage.ok()) << storage.status();
    auto sender = std::make_unique<CapturingSender>();
    sender_ = sender.get();
    auto r = Relay::Create(std::move(*storage), std::move(sender), options_, metrics_, clock_, random_);
    ASSERT_TRUE(r.ok()) << r.status();
    relay_ = std::move(*r);
  }

  // Returns once the writer has answered everything queued before, and run
  // the purge that was due then: the first no-op may share its pass with
  // the queued work and that purge, the second runs in the next pass.
  void Flush() {
    for (int i = 0; i < 2; ++i) {
      relay_->WriterForTesting()
          .RunExclusive([](store::Database&) { return absl::OkStatus(); })
          .IgnoreError();
    }
  }

  // The writer's waits (the commit gap, the purge delay) are on clock_, so
  // tests run without a commit gap unless they set one and move the clock.
  static RelayOptions TestOptions() {
    RelayOptions o;
    o.writer.commit_gap = absl::ZeroDuration();
    return o;
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
    EXPECT_TRUE(relay_->StreamForTesting().OnUpgrade(req, &conn->context_).ok());
    relay_->StreamForTesting().OnOpen(conn);
    connections_.push_back(conn);
    return conn;
  }
  void Disconnect(const std::shared_ptr<FakeConnection>& conn) { relay_->StreamForTesting().OnClose(conn); }

  void Submit(const std::shared_ptr<FakeConnection>& conn, uint64_t request_id, const std::string& cmid,
              const std::string& to, const std::string& ciphertext,
              pb::EnvelopeType type = pb::ENVELOPE_TYPE_SIGNAL_MESSAGE) {
    relay_->StreamForTesting().OnMessage(
        conn, EncodeSubmit(request_id, cmid, RecipientByNumber(to), type, ciphertext), true);
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
    relay_->StreamForTesting().OnMessage(conn, EncodeAck(ids), true);
  }

  int64_t Count(const std::string& sql) {
    auto row = relay_->DatabaseForTesting().QueryOne(sql);
    EXPECT_TRUE(row.ok()) << row.status();
    return row.ok() ? row->Int(0) : -1;
  }

  static inline int counter_ = 0;
  std::filesystem::path dir_;
  FakeClock clock_;
  SeededRandom random_{7};
  net::Metrics metrics_;
  RelayOptions options_ = TestOptions();
  store::SqliteOptions sqlite_;  // as tandemd opens the relay's files
  CapturingSender* sender_ = nullptr;
  std::unique_ptr<Relay> relay_;
  std::vector<std::shared_ptr<FakeConnection>> connections_;
};

}  // namespace tandem::relay
