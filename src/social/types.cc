// Conversions for the social vocabulary types.
#include "social/types.h"

#include "absl/time/civil_time.h"

namespace tandem::social {

PhoneKey PhoneKeyFromE164(std::string_view e164) {
  if (e164.size() < 8 || e164.size() > 16 || e164[0] != '+' || e164[1] == '0') return 0;
  PhoneKey key = 0;
  for (char c : e164.substr(1)) {
    if (c < '0' || c > '9') return 0;
    key = key * 10 + static_cast<PhoneKey>(c - '0');
  }
  return key;
}

std::string E164FromPhoneKey(PhoneKey key) { return key == 0 ? std::string() : "+" + std::to_string(key); }

std::string_view PurposeName(Purpose p) {
  switch (p) {
    case Purpose::kAds:
      return "ads";
    case Purpose::kFriendSuggestions:
      return "friend_suggestions";
    case Purpose::kSecurity:
      return "security";
  }
  return "unknown";
}

absl::StatusOr<Purpose> ParsePurpose(std::string_view name) {
  for (Purpose p : {Purpose::kAds, Purpose::kFriendSuggestions, Purpose::kSecurity}) {
    if (name == PurposeName(p)) return p;
  }
  return absl::InvalidArgumentError("purpose must be ads, friend_suggestions or security");
}

bool IsObjectable(Purpose p) { return p == Purpose::kAds || p == Purpose::kFriendSuggestions; }

std::string_view ProvenanceName(Provenance p) { return p == Provenance::kSocial ? "social" : "messenger"; }

absl::StatusOr<uint16_t> ParseDay(std::string_view text) {
  const absl::Status bad = absl::InvalidArgumentError("a day must be YYYY-MM-DD, 1970 to 2149");
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return bad;
  int parts[3] = {0, 0, 0};
  size_t starts[3] = {0, 5, 8}, lens[3] = {4, 2, 2};
  for (int i = 0; i < 3; ++i) {
    for (size_t j = starts[i]; j < starts[i] + lens[i]; ++j) {
      if (text[j] < '0' || text[j] > '9') return bad;
      parts[i] = parts[i] * 10 + (text[j] - '0');
    }
  }
  absl::CivilDay day(parts[0], parts[1], parts[2]);
  // CivilDay normalizes out-of-range fields (Feb 30 -> Mar 2): reject those.
  if (day.year() != parts[0] || day.month() != parts[1] || day.day() != parts[2]) return bad;
  int64_t n = day - absl::CivilDay(1970, 1, 1);
  if (n < 0 || n > 65535) return bad;
  return static_cast<uint16_t>(n);
}

std::string FormatDay(uint16_t days) {
  absl::CivilDay day = absl::CivilDay(1970, 1, 1) + days;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", static_cast<int>(day.year()), day.month(), day.day());
  return buf;
}

}  // namespace tandem::social
