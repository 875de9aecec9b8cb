#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/config_schema.h"
#include "common/log.h"
#include "common/random.h"
#include "common/rate_limiter.h"
#include "common/status.h"

namespace tandem {
namespace {

TEST(ConfigTest, FileValuesAndOverrides) {
  auto c = Config::FromString("[server]\nlisten = \"127.0.0.1:9090\"\nthreads = 4\n[log]\njson = true\n",
                              "t.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->GetString("server.listen"), "127.0.0.1:9090");
  EXPECT_EQ(c->GetInt("server.threads"), 4);
  EXPECT_TRUE(c->GetBool("log.json"));
  ASSERT_TRUE(c->Set("server.threads=8").ok());
  EXPECT_EQ(c->GetInt("server.threads"), 8);
}

TEST(ConfigTest, ErrorsAreClear) {
  auto bad = Config::FromString("[server\nlisten=");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("line 1"), std::string::npos);

  auto missing = Config::Load("/nonexistent/tandem.toml");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);

  Config c;
  EXPECT_FALSE(c.Set("novalue").ok());
  EXPECT_FALSE(c.Set("=x").ok());
}

TEST(ConfigTest, AnUnknownKeyIsRefusedWithTheNearestKnownOne) {
  Config c;
  absl::Status st = c.Set("ads.admin_tokn=x");
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "unknown key ads.admin_tokn (did you mean ads.admin_token?)");
  EXPECT_FALSE(c.Has("ads.admin_tokn"));
  // Nothing close: no suggestion.
  EXPECT_EQ(c.Set("completely.different=1").message(), "unknown key completely.different");
  EXPECT_EQ(NearestKey("relay.limits.send.brust"), "relay.limits.send.burst");
  EXPECT_EQ(NearestKey("zzz"), "");

  // In a file, as a leaf or as a whole table.
  auto leaf = Config::FromString("[server]\nthread = 4\n");
  EXPECT_EQ(leaf.status().message(), "unknown key server.thread (did you mean server.threads?)");
  auto table = Config::FromString("[relay.limits.sned]\nburst = 4\n");
  EXPECT_EQ(table.status().message(),
            "unknown key relay.limits.sned.burst (did you mean relay.limits.send.burst?)");
}

TEST(ConfigTest, ValuesAreCheckedAgainstTheirType) {
  Config c;
  EXPECT_EQ(c.Set("server.threads=abc").message(), "server.threads must be an integer, got 'abc'");
  EXPECT_EQ(c.Set("log.json=maybe").message(), "log.json must be true or false, got 'maybe'");
  EXPECT_EQ(c.Set("ads.noise_scale=lots").message(), "ads.noise_scale must be a number, got 'lots'");
  EXPECT_EQ(c.Set("log.level=loud").message(),
            "log.level must be one of debug, info, warn, error, off, got 'loud'");
  EXPECT_EQ(c.Set("relay.code_sender=smtp").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(c.Set("ads.noise_scale=2.5").ok());
  EXPECT_DOUBLE_EQ(c.GetDouble("ads.noise_scale"), 2.5);
  auto file = Config::FromString("[server]\nthreads = \"many\"\n");
  EXPECT_EQ(file.status().message(), "server.threads must be an integer, got 'many'");
}

TEST(ConfigTest, ValuesAreCheckedAgainstTheirBounds) {
  Config c;
  EXPECT_EQ(c.Set("feed.batch=0").message(), "feed.batch must be between 1 and 5000, got 0");
  EXPECT_EQ(c.Set("feed.batch=5001").message(), "feed.batch must be between 1 and 5000, got 5001");
  EXPECT_EQ(c.Set("relay.limits.send.burst=0").message(),
            "relay.limits.send.burst must be at least 1, got 0");
  EXPECT_EQ(c.Set("ads.noise_scale=-1").message(), "ads.noise_scale must be between 0 and 1000000, got -1");
  EXPECT_TRUE(c.Set("feed.batch=5000").ok());
  EXPECT_TRUE(c.Set("relay.limits.send.burst=1").ok());
  // A refused value leaves the one before it.
  EXPECT_EQ(c.GetInt("feed.batch"), 5000);
}

TEST(ConfigTest, UnsetKeysReadAsTheSchemaDefault) {
  Config c;
  EXPECT_EQ(c.GetString("server.listen"), "127.0.0.1:8080");
  EXPECT_EQ(c.GetInt("relay.max_queue_depth"), 10000);
  EXPECT_TRUE(c.GetBool("relay.enabled"));
  EXPECT_DOUBLE_EQ(c.GetDouble("ads.size_margin"), 80);
  EXPECT_EQ(c.GetString("feed.blocked_calling_codes"), "");
  EXPECT_FALSE(c.Has("server.listen"));
}

TEST(ConfigTest, EveryValueKnowsItsSource) {
  std::string path = ::testing::TempDir() + "/config_source_test.toml";
  { std::ofstream(path) << "[server]\nthreads = 2\nlisten = \"0.0.0.0:1\"\n"; }
  auto c = Config::Load(path, {"server.threads=3"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->GetInt("server.threads"), 3);
  EXPECT_EQ(c->Source("server.threads"), "--set");
  EXPECT_EQ(c->Source("server.listen"), path);
  EXPECT_EQ(c->Source("server.data_dir"), "default");
  ASSERT_TRUE(c->Set("server.data_dir", "/tmp/x", "--data-dir").ok());
  EXPECT_EQ(c->Source("server.data_dir"), "--data-dir");

  std::ofstream(path) << "[ads]\nadmin_tokn = \"x\"\n";
  auto refused = Config::Load(path);
  EXPECT_EQ(refused.status().message(),
            absl::StrCat(path, ": unknown key ads.admin_tokn (did you mean ads.admin_token?)"));
  std::remove(path.c_str());
}

TEST(ConfigSchemaTest, EveryDefaultIsValidAndEveryKeyDescribed) {
  std::set<std::string_view> names;
  for (const KeySpec& spec : AllKeys()) {
    EXPECT_TRUE(names.insert(spec.name).second) << spec.name << " appears twice";
    EXPECT_TRUE(CheckValue(spec, spec.default_value).ok())
        << spec.name << ": " << CheckValue(spec, spec.default_value);
    EXPECT_FALSE(spec.description.empty()) << spec.name;
    EXPECT_EQ(spec.description.find('\n'), std::string_view::npos) << spec.name;
    EXPECT_EQ(FindKey(spec.name), &spec);
    if (spec.min || spec.max) {
      EXPECT_TRUE(spec.type == KeyType::kInt || spec.type == KeyType::kDouble) << spec.name;
    }
    if (!spec.choices.empty()) {
      EXPECT_EQ(spec.type, KeyType::kString) << spec.name;
    }
  }
  EXPECT_TRUE(IsSecret(*FindKey("ads.admin_token")));
  EXPECT_TRUE(IsSecret(*FindKey("feed.token")));
  EXPECT_FALSE(IsSecret(*FindKey("server.listen")));
  EXPECT_TRUE(FindKey("log.level")->runtime);
  EXPECT_FALSE(FindKey("server.listen")->runtime);
}

TEST(ConfigSchemaTest, TheReferenceListsEveryKey) {
  std::string md = ConfigurationMarkdown();
  for (const KeySpec& spec : AllKeys()) {
    EXPECT_NE(md.find(absl::StrCat("| `", std::string(spec.name), "` |")), std::string::npos) << spec.name;
  }
}

TEST(RateLimitTest, ReadsBothKeysWithTheSchemaDefaults) {
  Config c;
  RateLimit send = ReadRateLimit(c, "relay.limits.send");
  EXPECT_EQ(send.burst, 500);
  EXPECT_EQ(send.interval, absl::Milliseconds(10));
  ASSERT_TRUE(c.Set("relay.limits.send.interval_ms=250").ok());
  send = ReadRateLimit(c, "relay.limits.send");
  EXPECT_EQ(send.burst, 500);
  EXPECT_EQ(send.interval, absl::Milliseconds(250));
}

TEST(ClockTest, FakeClockMovesOnlyWhenTold) {
  FakeClock clock;
  absl::Time t0 = clock.Now();
  EXPECT_EQ(clock.Now(), t0);
  clock.Advance(absl::Minutes(10));
  EXPECT_EQ(clock.Now() - t0, absl::Minutes(10));
}

TEST(RandomTest, SeededIsRepeatableAndSecureVaries) {
  SeededRandom a(42), b(42), c(43);
  EXPECT_EQ(a.Hex(16), b.Hex(16));
  EXPECT_NE(SeededRandom(42).Hex(16), c.Hex(16));
  auto& s = SecureRandom::Instance();
  EXPECT_NE(s.Hex(16), s.Hex(16));
  std::string d = s.Digits(6);
  EXPECT_EQ(d.size(), 6u);
  for (char ch : d) EXPECT_TRUE(ch >= '0' && ch <= '9');
  std::set<uint64_t> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(a.Uniform(10));
  EXPECT_EQ(seen.size(), 10u);
}

TEST(LogTest, FormatsFieldsAsLogfmtAndJson) {
  std::string line = log::Format(log::Level::kInfo, "http.request",
                                 {{"id", "abc"}, {"status", 200}, {"path", "/a b"}}, false);
  EXPECT_NE(line.find(" info http.request id=abc status=200 path=\"/a b\""), std::string::npos) << line;
  std::string json = log::Format(log::Level::kWarn, "x", {{"n", 3}, {"s", "v"}}, true);
  EXPECT_NE(json.find("\"n\":3"), std::string::npos) << json;
  EXPECT_NE(json.find("\"s\":\"v\""), std::string::npos) << json;
}

absl::StatusOr<int> Half(int x) {
  if (x % 2) return absl::InvalidArgumentError("odd");
  return x / 2;
}
absl::StatusOr<int> Quarter(int x) {
  ASSIGN_OR_RETURN(int h, Half(x));
  ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

TEST(StatusTest, MacrosPropagate) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status().message(), "odd");
}

TEST(RateLimiterTest, RefillsOverTime) {
  FakeClock clock;
  RateLimiter limiter(clock, RateLimit{2, absl::Seconds(10)}, "things");
  EXPECT_TRUE(limiter.Take("k").ok());
  EXPECT_TRUE(limiter.Take("k").ok());
  absl::Status st = limiter.Take("k");
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(std::string(st.message()).find("too many things; try again in 10 s"), std::string::npos) << st;
  EXPECT_TRUE(limiter.Take("other").ok());
  clock.Advance(absl::Seconds(10));
  EXPECT_TRUE(limiter.Take("k").ok());
  EXPECT_FALSE(limiter.Take("k").ok());
}

TEST(RateLimiterTest, AddressWithoutPort) {
  EXPECT_EQ(AddressWithoutPort("203.0.113.9:51234"), "203.0.113.9");
  EXPECT_EQ(AddressWithoutPort("::1:51234"), "::1");
  EXPECT_EQ(AddressWithoutPort("local"), "local");
}

}  // namespace
}  // namespace tandem

#include <thread>

#include "common/encoding.h"
#include "common/worker.h"

namespace tandem {
namespace {

TEST(EncodingTest, Sha256AndBase64AndTimes) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256("abc").size(), 32u);
  EXPECT_EQ(Base64Encode(std::string_view("\x00\xff"
                                          "a",
                                          3)),
            "AP9h");
  EXPECT_EQ(*Base64Decode("AP9h"), std::string("\x00\xff"
                                               "a",
                                               3));
  EXPECT_EQ(*Base64Decode("YQ=="), "a");
  EXPECT_EQ(Base64Decode("a*b", "\"key\"").status().message(), "\"key\" must be base64");
  const absl::Time t = absl::FromUnixSeconds(1'764'601'776);  // 2025-12-01T15:09:36Z
  EXPECT_EQ(UtcDay(t), "2025-12-01");
  EXPECT_EQ(UtcTimestamp(t), "2025-12-01T15:09:36Z");
}

TEST(ClockTest, MonotonicIgnoresWallJumpsAndTimersFollowTheFakeClock) {
  FakeClock clock;
  const absl::Duration m0 = clock.Monotonic();
  clock.Set(absl::FromUnixSeconds(0));
  EXPECT_EQ(clock.Monotonic(), m0);
  clock.Advance(absl::Seconds(5));
  EXPECT_EQ(clock.Monotonic() - m0, absl::Seconds(5));

  std::mutex mu;
  std::condition_variable cv;
  std::atomic<bool> fired{false};
  std::thread waiter([&] {
    std::unique_lock<std::mutex> lock(mu);
    bool done = clock.WaitFor(lock, cv, absl::Hours(1), [] { return false; });
    fired = !done;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(fired);  // an hour of fake time has not passed
  clock.Advance(absl::Hours(1));
  waiter.join();
  EXPECT_TRUE(fired);
}

TEST(WorkerTest, RunsAtOnceThenAfterTheWaitOrWhenWoken) {
  FakeClock clock;
  std::mutex mu;
  std::condition_variable cv;
  int passes = 0;
  Worker worker("test-worker", clock, [&] {
    std::lock_guard<std::mutex> lock(mu);
    ++passes;
    cv.notify_all();
    return absl::Minutes(1);
  });
  auto await_passes = [&](int n) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] { return passes >= n; });
  };
  worker.Start();
  ASSERT_TRUE(await_passes(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(passes, 1);  // waits a minute of fake time
  }
  clock.Advance(absl::Minutes(1));
  ASSERT_TRUE(await_passes(2));
  worker.Wake();
  ASSERT_TRUE(await_passes(3));
  worker.Stop();
  EXPECT_TRUE(worker.stopping());
  EXPECT_FALSE(worker.Sleep(absl::Hours(1)));  // returns at once when stopping
}

}  // namespace
}  // namespace tandem
