// SPQR's first-epoch chains; see spqr.h.
#include "crypto/internal/spqr.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "common/status.h"
#include "crypto/internal/wire.h"

namespace tandem::crypto::internal {
namespace {

constexpr char kChainStart[] = "Signal PQ Ratchet V1 Chain  Start";  // two spaces, as SPQR has it
constexpr char kChainNext[] = "Signal PQ Ratchet V1 Chain Next";
constexpr uint8_t kVersion1 = 1;
constexpr uint32_t kEpoch = 1;
constexpr uint8_t kTypeNone = 0;

ByteSpan Label(const char* s, size_t n) { return ByteSpan(reinterpret_cast<const uint8_t*>(s), n); }

// Key `chain.counter + 1`; advances the chain.
Key32 Step(PqChain& chain) {
  ++chain.counter;
  std::array<uint8_t, 4 + sizeof(kChainNext) - 1> info;
  info[0] = static_cast<uint8_t>(chain.counter >> 24);
  info[1] = static_cast<uint8_t>(chain.counter >> 16);
  info[2] = static_cast<uint8_t>(chain.counter >> 8);
  info[3] = static_cast<uint8_t>(chain.counter);
  std::memcpy(info.data() + 4, kChainNext, sizeof(kChainNext) - 1);
  std::array<uint8_t, 64> okm;
  Hkdf(chain.next, {}, info, okm);
  Key32 key;
  std::memcpy(chain.next.data(), okm.data(), 32);
  std::memcpy(key.data(), okm.data() + 32, 32);
  Wipe(okm);
  return key;
}

// The header's epoch and index, which must fit 32 bits.
absl::StatusOr<uint32_t> HeaderNumber(ByteSpan in, size_t& pos, const char* name) {
  auto v = ReadVarint(in, pos);
  if (!v.ok()) {
    return absl::InvalidArgumentError(std::string("post-quantum ratchet ") + name + ": " +
                                      std::string(v.status().message()));
  }
  if (*v > UINT32_MAX)
    return absl::InvalidArgumentError(std::string("post-quantum ratchet ") + name + " is out of range");
  return static_cast<uint32_t>(*v);
}

}  // namespace

PqRatchetState StartPqRatchet(ByteSpan auth_key, bool initiator) {
  std::array<uint8_t, 96> okm;
  Hkdf(auth_key, {}, Label(kChainStart, sizeof(kChainStart) - 1), okm);
  PqRatchetState state;
  const uint8_t* a2b = okm.data() + 32;
  const uint8_t* b2a = okm.data() + 64;
  std::memcpy(state.sending.next.data(), initiator ? a2b : b2a, 32);
  std::memcpy(state.receiving.next.data(), initiator ? b2a : a2b, 32);
  Wipe(okm);
  return state;
}

absl::StatusOr<PqSend> PqRatchetSend(PqChain& sending) {
  if (sending.counter == UINT32_MAX) {
    return absl::FailedPreconditionError("post-quantum ratchet chain exhausted");
  }
  PqSend out;
  out.key = Step(sending);
  out.message.reserve(8);
  out.message.push_back(kVersion1);
  AppendVarint(out.message, kEpoch);
  AppendVarint(out.message, sending.counter);
  out.message.push_back(kTypeNone);
  return out;
}

absl::StatusOr<std::optional<Key32>> PqRatchetReceive(PqRatchetState& state, ByteSpan message) {
  if (message.empty()) {
    return absl::InvalidArgumentError(
        "the message has no post-quantum ratchet data, which a version 4 session requires");
  }
  if (message[0] != kVersion1) {
    return absl::InvalidArgumentError("unknown post-quantum ratchet version " + std::to_string(message[0]));
  }
  size_t pos = 1;
  ASSIGN_OR_RETURN(uint32_t epoch, HeaderNumber(message, pos, "epoch"));
  ASSIGN_OR_RETURN(uint32_t index, HeaderNumber(message, pos, "index"));
  if (pos >= message.size()) return absl::InvalidArgumentError("post-quantum ratchet message has no type");
  // The type and any chunk after it belong to the KEM exchange of a later
  // epoch, which tandem does not run (spqr.h).
  if (epoch != kEpoch) {
    return absl::InvalidArgumentError("post-quantum ratchet epoch " + std::to_string(epoch) +
                                      " is not supported (tandem stays in epoch 1)");
  }
  if (index == 0) return std::optional<Key32>();
  if (index <= state.receiving.counter) {
    auto it = std::find_if(state.skipped.begin(), state.skipped.end(),
                           [&](const PqSkippedKey& k) { return k.index == index; });
    if (it == state.skipped.end()) {
      return absl::AlreadyExistsError("post-quantum ratchet key " + std::to_string(index) +
                                      " was already used (or has expired)");
    }
    Key32 key = it->key;
    state.skipped.erase(it);
    return std::optional<Key32>(key);
  }
  if (index - state.receiving.counter > kPqMaxJump) {
    return absl::ResourceExhaustedError("post-quantum ratchet index " + std::to_string(index) + " is " +
                                        std::to_string(index - state.receiving.counter) + " ahead; at most " +
                                        std::to_string(kPqMaxJump) + " are derived");
  }
  while (state.receiving.counter + 1 < index) {
    Key32 skipped = Step(state.receiving);
    state.skipped.push_back(PqSkippedKey{state.receiving.counter, skipped});
  }
  if (state.skipped.size() > kPqMaxSkippedKeys) {
    state.skipped.erase(
        state.skipped.begin(),
        state.skipped.begin() + static_cast<ptrdiff_t>(state.skipped.size() - kPqMaxSkippedKeys));
  }
  return std::optional<Key32>(Step(state.receiving));
}

}  // namespace tandem::crypto::internal
