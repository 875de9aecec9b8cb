// Fuzz target: customer-list upload bodies (untrusted, from advertisers):
// JSON parsing, the request shape and row validation for both schemas.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "ads/upload.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  nlohmann::json body = nlohmann::json::parse(text, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return 0;
  auto request = tandem::ads::ParseUploadRequest(body);
  if (!request.ok()) return 0;
  std::vector<tandem::ads::InvalidRow> rejected;
  auto batch = tandem::ads::ValidateBatch(*request, &rejected);
  if (batch.ok() && batch->digests.size() + batch->invalid.size() != request->rows.size()) __builtin_trap();
  return 0;
}
