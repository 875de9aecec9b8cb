// The configuration schema: every key tandemd understands, with its type,
// default, bounds, description and whether a running server applies a new
// value on SIGHUP. The one table of keys is in config_keys.cc; Config
// validates every value against it, components read their defaults from it,
// and `tandemd config` and docs/configuration.md are generated from it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"

namespace tandem {

enum class KeyType {
  kString,
  kInt,
  kBool,
  kDouble,
  kList,  // comma-separated text, or a TOML array
};

struct KeySpec {
  std::string_view name;  // dotted path, "server.threads"
  KeyType type = KeyType::kString;
  std::string_view default_value;  // as text; "" is allowed
  std::string_view description;    // one line
  std::optional<int64_t> min;      // for kInt and kDouble
  std::optional<int64_t> max;
  std::string_view choices;  // kString only: "dev|http" (empty: any text)
  bool runtime = false;      // applied on SIGHUP; otherwise needs a restart
  bool secret = false;       // never printed (also every name ending in "token")
};

// Every key, grouped by section, in the order the reference lists them.
std::span<const KeySpec> AllKeys();

// nullptr for a key the table does not have.
const KeySpec* FindKey(std::string_view name);

// The known key nearest to `name` by edit distance, or "" when none is close
// enough to be a likely typo.
std::string_view NearestKey(std::string_view name);

// InvalidArgument "unknown key x (did you mean y?)".
absl::Status UnknownKeyError(std::string_view name);

// OK if `value` is valid for `spec`: it parses as the key's type, lies within
// its bounds and is one of its choices. Otherwise InvalidArgument naming the
// key, the value and what was expected.
absl::Status CheckValue(const KeySpec& spec, std::string_view value);

std::string_view TypeName(KeyType type);
bool IsSecret(const KeySpec& spec);

// The reference committed as docs/configuration.md.
std::string ConfigurationMarkdown();

}  // namespace tandem
