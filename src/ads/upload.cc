// Upload request parsing and row validation.
#include "ads/upload.h"

#include <algorithm>
#include <array>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace tandem::ads {

using nlohmann::json;

absl::StatusOr<Schema> ParseSchema(std::string_view name) {
  if (name == "PHONE_SHA256") return Schema::kPhoneSha256;
  if (name == "PHONE") return Schema::kPhone;
  std::string shown(name.substr(0, 40));
  return absl::InvalidArgumentError(
      absl::StrCat("unknown schema '", shown, "': use PHONE_SHA256 (SHA-256 of the E.164 digits) or PHONE"));
}

std::string_view SessionKindName(SessionKind kind) {
  switch (kind) {
    case SessionKind::kAdd: return "add";
    case SessionKind::kRemove: return "remove";
    case SessionKind::kReplace: return "replace";
  }
  return "add";
}

bool IsLowerHexSha256(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

namespace {
// 0..15 for '0'-'9' and 'a'-'f', 0xff otherwise.
constexpr std::array<uint8_t, 256> kNibble = [] {
  std::array<uint8_t, 256> t{};
  for (auto& v : t) v = 0xff;
  for (int c = '0'; c <= '9'; ++c) t[c] = static_cast<uint8_t>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c) t[c] = static_cast<uint8_t>(c - 'a' + 10);
  return t;
}();
}  // namespace

bool DecodeLowerHexSha256(std::string_view s, phone::Digest* out) {
  if (s.size() != 64) return false;
  uint8_t bad = 0;
  for (size_t i = 0; i < 32; ++i) {
    uint8_t hi = kNibble[static_cast<uint8_t>(s[2 * i])], lo = kNibble[static_cast<uint8_t>(s[2 * i + 1])];
    bad |= hi | lo;
    (*out)[i] = static_cast<uint8_t>(hi << 4 | (lo & 0x0f));
  }
  return (bad & 0xf0) == 0;
}

absl::StatusOr<UploadRequest> ParseUploadRequest(const json& body) {
  UploadRequest r;
  auto session = body.find("session");
  if (session == body.end() || !session->is_object()) {
    return absl::InvalidArgumentError("missing object 'session' (session_id, batch_seq, last_batch_flag)");
  }
  auto sid = session->find("session_id");
  if (sid == session->end()) return absl::InvalidArgumentError("missing 'session.session_id'");
  if (sid->is_number_unsigned()) {
    r.session_id = std::to_string(sid->get<uint64_t>());
  } else if (sid->is_string()) {
    r.session_id = sid->get<std::string>();
  } else {
    return absl::InvalidArgumentError("'session.session_id' must be a string or a positive integer");
  }
  if (r.session_id.empty() || r.session_id.size() > 64) {
    return absl::InvalidArgumentError("'session.session_id' must have 1 to 64 characters");
  }
  for (char c : r.session_id) {
    if (c < 0x21 || c > 0x7e) return absl::InvalidArgumentError("'session.session_id' must be printable ASCII");
  }
  auto seq = session->find("batch_seq");
  if (seq == session->end() || !seq->is_number_unsigned() || seq->get<uint64_t>() == 0 ||
      seq->get<uint64_t>() > 1'000'000'000) {
    return absl::InvalidArgumentError("'session.batch_seq' must be an integer from 1");
  }
  r.batch_seq = static_cast<int64_t>(seq->get<uint64_t>());
  auto last = session->find("last_batch_flag");
  if (last != session->end()) {
    if (!last->is_boolean()) return absl::InvalidArgumentError("'session.last_batch_flag' must be true or false");
    r.last_batch = last->get<bool>();
  }
  auto payload = body.find("payload");
  if (payload == body.end() || !payload->is_object()) {
    return absl::InvalidArgumentError("missing object 'payload' (schema, data)");
  }
  auto schema = payload->find("schema");
  if (schema == payload->end() || !schema->is_string()) {
    return absl::InvalidArgumentError("missing 'payload.schema': use PHONE_SHA256 or PHONE");
  }
  ASSIGN_OR_RETURN(r.schema, ParseSchema(schema->get<std::string>()));
  if (auto country = payload->find("country"); country != payload->end() && !country->is_null()) {
    if (!country->is_string()) return absl::InvalidArgumentError("'payload.country' must be a string such as \"US\"");
    r.country = country->get<std::string>();
  }
  auto data = payload->find("data");
  if (data == payload->end() || !data->is_array()) {
    return absl::InvalidArgumentError("missing array 'payload.data'");
  }
  if (data->size() > kMaxBatchRows) {
    return absl::InvalidArgumentError(absl::StrCat("a batch holds at most 10,000 rows; this one has ", data->size(),
                                                   ": split the upload into more batches"));
  }
  if (data->empty()) return absl::InvalidArgumentError("'payload.data' is empty");
  r.rows.reserve(data->size());
  for (size_t i = 0; i < data->size(); ++i) {
    const json& row = (*data)[i];
    if (row.is_string()) {
      r.rows.push_back(row.get<std::string>());
    } else if (row.is_array() && row.size() == 1 && row[0].is_string()) {
      r.rows.push_back(row[0].get<std::string>());
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("row ", i, " of 'payload.data' must be a string (or a one-element array of a string)"));
    }
  }
  return r;
}

absl::StatusOr<ParsedBatch> ValidateBatch(const UploadRequest& request, std::vector<InvalidRow>* rejected) {
  ParsedBatch out;
  if (request.rows.size() > kMaxBatchRows) {
    return absl::InvalidArgumentError(absl::StrCat("a batch holds at most 10,000 rows; this one has ",
                                                   request.rows.size(), ": split the upload into more batches"));
  }
  if (request.schema == Schema::kPhoneSha256) {
    std::vector<InvalidRow> bad;
    out.digests.resize(request.rows.size());
    for (size_t i = 0; i < request.rows.size(); ++i) {
      const std::string& row = request.rows[i];
      if (DecodeLowerHexSha256(row, &out.digests[i])) continue;
      InvalidRow r;
      r.index = i;
      r.reason = "not_sha256";
      r.message = row.size() == 64 ? "not lowercase hexadecimal"
                                   : absl::StrCat("expected 64 hexadecimal characters, got ", row.size());
      bad.push_back(std::move(r));
    }
    if (!bad.empty()) {
      size_t count = bad.size();
      size_t first = bad.front().index;
      std::fill(out.digests.begin(), out.digests.end(), phone::Digest{});
      if (rejected) *rejected = std::move(bad);
      return absl::InvalidArgumentError(
          absl::StrCat(count, " row(s) are not SHA-256 hashes (64 lowercase hex characters of the E.164 digits "
                       "without '+'), the first at index ", first, "; nothing from this batch was stored"));
    }
    return out;
  }
  if (!request.country.empty() && !phone::IsKnownRegion(request.country)) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown country '", request.country.substr(0, 8), "': use an ISO 3166 code such as US"));
  }
  std::vector<std::string_view> views(request.rows.begin(), request.rows.end());
  // One thread: libphonenumber serializes parsing inside a process anyway.
  auto results = phone::NormalizeAndHashBatch(views, request.country, 1);
  out.digests.reserve(results.size());
  for (size_t i = 0; i < results.size(); ++i) {
    if (results[i].reason != phone::Reason::kOk) {
      out.invalid.push_back(
          {i, std::string(phone::ReasonCode(results[i].reason)), std::string(phone::ReasonText(results[i].reason))});
      continue;
    }
    phone::Digest d;
    phone::FromHex(results[i].value, &d);
    out.digests.push_back(d);
  }
  return out;
}

}  // namespace tandem::ads
