// Configuration: a TOML file whose values command-line flags may override,
// validated against the schema of every key (common/config_schema.h).
//
// Keys are dotted paths ("server.listen"). Load() reads the file (if any) and
// then applies overrides given as "key=value" strings, so every setting can
// come from either place. Every value is checked when it is added: a key the
// schema does not know, a value of the wrong type or out of bounds is
// InvalidArgument, so a Config that exists holds only valid values and the
// typed getters cannot fail. A key that was not set reads as the schema's
// default; each value remembers its source (file path, "--set", a flag).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace tandem {

enum class KeyType;  // common/config_schema.h

class Config {
 public:
  // `path` may be empty (defaults and overrides only). A missing file named
  // explicitly is an error; a malformed file or override is InvalidArgument.
  static absl::StatusOr<Config> Load(const std::string& path, const std::vector<std::string>& overrides = {});
  // `source` is what the values are reported as coming from.
  static absl::StatusOr<Config> FromString(std::string_view toml_text, std::string_view source = "toml");

  // Applies one "key=value" override.
  absl::Status Set(std::string_view assignment, std::string_view source = "--set");
  absl::Status Set(std::string_view key, std::string_view value, std::string_view source);

  // True if the key was set (by the file, an override or Set), not defaulted.
  bool Has(std::string_view key) const;
  // "default" for a key that was not set.
  std::string Source(std::string_view key) const;

  // The value, or the schema's default. Reading a key the schema does not
  // have, or as the wrong type, is a programming error and aborts.
  std::string GetString(std::string_view key) const;
  int64_t GetInt(std::string_view key) const;
  bool GetBool(std::string_view key) const;
  double GetDouble(std::string_view key) const;
  // The value of any key as text (for printing and comparing).
  std::string GetText(std::string_view key) const;

 private:
  struct Value {
    std::string text;  // every leaf is stored as text, checked against the schema
    std::string source;
  };
  std::string Text(std::string_view key, KeyType type) const;

  std::map<std::string, Value, std::less<>> values_;
};

}  // namespace tandem
