// Storage faults under send load. A relay runs in this process behind the
// real HTTP/WebSocket server, its database on the fault-injecting SQLite
// VFS (store/fault_vfs.h). Four senders submit envelopes over their own
// WebSockets, to a recipient that stays online and acks as it receives and
// to one that stays offline, while the disk fails (write errors, fsync
// errors, a full disk) and then recovers. Checked:
//  - during the fault every submit is answered, with `unavailable` (no
//    crash, no hang, no false ack), and so is a registration;
//  - after it the relay serves again without a restart;
//  - every envelope acknowledged, before, during or after the fault, is
//    delivered once with the server id of its acknowledgement, and nothing
//    else is: what failed is absent from the database (rows and
//    de-duplication records), resubmitting it stores it afresh, and
//    resubmitting what was acknowledged answers the original server id;
//  - after a clean stop the files hold exactly that (integrity check, a
//    restart that delivers the offline recipient's queue again).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/random.h"
#include "crypto/keys.h"
#include "net/client.h"
#include "net/server.h"
#include "relay/relay.h"
#include "relay/relay_store.h"
#include "relay/test_util.h"
#include "relay_protocol/protocol.h"
#include "store/fault_vfs.h"

namespace tandem::relay {
namespace {

using namespace std::chrono_literals;

enum Phase : int { kBefore, kFault, kAfter };

// What the senders saw, by client message id.
struct Ledger {
  struct Entry {
    std::string to;
    uint64_t server_id = 0;  // 0: not acknowledged
    Phase sent_in = kBefore;
    Phase answered_in = kBefore;
    absl::StatusCode error = absl::StatusCode::kOk;
    bool resubmitted = false;  // failed, then stored by a resubmission
  };
  std::mutex mu;
  std::map<std::string, Entry> entries;
};

class RelayFaultTest : public ::testing::TestWithParam<store::Fault> {
 protected:
  static constexpr int kSenders = 4;
  static constexpr size_t kWindow = 16;  // submits in flight per sender
  static constexpr char kOnline[] = "+14155550180";
  static constexpr char kOffline[] = "+14155550181";

  void SetUp() override {
    log::SetLevel(getenv("RELAY_FAULT_TEST_LOG") ? log::Level::kInfo
                                                 : log::Level::kOff);  // every failed batch logs an error
    dir_ = std::filesystem::temp_directory_path() / absl::StrCat("relay_fault_test_", getpid());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto vfs = store::FaultVfs::Register("relay-fault-test");
    ASSERT_TRUE(vfs.ok()) << vfs.status();
    vfs_ = std::move(*vfs);
    options_.send = RateLimit{1e9, absl::Microseconds(1)};  // the load, not the rate limit, is under test
    // The offline recipient reads its whole queue without acking, twice.
    options_.stream.window_envelopes = 1 << 20;
    options_.stream.window_bytes = 1 << 30;
    OpenRelay();
  }
  void TearDown() override {
    CloseRelay();
    vfs_.reset();
    std::filesystem::remove_all(dir_);
    log::SetLevel(log::Level::kInfo);
  }

  // As tandemd runs it (relay::RelayModule), with every connection on
  // the fault VFS when `faulty`.
  void OpenRelay(bool faulty = true) {
    const std::string path = (dir_ / "messenger.db").string();
    store::SqliteOptions o;
    if (faulty) o.vfs = vfs_->name();
    auto storage = Relay::OpenSqliteStorage(path, o, options_, metrics_, SystemClock::Real());
    ASSERT_TRUE(storage.ok()) << storage.status();
    auto sender = std::make_unique<CapturingSender>();
    sender_ = sender.get();
    auto r = Relay::Create(std::move(*storage), std::move(sender), options_, metrics_, SystemClock::Real(),
                           random_);
    ASSERT_TRUE(r.ok()) << r.status();
    relay_ = std::move(*r);
    net::Router router;
    relay_->RegisterRoutes(router);
    net::ServerOptions so;
    so.listen = "127.0.0.1:0";
    so.threads = 2;
    server_ = std::make_unique<net::Server>(so, std::move(router), metrics_);
    relay_->AttachTo(*server_);
    ASSERT_TRUE(server_->Start().ok());
    relay_->Start();
    address_ = absl::StrCat("127.0.0.1:", server_->port());
  }
  void CloseRelay() {
    if (server_) server_->Stop();
    if (relay_) relay_->Stop();
    server_.reset();
    relay_.reset();
  }

  absl::StatusOr<Credentials> Register(const std::string& number) {
    const std::string address = absl::StrCat("10.0.0.", ++registrations_, ":5");
    RETURN_IF_ERROR(relay_->accounts().RequestCode(number, "", address).status());
    auto key = crypto::KeyPair::Generate(random_).public_key.Serialize();
    AccountService::VerifyRequest v{
        number, "", sender_->CodeFor(number), std::string(key.begin(), key.end()), 7, address};
    ASSIGN_OR_RETURN(auto registered, relay_->accounts().Verify(v));
    return registered.credentials;
  }

  absl::StatusOr<std::unique_ptr<net::WebSocketClient>> Connect(const Credentials& c) {
    return net::WebSocketClient::Connect(runtime_, address_, std::string(kWebSocketPath),
                                         {{"Authorization", BasicAuthorization(c)}});
  }

  // Submits and waits for the answer to this request, skipping pushes.
  static absl::StatusOr<pb::ServerFrame> SubmitAndWait(net::WebSocketClient& ws, uint64_t request_id,
                                                       const std::string& cmid, const std::string& to) {
    ws.Send(EncodeSubmit(request_id, cmid, RecipientByNumber(to), pb::ENVELOPE_TYPE_SIGNAL_MESSAGE,
                         Payload(cmid)));
    for (;;) {
      ASSIGN_OR_RETURN(auto m, ws.Receive(absl::Seconds(10)));
      ASSIGN_OR_RETURN(auto f, DecodeServerFrame(m.data));
      if ((f.has_submit_result() || f.has_error()) && f.request_id() == request_id) return f;
    }
  }
  static std::string Payload(const std::string& cmid) { return "ciphertext-of-" + cmid; }

  // Receives Deliver frames until QueueEmpty (and `want` envelopes, if
  // given) or the timeout; server id -> ciphertext.
  static absl::StatusOr<std::map<uint64_t, std::string>> Drain(net::WebSocketClient& ws, size_t want,
                                                               bool ack) {
    std::map<uint64_t, std::string> got;
    bool empty = false;
    while (!empty || got.size() < want) {
      ASSIGN_OR_RETURN(auto m, ws.Receive(absl::Seconds(10)));
      ASSIGN_OR_RETURN(auto f, DecodeServerFrame(m.data));
      for (const pb::ServerFrame* one : FramesOf(f)) {
        if (one->has_queue_empty()) empty = true;
        if (!one->has_deliver()) continue;
        const pb::Envelope& e = one->deliver().envelope();
        EXPECT_TRUE(got.emplace(e.server_id(), e.ciphertext()).second)
            << "server id " << e.server_id() << " twice";
        if (ack) ws.Send(EncodeAck(std::vector<uint64_t>{e.server_id()}));
      }
    }
    return got;
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::FaultVfs> vfs_;
  SeededRandom random_{11};
  net::Metrics metrics_;
  RelayOptions options_;
  CapturingSender* sender_ = nullptr;
  std::unique_ptr<Relay> relay_;
  std::unique_ptr<net::Server> server_;
  std::string address_;
  net::ClientRuntime runtime_{2};
  int registrations_ = 0;
};

TEST_P(RelayFaultTest, UnavailableDuringTheFaultNothingLostOrHalfWrittenServesAfter) {
  std::vector<Credentials> senders;
  for (int i = 0; i < kSenders; ++i) {
    auto c = Register(absl::StrCat("+1415555017", i));
    ASSERT_TRUE(c.ok()) << c.status();
    senders.push_back(*c);
  }
  auto online = Register(kOnline);
  auto offline = Register(kOffline);
  ASSERT_TRUE(online.ok() && offline.ok());

  std::atomic<int> phase{kBefore};
  std::atomic<bool> stop{false};            // the senders
  std::atomic<bool> stop_receiving{false};  // the online recipient
  Ledger ledger;
  std::atomic<int> failures{0};  // a submit not answered, or answered other than expected
  // Per sender: acknowledgements and unavailable errors per phase.
  std::array<std::array<std::atomic<int>, 3>, kSenders> acks{}, unavailable{};

  // The online recipient acks every envelope as it arrives, the whole time
  // (its acks become purges that fail with the disk, too).
  std::mutex online_mu;
  std::map<uint64_t, std::string> online_got;
  auto online_ws = Connect(*online);
  ASSERT_TRUE(online_ws.ok()) << online_ws.status();
  std::thread receiver([&] {
    while (!stop_receiving.load()) {
      auto m = (*online_ws)->Receive(absl::Milliseconds(100));
      if (!m.ok()) continue;
      auto f = DecodeServerFrame(m->data);
      if (!f.ok()) continue;
      for (const pb::ServerFrame* one : FramesOf(*f)) {
        if (!one->has_deliver()) continue;
        const pb::Envelope& e = one->deliver().envelope();
        {
          std::lock_guard lock(online_mu);
          EXPECT_TRUE(online_got.emplace(e.server_id(), e.ciphertext()).second)
              << "pushed twice: " << e.server_id();
        }
        (*online_ws)->Send(EncodeAck(std::vector<uint64_t>{e.server_id()}));
      }
    }
  });

  std::vector<std::thread> threads;
  // Joins the threads however the test ends.
  struct Joiner {
    std::function<void()> fn;
    ~Joiner() { fn(); }
  } joiner{[&] {
    stop = true;
    stop_receiving = true;
    for (auto& t : threads) {
      if (t.joinable()) t.join();
    }
    if (receiver.joinable()) receiver.join();
  }};
  for (int s = 0; s < kSenders; ++s) {
    threads.emplace_back([&, s] {
      auto ws = Connect(senders[s]);
      if (!ws.ok()) {
        ++failures;
        ADD_FAILURE() << "sender " << s << ": " << ws.status();
        return;
      }
      // Up to kWindow submits in flight, so that commits carry many
      // connections' envelopes at once, as under real load.
      struct InFlight {
        std::string cmid, to;
        Phase sent_in;
      };
      std::map<uint64_t, InFlight> in_flight;
      uint64_t n = 0;
      for (;;) {
        while (!stop.load() && in_flight.size() < kWindow) {
          ++n;
          InFlight f{absl::StrCat("s", s, "-", n), n % 2 == 0 ? kOnline : kOffline,
                     static_cast<Phase>(phase.load())};
          (*ws)->Send(EncodeSubmit(n, f.cmid, RecipientByNumber(f.to), pb::ENVELOPE_TYPE_SIGNAL_MESSAGE,
                                   Payload(f.cmid)));
          in_flight.emplace(n, std::move(f));
        }
        if (in_flight.empty()) return;
        auto m = (*ws)->Receive(absl::Seconds(10));
        const Phase answered_in = static_cast<Phase>(phase.load());
        auto frame = m.ok() ? DecodeServerFrame(m->data) : absl::StatusOr<pb::ServerFrame>(m.status());
        if (!frame.ok()) {
          ++failures;
          ADD_FAILURE() << "sender " << s << ": " << in_flight.size() << " submits not answered ("
                        << frame.status() << ")";
          return;
        }
        auto it = in_flight.find(frame->request_id());
        if (it == in_flight.end() || !(frame->has_submit_result() || frame->has_error())) continue;
        const InFlight sent = std::move(it->second);
        in_flight.erase(it);
        Ledger::Entry entry{sent.to, 0, sent.sent_in, answered_in};
        if (frame->has_submit_result()) {
          EXPECT_FALSE(frame->submit_result().duplicate()) << sent.cmid;
          entry.server_id = frame->submit_result().server_id();
          ++acks[s][answered_in];
        } else {
          entry.error = StatusFromError(frame->error()).code();
          if (entry.error == absl::StatusCode::kUnavailable) {
            ++unavailable[s][answered_in];
          } else {
            ++failures;
            ADD_FAILURE() << sent.cmid << ": " << frame->error().DebugString();
          }
        }
        if (sent.sent_in == kFault && answered_in == kFault && entry.server_id != 0) {
          ++failures;
          ADD_FAILURE() << sent.cmid << " was acknowledged although every commit fails";
        }
        std::lock_guard lock(ledger.mu);
        ledger.entries[sent.cmid] = entry;
      }
    });
  }
  auto wait_for = [&](auto done, const char* what) {
    for (auto deadline = std::chrono::steady_clock::now() + 15s; !done();) {
      if (std::chrono::steady_clock::now() > deadline || failures.load() > 0) {
        ADD_FAILURE() << "timed out waiting for " << what;
        return false;
      }
      std::this_thread::sleep_for(5ms);
    }
    return true;
  };
  auto every_sender = [&](auto& counts, Phase p, int n) {
    return [&counts, p, n] {
      for (auto& c : counts) {
        if (c[p].load() < n) return false;
      }
      return true;
    };
  };

  bool ok = wait_for(every_sender(acks, kBefore, 200), "acknowledgements before the fault");
  // The phase moves to kFault after the fault is set and away from it
  // before the fault clears: whatever is sent and answered in kFault was
  // committed, if at all, while every commit failed.
  if (ok) {
    // Write faults begin a few writes late, so that some commit has part
    // of its pages in the WAL when the disk fails under it.
    vfs_->Inject(GetParam(), GetParam() == store::Fault::kSyncError ? 0 : 2);
    ok = wait_for([&] { return vfs_->failures() > 0; }, "the first failed write");
    phase = kFault;
  }
  if (ok) ok = wait_for(every_sender(unavailable, kFault, 100), "unavailable errors during the fault");
  if (ok) {
    // Registration needs the disk too: a clear error, not a hang.
    auto code = relay_->accounts().RequestCode("+14155550189", "", "10.0.1.1:5");
    EXPECT_EQ(code.status().code(), absl::StatusCode::kUnavailable) << code.status();
    phase = kAfter;
    vfs_->Clear();
    ok = wait_for(every_sender(acks, kAfter, 200), "acknowledgements after the fault");
  }
  stop = true;
  for (auto& t : threads) t.join();
  ASSERT_TRUE(ok);
  ASSERT_EQ(failures.load(), 0);
  EXPECT_GT(vfs_->failures(), 0u);

  // Resubmissions on fresh connections: every other failed envelope is
  // stored afresh (nothing of it was kept), every acknowledged one answers
  // its original server id.
  std::set<std::string> never_resubmitted;
  {
    std::vector<std::unique_ptr<net::WebSocketClient>> ws;
    for (const Credentials& c : senders) {
      auto one = Connect(c);
      ASSERT_TRUE(one.ok()) << one.status();
      ws.push_back(std::move(*one));
    }
    int failed_seen = 0, acked_seen = 0;
    uint64_t request = 1000000;
    for (auto& [cmid, entry] : ledger.entries) {
      const int s = cmid[1] - '0';
      if (entry.server_id == 0 && failed_seen++ % 2 == 1) {
        never_resubmitted.insert(cmid);
        continue;
      }
      if (entry.server_id != 0 && acked_seen++ % 10 != 0) continue;
      auto f = SubmitAndWait(*ws[s], ++request, cmid, entry.to);
      ASSERT_TRUE(f.ok()) << f.status();
      ASSERT_TRUE(f->has_submit_result()) << cmid << ": " << f->DebugString();
      if (entry.server_id == 0) {
        EXPECT_FALSE(f->submit_result().duplicate()) << cmid << " failed, yet something of it was stored";
        entry.server_id = f->submit_result().server_id();
        entry.resubmitted = true;
      } else {
        EXPECT_TRUE(f->submit_result().duplicate()) << cmid;
        EXPECT_EQ(f->submit_result().server_id(), entry.server_id) << cmid;
      }
    }
    ASSERT_GT(never_resubmitted.size(), 0u);
  }

  // What each recipient must get: exactly the acknowledged envelopes, each
  // under the server id it was acknowledged with.
  std::map<uint64_t, std::string> want_online, want_offline;
  for (const auto& [cmid, entry] : ledger.entries) {
    if (entry.server_id == 0) continue;
    (entry.to == kOnline ? want_online : want_offline).emplace(entry.server_id, Payload(cmid));
  }
  ASSERT_TRUE(wait_for(
      [&] {
        std::lock_guard lock(online_mu);
        return online_got.size() >= want_online.size();
      },
      "the online recipient's deliveries"));
  std::this_thread::sleep_for(100ms);  // anything extra would show up now
  stop_receiving = true;
  receiver.join();
  EXPECT_EQ(online_got, want_online);

  auto offline_ws = Connect(*offline);
  ASSERT_TRUE(offline_ws.ok());
  auto offline_got = Drain(**offline_ws, want_offline.size(), /*ack=*/false);
  ASSERT_TRUE(offline_got.ok()) << offline_got.status();
  EXPECT_EQ(*offline_got, want_offline);
  offline_ws->reset();
  online_ws->reset();

  // A clean stop, then the files, read without the fault VFS.
  CloseRelay();
  OpenRelay(/*faulty=*/false);
  store::Database& db = relay_->DatabaseForTesting();
  EXPECT_EQ(db.QueryOne("PRAGMA integrity_check")->Text(0), "ok");
  EXPECT_EQ(db.QueryOne("SELECT COUNT(*) FROM envelopes")->Int(0), static_cast<int64_t>(want_offline.size()))
      << "the offline recipient's queue, and nothing else (acknowledged rows are purged on stop)";
  auto records = db.Query("SELECT client_message_id, server_id FROM submissions");
  ASSERT_TRUE(records.ok()) << records.status();
  std::map<std::string, uint64_t> stored;
  for (const store::Row& row : *records) stored[row.Text(0)] = static_cast<uint64_t>(row.Int(1));
  for (const auto& [cmid, entry] : ledger.entries) {
    if (entry.server_id == 0) {
      EXPECT_FALSE(stored.contains(cmid)) << cmid << " failed, yet its de-duplication record is stored";
    } else {
      EXPECT_EQ(stored[cmid], entry.server_id) << cmid;
    }
  }
  offline_ws = Connect(*offline);
  ASSERT_TRUE(offline_ws.ok());
  offline_got = Drain(**offline_ws, want_offline.size(), /*ack=*/true);
  ASSERT_TRUE(offline_got.ok()) << offline_got.status();
  EXPECT_EQ(*offline_got, want_offline) << "after the restart";
  offline_ws->reset();

  int before = 0, during = 0, after = 0, resubmitted = 0;
  for (const auto& [cmid, entry] : ledger.entries) {
    if (entry.server_id == 0) continue;
    if (entry.resubmitted) {
      ++resubmitted;
    } else {
      (entry.answered_in == kBefore ? before : entry.answered_in == kFault ? during : after)++;
    }
  }
  std::cout << ledger.entries.size() << " envelopes submitted: acknowledged " << before
            << " before the fault, " << during << " as it began (committed before it), " << after
            << " after it, " << resubmitted << " on resubmission after failing; " << never_resubmitted.size()
            << " failed and were left out; " << vfs_->failures() << " storage operations failed\n";
}

INSTANTIATE_TEST_SUITE_P(Faults, RelayFaultTest,
                         ::testing::Values(store::Fault::kWriteError, store::Fault::kSyncError,
                                           store::Fault::kDiskFull),
                         [](const auto& info) {
                           switch (info.param) {
                             case store::Fault::kWriteError:
                               return std::string("WriteError");
                             case store::Fault::kSyncError:
                               return std::string("SyncError");
                             case store::Fault::kDiskFull:
                               return std::string("DiskFull");
                             case store::Fault::kNone:
                               break;
                           }
                           return std::string("None");
                         });

}  // namespace
}  // namespace tandem::relay
