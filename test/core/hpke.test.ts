// HPKE's Base mode as hpke.ts writes it out (setupBaseSender, openBase: section 7.3's seal and open)
// against @hpke's own, on every pair of curve and symmetric implementations: the same `enc` and
// ciphertext from the same ephemeral ikm, each opens what the other sealed with a fresh ephemeral
// key, and what must be refused is. Then what the written-out form saves and must keep: one
// message per sender context, and five HMACs per seal or open once an info's key schedule
// context is known. (The messages-v2 vectors, sealed and opened byte for byte through it, are in
// messagesV2.test.ts, symmetric.test.ts and curves.test.ts.)

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { toHex, utf8 } from '../../src/core/bytes.js';
import { type CurveCrypto, curves, nobleCurves, useCurves } from '../../src/core/curves.js';
import { hpkeSuite, nobleSymmetric, openBase, setupBaseSender } from '../../src/core/hpke.js';
import { type SymmetricCrypto, installedSymmetric, useSymmetric } from '../../src/core/symmetric.js';
import { nativeCurves } from '../../src/node/nativeCurves.js';
import { nativeSymmetric } from '../../src/node/nativeSymmetric.js';

const installedBefore = { curves: curves(), symmetric: installedSymmetric() };
const restore = (): void => {
  useCurves(installedBefore.curves);
  useSymmetric(installedBefore.symmetric);
};
after(restore);

const info = utf8('agent-pair/v2 message');
const bytes = (length: number): Uint8Array => new Uint8Array(randomBytes(length));
/** The secret and public key of a fresh recipient key pair, on the installed curves. */
function recipient(): { secret: Uint8Array; public: Uint8Array } {
  const secret = bytes(32);
  return { secret, public: curves().x25519PublicKey(secret) };
}
/** A low-order point (u = 1): X25519 of any secret with it is all zeros, which HPKE refuses. */
const LOW_ORDER = Uint8Array.from({ length: 32 }, (_, index) => (index === 0 ? 1 : 0));

for (const curveImplementation of [nobleCurves, nativeCurves] as CurveCrypto[]) {
  for (const symmetricImplementation of [nobleSymmetric, nativeSymmetric] as SymmetricCrypto[]) {
    describe(`HPKE Base mode on ${curveImplementation.name} curves and ${symmetricImplementation.name} symmetric primitives`, () => {
      const install = (): void => {
        useCurves(curveImplementation);
        useSymmetric(symmetricImplementation);
      };

      it('gives @hpke\'s enc and ciphertext from the same ephemeral ikm (DeriveKeyPair), for plaintexts of 0 to 1,000 bytes', async () => {
        install();
        try {
          const suite = hpkeSuite();
          for (const length of [0, 1, 63, 64, 1000]) {
            const key = recipient();
            const ikm = bytes(32);
            const [plaintext, aad] = [bytes(length), bytes(32)];
            const sender = setupBaseSender(key.public, info, ikm);
            const ours = sender.seal(plaintext, aad);
            const theirs = await suite.createSenderContext({ recipientPublicKey: await suite.kem.deserializePublicKey(key.public), info, ekm: ikm });
            assert.equal(toHex(sender.enc), toHex(new Uint8Array(theirs.enc)), `enc, ${length} bytes`);
            assert.equal(toHex(ours), toHex(new Uint8Array(await theirs.seal(plaintext, aad))), `ciphertext, ${length} bytes`);
          }
        } finally {
          restore();
        }
      });

      it('opens what @hpke sealed, and @hpke opens what it sealed, each with a fresh ephemeral key', async () => {
        install();
        try {
          const suite = hpkeSuite();
          const key = recipient();
          const [plaintext, aad] = [bytes(300), bytes(32)];
          const theirs = await suite.createSenderContext({ recipientPublicKey: await suite.kem.deserializePublicKey(key.public), info });
          const sealedByThem = new Uint8Array(await theirs.seal(plaintext, aad));
          assert.deepEqual(openBase(new Uint8Array(theirs.enc), key.secret, info, aad, sealedByThem), plaintext);

          const sender = setupBaseSender(key.public, info);
          const sealedByUs = sender.seal(plaintext, aad);
          const recipientKey = await suite.kem.deserializePrivateKey(Uint8Array.from(key.secret));
          assert.deepEqual(new Uint8Array(await suite.open({ recipientKey, enc: sender.enc, info }, sealedByUs, aad)), plaintext);
        } finally {
          restore();
        }
      });

      it('refuses to open under another key, info or associated data, with a byte altered, or with a low-order enc; and to seal to a low-order key', () => {
        install();
        try {
          const key = recipient();
          const [plaintext, aad] = [bytes(100), bytes(32)];
          const sender = setupBaseSender(key.public, info);
          const sealed = sender.seal(plaintext, aad);
          assert.deepEqual(openBase(sender.enc, key.secret, info, aad, sealed), plaintext);
          assert.throws(() => openBase(sender.enc, recipient().secret, info, aad, sealed), 'another recipient key');
          assert.throws(() => openBase(sender.enc, key.secret, utf8('agent-pair/v1 message'), aad, sealed), 'another info');
          assert.throws(() => openBase(sender.enc, key.secret, info, bytes(32), sealed), 'other associated data');
          for (const index of [0, sealed.length - 1]) {
            const altered = Uint8Array.from(sealed);
            altered[index] = (altered[index] ?? 0) ^ 1;
            assert.throws(() => openBase(sender.enc, key.secret, info, aad, altered), `byte ${index} altered`);
          }
          assert.throws(() => openBase(LOW_ORDER, key.secret, info, aad, sealed), 'a low-order enc');
          assert.throws(() => setupBaseSender(LOW_ORDER, info), 'a low-order recipient key');
        } finally {
          restore();
        }
      });
    });
  }
}

describe('HPKE Base mode, written out', () => {
  it('seals one message per sender context: a second seal would repeat its nonce, and throws', () => {
    const sender = setupBaseSender(recipient().public, info);
    sender.seal(utf8('once'), utf8('aad'));
    assert.throws(() => sender.seal(utf8('twice'), utf8('aad')), /sealed its one message already/);
  });

  it('computes five HMACs per seal and per open once the info\'s key schedule context is known, with one X25519 key and DH each way', () => {
    const calls = { hmac: 0, randomSecret: 0, publicKey: 0, sharedSecret: 0 };
    useSymmetric({ ...nativeSymmetric, name: 'recording', hmacSha256: (key, data) => (calls.hmac++, nativeSymmetric.hmacSha256(key, data)) });
    useCurves({
      ...nativeCurves,
      name: 'recording',
      x25519RandomSecret: () => (calls.randomSecret++, nativeCurves.x25519RandomSecret()),
      x25519PublicKey: (secret) => (calls.publicKey++, nativeCurves.x25519PublicKey(secret)),
      x25519SharedSecret: (secret, publicKey) => (calls.sharedSecret++, nativeCurves.x25519SharedSecret(secret, publicKey)),
    });
    try {
      const secret = bytes(32);
      const key = { secret, public: nativeCurves.x25519PublicKey(secret) };
      const freshInfo = utf8('an info this process has not used');
      setupBaseSender(key.public, freshInfo).seal(utf8('first'), utf8('aad'));
      // The first seal under an info also makes its context: psk_id_hash and info_hash.
      assert.equal(calls.hmac, 5 + 2);
      Object.assign(calls, { hmac: 0, randomSecret: 0, publicKey: 0, sharedSecret: 0 });
      const sender = setupBaseSender(key.public, freshInfo);
      const sealed = sender.seal(utf8('second'), utf8('aad'));
      assert.deepEqual(calls, { hmac: 5, randomSecret: 1, publicKey: 1, sharedSecret: 1 });
      Object.assign(calls, { hmac: 0, randomSecret: 0, publicKey: 0, sharedSecret: 0 });
      assert.equal(new TextDecoder().decode(openBase(sender.enc, key.secret, freshInfo, utf8('aad'), sealed)), 'second');
      assert.deepEqual(calls, { hmac: 5, randomSecret: 0, publicKey: 1, sharedSecret: 1 });
    } finally {
      restore();
    }
  });
});
