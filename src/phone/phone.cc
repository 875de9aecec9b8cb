// libphonenumber and OpenSSL live behind this file; callers see only tandem
// types.
#include "phone/phone.h"

#include <openssl/evp.h>
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <set>
#include <thread>

namespace tandem::phone {
namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

std::string_view Trim(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

const PhoneNumberUtil& Util() { return *PhoneNumberUtil::GetInstance(); }

const std::set<std::string>& Regions() {
  static const std::set<std::string>* regions = [] {
    auto* s = new std::set<std::string>;
    Util().GetSupportedRegions(s);
    return s;
  }();
  return *regions;
}

Reason FromParseError(PhoneNumberUtil::ErrorType e) {
  switch (e) {
    case PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR:
      return Reason::kUnknownRegion;
    case PhoneNumberUtil::NOT_A_NUMBER:
      return Reason::kNotANumber;
    case PhoneNumberUtil::TOO_SHORT_AFTER_IDD:
    case PhoneNumberUtil::TOO_SHORT_NSN:
      return Reason::kTooShort;
    case PhoneNumberUtil::TOO_LONG_NSN:
      return Reason::kTooLong;
    default:
      return Reason::kNotANumber;
  }
}

Reason FromPossibility(PhoneNumberUtil::ValidationResult v) {
  switch (v) {
    case PhoneNumberUtil::INVALID_COUNTRY_CODE:
      return Reason::kUnknownRegion;
    case PhoneNumberUtil::TOO_SHORT:
    case PhoneNumberUtil::IS_POSSIBLE_LOCAL_ONLY:
      return Reason::kTooShort;
    case PhoneNumberUtil::TOO_LONG:
      return Reason::kTooLong;
    case PhoneNumberUtil::INVALID_LENGTH:
      return Reason::kInvalidLength;
    default:
      return Reason::kInvalidForRegion;
  }
}

std::atomic<uint64_t> library_parse_calls{0};

Parsed ParseOnce(const std::string& input, const std::string& region) {
  Parsed out;
  PhoneNumber number;
  const PhoneNumberUtil& util = Util();
  library_parse_calls.fetch_add(1, std::memory_order_relaxed);
  PhoneNumberUtil::ErrorType err = util.Parse(input, region, &number);
  if (err != PhoneNumberUtil::NO_PARSING_ERROR) {
    out.reason = FromParseError(err);
    return out;
  }
  if (!util.IsValidNumber(number)) {
    out.reason = FromPossibility(util.IsPossibleNumberWithReason(number));
    return out;
  }
  util.Format(number, PhoneNumberUtil::E164, &out.e164);
  // E.164 allows at most 15 digits; libphonenumber's metadata accepts a few
  // longer national ranges that no E.164 system can address.
  if (out.e164.size() > 16) {
    out.e164.clear();
    out.reason = Reason::kTooLong;
  }
  return out;
}

// Strips the visual separators people type so that a leading "00" can be seen.
std::string StripSeparators(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/' || c == '\t') continue;
    out.push_back(c);
  }
  return out;
}

bool HasLetterOrSymbol(std::string_view s) {
  // libphonenumber reads vanity letters and extensions; customer lists and
  // sign-ups do not use them, so anything beyond digits, separators and a
  // leading '+' is reported as not a number.
  for (char c : s) {
    if (IsDigit(c)) continue;
    if (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/' || c == '+' || c == '\t')
      continue;
    return true;
  }
  return false;
}

unsigned WorkerCount(unsigned requested, size_t rows) {
  unsigned n = requested ? requested : std::max(1u, std::thread::hardware_concurrency());
  // Threads are not worth starting for small batches.
  size_t max_useful = std::max<size_t>(1, rows / 2048);
  return static_cast<unsigned>(std::min<size_t>(n, max_useful));
}

template <typename Fn>
void ParallelChunks(size_t rows, unsigned threads, Fn fn) {
  unsigned n = WorkerCount(threads, rows);
  if (n <= 1) {
    fn(size_t{0}, rows);
    return;
  }
  std::vector<std::thread> workers;
  size_t chunk = (rows + n - 1) / n;
  for (unsigned t = 0; t < n; ++t) {
    size_t begin = t * chunk, end = std::min(rows, begin + chunk);
    if (begin >= end) break;
    workers.emplace_back([=] { fn(begin, end); });
  }
  for (auto& w : workers) w.join();
}

constexpr char kHexDigits[] = "0123456789abcdef";

}  // namespace

std::string_view ReasonCode(Reason r) {
  switch (r) {
    case Reason::kOk:
      return "ok";
    case Reason::kEmpty:
      return "empty";
    case Reason::kNotANumber:
      return "not_a_number";
    case Reason::kUnknownRegion:
      return "unknown_region";
    case Reason::kTooShort:
      return "too_short";
    case Reason::kTooLong:
      return "too_long";
    case Reason::kInvalidLength:
      return "invalid_length";
    case Reason::kInvalidForRegion:
      return "invalid_for_region";
    case Reason::kRegionHint:
      return "bad_region_hint";
  }
  return "unknown";
}

std::string_view ReasonText(Reason r) {
  switch (r) {
    case Reason::kOk:
      return "valid phone number";
    case Reason::kEmpty:
      return "empty input";
    case Reason::kNotANumber:
      return "not a phone number";
    case Reason::kUnknownRegion:
      return "unknown country: give the number with +country code or a region hint";
    case Reason::kTooShort:
      return "too few digits for a phone number of its country";
    case Reason::kTooLong:
      return "too many digits for a phone number of its country";
    case Reason::kInvalidLength:
      return "no phone number of its country has this many digits";
    case Reason::kInvalidForRegion:
      return "not an assigned phone number in its country";
    case Reason::kRegionHint:
      return "the region hint is not a known region code";
  }
  return "unknown";
}

uint64_t TEST_LibraryParseCalls() { return library_parse_calls.load(std::memory_order_relaxed); }

std::string RegionOf(std::string_view e164) {
  if (e164.size() > kMaxInputChars) return "";
  PhoneNumber number;
  if (Util().Parse(std::string(e164), "ZZ", &number) != PhoneNumberUtil::NO_PARSING_ERROR) return "";
  std::string region;
  Util().GetRegionCodeForNumber(number, &region);
  return region;
}

bool IsCallingCode(std::string_view digits) {
  static const std::set<std::string>* codes = [] {
    auto* s = new std::set<std::string>;
    for (const std::string& region : Regions())
      s->insert(std::to_string(Util().GetCountryCodeForRegion(region)));
    std::set<int> global;
    Util().GetSupportedGlobalNetworkCallingCodes(&global);
    for (int code : global) s->insert(std::to_string(code));
    return s;
  }();
  return codes->contains(std::string(digits));
}

bool IsKnownRegion(std::string_view region) { return Regions().contains(Upper(region)); }

Parsed Parse(std::string_view input, std::string_view region_hint) {
  Parsed out;
  std::string_view trimmed = Trim(input);
  if (trimmed.empty()) {
    out.reason = Reason::kEmpty;
    return out;
  }
  if (trimmed.size() > kMaxInputChars ||
      static_cast<size_t>(std::count_if(trimmed.begin(), trimmed.end(), IsDigit)) > kMaxInputDigits) {
    out.reason = Reason::kTooLong;
    return out;
  }
  std::string region = region_hint.empty() ? "ZZ" : Upper(region_hint);
  if (!region_hint.empty() && !Regions().contains(region)) {
    out.reason = Reason::kRegionHint;
    return out;
  }
  if (HasLetterOrSymbol(trimmed)) {
    out.reason = Reason::kNotANumber;
    return out;
  }
  std::string compact = StripSeparators(trimmed);
  if (compact.find('+', 1) != std::string::npos) {
    out.reason = Reason::kNotANumber;
    return out;
  }
  bool leading_00 = compact.size() > 2 && compact[0] == '0' && compact[1] == '0';
  if (leading_00 && region_hint.empty()) {
    // Without a region, "00" is read as the international prefix used by most
    // of the world.
    return ParseOnce("+" + compact.substr(2), region);
  }
  Parsed first = ParseOnce(std::string(trimmed), region);
  if (first.reason != Reason::kOk && leading_00) {
    Parsed retry = ParseOnce("+" + compact.substr(2), region);
    if (retry.reason == Reason::kOk) return retry;
  }
  return first;
}

absl::StatusOr<std::string> Normalize(std::string_view input, std::string_view region_hint) {
  Parsed p = Parse(input, region_hint);
  if (p.reason != Reason::kOk) return absl::InvalidArgumentError(std::string(ReasonText(p.reason)));
  return std::move(p.e164);
}

bool LooksLikeE164(std::string_view s) {
  if (s.size() < 8 || s.size() > 16 || s[0] != '+' || s[1] == '0') return false;
  for (size_t i = 1; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

PhoneHasher::PhoneHasher() {
  md_ = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  ctx_ = EVP_MD_CTX_new();
  if (md_ == nullptr || ctx_ == nullptr) std::abort();  // OpenSSL without SHA-256.
}

PhoneHasher::~PhoneHasher() {
  EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_));
  EVP_MD_free(static_cast<EVP_MD*>(md_));
}

Digest PhoneHasher::Hash(std::string_view e164) {
  if (!e164.empty() && e164[0] == '+') e164.remove_prefix(1);
  Digest d;
  auto* ctx = static_cast<EVP_MD_CTX*>(ctx_);
  unsigned int len = 0;
  EVP_DigestInit_ex2(ctx, static_cast<EVP_MD*>(md_), nullptr);
  EVP_DigestUpdate(ctx, e164.data(), e164.size());
  EVP_DigestFinal_ex(ctx, d.data(), &len);
  return d;
}

std::string PhoneHasher::HexHash(std::string_view e164) { return ToHex(Hash(e164)); }

std::string ToHex(const Digest& d) {
  std::string out(64, '0');
  for (size_t i = 0; i < d.size(); ++i) {
    out[2 * i] = kHexDigits[d[i] >> 4];
    out[2 * i + 1] = kHexDigits[d[i] & 15];
  }
  return out;
}

bool FromHex(std::string_view hex, Digest* out) {
  if (hex.size() != 64) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < 32; ++i) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    (*out)[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

std::vector<RowResult> NormalizeBatch(std::span<const std::string_view> inputs, std::string_view region_hint,
                                      unsigned threads) {
  std::vector<RowResult> out(inputs.size());
  ParallelChunks(inputs.size(), threads, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      Parsed p = Parse(inputs[i], region_hint);
      out[i].reason = p.reason;
      out[i].value = std::move(p.e164);
    }
  });
  return out;
}

std::vector<RowResult> NormalizeAndHashBatch(std::span<const std::string_view> inputs,
                                             std::string_view region_hint, unsigned threads) {
  std::vector<RowResult> out(inputs.size());
  ParallelChunks(inputs.size(), threads, [&](size_t begin, size_t end) {
    PhoneHasher hasher;
    for (size_t i = begin; i < end; ++i) {
      Parsed p = Parse(inputs[i], region_hint);
      out[i].reason = p.reason;
      if (p.reason == Reason::kOk) out[i].value = hasher.HexHash(p.e164);
    }
  });
  return out;
}

void HashNormalizedBatch(std::span<const std::string_view> inputs, std::vector<Digest>* out,
                         std::vector<Reason>* reasons, unsigned threads) {
  out->resize(inputs.size());
  reasons->assign(inputs.size(), Reason::kOk);
  ParallelChunks(inputs.size(), threads, [&](size_t begin, size_t end) {
    PhoneHasher hasher;
    for (size_t i = begin; i < end; ++i) {
      if (!LooksLikeE164(inputs[i])) {
        (*reasons)[i] = Reason::kNotANumber;
        (*out)[i] = Digest{};
        continue;
      }
      (*out)[i] = hasher.Hash(inputs[i]);
    }
  });
}

}  // namespace tandem::phone
