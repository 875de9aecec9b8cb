// Two messenger clients and a relay in one process, over the in-process
// transport on a FakeClock: registration, messages both ways, delivered and
// read receipts, and a recipient that goes offline and receives what was
// sent meanwhile when it connects again; version 4 (PQXDH) sessions from
// bundles with Kyber prekeys, their use and replenishment, and version 3
// with a peer that published none.
#include "client/messenger_client.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "client/in_process_transport.h"
#include "common/clock.h"
#include "common/random.h"
#include "net/http.h"
#include "net/metrics.h"
#include "relay/message_stream.h"
#include "relay/relay.h"
#include "relay_protocol/protocol.h"
#include "store/store.h"
#include "testing/capturing_sender.h"
#include "verification/code_sender.h"

namespace tandem::client {
namespace {

constexpr char kAlice[] = "+14155550123";
constexpr char kBob[] = "+14155550199";

using ::tandem::testing::CapturingSender;

// Events one client reported, for a test thread to wait on while another
// thread listens.
class EventLog {
 public:
  EventHandler Handler() {
    return [this](const Event& e) {
      std::lock_guard lock(mu_);
      events_.push_back(e);
      cv_.notify_all();
    };
  }
  std::vector<Event> Of(Event::Kind kind) {
    std::lock_guard lock(mu_);
    std::vector<Event> out;
    for (const auto& e : events_)
      if (e.kind == kind) out.push_back(e);
    return out;
  }
  // Waits (in real time, as a bound on a broken test only) until `n`
  // events of `kind` have been reported.
  bool WaitFor(Event::Kind kind, size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(20), [&] {
      size_t count = 0;
      for (const auto& e : events_) count += e.kind == kind;
      return count >= n;
    });
  }
  void Clear() {
    std::lock_guard lock(mu_);
    events_.clear();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Event> events_;
};

class MessengerClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("messenger_client_test_", getpid(), "_", counter_++);
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    const std::string path = (dir_ / "messenger.db").string();
    // The relay's writer waits on clock_, which only the test moves: no
    // commit gap, so that a lone envelope commits at once.
    relay::RelayOptions relay_options;
    relay_options.writer.commit_gap = absl::ZeroDuration();
    auto storage =
        relay::Relay::OpenSqliteStorage(path, store::SqliteOptions{}, relay_options, metrics_, clock_);
    ASSERT_TRUE(storage.ok()) << storage.status();
    auto sender = std::make_unique<CapturingSender>();
    sender_ = sender.get();
    auto r = relay::Relay::Create(std::move(*storage), std::move(sender), relay_options, metrics_, clock_,
                                  relay_random_);
    ASSERT_TRUE(r.ok()) << r.status();
    relay_ = *std::move(r);
    relay_->RegisterRoutes(router_);
    transport_ = std::make_unique<InProcessTransport>(router_, clock_);
    transport_->AddWebSocket(std::string(relay::kWebSocketPath), relay_->StreamForTesting());
  }

  void TearDown() override {
    clients_.clear();  // closes their streams, as the server would before the relay stops
    transport_.reset();
    if (relay_) relay_->Stop();
    relay_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string ProfilePath(const std::string& number) const {
    return (dir_ / absl::StrCat(number.substr(1), ".db")).string();
  }

  // A second handle on `number`'s profile, as another process would open it.
  std::unique_ptr<ClientStore> Profile(const std::string& number) {
    auto store = ClientStore::Open(ProfilePath(number));
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  // The version of `owner`'s current session with `peer` (0: none).
  uint32_t SessionVersion(const std::string& owner, const std::string& peer) {
    auto record = Profile(owner)->LoadSession(peer, 1);
    return record.ok() && record->has_session() ? record->version() : 0;
  }

  int64_t CountIn(ClientStore& store, const std::string& sql) {
    auto row = store.db().QueryOne(sql);
    EXPECT_TRUE(row.ok()) << row.status();
    return row.ok() ? row->Int(0) : -1;
  }

  relay::Credentials CredentialsOf(const std::string& number) {
    auto account = Profile(number)->LoadAccount();
    EXPECT_TRUE(account.ok()) << account.status();
    return account.ok() ? relay::Credentials{account->account_id, account->device_id, account->password}
                        : relay::Credentials{};
  }

  // Opens a profile and registers `number` with the relay.
  MessengerClient& Register(const std::string& number) {
    ClientOptions options;
    options.profile_path = ProfilePath(number);
    options.server = "relay.test:443";  // only remembered: the transport ignores it
    options.clock = &clock_;
    options.random = &randoms_.emplace_back(static_cast<uint64_t>(randoms_.size() + 11));
    options.one_time_prekeys = 5;
    options.prekey_refill_below = 2;
    options.transport = transport_.get();
    auto opened = MessengerClient::Open(options);
    EXPECT_TRUE(opened.ok()) << opened.status();
    MessengerClient& c = *clients_.emplace_back(*std::move(opened));
    auto requested = c.RequestCode(number, "");
    EXPECT_TRUE(requested.ok()) << requested.status();
    absl::Status verified = c.Verify(number, "", sender_->CodeFor(number));
    EXPECT_TRUE(verified.ok()) << verified;
    EXPECT_TRUE(c.registered());
    EXPECT_EQ(c.number(), number);
    return c;
  }

  std::vector<Event> Sync(MessengerClient& c) {
    std::vector<Event> events;
    absl::Status st = c.Sync([&](const Event& e) { events.push_back(e); });
    EXPECT_TRUE(st.ok()) << st;
    return events;
  }

  static std::vector<Event> Of(const std::vector<Event>& events, Event::Kind kind) {
    std::vector<Event> out;
    for (const auto& e : events)
      if (e.kind == kind) out.push_back(e);
    return out;
  }

  static inline int counter_ = 0;
  std::filesystem::path dir_;
  FakeClock clock_;
  SeededRandom relay_random_{7};
  std::deque<SeededRandom> randoms_;  // one per client; a deque keeps their addresses
  net::Metrics metrics_;
  net::Router router_;
  CapturingSender* sender_ = nullptr;
  std::unique_ptr<relay::Relay> relay_;
  std::unique_ptr<InProcessTransport> transport_;
  std::vector<std::unique_ptr<MessengerClient>> clients_;
};

TEST_F(MessengerClientTest, MessagesBothWaysWithDeliveredAndReadReceipts) {
  MessengerClient& alice = Register(kAlice);
  MessengerClient& bob = Register(kBob);

  auto id = alice.Send(kBob, "hello bob");
  ASSERT_TRUE(id.ok()) << id.status();
  auto sent = Of(Sync(alice), Event::Kind::kSent);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].message_id, *id);
  EXPECT_EQ(sent[0].peer, kBob);
  EXPECT_EQ(sent[0].body, "hello bob");

  auto received = Of(Sync(bob), Event::Kind::kMessage);
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].peer, kAlice);
  EXPECT_EQ(received[0].message_id, *id);
  EXPECT_EQ(received[0].body, "hello bob");
  EXPECT_EQ(SessionVersion(kAlice, kBob), 4u) << "Bob's bundle had a Kyber prekey: PQXDH";
  EXPECT_EQ(SessionVersion(kBob, kAlice), 4u);

  // Bob's device acknowledged it with a delivered receipt in that sync.
  auto delivered = Of(Sync(alice), Event::Kind::kDelivered);
  ASSERT_EQ(delivered.size(), 1u);
  EXPECT_EQ(delivered[0].message_id, *id);
  EXPECT_EQ(delivered[0].body, "hello bob");

  auto marked = bob.MarkRead(kAlice);
  ASSERT_TRUE(marked.ok()) << marked.status();
  EXPECT_EQ(*marked, 1);
  Sync(bob);
  auto read = Of(Sync(alice), Event::Kind::kRead);
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(read[0].message_id, *id);

  // And back.
  auto reply = bob.Send(kAlice, "hello alice");
  ASSERT_TRUE(reply.ok()) << reply.status();
  Sync(bob);
  auto at_alice = Of(Sync(alice), Event::Kind::kMessage);
  ASSERT_EQ(at_alice.size(), 1u);
  EXPECT_EQ(at_alice[0].body, "hello alice");
  EXPECT_EQ(at_alice[0].peer, kBob);
  EXPECT_EQ(Of(Sync(bob), Event::Kind::kDelivered).size(), 1u);

  auto history = alice.History(kBob, 10);
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->size(), 2u);
  std::map<std::string, std::string> status_by_body;
  for (const auto& m : *history) status_by_body[m.body] = m.status;
  EXPECT_EQ(status_by_body["hello bob"], "read");
  EXPECT_EQ(status_by_body["hello alice"], "received");
  auto safety_alice = alice.SafetyNumber(kBob);
  auto safety_bob = bob.SafetyNumber(kAlice);
  ASSERT_TRUE(safety_alice.ok() && safety_bob.ok());
  EXPECT_EQ(*safety_alice, *safety_bob);
}

TEST_F(MessengerClientTest, OfflineRecipientReceivesOnReconnect) {
  MessengerClient& alice = Register(kAlice);
  MessengerClient& bob = Register(kBob);

  // Bob is online: a message reaches his open stream as it is sent.
  EventLog bob_events;
  std::atomic<bool> listening{true};
  std::atomic<bool> stopped{false};
  absl::Status listen_status;
  std::thread listener([&] {
    listen_status = bob.Listen(bob_events.Handler(), [&] { return listening.load(); });
    stopped = true;
  });
  ASSERT_TRUE(alice.Send(kBob, "are you there?").ok());
  Sync(alice);
  ASSERT_TRUE(bob_events.WaitFor(Event::Kind::kMessage, 1));
  EXPECT_EQ(bob_events.Of(Event::Kind::kMessage)[0].body, "are you there?");

  // Bob goes offline. Listen checks keep_going between receive timeouts,
  // which pass only as the clock moves.
  listening = false;
  while (!stopped) {
    clock_.Advance(absl::Milliseconds(250));
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  listener.join();
  EXPECT_TRUE(listen_status.ok()) << listen_status;

  // His delivered receipt went out while he was online, but he may have
  // stopped before the relay confirmed it; a sync settles it (a receipt
  // submitted again under its id is not queued twice).
  EXPECT_TRUE(Of(Sync(bob), Event::Kind::kMessage).empty());
  EXPECT_EQ(Of(Sync(alice), Event::Kind::kDelivered).size(), 1u);

  auto first = alice.Send(kBob, "first while away");
  auto second = alice.Send(kBob, "second while away");
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(Of(Sync(alice), Event::Kind::kSent).size(), 2u);

  // Back online: both arrive, in order, once.
  auto received = Of(Sync(bob), Event::Kind::kMessage);
  ASSERT_EQ(received.size(), 2u);
  EXPECT_EQ(received[0].message_id, *first);
  EXPECT_EQ(received[0].body, "first while away");
  EXPECT_EQ(received[1].message_id, *second);
  EXPECT_TRUE(Of(Sync(bob), Event::Kind::kMessage).empty());
  auto delivered = Of(Sync(alice), Event::Kind::kDelivered);
  ASSERT_EQ(delivered.size(), 2u);
}

// Bob's five one-time Kyber prekeys go to five senders, the sixth gets the
// last-resort key; all six sessions are version 4. Bob deletes the used
// one-time keys, keeps the last-resort one, and tops up both kinds.
TEST_F(MessengerClientTest, KyberPreKeysAreUsedOnceAndReplenished) {
  MessengerClient& bob = Register(kBob);
  const relay::Credentials bob_creds = CredentialsOf(kBob);
  EXPECT_EQ(*relay_->accounts().KyberPreKeyCount(bob_creds), 5);
  EXPECT_EQ(*relay_->accounts().PreKeyCount(bob_creds), 5);
  auto bob_store = Profile(kBob);
  EXPECT_EQ(CountIn(*bob_store, "SELECT COUNT(*) FROM kyber_prekeys WHERE last_resort = 0"), 5);
  EXPECT_EQ(CountIn(*bob_store, "SELECT COUNT(*) FROM kyber_prekeys WHERE last_resort = 1"), 1);

  std::vector<std::string> senders;
  for (int i = 0; i < 6; ++i) {
    senders.push_back(absl::StrCat("+1415555014", i));
    MessengerClient& sender = Register(senders.back());
    ASSERT_TRUE(sender.Send(kBob, absl::StrCat("from ", i)).ok());
    EXPECT_EQ(Of(Sync(sender), Event::Kind::kSent).size(), 1u);
  }
  EXPECT_EQ(*relay_->accounts().KyberPreKeyCount(bob_creds), 0);

  auto received = Of(Sync(bob), Event::Kind::kMessage);
  ASSERT_EQ(received.size(), 6u);
  for (const auto& sender : senders) {
    EXPECT_EQ(SessionVersion(sender, kBob), 4u) << sender;
    EXPECT_EQ(SessionVersion(kBob, sender), 4u) << sender;
  }
  // The sync first topped both kinds up to five (none were left); then the
  // messages used the five old one-time Kyber keys, now deleted, and the
  // last-resort key (id 6), which stays.
  EXPECT_EQ(*relay_->accounts().KyberPreKeyCount(bob_creds), 5);
  EXPECT_EQ(*relay_->accounts().PreKeyCount(bob_creds), 5);
  EXPECT_EQ(CountIn(*bob_store, "SELECT COUNT(*) FROM kyber_prekeys WHERE last_resort = 0"), 5);
  EXPECT_EQ(CountIn(*bob_store, "SELECT COUNT(*) FROM kyber_prekeys WHERE last_resort = 1"), 1);
  for (uint32_t id = 1; id <= 5; ++id) {
    EXPECT_EQ(bob_store->LoadKyberPreKey(id).status().code(), absl::StatusCode::kNotFound) << id;
  }
  EXPECT_TRUE(bob_store->LoadKyberPreKey(6).ok()) << "the last-resort key";
}

// A device that never published Kyber prekeys (a profile from before them,
// or another client) gets version 3 sessions; its next sync publishes
// Kyber prekeys, and new sessions with it are version 4.
TEST_F(MessengerClientTest, APeerWithoutKyberPreKeysGetsAVersion3Session) {
  MessengerClient& alice = Register(kAlice);
  MessengerClient& bob = Register(kBob);
  constexpr char kCarol[] = "+14155550188";
  MessengerClient& carol = Register(kCarol);
  for (const char* sql : {"DELETE FROM kyber_prekeys", "DELETE FROM kyber_last_resort_prekeys"}) {
    ASSERT_TRUE(relay_->DatabaseForTesting().Execute(sql).ok()) << sql;
  }
  ASSERT_TRUE(Profile(kBob)->db().Execute("DELETE FROM kyber_prekeys").ok());

  ASSERT_TRUE(alice.Send(kBob, "old style").ok());
  Sync(alice);
  EXPECT_EQ(SessionVersion(kAlice, kBob), 3u);
  auto received = Of(Sync(bob), Event::Kind::kMessage);
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].body, "old style");
  EXPECT_EQ(SessionVersion(kBob, kAlice), 3u);
  ASSERT_TRUE(bob.Send(kAlice, "still works").ok());
  Sync(bob);
  auto at_alice = Of(Sync(alice), Event::Kind::kMessage);
  ASSERT_EQ(at_alice.size(), 1u);
  EXPECT_EQ(at_alice[0].body, "still works");
  EXPECT_EQ(SessionVersion(kAlice, kBob), 3u) << "an existing session keeps its version";

  // That sync published Kyber prekeys, a last-resort one among them.
  EXPECT_EQ(*relay_->accounts().KyberPreKeyCount(CredentialsOf(kBob)), 5);
  EXPECT_EQ(CountIn(*Profile(kBob), "SELECT COUNT(*) FROM kyber_prekeys WHERE last_resort = 1"), 1);
  ASSERT_TRUE(carol.Send(kBob, "post-quantum").ok());
  Sync(carol);
  EXPECT_EQ(SessionVersion(kCarol, kBob), 4u);
  received = Of(Sync(bob), Event::Kind::kMessage);
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].body, "post-quantum");
}

TEST_F(MessengerClientTest, SendingToANumberWithoutAnAccountFails) {
  MessengerClient& alice = Register(kAlice);
  auto id = alice.Send("+14155550177", "anyone?");
  ASSERT_FALSE(id.ok());
  EXPECT_TRUE(absl::IsNotFound(id.status())) << id.status();
  auto history = alice.History("+14155550177", 10);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ((*history)[0].status, "failed");
}

TEST_F(MessengerClientTest, AGroupOfFiveWithAddsARenameAndARemovalTheRemovedCannotRead) {
  const std::string a = "+14155550101", b = "+14155550102", c = "+14155550103", d = "+14155550104",
                    e = "+14155550105";
  MessengerClient& ma = Register(a);
  MessengerClient& mb = Register(b);
  MessengerClient& mc = Register(c);
  MessengerClient& md = Register(d);
  MessengerClient& me = Register(e);

  auto group = ma.CreateGroup("Trip", {b, c, d});
  ASSERT_TRUE(group.ok()) << group.status();
  ASSERT_EQ(group->size(), 64u);
  Sync(ma);
  for (MessengerClient* m : {&mb, &mc, &md}) {
    auto updates = Of(Sync(*m), Event::Kind::kGroupUpdate);
    ASSERT_EQ(updates.size(), 1u);
    EXPECT_EQ(updates[0].group, *group);
    EXPECT_EQ(updates[0].body, "Trip");
    EXPECT_EQ(updates[0].peer, a);
    auto info = m->Group(group->substr(0, 8));
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(info->members.size(), 4u);
    EXPECT_EQ(info->version, 1u);
  }

  // A group text reaches every member once, encrypted once for all.
  ASSERT_TRUE(ma.SendToGroup(*group, "hello all").ok());
  Sync(ma);
  for (MessengerClient* m : {&mb, &mc, &md}) {
    auto got = Of(Sync(*m), Event::Kind::kMessage);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].body, "hello all");
    EXPECT_EQ(got[0].group, *group);
    EXPECT_EQ(got[0].peer, a);
  }
  // Any member sends too.
  ASSERT_TRUE(mb.SendToGroup(*group, "hi from b").ok());
  Sync(mb);
  for (MessengerClient* m : {&ma, &mc, &md}) {
    auto got = Of(Sync(*m), Event::Kind::kMessage);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].body, "hi from b");
  }
  // Only admins change the group.
  EXPECT_EQ(mb.RenameGroup(*group, "Mine").status().code(), absl::StatusCode::kPermissionDenied);

  // An add: the new member gets the state and then the messages.
  ASSERT_TRUE(ma.AddToGroup(*group, {e}).ok());
  ASSERT_TRUE(ma.SendToGroup(*group, "welcome e").ok());
  Sync(ma);
  auto e_events = Sync(me);
  ASSERT_EQ(Of(e_events, Event::Kind::kGroupUpdate).size(), 1u);
  ASSERT_EQ(Of(e_events, Event::Kind::kMessage).size(), 1u);
  EXPECT_EQ(Of(e_events, Event::Kind::kMessage)[0].body, "welcome e");

  // A rename everyone sees.
  ASSERT_TRUE(ma.RenameGroup(*group, "Trip 2026").ok());
  Sync(ma);
  for (MessengerClient* m : {&mb, &mc, &md, &me}) {
    auto updates = Of(Sync(*m), Event::Kind::kGroupUpdate);
    ASSERT_FALSE(updates.empty());
    EXPECT_EQ(updates.back().body, "Trip 2026");
  }

  // A removal: the removed member is told and gets nothing sent after it,
  // and holds no key for it.
  auto removed = ma.RemoveFromGroup(*group, {d});
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(removed->members.size(), 4u);
  Sync(ma);
  auto d_update = Of(Sync(md), Event::Kind::kGroupUpdate);
  ASSERT_EQ(d_update.size(), 1u);
  EXPECT_NE(d_update[0].detail.find("no longer a member"), std::string::npos) << d_update[0].detail;
  EXPECT_FALSE(md.Group(*group)->active);
  EXPECT_EQ(md.SendToGroup(*group, "still here?").status().code(), absl::StatusCode::kFailedPrecondition);
  for (MessengerClient* m : {&mb, &mc, &me}) Sync(*m);  // they learn of the removal and rotate
  ASSERT_TRUE(ma.SendToGroup(*group, "after the removal").ok());
  ASSERT_TRUE(mc.SendToGroup(*group, "c after the removal").ok());
  Sync(ma);
  Sync(mc);
  for (MessengerClient* m : {&mb, &me}) {
    auto got = Of(Sync(*m), Event::Kind::kMessage);
    ASSERT_EQ(got.size(), 2u);
  }
  EXPECT_TRUE(Of(Sync(md), Event::Kind::kMessage).empty());
  // Cryptographically too: the new messages use sender keys D never got.
  auto d_profile = Profile(d);
  for (const std::string& sender : {a, c}) {
    auto own = Profile(sender)->Groups();
    ASSERT_TRUE(own.ok());
    const std::string dist = own->front().distribution_id;
    auto held = d_profile->LoadSenderKey(sender, 1, dist);
    ASSERT_TRUE(held.ok());
    EXPECT_TRUE(held->empty()) << sender << "'s current sender key reached the removed member";
    auto b_held = Profile(b)->LoadSenderKey(sender, 1, dist);
    ASSERT_TRUE(b_held.ok());
    EXPECT_FALSE(b_held->empty());
  }
  auto history = mb.GroupHistory(*group, 50);
  ASSERT_TRUE(history.ok()) << history.status();
  EXPECT_EQ(history->size(), 5u);  // hello all, hi from b (own), welcome e, and the two after the removal
}

}  // namespace
}  // namespace tandem::client
