// The names under which errors travel in every API (HTTP JSON errors and
// the relay's Error frames): "invalid_argument", "not_found", ...
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace tandem {

// OutOfRange travels as "payload_too_large" (its HTTP meaning here).
std::string ErrorCodeName(absl::StatusCode code);
// The inverse; kInternal for an unknown name.
absl::StatusCode ErrorCodeFromName(std::string_view name);

}  // namespace tandem
