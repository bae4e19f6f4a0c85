// The symmetric port (core/symmetric.ts) that HPKE's HKDF and AEAD run on: noble's pure
// JavaScript and the runtime's native code (node/nativeSymmetric.ts) give RFC 4231's HMACs and
// RFC 8439's AEAD vector, refuse the same altered or malformed inputs, seal and open the message
// vectors (messages.json, messages-v2.json) byte for byte on either curve implementation, and
// each opens what the other sealed.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { expand as hkdfExpand } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { fromBase64, fromHex, fromUtf8, toHex, utf8 } from '../../src/core/bytes.js';
import { curves, nobleCurves, useCurves } from '../../src/core/curves.js';
import { MessageRejected, hpkeSuite, openEnvelope, sealEnvelope } from '../../src/core/messages.js';
import { HKDF_SHA256_MAX_OUTPUT_BYTES, nobleSymmetric } from '../../src/core/hpke.js';
import { type UnsignedMessageV2, openEnvelopeV2, parseEnvelopeV2, sealEnvelopeV2 } from '../../src/core/messagesV2.js';
import { type SymmetricCrypto, installedSymmetric, useSymmetric } from '../../src/core/symmetric.js';
import { nativeCurves } from '../../src/node/nativeCurves.js';
import { nativeSymmetric } from '../../src/node/nativeSymmetric.js';
import { checkSection6Vector } from './messageVectorChecks.js';
import { messageV2Vectors, messageVectors } from './vectors.js';

const alice = { seed: fromHex(messageVectors.alice.ed25519_seed_hex, 'seed'), public: fromBase64(messageVectors.alice.ed25519_public_b64, 'key') };
const bob = { seed: fromHex(messageVectors.bob.ed25519_seed_hex, 'seed'), public: fromBase64(messageVectors.bob.ed25519_public_b64, 'key') };
const vector = messageVectors.alice_to_bob;
const vectorV2 = messageV2Vectors.alice_to_bob;
const bobReceiveKey = messageV2Vectors.bob_receive_key_given_to_alice;

/** RFC 8439 section 2.8.2. */
const AEAD = {
  key: Uint8Array.from({ length: 32 }, (_, index) => 0x80 + index),
  nonce: fromHex('070000004041424344454647', 'nonce'),
  aad: fromHex('50515253c0c1c2c3c4c5c6c7', 'aad'),
  plaintext: utf8("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it."),
  sealedHex:
    'd31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116' +
    '1ae10b594f09e26a7e902ecbd0600691',
};

const implementations: SymmetricCrypto[] = [nobleSymmetric, nativeSymmetric];
const installedBefore = { curves: curves(), symmetric: installedSymmetric() };
const restore = (): void => {
  useCurves(installedBefore.curves);
  useSymmetric(installedBefore.symmetric);
};
after(restore);

for (const implementation of implementations) {
  describe(`symmetric: ${implementation.name}`, () => {
    it('gives RFC 4231 HMAC-SHA256 (test cases 2 and 6: a short key, and one longer than a block)', () => {
      assert.equal(toHex(implementation.hmacSha256(utf8('Jefe'), utf8('what do ya want for nothing?'))), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
      assert.equal(
        toHex(implementation.hmacSha256(new Uint8Array(131).fill(0xaa), utf8('Test Using Larger Than Block-Size Key - Hash Key First'))),
        '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
      );
    });

    it('seals and opens RFC 8439\'s AEAD vector, and refuses what was altered or malformed', () => {
      const sealed = implementation.chacha20Poly1305Seal(AEAD.key, AEAD.nonce, AEAD.plaintext, AEAD.aad);
      assert.equal(toHex(sealed), AEAD.sealedHex);
      assert.deepEqual(implementation.chacha20Poly1305Open(AEAD.key, AEAD.nonce, sealed, AEAD.aad), AEAD.plaintext);
      assert.deepEqual(implementation.chacha20Poly1305Open(AEAD.key, AEAD.nonce, implementation.chacha20Poly1305Seal(AEAD.key, AEAD.nonce, new Uint8Array(0), AEAD.aad), AEAD.aad), new Uint8Array(0));
      for (const index of [0, sealed.length - 1]) {
        const flipped = Uint8Array.from(sealed);
        flipped[index] = (flipped[index] ?? 0) ^ 1;
        assert.throws(() => implementation.chacha20Poly1305Open(AEAD.key, AEAD.nonce, flipped, AEAD.aad), `bit flipped at ${index}`);
      }
      assert.throws(() => implementation.chacha20Poly1305Open(AEAD.key, AEAD.nonce, sealed, AEAD.aad.subarray(1)), 'other associated data');
      assert.throws(() => implementation.chacha20Poly1305Open(AEAD.key, AEAD.nonce, sealed.subarray(0, 15), AEAD.aad), 'shorter than a tag');
      assert.throws(() => implementation.chacha20Poly1305Seal(AEAD.key.subarray(1), AEAD.nonce, AEAD.plaintext, AEAD.aad), 'a 31-byte key');
      assert.throws(() => implementation.chacha20Poly1305Seal(AEAD.key, AEAD.nonce.subarray(4), AEAD.plaintext, AEAD.aad), 'an 8-byte nonce');
      assert.throws(() => implementation.chacha20Poly1305Open(AEAD.key, AEAD.nonce.subarray(4), sealed, AEAD.aad), 'an 8-byte nonce');
    });

    for (const curveImplementation of [nobleCurves, nativeCurves]) {
      it(`seals and opens both message vectors byte for byte on ${curveImplementation.name} curves, and refuses the must_fail cases`, async () => {
        useSymmetric(implementation);
        useCurves(curveImplementation);
        try {
          await checkSection6Vector();

          const openFailed = (error: unknown): boolean => error instanceof MessageRejected && error.reason === 'open_failed';
          const unsigned = vectorV2.message_unsigned as unknown as UnsignedMessageV2;
          const sealedV2 = await sealEnvelopeV2({
            senderSeed: alice.seed,
            kid: vectorV2.kid,
            recipientSlotId: vectorV2.bob_slot_id,
            message: unsigned,
            ephemeralIkm: fromHex(vectorV2.ephemeral_ikm_hex, 'ikm'),
            recipientKey: fromBase64(bobReceiveKey.pub, 'pub'),
          });
          assert.equal(fromUtf8(sealedV2), vectorV2.envelope_utf8);
          const envelope = parseEnvelopeV2(sealedV2);
          assert.ok(envelope);
          const expect = { from: messageV2Vectors.alice.fingerprint, to: messageV2Vectors.bob.fingerprint, now: Date.parse(unsigned.sent_at) };
          const opened = await openEnvelopeV2({ envelope, recipientSecret: fromHex(bobReceiveKey.x25519_secret_hex, 'secret'), ownSlotId: vectorV2.bob_slot_id, senderPublic: alice.public, expect });
          assert.deepEqual(opened, JSON.parse(vectorV2.plaintext_utf8));
          await assert.rejects(
            openEnvelopeV2({ envelope, recipientSecret: fromHex(bobReceiveKey.x25519_secret_hex, 'secret'), ownSlotId: messageVectors.must_fail.opened_under_another_slot_id, senderPublic: alice.public, expect }),
            openFailed,
          );
        } finally {
          restore();
        }
      });
    }
  });
}

describe('symmetric: noble and native together', () => {
  it('HPKE runs its HKDF and AEAD on the installed implementation', async () => {
    const calls = { hmac: 0, seal: 0, open: 0 };
    const recording: SymmetricCrypto = {
      name: 'recording',
      hmacSha256: (key, data) => (calls.hmac++, nativeSymmetric.hmacSha256(key, data)),
      chacha20Poly1305Seal: (key, nonce, plaintext, aad) => (calls.seal++, nativeSymmetric.chacha20Poly1305Seal(key, nonce, plaintext, aad)),
      chacha20Poly1305Open: (key, nonce, sealed, aad) => (calls.open++, nativeSymmetric.chacha20Poly1305Open(key, nonce, sealed, aad)),
    };
    useSymmetric(recording);
    try {
      const sealed = await sealEnvelope({ senderSeed: alice.seed, recipientPublic: bob.public, recipientSlotId: vector.bob_slot_id, plaintext: utf8('recorded') });
      assert.equal(calls.seal, 1);
      const hmacsPerSeal = calls.hmac;
      assert.ok(hmacsPerSeal > 0);
      assert.equal(fromUtf8(await openEnvelope({ recipientSeed: bob.seed, senderPublic: alice.public, ownSlotId: vector.bob_slot_id, envelope: sealed })), 'recorded');
      assert.equal(calls.open, 1);
      assert.equal(calls.hmac, 2 * hmacsPerSeal);
    } finally {
      restore();
    }
  });

  it('each opens what the other sealed with a fresh ephemeral key', async () => {
    for (const [sealer, opener] of [
      [nobleSymmetric, nativeSymmetric],
      [nativeSymmetric, nobleSymmetric],
    ] as const) {
      try {
        useSymmetric(sealer);
        const sealed = await sealEnvelope({ senderSeed: alice.seed, recipientPublic: bob.public, recipientSlotId: vector.bob_slot_id, plaintext: utf8(`from ${sealer.name}`) });
        useSymmetric(opener);
        assert.equal(fromUtf8(await openEnvelope({ recipientSeed: bob.seed, senderPublic: alice.public, ownSlotId: vector.bob_slot_id, envelope: sealed })), `from ${sealer.name}`);
      } finally {
        restore();
      }
    }
  });

  it('the suite\'s HKDF-Expand gives its most, 255 blocks (HKDF_SHA256_MAX_OUTPUT_BYTES), as noble\'s HKDF does, and refuses one byte more', async () => {
    const prk = new Uint8Array(32).fill(7);
    const info = utf8('limit');
    for (const implementation of implementations) {
      useSymmetric(implementation);
      try {
        const { kdf } = await hpkeSuite();
        const most = new Uint8Array(await kdf.expand(prk, info, HKDF_SHA256_MAX_OUTPUT_BYTES));
        assert.equal(toHex(most), toHex(hkdfExpand(sha256, prk, info, HKDF_SHA256_MAX_OUTPUT_BYTES)));
        await assert.rejects(async () => kdf.expand(prk, info, HKDF_SHA256_MAX_OUTPUT_BYTES + 1), { message: `HKDF-Expand gives 0 to ${HKDF_SHA256_MAX_OUTPUT_BYTES} bytes, not ${HKDF_SHA256_MAX_OUTPUT_BYTES + 1}` });
      } finally {
        restore();
      }
    }
  });

  it('the suite\'s HKDF-SHA256 gives RFC 5869 test cases 1 and 3 on both (one block and more, a salt and none)', async () => {
    const ikm = new Uint8Array(22).fill(0x0b);
    for (const implementation of implementations) {
      useSymmetric(implementation);
      try {
        const { kdf } = await hpkeSuite();
        const prk = new Uint8Array(await kdf.extract(fromHex('000102030405060708090a0b0c', 'salt'), ikm));
        assert.equal(toHex(prk), '077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5');
        const okm = new Uint8Array(await kdf.expand(prk, fromHex('f0f1f2f3f4f5f6f7f8f9', 'info'), 42));
        assert.equal(toHex(okm), '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865');
        const unsalted = new Uint8Array(await kdf.extractAndExpand(new Uint8Array(0), ikm, new Uint8Array(0), 42));
        assert.equal(toHex(unsalted), '8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8');
      } finally {
        restore();
      }
    }
  });
});
