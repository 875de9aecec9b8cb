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

// A machine-readable reason under the code, for the few errors a client
// must tell apart from others of the same code (for example
// "registration_replaced" under unauthenticated). It travels as
// `error.reason` in HTTP errors and is kept as a payload of the status.
absl::Status WithReason(absl::Status status, std::string_view reason);
std::string ReasonOf(const absl::Status& status);  // "" if none

}  // namespace tandem
