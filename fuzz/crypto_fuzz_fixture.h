// A deterministic pair of Signal Protocol sessions shared by the crypto fuzz
// targets and the tool that writes their seed corpus, so that seeds hit the
// deep decryption paths (matching keys and MACs) and not only the parsers.
#pragma once

#include <optional>

#include "common/random.h"
#include "crypto/session.h"

namespace tandem::crypto::fuzzing {

struct Fixture {
  SeededRandom random{20240601};
  LocalIdentity alice;
  LocalIdentity bob;
  SignedPreKey bob_signed;
  OneTimePreKey bob_one_time;
  std::optional<KyberPreKey> bob_kyber;
  SessionRecord alice_record;     // v3, initiated to Bob, nothing sent yet
  SessionRecord alice_record_v4;  // v4 (PQXDH), initiated to Bob, nothing sent yet
  SessionRecord bob_record;       // empty: Bob has not heard from Alice

  Fixture() {
    alice.key_pair = KeyPair::Generate(random);
    alice.registration_id = 1111;
    bob.key_pair = KeyPair::Generate(random);
    bob.registration_id = 2222;
    bob_signed = GenerateSignedPreKey(bob.key_pair, 1, random);
    bob_one_time = GenerateOneTimePreKeys(7, 1, random)[0];
    auto bundle =
        MakePreKeyBundle(bob.registration_id, 1, bob.key_pair.public_key, bob_signed, &bob_one_time);
    alice_record = *InitiateSession(alice, bundle, random);
    bob_kyber = GenerateKyberPreKey(bob.key_pair, 9, random);
    auto bundle_v4 = MakePreKeyBundle(bob.registration_id, 1, bob.key_pair.public_key, bob_signed,
                                      &bob_one_time, &*bob_kyber);
    alice_record_v4 = *InitiateSession(alice, bundle_v4, random);
  }

  PreKeyLookup BobLookup() const {
    return PreKeyLookup{[this](uint32_t id) -> absl::StatusOr<KeyPair> {
                          if (id != bob_signed.id) return absl::NotFoundError("signed prekey");
                          return bob_signed.key_pair;
                        },
                        [this](uint32_t id) -> absl::StatusOr<KeyPair> {
                          if (id != bob_one_time.id) return absl::NotFoundError("one-time prekey");
                          return bob_one_time.key_pair;
                        },
                        [this](uint32_t id) -> absl::StatusOr<KemSecretKey> {
                          if (id != bob_kyber->id) return absl::NotFoundError("Kyber prekey");
                          return bob_kyber->key_pair.secret_key;
                        }};
  }
};

}  // namespace tandem::crypto::fuzzing
