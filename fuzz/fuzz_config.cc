// Configuration files are written by operators and may be malformed.
#include <cstdint>
#include <string>

#include "common/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto config = tandem::Config::FromString(std::string_view(reinterpret_cast<const char*>(data), size));
  if (config.ok()) {
    for (const auto& [k, v] : config->values()) {
      config->GetInt(k, 0).IgnoreError();
      config->GetBool(k, false).IgnoreError();
    }
  }
  return 0;
}
