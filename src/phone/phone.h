// Phone numbers: parsing and normalization to E.164 with libphonenumber, the
// reasons a number is rejected, and the customer-list hash advertisers use.
//
// Thread safety: free functions are thread-safe (libphonenumber's util is).
// A PhoneHasher owns an OpenSSL context and must be used by one thread at a
// time; batch functions make one per worker thread.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace tandem::phone {

// Why a number was rejected. kOk means it was accepted.
enum class Reason {
  kOk = 0,
  kEmpty,             // nothing but whitespace
  kNotANumber,        // letters or symbols where digits belong
  kUnknownRegion,     // no country code and no (or an unknown) region hint
  kTooShort,          // too few digits for any number in its region
  kTooLong,           // too many digits for any number in its region
  kInvalidLength,     // a length no number of its region has
  kInvalidForRegion,  // the right length, but no such number is allocated
  kRegionHint,        // the region hint itself is not a known region code
};

// A short stable code ("too_short") for CSV columns and API errors.
std::string_view ReasonCode(Reason r);
// A sentence a person understands ("too few digits for a phone number").
std::string_view ReasonText(Reason r);

struct Parsed {
  Reason reason = Reason::kOk;
  std::string e164;  // "+14155550123" when reason == kOk
};

// No phone number in any written form needs more characters or digits than
// these ("+1 (415) 555-0123" has 17 characters and 11 digits; E.164 allows
// 15 digits, plus "00" for the international prefix). Longer input is
// kTooLong before libphonenumber sees it: its cost grows faster than
// linearly with the length of what it is given.
inline constexpr size_t kMaxInputChars = 64;
inline constexpr size_t kMaxInputDigits = 17;

// Parses `input` (any common formatting: spaces, dashes, dots, brackets,
// leading "+" or "00", national trunk prefix) with an optional ISO 3166
// region hint such as "US" or "de" (empty: the input must be international).
// Input beyond kMaxInputChars or kMaxInputDigits is kTooLong at a cost
// linear in its length.
Parsed Parse(std::string_view input, std::string_view region_hint = {});

// Parse() as a Status: InvalidArgument with ReasonText on rejection.
absl::StatusOr<std::string> Normalize(std::string_view input, std::string_view region_hint = {});

// The region a valid E.164 number belongs to ("US"; "001" for
// non-geographic numbers; "" if unknown). Costs about as much as a Parse.
std::string RegionOf(std::string_view e164);

// True if `region` is a region code libphonenumber knows (case-insensitive).
bool IsKnownRegion(std::string_view region);

// True if `digits` ("1", "44", "353") is a country calling code in use,
// geographic or not. Calling codes are prefix-free: "35" is none.
bool IsCallingCode(std::string_view digits);

// Whether `s` is an E.164 string: '+' then 7 to 15 digits (no validity check;
// the shortest numbers in service, e.g. in Niue or Germany, have 7 digits).
bool LooksLikeE164(std::string_view s);

using Digest = std::array<uint8_t, 32>;

// SHA-256 over the E.164 digits without '+', the customer-list convention.
class PhoneHasher {
 public:
  PhoneHasher();
  ~PhoneHasher();
  PhoneHasher(const PhoneHasher&) = delete;
  PhoneHasher& operator=(const PhoneHasher&) = delete;

  // `e164` may carry a leading '+', which is skipped. No validation.
  Digest Hash(std::string_view e164);
  // Lowercase hex of Hash(), 64 characters.
  std::string HexHash(std::string_view e164);

 private:
  void* ctx_;  // EVP_MD_CTX, reused for every hash
  void* md_;   // EVP_MD, fetched once
};

std::string ToHex(const Digest& d);
// Parses 64 hex digits (either case); false if malformed.
bool FromHex(std::string_view hex, Digest* out);

// One row's outcome in the batch API: `value` is the E.164 number or the hex
// hash when reason == kOk.
struct RowResult {
  Reason reason = Reason::kOk;
  std::string value;
};

// Normalizes many rows on `threads` worker threads (0: all cores).
std::vector<RowResult> NormalizeBatch(std::span<const std::string_view> inputs, std::string_view region_hint,
                                      unsigned threads = 0);
// Normalizes, then hashes the accepted rows.
std::vector<RowResult> NormalizeAndHashBatch(std::span<const std::string_view> inputs,
                                             std::string_view region_hint, unsigned threads = 0);
// Hashes already-normalized E.164 rows; rows that do not look like E.164 are
// rejected with kNotANumber. `out` is resized to inputs.size().
void HashNormalizedBatch(std::span<const std::string_view> inputs, std::vector<Digest>* out,
                         std::vector<Reason>* reasons, unsigned threads = 0);

// Test hook: how many times libphonenumber's parser has been called by this
// process.
uint64_t TEST_LibraryParseCalls();

}  // namespace tandem::phone
