// libsignal itself (@signalapp/libsignal-client 0.103.0, the Rust library
// through its Node binding) as the peer of tests/libsignal/libsignal_interop_test:
// PQXDH bundles with a signed Kyber-1024 prekey, version 4 PreKeySignalMessage
// and SignalMessage with the post-quantum ratchet, sender keys, safety numbers.
// One JSON request per line on stdin, one JSON response per line on stdout,
// byte strings as base64, every response has "ok". The C++ side decides the
// order of delivery.
//
// Ops (request fields -> response fields):
//   init {name?, deviceId?, remoteName?, remoteDeviceId?}
//        -> {identityKey, registrationId, name, deviceId, remoteName, remoteDeviceId}
//   bundle {oneTime?} -> {identityKey, registrationId, deviceId, signedPreKeyId, signedPreKey, signature,
//        [preKeyId, preKey], kyberPreKeyId, kyberPreKey (0x08 || key), kyberSignature}
//        Each call makes a fresh one-time EC prekey (if oneTime) and a fresh Kyber prekey.
//   hasPreKey {id} -> {present};  usedKyberPreKeys {} -> {used: [{id, signedPreKeyId, baseKey}]}
//   start {the fields bundle returns, for a bundle of the C++ side} -> {}
//   encrypt {plaintexts: [b64]} -> {messages: [{type (3 prekey | 2 signal), body}]}
//   decrypt {messages: [{type, body}]} -> {results: [{ok, plaintext} | {ok: false, error}]}
//   session {} -> {exists, hasUsableSenderChain?, remoteRegistrationId?};  archive {} -> {}
//   fingerprint {localId, remoteId, remoteKey, iterations?, version?} -> {number, scannable}
//   sign {messages} -> {signatures};  verify {key, items: [{message, signature}]} -> {results}
//   senderKeyCreate {distributionId} -> {skdm}
//   senderKeyProcess {skdm, sender?} -> {distributionId, chainId, iteration}
//   groupEncrypt {distributionId, plaintexts} -> {messages: [b64]}
//   groupDecrypt {messages: [b64], sender?} -> {results}
//   log {level?} -> {}   libsignal's log on stderr (the reason behind "decryption failed")
'use strict';

const readline = require('readline');
const S = require('@signalapp/libsignal-client');

const b64 = (b) => Buffer.from(b).toString('base64');
const bin = (s) => new Uint8Array(Buffer.from(s, 'base64'));
const hex = (b) => Buffer.from(b).toString('hex');
const errText = (e) => String(e && e.message ? e.message : e);

// ------------------------------------------------------------------ stores
const mem = { sessions: new Map(), identities: new Map(), prekeys: new Map(), signed: new Map(), kyber: new Map(), senderKeys: new Map(), usedKyber: [] };
let identity = null, registrationId = 0, local = null, remote = null;

class Sessions extends S.SessionStore {
  async saveSession(a, r) { mem.sessions.set(a.toString(), r.serialize()); }
  async getSession(a) { const r = mem.sessions.get(a.toString()); return r ? S.SessionRecord.deserialize(r) : null; }
  async getExistingSessions(as) { return as.map((a) => S.SessionRecord.deserialize(mem.sessions.get(a.toString()))); }
}
class Identities extends S.IdentityKeyStore {
  async getIdentityKey() { return identity.privateKey; }
  async getLocalRegistrationId() { return registrationId; }
  async saveIdentity(a, k) {
    const prev = mem.identities.get(a.toString());
    mem.identities.set(a.toString(), k.serialize());
    return prev && Buffer.compare(Buffer.from(prev), Buffer.from(k.serialize())) !== 0 ? S.IdentityChange.ReplacedExisting : S.IdentityChange.NewOrUnchanged;
  }
  async isTrustedIdentity(a, k) { // trust on first use
    const p = mem.identities.get(a.toString());
    return !p || Buffer.compare(Buffer.from(p), Buffer.from(k.serialize())) === 0;
  }
  async getIdentity(a) { const p = mem.identities.get(a.toString()); return p ? S.PublicKey.deserialize(p) : null; }
}
class PreKeys extends S.PreKeyStore {
  async savePreKey(id, r) { mem.prekeys.set(id, r.serialize()); }
  async getPreKey(id) { const r = mem.prekeys.get(id); if (!r) throw new Error('no prekey ' + id); return S.PreKeyRecord.deserialize(r); }
  async removePreKey(id) { mem.prekeys.delete(id); }
}
class SignedPreKeys extends S.SignedPreKeyStore {
  async saveSignedPreKey(id, r) { mem.signed.set(id, r.serialize()); }
  async getSignedPreKey(id) { const r = mem.signed.get(id); if (!r) throw new Error('no signed prekey ' + id); return S.SignedPreKeyRecord.deserialize(r); }
}
class KyberPreKeys extends S.KyberPreKeyStore {
  async saveKyberPreKey(id, r) { mem.kyber.set(id, r.serialize()); }
  async getKyberPreKey(id) { const r = mem.kyber.get(id); if (!r) throw new Error('no kyber prekey ' + id); return S.KyberPreKeyRecord.deserialize(r); }
  async markKyberPreKeyUsed(id, signedPreKeyId, baseKey) { mem.usedKyber.push({ id, signedPreKeyId, baseKey: b64(baseKey.serialize()) }); }
}
class SenderKeys extends S.SenderKeyStore {
  async saveSenderKey(sender, distId, r) { mem.senderKeys.set(sender.toString() + '/' + distId, r.serialize()); }
  async getSenderKey(sender, distId) { const r = mem.senderKeys.get(sender.toString() + '/' + distId); return r ? S.SenderKeyRecord.deserialize(r) : null; }
}
const sessions = new Sessions(), identities = new Identities(), preKeys = new PreKeys(), signedPreKeys = new SignedPreKeys(),
  kyberPreKeys = new KyberPreKeys(), senderKeys = new SenderKeys();

let nextPreKeyId = 1, nextKyberId = 1, signedPreKeyId = 1, signedPublic = null;

// The sender of a group message or distribution: `remote` unless named.
const senderOf = (req) => (req.sender ? S.ProtocolAddress.new(req.sender.name, req.sender.deviceId || 1) : remote);

function need() { if (!identity) throw new Error('init first'); }

const ops = {
  async init(req) {
    identity = S.IdentityKeyPair.generate();
    registrationId = 1 + Math.floor(Math.random() * 16380);
    local = S.ProtocolAddress.new(req.name || 'a1b2c3d4-0000-4000-8000-00000000000a', req.deviceId || 1);
    remote = S.ProtocolAddress.new(req.remoteName || '9d0652a3-dcc3-4d11-975f-74d61598733c', req.remoteDeviceId || 1);
    const spk = S.PrivateKey.generate();
    const sig = identity.privateKey.sign(spk.getPublicKey().serialize());
    const rec = S.SignedPreKeyRecord.new(signedPreKeyId, Date.now(), spk.getPublicKey(), spk, sig);
    await signedPreKeys.saveSignedPreKey(signedPreKeyId, rec);
    signedPublic = { key: spk.getPublicKey().serialize(), sig, priv: spk.serialize() };
    return { identityKey: b64(identity.publicKey.serialize()), registrationId, name: local.name(), deviceId: local.deviceId(),
      remoteName: remote.name(), remoteDeviceId: remote.deviceId() };
  },

  async bundle(req) {
    need();
    const out = { identityKey: b64(identity.publicKey.serialize()), registrationId, deviceId: local.deviceId(),
      signedPreKeyId, signedPreKey: b64(signedPublic.key), signature: b64(signedPublic.sig) };
    const secrets = { identityPrivate: b64(identity.privateKey.serialize()), signedPreKeyPrivate: b64(signedPublic.priv) };
    if (req.oneTime) {
      const id = nextPreKeyId++;
      const k = S.PrivateKey.generate();
      await preKeys.savePreKey(id, S.PreKeyRecord.new(id, k.getPublicKey(), k));
      out.preKeyId = id; out.preKey = b64(k.getPublicKey().serialize());
      secrets.preKeyPrivate = b64(k.serialize());
    }
    const kid = nextKyberId++;
    const kp = S.KEMKeyPair.generate();
    const ksig = identity.privateKey.sign(kp.getPublicKey().serialize());
    await kyberPreKeys.saveKyberPreKey(kid, S.KyberPreKeyRecord.new(kid, Date.now(), kp, ksig));
    out.kyberPreKeyId = kid; out.kyberPreKey = b64(kp.getPublicKey().serialize()); out.kyberSignature = b64(ksig);
    secrets.kyberPreKeySecret = b64(kp.getSecretKey().serialize());
    if (req.secrets) out.secrets = secrets;
    return out;
  },

  async hasPreKey(req) { return { present: mem.prekeys.has(req.id) }; },
  async usedKyberPreKeys() { return { used: mem.usedKyber }; },

  async start(req) {
    need();
    const bundle = S.PreKeyBundle.new(req.registrationId, req.deviceId || remote.deviceId(),
      req.preKey ? req.preKeyId : null, req.preKey ? S.PublicKey.deserialize(bin(req.preKey)) : null,
      req.signedPreKeyId, S.PublicKey.deserialize(bin(req.signedPreKey)), bin(req.signature),
      S.PublicKey.deserialize(bin(req.identityKey)),
      req.kyberPreKeyId, S.KEMPublicKey.deserialize(bin(req.kyberPreKey)), bin(req.kyberSignature));
    await S.processPreKeyBundle(bundle, remote, local, sessions, identities);
    return {};
  },

  async encrypt(req) {
    need();
    const messages = [];
    for (const p of req.plaintexts) {
      const m = await S.signalEncrypt(bin(p), remote, local, sessions, identities);
      messages.push({ type: m.type(), body: b64(m.serialize()) });
    }
    return { messages };
  },

  async decrypt(req) {
    need();
    const results = [];
    for (const m of req.messages) {
      try {
        const plain = m.type === 3
          ? await S.signalDecryptPreKey(S.PreKeySignalMessage.deserialize(bin(m.body)), remote, local, sessions, identities, preKeys, signedPreKeys, kyberPreKeys)
          : await S.signalDecrypt(S.SignalMessage.deserialize(bin(m.body)), remote, local, sessions, identities);
        results.push({ ok: true, plaintext: b64(plain) });
      } catch (e) {
        results.push({ ok: false, error: errText(e) });
      }
    }
    return { results };
  },

  async session() {
    const r = await sessions.getSession(remote);
    if (!r) return { exists: false };
    return { exists: true, hasUsableSenderChain: r.hasCurrentState(), remoteRegistrationId: r.hasCurrentState() ? r.remoteRegistrationId() : null };
  },

  async archive() {
    const r = await sessions.getSession(remote);
    if (r) { r.archiveCurrentState(); await sessions.saveSession(remote, r); }
    return {};
  },

  async fingerprint(req) {
    need();
    const fp = S.Fingerprint.new(req.iterations || 5200, req.version || 2, Buffer.from(req.localId), identity.publicKey,
      Buffer.from(req.remoteId), S.PublicKey.deserialize(bin(req.remoteKey)));
    return { number: fp.displayableFingerprint().toString(), scannable: b64(fp.scannableFingerprint().toBuffer()) };
  },

  async sign(req) { need(); return { signatures: req.messages.map((m) => b64(identity.privateKey.sign(bin(m)))) }; },
  async verify(req) {
    const key = S.PublicKey.deserialize(bin(req.key));
    return { results: req.items.map((it) => { try { return key.verify(bin(it.message), bin(it.signature)); } catch (_) { return false; } }) };
  },

  async senderKeyCreate(req) {
    need();
    const m = await S.SenderKeyDistributionMessage.create(local, req.distributionId, senderKeys);
    return { skdm: b64(m.serialize()) };
  },
  async senderKeyProcess(req) {
    need();
    const m = S.SenderKeyDistributionMessage.deserialize(bin(req.skdm));
    await S.processSenderKeyDistributionMessage(senderOf(req), m, senderKeys);
    return { distributionId: m.distributionId(), chainId: m.chainId(), iteration: m.iteration() };
  },
  async groupEncrypt(req) {
    need();
    const messages = [];
    for (const p of req.plaintexts) messages.push(b64((await S.groupEncrypt(local, req.distributionId, senderKeys, bin(p))).serialize()));
    return { messages };
  },
  async groupDecrypt(req) {
    need();
    const results = [];
    for (const m of req.messages) {
      try { results.push({ ok: true, plaintext: b64(await S.groupDecrypt(senderOf(req), senderKeys, bin(m))) }); }
      catch (e) { results.push({ ok: false, error: errText(e) }); }
    }
    return { results };
  },

  async log(req) {
    S.initLogger(req.level ?? S.LogLevel.Info, (level, target, file, line, message) => {
      process.stderr.write(`[libsignal ${level} ${file}:${line}] ${message}\n`);
    });
    return {};
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
