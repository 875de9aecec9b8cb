// Minimal CSV (RFC 4180 fields on one line): quoted fields, doubled quotes.
// Enough for customer lists and command-line tools; a field may not contain
// a line break.
//
// Most readers want one thing from such a file: the phone numbers in one
// column. CsvColumn says which column (the `--column` option of every
// command that reads such files), and CsvColumnReader gives each line's cell
// or the reason it has none, by line number.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace tandem {

// Splits one line (without its line break; a trailing '\r' is ignored).
// InvalidArgument for an unterminated quote or text after a closing quote.
absl::StatusOr<std::vector<std::string>> ParseCsvLine(std::string_view line);
// The same into `fields`, reusing its storage between lines (what
// CsvColumnReader does). Callers read files through CsvColumnReader or
// ReadCsvColumn.
absl::Status ParseCsvLine(std::string_view line, std::vector<std::string>* fields);

// Quotes the field if it contains a comma, quote or whitespace at its ends.
std::string CsvField(std::string_view field);

// Which column of a file holds the values.
struct CsvColumn {
  size_t index = 0;     // 0-based; used when `name` is empty
  std::string name;     // the column's name in the header line
  bool header = false;  // the first line is a header (always when `name` is set)

  // Reads a `--column` option: "" is the first column, a number the column
  // counted from 1, anything else a name in the header (which implies
  // `header`). InvalidArgument "--column counts from 1" for 0 or less.
  static absl::StatusOr<CsvColumn> Parse(std::string_view option, bool header);
};

// A line's cell, or why it has none.
struct CsvCell {
  size_t line = 0;  // 1-based
  // The cell as written (unquoted, not trimmed). InvalidArgument
  // "malformed CSV: <why>" for a line that is not CSV, OutOfRange
  // "has no column <N>" for a line with too few fields.
  absl::StatusOr<std::string> value;
};

// Reads one column of a file fed line by line. A trailing '\r' is ignored,
// blank lines are skipped, and so is the header line (read first, to find a
// named column). Not thread-safe; one reader per file.
class CsvColumnReader {
 public:
  // `whitespace_is_blank`: a line of only spaces and tabs is blank too
  // (otherwise it is a cell of spaces, for the caller to reject).
  explicit CsvColumnReader(CsvColumn column, bool whitespace_is_blank = false);

  // The next line (without its '\n'). Nullopt for the header and blank
  // lines. An error fails the whole file: NotFound "no column named '<name>'"
  // when the header lacks the named column, InvalidArgument "line 1:
  // malformed CSV header" when that header is not CSV.
  absl::StatusOr<std::optional<CsvCell>> Next(std::string_view line);

  // Lines fed so far.
  size_t lines() const { return line_; }
  // The column read; a named column's index is known once the header was.
  const CsvColumn& column() const { return column_; }

 private:
  CsvColumn column_;
  bool whitespace_is_blank_;
  size_t line_ = 0;
  std::vector<std::string> fields_;  // reused between lines
};

// A whole file's column at once (an upload body, a file read into memory).
struct CsvColumnValues {
  std::vector<std::pair<size_t, std::string>> cells;     // line, cell
  std::vector<std::pair<size_t, std::string>> problems;  // line, why it has no cell
};
// Splits `text` at '\n' and reads it as CsvColumnReader does; its errors.
absl::StatusOr<CsvColumnValues> ReadCsvColumn(std::string_view text, const CsvColumn& column,
                                              bool whitespace_is_blank = false);

}  // namespace tandem
