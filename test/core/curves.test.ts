// The curve port (core/curves.ts): noble's pure JavaScript and the runtime's native code
// (node/nativeCurves.ts) run the same vectors (protocol.json's card, messages.json's and
// messages-v2.json's keys and envelopes, HPKE's X25519, HKDF and ChaCha20-Poly1305 on the
// installed one) and refuse the same bad signatures and low-order X25519 keys, and each opens
// what the other sealed; the native HKDF and ChaCha20-Poly1305 also against their RFCs' vectors.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { expand as hkdfExpand } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { fromBase64, fromHex, fromUtf8, toBase64, toHex, utf8 } from '../../src/core/bytes.js';
import { type CurveCrypto, curves, nobleCurves, useCurves } from '../../src/core/curves.js';
import { MessageRejected, openEnvelope, sealEnvelope } from '../../src/core/messages.js';
import { type UnsignedMessageV2, openEnvelopeV2, parseEnvelopeV2, sealEnvelopeV2 } from '../../src/core/messagesV2.js';
import { nativeCurves } from '../../src/node/nativeCurves.js';
import { messageV2Vectors, messageVectors, protocolVectors } from './vectors.js';

const card = protocolVectors.card;
const cardSeed = fromHex(card.private_seed_hex, 'seed');
const cardMessage = utf8(card.canonical_unsigned);
const cardKey = fromBase64(card.card.key, 'key');
const cardSignature = fromBase64(card.card.sig, 'sig');
const alice = { seed: fromHex(messageVectors.alice.ed25519_seed_hex, 'seed'), public: fromBase64(messageVectors.alice.ed25519_public_b64, 'key') };
const bob = { seed: fromHex(messageVectors.bob.ed25519_seed_hex, 'seed'), public: fromBase64(messageVectors.bob.ed25519_public_b64, 'key') };
const vector = messageVectors.alice_to_bob;
const vectorV2 = messageV2Vectors.alice_to_bob;
const bobReceiveKey = messageV2Vectors.bob_receive_key_given_to_alice;

/**
 * u-coordinates of low order on curve25519 or its twist, and non-canonical encodings of them (p
 * and p + 1 are 0 and 1): X25519 of any clamped secret with them is all zeros.
 */
const LOW_ORDER_U = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
];

/** The group order L, little-endian, added to a signature's S: the same value mod L, not canonical. */
const GROUP_ORDER_LE = fromHex('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010', 'L');

function withS(signature: Uint8Array, add: Uint8Array): Uint8Array {
  const changed = Uint8Array.from(signature);
  let carry = 0;
  for (let index = 0; index < 32; index++) {
    const sum = (changed[32 + index] ?? 0) + (add[index] ?? 0) + carry;
    changed[32 + index] = sum & 0xff;
    carry = sum >> 8;
  }
  return changed;
}

const implementations: CurveCrypto[] = [nobleCurves, nativeCurves];
const installedBefore = curves();
after(() => {
  useCurves(installedBefore);
});

for (const implementation of implementations) {
  describe(`curves: ${implementation.name}`, () => {
    it('derives the vector keys and signs the vector card byte for byte', () => {
      assert.equal(toBase64(implementation.ed25519PublicKey(cardSeed)), card.card.key);
      assert.equal(toBase64(implementation.ed25519Sign(cardMessage, cardSeed)), card.card.sig);
      assert.equal(toBase64(implementation.ed25519PublicKey(alice.seed)), messageVectors.alice.ed25519_public_b64);
      assert.equal(toBase64(implementation.ed25519PublicKey(bob.seed)), messageVectors.bob.ed25519_public_b64);
    });

    it('derives the X25519 public key of RFC 7748 section 6.1 (Alice and Bob)', () => {
      const rfc7748 = [
        ['77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a'],
        ['5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb', 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f'],
      ] as const;
      for (const [secret, expected] of rfc7748) assert.equal(toHex(implementation.x25519PublicKey(fromHex(secret, 'secret'))), expected);
    });

    it('computes the X25519 shared secret of RFC 7748 section 6.1 both ways', () => {
      const aliceSecret = fromHex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'secret');
      const bobSecret = fromHex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb', 'secret');
      const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
      assert.equal(toHex(implementation.x25519SharedSecret(aliceSecret, implementation.x25519PublicKey(bobSecret))), shared);
      assert.equal(toHex(implementation.x25519SharedSecret(bobSecret, implementation.x25519PublicKey(aliceSecret))), shared);
    });

    it('refuses every low-order X25519 public key (an all-zero shared secret) and wrong lengths', () => {
      const secret = fromHex(messageV2Vectors.bob.x25519_secret_hex, 'secret');
      for (const u of LOW_ORDER_U) assert.throws(() => implementation.x25519SharedSecret(secret, fromHex(u, 'u')), Error, u);
      const somePublic = fromBase64(bobReceiveKey.pub, 'pub');
      assert.throws(() => implementation.x25519SharedSecret(secret, somePublic.subarray(0, 31)));
      assert.throws(() => implementation.x25519SharedSecret(secret.subarray(0, 31), somePublic));
    });

    it('verifies the vector card and refuses a flipped bit, another key, a non-canonical S or R, and wrong lengths', () => {
      assert.equal(implementation.ed25519Verify(cardSignature, cardMessage, cardKey), true);
      const flipped = Uint8Array.from(cardSignature);
      flipped[5] = (flipped[5] ?? 0) ^ 1;
      assert.equal(implementation.ed25519Verify(flipped, cardMessage, cardKey), false);
      assert.equal(implementation.ed25519Verify(cardSignature, utf8(`${card.canonical_unsigned} `), cardKey), false);
      assert.equal(implementation.ed25519Verify(cardSignature, cardMessage, alice.public), false);
      // S + L: the same scalar mod L, which a lenient verifier accepts and RFC 8032 refuses.
      assert.equal(implementation.ed25519Verify(withS(cardSignature, GROUP_ORDER_LE), cardMessage, cardKey), false);
      // R with y = p + 1 (a non-canonical encoding of y = 1, the identity's y).
      const nonCanonicalR = Uint8Array.from(cardSignature);
      nonCanonicalR.set(fromHex('eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', 'R'), 0);
      assert.equal(implementation.ed25519Verify(nonCanonicalR, cardMessage, cardKey), false);
      assert.equal(implementation.ed25519Verify(cardSignature.subarray(0, 63), cardMessage, cardKey), false);
      assert.equal(implementation.ed25519Verify(cardSignature, cardMessage, cardKey.subarray(0, 31)), false);
    });

    it('seals the vector envelope byte for byte and refuses the must_fail cases', async () => {
      useCurves(implementation);
      try {
        const sealed = await sealEnvelope({
          senderSeed: alice.seed,
          recipientPublic: bob.public,
          recipientSlotId: vector.bob_slot_id,
          plaintext: utf8(vector.plaintext_utf8),
          ephemeralIkm: fromHex(vector.ephemeral_ikm_hex, 'ikm'),
        });
        assert.equal(fromUtf8(sealed), vector.envelope_utf8);
        const opened = await openEnvelope({ recipientSeed: bob.seed, senderPublic: alice.public, ownSlotId: vector.bob_slot_id, envelope: sealed });
        assert.equal(fromUtf8(opened), vector.plaintext_utf8);
        const openFailed = (error: unknown): boolean => error instanceof MessageRejected && error.reason === 'open_failed';
        const carol = implementation.ed25519PublicKey(fromHex(messageVectors.must_fail.opened_as_if_from_carol.carol_ed25519_seed_hex, 'seed'));
        await assert.rejects(openEnvelope({ recipientSeed: bob.seed, senderPublic: carol, ownSlotId: vector.bob_slot_id, envelope: sealed }), openFailed);
        await assert.rejects(openEnvelope({ recipientSeed: bob.seed, senderPublic: alice.public, ownSlotId: messageVectors.must_fail.opened_under_another_slot_id, envelope: sealed }), openFailed);
        await assert.rejects(openEnvelope({ recipientSeed: bob.seed, senderPublic: alice.public, ownSlotId: vector.bob_slot_id, envelope: utf8(messageVectors.must_fail.one_ciphertext_bit_flipped) }), openFailed);
      } finally {
        useCurves(installedBefore);
      }
    });

    it('seals and opens the section 7 vector envelope byte for byte, and HPKE refuses a low-order receive key', async () => {
      useCurves(implementation);
      try {
        const unsigned = vectorV2.message_unsigned as unknown as UnsignedMessageV2;
        const request = { senderSeed: alice.seed, kid: vectorV2.kid, recipientSlotId: vectorV2.bob_slot_id, message: unsigned, ephemeralIkm: fromHex(vectorV2.ephemeral_ikm_hex, 'ikm') };
        const sealed = await sealEnvelopeV2({ ...request, recipientKey: fromBase64(bobReceiveKey.pub, 'pub') });
        assert.equal(fromUtf8(sealed), vectorV2.envelope_utf8);
        const envelope = parseEnvelopeV2(sealed);
        assert.ok(envelope);
        const expect = { from: messageV2Vectors.alice.fingerprint, to: messageV2Vectors.bob.fingerprint, now: Date.parse(unsigned.sent_at) };
        const opened = await openEnvelopeV2({ envelope, recipientSecret: fromHex(bobReceiveKey.x25519_secret_hex, 'secret'), ownSlotId: vectorV2.bob_slot_id, senderPublic: alice.public, expect });
        assert.deepEqual(opened, JSON.parse(vectorV2.plaintext_utf8));
        await assert.rejects(
          sealEnvelopeV2({ ...request, recipientKey: fromHex(LOW_ORDER_U[2] as string, 'u') }),
          (error: unknown) => error instanceof Error && 'code' in error && error.code === 'protocol_violation',
        );
      } finally {
        useCurves(installedBefore);
      }
    });
  });
}

describe('curves: noble and native together', () => {
  it('HPKE computes its X25519, HKDF and ChaCha20-Poly1305 on the installed curves: two DHs per Auth-mode seal and per open', async () => {
    const calls = { publicKey: 0, sharedSecret: 0, extract: 0, expand: 0, seal: 0, open: 0 };
    const native = nativeCurves.hpkeSymmetric;
    assert.ok(native);
    const recording: CurveCrypto = {
      ...nativeCurves,
      name: 'recording',
      x25519PublicKey: (secret) => (calls.publicKey++, nativeCurves.x25519PublicKey(secret)),
      x25519SharedSecret: (secret, publicKey) => (calls.sharedSecret++, nativeCurves.x25519SharedSecret(secret, publicKey)),
      hpkeSymmetric: {
        hkdfSha256Extract: (salt, ikm) => (calls.extract++, native.hkdfSha256Extract(salt, ikm)),
        hkdfSha256Expand: (prk, info, length) => (calls.expand++, native.hkdfSha256Expand(prk, info, length)),
        chacha20Poly1305Seal: (key, nonce, aad, plaintext) => (calls.seal++, native.chacha20Poly1305Seal(key, nonce, aad, plaintext)),
        chacha20Poly1305Open: (key, nonce, aad, sealed) => (calls.open++, native.chacha20Poly1305Open(key, nonce, aad, sealed)),
      },
    };
    useCurves(recording);
    try {
      const sealed = await sealEnvelope({ senderSeed: alice.seed, recipientPublic: bob.public, recipientSlotId: vector.bob_slot_id, plaintext: utf8('recorded') });
      assert.equal(calls.sharedSecret, 2);
      assert.deepEqual([calls.seal, calls.open], [1, 0]);
      await openEnvelope({ recipientSeed: bob.seed, senderPublic: alice.public, ownSlotId: vector.bob_slot_id, envelope: sealed });
      assert.equal(calls.sharedSecret, 4);
      assert.deepEqual([calls.seal, calls.open], [1, 1]);
      assert.ok(calls.publicKey > 0 && calls.extract > 0 && calls.expand > 0);
    } finally {
      useCurves(installedBefore);
    }
  });

  it('native X25519 reuses a secret\'s key object only while the same array still holds the same bytes', () => {
    const aliceSecret = fromHex(messageVectors.alice.x25519_secret_hex, 'secret');
    const bobSecret = fromHex(messageVectors.bob.x25519_secret_hex, 'secret');
    const peer = nobleCurves.x25519PublicKey(fromHex('77'.repeat(32), 'peer secret'));
    const secret = Uint8Array.from(aliceSecret);
    assert.deepEqual(nativeCurves.x25519PublicKey(secret), nobleCurves.x25519PublicKey(aliceSecret));
    assert.deepEqual(nativeCurves.x25519SharedSecret(secret, peer), nobleCurves.x25519SharedSecret(aliceSecret, peer));
    // The caller overwrites its array (as `wipe` does, or a reused buffer): the old key is not used for it.
    secret.set(bobSecret);
    assert.deepEqual(nativeCurves.x25519SharedSecret(secret, peer), nobleCurves.x25519SharedSecret(bobSecret, peer));
    assert.deepEqual(nativeCurves.x25519PublicKey(secret), nobleCurves.x25519PublicKey(bobSecret));
    secret.fill(0);
    assert.deepEqual(nativeCurves.x25519PublicKey(secret), nobleCurves.x25519PublicKey(new Uint8Array(32)));
  });

  it('each opens what the other sealed with a fresh ephemeral key', async () => {
    for (const [sealer, opener] of [
      [nobleCurves, nativeCurves],
      [nativeCurves, nobleCurves],
    ] as const) {
      try {
        useCurves(sealer);
        const sealed = await sealEnvelope({ senderSeed: alice.seed, recipientPublic: bob.public, recipientSlotId: vector.bob_slot_id, plaintext: utf8(`from ${sealer.name}`) });
        useCurves(opener);
        const opened = await openEnvelope({ recipientSeed: bob.seed, senderPublic: alice.public, ownSlotId: vector.bob_slot_id, envelope: sealed });
        assert.equal(fromUtf8(opened), `from ${sealer.name}`);
      } finally {
        useCurves(installedBefore);
      }
    }
  });
});

describe("HPKE's HKDF and ChaCha20-Poly1305 on node:crypto (nativeCurves.hpkeSymmetric)", () => {
  const native = nativeCurves.hpkeSymmetric;
  const ikm = fromHex('0b'.repeat(22), 'ikm');

  it('gives RFC 5869\'s HKDF-SHA256 test cases 1 and 3 (an empty salt is 32 zero bytes)', () => {
    assert.ok(native, 'nativeCurves brings no HPKE primitives');
    const prk = native.hkdfSha256Extract(fromHex('000102030405060708090a0b0c', 'salt'), ikm);
    assert.equal(toHex(prk), '077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5');
    assert.equal(toHex(native.hkdfSha256Expand(prk, fromHex('f0f1f2f3f4f5f6f7f8f9', 'info'), 42)), '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865');
    const unsalted = native.hkdfSha256Extract(new Uint8Array(0), ikm);
    assert.equal(toHex(unsalted), '19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04');
    assert.equal(toHex(native.hkdfSha256Expand(unsalted, new Uint8Array(0), 42)), '8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8');
  });

  it('expands to at most 255 blocks, as noble does', () => {
    assert.ok(native);
    const prk = native.hkdfSha256Extract(new Uint8Array(0), ikm);
    assert.deepEqual(native.hkdfSha256Expand(prk, utf8('info'), 255 * 32), hkdfExpand(sha256, prk, utf8('info'), 255 * 32));
    assert.throws(() => native.hkdfSha256Expand(prk, utf8('info'), 255 * 32 + 1), /0 to 8160 bytes/);
    assert.throws(() => hkdfExpand(sha256, prk, utf8('info'), 255 * 32 + 1));
  });

  it("seals RFC 8439's AEAD test vector (section 2.8.2) and opens it, refusing a changed tag, ciphertext or AAD and a text shorter than a tag", () => {
    assert.ok(native);
    const key = fromHex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f', 'key');
    const nonce = fromHex('070000004041424344454647', 'nonce');
    const aad = fromHex('50515253c0c1c2c3c4c5c6c7', 'aad');
    const plaintext = utf8("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
    const sealed = native.chacha20Poly1305Seal(key, nonce, aad, plaintext);
    assert.equal(
      toHex(sealed),
      'd31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116' +
        '1ae10b594f09e26a7e902ecbd0600691',
    );
    assert.deepEqual(native.chacha20Poly1305Open(key, nonce, aad, sealed), plaintext);
    assert.deepEqual(chacha20poly1305(key, nonce, aad).encrypt(plaintext), sealed);
    for (const at of [0, sealed.length - 1]) {
      const changed = Uint8Array.from(sealed);
      changed[at] = (changed[at] ?? 0) ^ 1;
      assert.throws(() => native.chacha20Poly1305Open(key, nonce, aad, changed));
    }
    assert.throws(() => native.chacha20Poly1305Open(key, nonce, utf8('other aad'), sealed));
    assert.throws(() => native.chacha20Poly1305Open(key, nonce, aad, sealed.subarray(0, 15)), /at least its 16-byte tag/);
    assert.deepEqual(native.chacha20Poly1305Open(key, nonce, aad, native.chacha20Poly1305Seal(key, nonce, aad, new Uint8Array(0))), new Uint8Array(0));
  });
});
