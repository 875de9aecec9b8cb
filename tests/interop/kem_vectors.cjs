// Derives the known answers in src/crypto/kem_test.cc from two independent
// JavaScript implementations:
//   ML-KEM-1024: @noble/post-quantum 0.7.1 `ml_kem1024` (FIPS 203 final);
//   Kyber-1024:  @noble/post-quantum 0.1.0 `kyber1024`, an early release that has
//                CRYSTALS-Kyber round 3 (SHA3/SHAKE; encapsulation hashes m
//                with H, shared secret SHAKE256(K̄ ‖ H(c))).
// Both take keygen(d ‖ z) and encapsulate(ek, m) with the seeds passed in.
//
//   (cd tests/kem_vectors && npm ci) && node tests/interop/kem_vectors.cjs
//
// KEM_VECTORS_NODE_MODULES names another node_modules directory holding
// those packages. Prints one C++ initializer per vector: kind, n, SHA-256 of
// ek, of dk and of c, the shared secret, and the shared secret that
// decapsulating c with its first byte flipped (bit 0) gives, which is the
// implicit rejection key.
'use strict';

const crypto = require('node:crypto');
const path = require('node:path');
const { pathToFileURL } = require('node:url');

const modules = process.env.KEM_VECTORS_NODE_MODULES || path.join(__dirname, '..', 'kem_vectors', 'node_modules');

// The seeds kem_test.cc's Seed() builds: byte i of seed `label` for vector n.
function seed(label, n) {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = (label * 64 + n * 7 + i * 13) & 0xff;
  return out;
}

const sha256 = (bytes) => crypto.createHash('sha256').update(bytes).digest('hex');
const hex = (bytes) => Buffer.from(bytes).toString('hex');

async function main() {
  const final = await import(pathToFileURL(path.join(modules, '@noble/post-quantum/ml-kem.js')).href);
  const round3 = require(path.join(modules, 'noble-post-quantum-kyber-round3/ml-kem.js'));
  const kems = [
    ['KemKind::kKyber1024', round3.kyber1024],
    ['KemKind::kMlKem1024', final.ml_kem1024],
  ];
  for (const [kind, kem] of kems) {
    for (let n = 0; n < 3; n++) {
      const d = seed(1, n);
      const z = seed(2, n);
      const m = seed(3, n);
      const keygenSeed = new Uint8Array(64);
      keygenSeed.set(d, 0);
      keygenSeed.set(z, 32);
      const { publicKey, secretKey } = kem.keygen(keygenSeed);
      // Every call gets its own copy: 0.1.0's decapsulate wipes the z inside
      // the secret key it is given.
      const copy = (bytes) => Uint8Array.from(bytes);
      const { cipherText, sharedSecret } = kem.encapsulate(copy(publicKey), copy(m));
      if (hex(kem.decapsulate(copy(cipherText), copy(secretKey))) !== hex(sharedSecret)) {
        throw new Error('round trip');
      }
      const flipped = copy(cipherText);
      flipped[0] ^= 1;
      const rejected = kem.decapsulate(flipped, copy(secretKey));
      console.log(`    {${kind}, ${n}, "${sha256(publicKey)}",\n     "${sha256(secretKey)}",\n` +
                  `     "${sha256(cipherText)}",\n     "${hex(sharedSecret)}",\n     "${hex(rejected)}"},`);
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
