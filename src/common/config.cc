// TOML parsing is wrapped here so that toml++'s exceptions stay inside.
#include "common/config.h"

#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#define TOML_EXCEPTIONS 0
#include <toml++/toml.h>

namespace tandem {
namespace {

void Flatten(const toml::table& table, const std::string& prefix,
             std::map<std::string, std::string>& out) {
  for (auto&& [k, node] : table) {
    std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (auto* sub = node.as_table()) {
      Flatten(*sub, key, out);
    } else if (auto* s = node.as_string()) {
      out[key] = s->get();
    } else if (auto* i = node.as_integer()) {
      out[key] = std::to_string(i->get());
    } else if (auto* b = node.as_boolean()) {
      out[key] = b->get() ? "true" : "false";
    } else if (auto* f = node.as_floating_point()) {
      out[key] = std::to_string(f->get());
    } else if (auto* arr = node.as_array()) {
      std::string joined;
      for (auto&& el : *arr) {
        if (!joined.empty()) joined += ",";
        if (auto* es = el.as_string()) joined += es->get();
        else if (auto* ei = el.as_integer()) joined += std::to_string(ei->get());
      }
      out[key] = joined;
    }
  }
}

}  // namespace

absl::StatusOr<Config> Config::FromString(std::string_view text) {
  toml::parse_result result = toml::parse(text);
  if (!result) {
    const auto& err = result.error();
    return absl::InvalidArgumentError(absl::StrCat("config: line ", static_cast<int>(err.source().begin.line),
                                                   ": ", std::string(err.description())));
  }
  Config config;
  Flatten(result.table(), "", config.values_);
  return config;
}

absl::StatusOr<Config> Config::Load(const std::string& path,
                                    const std::vector<std::string>& overrides) {
  Config config;
  if (!path.empty()) {
    std::ifstream in(path);
    if (!in) return absl::NotFoundError(absl::StrCat("config file not found: ", path));
    std::stringstream ss;
    ss << in.rdbuf();
    auto parsed = FromString(ss.str());
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": ", parsed.status().message()));
    }
    config = *std::move(parsed);
  }
  for (const auto& o : overrides) RETURN_IF_ERROR(config.Set(o));
  return config;
}

absl::Status Config::Set(std::string_view assignment) {
  auto eq = assignment.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("override must look like key=value, got '", std::string(assignment), "'"));
  }
  values_[std::string(assignment.substr(0, eq))] = std::string(assignment.substr(eq + 1));
  return absl::OkStatus();
}

void Config::SetString(const std::string& key, std::string value) { values_[key] = std::move(value); }

bool Config::Has(const std::string& key) const { return values_.contains(key); }

std::string Config::GetString(const std::string& key, const std::string& fallback) const {
  auto it = values_.find(key);
  return it == values_.end() ? fallback : it->second;
}

absl::StatusOr<int64_t> Config::GetInt(const std::string& key, int64_t fallback) const {
  auto it = values_.find(key);
  if (it == values_.end()) return fallback;
  int64_t v;
  if (!absl::SimpleAtoi(it->second, &v)) {
    return absl::InvalidArgumentError(
        absl::StrCat("config key ", key, " must be an integer, got '", it->second, "'"));
  }
  return v;
}

absl::StatusOr<bool> Config::GetBool(const std::string& key, bool fallback) const {
  auto it = values_.find(key);
  if (it == values_.end()) return fallback;
  bool v;
  if (!absl::SimpleAtob(it->second, &v)) {
    return absl::InvalidArgumentError(
        absl::StrCat("config key ", key, " must be true or false, got '", it->second, "'"));
  }
  return v;
}

}  // namespace tandem
