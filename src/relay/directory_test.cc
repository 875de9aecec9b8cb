// The in-memory directory.
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

// A Batch is the single operations under one lock: the same answers, and
// what it reserved and committed is seen by the directory afterwards.
TEST(DirectoryTest, BatchActsAsTheSingleOperations) {
  Directory d;
  d.PutDevice(7, "+14155550101", 1, HashPassword("p1"), 11);
  d.PutDevice(7, "+14155550101", 3, HashPassword("p3"), 13);
  {
    Directory::Batch b(d);
    EXPECT_EQ(b.AccountForNumber("+14155550101"), std::optional<uint64_t>(7));
    EXPECT_EQ(b.AccountForNumber("+14155550102"), std::nullopt);
    EXPECT_TRUE(b.HasAccount(7));
    EXPECT_FALSE(b.HasAccount(8));
    EXPECT_TRUE(b.HasDevice(7, 3));
    EXPECT_FALSE(b.HasDevice(7, 2));
    std::vector<Directory::DeviceInfo> devices{{9, 9}};
    b.DevicesOf(7, devices);
    ASSERT_EQ(devices.size(), 2u);
    EXPECT_EQ(devices[1].device_id, 3u);
    EXPECT_EQ(devices[1].registration_id, 13u);
    b.DevicesOf(8, devices);
    EXPECT_TRUE(devices.empty());
    EXPECT_TRUE(b.ReserveQueueSlot(7, 1, 2));
    EXPECT_TRUE(b.ReserveQueueSlot(7, 1, 2));
    EXPECT_FALSE(b.ReserveQueueSlot(7, 1, 2));  // the limit
    EXPECT_FALSE(b.ReserveQueueSlot(7, 2, 2));  // no such device
    b.ReleaseQueueSlot(7, 1);
    EXPECT_TRUE(b.CommitQueued(7, 1, 100));
    EXPECT_FALSE(b.CommitQueued(7, 2, 101));
  }
  EXPECT_EQ(d.QueueDepth(7, 1), 1);
  EXPECT_EQ(d.QueuedAfter(7, 1, 0, 10), std::vector<uint64_t>{100});
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
