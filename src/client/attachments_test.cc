// Attachment transfers against a real relay on loopback: a round trip, an
// upload whose connection breaks (before a chunk arrives, and after a
// chunk arrived but before its answer did), and a blob altered on the
// relay's disk.
#include "client/attachments.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "crypto/attachment.h"
#include "crypto/keys.h"
#include "net/metrics.h"
#include "net/server.h"
#include "relay/accounts.h"
#include "relay/blob_api.h"
#include "relay/relay.h"
#include "relay_protocol/protocol.h"
#include "testing/capturing_sender.h"

namespace tandem::client {
namespace {

using ::tandem::testing::CapturingSender;

// The network, with PUTs that fail on command: `drop_before` of them never
// reach the relay, `drop_after` reach it but their answer is lost.
class FlakyTransport final : public RelayTransport {
 public:
  absl::StatusOr<net::HttpResponse> Request(const std::string& server, const std::string& method,
                                            const std::string& target, const std::string& body,
                                            const net::Headers& headers) override {
    if (method == "PUT") {
      ++puts;
      if (puts == drop_before) return absl::UnavailableError("connection reset (before the chunk)");
      if (puts == drop_after) {
        auto r = inner_->Request(server, method, target, body, headers);
        EXPECT_TRUE(r.ok() && r->status == 200);
        return absl::UnavailableError("connection reset (after the chunk)");
      }
    }
    return inner_->Request(server, method, target, body, headers);
  }
  absl::StatusOr<std::unique_ptr<RelayStream>> OpenStream(const std::string& server,
                                                          const std::string& target,
                                                          const net::Headers& headers) override {
    return inner_->OpenStream(server, target, headers);
  }

  int puts = 0;
  int drop_before = -1;
  int drop_after = -1;

 private:
  std::unique_ptr<RelayTransport> inner_ = MakeNetworkTransport();
};

class AttachmentsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / absl::StrCat("attachments_test_", getpid(), "_", counter_++);
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ / "scratch");
    const std::string path = (dir_ / "messenger.db").string();
    relay::RelayOptions relay_options;
    relay_options.writer.commit_gap = absl::ZeroDuration();
    auto storage =
        relay::Relay::OpenSqliteStorage(path, store::SqliteOptions{}, relay_options, metrics_, clock_);
    ASSERT_TRUE(storage.ok()) << storage.status();
    auto sender = std::make_unique<CapturingSender>();
    sender_ = sender.get();
    auto r = relay::Relay::Create(std::move(*storage), std::move(sender), relay_options, metrics_, clock_,
                                  random_);
    ASSERT_TRUE(r.ok()) << r.status();
    relay_ = *std::move(r);

    auto db = store::OpenSqlite(path);
    ASSERT_TRUE(db.ok()) << db.status();
    blob_db_ = std::move(*db);
    blob_options_.max_chunk = 256 << 10;
    auto blobs = relay::LocalBlobStore::Open(dir_ / "attachments", *blob_db_, clock_, random_, blob_options_);
    ASSERT_TRUE(blobs.ok()) << blobs.status();
    blobs_ = std::move(*blobs);

    net::Router router;
    relay_->RegisterRoutes(router);
    relay::AddBlobRoutes(router, relay_->accounts(), blobs_, blob_options_);
    net::ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.threads = 2;
    options.worker_threads = 2;
    server_ = std::make_unique<net::Server>(options, std::move(router), metrics_);
    ASSERT_TRUE(server_->Start().ok());
    address_ = absl::StrCat("127.0.0.1:", server_->port());
    alice_ = Register("+14155550111");
    bob_ = Register("+14155550112");
  }
  void TearDown() override {
    server_->Stop();
    server_.reset();
    relay_->Stop();
    blobs_.reset();
    blob_db_.reset();
    relay_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string Register(const std::string& number) {
    auto identity = crypto::KeyPair::Generate(random_);
    auto key = identity.public_key.Serialize();
    EXPECT_TRUE(relay_->accounts().RequestCode(number, "", "10.0.0.1:5").ok());
    relay::AccountService::VerifyRequest v{
        number, "", sender_->CodeFor(number), std::string(key.begin(), key.end()), 42, "10.0.0.1:5"};
    auto r = relay_->accounts().Verify(v);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? relay::BasicAuthorization(r->credentials) : "";
  }

  AttachmentClient Client(RelayTransport& transport, const std::string& authorization) {
    AttachmentOptions o;
    o.scratch_dir = dir_ / "scratch";
    o.download_chunk = 300'000;
    o.retry_delay = absl::ZeroDuration();  // the clock is a FakeClock
    return AttachmentClient(transport, address_, authorization, clock_, random_, o);
  }

  std::filesystem::path WriteFile(const std::string& name, size_t n) {
    std::string s(n, '\0');
    SeededRandom(n).Fill(std::span(reinterpret_cast<uint8_t*>(s.data()), s.size()));
    auto path = dir_ / name;
    std::ofstream(path, std::ios::binary) << s;
    return path;
  }
  static std::string Read(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  bool ScratchIsEmpty() const { return std::filesystem::is_empty(dir_ / "scratch"); }

  static inline int counter_ = 0;
  std::filesystem::path dir_;
  FakeClock clock_;
  SeededRandom random_{11};
  net::Metrics metrics_;
  CapturingSender* sender_ = nullptr;
  std::unique_ptr<relay::Relay> relay_;
  std::unique_ptr<store::Database> blob_db_;
  relay::BlobStoreOptions blob_options_;
  std::shared_ptr<relay::LocalBlobStore> blobs_;
  std::unique_ptr<net::Server> server_;
  std::string address_;
  std::string alice_, bob_;
};

TEST_F(AttachmentsTest, RoundTripThroughTheRelay) {
  auto in = WriteFile("photo.jpg", 1'234'567);
  auto transport = MakeNetworkTransport();
  auto alice = Client(*transport, alice_);
  auto pointer = alice.Upload(in, "image/jpeg");
  ASSERT_TRUE(pointer.ok()) << pointer.status();
  EXPECT_EQ(pointer->size, 1'234'567u);
  EXPECT_EQ(pointer->file_name, "photo.jpg");
  EXPECT_EQ(pointer->content_type, "image/jpeg");
  EXPECT_EQ(pointer->key.size(), 64u);
  EXPECT_EQ(pointer->digest.size(), 32u);
  // The relay holds the padded ciphertext only.
  EXPECT_EQ(*blobs_->Size(pointer->id), static_cast<int64_t>(crypto::AttachmentBlobSize(1'234'567)));

  auto bob_transport = MakeNetworkTransport();
  auto bob = Client(*bob_transport, bob_);
  auto out = dir_ / "received.jpg";
  ASSERT_TRUE(bob.Download(*pointer, out).ok());
  EXPECT_EQ(Read(out), Read(in));
  EXPECT_TRUE(ScratchIsEmpty());
}

TEST_F(AttachmentsTest, UploadResumesAfterBrokenConnections) {
  auto in = WriteFile("video.mp4", 2'000'000);  // 8 chunks of 256 KiB
  FlakyTransport transport;
  transport.drop_before = 2;
  transport.drop_after = 5;
  auto alice = Client(transport, alice_);
  auto pointer = alice.Upload(in, "video/mp4");
  ASSERT_TRUE(pointer.ok()) << pointer.status();
  // 8 chunks, one sent again after the failure before it, none again after
  // the lost answer (the relay's offset said it had arrived).
  EXPECT_EQ(transport.puts, 9);
  auto bob_transport = MakeNetworkTransport();
  auto out = dir_ / "video.out";
  ASSERT_TRUE(Client(*bob_transport, bob_).Download(*pointer, out).ok());
  EXPECT_EQ(Read(out), Read(in));
}

TEST_F(AttachmentsTest, TamperedBlobIsRefusedAndNothingIsWritten) {
  auto in = WriteFile("doc.pdf", 500'000);
  auto transport = MakeNetworkTransport();
  auto pointer = Client(*transport, alice_).Upload(in, "application/pdf");
  ASSERT_TRUE(pointer.ok()) << pointer.status();
  {
    std::fstream f(dir_ / "attachments" / pointer->id, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(400'000);
    f.put('\x42');
  }
  auto bob_transport = MakeNetworkTransport();
  auto bob = Client(*bob_transport, bob_);
  auto out = dir_ / "doc.out";
  absl::Status st = bob.Download(*pointer, out);
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss) << st;
  EXPECT_EQ(st.message(), "attachment digest mismatch: the blob was altered or truncated");
  EXPECT_FALSE(std::filesystem::exists(out));
  EXPECT_TRUE(ScratchIsEmpty());

  // A pointer with another key (someone else's pointer to the same blob id
  // with a forged digest would fail the same way) fails the MAC.
  auto fresh = Client(*transport, alice_).Upload(in, "application/pdf");
  ASSERT_TRUE(fresh.ok());
  AttachmentPointer wrong = *fresh;
  wrong.key[40] = static_cast<char>(wrong.key[40] ^ 1);
  st = bob.Download(wrong, out);
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss) << st;
  EXPECT_NE(st.message().find("MAC mismatch"), std::string::npos) << st;
  EXPECT_EQ(
      bob.Download(AttachmentPointer{std::string(32, '0'), fresh->key, fresh->digest, 1, "", ""}, out).code(),
      absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace tandem::client
