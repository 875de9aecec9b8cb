// The rate limits around one-time verification codes, shared by the
// messenger's registration and the social network's login (each service
// holds its own CodeGuard with its own Limits), and the code hash both store.
//
// A code request:
//   1. AdmitCodeRequest(client_address), before the number is parsed: the
//      per-address token is the cheap check and comes first, so that a
//      limited address cannot make the server parse anything;
//   2. the service normalizes the number;
//   3. AdmitCodeFor(e164): per number range (all but the last 4 digits)
//      and per number.
// A code check:
//   1. AdmitCheck(client_address), before the number is parsed;
//   2. the service normalizes the number;
//   3. AdmitGuess(e164): per number, however many codes were issued to it.
//      Every check costs a token, right or wrong, and issuing a new code
//      gives none back: the number of guesses at a number's codes is bounded
//      by this bucket alone (burst + one per interval), not by codes issued
//      times attempts per code.
//
// Each step takes its token or fails with ResourceExhausted ("too many ...;
// try again in N s"); a step that fails takes nothing from later steps.
// State is in memory (see common/rate_limiter.h). Thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "common/config.h"
#include "common/rate_limiter.h"
#include "common/status.h"

namespace tandem::verification {

struct Limits {
  RateLimit codes_per_address{20, absl::Minutes(3)};
  RateLimit codes_per_prefix{20, absl::Minutes(3)};
  RateLimit codes_per_number{3, absl::Minutes(10)};
  RateLimit checks_per_address{30, absl::Seconds(20)};
  RateLimit guesses_per_number{10, absl::Hours(1)};

  // Reads "<prefix>.<name>.burst" / ".interval_ms" for the names
  // codes_per_address, codes_per_prefix, codes_per_number,
  // verifies_per_address (checks_per_address) and verifies_per_number
  // (guesses_per_number); the defaults are the configuration schema's.
  static Limits FromConfig(const Config& config, const std::string& prefix);
};

class CodeGuard {
 public:
  CodeGuard(const Clock& clock, const Limits& limits);

  // `client_address` as net::Request::remote_address gives it (the port is
  // ignored).
  absl::Status AdmitCodeRequest(std::string_view client_address);
  absl::Status AdmitCodeFor(const std::string& e164);
  absl::Status AdmitCheck(std::string_view client_address);
  absl::Status AdmitGuess(const std::string& e164);

 private:
  RateLimiter codes_per_address_;
  RateLimiter codes_per_prefix_;
  RateLimiter codes_per_number_;
  RateLimiter checks_per_address_;
  RateLimiter guesses_per_number_;
};

// The number range a code request is charged to: all but the last 4 digits.
std::string NumberPrefix(const std::string& e164);

// SHA-256 over (number, code): codes are stored only hashed.
std::string CodeHash(std::string_view e164, std::string_view code);
// Constant-time comparison of two hashes.
bool SameHash(std::string_view a, std::string_view b);

}  // namespace tandem::verification
