// Address books as users upload them: parsing of the upload request and of
// the contact files the CLI reads, and normalization of each row.
//
// An address book is the uploader's own data (provenance kSocial). Only the
// normalized numbers are kept; names and other columns are never stored.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "social/types.h"

namespace tandem::social {

inline constexpr size_t kMaxAddressBookEntries = 10000;

// The body of PUT /v1/social/address-book:
//   {"region": "US", "entries": ["(415) 555-0123", "+49 30 1234567", ...]}
struct AddressBookUpload {
  std::string region;  // ISO region for numbers without a country code; may be empty
  std::vector<std::string> entries;
};
// InvalidArgument when the body is not such an object, an entry is not a
// string (or longer than 64 bytes), there are more than
// kMaxAddressBookEntries entries, or the region is unknown.
absl::StatusOr<AddressBookUpload> ParseAddressBookUpload(std::string_view body);

struct RejectedRow {
  size_t index = 0;     // 0-based position in the entries
  std::string reason;   // phone::ReasonCode, e.g. "too_short"
  std::string message;  // phone::ReasonText
};

struct NormalizedAddressBook {
  std::vector<PhoneKey> phones;  // sorted, unique
  std::vector<RejectedRow> rejected;
};
NormalizedAddressBook NormalizeAddressBook(const AddressBookUpload& upload);

// One number read from a contacts file, with its 1-based line number.
struct ContactLine {
  size_t line = 0;
  std::string number;
};
struct ContactFile {
  std::vector<ContactLine> numbers;
  std::vector<std::pair<size_t, std::string>> errors;  // line, problem
};
// Reads a contacts file: one number per line, or CSV with the number in
// `column` (0-based) or, if `header` and `column_name` is given, in the
// column with that name. Empty lines are skipped. A malformed line is an
// error for that line only; a missing named column fails the whole file.
absl::StatusOr<ContactFile> ParseContactFile(std::string_view text, bool header, size_t column,
                                             std::string_view column_name = {});

}  // namespace tandem::social
