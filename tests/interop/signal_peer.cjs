// Interop peer for tandem's Signal Protocol library: an independent
// implementation (@privacyresearch/libsignal-protocol-typescript) driven over
// stdin/stdout, one JSON request per line, one JSON response per line.
// Byte strings travel as base64. The C++ side (interop_test.cc) decides the
// order in which messages are delivered.
'use strict';

const readline = require('readline');
const signal = require('@privacyresearch/libsignal-protocol-typescript');
const Internal = require('@privacyresearch/libsignal-protocol-typescript/lib/internal');

const b64 = (buf) => Buffer.from(buf instanceof ArrayBuffer ? new Uint8Array(buf) : buf).toString('base64');
const ab = (s) => {
  const b = Buffer.from(s, 'base64');
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
};

// In-memory store with trust on first use.
class MemoryStore {
  constructor() {
    this.data = new Map();
  }
  async getIdentityKeyPair() { return this.data.get('identityKey'); }
  async getLocalRegistrationId() { return this.data.get('registrationId'); }
  async isTrustedIdentity(identifier, identityKey) {
    const known = this.data.get('identity:' + identifier);
    return known === undefined || Buffer.compare(Buffer.from(known), Buffer.from(identityKey)) === 0;
  }
  async saveIdentity(address, key) {
    const id = address.split('.')[0];
    this.data.set('identity:' + id, key);
    return true;
  }
  async loadPreKey(id) { return this.data.get('prekey:' + id); }
  async storePreKey(id, kp) { this.data.set('prekey:' + id, kp); }
  async removePreKey(id) { this.data.delete('prekey:' + id); }
  async loadSignedPreKey(id) { return this.data.get('signed:' + id); }
  async storeSignedPreKey(id, kp) { this.data.set('signed:' + id, kp); }
  async removeSignedPreKey(id) { this.data.delete('signed:' + id); }
  async loadSession(address) { return this.data.get('session:' + address); }
  async storeSession(address, record) { this.data.set('session:' + address, record); }
}

const store = new MemoryStore();
const remote = new signal.SignalProtocolAddress('cpp', 1);
let nextPreKeyId = 1;
let cipher;

const ops = {
  async init() {
    const identity = await signal.KeyHelper.generateIdentityKeyPair();
    const registrationId = signal.KeyHelper.generateRegistrationId();
    store.data.set('identityKey', identity);
    store.data.set('registrationId', registrationId);
    const signed = await signal.KeyHelper.generateSignedPreKey(identity, 1);
    await store.storeSignedPreKey(1, signed.keyPair);
    store.data.set('signedPublic', signed);
    cipher = new signal.SessionCipher(store, remote);
    return { identityKey: b64(identity.pubKey), registrationId };
  },

  // Publishes a bundle; each call hands out a fresh one-time prekey.
  async bundle(req) {
    const identity = await store.getIdentityKeyPair();
    const signed = store.data.get('signedPublic');
    const out = {
      identityKey: b64(identity.pubKey),
      registrationId: await store.getLocalRegistrationId(),
      signedPreKeyId: signed.keyId,
      signedPreKey: b64(signed.keyPair.pubKey),
      signature: b64(signed.signature),
    };
    if (req.oneTime) {
      const pk = await signal.KeyHelper.generatePreKey(nextPreKeyId++);
      await store.storePreKey(pk.keyId, pk.keyPair);
      out.preKeyId = pk.keyId;
      out.preKey = b64(pk.keyPair.pubKey);
    }
    return out;
  },

  async hasPreKey(req) {
    return { present: (await store.loadPreKey(req.id)) !== undefined };
  },

  // Starts a session from a bundle published by the C++ side.
  async start(req) {
    const device = {
      identityKey: ab(req.identityKey),
      registrationId: req.registrationId,
      signedPreKey: { keyId: req.signedPreKeyId, publicKey: ab(req.signedPreKey), signature: ab(req.signature) },
    };
    if (req.preKey) device.preKey = { keyId: req.preKeyId, publicKey: ab(req.preKey) };
    await new signal.SessionBuilder(store, remote).processPreKey(device);
    return {};
  },

  async encrypt(req) {
    const messages = [];
    for (const p of req.plaintexts) {
      const m = await cipher.encrypt(ab(p));
      messages.push({ type: m.type, body: Buffer.from(m.body, 'latin1').toString('base64') });
    }
    return { messages };
  },

  async decrypt(req) {
    const results = [];
    for (const m of req.messages) {
      try {
        const plain = m.type === 3
          ? await cipher.decryptPreKeyWhisperMessage(ab(m.body), 'binary')
          : await cipher.decryptWhisperMessage(ab(m.body), 'binary');
        results.push({ ok: true, plaintext: b64(plain) });
      } catch (e) {
        results.push({ ok: false, error: String(e && e.message ? e.message : e) });
      }
    }
    return { results };
  },

  async fingerprint(req) {
    const identity = await store.getIdentityKeyPair();
    const number = await new signal.FingerprintGenerator(5200).createFor(
      req.localId, identity.pubKey, req.remoteId, ab(req.remoteKey));
    return { number };
  },

  async sign(req) {
    const identity = await store.getIdentityKeyPair();
    const signatures = [];
    for (const m of req.messages) signatures.push(b64(await Internal.crypto.Ed25519Sign(identity.privKey, ab(m))));
    return { signatures };
  },

  async verify(req) {
    const results = [];
    for (const item of req.items) {
      try {
        await Internal.crypto.Ed25519Verify(ab(req.key), ab(item.message), ab(item.signature));
        results.push(true);
      } catch (e) {
        results.push(false);
      }
    }
    return { results };
  },
};

async function main() {
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line.trim()) continue;
    let response;
    try {
      const req = JSON.parse(line);
      const op = ops[req.op];
      if (!op) throw new Error('unknown op ' + req.op);
      response = { ok: true, ...(await op(req)) };
    } catch (e) {
      response = { ok: false, error: String(e && e.stack ? e.stack : e) };
    }
    process.stdout.write(JSON.stringify(response) + '\n');
  }
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack ? e.stack : e) + '\n');
  process.exit(1);
});
