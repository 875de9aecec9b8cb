// Minimal CSV (RFC 4180 fields on one line): quoted fields, doubled quotes.
// Enough for customer lists and command-line tools; a field may not contain
// a line break.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace tandem {

// Splits one line (without its line break; a trailing '\r' is ignored).
// InvalidArgument for an unterminated quote or text after a closing quote.
absl::Status ParseCsvLine(std::string_view line, std::vector<std::string>* fields);

// Quotes the field if it contains a comma, quote or whitespace at its ends.
std::string CsvField(std::string_view field);

}  // namespace tandem
