// The group-commit writer on a FakeClock: purges of acknowledged rows,
// fsyncs, the commit gap, the WAL restart, server ids across restarts.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/error_codes.h"
#include "common/random.h"
#include "crypto/keys.h"
#include "crypto/xeddsa.h"
#include "relay/relay.h"
#include "relay/relay_store.h"
#include "relay/test_util.h"
#include "relay_protocol/protocol.h"
#include "store/fault_vfs.h"

namespace tandem::relay {
namespace {

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
  relay_->WriterForTesting().RunExclusive([](store::Database&) { return absl::OkStatus(); }).IgnoreError();
  EXPECT_EQ(relay_->DirectoryForTesting().QueueDepth(bob.account_id, 1), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM envelopes"), 3);  // not yet purged
  // Reconnecting delivers only what was not acknowledged.
  Disconnect(b);
  auto b2 = Connect(bob);
  auto again = b2->Next().value();
  ASSERT_TRUE(again.has_deliver());
  EXPECT_EQ(again.deliver().envelope().server_id(), ids[2]);
  EXPECT_TRUE(b2->Next().value().has_queue_empty());
  // Stopping deletes every acknowledged row; the unacknowledged one stays.
  for (auto& c : connections_) relay_->StreamForTesting().OnClose(c);
  connections_.clear();
  Reopen();
  EXPECT_EQ(Count("SELECT COUNT(*) FROM envelopes"), 1);
  EXPECT_EQ(relay_->DirectoryForTesting().QueueDepth(bob.account_id, 1), 1);
}

TEST_F(RelayTest, EnvelopesOfDevicesThatAreGoneAreDeletedAtStart) {
  Credentials alice = Register("+14155550123");
  auto db = relay_->DatabaseForTesting().Execute(
      "INSERT INTO envelopes (server_id, recipient_account, recipient_device, sender_account, sender_device, "
      "sender_number, server_ts_ms, type, ciphertext) VALUES (5, $1, 7, 1, 1, '+14155550100', 0, 1, x'00'), "
      "(6, 424242, 1, 1, 1, '+14155550100', 0, 1, x'00'), (7, $1, 1, 1, 1, '+14155550100', 0, 1, x'00')",
      {static_cast<int64_t>(alice.account_id)});
  ASSERT_TRUE(db.ok()) << db.status();
  Reopen();
  EXPECT_EQ(Count("SELECT COUNT(*) FROM envelopes"), 1);
  EXPECT_EQ(Count("SELECT server_id FROM envelopes"), 7);
  EXPECT_EQ(relay_->DirectoryForTesting().QueueDepth(alice.account_id, 1), 1);
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
  // The connection's own session count may still be committing: a
  // round-trip through the writer thread lets it finish, so that no commit
  // is half in the counts below (its fsync before them, its count after).
  auto settle = [&] {
    ASSERT_TRUE(
        relay_->WriterForTesting().RunExclusive([](store::Database&) { return absl::OkStatus(); }).ok());
  };
  settle();
  uint64_t commits_before = relay_->WriterForTesting().batches_committed();
  uint64_t syncs_before = (*vfs)->syncs();
  SubmitSeveral(a, 20, "+14155550199");
  settle();
  uint64_t commits = relay_->WriterForTesting().batches_committed() - commits_before;
  uint64_t syncs = (*vfs)->syncs() - syncs_before;
  ASSERT_GT(commits, 0u);
  EXPECT_GE(syncs, commits) << "a commit was answered without an fsync";
  // WAL with synchronous=FULL: one fsync of the log per commit (the
  // checkpointer, which would add its own, is not running here).
  EXPECT_LE(syncs, commits + 1);
  for (auto& c : connections_) relay_->StreamForTesting().OnClose(c);
  connections_.clear();
  relay_.reset();
}

// Under steady writes the WAL would only grow (a checkpoint never finds
// every frame copied when the next write begins); the relay starts it over.
TEST_F(RelayTest, WalIsStartedOverUnderSteadyWrites) {
  constexpr int64_t kFrames = 1024;  // 4 MiB
  options_.send = RateLimit{1000000, absl::Milliseconds(1)};
  options_.writer.commit_gap = absl::ZeroDuration();  // one commit per submit, back to back
  options_.wal_restart_pages = kFrames;
  Reopen();
  relay_->Start();  // the storage maintenance, a pass every checkpoint_interval of clock_
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
    if (i % 20 == 0) clock_.Advance(options_.checkpoint_interval);
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

// With a commit gap, commits start at least that far apart: one submit at
// a time (each waiting for its answer) takes a gap per commit.
TEST_F(RelayTest, CommitGapSpacesCommits) {
  Credentials alice = Register("+14155550123");
  Register("+14155550199");
  // Registrations go through the writer too: the gap starts after them.
  options_.writer.commit_gap = absl::Milliseconds(50);
  Reopen();
  auto a = Connect(alice);
  a->Next();
  const absl::Duration started = clock_.Monotonic();
  for (int i = 0; i < 5; ++i) {
    Submit(a, i, absl::StrCat("m", i), "+14155550199", absl::StrCat("c", i));
    // Time moves only here: a commit held for the gap is answered once
    // the clock has moved past it.
    std::optional<pb::ServerFrame> r;
    while (!(r = a->Next(absl::Milliseconds(5)))) clock_.Advance(absl::Milliseconds(10));
    ASSERT_TRUE(r->has_submit_result()) << r->DebugString();
  }
  EXPECT_GE(clock_.Monotonic() - started, absl::Milliseconds(190));
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
  EXPECT_EQ(relay_->DirectoryForTesting().QueueDepth(
                *relay_->DirectoryForTesting().AccountForNumber("+14155550199"), 1),
            2);
}

}  // namespace
}  // namespace tandem::relay
