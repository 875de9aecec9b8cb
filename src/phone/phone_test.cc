#include "phone/phone.h"

#include <gtest/gtest.h>
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <set>

namespace tandem::phone {
namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

TEST(PhoneTest, EveryRegionsExampleNumbersRoundTrip) {
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  std::set<std::string> regions;
  util.GetSupportedRegions(&regions);
  ASSERT_GT(regions.size(), 200u);
  const PhoneNumberUtil::PhoneNumberType kTypes[] = {PhoneNumberUtil::FIXED_LINE, PhoneNumberUtil::MOBILE,
                                                     PhoneNumberUtil::TOLL_FREE, PhoneNumberUtil::VOIP,
                                                     PhoneNumberUtil::PERSONAL_NUMBER};
  int checked = 0;
  for (const std::string& region : regions) {
    for (auto type : kTypes) {
      PhoneNumber example;
      if (!util.GetExampleNumberForType(region, type, &example)) continue;
      std::string e164, international, national;
      util.Format(example, PhoneNumberUtil::E164, &e164);
      util.Format(example, PhoneNumberUtil::INTERNATIONAL, &international);
      util.Format(example, PhoneNumberUtil::NATIONAL, &national);
      // E.164 is a fixed point; the international form needs no hint.
      EXPECT_EQ(Normalize(e164).value_or("rejected"), e164) << region;
      EXPECT_TRUE(LooksLikeE164(e164)) << e164;
      EXPECT_EQ(Normalize(international).value_or("rejected"), e164) << region << " " << international;
      // The national form needs the region hint, and lower case hints work.
      EXPECT_EQ(Normalize(national, region).value_or("rejected"), e164) << region << " " << national;
      ++checked;
    }
  }
  EXPECT_GT(checked, 500);
}

TEST(PhoneTest, OddlyFormattedInputs) {
  const std::string us = "+14155550123";
  for (const char* in : {"+1 415 555 0123", "+1 (415) 555-0123", "001 415 555 0123", "  +1.415.555.0123 ",
                         "+1-415-555-0123", "0014155550123"}) {
    EXPECT_EQ(Normalize(in).value_or("rejected"), us) << in;
  }
  for (const char* in : {"(415) 555-0123", "415-555-0123", "4155550123", "1 415 555 0123"}) {
    EXPECT_EQ(Normalize(in, "US").value_or("rejected"), us) << in;
    EXPECT_EQ(Normalize(in, "us").value_or("rejected"), us) << in;
  }
  // German mobile with trunk 0, international 00 and a hint from elsewhere.
  const std::string de = "+491701234567";
  EXPECT_EQ(Normalize("0170 1234567", "DE").value_or("rejected"), de);
  EXPECT_EQ(Normalize("0049 170 1234567", "DE").value_or("rejected"), de);
  EXPECT_EQ(Normalize("0049 170 1234567").value_or("rejected"), de);
  EXPECT_EQ(Normalize("+49 (0)170 1234567").value_or("rejected"), de);
  EXPECT_EQ(Normalize("+49 170 1234567", "US").value_or("rejected"), de);
  // UK mobile.
  EXPECT_EQ(Normalize("07911 123456", "GB").value_or("rejected"), "+447911123456");
}

TEST(PhoneTest, RejectionsSayWhy) {
  EXPECT_EQ(Parse("").reason, Reason::kEmpty);
  EXPECT_EQ(Parse("   ").reason, Reason::kEmpty);
  EXPECT_EQ(Parse("hello").reason, Reason::kNotANumber);
  EXPECT_EQ(Parse("+1 415 555 0123 ext 5").reason, Reason::kNotANumber);
  EXPECT_EQ(Parse("12+34").reason, Reason::kNotANumber);
  EXPECT_EQ(Parse("4155550123").reason, Reason::kUnknownRegion);  // no hint
  EXPECT_EQ(Parse("+999 1234567").reason, Reason::kUnknownRegion);
  EXPECT_EQ(Parse("4155550123", "XX").reason, Reason::kRegionHint);
  EXPECT_NE(Parse("030 12", "DE").reason, Reason::kOk);  // a fragment parses but is invalid
  EXPECT_EQ(Parse("+1 415", "").reason, Reason::kTooShort);
  EXPECT_EQ(Parse("+1 415 555 01234567", "").reason, Reason::kTooLong);
  Reason invalid = Parse("+1 999 555 0123").reason;  // no area code 999
  EXPECT_TRUE(invalid == Reason::kInvalidForRegion || invalid == Reason::kInvalidLength)
      << ReasonCode(invalid);
  // Longer than E.164 allows, although libphonenumber's metadata accepts it.
  EXPECT_EQ(Parse("333333333333332", "DE").reason, Reason::kTooLong);
  // Short but valid numbers stay valid and look like E.164.
  auto short_de = Parse("30742", "DE");
  ASSERT_EQ(short_de.reason, Reason::kOk);
  EXPECT_EQ(short_de.e164, "+4930742");
  EXPECT_TRUE(LooksLikeE164(short_de.e164));
  auto st = Normalize("+1 415");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.status().message().find("too few digits"), std::string::npos);
}

// libphonenumber's cost grows faster than linearly with its input (10,000
// digits took seconds): over-long input must be refused before it.
TEST(PhoneTest, OverLongInputIsRefusedWithoutCallingTheLibrary) {
  const std::string megabyte(1 << 20, '1');
  const std::string spaced = "+1 " + std::string(200, ' ') + "415 555 0123";
  const std::string many_digits = "+" + std::string(18, '4');
  const std::string long_text = "+1 415 555 0123" + std::string(60, '-');
  uint64_t before = TEST_LibraryParseCalls();
  for (const std::string* input : {&megabyte, &spaced, &many_digits, &long_text}) {
    EXPECT_EQ(Parse(*input).reason, Reason::kTooLong) << input->substr(0, 40);
    EXPECT_EQ(Parse(*input, "US").reason, Reason::kTooLong);
  }
  EXPECT_EQ(TEST_LibraryParseCalls(), before);
  auto st = Normalize(megabyte);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<std::string_view> rows(1000, megabyte);
  for (const RowResult& r : NormalizeAndHashBatch(rows, "US")) EXPECT_EQ(r.reason, Reason::kTooLong);
  EXPECT_EQ(TEST_LibraryParseCalls(), before);
  EXPECT_EQ(RegionOf(megabyte), "");
  // The longest ordinary forms still parse: "00" plus 15 digits, and
  // generous formatting within the character limit.
  EXPECT_EQ(Parse("00 44 20 7946 0958").e164, "+442079460958");
  EXPECT_EQ(Parse("  +1 (415) 555 - 0123   ").e164, "+14155550123");
  EXPECT_GT(TEST_LibraryParseCalls(), before);
}

TEST(PhoneTest, RegionHintMatters) {
  // A US number read with a German hint must not turn into a German number
  // that happens to be valid with a different meaning.
  EXPECT_NE(Parse("(201) 555-0123", "DE").e164, "+12015550123");
  EXPECT_EQ(Parse("(201) 555-0123", "US").e164, "+12015550123");
  EXPECT_EQ(RegionOf("+12015550123"), "US");
  EXPECT_EQ(RegionOf("+491701234567"), "DE");
}

TEST(PhoneTest, HashKnownAnswers) {
  PhoneHasher h;
  // Independent answers from coreutils' sha256sum over the digits.
  EXPECT_EQ(h.HexHash("+14155550123"), "413ba75461ab5f99d36820e561ea97e2bd80f9cb586f7ecea6cf4c496518950a");
  EXPECT_EQ(h.HexHash("14155550123"), "413ba75461ab5f99d36820e561ea97e2bd80f9cb586f7ecea6cf4c496518950a");
  EXPECT_EQ(h.HexHash("+491701234567"), "8b47a52ed04d068c3a9c5632b98cec18780a9f9f4099d4f8afe233970ce116fe");
  EXPECT_EQ(h.HexHash("+447911123456"), "40b5c38342a9c584ec707e8679b003f8c779c6aaa138c976ef94e049cc05208f");
  // FIPS 180-2 "abc" vector: the context is reset between calls.
  EXPECT_EQ(h.HexHash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Digest d;
  ASSERT_TRUE(FromHex("413BA75461AB5F99D36820E561EA97E2BD80F9CB586F7ECEA6CF4C496518950A", &d));
  EXPECT_EQ(d, h.Hash("+14155550123"));
  EXPECT_FALSE(FromHex("413b", &d));
  EXPECT_FALSE(FromHex(std::string(64, 'g'), &d));
}

TEST(PhoneTest, BatchesAgreeWithSingleRows) {
  std::vector<std::string> rows;
  for (int i = 0; i < 20000; ++i) {
    rows.push_back(i % 7 == 0 ? "garbage" : "+1 415 555 " + std::to_string(1000 + i % 9000));
  }
  std::vector<std::string_view> views(rows.begin(), rows.end());
  auto normalized = NormalizeBatch(views, "US", 2);
  auto hashed = NormalizeAndHashBatch(views, "US", 2);
  PhoneHasher h;
  int invalid = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    Parsed p = Parse(rows[i], "US");
    ASSERT_EQ(normalized[i].reason, p.reason);
    if (p.reason != Reason::kOk) {
      ++invalid;
      continue;
    }
    EXPECT_EQ(normalized[i].value, p.e164);
    EXPECT_EQ(hashed[i].value, h.HexHash(p.e164));
  }
  EXPECT_EQ(invalid, (20000 + 6) / 7);

  std::vector<std::string_view> e164s = {"+14155550123", "14155550123", "+1415", "+491701234567"};
  std::vector<Digest> digests;
  std::vector<Reason> reasons;
  HashNormalizedBatch(e164s, &digests, &reasons);
  EXPECT_EQ(ToHex(digests[0]), h.HexHash("+14155550123"));
  EXPECT_EQ(reasons[1], Reason::kNotANumber);
  EXPECT_EQ(reasons[2], Reason::kNotANumber);
  EXPECT_EQ(ToHex(digests[3]), h.HexHash("+491701234567"));
}

}  // namespace
}  // namespace tandem::phone
