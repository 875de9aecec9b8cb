// TOML parsing is wrapped here so that toml++'s exceptions stay inside.
#include "common/config.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/config_schema.h"
#define TOML_EXCEPTIONS 0
#include <toml++/toml.h>

namespace tandem {
namespace {

// Leaves as text; arrays (lists) joined with commas. A key the schema does
// not have is refused here, with the full dotted path.
absl::Status Flatten(const toml::table& table, const std::string& prefix,
                     std::vector<std::pair<std::string, std::string>>& out) {
  for (auto&& [k, node] : table) {
    std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (auto* sub = node.as_table()) {
      RETURN_IF_ERROR(Flatten(*sub, key, out));
    } else if (auto* s = node.as_string()) {
      out.emplace_back(key, s->get());
    } else if (auto* i = node.as_integer()) {
      out.emplace_back(key, std::to_string(i->get()));
    } else if (auto* b = node.as_boolean()) {
      out.emplace_back(key, b->get() ? "true" : "false");
    } else if (auto* f = node.as_floating_point()) {
      out.emplace_back(key, std::to_string(f->get()));
    } else if (auto* arr = node.as_array()) {
      std::string joined;
      for (auto&& el : *arr) {
        if (!joined.empty()) joined += ",";
        if (auto* es = el.as_string())
          joined += es->get();
        else if (auto* ei = el.as_integer())
          joined += std::to_string(ei->get());
      }
      out.emplace_back(key, joined);
    } else {
      return absl::InvalidArgumentError(absl::StrCat(key, ": dates and times are not configuration values"));
    }
  }
  return absl::OkStatus();
}

[[noreturn]] void ProgrammingError(std::string_view key, std::string_view what) {
  std::fprintf(stderr, "config: %.*s %.*s\n", static_cast<int>(key.size()), key.data(),
               static_cast<int>(what.size()), what.data());
  std::abort();
}

}  // namespace

absl::StatusOr<Config> Config::FromString(std::string_view text, std::string_view source) {
  toml::parse_result result = toml::parse(text);
  if (!result) {
    const auto& err = result.error();
    return absl::InvalidArgumentError(absl::StrCat("config: line ", static_cast<int>(err.source().begin.line),
                                                   ": ", std::string(err.description())));
  }
  std::vector<std::pair<std::string, std::string>> leaves;
  RETURN_IF_ERROR(Flatten(result.table(), "", leaves));
  Config config;
  for (const auto& [key, value] : leaves) RETURN_IF_ERROR(config.Set(key, value, source));
  return config;
}

absl::StatusOr<Config> Config::Load(const std::string& path, const std::vector<std::string>& overrides) {
  Config config;
  if (!path.empty()) {
    std::ifstream in(path);
    if (!in) return absl::NotFoundError(absl::StrCat("config file not found: ", path));
    std::stringstream ss;
    ss << in.rdbuf();
    auto parsed = FromString(ss.str(), path);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": ", parsed.status().message()));
    }
    config = *std::move(parsed);
  }
  for (const auto& o : overrides) RETURN_IF_ERROR(config.Set(o));
  return config;
}

absl::Status Config::Set(std::string_view assignment, std::string_view source) {
  auto eq = assignment.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("override must look like key=value, got '", std::string(assignment), "'"));
  }
  return Set(assignment.substr(0, eq), assignment.substr(eq + 1), source);
}

absl::Status Config::Set(std::string_view key, std::string_view value, std::string_view source) {
  const KeySpec* spec = FindKey(key);
  if (spec == nullptr) return UnknownKeyError(key);
  RETURN_IF_ERROR(CheckValue(*spec, value));
  values_[std::string(key)] = Value{std::string(value), std::string(source)};
  return absl::OkStatus();
}

bool Config::Has(std::string_view key) const { return values_.contains(key); }

std::string Config::Source(std::string_view key) const {
  auto it = values_.find(key);
  return it == values_.end() ? "default" : it->second.source;
}

std::string Config::Text(std::string_view key, KeyType type) const {
  const KeySpec* spec = FindKey(key);
  if (spec == nullptr) ProgrammingError(key, "is not in the configuration schema (common/config_keys.cc)");
  if (spec->type != type) ProgrammingError(key, "is read as a type other than the schema's");
  auto it = values_.find(key);
  return it != values_.end() ? it->second.text : std::string(spec->default_value);
}

std::string Config::GetString(std::string_view key) const {
  const KeySpec* spec = FindKey(key);
  // A list is text too.
  return Text(key, spec != nullptr && spec->type == KeyType::kList ? KeyType::kList : KeyType::kString);
}

int64_t Config::GetInt(std::string_view key) const {
  int64_t v = 0;
  if (!absl::SimpleAtoi(Text(key, KeyType::kInt), &v)) ProgrammingError(key, "has an invalid default");
  return v;
}

bool Config::GetBool(std::string_view key) const {
  bool v = false;
  if (!absl::SimpleAtob(Text(key, KeyType::kBool), &v)) ProgrammingError(key, "has an invalid default");
  return v;
}

std::string Config::GetText(std::string_view key) const {
  const KeySpec* spec = FindKey(key);
  if (spec == nullptr) ProgrammingError(key, "is not in the configuration schema (common/config_keys.cc)");
  return Text(key, spec->type);
}

double Config::GetDouble(std::string_view key) const {
  double v = 0;
  if (!absl::SimpleAtod(Text(key, KeyType::kDouble), &v)) ProgrammingError(key, "has an invalid default");
  return v;
}

}  // namespace tandem
