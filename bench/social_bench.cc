// Load generator for the social operator (a standalone program rather than
// Google Benchmark, because the figures that matter are rates and tail
// latencies under concurrent load).
//
//   social_bench suggest   [--users N] [--friendships M] [--book K] [--threads T] [--seconds S]
//   social_bench feed      [--events N] [--batch B]
//   social_bench objection [--trials N] [--poll-ms P]
//
// suggest: builds the fact index for N users and M friendships (each
//   friendship is two adjacency entries), K address-book entries per user,
//   70% of users linked through the messenger with usage, 10% objecting to
//   friend suggestions; then T threads ask for 10 suggestions for random
//   users for S seconds while a writer thread applies 1,000 objection
//   changes per second. Reports requests/s and latency percentiles.
// feed: applies N generated events from a feed peer over HTTP into a
//   social.db on disk (synchronous=FULL), B events per pull, and also
//   directly through FeedApplier.
// objection: a consumer thread follows a feed peer; each trial appends an
//   objection (or a withdrawal) and measures until a viewer's suggestions
//   reflect it.
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/log.h"
#include "common/random.h"
#include "social/feed_consumer.h"
#include "social/social_db.h"
#include "social/suggestions.h"
#include "testing/feed_test_peer.h"

namespace tandem::social {
namespace {

using Clock = std::chrono::steady_clock;

std::map<std::string, std::string> Flags(int argc, char** argv) {
  std::map<std::string, std::string> f;
  for (int i = 2; i + 1 < argc; i += 2) f[argv[i]] = argv[i + 1];
  return f;
}
int64_t Flag(const std::map<std::string, std::string>& f, const std::string& k, int64_t def) {
  auto it = f.find(k);
  return it == f.end() ? def : std::stoll(it->second);
}

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(i), v.end());
  return v[i];
}

double ThreadCpuMicros() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

double RssGiB() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / (1024.0 * 1024.0);
}

// A fast generator for building large synthetic graphs (SeededRandom is a
// locked ChaCha20 stream: right for tests, too slow for 10^8 draws).
struct SplitMix {
  uint64_t x;
  uint64_t NextU64() {
    uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
};

PhoneKey UserPhone(uint64_t i) { return 16502000000000ULL + i; }  // +1 650 2... style keys, distinct per user

int SuggestBench(const std::map<std::string, std::string>& f) {
  const uint64_t users = static_cast<uint64_t>(Flag(f, "--users", 1'000'000));
  const uint64_t friendships = static_cast<uint64_t>(Flag(f, "--friendships", 50'000'000));
  const int book = static_cast<int>(Flag(f, "--book", 10));
  const int threads = static_cast<int>(Flag(f, "--threads", 2));
  const int seconds = static_cast<int>(Flag(f, "--seconds", 10));
  FactIndex index;
  SplitMix rnd{42};
  auto t0 = Clock::now();
  index.ReserveUsers(static_cast<UserId>(users));
  for (uint64_t u = 1; u <= users; ++u) index.PutUser(static_cast<UserId>(u), UserPhone(u), u % 10 == 0);
  // Friendships: 80% within a neighbourhood of +-2,000 ids (so people share
  // friends, as in real graphs), 20% anywhere.
  for (uint64_t e = 0; e < friendships; ++e) {
    uint64_t r = rnd.NextU64();
    UserId a = static_cast<UserId>(1 + (r % users));
    uint64_t r2 = r >> 20;
    UserId b;
    if ((r2 & 0xff) < 205) {
      int64_t off = static_cast<int64_t>((r2 >> 8) % 4001) - 2000;
      int64_t bb = static_cast<int64_t>(a) + off;
      if (bb < 1 || bb > static_cast<int64_t>(users)) continue;
      b = static_cast<UserId>(bb);
    } else {
      b = static_cast<UserId>(1 + ((r2 >> 8) % users));
    }
    index.AddFriendshipUnlocked(a, b);
  }
  auto t1 = Clock::now();
  for (uint64_t u = 1; u <= users; ++u) {
    std::vector<PhoneKey> phones;
    for (int k = 0; k < book; ++k) {
      uint64_t r = rnd.NextU64();
      // 60% of contacts are numbers of users nearby, the rest anyone's.
      if (r % 10 < 6) {
        int64_t v = static_cast<int64_t>(u) + static_cast<int64_t>((r >> 8) % 4001) - 2000;
        phones.push_back(
            UserPhone(static_cast<uint64_t>(std::clamp<int64_t>(v, 1, static_cast<int64_t>(users)))));
      } else {
        phones.push_back(33100000000ULL + (r >> 8) % 1'000'000'000ULL);
      }
    }
    index.SetAddressBook(static_cast<UserId>(u), std::move(phones));
  }
  std::vector<std::string> accounts;
  for (uint64_t u = 1; u <= users; ++u) {
    if (u % 10 >= 7) continue;
    std::string id = "m" + std::to_string(u);
    index.LinkMessengerAccount(id, UserPhone(u));
    index.SetMessengerUsage(id, static_cast<uint8_t>(u % 29), 20000);
    if (u % 10 == 3) index.SetObjection(id, Purpose::kFriendSuggestions, true);
    accounts.push_back(std::move(id));
  }
  auto t2 = Clock::now();
  std::printf(
      "graph: %llu users, %llu friendships (%llu adjacency entries), %d address-book entries per user\n",
      static_cast<unsigned long long>(users), static_cast<unsigned long long>(friendships),
      static_cast<unsigned long long>(2 * friendships), book);
  std::printf("build: friendships %.1f s, books+messenger %.1f s, peak RSS %.2f GiB\n",
              std::chrono::duration<double>(t1 - t0).count(), std::chrono::duration<double>(t2 - t1).count(),
              RssGiB());

  std::atomic<bool> stop{false};
  std::vector<double> write_us;
  std::thread writer([&] {
    SeededRandom wr(7);
    uint64_t n = 0;
    auto start = Clock::now();
    while (!stop.load()) {
      const std::string& id = accounts[wr.Uniform(accounts.size())];
      auto a = Clock::now();
      index.SetObjection(id, Purpose::kFriendSuggestions, wr.Uniform(2) == 1);
      write_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - a).count());
      ++n;
      std::this_thread::sleep_until(start + std::chrono::microseconds(n * 1000));
    }
  });
  std::vector<std::vector<double>> lat(static_cast<size_t>(threads));
  std::vector<uint64_t> returned(static_cast<size_t>(threads));
  std::vector<double> cpu(static_cast<size_t>(threads));
  std::vector<std::thread> workers;
  auto run_start = Clock::now();
  auto deadline = run_start + std::chrono::seconds(seconds);
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      SeededRandom r(100 + static_cast<uint64_t>(t));
      auto& mine = lat[static_cast<size_t>(t)];
      mine.reserve(1 << 20);
      double cpu_start = ThreadCpuMicros();
      while (Clock::now() < deadline) {
        UserId viewer = static_cast<UserId>(1 + r.Uniform(users));
        auto a = Clock::now();
        size_t n;
        {
          PurposeView view(index, Purpose::kFriendSuggestions);
          n = Suggest(view, viewer, 10).size();
        }
        auto b = Clock::now();
        returned[static_cast<size_t>(t)] += n;
        mine.push_back(std::chrono::duration<double, std::micro>(b - a).count());
      }
      cpu[static_cast<size_t>(t)] = ThreadCpuMicros() - cpu_start;
    });
  }
  for (auto& w : workers) w.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - run_start).count();
  stop = true;
  writer.join();
  std::vector<double> all;
  uint64_t total_returned = 0;
  double cpu_total = 0;
  for (double c : cpu) cpu_total += c;
  for (size_t t = 0; t < lat.size(); ++t) {
    all.insert(all.end(), lat[t].begin(), lat[t].end());
    total_returned += returned[t];
  }
  size_t requests = all.size();
  double p50 = Percentile(all, 0.50), p99 = Percentile(all, 0.99), p999 = Percentile(all, 0.999),
         mx = *std::max_element(all.begin(), all.end());
  std::printf(
      "suggest: %d threads, %zu requests in %.1f s = %.0f requests/s; avg %.1f suggestions returned\n",
      threads, requests, elapsed, static_cast<double>(requests) / elapsed,
      static_cast<double>(total_returned) / static_cast<double>(requests));
  std::printf("cpu: %.0f us per request on average => %.0f requests/s per fully available core\n",
              cpu_total / static_cast<double>(requests), 1e6 * static_cast<double>(requests) / cpu_total);
  std::printf(
      "latency: p50 %.0f us, p99 %.0f us, p99.9 %.0f us, max %.0f us (with 1,000 objection writes/s)\n", p50,
      p99, p999, mx);
  std::printf(
      "objection writes under this load: %zu applied, time to apply p50 %.0f us, p99 %.0f us, max %.0f us\n",
      write_us.size(), Percentile(write_us, 0.5), Percentile(write_us, 0.99),
      *std::max_element(write_us.begin(), write_us.end()));
  return 0;
}

std::string TempDb(const std::string& name) {
  std::string dir = std::filesystem::temp_directory_path() / ("social_bench_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  return dir + "/" + name;
}

int Feed(const std::map<std::string, std::string>& f) {
  const size_t events = static_cast<size_t>(Flag(f, "--events", 200'000));
  const int batch = static_cast<int>(Flag(f, "--batch", 5000));
  auto feed = testing::GenerateFeed(5, events, events / 4);
  testing::FeedTestPeer peer("t", "127.0.0.1:0", 1);
  for (const auto& e : feed) peer.Append(e);
  if (!peer.Start().ok()) return 1;
  {
    auto db = SocialDb::OpenSqlite(TempDb("feed_http.db"));
    if (!db.ok()) return 1;
    net::Metrics metrics;
    FeedConsumerOptions o;
    o.url = peer.address();
    o.token = "t";
    o.batch = batch;
    FeedConsumer consumer(**db, o, metrics, tandem::SystemClock::Real());
    auto a = Clock::now();
    auto cursor = consumer.CatchUp();
    double s = std::chrono::duration<double>(Clock::now() - a).count();
    if (!cursor.ok()) {
      std::fprintf(stderr, "%s\n", std::string(cursor.status().message()).c_str());
      return 1;
    }
    std::printf(
        "feed over HTTP: %zu events in %.2f s = %.0f events/s (batch %d, SQLite WAL synchronous=FULL)\n",
        events, s, static_cast<double>(events) / s, batch);
  }
  {
    auto db = SocialDb::OpenSqlite(TempDb("feed_direct.db"));
    if (!db.ok()) return 1;
    FeedApplier applier(**db);
    auto a = Clock::now();
    for (size_t i = 0; i < feed.size(); i += static_cast<size_t>(batch)) {
      std::vector<FeedEvent> part(feed.begin() + static_cast<long>(i),
                                  feed.begin() + static_cast<long>(std::min(feed.size(), i + batch)));
      if (!applier.Apply(part).ok()) return 1;
    }
    double s = std::chrono::duration<double>(Clock::now() - a).count();
    std::printf("feed applied directly: %zu events in %.2f s = %.0f events/s\n", events, s,
                static_cast<double>(events) / s);
  }
  peer.Stop();
  std::filesystem::remove_all(std::filesystem::path(TempDb("x")).parent_path());
  return 0;
}

int Objection(const std::map<std::string, std::string>& f) {
  const int trials = static_cast<int>(Flag(f, "--trials", 100));
  const int poll_ms = static_cast<int>(Flag(f, "--poll-ms", 200));
  testing::FeedTestPeer peer("t", "127.0.0.1:0", 1);
  if (!peer.Start().ok()) return 1;
  auto db = SocialDb::OpenSqlite(TempDb("objection.db"));
  if (!db.ok()) return 1;
  SocialDb& social = **db;
  // Viewer 1 has user 2's number; user 2 is findable only through the messenger link.
  auto txn = [&](store::Database& d) -> absl::Status {
    RETURN_IF_ERROR(d.Execute("INSERT INTO accounts (id, phone, created_at) VALUES (1, '+16502530001', 0), "
                              "(2, '+16502530002', 0)")
                        .status());
    return d.Execute("INSERT INTO address_book (owner_id, phone, uploaded_at) VALUES (1, '+16502530002', 0)")
        .status();
  };
  if (!social
           .Write(txn,
                  [](FactIndex& i) {
                    i.PutUser(1, PhoneKeyFromE164("+16502530001"), false);
                    i.PutUser(2, PhoneKeyFromE164("+16502530002"), false);
                    i.SetAddressBook(1, {PhoneKeyFromE164("+16502530002")});
                  })
           .ok()) {
    return 1;
  }
  FeedEvent link;
  link.type = FeedEventType::kAccountLinked;
  link.account_id = "m2";
  link.phone = "+16502530002";
  link.at = 1;
  peer.Append(link);
  net::Metrics metrics;
  FeedConsumerOptions o;
  o.url = peer.address();
  o.token = "t";
  o.poll_interval = absl::Milliseconds(poll_ms);
  FeedConsumer consumer(social, o, metrics, tandem::SystemClock::Real());
  consumer.Start();
  auto suggested = [&] {
    PurposeView v = social.View(Purpose::kFriendSuggestions);
    return !Suggest(v, 1, 10).empty();
  };
  while (!suggested()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::vector<double> ms;
  SeededRandom r(3);
  for (int i = 0; i < trials; ++i) {
    // Objections arrive at random moments relative to the poll loop.
    std::this_thread::sleep_for(std::chrono::microseconds(r.Uniform(static_cast<uint64_t>(poll_ms) * 1000)));
    bool objecting = i % 2 == 0;
    FeedEvent e;
    e.type = FeedEventType::kObjectionChanged;
    e.account_id = "m2";
    e.purpose = Purpose::kFriendSuggestions;
    e.objected = objecting;
    e.at = 2 + i;
    auto a = Clock::now();
    peer.Append(e);
    while (suggested() == objecting) std::this_thread::yield();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - a).count());
  }
  consumer.Stop();
  peer.Stop();
  double mx = *std::max_element(ms.begin(), ms.end());
  std::printf(
      "objection-to-enforcement (poll interval %d ms, %d trials, objections and withdrawals): "
      "p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
      poll_ms, trials, Percentile(ms, 0.5), Percentile(ms, 0.99), mx);
  std::filesystem::remove_all(std::filesystem::path(TempDb("x")).parent_path());
  return 0;
}

}  // namespace
}  // namespace tandem::social

int main(int argc, char** argv) {
  tandem::log::SetLevel(tandem::log::Level::kWarn);
  std::string mode = argc > 1 ? argv[1] : "";
  auto flags = tandem::social::Flags(argc, argv);
  if (mode == "suggest") return tandem::social::SuggestBench(flags);
  if (mode == "feed") return tandem::social::Feed(flags);
  if (mode == "objection") return tandem::social::Objection(flags);
  std::fprintf(stderr, "usage: social_bench suggest|feed|objection [--flag value ...]\n");
  return 2;
}
