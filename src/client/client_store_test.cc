#include "client/client_store.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "common/random.h"

namespace tandem::client {
namespace {

TEST(ClientStoreTest, AccountKeysSessionsAndOutboxRoundTrip) {
  auto store = ClientStore::Open(":memory:");
  ASSERT_TRUE(store.ok()) << store.status();
  auto& s = **store;
  EXPECT_EQ(s.LoadAccount().status().code(), absl::StatusCode::kNotFound);

  SeededRandom random(1);
  AccountRow a;
  a.server = "127.0.0.1:1";
  a.number = "+14155550123";
  a.account_id = 7;
  a.device_id = 1;
  a.password = "pw";
  a.identity.key_pair = crypto::KeyPair::Generate(random);
  a.identity.registration_id = 42;
  ASSERT_TRUE(s.SaveAccount(a).ok());
  auto loaded = s.LoadAccount();
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->identity.key_pair, a.identity.key_pair);
  EXPECT_EQ(loaded->account_id, 7u);

  auto otps = crypto::GenerateOneTimePreKeys(1, 3, random);
  ASSERT_TRUE(s.SaveOneTimePreKeys(otps).ok());
  EXPECT_EQ(*s.LoadOneTimePreKey(2), otps[1].key_pair);
  ASSERT_TRUE(s.DeleteOneTimePreKey(2).ok());
  EXPECT_EQ(s.LoadOneTimePreKey(2).status().code(), absl::StatusCode::kNotFound);

  // Identity changes are detected.
  auto k1 = crypto::KeyPair::Generate(random).public_key;
  auto k2 = crypto::KeyPair::Generate(random).public_key;
  EXPECT_FALSE(*s.SaveIdentity("+1", k1, 10));
  EXPECT_FALSE(*s.SaveIdentity("+1", k1, 11));
  EXPECT_TRUE(*s.SaveIdentity("+1", k2, 12));
  EXPECT_EQ(s.LoadIdentity("+1")->changed_at_ms, 12);

  // Outbox keeps insertion order.
  ASSERT_TRUE(s.AddToOutbox({"b", "+1", 1, 2, "x"}).ok());
  ASSERT_TRUE(s.AddToOutbox({"a", "+1", 1, 2, std::string("\0y", 2)}).ok());
  auto out = s.Outbox();
  ASSERT_EQ(out->size(), 2u);
  EXPECT_EQ((*out)[0].client_message_id, "b");
  EXPECT_EQ((*out)[1].ciphertext, std::string("\0y", 2));
  ASSERT_TRUE(s.RemoveFromOutbox("b").ok());
  EXPECT_EQ(s.Outbox()->size(), 1u);

  // Outgoing statuses only move forward.
  ASSERT_TRUE(s.AddMessage({0, "+1", Direction::kOutgoing, "m1", "hi", 1, 0, "pending"}).ok());
  ASSERT_TRUE(s.SetOutgoingStatus("m1", "read").ok());
  ASSERT_TRUE(s.SetOutgoingStatus("m1", "delivered").ok());
  EXPECT_EQ(s.Messages("+1", 10)->back().status, "read");
  // Incoming duplicates are refused.
  ASSERT_TRUE(s.AddMessage({0, "+1", Direction::kIncoming, "x", "yo", 1, 2, "received"}).ok());
  EXPECT_EQ(s.AddMessage({0, "+1", Direction::kIncoming, "x", "yo", 1, 2, "received"}).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(s.UnreadFrom("")->size(), 1u);
  ASSERT_TRUE(s.MarkIncomingRead("+1").ok());
  EXPECT_TRUE(s.UnreadFrom("")->empty());

  EXPECT_FALSE(*s.SeenEnvelope(5));
  ASSERT_TRUE(s.MarkEnvelopeSeen(5).ok());
  EXPECT_TRUE(*s.SeenEnvelope(5));

  ASSERT_TRUE(s.DeleteEverything().ok());
  EXPECT_EQ(s.LoadAccount().status().code(), absl::StatusCode::kNotFound);
}

// The store is shared by threads (calls are serialized); the id AddMessage
// returns must be that of the row it inserted, not of another thread's.
TEST(ClientStoreTest, UsedOneTimeKyberPreKeysGoAndLastResortOnesStay) {
  auto store = ClientStore::Open(":memory:");
  ASSERT_TRUE(store.ok()) << store.status();
  auto& s = **store;
  SeededRandom random(2);
  crypto::IdentityKeyPair identity = crypto::KeyPair::Generate(random);
  auto one_time = crypto::GenerateKyberPreKeys(identity, 1, 2, random);
  auto last_resort = crypto::GenerateKyberPreKeys(identity, 3, 1, random);
  EXPECT_FALSE(*s.HasKyberLastResort());
  ASSERT_TRUE(s.SaveKyberPreKeys(one_time, false).ok());
  EXPECT_FALSE(*s.HasKyberLastResort());
  ASSERT_TRUE(s.SaveKyberPreKeys(last_resort, true).ok());
  EXPECT_TRUE(*s.HasKyberLastResort());
  EXPECT_EQ(*s.LoadKyberPreKey(2), one_time[1].key_pair.secret_key);
  EXPECT_EQ(*s.LoadKyberPreKey(3), last_resort[0].key_pair.secret_key);
  ASSERT_TRUE(s.DeleteUsedKyberPreKey(2).ok());
  ASSERT_TRUE(s.DeleteUsedKyberPreKey(3).ok());
  EXPECT_EQ(s.LoadKyberPreKey(2).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(s.LoadKyberPreKey(3).ok()) << "a last-resort key is never deleted for its use";
  EXPECT_TRUE(s.LoadKyberPreKey(1).ok());
  EXPECT_EQ(s.LoadKyberPreKey(9).status().code(), absl::StatusCode::kNotFound);
}

// A profile from before Kyber prekeys: the migration keeps the account and
// starts its Kyber prekey ids at 1.
TEST(ClientStoreTest, AProfileWithoutKyberPreKeysIsMigrated) {
  const std::string path = ::testing::TempDir() + "/client_store_kyber_migration.db";
  std::remove(path.c_str());
  SeededRandom random(3);
  AccountRow a;
  a.server = "127.0.0.1:1";
  a.number = "+14155550123";
  a.account_id = 7;
  a.device_id = 1;
  a.password = "pw";
  a.identity.key_pair = crypto::KeyPair::Generate(random);
  a.identity.registration_id = 42;
  a.next_prekey_id = 101;
  a.next_kyber_prekey_id = 50;
  {
    auto store = ClientStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE((*store)->SaveAccount(a).ok());
    for (const char* sql :
         {"DROP TABLE kyber_prekeys", "ALTER TABLE account DROP COLUMN next_kyber_prekey_id",
          "DROP TABLE peer_devices", "DROP TABLE chat_groups", "DROP TABLE group_members",
          "DROP TABLE sender_keys", "DROP TABLE sender_key_shared",
          "ALTER TABLE messages DROP COLUMN group_id", "ALTER TABLE outbox DROP COLUMN plan",
          "ALTER TABLE messages DROP COLUMN attachments",
          "DELETE FROM schema_migrations WHERE version >= 4"}) {
      ASSERT_TRUE((*store)->db().Execute(sql).ok()) << sql;
    }
  }
  auto store = ClientStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status();
  auto loaded = (*store)->LoadAccount();
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->identity.key_pair, a.identity.key_pair);
  EXPECT_EQ(loaded->next_prekey_id, 101u);
  EXPECT_EQ(loaded->next_kyber_prekey_id, 1u);
  EXPECT_FALSE(*(*store)->HasKyberLastResort());
  std::remove(path.c_str());
}

TEST(ClientStoreTest, ConcurrentAddMessageReturnsItsOwnRowId) {
  auto store = ClientStore::Open(":memory:");
  ASSERT_TRUE(store.ok()) << store.status();
  auto& s = **store;
  constexpr int kThreads = 8, kPerThread = 500;
  std::mutex mu;
  std::map<int64_t, std::string> returned;  // id -> message_id
  int failed = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        MessageRow m{
            0, "+14155550100", Direction::kOutgoing, std::to_string(t) + "-" + std::to_string(i), "hi", i,
            0, "pending"};
        auto id = s.AddMessage(m);
        std::lock_guard lock(mu);
        if (!id.ok() || returned.contains(*id)) {
          ++failed;
          continue;
        }
        returned[*id] = m.message_id;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed, 0) << "an id was returned twice";
  auto all = s.Messages("", kThreads * kPerThread);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), size_t{kThreads * kPerThread});
  int wrong = 0;
  for (const auto& m : *all) wrong += returned.count(m.id) == 0 || returned[m.id] != m.message_id;
  EXPECT_EQ(wrong, 0);
}

}  // namespace
}  // namespace tandem::client
