// CSV lines come from advertisers' files and users' address books.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/csv.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  // A whole file's column: every line is a cell, a problem, or skipped,
  // and nothing points past the file's last line.
  const size_t lines = static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
  for (const char* option : {"", "2", "phone"}) {
    auto column = tandem::CsvColumn::Parse(option, false);
    if (!column.ok()) std::abort();
    auto values = tandem::ReadCsvColumn(text, *column);
    if (!values.ok()) continue;
    if (values->cells.size() + values->problems.size() > lines) std::abort();
    for (const auto& [line, cell] : values->cells) {
      if (line == 0 || line > lines) std::abort();
    }
  }

  // One line: re-encoding what was parsed must parse back to the same fields.
  auto fields = tandem::ParseCsvLine(text);
  if (!fields.ok()) return 0;
  std::string joined;
  for (size_t i = 0; i < fields->size(); ++i) {
    if ((*fields)[i].find('\n') != std::string::npos) return 0;
    joined += (i ? "," : "") + tandem::CsvField((*fields)[i]);
  }
  auto again = tandem::ParseCsvLine(joined);
  if (!again.ok() || *again != *fields) std::abort();
  return 0;
}
