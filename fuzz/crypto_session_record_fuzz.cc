// Fuzz target for session record deserialization: malformed records must be
// rejected with a Status; accepted ones must serialize back to a record that
// parses to the same value, and must be usable without crashing.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "common/random.h"
#include "crypto/session.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto record = tandem::crypto::SessionRecord::Deserialize(std::span<const uint8_t>(data, size));
  if (!record.ok()) return 0;
  auto bytes = record->Serialize();
  auto again = tandem::crypto::SessionRecord::Deserialize(bytes);
  if (!again.ok() || !(*again == *record) || again->Serialize() != bytes) std::abort();
  if (record->has_session()) {
    static const uint8_t kText[] = "fuzz";
    auto m = tandem::crypto::Encrypt(*record, kText);
    if (!m.ok()) std::abort();
    tandem::SeededRandom random(size);
    (void)tandem::crypto::DecryptSignalMessage(*record, m->bytes, random);
  }
  return 0;
}
