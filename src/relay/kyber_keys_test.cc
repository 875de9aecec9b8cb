// Signed Kyber prekeys (PQXDH) in the account service on a FakeClock: upload
// and consumption next to the EC prekeys, the last-resort key when the
// one-time ones are gone, counts, the checks that refuse a whole upload,
// deletion and re-registration, the schema migration of an existing
// database, and concurrent bundle fetches.
#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "crypto/kem.h"
#include "crypto/keys.h"
#include "relay/accounts.h"
#include "relay/relay_store.h"
#include "relay/test_util.h"
#include "relay_protocol/protocol.h"

namespace tandem::relay {
namespace {

template <typename Bytes>
std::string Str(const Bytes& b) {
  return std::string(b.begin(), b.end());
}

db::KyberPreKeyRow Row(const crypto::KyberPreKey& k) {
  return {k.id, Str(k.key_pair.public_key.Serialize()), Str(k.signature)};
}

// Kyber key generation is the slow part of these tests: one key signed by
// `id`, published under many ids (the signature covers the key, not its id).
class KyberKeysTest : public RelayTest {
 protected:
  db::KyberPreKeyRow KyberRow(const Identity& id, uint32_t key_id) {
    auto it = keys_.find(&id);
    if (it == keys_.end())
      it = keys_.emplace(&id, Row(crypto::GenerateKyberPreKey(id.pair, 1, random_))).first;
    db::KyberPreKeyRow row = it->second;
    row.key_id = key_id;
    return row;
  }

  // The signed prekey, `ec` one-time prekeys from id 1, `kyber` one-time
  // Kyber prekeys from `first_kyber`, and a last-resort key if
  // `last_resort` is not 0.
  AccountService::KeyUpload Upload(const Identity& id, int ec, int kyber, uint32_t first_kyber = 1,
                                   uint32_t last_resort = 0) {
    AccountService::KeyUpload up;
    crypto::SignedPreKey spk = crypto::GenerateSignedPreKey(id.pair, 1, random_);
    up.signed_prekey =
        db::SignedPreKeyRow{spk.id, Str(spk.key_pair.public_key.Serialize()), Str(spk.signature)};
    for (const auto& k : crypto::GenerateOneTimePreKeys(1, ec, random_))
      up.one_time_prekeys.push_back({k.id, Str(k.key_pair.public_key.Serialize())});
    for (int i = 0; i < kyber; ++i) up.kyber_prekeys.push_back(KyberRow(id, first_kyber + i));
    if (last_resort) up.kyber_last_resort = KyberRow(id, last_resort);
    return up;
  }

  std::optional<db::KyberPreKeyRow> FetchKyber(const Credentials& who, const std::string& number) {
    auto b = accounts().FetchBundle(who, number);
    EXPECT_TRUE(b.ok()) << b.status();
    if (!b.ok() || b->devices.size() != 1) return std::nullopt;
    return b->devices[0].kyber_prekey;
  }

  int64_t StoredKyberKeys() {
    return Count("SELECT COUNT(*) FROM kyber_prekeys") +
           Count("SELECT COUNT(*) FROM kyber_last_resort_prekeys");
  }

  std::map<const Identity*, db::KyberPreKeyRow> keys_;
};

TEST_F(KyberKeysTest, OneTimeKeysAreConsumedOnceThenTheLastResortKeyIsHandedOut) {
  Identity alice_id;
  Credentials alice = Register("+14155550123", &alice_id);
  Credentials bob = Register("+14155550199");
  ASSERT_TRUE(accounts().UploadKeys(alice, Upload(alice_id, 1, 3, 1, 500)).ok());
  EXPECT_EQ(*accounts().KyberPreKeyCount(alice), 3);
  EXPECT_EQ(*accounts().PreKeyCount(alice), 1);
  std::set<uint32_t> seen;
  for (int i = 0; i < 3; ++i) {
    auto k = FetchKyber(bob, "+14155550123");
    ASSERT_TRUE(k.has_value());
    EXPECT_NE(k->key_id, 500u) << "the last-resort key while one-time keys are left";
    EXPECT_TRUE(seen.insert(k->key_id).second) << "a Kyber prekey handed out twice";
    EXPECT_EQ(*k, KyberRow(alice_id, k->key_id));
  }
  EXPECT_EQ(*accounts().KyberPreKeyCount(alice), 0);
  EXPECT_EQ(*accounts().PreKeyCount(alice), 0) << "the EC one-time key went with the first bundle";
  for (int i = 0; i < 2; ++i) {
    auto k = FetchKyber(bob, "+14155550123");
    ASSERT_TRUE(k.has_value());
    EXPECT_EQ(k->key_id, 500u) << "the last-resort key, again and again";
  }
  EXPECT_EQ(*accounts().KyberPreKeyCount(alice), 0);
}

TEST_F(KyberKeysTest, TheLastResortKeyIsReplacedByTheNextOne) {
  Identity id;
  Credentials c = Register("+14155550123", &id);
  ASSERT_TRUE(accounts().UploadKeys(c, Upload(id, 0, 0, 1, 500)).ok());
  AccountService::KeyUpload up;
  up.kyber_last_resort = KyberRow(id, 501);
  ASSERT_TRUE(accounts().UploadKeys(c, up).ok()) << "a last-resort key alone is an upload";
  EXPECT_EQ(Count("SELECT COUNT(*) FROM kyber_last_resort_prekeys"), 1);
  EXPECT_EQ(FetchKyber(c, "+14155550123")->key_id, 501u);
}

TEST_F(KyberKeysTest, ADeviceWithoutKyberKeysGetsBundlesWithoutOne) {
  Identity id;
  Credentials alice = Register("+14155550123", &id);
  Credentials bob = Register("+14155550199");
  ASSERT_TRUE(accounts().UploadKeys(alice, Upload(id, 2, 0)).ok());
  auto b = accounts().FetchBundle(bob, "+14155550123");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_TRUE(b->devices[0].one_time_prekey.has_value());
  EXPECT_FALSE(b->devices[0].kyber_prekey.has_value());
  EXPECT_EQ(*accounts().KyberPreKeyCount(alice), 0);
}

TEST_F(KyberKeysTest, OneBadKyberKeyRefusesTheWholeUpload) {
  Identity id;
  Credentials c = Register("+14155550123", &id);
  Identity other{crypto::KeyPair::Generate(random_)};
  auto refused = [&](AccountService::KeyUpload up, const std::string& says) {
    absl::Status st = accounts().UploadKeys(c, up);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
    EXPECT_NE(std::string(st.message()).find(says), std::string::npos) << st;
    EXPECT_EQ(StoredKyberKeys(), 0);
    EXPECT_EQ(Count("SELECT COUNT(*) FROM one_time_prekeys"), 0) << "the EC keys of the upload neither";
    EXPECT_EQ(Count("SELECT COUNT(*) FROM signed_prekeys"), 0);
  };

  // Signed by another identity key: one among good ones, or the last resort.
  auto up = Upload(id, 2, 3, 1, 500);
  up.kyber_prekeys[1] = KyberRow(other, 2);
  refused(up, "kyber_prekeys (key 2).signature does not verify under the account's identity key");
  up = Upload(id, 2, 3, 1, 500);
  up.kyber_last_resort = KyberRow(other, 500);
  refused(up, "kyber_last_resort.signature does not verify");
  up = Upload(id, 0, 1);
  up.kyber_prekeys[0].signature.resize(63);
  refused(up, "signature does not verify");

  // A key of the wrong length, an EC key, an ML-KEM key.
  up = Upload(id, 0, 2);
  up.kyber_prekeys[0].public_key.pop_back();
  refused(up,
          "kyber_prekeys (key 1).public_key must be 1569 bytes: 0x08 followed by a Kyber-1024 public key "
          "(got 1568 bytes)");
  up = Upload(id, 0, 1);
  up.kyber_prekeys[0].public_key = up.signed_prekey->public_key;
  refused(up, "must be 1569 bytes");
  crypto::KyberPreKey mlkem = crypto::GenerateKyberPreKey(id.pair, 7, random_, crypto::KemKind::kMlKem1024);
  up = Upload(id, 0, 0);
  up.kyber_prekeys.push_back(Row(mlkem));
  refused(up, "kyber_prekeys (key 7).public_key is an ML-KEM-1024 key; only Kyber-1024 (type byte 0x08)");

  // Ids: 0, out of range, twice, the last resort's among the one-time ones.
  up = Upload(id, 0, 1, 0);
  refused(up, "kyber_prekeys (key 0).key_id must be between 1 and 16777215");
  up = Upload(id, 0, 1, 0x1000000);
  refused(up, "must be between 1 and 16777215");
  up = Upload(id, 0, 2);
  up.kyber_prekeys[1].key_id = 1;
  refused(up, "Kyber prekey id 1 appears twice");
  up = Upload(id, 0, 2, 1, 2);
  refused(up, "kyber_last_resort.key_id 2 is also the id of a one-time Kyber prekey");

  // More than 100 in one request.
  up = Upload(id, 0, static_cast<int>(kMaxKyberPreKeysPerUpload) + 1);
  refused(up, "at most 100 Kyber prekeys per request; got 101");
}

TEST_F(KyberKeysTest, AtMostAThousandOneTimeKyberKeysAreStored) {
  Identity id;
  Credentials c = Register("+14155550123", &id);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(accounts().UploadKeys(c, Upload(id, 0, 100, 1 + i * 100)).ok());
  EXPECT_EQ(*accounts().KyberPreKeyCount(c), 1000);
  // Replacing existing ids is not more keys.
  ASSERT_TRUE(accounts().UploadKeys(c, Upload(id, 0, 100, 1)).ok());
  absl::Status st = accounts().UploadKeys(c, Upload(id, 1, 1, 5000, 6000));
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted) << st;
  EXPECT_NE(std::string(st.message()).find("1001 one-time Kyber prekeys; the limit is 1000"),
            std::string::npos)
      << st;
  EXPECT_EQ(*accounts().KyberPreKeyCount(c), 1000);
  EXPECT_EQ(*accounts().PreKeyCount(c), 0) << "nothing of a refused upload is stored";
  EXPECT_EQ(Count("SELECT COUNT(*) FROM kyber_last_resort_prekeys"), 0);
}

TEST_F(KyberKeysTest, DeletionAndReregistrationRemoveTheKyberKeys) {
  Identity alice_id, bob_id;
  Credentials alice = Register("+14155550123", &alice_id);
  Credentials bob = Register("+14155550199", &bob_id);
  ASSERT_TRUE(accounts().UploadKeys(alice, Upload(alice_id, 1, 3, 1, 500)).ok());
  ASSERT_TRUE(accounts().UploadKeys(bob, Upload(bob_id, 1, 2, 1, 500)).ok());
  EXPECT_EQ(StoredKyberKeys(), 7);

  ASSERT_TRUE(accounts().DeleteAccount(alice).ok());
  EXPECT_EQ(Count(absl::StrCat("SELECT COUNT(*) FROM kyber_prekeys WHERE account_id = ", alice.account_id)),
            0);
  EXPECT_EQ(Count(absl::StrCat("SELECT COUNT(*) FROM kyber_last_resort_prekeys WHERE account_id = ",
                               alice.account_id)),
            0);
  EXPECT_EQ(StoredKyberKeys(), 3) << "another account's keys stay";

  // Bob installs again: the old installation's keys are gone, so a peer
  // gets a bundle without Kyber keys until the new one publishes its own.
  Identity again;
  Credentials bob2 = Register("+14155550199", &again);
  EXPECT_EQ(StoredKyberKeys(), 0);
  Credentials carol = Register("+14155550100");
  EXPECT_EQ(accounts().FetchBundle(carol, "+14155550199").status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(accounts().UploadKeys(bob2, Upload(again, 0, 1, 1, 500)).ok());
  auto k = FetchKyber(carol, "+14155550199");
  ASSERT_TRUE(k.has_value());
  EXPECT_EQ(*k, KyberRow(again, 1));
}

// A database from before the Kyber tables: the migration adds them and
// keeps everything else.
TEST_F(KyberKeysTest, AnExistingDatabaseIsMigrated) {
  Identity id;
  Credentials c = Register("+14155550123", &id);
  ASSERT_TRUE(accounts().UploadKeys(c, Upload(id, 2, 0)).ok());
  Flush();
  store::Database& db = relay_->DatabaseForTesting();
  // Back to schema 4: the migrations from 5 on run again at the reopen.
  for (const char* sql :
       {"DROP TABLE kyber_prekeys", "DROP TABLE kyber_last_resort_prekeys", "DROP TABLE bodies",
        "DROP TABLE acked_copies", "ALTER TABLE envelopes DROP COLUMN body_id",
        "ALTER TABLE retired_devices DROP COLUMN removed",
        "DELETE FROM schema_migrations WHERE component = '' AND version >= 5"}) {
    ASSERT_TRUE(db.Execute(sql).ok()) << sql;
  }
  Reopen();
  EXPECT_EQ(*accounts().PreKeyCount(c), 2);
  EXPECT_EQ(*accounts().KyberPreKeyCount(c), 0);
  ASSERT_TRUE(accounts().UploadKeys(c, Upload(id, 0, 1, 1, 500)).ok());
  EXPECT_EQ(*accounts().KyberPreKeyCount(c), 1);
}

TEST_F(KyberKeysTest, ConcurrentBundleFetchesNeverShareAOneTimeKey) {
  Identity alice_id;
  Credentials alice = Register("+14155550123", &alice_id);
  constexpr int kOneTime = 40;
  constexpr uint32_t kLastResort = 1000;
  ASSERT_TRUE(accounts().UploadKeys(alice, Upload(alice_id, kOneTime, kOneTime, 1, kLastResort)).ok());
  std::vector<Credentials> fetchers;
  for (int i = 0; i < 4; ++i) fetchers.push_back(Register(absl::StrCat("+1415555020", i)));

  constexpr int kPerThread = 15;  // 60 fetches for 40 one-time keys
  std::mutex mu;
  std::vector<uint32_t> kyber_ids, ec_ids;
  int last_resort = 0, failed = 0;
  std::vector<std::thread> threads;
  for (const Credentials& who : fetchers) {
    threads.emplace_back([&, who] {
      for (int i = 0; i < kPerThread; ++i) {
        auto b = accounts().FetchBundle(who, "+14155550123");
        std::lock_guard lock(mu);
        if (!b.ok() || b->devices.size() != 1 || !b->devices[0].kyber_prekey) {
          ++failed;
          continue;
        }
        const auto& d = b->devices[0];
        if (d.kyber_prekey->key_id == kLastResort) {
          ++last_resort;
        } else {
          kyber_ids.push_back(d.kyber_prekey->key_id);
        }
        if (d.one_time_prekey) ec_ids.push_back(d.one_time_prekey->key_id);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(kyber_ids.size(), static_cast<size_t>(kOneTime));
  EXPECT_EQ(std::set<uint32_t>(kyber_ids.begin(), kyber_ids.end()).size(), kyber_ids.size())
      << "a one-time Kyber prekey handed out twice";
  EXPECT_EQ(ec_ids.size(), static_cast<size_t>(kOneTime));
  EXPECT_EQ(std::set<uint32_t>(ec_ids.begin(), ec_ids.end()).size(), ec_ids.size());
  EXPECT_EQ(last_resort, 4 * kPerThread - kOneTime);
  EXPECT_EQ(*accounts().KyberPreKeyCount(alice), 0);
}

}  // namespace
}  // namespace tandem::relay
