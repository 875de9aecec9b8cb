// The crypto_bench scenarios run with the npm implementation
// (@privacyresearch/libsignal-protocol-typescript) on Node, for comparison:
// session setups per second, and encrypt+decrypt of 100-byte messages per
// second in alternating turns and in a one-way burst.
//
//   bash tests/interop/install_peer.sh && node bench/interop_peer_bench.cjs
'use strict';

const path = require('path');
const { createRequire } = require('module');
const peerRequire = createRequire(path.join(__dirname, '..', 'tests', 'interop', 'package.json'));
const signal = peerRequire('@privacyresearch/libsignal-protocol-typescript');

class Store {
  constructor(identity, registrationId) {
    this.m = new Map([['identity', identity], ['reg', registrationId]]);
  }
  async getIdentityKeyPair() { return this.m.get('identity'); }
  async getLocalRegistrationId() { return this.m.get('reg'); }
  async isTrustedIdentity() { return true; }
  async saveIdentity() { return true; }
  async loadPreKey(id) { return this.m.get('pk' + id); }
  async storePreKey(id, kp) { this.m.set('pk' + id, kp); }
  async removePreKey(id) { this.m.delete('pk' + id); }
  async loadSignedPreKey(id) { return this.m.get('spk' + id); }
  async storeSignedPreKey(id, kp) { this.m.set('spk' + id, kp); }
  async removeSignedPreKey() {}
  async loadSession(a) { return this.m.get('s' + a); }
  async storeSession(a, r) { this.m.set('s' + a, r); }
}

async function makeDevice(name) {
  const identity = await signal.KeyHelper.generateIdentityKeyPair();
  const store = new Store(identity, signal.KeyHelper.generateRegistrationId());
  const signed = await signal.KeyHelper.generateSignedPreKey(identity, 1);
  await store.storeSignedPreKey(1, signed.keyPair);
  return { name, identity, store, signed, nextPreKey: 1 };
}

async function bundleOf(device) {
  const pk = await signal.KeyHelper.generatePreKey(device.nextPreKey++);
  await device.store.storePreKey(pk.keyId, pk.keyPair);
  return {
    identityKey: device.identity.pubKey,
    registrationId: await device.store.getLocalRegistrationId(),
    signedPreKey: { keyId: 1, publicKey: device.signed.keyPair.pubKey, signature: device.signed.signature },
    preKey: { keyId: pk.keyId, publicKey: pk.keyPair.pubKey },
  };
}

const message = new Uint8Array(100).fill(0x61).buffer;

async function decrypt(cipher, m) {
  return m.type === 3 ? cipher.decryptPreKeyWhisperMessage(m.body, 'binary') : cipher.decryptWhisperMessage(m.body, 'binary');
}

// Alice and Bob with a session in both directions.
async function connect() {
  const alice = await makeDevice('alice');
  const bob = await makeDevice('bob');
  await new signal.SessionBuilder(alice.store, new signal.SignalProtocolAddress('bob', 1)).processPreKey(await bundleOf(bob));
  const a = new signal.SessionCipher(alice.store, new signal.SignalProtocolAddress('bob', 1));
  const b = new signal.SessionCipher(bob.store, new signal.SignalProtocolAddress('alice', 1));
  await decrypt(b, await a.encrypt(message));
  await decrypt(a, await b.encrypt(message));
  return { alice, bob, a, b };
}

async function timeIt(name, seconds, body) {
  let n = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(seconds * 1e9));
  while (process.hrtime.bigint() < deadline) {
    await body(n);
    n++;
  }
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  const rate = n / elapsed;
  console.log(`${name.padEnd(24)} ${rate.toFixed(0).padStart(8)} /s   (${n} in ${elapsed.toFixed(2)} s)`);
  return rate;
}

async function main() {
  const seconds = Number(process.argv[2] || 3);
  console.log(`@privacyresearch/libsignal-protocol-typescript on Node ${process.version}, one core`);

  // As in crypto_bench: identities exist; each setup verifies a bundle, runs
  // X3DH on both sides and carries one 100-byte message.
  const bob = await makeDevice('bob');
  const alice = await makeDevice('alice');
  // Bundles (each with its own one-time prekey) are published beforehand.
  const bundles = [];
  for (let i = 0; i < Math.ceil(seconds * 40); i++) bundles.push(await bundleOf(bob));
  await timeIt('session setup', seconds, async (i) => {
    if (i >= bundles.length) throw new Error('publish more bundles: setups are faster than expected');
    const bundle = bundles[i];
    await new signal.SessionBuilder(alice.store, new signal.SignalProtocolAddress('bob', 1)).processPreKey(bundle);
    const a = new signal.SessionCipher(alice.store, new signal.SignalProtocolAddress('bob', 1));
    const b = new signal.SessionCipher(bob.store, new signal.SignalProtocolAddress('alice', 1));
    await decrypt(b, await a.encrypt(message));
  });

  {
    const { a, b } = await connect();
    await timeIt('alternating', seconds, async (i) => {
      const [from, to] = i % 2 ? [b, a] : [a, b];
      await decrypt(to, await from.encrypt(message));
    });
  }
  {
    const { a, b } = await connect();
    await timeIt('burst', seconds, async () => {
      await decrypt(b, await a.encrypt(message));
    });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
