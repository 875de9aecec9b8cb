// X3DH/PQXDH and the Double Ratchet with Signal's v3 and v4 key
// derivations; see session.h.
//
// Key derivations (shared with every v3 implementation, and with libsignal
// for v4):
//   X3DH:     HKDF(0xFF*32 || DH1 || DH2 || DH3 [|| DH4], salt 0, "WhisperText")
//             -> root key || chain key
//   PQXDH:    HKDF(0xFF*32 || DH1 || DH2 || DH3 [|| DH4] || KEM secret, salt 0,
//             "WhisperText_X25519_SHA-256_CRYSTALS-KYBER-1024")
//             -> root key || chain key || post-quantum ratchet key
//   DH step:  HKDF(DH(ours, theirs), salt root key, "WhisperRatchet")
//             -> root key || chain key
//   chain:    message key seed = HMAC(ck, 0x01), next ck = HMAC(ck, 0x02)
//   message:  HKDF(seed, salt 0 (v4: the post-quantum ratchet's key, when
//             the message names one), "WhisperMessageKeys")
//             -> AES key (32) || MAC key (32) || IV (16)
//   MAC:      HMAC(mac key, sender identity || receiver identity || message)[:8]
#include "crypto/session.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "common/status.h"
#include "crypto/internal/messages.h"
#include "crypto/internal/primitives.h"
#include "crypto/internal/session_state.h"
#include "crypto/internal/spqr.h"
#include "crypto/xeddsa.h"

namespace tandem::crypto {
namespace {

using internal::ByteSpan;
using internal::ChainKey;
using internal::Key32;
using internal::SessionState;

constexpr char kInfoText[] = "WhisperText";
constexpr char kInfoPqxdh[] = "WhisperText_X25519_SHA-256_CRYSTALS-KYBER-1024";
constexpr char kInfoRatchet[] = "WhisperRatchet";
constexpr char kInfoMessageKeys[] = "WhisperMessageKeys";

ByteSpan Info(const char* label) {
  return ByteSpan(reinterpret_cast<const uint8_t*>(label), std::strlen(label));
}

struct MessageKeys {
  std::array<uint8_t, 80> okm;
  ByteSpan cipher_key() const { return ByteSpan(okm).subspan(0, 32); }
  ByteSpan mac_key() const { return ByteSpan(okm).subspan(32, 32); }
  ByteSpan iv() const { return ByteSpan(okm).subspan(64, 16); }
  ~MessageKeys() { internal::Wipe(okm); }
};

void DeriveMessageKeys(const Key32& seed, const std::optional<Key32>& pq_key, MessageKeys& keys) {
  internal::Hkdf(seed, pq_key ? ByteSpan(*pq_key) : ByteSpan(), Info(kInfoMessageKeys), keys.okm);
}

Key32 MessageKeySeed(const Key32& chain_key) {
  static constexpr uint8_t kSeedByte = 0x01;
  return internal::HmacSha256(chain_key, {ByteSpan(&kSeedByte, 1)});
}

Key32 NextChainKey(const Key32& chain_key) {
  static constexpr uint8_t kChainByte = 0x02;
  return internal::HmacSha256(chain_key, {ByteSpan(&kChainByte, 1)});
}

struct RootAndChain {
  Key32 root;
  Key32 chain;
  Key32 pq_auth{};  // PQXDH only
};

RootAndChain SplitKeys(const std::array<uint8_t, 64>& okm) {
  RootAndChain out;
  std::memcpy(out.root.data(), okm.data(), 32);
  std::memcpy(out.chain.data(), okm.data() + 32, 32);
  return out;
}

// One step of the DH ratchet's root chain.
absl::StatusOr<RootAndChain> RatchetRoot(const Key32& root, const PublicKey& theirs, const PrivateKey& ours) {
  ASSIGN_OR_RETURN(auto shared, Agree(ours, theirs));
  std::array<uint8_t, 64> okm;
  internal::Hkdf(shared, root, Info(kInfoRatchet), okm);
  internal::Wipe(shared);
  RootAndChain out = SplitKeys(okm);
  internal::Wipe(okm);
  return out;
}

// X3DH, or PQXDH when `kem_secret` is given.
absl::StatusOr<RootAndChain> X3dh(std::initializer_list<std::pair<const PrivateKey*, const PublicKey*>> dhs,
                                  const KemSharedSecret* kem_secret = nullptr) {
  std::vector<uint8_t> secret(32, 0xFF);
  secret.reserve(32 * (2 + dhs.size()));
  for (const auto& [ours, theirs] : dhs) {
    auto shared = Agree(*ours, *theirs);
    if (!shared.ok()) {
      internal::Wipe(secret);
      return shared.status();
    }
    secret.insert(secret.end(), shared->begin(), shared->end());
    internal::Wipe(*shared);
  }
  if (kem_secret == nullptr) {
    std::array<uint8_t, 64> okm;
    internal::Hkdf(secret, {}, Info(kInfoText), okm);
    internal::Wipe(secret);
    RootAndChain out = SplitKeys(okm);
    internal::Wipe(okm);
    return out;
  }
  secret.insert(secret.end(), kem_secret->begin(), kem_secret->end());
  std::array<uint8_t, 96> okm;
  internal::Hkdf(secret, {}, Info(kInfoPqxdh), okm);
  internal::Wipe(secret);
  RootAndChain out;
  std::memcpy(out.root.data(), okm.data(), 32);
  std::memcpy(out.chain.data(), okm.data() + 32, 32);
  std::memcpy(out.pq_auth.data(), okm.data() + 64, 32);
  internal::Wipe(okm);
  return out;
}

std::array<uint8_t, 32> Mac(ByteSpan mac_key, const PublicKey& sender, const PublicKey& receiver,
                            ByteSpan authenticated) {
  return internal::HmacSha256(mac_key, {sender.Serialize(), receiver.Serialize(), authenticated});
}

// Finds or creates (by a DH ratchet step) the receiving chain for
// `ratchet_key`. Mutates `state`, which is a scratch copy.
absl::StatusOr<internal::ReceiverChain*> ReceiverChainFor(SessionState& state, const PublicKey& ratchet_key,
                                                          Random& random) {
  for (auto& chain : state.receiver_chains) {
    if (chain.ratchet_key == ratchet_key) return &chain;
  }
  ASSIGN_OR_RETURN(RootAndChain receiving,
                   RatchetRoot(state.root_key, ratchet_key, state.sender_ratchet.private_key));
  KeyPair next_ratchet = KeyPair::Generate(random);
  ASSIGN_OR_RETURN(RootAndChain sending, RatchetRoot(receiving.root, ratchet_key, next_ratchet.private_key));
  if (state.receiver_chains.size() >= internal::kMaxReceiverChains) {
    state.receiver_chains.erase(state.receiver_chains.begin());
  }
  state.receiver_chains.push_back(internal::ReceiverChain{ratchet_key, ChainKey{0, receiving.chain}, {}});
  // The counter of the last message sent on the chain being closed, as v3
  // implementations put it on the wire.
  state.previous_counter = std::max<uint32_t>(state.sender_chain.index, 1) - 1;
  state.sender_ratchet = std::move(next_ratchet);
  state.sender_chain = ChainKey{0, sending.chain};
  state.root_key = sending.root;
  return &state.receiver_chains.back();
}

absl::StatusOr<Key32> MessageKeySeedFor(internal::ReceiverChain& chain, uint32_t counter) {
  if (counter < chain.chain.index) {
    auto it = std::find_if(chain.skipped.begin(), chain.skipped.end(),
                           [&](const internal::SkippedKey& k) { return k.counter == counter; });
    if (it == chain.skipped.end()) {
      return absl::AlreadyExistsError("duplicate message: counter " + std::to_string(counter) +
                                      " was already received (or its key expired)");
    }
    Key32 seed = it->seed;
    chain.skipped.erase(it);
    return seed;
  }
  if (counter - chain.chain.index > internal::kMaxSkip) {
    return absl::ResourceExhaustedError("message is " + std::to_string(counter - chain.chain.index) +
                                        " messages ahead; at most " + std::to_string(internal::kMaxSkip) +
                                        " may be skipped");
  }
  Key32 key = chain.chain.key;
  for (uint32_t i = chain.chain.index; i < counter; ++i) {
    chain.skipped.push_back(internal::SkippedKey{i, MessageKeySeed(key)});
    key = NextChainKey(key);
  }
  if (chain.skipped.size() > internal::kMaxSkippedKeysPerChain) {
    chain.skipped.erase(chain.skipped.begin(),
                        chain.skipped.begin() + (chain.skipped.size() - internal::kMaxSkippedKeysPerChain));
  }
  Key32 seed = MessageKeySeed(key);
  if (counter == UINT32_MAX) return absl::InvalidArgumentError("message counter out of range");
  chain.chain = ChainKey{counter + 1, NextChainKey(key)};
  return seed;
}

// Decrypts `message` with `state` (a scratch copy that the caller commits on
// success).
absl::StatusOr<std::vector<uint8_t>> DecryptWithState(SessionState& state,
                                                      const internal::SignalMessageView& message,
                                                      Random& random) {
  if (message.version != state.version) {
    return absl::InvalidArgumentError("a version " + std::to_string(message.version) +
                                      " message for a version " + std::to_string(state.version) + " session");
  }
  ASSIGN_OR_RETURN(internal::ReceiverChain * chain, ReceiverChainFor(state, message.ratchet_key, random));
  ASSIGN_OR_RETURN(Key32 seed, MessageKeySeedFor(*chain, message.counter));
  std::optional<Key32> pq_key;
  if (state.pq_ratchet) {
    auto received = internal::PqRatchetReceive(*state.pq_ratchet, message.pq_ratchet);
    if (!received.ok()) {
      internal::Wipe(seed);
      return received.status();
    }
    pq_key = *received;
  }
  MessageKeys keys;
  DeriveMessageKeys(seed, pq_key, keys);
  if (pq_key) internal::Wipe(*pq_key);
  internal::Wipe(seed);
  auto mac = Mac(keys.mac_key(), state.remote_identity, state.local_identity, message.authenticated);
  if (!internal::ConstantTimeEqual(ByteSpan(mac).first(internal::kMacSize), message.mac)) {
    return absl::InvalidArgumentError("bad MAC: message not authentic for this session");
  }
  auto plaintext = internal::Aes256CbcDecrypt(keys.cipher_key(), keys.iv(), message.ciphertext);
  if (!plaintext.ok()) return plaintext.status();
  state.pending_prekey.reset();
  return std::move(*plaintext);
}

// Tries the current session, then the archived ones; commits to the record
// only on success. An archived session that works becomes current.
absl::StatusOr<std::vector<uint8_t>> DecryptWithRecord(SessionRecord& record,
                                                       const internal::SignalMessageView& message,
                                                       Random& random) {
  auto& current = internal::StatesOf(record).current;
  auto& archived = internal::StatesOf(record).archived;
  if (!current && archived.empty()) return absl::FailedPreconditionError("no session with this device");
  std::optional<absl::Status> first_error;
  SessionState scratch;
  if (current) {
    scratch = *current;
    auto result = DecryptWithState(scratch, message, random);
    if (result.ok()) {
      *current = std::move(scratch);
      return result;
    }
    // A replay or an overlong skip on a chain the current session knows
    // cannot be fixed by another session.
    if (absl::IsAlreadyExists(result.status()) || absl::IsResourceExhausted(result.status())) {
      return result.status();
    }
    first_error = result.status();
  }
  for (size_t i = 0; i < archived.size(); ++i) {
    scratch = archived[i];
    auto result = DecryptWithState(scratch, message, random);
    if (!result.ok()) {
      if (!first_error) first_error = result.status();
      continue;
    }
    archived.erase(archived.begin() + static_cast<ptrdiff_t>(i));
    if (current) archived.push_front(std::move(*current));
    current = std::move(scratch);
    return result;
  }
  return *first_error;
}

void Promote(SessionRecord& record, SessionState&& state) {
  auto& current = internal::StatesOf(record).current;
  auto& archived = internal::StatesOf(record).archived;
  if (current) {
    archived.push_front(std::move(*current));
    while (archived.size() > internal::kMaxArchivedStates) archived.pop_back();
  }
  current = std::move(state);
}

absl::Status Annotate(const absl::Status& status, const std::string& context) {
  return absl::Status(status.code(), context + ": " + std::string(status.message()));
}

}  // namespace

void SessionRecord::ArchiveCurrentSession() {
  auto& [current, archived] = internal::StatesOf(*this);
  if (!current) return;
  archived.push_front(std::move(*current));
  while (archived.size() > internal::kMaxArchivedStates) archived.pop_back();
  current.reset();
}

absl::Status InitiateSession(SessionRecord& record, const LocalIdentity& local, const PreKeyBundle& bundle,
                             Random& random) {
  if (!XEdDSAVerify(bundle.identity_key, bundle.signed_prekey.key.Serialize(),
                    bundle.signed_prekey_signature)) {
    return absl::InvalidArgumentError(
        "signed prekey signature does not verify under the bundle's identity key");
  }
  std::optional<KemEncapsulation> kem;
  if (bundle.kyber_prekey) {
    if (!XEdDSAVerify(bundle.identity_key, bundle.kyber_prekey->key.Serialize(),
                      bundle.kyber_prekey->signature)) {
      return absl::InvalidArgumentError(
          "Kyber prekey signature does not verify under the bundle's identity key");
    }
    auto encapsulated = Encapsulate(bundle.kyber_prekey->key, random);
    if (!encapsulated.ok()) return Annotate(encapsulated.status(), "the bundle's Kyber prekey");
    kem = std::move(*encapsulated);
  }
  KeyPair base = KeyPair::Generate(random);
  const PrivateKey& ika = local.key_pair.private_key;
  const PublicKey& spkb = bundle.signed_prekey.key;
  const KemSharedSecret* kem_secret = kem ? &kem->shared_secret : nullptr;
  absl::StatusOr<RootAndChain> derived =
      bundle.one_time_prekey
          ? X3dh({{&ika, &spkb},
                  {&base.private_key, &bundle.identity_key},
                  {&base.private_key, &spkb},
                  {&base.private_key, &bundle.one_time_prekey->key}},
                 kem_secret)
          : X3dh({{&ika, &spkb}, {&base.private_key, &bundle.identity_key}, {&base.private_key, &spkb}},
                 kem_secret);
  if (kem) internal::Wipe(kem->shared_secret);
  if (!derived.ok())
    return Annotate(derived.status(), kem ? "PQXDH with the bundle's keys" : "X3DH with the bundle's keys");

  SessionState state;
  if (kem) {
    state.version = 4;
    state.pq_ratchet = internal::StartPqRatchet(derived->pq_auth, /*initiator=*/true);
    internal::Wipe(derived->pq_auth);
  }
  state.local_identity = local.key_pair.public_key;
  state.remote_identity = bundle.identity_key;
  state.local_registration_id = local.registration_id;
  state.remote_registration_id = bundle.registration_id;
  state.base_key = base.public_key;
  state.sender_ratchet = KeyPair::Generate(random);
  auto sending = RatchetRoot(derived->root, spkb, state.sender_ratchet.private_key);
  if (!sending.ok()) return Annotate(sending.status(), "first ratchet step");
  state.root_key = sending->root;
  state.sender_chain = ChainKey{0, sending->chain};
  state.pending_prekey = internal::PendingPreKey{
      bundle.one_time_prekey ? std::optional<uint32_t>(bundle.one_time_prekey->id) : std::nullopt,
      bundle.signed_prekey.id, base.public_key,
      kem ? std::optional<uint32_t>(bundle.kyber_prekey->id) : std::nullopt,
      kem ? std::move(kem->ciphertext) : std::vector<uint8_t>()};
  Promote(record, std::move(state));
  return absl::OkStatus();
}

absl::StatusOr<SessionRecord> InitiateSession(const LocalIdentity& local, const PreKeyBundle& bundle,
                                              Random& random) {
  SessionRecord record;
  RETURN_IF_ERROR(InitiateSession(record, local, bundle, random));
  return record;
}

absl::StatusOr<CiphertextMessage> Encrypt(SessionRecord& record, std::span<const uint8_t> plaintext) {
  auto& state = internal::StatesOf(record).current;
  if (!state) return absl::FailedPreconditionError("no session with this device");
  if (state->sender_chain.index == UINT32_MAX) {
    return absl::FailedPreconditionError("sending chain exhausted; wait for a reply");
  }
  // Step a copy of the post-quantum sending chain (only it changes), so
  // that nothing changes on failure.
  std::optional<internal::PqChain> pq_sending;
  std::optional<internal::PqSend> pq_send;
  if (state->pq_ratchet) {
    pq_sending = state->pq_ratchet->sending;
    ASSIGN_OR_RETURN(pq_send, internal::PqRatchetSend(*pq_sending));
  }
  Key32 seed = MessageKeySeed(state->sender_chain.key);
  MessageKeys keys;
  DeriveMessageKeys(seed, pq_send ? std::optional<Key32>(pq_send->key) : std::nullopt, keys);
  internal::Wipe(seed);
  if (pq_send) internal::Wipe(pq_send->key);
  std::vector<uint8_t> ciphertext = internal::Aes256CbcEncrypt(keys.cipher_key(), keys.iv(), plaintext);
  std::vector<uint8_t> body = internal::SerializeSignalMessageBody(
      state->version, state->sender_ratchet.public_key, state->sender_chain.index, state->previous_counter,
      ciphertext, pq_send ? ByteSpan(pq_send->message) : ByteSpan());
  auto mac = Mac(keys.mac_key(), state->local_identity, state->remote_identity, body);
  body.insert(body.end(), mac.begin(), mac.begin() + internal::kMacSize);
  state->sender_chain = ChainKey{state->sender_chain.index + 1, NextChainKey(state->sender_chain.key)};
  if (pq_sending) state->pq_ratchet->sending = *pq_sending;

  CiphertextMessage out;
  if (state->pending_prekey) {
    const auto& pending = *state->pending_prekey;
    out.type = MessageType::kPreKey;
    out.bytes = internal::SerializePreKeySignalMessage(
        internal::PreKeyFields{state->version, state->local_registration_id, pending.prekey_id,
                               pending.signed_prekey_id, pending.base_key, state->local_identity,
                               pending.kyber_prekey_id, pending.kyber_ciphertext},
        body);
  } else {
    out.type = MessageType::kSignal;
    out.bytes = std::move(body);
  }
  return out;
}

absl::StatusOr<std::vector<uint8_t>> DecryptSignalMessage(SessionRecord& record,
                                                          std::span<const uint8_t> message, Random& random) {
  ASSIGN_OR_RETURN(auto view, internal::ParseSignalMessage(message));
  return DecryptWithRecord(record, view, random);
}

absl::StatusOr<PreKeyDecryptResult> DecryptPreKeySignalMessage(
    SessionRecord& record, const LocalIdentity& local, const PreKeyLookup& lookup,
    std::span<const uint8_t> message, Random& random,
    const std::optional<PublicKey>& expected_remote_identity) {
  ASSIGN_OR_RETURN(auto view, internal::ParsePreKeySignalMessage(message));
  if (expected_remote_identity && *expected_remote_identity != view.identity_key) {
    return absl::PermissionDeniedError("sender's identity key differs from the trusted identity key");
  }
  PreKeyDecryptResult result;
  result.remote_identity = view.identity_key;
  result.remote_registration_id = view.registration_id;

  // A prekey message for a session we already have (a repeat, or one that
  // arrives after later messages): no new X3DH, no prekey consumed.
  auto same_session = [&](const SessionState& s) {
    return s.base_key == view.base_key && s.remote_identity == view.identity_key;
  };
  bool known = (internal::StatesOf(record).current && same_session(*internal::StatesOf(record).current)) ||
               std::any_of(internal::StatesOf(record).archived.begin(),
                           internal::StatesOf(record).archived.end(), same_session);
  if (known) {
    ASSIGN_OR_RETURN(result.plaintext, DecryptWithRecord(record, view.inner, random));
    return result;
  }

  if (!lookup.signed_prekey) return absl::NotFoundError("no signed prekey lookup");
  auto signed_prekey = lookup.signed_prekey(view.signed_prekey_id);
  if (!signed_prekey.ok()) {
    return absl::NotFoundError("missing signed prekey " + std::to_string(view.signed_prekey_id) + ": " +
                               std::string(signed_prekey.status().message()));
  }
  std::optional<KeyPair> one_time;
  if (view.prekey_id) {
    auto found = lookup.one_time_prekey ? lookup.one_time_prekey(*view.prekey_id)
                                        : absl::StatusOr<KeyPair>(absl::NotFoundError("no lookup"));
    if (found.ok()) {
      one_time = std::move(*found);
    } else if (*view.prekey_id != 0) {
      // Some peers write id 0 to mean "no one-time prekey"; any other id
      // names a key that must exist (it may have been used up already).
      return absl::NotFoundError("missing one-time prekey " + std::to_string(*view.prekey_id) + ": " +
                                 std::string(found.status().message()));
    }
  }

  std::optional<KemSharedSecret> kem_secret;
  if (view.version >= 4) {
    if (!lookup.kyber_prekey) return absl::NotFoundError("no Kyber prekey lookup");
    auto kyber = lookup.kyber_prekey(*view.kyber_prekey_id);
    if (!kyber.ok()) {
      return absl::NotFoundError("missing Kyber prekey " + std::to_string(*view.kyber_prekey_id) + ": " +
                                 std::string(kyber.status().message()));
    }
    auto decapsulated = Decapsulate(*kyber, view.kyber_ciphertext);
    if (!decapsulated.ok()) return Annotate(decapsulated.status(), "the message's Kyber ciphertext");
    kem_secret = *decapsulated;
  }

  const PrivateKey& spk = signed_prekey->private_key;
  const PrivateKey& ikb = local.key_pair.private_key;
  const KemSharedSecret* kem = kem_secret ? &*kem_secret : nullptr;
  absl::StatusOr<RootAndChain> derived =
      one_time ? X3dh({{&spk, &view.identity_key},
                       {&ikb, &view.base_key},
                       {&spk, &view.base_key},
                       {&one_time->private_key, &view.base_key}},
                      kem)
               : X3dh({{&spk, &view.identity_key}, {&ikb, &view.base_key}, {&spk, &view.base_key}}, kem);
  if (kem_secret) internal::Wipe(*kem_secret);
  if (!derived.ok())
    return Annotate(derived.status(), kem ? "PQXDH with the message's keys" : "X3DH with the message's keys");

  SessionState state;
  if (kem) {
    state.version = 4;
    state.pq_ratchet = internal::StartPqRatchet(derived->pq_auth, /*initiator=*/false);
    internal::Wipe(derived->pq_auth);
  }
  state.local_identity = local.key_pair.public_key;
  state.remote_identity = view.identity_key;
  state.local_registration_id = local.registration_id;
  state.remote_registration_id = view.registration_id;
  state.base_key = view.base_key;
  state.root_key = derived->root;
  state.sender_ratchet = *signed_prekey;
  state.sender_chain = ChainKey{0, derived->chain};
  ASSIGN_OR_RETURN(result.plaintext, DecryptWithState(state, view.inner, random));
  Promote(record, std::move(state));
  result.new_session = true;
  if (one_time) result.consumed_one_time_prekey = view.prekey_id;
  result.used_kyber_prekey = view.kyber_prekey_id;
  return result;
}

absl::StatusOr<PreKeyMessageInfo> InspectPreKeySignalMessage(std::span<const uint8_t> message) {
  ASSIGN_OR_RETURN(auto view, internal::ParsePreKeySignalMessage(message));
  return PreKeyMessageInfo{view.identity_key, view.base_key, view.registration_id, view.signed_prekey_id,
                           view.prekey_id,    view.version,  view.kyber_prekey_id};
}

}  // namespace tandem::crypto
