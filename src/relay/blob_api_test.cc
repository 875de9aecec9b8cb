// The attachment routes through real HTTP on loopback: chunked uploads,
// resuming, downloads whole and in ranges, the error codes, the upload
// route's own body limit, and credentials checked before a body is read.
#include "relay/blob_api.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "net/client.h"
#include "relay/test_util.h"

namespace tandem::relay {
namespace {

using nlohmann::json;

class BlobApiTest : public RelayTest {
 protected:
  void SetUp() override {
    RelayTest::SetUp();
    auto db = store::OpenSqlite((dir_ / "messenger.db").string());
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    blob_options_.max_length = 1 << 20;
    blob_options_.max_chunk = 64 << 10;
    blob_options_.account_quota = 3 << 20;
    auto blobs = LocalBlobStore::Open(dir_ / "attachments", *db_, clock_, random_, blob_options_);
    ASSERT_TRUE(blobs.ok()) << blobs.status();
    blobs_ = std::move(*blobs);
    net::Router router;
    relay_->RegisterRoutes(router);
    AddBlobRoutes(router, accounts(), blobs_, blob_options_);
    net::ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.threads = 2;
    options.worker_threads = 2;
    options.max_body_bytes = 4 << 10;  // far below a chunk
    server_ = std::make_unique<net::Server>(options, std::move(router), metrics_);
    ASSERT_TRUE(server_->Start().ok());
    http_ = std::make_unique<net::HttpClient>(absl::StrCat("127.0.0.1:", server_->port()));
    alice_ = Register("+14155550101");
    bob_ = Register("+14155550102");
  }
  void TearDown() override {
    http_.reset();
    server_->Stop();
    server_.reset();
    blobs_.reset();
    db_.reset();
    RelayTest::TearDown();
  }

  net::HttpResponse Call(const std::string& method, const std::string& target, const std::string& body,
                         const Credentials* who, net::Headers headers = {}) {
    if (who) headers.emplace_back("Authorization", BasicAuthorization(*who));
    auto r = http_->Request(method, target, body, headers);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : net::HttpResponse{};
  }
  static std::string Code(const net::HttpResponse& r) { return json::parse(r.body)["error"]["code"]; }

  std::string CreateUpload(const Credentials& who, int64_t length) {
    auto r = Call("POST", "/v1/attachments", json{{"length", length}}.dump(), &who);
    EXPECT_EQ(r.status, 201) << r.body;
    json j = json::parse(r.body);
    EXPECT_EQ(j["offset"], 0);
    EXPECT_EQ(j["max_chunk"], blob_options_.max_chunk);
    return j["id"];
  }

  std::unique_ptr<store::Database> db_;
  BlobStoreOptions blob_options_;
  std::shared_ptr<LocalBlobStore> blobs_;
  std::unique_ptr<net::Server> server_;
  std::unique_ptr<net::HttpClient> http_;
  Credentials alice_, bob_;
};

std::string Bytes(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + i * 7 + (i >> 9));
  return s;
}

TEST_F(BlobApiTest, UploadsInChunksResumesAndDownloads) {
  const std::string blob = Bytes(150'000, 'a');
  const std::string id = CreateUpload(alice_, static_cast<int64_t>(blob.size()));
  const std::string path = "/v1/attachments/" + id;

  auto first = Call("PUT", path + "?offset=0", blob.substr(0, 60'000), &alice_);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(json::parse(first.body)["offset"], 60'000);
  EXPECT_EQ(json::parse(first.body)["complete"], false);
  // Not downloadable yet.
  EXPECT_EQ(Call("GET", path, "", &bob_).status, 404);

  // A client that lost the answer asks where to resume.
  auto state = Call("GET", path + "/upload", "", &alice_);
  ASSERT_EQ(state.status, 200) << state.body;
  EXPECT_EQ(json::parse(state.body)["offset"], 60'000);
  EXPECT_EQ(json::parse(state.body)["length"], 150'000);
  // Resending an acknowledged chunk names the offset to send from.
  auto again = Call("PUT", path + "?offset=0", blob.substr(0, 60'000), &alice_);
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_EQ(Code(again), "failed_precondition");
  EXPECT_EQ(json::parse(again.body)["error"]["reason"], "offset_mismatch");
  EXPECT_NE(again.body.find("send from offset 60000"), std::string::npos) << again.body;

  auto second = Call("PUT", path + "?offset=60000", blob.substr(60'000, 60'000), &alice_);
  ASSERT_EQ(second.status, 200) << second.body;
  auto last = Call("PUT", path + "?offset=120000", blob.substr(120'000), &alice_);
  ASSERT_EQ(last.status, 200) << last.body;
  EXPECT_EQ(json::parse(last.body)["complete"], true);

  // Any authenticated account that knows the id downloads it.
  auto whole = Call("GET", path, "", &bob_);
  ASSERT_EQ(whole.status, 200);
  EXPECT_EQ(whole.Header("content-type"), "application/octet-stream");
  EXPECT_EQ(whole.body, blob);
  auto part = Call("GET", path, "", &bob_, {{"Range", "bytes=100-199"}});
  ASSERT_EQ(part.status, 206);
  EXPECT_EQ(part.body, blob.substr(100, 100));
  EXPECT_EQ(part.Header("content-range"), "bytes 100-199/150000");
  auto tail = Call("GET", path, "", &bob_, {{"Range", "bytes=149990-"}});
  EXPECT_EQ(tail.body, blob.substr(149'990));
  EXPECT_EQ(Call("GET", path, "", &bob_, {{"Range", "bytes=150000-"}}).status, 400);
  EXPECT_EQ(Call("GET", path, "", nullptr).status, 401);

  // Only the uploader withdraws it.
  EXPECT_EQ(Call("DELETE", path, "", &bob_).status, 404);
  EXPECT_EQ(Call("DELETE", path, "", &alice_).status, 200);
  EXPECT_EQ(Call("GET", path, "", &bob_).status, 404);
}

TEST_F(BlobApiTest, ErrorsHaveTheDocumentedCodes) {
  auto big = Call("POST", "/v1/attachments", json{{"length", (1 << 20) + 1}}.dump(), &alice_);
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(Code(big), "payload_too_large");
  auto zero = Call("POST", "/v1/attachments", json{{"length", 0}}.dump(), &alice_);
  EXPECT_EQ(zero.status, 400);
  EXPECT_EQ(Code(zero), "invalid_argument");
  EXPECT_EQ(Call("POST", "/v1/attachments", R"({"length":"12"})", &alice_).status, 400);
  EXPECT_EQ(Call("POST", "/v1/attachments", json{{"length", 10}}.dump(), nullptr).status, 401);

  // The quota counts declared lengths.
  for (int i = 0; i < 3; ++i) CreateUpload(alice_, 1 << 20);
  auto over = Call("POST", "/v1/attachments", json{{"length", 1}}.dump(), &alice_);
  EXPECT_EQ(over.status, 429);
  EXPECT_EQ(Code(over), "resource_exhausted");

  const std::string id = CreateUpload(bob_, 10);
  auto past = Call("PUT", "/v1/attachments/" + id + "?offset=0", std::string(11, 'x'), &bob_);
  EXPECT_EQ(past.status, 400);
  EXPECT_EQ(Code(past), "invalid_argument");
  EXPECT_EQ(Call("PUT", "/v1/attachments/" + id, "x", &bob_).status, 400);  // no offset
  auto foreign = Call("PUT", "/v1/attachments/" + id + "?offset=0", "x", &alice_);
  EXPECT_EQ(foreign.status, 404);
  EXPECT_EQ(Code(foreign), "not_found");
  EXPECT_EQ(Call("GET", "/v1/attachments/" + std::string(32, '0'), "", &alice_).status, 404);
}

TEST_F(BlobApiTest, TheUploadRouteHasItsOwnBodyLimit) {
  const std::string id = CreateUpload(alice_, 200'000);
  // 64 KiB passes on this route, though the server's limit is 4 KiB.
  auto chunk = Call("PUT", "/v1/attachments/" + id + "?offset=0", Bytes(64 << 10, 'q'), &alice_);
  EXPECT_EQ(chunk.status, 200) << chunk.body;
  auto too_big = http_->Request("PUT", "/v1/attachments/" + id + "?offset=65536", Bytes((64 << 10) + 1, 'r'),
                                {{"Authorization", BasicAuthorization(alice_)}});
  ASSERT_TRUE(too_big.ok()) << too_big.status();
  EXPECT_EQ(too_big->status, 413);
  EXPECT_EQ(json::parse(too_big->body)["error"]["code"], "payload_too_large");
  // Elsewhere the server's limit holds.
  http_ = std::make_unique<net::HttpClient>(absl::StrCat("127.0.0.1:", server_->port()));
  auto post = http_->Request("POST", "/v1/attachments", std::string(5000, ' '),
                             {{"Authorization", BasicAuthorization(alice_)}});
  ASSERT_TRUE(post.ok());
  EXPECT_EQ(post->status, 413);
}

// An unauthenticated caller is answered on its header: the server does not
// wait for (or read) the 64 KiB body it announced.
TEST_F(BlobApiTest, CredentialsAreCheckedBeforeTheBodyIsRead) {
  const std::string id = CreateUpload(alice_, 100'000);
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(server_->port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  Credentials wrong = alice_;
  wrong.password = "not-the-password";
  std::string head = absl::StrCat("PUT /v1/attachments/", id,
                                  "?offset=0 HTTP/1.1\r\nHost: x\r\nContent-Length: 65536\r\nAuthorization: ",
                                  BasicAuthorization(wrong), "\r\n\r\n");
  ASSERT_EQ(::send(fd, head.data(), head.size(), 0), static_cast<ssize_t>(head.size()));
  char buf[4096];
  ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
  ::close(fd);
  ASSERT_GT(n, 0) << "no answer before the body";
  std::string answer(buf, static_cast<size_t>(n));
  EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 401") << answer;
  EXPECT_EQ(blobs_->UploadState(alice_.account_id, id)->offset, 0);
}

}  // namespace
}  // namespace tandem::relay
