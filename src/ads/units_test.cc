// Unit tests of the ads platform's building blocks: the match index, size
// reports and their noise, and the hash decoder of uploaded rows.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "ads/match_index.h"
#include "ads/size_report.h"
#include "ads/upload.h"
#include "common/random.h"

namespace tandem::ads {
namespace {

TEST(MatchIndexTest, FindsEveryKeyAndNothingElse) {
  std::vector<MatchIndex::Entry> entries;
  SeededRandom r(7);
  for (uint32_t u = 1; u <= 50'000; ++u) entries.push_back({r.NextU64() | 1, u});
  MatchIndex index = MatchIndex::Build(entries);
  EXPECT_EQ(index.size(), entries.size());
  EXPECT_LE(index.memory_bytes(), entries.size() * 16);
  std::vector<uint64_t> keys;
  for (const auto& e : entries) keys.push_back(e.key);
  for (int i = 0; i < 1000; ++i) keys.push_back(r.NextU64() | 1);
  std::vector<uint32_t> out(keys.size());
  index.LookupBatch(keys, out);
  for (size_t i = 0; i < entries.size(); ++i) ASSERT_EQ(out[i], entries[i].user);
  for (size_t i = entries.size(); i < keys.size(); ++i) EXPECT_EQ(out[i], 0u);
  EXPECT_EQ(MatchIndex().Lookup(5), 0u);
}

TEST(SizeReportTest, TwoSignificantDigitsAndThreshold) {
  SizePolicy p;
  p.noise_scale = 0;
  p.margin = 0;
  EXPECT_EQ(ReportSize(99, 0, p).text, "too small to target");
  EXPECT_FALSE(ReportSize(99, 0, p).targetable);
  EXPECT_FALSE(ReportSize(99, 500, p).targetable);  // the true count rules
  EXPECT_EQ(ReportSize(100, 0, p).text, "100 to 110");
  EXPECT_EQ(ReportSize(1234, 0, p).text, "1,200 to 1,300");
  EXPECT_EQ(ReportSize(98765, 0, p).text, "98,000 to 99,000");
  p.margin = 80;
  EXPECT_FALSE(ReportSize(150, 0, p).targetable);
  EXPECT_TRUE(ReportSize(181, 0, p).targetable);
  // Noise is fixed per version and differs between versions.
  EXPECT_EQ(VersionNoise("k", 1, 2, 10), VersionNoise("k", 1, 2, 10));
  EXPECT_NE(VersionNoise("k", 1, 2, 10), VersionNoise("k", 1, 3, 10));
  double sum = 0, abs_sum = 0;
  for (int v = 0; v < 4000; ++v) {
    double n = VersionNoise("k", 9, v, 10);
    sum += n;
    abs_sum += std::fabs(n);
  }
  EXPECT_NEAR(sum / 4000, 0, 1.0);
  EXPECT_NEAR(abs_sum / 4000, 10, 1.0);  // E|Laplace(b)| = b
}

// The noise reaches the report: the same true size shows as different
// ranges across versions, and sizes that differ by one are reported alike
// about as often as each is reported at all.
TEST(SizeReportTest, ReportsCarryTheNoise) {
  SizePolicy p;  // the defaults: scale 10, margin 80, minimum 100
  std::map<std::string, int> seen_255, seen_256;
  int same = 0;
  for (int v = 1; v <= 400; ++v) {
    double noise = VersionNoise("k", 5, v, p.noise_scale);
    std::string a = ReportSize(255, noise, p).text, b = ReportSize(256, noise, p).text;
    ++seen_255[a];
    ++seen_256[b];
    same += a == b;
  }
  EXPECT_GE(seen_255.size(), 3u);  // without noise: one range, "250 to 260", every time
  EXPECT_LT(seen_255["250 to 260"], 300);
  EXPECT_GT(same, 340);  // one person rarely moves a noisy size across a boundary
  // A true size of 100 with noise often falls short of min_size + margin.
  int targetable = 0;
  for (int v = 1; v <= 400; ++v)
    targetable += ReportSize(185, VersionNoise("k", 6, v, p.noise_scale), p).targetable;
  EXPECT_GT(targetable, 100);
  EXPECT_LT(targetable, 390);
}

// The word-at-a-time decoder must agree with the plain definition for every
// byte value in every position.
TEST(DecodeHashTest, AgreesWithThePlainDefinition) {
  auto reference = [](std::string_view s, phone::Digest* out) {
    if (s.size() != 64) return false;
    auto nibble = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    for (size_t i = 0; i < 32; ++i) {
      int hi = nibble(s[2 * i]), lo = nibble(s[2 * i + 1]);
      if (hi < 0 || lo < 0) return false;
      (*out)[i] = static_cast<uint8_t>(hi << 4 | lo);
    }
    return true;
  };
  SeededRandom random(9);
  const std::string kHex = "0123456789abcdef";
  for (int round = 0; round < 50; ++round) {
    std::string s(64, '0');
    for (char& c : s) c = kHex[random.Uniform(16)];
    phone::Digest want{};
    ASSERT_TRUE(reference(s, &want));
    auto got = DecodeLowerHexSha256(s);
    ASSERT_TRUE(got.ok());
    ASSERT_EQ(*got, want) << s;
    got = DecodeLowerHexSha256Portable(s);
    ASSERT_TRUE(got.ok());
    ASSERT_EQ(*got, want) << s;
    // Every byte value at a rotating position: accepted exactly when the
    // definition accepts it, with the same digest.
    const size_t pos = static_cast<size_t>(round) % 64;
    for (int b = 0; b < 256; ++b) {
      std::string t = s;
      t[pos] = static_cast<char>(b);
      phone::Digest r{};
      bool ok_ref = reference(t, &r);
      auto g = DecodeLowerHexSha256(t);
      ASSERT_EQ(g.ok(), ok_ref) << "byte " << b << " at " << pos;
      if (g.ok()) {
        ASSERT_EQ(*g, r);
      }
      auto p = DecodeLowerHexSha256Portable(t);
      ASSERT_EQ(p.ok(), ok_ref) << "portable: byte " << b << " at " << pos;
      if (ok_ref) {
        ASSERT_EQ(*p, r);
      }
    }
  }
  EXPECT_FALSE(DecodeLowerHexSha256(std::string(63, 'a')).ok());
  EXPECT_FALSE(DecodeLowerHexSha256(std::string(64, 'A')).ok());
  EXPECT_FALSE(DecodeLowerHexSha256Portable(std::string(64, 'A')).ok());
}

}  // namespace
}  // namespace tandem::ads
