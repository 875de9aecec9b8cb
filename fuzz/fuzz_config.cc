// Configuration files are written by operators and may be malformed. A file
// that is accepted holds only valid values: every typed read must succeed.
#include <cstdint>
#include <string>

#include "common/config.h"
#include "common/config_schema.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto config = tandem::Config::FromString(std::string_view(reinterpret_cast<const char*>(data), size));
  if (config.ok()) {
    for (const tandem::KeySpec& spec : tandem::AllKeys()) {
      switch (spec.type) {
        case tandem::KeyType::kInt:
          config->GetInt(spec.name);
          break;
        case tandem::KeyType::kBool:
          config->GetBool(spec.name);
          break;
        case tandem::KeyType::kDouble:
          config->GetDouble(spec.name);
          break;
        default:
          config->GetString(spec.name);
          break;
      }
    }
  }
  return 0;
}
