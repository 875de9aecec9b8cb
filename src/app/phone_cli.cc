// Reads phone numbers (one per line, or one column of a CSV) and writes them
// normalized to E.164 or hashed the customer-list way. Invalid rows are
// reported on stderr by line number with the reason, and counted.
#include "app/phone_cli.h"

#include <fstream>
#include <iostream>
#include <memory>

#include "absl/strings/numbers.h"
#include "common/csv.h"
#include "phone/phone.h"

namespace tandem::app {
namespace {

struct PhoneOptions {
  std::string region;
  std::string column;  // 1-based index or header name; empty: whole line / first column
  bool header = false;
  bool normalized = false;  // hash: input is already E.164
  std::string input;
  std::string output;
  unsigned threads = 0;
};

constexpr size_t kChunkRows = 1 << 16;

int Run(const PhoneOptions& o, bool hash) {
  if (!o.region.empty() && !phone::IsKnownRegion(o.region)) {
    std::cerr << "tandem phone: unknown region '" << o.region << "' (use an ISO code such as US or DE)\n";
    return 2;
  }
  std::ifstream file;
  std::istream* in = &std::cin;
  if (!o.input.empty() && o.input != "-") {
    file.open(o.input);
    if (!file) {
      std::cerr << "tandem phone: cannot open " << o.input << "\n";
      return 2;
    }
    in = &file;
  }
  std::ofstream out_file;
  std::ostream* out = &std::cout;
  if (!o.output.empty() && o.output != "-") {
    out_file.open(o.output);
    if (!out_file) {
      std::cerr << "tandem phone: cannot write " << o.output << "\n";
      return 2;
    }
    out = &out_file;
  }

  int column = 0;  // 0-based
  bool named_column = false;
  if (!o.column.empty()) {
    int n;
    if (absl::SimpleAtoi(o.column, &n)) {
      if (n < 1) {
        std::cerr << "tandem phone: --column counts from 1\n";
        return 2;
      }
      column = n - 1;
    } else {
      named_column = true;
    }
  }
  const bool has_header = o.header || named_column;

  // Hash output holds only hashes: the point of hashing locally is that raw
  // numbers do not travel with the file.
  *out << (hash ? "sha256\n" : "input,e164,error\n");

  std::string line;
  uint64_t line_no = 0, rows = 0, invalid = 0;
  std::vector<std::string> fields, cells;
  std::vector<uint64_t> line_numbers;
  std::vector<std::string_view> views;
  phone::PhoneHasher hasher;

  auto flush = [&] {
    views.assign(cells.begin(), cells.end());
    std::vector<phone::RowResult> results;
    if (hash && o.normalized) {
      std::vector<phone::Digest> digests;
      std::vector<phone::Reason> reasons;
      phone::HashNormalizedBatch(views, &digests, &reasons, o.threads);
      results.resize(views.size());
      for (size_t i = 0; i < views.size(); ++i) {
        results[i].reason = reasons[i];
        if (reasons[i] == phone::Reason::kOk) results[i].value = phone::ToHex(digests[i]);
      }
    } else if (hash) {
      results = phone::NormalizeAndHashBatch(views, o.region, o.threads);
    } else {
      results = phone::NormalizeBatch(views, o.region, o.threads);
    }
    for (size_t i = 0; i < results.size(); ++i) {
      const auto& r = results[i];
      if (r.reason != phone::Reason::kOk) {
        ++invalid;
        std::cerr << "line " << line_numbers[i] << ": " << phone::ReasonText(r.reason) << " ("
                  << phone::ReasonCode(r.reason) << ")\n";
        if (!hash) *out << CsvField(cells[i]) << ",," << phone::ReasonCode(r.reason) << "\n";
        continue;
      }
      if (hash) {
        *out << r.value << "\n";
      } else {
        *out << CsvField(cells[i]) << "," << r.value << ",\n";
      }
    }
    cells.clear();
    line_numbers.clear();
  };

  while (std::getline(*in, line)) {
    ++line_no;
    if (line_no == 1 && has_header) {
      if (named_column) {
        if (!ParseCsvLine(line, &fields).ok()) {
          std::cerr << "tandem phone: line 1: malformed CSV header\n";
          return 2;
        }
        auto it = std::find(fields.begin(), fields.end(), o.column);
        if (it == fields.end()) {
          std::cerr << "tandem phone: no column named '" << o.column << "' in the header\n";
          return 2;
        }
        column = static_cast<int>(it - fields.begin());
      }
      continue;
    }
    if (line.empty() || line == "\r") continue;
    ++rows;
    std::string cell;
    if (column == 0 && line.find_first_of(",\"") == std::string::npos) {
      cell = line;
      if (!cell.empty() && cell.back() == '\r') cell.pop_back();
    } else if (absl::Status st = ParseCsvLine(line, &fields); !st.ok()) {
      ++invalid;
      std::cerr << "line " << line_no << ": malformed CSV: " << st.message() << "\n";
      continue;
    } else if (column >= static_cast<int>(fields.size())) {
      ++invalid;
      std::cerr << "line " << line_no << ": has no column " << column + 1 << "\n";
      continue;
    } else {
      cell = fields[column];
    }
    cells.push_back(std::move(cell));
    line_numbers.push_back(line_no);
    if (cells.size() >= kChunkRows) flush();
  }
  flush();
  out->flush();
  std::cerr << "rows: " << rows << ", valid: " << rows - invalid << ", invalid: " << invalid << "\n";
  return 0;
}

}  // namespace

void AddPhoneCommands(CLI::App& app, std::shared_ptr<CliContext> ctx, int* exit_code) {
  CLI::App* phone = app.add_subcommand("phone", "Normalize and hash phone numbers");
  phone->require_subcommand(1);
  // These commands work offline on files.
  auto warn_ignored = [ctx] {
    if (!ctx->server.empty()) Warn("--server is ignored: `tandem phone` works on files, offline");
    if (!ctx->profile.empty()) Warn("--profile is ignored: `tandem phone` uses no profile");
  };
  auto options = std::make_shared<PhoneOptions>();
  auto common = [options](CLI::App* cmd) {
    cmd->add_option("--region", options->region, "Region for numbers without +country code (e.g. US, DE)");
    cmd->add_option("--column", options->column, "CSV column: 1-based number or header name");
    cmd->add_flag("--header", options->header, "The first line is a header");
    cmd->add_option("--input,-i", options->input, "Input file (default: stdin)");
    cmd->add_option("--output,-o", options->output, "Output file (default: stdout)");
    cmd->add_option("--threads", options->threads, "Worker threads (0: all cores)");
  };
  CLI::App* normalize = phone->add_subcommand("normalize", "Write each number in E.164 form");
  common(normalize);
  normalize->callback([options, exit_code, warn_ignored] {
    warn_ignored();
    *exit_code = Run(*options, false);
  });
  CLI::App* hash = phone->add_subcommand(
      "hash", "Write SHA-256 (hex) of each number's E.164 digits, as customer lists expect");
  common(hash);
  hash->add_flag("--normalized", options->normalized, "Input is already E.164 (+ and digits): skip parsing");
  hash->callback([options, exit_code, warn_ignored] {
    warn_ignored();
    *exit_code = Run(*options, true);
  });
}

}  // namespace tandem::app
