// Benchmarks for tandem's Signal Protocol library. Every figure is per core
// (single-threaded). Compare with bench/interop_peer_bench.cjs, which runs the
// same scenarios with the npm implementation, and with BM_X25519, the limit
// for anything that does a DH ratchet step per message. BM_Kem* measure
// PQXDH's ML-KEM-1024 and Kyber-1024.
//
//   cmake --build build --target crypto_bench && build/bench/crypto_bench
#include <benchmark/benchmark.h>
#include <sodium.h>

#include <vector>

#include "common/random.h"
#include "crypto/fingerprint.h"
#include "crypto/kem.h"
#include "crypto/keys.h"
#include "crypto/session.h"
#include "crypto/xeddsa.h"

namespace tandem::crypto {
namespace {

struct Device {
  explicit Device(Random& random) {
    identity.key_pair = KeyPair::Generate(random);
    identity.registration_id = GenerateRegistrationId(random);
    signed_prekey = GenerateSignedPreKey(identity.key_pair, 1, random);
    one_time = GenerateOneTimePreKeys(1, 1, random)[0];
  }
  PreKeyLookup Lookup() const {
    return PreKeyLookup{[this](uint32_t) -> absl::StatusOr<KeyPair> { return signed_prekey.key_pair; },
                        [this](uint32_t) -> absl::StatusOr<KeyPair> { return one_time.key_pair; },
                        /*kyber_prekey=*/nullptr};  // v3 sessions only
  }
  LocalIdentity identity;
  SignedPreKey signed_prekey;
  OneTimePreKey one_time;
  SessionRecord record;
};

const std::vector<uint8_t> kMessage(100, 0x61);

// Alice initiates, Bob answers, so both have a full session.
void Connect(Device& alice, Device& bob, Random& random) {
  auto bundle = MakePreKeyBundle(bob.identity.registration_id, 1, bob.identity.key_pair.public_key,
                                 bob.signed_prekey, &bob.one_time);
  alice.record = *InitiateSession(alice.identity, bundle, random);
  auto first = Encrypt(alice.record, kMessage);
  (void)*DecryptPreKeySignalMessage(bob.record, bob.identity, bob.Lookup(), first->bytes, random);
  auto reply = Encrypt(bob.record, kMessage);
  (void)*DecryptSignalMessage(alice.record, reply->bytes, random);
}

void BM_X25519(benchmark::State& state) {
  SecureRandom random;
  KeyPair a = KeyPair::Generate(random), b = KeyPair::Generate(random);
  for (auto _ : state) benchmark::DoNotOptimize(Agree(a.private_key, b.public_key));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_X25519);

void BM_KeyPairGenerate(benchmark::State& state) {
  SecureRandom random;
  for (auto _ : state) benchmark::DoNotOptimize(KeyPair::Generate(random));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_KeyPairGenerate);

void BM_XEdDSASign(benchmark::State& state) {
  SecureRandom random;
  KeyPair a = KeyPair::Generate(random);
  for (auto _ : state) benchmark::DoNotOptimize(XEdDSASign(a.private_key, kMessage, random));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_XEdDSASign);

void BM_XEdDSAVerify(benchmark::State& state) {
  SecureRandom random;
  KeyPair a = KeyPair::Generate(random);
  Signature sig = XEdDSASign(a.private_key, kMessage, random);
  for (auto _ : state) benchmark::DoNotOptimize(XEdDSAVerify(a.public_key, kMessage, sig));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_XEdDSAVerify);

// A full session setup: Alice verifies Bob's bundle and runs X3DH, sends a
// 100-byte PreKeySignalMessage, Bob runs X3DH and decrypts it.
void BM_SessionSetup(benchmark::State& state) {
  SecureRandom random;
  Device alice(random), bob(random);
  auto bundle = MakePreKeyBundle(bob.identity.registration_id, 1, bob.identity.key_pair.public_key,
                                 bob.signed_prekey, &bob.one_time);
  for (auto _ : state) {
    SessionRecord a = *InitiateSession(alice.identity, bundle, random);
    auto first = Encrypt(a, kMessage);
    SessionRecord b;
    auto r = DecryptPreKeySignalMessage(b, bob.identity, bob.Lookup(), first->bytes, random);
    if (!r.ok()) state.SkipWithError("setup failed");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SessionSetup);

// Alternating turns: each message is encrypted by one side and decrypted by
// the other, and the next goes the other way, so every decryption is a DH
// ratchet step (two X25519 agreements and one key generation).
void BM_Alternating(benchmark::State& state) {
  SecureRandom random;
  Device alice(random), bob(random);
  Connect(alice, bob, random);
  Device* from = &alice;
  Device* to = &bob;
  for (auto _ : state) {
    auto m = Encrypt(from->record, kMessage);
    auto p = DecryptSignalMessage(to->record, m->bytes, random);
    if (!p.ok()) state.SkipWithError("decrypt failed");
    std::swap(from, to);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Alternating);

// One-way burst: symmetric ratchet only.
void BM_Burst(benchmark::State& state) {
  SecureRandom random;
  Device alice(random), bob(random);
  Connect(alice, bob, random);
  for (auto _ : state) {
    auto m = Encrypt(alice.record, kMessage);
    auto p = DecryptSignalMessage(bob.record, m->bytes, random);
    if (!p.ok()) state.SkipWithError("decrypt failed");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Burst);

// Burst plus persisting the receiver's record after every message.
void BM_BurstWithRecordRoundTrip(benchmark::State& state) {
  SecureRandom random;
  Device alice(random), bob(random);
  Connect(alice, bob, random);
  for (auto _ : state) {
    auto m = Encrypt(alice.record, kMessage);
    auto p = DecryptSignalMessage(bob.record, m->bytes, random);
    bob.record = *SessionRecord::Deserialize(bob.record.Serialize());
    if (!p.ok()) state.SkipWithError("decrypt failed");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BurstWithRecordRoundTrip);

void BM_SafetyNumber(benchmark::State& state) {
  SecureRandom random;
  PublicKey a = KeyPair::Generate(random).public_key, b = KeyPair::Generate(random).public_key;
  for (auto _ : state) benchmark::DoNotOptimize(SafetyNumber("+14155550100", a, "+14155550199", b));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SafetyNumber);

// PQXDH's KEMs; the argument is libsignal's type byte (8 Kyber-1024, 10
// ML-KEM-1024). A PQXDH session setup costs one encapsulation on the
// initiator and one decapsulation on the responder.
void BM_KemKeyGenerate(benchmark::State& state) {
  SecureRandom random;
  const auto kind = static_cast<KemKind>(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(KemKeyPair::Generate(kind, random));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_KemKeyGenerate)->Arg(0x08)->Arg(0x0A);

void BM_KemEncapsulate(benchmark::State& state) {
  SecureRandom random;
  KemKeyPair pair = KemKeyPair::Generate(static_cast<KemKind>(state.range(0)), random);
  for (auto _ : state) benchmark::DoNotOptimize(Encapsulate(pair.public_key, random));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_KemEncapsulate)->Arg(0x08)->Arg(0x0A);

void BM_KemDecapsulate(benchmark::State& state) {
  SecureRandom random;
  KemKeyPair pair = KemKeyPair::Generate(static_cast<KemKind>(state.range(0)), random);
  auto sent = Encapsulate(pair.public_key, random);
  for (auto _ : state) benchmark::DoNotOptimize(Decapsulate(pair.secret_key, sent->ciphertext));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_KemDecapsulate)->Arg(0x08)->Arg(0x0A);

// What a fresh public key costs the sender end to end: parsing the bundle's
// key (which hashes it) and encapsulating, then the receiver's decapsulation.
void BM_KemParseEncapsulateDecapsulate(benchmark::State& state) {
  SecureRandom random;
  KemKeyPair pair = KemKeyPair::Generate(static_cast<KemKind>(state.range(0)), random);
  std::vector<uint8_t> serialized = pair.public_key.Serialize();
  for (auto _ : state) {
    auto key = KemPublicKey::Deserialize(serialized);
    auto sent = Encapsulate(*key, random);
    benchmark::DoNotOptimize(Decapsulate(pair.secret_key, sent->ciphertext));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_KemParseEncapsulateDecapsulate)->Arg(0x08)->Arg(0x0A);

}  // namespace
}  // namespace tandem::crypto

BENCHMARK_MAIN();
