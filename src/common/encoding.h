// Encodings written in more than one place: SHA-256 digests, base64 (the
// relay's wire format and the client's), and the day and time formats of
// stored rows, logs and CLI output. One definition each, so both ends of a
// format agree.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace tandem {

// SHA-256 of `data`: 32 raw bytes, or 64 lowercase hex digits.
std::string Sha256(std::string_view data);
std::string Sha256Hex(std::string_view data);

// Standard base64 (RFC 4648 §4): written with padding, read with or
// without it.
std::string Base64Encode(std::string_view bytes);
std::string Base64Encode(std::span<const uint8_t> bytes);
// InvalidArgument "<what> must be base64" for anything else.
absl::StatusOr<std::string> Base64Decode(std::string_view text, std::string_view what = "value");

// "2026-12-01": the UTC day of `t`, the unit of usage rows and summaries.
std::string UtcDay(absl::Time t);
// "2026-12-01T15:09:36Z": RFC 3339 in UTC, to the second, for APIs and files.
std::string UtcTimestamp(absl::Time t);
// "2026-12-01 16:09:36 CET": the local time zone, for people.
std::string LocalTimestamp(absl::Time t);

}  // namespace tandem
