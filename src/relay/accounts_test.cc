// The account service on a FakeClock: registration codes (expiry, attempts,
// rate limits), keys (signature check, bounds, one-time prekey consumption
// and exhaustion), imports, discovery, usage metering and account deletion.
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

TEST_F(RelayTest, RegistrationIssuesCredentialsStoredOnlyAsHash) {
  Credentials c = Register("+14155550123");
  EXPECT_NE(c.account_id, 0u);
  EXPECT_EQ(c.device_id, 1u);
  EXPECT_EQ(c.password.size(), 64u);
  EXPECT_TRUE(accounts().Authenticate(c).ok());
  Credentials wrong = c;
  wrong.password[0] = wrong.password[0] == 'a' ? 'b' : 'a';
  EXPECT_EQ(accounts().Authenticate(wrong).code(), absl::StatusCode::kUnauthenticated);
  auto row = relay_->DatabaseForTesting().QueryOne("SELECT password_hash FROM devices");
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
  EXPECT_EQ(sender_->sent(), 1);
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
  EXPECT_EQ(relay_->DirectoryForTesting().account_count(), 0u);
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
  sender_->set_fail(true);
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
  relay_->WriterForTesting().RunExclusive([](store::Database&) { return absl::OkStatus(); }).IgnoreError();
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

}  // namespace
}  // namespace tandem::relay
