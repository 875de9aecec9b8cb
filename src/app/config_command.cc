// `tandemd config`: the same loading as `serve`, printed instead of run.
#include "app/config_command.h"

#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>

#include "common/config_schema.h"

namespace tandem::app {
namespace {

// Secrets are never printed, only whether they are set.
std::string Shown(const Config& config, const KeySpec& spec) {
  std::string value = config.GetText(spec.name);
  if (IsSecret(spec)) return value.empty() ? "(unset)" : "(set)";
  return value;
}

}  // namespace

int PrintConfig(const ConfigFlags& flags) {
  if (flags.markdown) {
    std::cout << ConfigurationMarkdown();
    return 0;
  }
  auto config = LoadServeConfig(flags.serve);
  if (!config.ok()) {
    std::cerr << "tandemd: " << config.status().message() << "\n";
    return 2;
  }
  ApplyEmbeddedDefaults(*config);
  if (flags.json) {
    for (const KeySpec& spec : AllKeys()) {
      nlohmann::json line = {{"key", spec.name},
                             {"value", Shown(*config, spec)},
                             {"source", config->Source(spec.name)},
                             {"type", TypeName(spec.type)},
                             {"runtime", spec.runtime}};
      std::cout << line.dump() << "\n";
    }
    return 0;
  }
  size_t key_width = 3, value_width = 5;
  for (const KeySpec& spec : AllKeys()) {
    key_width = std::max(key_width, spec.name.size());
    value_width = std::max(value_width, Shown(*config, spec).size() + 2);
  }
  auto row = [&](std::string_view key, std::string_view value, std::string_view source) {
    std::string line(key);
    line.resize(key_width + 2, ' ');
    line += value;
    line.resize(key_width + 2 + value_width + 2, ' ');
    line += source;
    std::cout << line << "\n";
  };
  row("key", "value", "source");
  for (const KeySpec& spec : AllKeys()) {
    std::string shown = Shown(*config, spec);
    // Quotes make an empty string visible and keep the columns readable.
    if (spec.type == KeyType::kString || spec.type == KeyType::kList) {
      if (!IsSecret(spec)) shown = "\"" + shown + "\"";
    }
    row(spec.name, shown, config->Source(spec.name));
  }
  return 0;
}

}  // namespace tandem::app
