// Vocabulary shared by the social network's parts: user ids, phone keys,
// purposes and provenance.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace tandem::social {

// A social account id (the database's row id; dense, starting at 1).
using UserId = uint32_t;
inline constexpr UserId kNoUser = 0;

// An E.164 number as an integer (its digits without '+'); 0 means none.
// E.164 numbers never start with 0, so the mapping is one-to-one.
using PhoneKey = uint64_t;
// 0 if `e164` is not '+' followed by 7 to 15 digits.
PhoneKey PhoneKeyFromE164(std::string_view e164);
std::string E164FromPhoneKey(PhoneKey key);

// What a fact is used for. A user can object (on the messenger) to the use
// of messenger-provided facts for kAds and kFriendSuggestions; kSecurity
// (abuse and account protection) cannot be objected to.
enum class Purpose : uint8_t { kAds = 0, kFriendSuggestions = 1, kSecurity = 2 };
inline constexpr int kPurposeCount = 3;
std::string_view PurposeName(Purpose p);
// Accepts "ads", "friend_suggestions", "security"; InvalidArgument otherwise.
absl::StatusOr<Purpose> ParsePurpose(std::string_view name);
// The purposes the feed may carry objections for.
bool IsObjectable(Purpose p);

// Where a fact came from: the social network's own users, or the messenger
// through the feed.
enum class Provenance : uint8_t { kSocial = 0, kMessenger = 1 };
std::string_view ProvenanceName(Provenance p);

// Days since 1970-01-01 for a "YYYY-MM-DD" string; InvalidArgument if
// malformed or outside 1970..2149 (the range of the 16-bit day numbers the
// index keeps).
absl::StatusOr<uint16_t> ParseDay(std::string_view text);
// The inverse of ParseDay. It formats the index's day numbers, not an
// absl::Time, which is why common/encoding.h's UtcDay does not serve here.
std::string FormatDay(uint16_t days);

}  // namespace tandem::social
