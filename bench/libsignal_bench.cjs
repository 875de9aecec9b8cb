// The crypto_bench scenarios run with libsignal itself (the Rust library
// through its Node binding, @signalapp/libsignal-client, as
// tests/libsignal/ pins it), for comparison on the same machine: PQXDH
// session setups per second, encrypt+decrypt of 100-byte messages per second
// in alternating turns and in a one-way burst, and sender-key (group)
// encryption and decryption of 100-byte messages.
//
//   bash tests/libsignal/install_peer.sh && node bench/libsignal_bench.cjs [seconds]
'use strict';

const path = require('path');
const { createRequire } = require('module');
const S = createRequire(path.join(__dirname, '..', 'tests', 'libsignal', 'package.json'))('@signalapp/libsignal-client');

// In-memory stores, as cheap as the binding allows.
function device(name) {
  const identity = S.IdentityKeyPair.generate();
  const registrationId = 1 + Math.floor(Math.random() * 16380);
  const m = { sessions: new Map(), prekeys: new Map(), signed: new Map(), kyber: new Map(), senderKeys: new Map() };
  const d = {
    name, identity, registrationId, address: S.ProtocolAddress.new(name, 1),
    sessions: new (class extends S.SessionStore {
      async saveSession(a, r) { m.sessions.set(a.toString(), r); }
      async getSession(a) { return m.sessions.get(a.toString()) || null; }
      async getExistingSessions(as) { return as.map((a) => m.sessions.get(a.toString())); }
    })(),
    identities: new (class extends S.IdentityKeyStore {
      async getIdentityKey() { return identity.privateKey; }
      async getLocalRegistrationId() { return registrationId; }
      async saveIdentity() { return S.IdentityChange.NewOrUnchanged; }
      async isTrustedIdentity() { return true; }
      async getIdentity() { return null; }
    })(),
    prekeys: new (class extends S.PreKeyStore {
      async savePreKey(id, r) { m.prekeys.set(id, r); }
      async getPreKey(id) { return m.prekeys.get(id); }
      async removePreKey(id) { m.prekeys.delete(id); }
    })(),
    signed: new (class extends S.SignedPreKeyStore {
      async saveSignedPreKey(id, r) { m.signed.set(id, r); }
      async getSignedPreKey(id) { return m.signed.get(id); }
    })(),
    kyber: new (class extends S.KyberPreKeyStore {
      async saveKyberPreKey(id, r) { m.kyber.set(id, r); }
      async getKyberPreKey(id) { return m.kyber.get(id); }
      async markKyberPreKeyUsed() {}
    })(),
    senderKeys: new (class extends S.SenderKeyStore {
      async saveSenderKey(s, id, r) { m.senderKeys.set(s.toString() + id, r); }
      async getSenderKey(s, id) { return m.senderKeys.get(s.toString() + id) || null; }
    })(),
    nextId: 1,
  };
  const spk = S.PrivateKey.generate();
  d.signedPublic = spk.getPublicKey();
  d.signedSignature = identity.privateKey.sign(spk.getPublicKey().serialize());
  m.signed.set(1, S.SignedPreKeyRecord.new(1, Date.now(), spk.getPublicKey(), spk, d.signedSignature));
  return d;
}

// A bundle with a fresh one-time EC prekey and a fresh Kyber prekey, as a
// server hands out (made before the timing starts).
function bundleOf(d) {
  const id = d.nextId++;
  const pk = S.PrivateKey.generate();
  d.prekeys.savePreKey(id, S.PreKeyRecord.new(id, pk.getPublicKey(), pk));
  const kp = S.KEMKeyPair.generate();
  const ksig = d.identity.privateKey.sign(kp.getPublicKey().serialize());
  d.kyber.saveKyberPreKey(id, S.KyberPreKeyRecord.new(id, Date.now(), kp, ksig));
  return S.PreKeyBundle.new(d.registrationId, 1, id, pk.getPublicKey(), 1, d.signedPublic, d.signedSignature,
    d.identity.publicKey, id, kp.getPublicKey(), ksig);
}

const message = new Uint8Array(100).fill(0x61);

async function send(from, to, plaintext) {
  const m = await S.signalEncrypt(plaintext, to.address, from.address, from.sessions, from.identities);
  if (m.type() === S.CiphertextMessageType.PreKey) {
    return S.signalDecryptPreKey(S.PreKeySignalMessage.deserialize(m.serialize()), from.address, to.address,
      to.sessions, to.identities, to.prekeys, to.signed, to.kyber);
  }
  return S.signalDecrypt(S.SignalMessage.deserialize(m.serialize()), from.address, to.address, to.sessions, to.identities);
}

async function timeIt(name, seconds, body) {
  let n = 0;
  const start = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  const deadline = start + BigInt(Math.round(seconds * 1e9));
  while (process.hrtime.bigint() < deadline) {
    await body(n);
    n++;
  }
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpuStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  // Per CPU second, like crypto_bench's items_per_second, so a loaded
  // machine penalizes both alike.
  console.log(`${name.padEnd(22)} ${(n / cpuSeconds).toFixed(0).padStart(8)} /s per CPU second` +
    `   (${n} in ${elapsed.toFixed(2)} s wall, ${cpuSeconds.toFixed(2)} s CPU)`);
}

async function main() {
  const seconds = Number(process.argv[2] || 3);
  console.log(`libsignal ${require(path.join(__dirname, '..', 'tests', 'libsignal', 'node_modules', '@signalapp', 'libsignal-client', 'package.json')).version} through Node ${process.version}, one thread`);
  S.initLogger(S.LogLevel.Error, () => {});

  // Setups: Alice processes Bob's bundle (PQXDH, both signatures checked),
  // sends a 100-byte PreKeySignalMessage, Bob runs PQXDH and decrypts it.
  {
    const bob = device('bob');
    const bundles = [];
    for (let i = 0; i < Math.ceil(seconds * 1500); i++) bundles.push(bundleOf(bob));
    await timeIt('PQXDH session setup', seconds, async (i) => {
      if (i >= bundles.length) throw new Error('publish more bundles');
      const alice = device('alice' + i);
      await S.processPreKeyBundle(bundles[i], bob.address, alice.address, alice.sessions, alice.identities);
      await send(alice, bob, message);
    });
  }
  const pair = async () => {
    const alice = device('alice'), bob = device('bob');
    await S.processPreKeyBundle(bundleOf(bob), bob.address, alice.address, alice.sessions, alice.identities);
    await send(alice, bob, message);
    await send(bob, alice, message);
    return { alice, bob };
  };
  {
    const { alice, bob } = await pair();
    await timeIt('alternating', seconds, async (i) => (i % 2 ? send(bob, alice, message) : send(alice, bob, message)));
  }
  {
    const { alice, bob } = await pair();
    await timeIt('one-way burst', seconds, async () => send(alice, bob, message));
  }
  {
    const alice = device('alice'), bob = device('bob');
    const dist = 'd1d1d1d1-2222-4333-8444-555555555555';
    const skdm = await S.SenderKeyDistributionMessage.create(alice.address, dist, alice.senderKeys);
    await S.processSenderKeyDistributionMessage(alice.address, S.SenderKeyDistributionMessage.deserialize(skdm.serialize()), bob.senderKeys);
    const sent = [];
    await timeIt('sender-key encrypt', seconds, async () => {
      sent.push((await S.groupEncrypt(alice.address, dist, alice.senderKeys, message)).serialize());
    });
    // Decryption is faster than encryption: encrypt enough first (untimed).
    while (sent.length < seconds * 20000) {
      sent.push((await S.groupEncrypt(alice.address, dist, alice.senderKeys, message)).serialize());
    }
    await timeIt('sender-key decrypt', seconds, async (i) => {
      if (i >= sent.length) throw new Error('encrypt more');
      await S.groupDecrypt(alice.address, bob.senderKeys, sent[i]);
    });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
