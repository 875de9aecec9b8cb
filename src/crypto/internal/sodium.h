// libsodium initialization: sodium_init() picks the fastest implementation
// of each primitive for this CPU, so call EnsureSodium() before using them.
#pragma once

#include <sodium.h>

#include <cstdlib>

namespace tandem::crypto::internal {

inline void EnsureSodium() {
  static const bool initialized = [] {
    if (sodium_init() < 0) std::abort();  // Cannot happen on a working system.
    return true;
  }();
  (void)initialized;
}

}  // namespace tandem::crypto::internal
