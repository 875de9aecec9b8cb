// SHA-256 from libsodium, base64 and time formats from Abseil.
#include "common/encoding.h"

#include <sodium.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace tandem {

std::string Sha256(std::string_view data) {
  std::string out(crypto_hash_sha256_BYTES, '\0');
  crypto_hash_sha256(reinterpret_cast<unsigned char*>(out.data()),
                     reinterpret_cast<const unsigned char*>(data.data()), data.size());
  return out;
}

std::string Sha256Hex(std::string_view data) { return absl::BytesToHexString(Sha256(data)); }

std::string Base64Encode(std::string_view bytes) { return absl::Base64Escape(std::string(bytes)); }

std::string Base64Encode(std::span<const uint8_t> bytes) {
  return Base64Encode(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

absl::StatusOr<std::string> Base64Decode(std::string_view text, std::string_view what) {
  std::string out;
  if (!absl::Base64Unescape(std::string(text), &out)) {
    return absl::InvalidArgumentError(std::string(what) + " must be base64");
  }
  return out;
}

std::string UtcDay(absl::Time t) { return absl::FormatTime("%Y-%m-%d", t, absl::UTCTimeZone()); }

std::string UtcTimestamp(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

std::string LocalTimestamp(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S %Z", t, absl::LocalTimeZone());
}

}  // namespace tandem
