// LocalBlobStore: chunked uploads at exact offsets, quotas, ranges, expiry,
// deletion, and reopening after a crash mid-upload.
#include "relay/blob_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/error_codes.h"
#include "crypto/attachment.h"

namespace tandem::relay {
namespace {

class BlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / absl::StrCat("blob_store_test_", getpid(), "_", counter_++);
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    options_.max_length = 1000;
    options_.account_quota = 2500;
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }
  // Opens the store (and its database) afresh, as a restarted relay does.
  void Reopen() {
    store_.reset();
    db_.reset();
    auto db = store::OpenSqlite((dir_ / "messenger.db").string());
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    auto s = LocalBlobStore::Open(blobs(), *db_, clock_, random_, options_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }
  std::filesystem::path blobs() const { return dir_ / "attachments"; }

  // Uploads `bytes` in one go for `account`; returns the id.
  std::string Upload(uint64_t account, const std::string& bytes) {
    auto up = store_->Create(account, static_cast<int64_t>(bytes.size()));
    EXPECT_TRUE(up.ok()) << up.status();
    if (!up.ok()) return "";
    auto done = store_->Append(account, up->id, 0, bytes);
    EXPECT_TRUE(done.ok()) << done.status();
    EXPECT_TRUE(done.ok() && done->complete);
    return up->id;
  }

  static inline int counter_ = 0;
  std::filesystem::path dir_;
  FakeClock clock_;
  SeededRandom random_{3};
  BlobStoreOptions options_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<LocalBlobStore> store_;
};

TEST_F(BlobStoreTest, UploadsInChunksAtExactOffsets) {
  auto up = store_->Create(1, 10);
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_EQ(up->id.size(), 32u);
  EXPECT_EQ(up->offset, 0);
  EXPECT_FALSE(up->complete);

  auto a = store_->Append(1, up->id, 0, "0123");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->offset, 4);
  EXPECT_FALSE(a->complete);
  // Not readable until complete.
  EXPECT_EQ(store_->Read(up->id, 0, 4).status().code(), absl::StatusCode::kNotFound);

  // A wrong offset names the right one and writes nothing.
  auto wrong = store_->Append(1, up->id, 2, "xx");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(wrong.status()), "offset_mismatch");
  EXPECT_NE(wrong.status().message().find("send from offset 4"), std::string::npos) << wrong.status();
  // Past the declared length: refused, nothing written.
  auto past = store_->Append(1, up->id, 4, "4567890");
  EXPECT_EQ(past.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->UploadState(1, up->id)->offset, 4);
  // Someone else's upload does not exist for them.
  EXPECT_EQ(store_->Append(2, up->id, 4, "45").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->UploadState(2, up->id).status().code(), absl::StatusCode::kNotFound);

  auto b = store_->Append(1, up->id, 4, "456789");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_TRUE(b->complete);
  EXPECT_EQ(b->offset, 10);
  EXPECT_EQ(store_->Append(1, up->id, 10, "x").status().code(), absl::StatusCode::kFailedPrecondition);

  EXPECT_EQ(*store_->Size(up->id), 10);
  EXPECT_EQ(*store_->Read(up->id, 0, 10), "0123456789");
  EXPECT_EQ(*store_->Read(up->id, 3, 4), "3456");
  EXPECT_EQ(*store_->Read(up->id, 10, 0), "");
  EXPECT_EQ(store_->Read(up->id, 8, 3).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(std::filesystem::exists(blobs() / up->id));
  EXPECT_FALSE(std::filesystem::exists(blobs() / (up->id + ".part")));
}

TEST(BlobStoreOptionsTest, TheLargestBlobIsThatOfA100MiBAttachment) {
  EXPECT_EQ(static_cast<uint64_t>(BlobStoreOptions{}.max_length), crypto::AttachmentBlobSize(100 << 20));
}

TEST_F(BlobStoreTest, LengthsAndQuota) {
  EXPECT_EQ(store_->Create(1, 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Create(1, 1001).status().code(), absl::StatusCode::kOutOfRange);
  ASSERT_TRUE(store_->Create(1, 1000).ok());
  ASSERT_TRUE(store_->Create(1, 1000).ok());
  auto over = store_->Create(1, 501);
  EXPECT_EQ(over.status().code(), absl::StatusCode::kResourceExhausted) << over.status();
  EXPECT_TRUE(store_->Create(1, 500).ok());
  EXPECT_TRUE(store_->Create(2, 1000).ok());  // quotas are per account
  // Deleting frees quota.
  auto up = store_->Create(3, 1000);
  ASSERT_TRUE(up.ok());
  ASSERT_TRUE(store_->Create(3, 1000).ok());
  ASSERT_TRUE(store_->DeleteOwn(3, up->id).ok());
  EXPECT_TRUE(store_->Create(3, 1000).ok());
}

TEST_F(BlobStoreTest, UnknownAndMalformedIds) {
  EXPECT_EQ(store_->Size("../../etc/passwd").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Append(1, "../x", 0, "a").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Read(std::string(32, 'a'), 0, 1).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->DeleteOwn(1, std::string(32, 'a')).code(), absl::StatusCode::kNotFound);
}

TEST_F(BlobStoreTest, ReopenKeepsExactlyTheAcknowledgedBytes) {
  auto up = store_->Create(1, 100);
  ASSERT_TRUE(up.ok());
  ASSERT_TRUE(store_->Append(1, up->id, 0, std::string(40, 'a')).ok());
  // A chunk whose write was under way when the process died: its bytes
  // reached the file, its record did not.
  {
    std::ofstream f(blobs() / (up->id + ".part"), std::ios::binary | std::ios::app);
    f << std::string(25, 'z');
  }
  // And files no row knows.
  std::ofstream(blobs() / "stray") << "x";
  std::ofstream(blobs() / (std::string(32, 'b') + ".part")) << "x";
  Reopen();
  EXPECT_EQ(std::filesystem::file_size(blobs() / (up->id + ".part")), 40u);
  EXPECT_FALSE(std::filesystem::exists(blobs() / "stray"));
  EXPECT_FALSE(std::filesystem::exists(blobs() / (std::string(32, 'b') + ".part")));
  auto state = store_->UploadState(1, up->id);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->offset, 40);
  ASSERT_TRUE(store_->Append(1, up->id, 40, std::string(60, 'c')).ok());
  EXPECT_EQ(*store_->Read(up->id, 0, 100), std::string(40, 'a') + std::string(60, 'c'));
}

TEST_F(BlobStoreTest, ReopenFinishesAnAcknowledgedLastChunk) {
  auto up = store_->Create(1, 5);
  ASSERT_TRUE(up.ok());
  ASSERT_TRUE(store_->Append(1, up->id, 0, "abcde").ok());
  // As if the process died after recording the last chunk, before the
  // rename: put the file and the row back in that state.
  std::filesystem::rename(blobs() / up->id, blobs() / (up->id + ".part"));
  ASSERT_TRUE(db_->Execute("UPDATE attachments SET completed_ms = NULL WHERE id = $1", {up->id}).ok());
  Reopen();
  auto state = store_->UploadState(1, up->id);
  ASSERT_TRUE(state.ok());
  EXPECT_TRUE(state->complete);
  EXPECT_EQ(*store_->Read(up->id, 0, 5), "abcde");
}

TEST_F(BlobStoreTest, ExpiresCompleteBlobsAfterRetentionAndStaleUploadsAfterADay) {
  std::string done = Upload(1, "hello");
  auto stale = store_->Create(1, 10);
  ASSERT_TRUE(stale.ok());
  ASSERT_TRUE(store_->Append(1, stale->id, 0, "12").ok());
  clock_.Advance(absl::Hours(23));
  EXPECT_EQ(*store_->Expire(), 0);
  clock_.Advance(absl::Hours(2));
  EXPECT_EQ(*store_->Expire(), 1);
  EXPECT_EQ(store_->UploadState(1, stale->id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(blobs() / (stale->id + ".part")));
  EXPECT_TRUE(store_->Size(done).ok());
  clock_.Advance(absl::Hours(24 * 29));
  EXPECT_EQ(*store_->Expire(), 1);
  EXPECT_EQ(store_->Size(done).status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(blobs() / done));
}

TEST_F(BlobStoreTest, DeleteByIdsSkipsUnknownOnes) {
  std::string a = Upload(1, "aaa"), b = Upload(2, "bbb"), c = Upload(2, "ccc");
  std::vector<std::string> ids = {a, c, std::string(32, 'f'), "junk"};
  EXPECT_EQ(*store_->Delete(ids), 2);
  EXPECT_EQ(store_->Size(a).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(store_->Size(b).ok());
  EXPECT_FALSE(std::filesystem::exists(blobs() / a));
  EXPECT_EQ(*store_->Delete(ids), 0);
}

}  // namespace
}  // namespace tandem::relay
