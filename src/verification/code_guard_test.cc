#include "verification/code_guard.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"

namespace tandem::verification {
namespace {

TEST(CodeGuard, AddressTokensAreSharedAcrossPortsAndTakenFirst) {
  FakeClock clock;
  Limits limits;
  limits.codes_per_address = {2, absl::Minutes(1)};
  CodeGuard guard(clock, limits);
  EXPECT_TRUE(guard.AdmitCodeRequest("198.51.100.1:1000").ok());
  EXPECT_TRUE(guard.AdmitCodeRequest("198.51.100.1:1001").ok());
  absl::Status st = guard.AdmitCodeRequest("198.51.100.1:1002");
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(std::string(st.message()).find("from this address; try again in 60 s"), std::string::npos) << st;
  EXPECT_TRUE(guard.AdmitCodeRequest("198.51.100.2:1000").ok());
}

TEST(CodeGuard, RangesAndNumbers) {
  FakeClock clock;
  Limits limits;
  limits.codes_per_prefix = {2, absl::Minutes(1)};
  limits.codes_per_number = {1, absl::Minutes(10)};
  CodeGuard guard(clock, limits);
  EXPECT_EQ(NumberPrefix("+14155550123"), "+1415555");
  EXPECT_TRUE(guard.AdmitCodeFor("+14155550123").ok());
  EXPECT_NE(std::string(guard.AdmitCodeFor("+14155550123").message()).find("for this number"),
            std::string::npos);
  // The refused request above spent the range's second token.
  EXPECT_NE(std::string(guard.AdmitCodeFor("+14155550124").message()).find("in this range"),
            std::string::npos);
  EXPECT_TRUE(guard.AdmitCodeFor("+14155560124").ok());
}

TEST(CodeGuard, GuessesPerNumberIgnoreHowManyCodesWereIssued) {
  FakeClock clock;
  Limits limits;
  limits.guesses_per_number = {3, absl::Hours(1)};
  CodeGuard guard(clock, limits);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(guard.AdmitGuess("+14155550123").ok());
  }
  EXPECT_EQ(guard.AdmitGuess("+14155550123").code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(guard.AdmitGuess("+14155550124").ok());
  clock.Advance(absl::Hours(1));
  EXPECT_TRUE(guard.AdmitGuess("+14155550123").ok());
}

TEST(CodeGuard, LimitsFromConfig) {
  auto config = Config::FromString(
      "[social.limits.codes_per_address]\nburst = 5\ninterval_ms = 1000\n"
      "[social.limits.verifies_per_number]\nburst = 4\n");
  ASSERT_TRUE(config.ok()) << config.status();
  Limits limits = Limits::FromConfig(*config, "social.limits");
  EXPECT_EQ(limits.codes_per_address.burst, 5);
  EXPECT_EQ(limits.codes_per_address.interval, absl::Seconds(1));
  EXPECT_EQ(limits.guesses_per_number.burst, 4);
  EXPECT_EQ(limits.guesses_per_number.interval, absl::Hours(1));
  auto bad = Config::FromString("[relay.limits.codes_per_number]\nburst = 0\n");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
}

// Limits{} is what tests construct directly; the relay's defaults are the
// configuration schema's, and the two must not drift apart.
TEST(CodeGuard, DefaultLimitsAreTheRelaysConfiguredDefaults) {
  Limits configured = Limits::FromConfig(Config(), "relay.limits");
  Limits defaults;
  for (auto member : {&Limits::codes_per_address, &Limits::codes_per_prefix, &Limits::codes_per_number,
                      &Limits::checks_per_address, &Limits::guesses_per_number}) {
    EXPECT_EQ((configured.*member).burst, (defaults.*member).burst);
    EXPECT_EQ((configured.*member).interval, (defaults.*member).interval);
  }
}

TEST(CodeHash, DependsOnNumberAndCode) {
  EXPECT_EQ(CodeHash("+14155550123", "123456").size(), 32u);
  EXPECT_TRUE(SameHash(CodeHash("+14155550123", "123456"), CodeHash("+14155550123", "123456")));
  EXPECT_FALSE(SameHash(CodeHash("+14155550123", "123456"), CodeHash("+14155550124", "123456")));
  EXPECT_FALSE(SameHash(CodeHash("+14155550123", "123456"), CodeHash("+14155550123", "123457")));
  EXPECT_FALSE(SameHash("abc", "ab"));
}

}  // namespace
}  // namespace tandem::verification
