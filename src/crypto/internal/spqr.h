// The part of the Sparse Post-Quantum Ratchet (SPQR, libsignal's "triple
// ratchet") that tandem runs: the symmetric chains of its first epoch.
//
// A v4 session's PQXDH yields, besides the root and chain keys, an SPQR
// authentication key. From it SPQR derives one chain per direction
//
//   HKDF(ikm auth key, salt 0, "Signal PQ Ratchet V1 Chain  Start") -> 96 bytes:
//     [0, 32) next epoch's root (unused here), [32, 64) initiator -> responder,
//     [64, 96) responder -> initiator
//   step n = 1, 2, ...: HKDF(ikm next, salt 0, be32(n) || "Signal PQ Ratchet
//     V1 Chain Next") -> next (32) || key n (32)
//
// and every message carries an SPQR message in SignalMessage field 5:
//
//   0x01 (version 1) || varint epoch || varint index || type byte || [chunk]
//
// Index n > 0 says the message's keys were derived with key n of the
// sender's chain as the HKDF salt (crypto/session.cc); index 0 means no salt.
// Full SPQR goes on to run ML-KEM-768 exchanges in chunks (the types and
// chunks above) and moves to epoch 2, 3, ... as each completes. tandem never
// starts one and ignores the chunks it is sent, so both sides stay in epoch
// 1, which libsignal accepts indefinitely; docs/crypto.md says what that
// keeps and what it gives up.
#pragma once

#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/internal/primitives.h"
#include "crypto/internal/session_state.h"

namespace tandem::crypto::internal {

inline constexpr uint32_t kPqMaxJump = 25000;      // keys derived ahead for one message
inline constexpr size_t kPqMaxSkippedKeys = 2000;  // kept for late messages

// The state right after PQXDH, for the initiator or the responder.
PqRatchetState StartPqRatchet(ByteSpan auth_key, bool initiator);

struct PqSend {
  std::vector<uint8_t> message;  // SignalMessage field 5
  Key32 key;                     // the salt for this message's keys
};
// Steps the sending chain (`state.sending`). Fails with FailedPrecondition
// when it is exhausted.
absl::StatusOr<PqSend> PqRatchetSend(PqChain& sending);

// Reads the SPQR message of a received SignalMessage and returns the salt
// for its keys (nullopt: none). Fails with InvalidArgument on a missing or
// malformed message or an epoch other than 1, with AlreadyExists on a key
// already used, with ResourceExhausted on a jump of more than kPqMaxJump.
// Mutates `state`, which the caller commits only if the message decrypts.
absl::StatusOr<std::optional<Key32>> PqRatchetReceive(PqRatchetState& state, ByteSpan message);

}  // namespace tandem::crypto::internal
