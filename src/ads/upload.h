// Customer-list upload batches: the request shape shared by the add, remove
// and replace endpoints, and the validation that turns rows into digests.
//
// Validation happens entirely in memory before anything is stored, so a
// rejected batch leaves no trace. Digests of accepted rows live only in the
// returned ParsedBatch until the matcher has consumed them; callers must not
// log, persist or echo them.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "phone/phone.h"

namespace tandem::ads {

inline constexpr size_t kMaxBatchRows = 10'000;

enum class Schema { kPhoneSha256, kPhone };
// "PHONE_SHA256" or "PHONE"; InvalidArgument names the accepted schemas.
absl::StatusOr<Schema> ParseSchema(std::string_view name);

struct UploadRequest {
  std::string session_id;  // chosen by the client, 1..64 printable characters
  int64_t batch_seq = 0;   // 1, 2, ... unique within the session
  bool last_batch = false;
  Schema schema = Schema::kPhoneSha256;
  std::string country;  // region hint for PHONE rows ("US"); may be empty
  std::vector<std::string> rows;
};

// Parses {"session": {"session_id", "batch_seq", "last_batch_flag"},
//         "payload": {"schema", "data": [...], "country"}}.
// "data" rows are strings or one-element arrays of a string.
absl::StatusOr<UploadRequest> ParseUploadRequest(const nlohmann::json& body);

struct InvalidRow {
  size_t index = 0;
  std::string reason;   // stable code: "not_sha256", "too_short", ...
  std::string message;  // a sentence
};

struct ParsedBatch {
  std::vector<phone::Digest> digests;  // accepted rows, in order
  std::vector<InvalidRow> invalid;
};

// Validates the rows. PHONE_SHA256: every row must be 64 lowercase hex
// characters, otherwise the whole batch is rejected (InvalidArgument) and
// `rejected` lists the offending rows. PHONE: rows are normalized with the
// country hint; rows that are not valid numbers are reported in `invalid`
// and skipped. More than kMaxBatchRows rows, or an unknown country:
// InvalidArgument.
absl::StatusOr<ParsedBatch> ValidateBatch(const UploadRequest& request, std::vector<InvalidRow>* rejected);

// Whether `s` is exactly 64 lowercase hexadecimal characters.
bool IsLowerHexSha256(std::string_view s);
// Validates and decodes in one pass: the digest, or InvalidArgument unless
// IsLowerHexSha256(s).
absl::StatusOr<phone::Digest> DecodeLowerHexSha256(std::string_view s);
// The same without AVX2 (used where the processor lacks it; for tests).
absl::StatusOr<phone::Digest> DecodeLowerHexSha256Portable(std::string_view s);

}  // namespace tandem::ads
