#include <gtest/gtest.h>

#include <set>

#include "common/clock.h"
#include "common/config.h"
#include "common/log.h"
#include "common/random.h"
#include "common/rate_limiter.h"
#include "common/status.h"

namespace tandem {
namespace {

TEST(ConfigTest, FileValuesAndOverrides) {
  auto c = Config::FromString("[server]\nlisten = \"127.0.0.1:8080\"\nthreads = 4\n[log]\njson = true\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->GetString("server.listen", ""), "127.0.0.1:8080");
  EXPECT_EQ(*c->GetInt("server.threads", 1), 4);
  EXPECT_TRUE(*c->GetBool("log.json", false));
  ASSERT_TRUE(c->Set("server.threads=8").ok());
  EXPECT_EQ(*c->GetInt("server.threads", 1), 8);
  EXPECT_EQ(*c->GetInt("missing", 7), 7);
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
  ASSERT_TRUE(c.Set("n=abc").ok());
  EXPECT_FALSE(c.GetInt("n", 0).ok());
  EXPECT_FALSE(c.GetBool("n", false).ok());
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

#include "common/csv.h"

namespace tandem {
namespace {

TEST(CsvTest, SplitsQuotedFields) {
  std::vector<std::string> f;
  ASSERT_TRUE(ParseCsvLine("a,\"b,c\",\"d \"\"q\"\"\",,e\r", &f).ok());
  ASSERT_EQ(f.size(), 5u);
  EXPECT_EQ(f[1], "b,c");
  EXPECT_EQ(f[2], "d \"q\"");
  EXPECT_EQ(f[3], "");
  EXPECT_EQ(f[4], "e");
  ASSERT_TRUE(ParseCsvLine("", &f).ok());
  EXPECT_EQ(f.size(), 1u);
  EXPECT_FALSE(ParseCsvLine("\"open", &f).ok());
  EXPECT_FALSE(ParseCsvLine("\"a\"b,c", &f).ok());
  EXPECT_EQ(CsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvField("plain"), "plain");
  std::vector<std::string> back;
  ASSERT_TRUE(ParseCsvLine(CsvField("x\"y,z") + "," + CsvField("w"), &back).ok());
  EXPECT_EQ(back[0], "x\"y,z");
}

}  // namespace
}  // namespace tandem
