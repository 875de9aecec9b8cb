// Lookup, validation and the generated reference of the configuration
// schema; the table itself is in config_keys.cc.
#include "common/config_schema.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"

namespace tandem {
namespace {

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string Bounds(const KeySpec& spec) {
  if (spec.min && spec.max) return absl::StrCat("between ", *spec.min, " and ", *spec.max);
  if (spec.min) return absl::StrCat("at least ", *spec.min);
  return absl::StrCat("at most ", *spec.max);
}

absl::Status OutOfBounds(const KeySpec& spec, std::string_view value) {
  return absl::InvalidArgumentError(
      absl::StrCat(std::string(spec.name), " must be ", Bounds(spec), ", got ", std::string(value)));
}

std::string Allowed(const KeySpec& spec) {
  if (!spec.choices.empty()) {
    std::vector<std::string> quoted;
    for (absl::string_view c :
         absl::StrSplit(absl::string_view(spec.choices.data(), spec.choices.size()), '|')) {
      quoted.push_back(absl::StrCat("`", c, "`"));
    }
    return absl::StrJoin(quoted, ", ");
  }
  if (spec.min && spec.max) return absl::StrCat(*spec.min, " .. ", *spec.max);
  if (spec.min) return absl::StrCat("≥ ", *spec.min);
  if (spec.max) return absl::StrCat("≤ ", *spec.max);
  return "";
}

// What each section configures, for the reference's headings.
std::string_view SectionTitle(std::string_view section) {
  if (section == "server") return "The HTTP/WebSocket server";
  if (section == "log") return "Logging";
  if (section == "relay") return "The messenger relay (see [relay-protocol.md](relay-protocol.md))";
  if (section == "feed") return "The data-sharing feed, both operators' sides (see [feed.md](feed.md))";
  if (section == "social") return "The social network (see [social-api.md](social-api.md))";
  if (section == "ads") return "The ad platform (see [ads-api.md](ads-api.md))";
  return "";
}

}  // namespace

const KeySpec* FindKey(std::string_view name) {
  for (const KeySpec& spec : AllKeys()) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

std::string_view NearestKey(std::string_view name) {
  std::string_view best;
  size_t best_distance = std::string_view::npos;
  for (const KeySpec& spec : AllKeys()) {
    size_t d = EditDistance(name, spec.name);
    if (d < best_distance) {
      best_distance = d;
      best = spec.name;
    }
  }
  // A typo changes a few characters; beyond that a suggestion is noise.
  if (best_distance > std::max<size_t>(2, name.size() / 5)) return {};
  return best;
}

absl::Status UnknownKeyError(std::string_view name) {
  std::string message = absl::StrCat("unknown key ", std::string(name));
  if (std::string_view near = NearestKey(name); !near.empty()) {
    absl::StrAppend(&message, " (did you mean ", std::string(near), "?)");
  }
  return absl::InvalidArgumentError(message);
}

absl::Status CheckValue(const KeySpec& spec, std::string_view value) {
  const std::string text(value);
  switch (spec.type) {
    case KeyType::kInt: {
      int64_t v;
      if (!absl::SimpleAtoi(text, &v)) {
        return absl::InvalidArgumentError(
            absl::StrCat(std::string(spec.name), " must be an integer, got '", text, "'"));
      }
      if ((spec.min && v < *spec.min) || (spec.max && v > *spec.max)) return OutOfBounds(spec, text);
      return absl::OkStatus();
    }
    case KeyType::kDouble: {
      double v;
      if (!absl::SimpleAtod(text, &v) || !std::isfinite(v)) {
        return absl::InvalidArgumentError(
            absl::StrCat(std::string(spec.name), " must be a number, got '", text, "'"));
      }
      if ((spec.min && v < static_cast<double>(*spec.min)) ||
          (spec.max && v > static_cast<double>(*spec.max))) {
        return OutOfBounds(spec, text);
      }
      return absl::OkStatus();
    }
    case KeyType::kBool: {
      bool v;
      if (!absl::SimpleAtob(text, &v)) {
        return absl::InvalidArgumentError(
            absl::StrCat(std::string(spec.name), " must be true or false, got '", text, "'"));
      }
      return absl::OkStatus();
    }
    case KeyType::kString:
      if (!spec.choices.empty()) {
        for (absl::string_view c :
             absl::StrSplit(absl::string_view(spec.choices.data(), spec.choices.size()), '|')) {
          if (c == text) return absl::OkStatus();
        }
        return absl::InvalidArgumentError(absl::StrCat(
            std::string(spec.name), " must be one of ",
            absl::StrReplaceAll(absl::string_view(spec.choices.data(), spec.choices.size()), {{"|", ", "}}),
            ", got '", text, "'"));
      }
      return absl::OkStatus();
    case KeyType::kList:
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

std::string_view TypeName(KeyType type) {
  switch (type) {
    case KeyType::kString:
      return "string";
    case KeyType::kInt:
      return "integer";
    case KeyType::kBool:
      return "boolean";
    case KeyType::kDouble:
      return "number";
    case KeyType::kList:
      return "list";
  }
  return "?";
}

bool IsSecret(const KeySpec& spec) { return spec.secret || spec.name.ends_with("token"); }

std::string ConfigurationMarkdown() {
  std::string out =
      "# Configuration\n"
      "\n"
      "<!-- Generated by `tandemd config --markdown` from src/common/config_keys.cc;\n"
      "     a test fails when this file and the table differ. Edit the table, not this file. -->\n"
      "\n"
      "`tandemd serve` reads a TOML file (`--config tandem.toml`; a key `a.b.c` is\n"
      "`c` in table `[a.b]`) and then the overrides `--set key=value`, which win;\n"
      "`--listen`, `--data-dir`, `--threads`, `--log-level` and `--log-json` are\n"
      "short for `--set` of `server.listen`, `server.data_dir`, `server.threads`,\n"
      "`log.level` and `log.json`. A key that is not listed here, a value of the\n"
      "wrong type or out of its range is refused before anything starts (exit 2,\n"
      "e.g. `tandemd: unknown key ads.admin_tokn (did you mean ads.admin_token?)`).\n"
      "\n"
      "`tandemd config` takes the same `--config` and `--set` and prints the\n"
      "effective value of every key with where it came from (`default`, the\n"
      "file, `--set`, a flag); `--json` prints JSON lines. Secrets (`*token`)\n"
      "print as `(set)` or `(unset)`.\n"
      "\n"
      "Keys marked `SIGHUP` are applied by a running server when it receives\n"
      "SIGHUP: it reads the `--config` file again (the command line still wins),\n"
      "applies them and logs `config.reloaded`; an invalid file is refused as a\n"
      "whole with a warning (`config.reload_failed`) and nothing changes. Every\n"
      "other key needs a restart.\n"
      "\n"
      "Rate limits are token buckets: `burst` tokens at most, one more every\n"
      "`interval_ms`. Their state lives in memory and starts afresh on restart.\n";
  std::string section;
  for (const KeySpec& spec : AllKeys()) {
    std::string_view name = spec.name;
    std::string s(name.substr(0, name.find('.')));
    if (s != section) {
      section = s;
      absl::StrAppend(&out, "\n## ", section, "\n\n", std::string(SectionTitle(section)), ".\n\n",
                      "| key | type | default | allowed | applies | description |\n",
                      "|---|---|---|---|---|---|\n");
    }
    std::string def =
        spec.default_value.empty() ? "(empty)" : absl::StrCat("`", std::string(spec.default_value), "`");
    absl::StrAppend(&out, "| `", std::string(name), "` | ", std::string(TypeName(spec.type)), " | ", def,
                    " | ", Allowed(spec), " | ", spec.runtime ? "SIGHUP" : "restart", " | ",
                    absl::StrReplaceAll(std::string(spec.description), {{"|", "\\|"}}), " |\n");
  }
  return out;
}

}  // namespace tandem
