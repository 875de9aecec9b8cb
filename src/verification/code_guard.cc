// Rate limits and hashing of verification codes.
#include "verification/code_guard.h"

#include <openssl/crypto.h>

#include "absl/strings/str_cat.h"
#include "common/encoding.h"

namespace tandem::verification {

Limits Limits::FromConfig(const Config& config, const std::string& prefix) {
  Limits l;
  l.codes_per_address = ReadRateLimit(config, prefix + ".codes_per_address");
  l.codes_per_prefix = ReadRateLimit(config, prefix + ".codes_per_prefix");
  l.codes_per_number = ReadRateLimit(config, prefix + ".codes_per_number");
  l.checks_per_address = ReadRateLimit(config, prefix + ".verifies_per_address");
  l.guesses_per_number = ReadRateLimit(config, prefix + ".verifies_per_number");
  return l;
}

CodeGuard::CodeGuard(const Clock& clock, const Limits& limits)
    : codes_per_address_(clock, limits.codes_per_address, "verification codes from this address"),
      codes_per_prefix_(clock, limits.codes_per_prefix, "verification codes for numbers in this range"),
      codes_per_number_(clock, limits.codes_per_number, "verification codes for this number"),
      checks_per_address_(clock, limits.checks_per_address, "verification attempts from this address"),
      guesses_per_number_(clock, limits.guesses_per_number, "verification attempts for this number") {}

absl::Status CodeGuard::AdmitCodeRequest(std::string_view client_address) {
  return codes_per_address_.Take("addr:" + AddressWithoutPort(client_address));
}

absl::Status CodeGuard::AdmitCodeFor(const std::string& e164) {
  RETURN_IF_ERROR(codes_per_prefix_.Take("prefix:" + NumberPrefix(e164)));
  return codes_per_number_.Take("number:" + e164);
}

absl::Status CodeGuard::AdmitCheck(std::string_view client_address) {
  return checks_per_address_.Take("addr:" + AddressWithoutPort(client_address));
}

absl::Status CodeGuard::AdmitGuess(const std::string& e164) {
  return guesses_per_number_.Take("number:" + e164);
}

std::string NumberPrefix(const std::string& e164) {
  return e164.substr(0, e164.size() > 4 ? e164.size() - 4 : 0);
}

std::string CodeHash(std::string_view e164, std::string_view code) {
  std::string input = absl::StrCat("tandem-code:", absl::string_view(e164.data(), e164.size()), ":",
                                   absl::string_view(code.data(), code.size()));
  return Sha256(input);
}

bool SameHash(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace tandem::verification
