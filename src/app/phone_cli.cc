// Reads phone numbers (one per line, or one column of a CSV) and writes them
// normalized to E.164 or hashed the customer-list way. Invalid rows are
// reported on stderr by line number with the reason, and counted.
#include "app/phone_cli.h"

#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <memory>

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
  absl::StatusOr<CsvColumn> column = CsvColumn::Parse(o.column, o.header);
  if (!column.ok()) {
    std::cerr << "tandem phone: " << column.status().message() << "\n";
    return 2;
  }

  // Hash output holds only hashes: the point of hashing locally is that raw
  // numbers do not travel with the file.
  *out << (hash ? "sha256\n" : "input,e164,error\n");

  std::string line;
  uint64_t rows = 0, invalid = 0;
  std::vector<std::string> cells;
  std::vector<uint64_t> line_numbers;
  std::vector<std::string_view> views;

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

  CsvColumnReader reader(*std::move(column));
  while (std::getline(*in, line)) {
    absl::StatusOr<std::optional<CsvCell>> cell = reader.Next(line);
    if (!cell.ok()) {
      std::cerr << "tandem phone: " << cell.status().message()
                << (absl::IsNotFound(cell.status()) ? " in the header" : "") << "\n";
      return 2;
    }
    if (!cell->has_value()) continue;  // the header, or a blank line
    ++rows;
    if (!(*cell)->value.ok()) {
      ++invalid;
      std::cerr << "line " << (*cell)->line << ": " << (*cell)->value.status().message() << "\n";
      continue;
    }
    cells.push_back(*std::move((*cell)->value));
    line_numbers.push_back((*cell)->line);
    if (cells.size() >= kChunkRows) flush();
  }
  flush();
  out->flush();
  std::cerr << "rows: " << rows << ", valid: " << rows - invalid << ", invalid: " << invalid << "\n";
  return 0;
}

// These commands work offline on files.
void WarnIgnored(const CliContext& ctx) {
  if (!ctx.server.empty()) Warn("--server is ignored: `tandem phone` works on files, offline");
  if (!ctx.profile.empty()) Warn("--profile is ignored: `tandem phone` uses no profile");
}

// The options both commands take; the returned object receives them.
std::shared_ptr<PhoneOptions> AddCommonOptions(CLI::App& cmd) {
  auto o = std::make_shared<PhoneOptions>();
  cmd.add_option("--region", o->region, "Region for numbers without +country code (e.g. US, DE)");
  cmd.add_option("--column", o->column, "CSV column: 1-based number or header name");
  cmd.add_flag("--header", o->header, "The first line is a header");
  cmd.add_option("--input,-i", o->input, "Input file (default: stdin)");
  cmd.add_option("--output,-o", o->output, "Output file (default: stdout)");
  cmd.add_option("--threads", o->threads, "Worker threads (0: all cores)");
  return o;
}

void DefineNormalize(CLI::App& cmd, const CliEnv& env) {
  auto o = AddCommonOptions(cmd);
  cmd.callback([env, o] {
    WarnIgnored(*env.ctx);
    *env.exit_code = Run(*o, false);
  });
}

void DefineHash(CLI::App& cmd, const CliEnv& env) {
  auto o = AddCommonOptions(cmd);
  cmd.add_flag("--normalized", o->normalized, "Input is already E.164 (+ and digits): skip parsing");
  cmd.callback([env, o] {
    WarnIgnored(*env.ctx);
    *env.exit_code = Run(*o, true);
  });
}

constexpr CommandSpec<CliEnv> kPhoneCommands[] = {
    {"normalize", "Write each number in E.164 form", DefineNormalize},
    {"hash", "Write SHA-256 (hex) of each number's E.164 digits, as customer lists expect", DefineHash},
};

}  // namespace

void AddPhoneCommands(CLI::App& app, std::shared_ptr<CliContext> ctx, int* exit_code) {
  AddCommandGroup(AddSubcommand(app, "phone", "Normalize and hash phone numbers"), kPhoneCommands,
                  CliEnv{std::move(ctx), exit_code});
}

}  // namespace tandem::app
