// Upload request parsing and row validation.
#include "ads/upload.h"

#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstring>
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

bool IsLowerHexSha256(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

namespace {

// Nibbles of 32 characters; returns the mask of valid ones (-1: all).
__attribute__((target("avx2"))) int NibblesAvx2(__m256i v, __m256i* n) {
  // Signed compares: bytes >= 0x80 are negative and fail both ranges.
  const __m256i digit = _mm256_and_si256(_mm256_cmpgt_epi8(v, _mm256_set1_epi8('0' - 1)),
                                         _mm256_cmpgt_epi8(_mm256_set1_epi8('9' + 1), v));
  const __m256i letter = _mm256_and_si256(_mm256_cmpgt_epi8(v, _mm256_set1_epi8('a' - 1)),
                                          _mm256_cmpgt_epi8(_mm256_set1_epi8('f' + 1), v));
  *n = _mm256_add_epi8(_mm256_and_si256(v, _mm256_set1_epi8(0x0f)),
                       _mm256_and_si256(letter, _mm256_set1_epi8(9)));
  return _mm256_movemask_epi8(_mm256_or_si256(digit, letter));
}

// 32 characters per step with AVX2: range checks, nibbles, and pairs packed
// with a multiply-add. Used when the processor has AVX2 (checked once).
__attribute__((target("avx2"))) bool DecodeAvx2(const char* s, uint8_t* out) {
  const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s));
  const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + 32));
  __m256i na, nb;
  const int valid_a = NibblesAvx2(a, &na);
  const int valid_b = NibblesAvx2(b, &nb);
  // Each 16-bit lane: first nibble * 16 + second nibble.
  const __m256i weights = _mm256_set1_epi16(0x0110);
  const __m256i pa = _mm256_maddubs_epi16(na, weights);
  const __m256i pb = _mm256_maddubs_epi16(nb, weights);
  const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi16(pa, pb), 0xD8);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), packed);
  return (valid_a & valid_b) == -1;
}

const bool kHaveAvx2 = __builtin_cpu_supports("avx2");

absl::Status NotSha256() { return absl::InvalidArgumentError("not 64 lowercase hexadecimal characters"); }

}  // namespace

absl::StatusOr<phone::Digest> DecodeLowerHexSha256(std::string_view s) {
  if (s.size() != 64) return NotSha256();
  if (!kHaveAvx2) return DecodeLowerHexSha256Portable(s);
  phone::Digest out;
  if (!DecodeAvx2(s.data(), out.data())) return NotSha256();
  return out;
}

absl::StatusOr<phone::Digest> DecodeLowerHexSha256Portable(std::string_view s) {
  if (s.size() != 64) return NotSha256();
  phone::Digest out;
  // Eight characters per step, as bytes of one 64-bit word (SWAR): check
  // that each is '0'-'9' or 'a'-'f', turn each into its nibble, and pack
  // pairs into four output bytes. About 3x the table-per-character loop,
  // which matters because every pre-hashed row passes here.
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  uint64_t all_valid = kHigh;
  for (size_t i = 0; i < 8; ++i) {
    uint64_t v;
    std::memcpy(&v, s.data() + 8 * i, 8);
    const uint64_t ascii = ~v & kHigh;  // high bit set where the byte is < 0x80
    const uint64_t w = v & ~kHigh;      // no carries between bytes below
    const uint64_t digit = (w + (0x80 - '0') * kOnes) & ~(w + (0x80 - '9' - 1) * kOnes);
    const uint64_t letter = (w + (0x80 - 'a') * kOnes) & ~(w + (0x80 - 'f' - 1) * kOnes);
    all_valid &= (digit | letter) & ascii;
    // '0'-'9' -> low nibble; 'a'-'f' -> low nibble + 9 (bit 6 marks letters).
    const uint64_t nib = (v & 0x0F * kOnes) + 9 * ((v >> 6) & kOnes);
    uint64_t pairs = ((nib << 4) | (nib >> 8)) & 0x00FF00FF00FF00FFULL;
    pairs = (pairs | (pairs >> 8)) & 0x0000FFFF0000FFFFULL;
    pairs = (pairs | (pairs >> 16)) & 0x00000000FFFFFFFFULL;
    const uint32_t four = static_cast<uint32_t>(pairs);
    std::memcpy(out.data() + 4 * i, &four, 4);
  }
  if (all_valid != kHigh) return NotSha256();
  return out;
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
    if (c < 0x21 || c > 0x7e)
      return absl::InvalidArgumentError("'session.session_id' must be printable ASCII");
  }
  auto seq = session->find("batch_seq");
  if (seq == session->end() || !seq->is_number_unsigned() || seq->get<uint64_t>() == 0 ||
      seq->get<uint64_t>() > 1'000'000'000) {
    return absl::InvalidArgumentError("'session.batch_seq' must be an integer from 1");
  }
  r.batch_seq = static_cast<int64_t>(seq->get<uint64_t>());
  auto last = session->find("last_batch_flag");
  if (last != session->end()) {
    if (!last->is_boolean())
      return absl::InvalidArgumentError("'session.last_batch_flag' must be true or false");
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
    if (!country->is_string())
      return absl::InvalidArgumentError("'payload.country' must be a string such as \"US\"");
    r.country = country->get<std::string>();
  }
  auto data = payload->find("data");
  if (data == payload->end() || !data->is_array()) {
    return absl::InvalidArgumentError("missing array 'payload.data'");
  }
  if (data->size() > kMaxBatchRows) {
    return absl::InvalidArgumentError(absl::StrCat("a batch holds at most 10,000 rows; this one has ",
                                                   data->size(), ": split the upload into more batches"));
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
      return absl::InvalidArgumentError(absl::StrCat(
          "row ", i, " of 'payload.data' must be a string (or a one-element array of a string)"));
    }
  }
  return r;
}

absl::StatusOr<ParsedBatch> ValidateBatch(const UploadRequest& request, std::vector<InvalidRow>* rejected) {
  ParsedBatch out;
  if (request.rows.size() > kMaxBatchRows) {
    return absl::InvalidArgumentError(absl::StrCat("a batch holds at most 10,000 rows; this one has ",
                                                   request.rows.size(),
                                                   ": split the upload into more batches"));
  }
  if (request.schema == Schema::kPhoneSha256) {
    std::vector<InvalidRow> bad;
    out.digests.resize(request.rows.size());
    for (size_t i = 0; i < request.rows.size(); ++i) {
      const std::string& row = request.rows[i];
      if (absl::StatusOr<phone::Digest> d = DecodeLowerHexSha256(row); d.ok()) {
        out.digests[i] = *d;
        continue;
      }
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
          absl::StrCat(count,
                       " row(s) are not SHA-256 hashes (64 lowercase hex characters of the E.164 digits "
                       "without '+'), the first at index ",
                       first, "; nothing from this batch was stored"));
    }
    return out;
  }
  if (!request.country.empty() && !phone::IsKnownRegion(request.country)) {
    return absl::InvalidArgumentError(absl::StrCat("unknown country '", request.country.substr(0, 8),
                                                   "': use an ISO 3166 code such as US"));
  }
  std::vector<std::string_view> views(request.rows.begin(), request.rows.end());
  // One thread: libphonenumber serializes parsing inside a process anyway.
  auto results = phone::NormalizeAndHashBatch(views, request.country, 1);
  out.digests.reserve(results.size());
  for (size_t i = 0; i < results.size(); ++i) {
    if (results[i].reason != phone::Reason::kOk) {
      out.invalid.push_back({i, std::string(phone::ReasonCode(results[i].reason)),
                             std::string(phone::ReasonText(results[i].reason))});
      continue;
    }
    phone::Digest d;
    phone::FromHex(results[i].value, &d);
    out.digests.push_back(d);
  }
  return out;
}

}  // namespace tandem::ads
