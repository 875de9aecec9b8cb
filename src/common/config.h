// Configuration: a TOML file whose values command-line flags may override.
//
// Keys are dotted paths ("server.listen"). Load() reads the file (if any) and
// then applies overrides given as "key=value" strings, so every setting can
// come from either place. Values keep their TOML type; an override is parsed
// as an integer or boolean when it looks like one, else kept as a string.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace tandem {

class Config {
 public:
  // `path` may be empty (defaults and overrides only). A missing file named
  // explicitly is an error; a malformed file or override is InvalidArgument.
  static absl::StatusOr<Config> Load(const std::string& path,
                                     const std::vector<std::string>& overrides = {});
  static absl::StatusOr<Config> FromString(std::string_view toml_text);

  // Applies one "key=value" override.
  absl::Status Set(std::string_view assignment);
  void SetString(const std::string& key, std::string value);

  bool Has(const std::string& key) const;
  std::string GetString(const std::string& key, const std::string& fallback) const;
  // InvalidArgument if the key is present but not an integer.
  absl::StatusOr<int64_t> GetInt(const std::string& key, int64_t fallback) const;
  absl::StatusOr<bool> GetBool(const std::string& key, bool fallback) const;

  const std::map<std::string, std::string>& values() const { return values_; }

 private:
  // Every leaf is stored as text; typed getters parse on demand.
  std::map<std::string, std::string> values_;
};

}  // namespace tandem
