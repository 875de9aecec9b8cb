// CSV lines come from advertisers' files and users' address books.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/csv.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> fields;
  if (!tandem::ParseCsvLine(line, &fields).ok()) return 0;
  // Re-encoding what was parsed must parse back to the same fields.
  std::string joined;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (fields[i].find('\n') != std::string::npos) return 0;
    joined += (i ? "," : "") + tandem::CsvField(fields[i]);
  }
  std::vector<std::string> again;
  if (!tandem::ParseCsvLine(joined, &again).ok() || again != fields) std::abort();
  return 0;
}
