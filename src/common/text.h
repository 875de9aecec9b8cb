// Validation of text that people see: names, titles, posts and links that
// one party writes and the service shows to others (advertisers' creatives
// to social users, display names and posts to friends). One validator for
// every such field, applied where the field enters the service, so the
// HTTP API and the command line refuse the same things with the same words.
//
// Text must be valid UTF-8 without control characters: no C0 controls
// (U+0000-U+001F, except LF and TAB in multi-line fields), no DEL or C1
// controls (U+007F-U+009F), no Unicode line or paragraph separators
// (U+2028, U+2029) and no bidirectional embeddings, overrides or isolates
// (U+202A-U+202E, U+2066-U+2069), which can make a text display as
// something else than it says. Lengths are counted in bytes.
//
// A link must be an absolute http or https URL with a valid host (a DNS
// name of at least two labels, an IPv4 address or a bracketed IPv6
// address), an optional port, no user information, and only printable
// ASCII characters allowed in a URL: no spaces or control characters, no
// quotes, angle brackets, backslashes or other characters that need
// percent-encoding, and well-formed percent escapes.
//
// Every refusal is InvalidArgument whose message names the field and says
// what is wrong and where (a byte offset into the value).
#pragma once

#include <cstddef>
#include <string_view>

#include "common/status.h"

namespace tandem {

struct TextRules {
  size_t min_bytes = 1;
  size_t max_bytes = 200;
  // Allows LF (line breaks) and TAB; CR is refused even here.
  bool multiline = false;
};

// `field` is the name the caller knows the value by (e.g. "title").
absl::Status ValidateText(std::string_view field, std::string_view value, const TextRules& rules);

// A single-line text of 1 to `max_bytes` bytes.
inline absl::Status ValidateText(std::string_view field, std::string_view value, size_t max_bytes) {
  return ValidateText(field, value, TextRules{1, max_bytes, false});
}

inline constexpr size_t kMaxUrlBytes = 2000;

absl::Status ValidateUrl(std::string_view field, std::string_view value, size_t max_bytes = kMaxUrlBytes);

}  // namespace tandem
