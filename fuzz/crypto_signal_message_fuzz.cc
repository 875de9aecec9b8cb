// Fuzz target for both Signal message types, versions 3 and 4. Parses the input as a
// SignalMessage and as a PreKeySignalMessage, then feeds it to a live
// session: decryption must either succeed or fail with a Status, and a
// failure must leave the session record exactly as it was.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "crypto/internal/messages.h"
#include "crypto_fuzz_fixture.h"

using tandem::crypto::SessionRecord;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto* fixture = new tandem::crypto::fuzzing::Fixture();
  std::span<const uint8_t> input(data, size);
  (void)tandem::crypto::internal::ParseSignalMessage(input);
  (void)tandem::crypto::InspectPreKeySignalMessage(input);

  // Bob, with no session yet, receives the input as a prekey message.
  tandem::SeededRandom random(size);
  SessionRecord bob;
  auto r = tandem::crypto::DecryptPreKeySignalMessage(bob, fixture->bob, fixture->BobLookup(), input, random);
  if (!r.ok() && bob.has_session()) std::abort();  // a failure changed the record
  if (r.ok()) {
    // Bob now has a session: the input again (a replay), and as a plain
    // SignalMessage, must not disturb it.
    auto before = bob.Serialize();
    auto again = tandem::crypto::DecryptSignalMessage(bob, input, random);
    if (!again.ok() && bob.Serialize() != before) std::abort();
  }

  // Alice, who initiated, receives the input as a reply.
  SessionRecord alice = fixture->alice_record;
  auto reply = tandem::crypto::DecryptSignalMessage(alice, input, random);
  if (!reply.ok() && !(alice == fixture->alice_record)) std::abort();
  // The same with the v4 session, whose post-quantum ratchet reads field 5.
  SessionRecord alice_v4 = fixture->alice_record_v4;
  auto reply_v4 = tandem::crypto::DecryptSignalMessage(alice_v4, input, random);
  if (!reply_v4.ok() && !(alice_v4 == fixture->alice_record_v4)) std::abort();
  return 0;
}
