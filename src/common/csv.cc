// CSV line splitting, and reading one column of a file.
#include "common/csv.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace tandem {

absl::Status ParseCsvLine(std::string_view line, std::vector<std::string>* fields) {
  fields->clear();
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::string field;
  size_t i = 0;
  for (;;) {
    field.clear();
    if (i < line.size() && line[i] == '"') {
      ++i;
      for (;;) {
        if (i >= line.size()) return absl::InvalidArgumentError("unterminated quoted field");
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field.push_back(line[i++]);
      }
      if (i < line.size() && line[i] != ',') {
        return absl::InvalidArgumentError("text after a closing quote");
      }
    } else {
      while (i < line.size() && line[i] != ',') field.push_back(line[i++]);
    }
    fields->push_back(field);
    if (i >= line.size()) break;
    ++i;  // the comma
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> ParseCsvLine(std::string_view line) {
  std::vector<std::string> fields;
  RETURN_IF_ERROR(ParseCsvLine(line, &fields));
  return fields;
}

std::string CsvField(std::string_view field) {
  bool quote = field.find_first_of(",\"\r\n") != std::string_view::npos ||
               (!field.empty() && (field.front() == ' ' || field.back() == ' '));
  if (!quote) return std::string(field);
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

absl::StatusOr<CsvColumn> CsvColumn::Parse(std::string_view option, bool header) {
  CsvColumn column;
  column.header = header;
  if (option.empty()) return column;
  int64_t n = 0;
  if (absl::SimpleAtoi(std::string(option), &n)) {
    if (n < 1) return absl::InvalidArgumentError("--column counts from 1");
    column.index = static_cast<size_t>(n - 1);
    return column;
  }
  column.name = std::string(option);
  column.header = true;
  return column;
}

CsvColumnReader::CsvColumnReader(CsvColumn column, bool whitespace_is_blank)
    : column_(std::move(column)), whitespace_is_blank_(whitespace_is_blank) {
  if (!column_.name.empty()) column_.header = true;
}

absl::StatusOr<std::optional<CsvCell>> CsvColumnReader::Next(std::string_view line) {
  ++line_;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line_ == 1 && column_.header) {
    if (!column_.name.empty()) {
      if (!ParseCsvLine(line, &fields_).ok())
        return absl::InvalidArgumentError("line 1: malformed CSV header");
      auto it = std::find(fields_.begin(), fields_.end(), column_.name);
      if (it == fields_.end())
        return absl::NotFoundError(absl::StrCat("no column named '", column_.name, "'"));
      column_.index = static_cast<size_t>(it - fields_.begin());
    }
    return std::nullopt;
  }
  if (whitespace_is_blank_ ? line.find_first_not_of(" \t") == std::string_view::npos : line.empty()) {
    return std::nullopt;
  }
  // Most lines are a bare number: no need to split them.
  if (column_.index == 0 && line.find_first_of(",\"") == std::string_view::npos) {
    return CsvCell{line_, std::string(line)};
  }
  if (absl::Status st = ParseCsvLine(line, &fields_); !st.ok()) {
    return CsvCell{line_, absl::InvalidArgumentError(absl::StrCat("malformed CSV: ", st.message()))};
  }
  if (column_.index >= fields_.size()) {
    return CsvCell{line_, absl::OutOfRangeError(absl::StrCat("has no column ", column_.index + 1))};
  }
  return CsvCell{line_, std::move(fields_[column_.index])};
}

absl::StatusOr<CsvColumnValues> ReadCsvColumn(std::string_view text, const CsvColumn& column,
                                              bool whitespace_is_blank) {
  CsvColumnValues values;
  CsvColumnReader reader(column, whitespace_is_blank);
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ASSIGN_OR_RETURN(std::optional<CsvCell> cell, reader.Next(line));
    if (!cell) continue;
    if (cell->value.ok()) {
      values.cells.emplace_back(cell->line, *std::move(cell->value));
    } else {
      values.problems.emplace_back(cell->line, std::string(cell->value.status().message()));
    }
  }
  return values;
}

}  // namespace tandem
