// The relay as a whole: its options and how tandemd opens it.
#include "relay/relay.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/error_codes.h"
#include "common/random.h"
#include "crypto/attachment.h"
#include "crypto/keys.h"
#include "crypto/xeddsa.h"
#include "relay/relay_store.h"
#include "relay/test_util.h"
#include "relay_protocol/protocol.h"
#include "store/fault_vfs.h"

namespace tandem::relay {
namespace {

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
  EXPECT_EQ(configured.attachments.max_length, defaults.attachments.max_length);
  EXPECT_EQ(configured.attachments.max_chunk, defaults.attachments.max_chunk);
  EXPECT_EQ(configured.attachments.account_quota, defaults.attachments.account_quota);
  EXPECT_EQ(configured.attachments.retention, defaults.attachments.retention);
  EXPECT_EQ(configured.attachments.incomplete_retention, defaults.attachments.incomplete_retention);
}

// The attachment limits are operator choices: a relay that takes 1 MiB
// attachments refuses a blob of a 2 MiB one, and the chunk and quota
// follow their keys.
TEST(RelayOptionsTest, AttachmentKeysSetTheBlobLimits) {
  auto config = Config::Load(
      "", {"relay.attachments.max_mib=1", "relay.attachments.chunk_mib=2", "relay.attachments.quota_mib=3",
           "relay.attachments.retention_days=2", "relay.attachments.incomplete_retention_hours=5"});
  ASSERT_TRUE(config.ok()) << config.status();
  RelayOptions o = RelayOptions::FromConfig(*config);
  EXPECT_EQ(o.attachments.max_length, static_cast<int64_t>(crypto::AttachmentBlobSize(1 << 20)));
  EXPECT_LT(o.attachments.max_length, static_cast<int64_t>(crypto::AttachmentBlobSize(2 << 20)));
  EXPECT_EQ(o.attachments.max_chunk, 2 << 20);
  EXPECT_EQ(o.attachments.account_quota, 3 << 20);
  EXPECT_EQ(o.attachments.retention, absl::Hours(48));
  EXPECT_EQ(o.attachments.incomplete_retention, absl::Hours(5));
  EXPECT_FALSE(Config::Load("", {"relay.attachments.max_mib=0"}).ok());
  EXPECT_FALSE(Config::Load("", {"relay.attachments.chunk_mib=65"}).ok());
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
    FakeClock clock;
    SeededRandom random{7};
    auto relay = RelayModule::Create(net::ModuleEnv{*config, dir, router, metrics, clock, random});
    ASSERT_TRUE(relay.ok()) << relay.status();
    ASSERT_TRUE(*relay);
    store::Database& db = (*relay)->relay().DatabaseForTesting();
    EXPECT_EQ(db.QueryOne("PRAGMA synchronous")->Int(0), 2);
    EXPECT_EQ(db.QueryOne("PRAGMA journal_mode")->Text(0), "wal");
    (*relay)->Stop();
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tandem::relay
