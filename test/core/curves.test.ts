// The curve port (core/curves.ts): noble's pure JavaScript and the runtime's native code
// (node/nativeCurves.ts) run the same vectors (protocol.json's card, messages.json's and
// messages-v2.json's keys and envelopes, HPKE's X25519 on the installed one) and refuse the same
// bad signatures and low-order X25519 keys, and each opens what the other sealed.

import assert from 'node:assert/strict';
import { Session } from 'node:inspector/promises';
import { after, describe, it } from 'node:test';
import { fromBase64, fromHex, fromUtf8, toBase64, toHex, utf8 } from '../../src/core/bytes.js';
import { type CurveCrypto, curves, nobleCurves, useCurves } from '../../src/core/curves.js';
import { openEnvelope, sealEnvelope } from '../../src/core/messages.js';
import { type UnsignedMessageV2, openEnvelopeV2, parseEnvelopeV2, sealEnvelopeV2 } from '../../src/core/messagesV2.js';
import { nativeCurves } from '../../src/node/nativeCurves.js';
import { checkSection6Vector } from './messageVectorChecks.js';
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

    it('draws a fresh 32-byte X25519 secret at each call, in its own buffer', () => {
      const first = implementation.x25519RandomSecret();
      const second = implementation.x25519RandomSecret();
      assert.equal(first.length, 32);
      assert.equal(first.buffer.byteLength, 32);
      assert.notDeepEqual(first, second);
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
        await checkSection6Vector();
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
  it('HPKE computes its X25519 on the installed curves: two DHs per Auth-mode seal and per open, one fresh ephemeral secret per seal', async () => {
    const calls = { publicKey: 0, sharedSecret: 0, randomSecret: 0 };
    const recording: CurveCrypto = {
      ...nativeCurves,
      name: 'recording',
      x25519RandomSecret: () => (calls.randomSecret++, nativeCurves.x25519RandomSecret()),
      x25519PublicKey: (secret) => (calls.publicKey++, nativeCurves.x25519PublicKey(secret)),
      x25519SharedSecret: (secret, publicKey) => (calls.sharedSecret++, nativeCurves.x25519SharedSecret(secret, publicKey)),
    };
    useCurves(recording);
    try {
      const sealed = await sealEnvelope({ senderSeed: alice.seed, recipientPublic: bob.public, recipientSlotId: vector.bob_slot_id, plaintext: utf8('recorded') });
      assert.equal(calls.sharedSecret, 2);
      // The ephemeral key is the installed CSPRNG's, not @hpke's WebCrypto getRandomValues.
      assert.equal(calls.randomSecret, 1);
      await openEnvelope({ recipientSeed: bob.seed, senderPublic: alice.public, ownSlotId: vector.bob_slot_id, envelope: sealed });
      assert.equal(calls.sharedSecret, 4);
      assert.equal(calls.randomSecret, 1);
      assert.ok(calls.publicKey > 0);
    } finally {
      useCurves(installedBefore);
    }
  });

  it('native X25519 reuses a secret\'s key object only while the same array (or buffer) still holds the same bytes', () => {
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
    // Another view of the same buffer (@hpke's of a secret given as an ArrayBuffer) shares the
    // entry, and a change made through either view is seen through the other.
    const view = new Uint8Array(secret.buffer);
    assert.deepEqual(nativeCurves.x25519SharedSecret(view, peer), nobleCurves.x25519SharedSecret(bobSecret, peer));
    view.set(aliceSecret);
    assert.deepEqual(nativeCurves.x25519PublicKey(secret), nobleCurves.x25519PublicKey(aliceSecret));
    secret.fill(0);
    assert.deepEqual(nativeCurves.x25519PublicKey(secret), nobleCurves.x25519PublicKey(new Uint8Array(32)));
  });

  it('native X25519 and Ed25519 keep no copy of a secret: once the caller wipes its array, no byte array in this process holds it', async () => {
    const secret = crypto.getRandomValues(new Uint8Array(32));
    const seed = crypto.getRandomValues(new Uint8Array(32));
    const hexes = [toHex(secret), toHex(seed)];
    const peer = nobleCurves.x25519PublicKey(fromHex('77'.repeat(32), 'peer secret'));
    nativeCurves.x25519SharedSecret(secret, nativeCurves.x25519PublicKey(secret));
    nativeCurves.x25519SharedSecret(secret, peer);
    nativeCurves.ed25519Sign(utf8('signed'), seed);
    for (const hex of hexes) assert.equal(await byteArraysHolding(hex), 1, 'the caller\'s own array, found by the scan');
    secret.fill(0);
    seed.fill(0);
    for (const hex of hexes) assert.equal(await byteArraysHolding(hex), 0, 'after the wipe, the key objects hold the secrets natively and nothing else does');
    assert.equal(Buffer.poolSize, 8 * 1024, 'Buffer\'s pool size is back');
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

/**
 * How many array buffers alive in this process (those of typed arrays, and others such as
 * Buffer's shared pool) hold `hex`'s bytes, after a full garbage collection: what a heap dump of
 * the process would show. Each query's found objects are let go of before the next collection.
 */
async function byteArraysHolding(hex: string): Promise<number> {
  const session = new Session();
  session.connect();
  const query = async (prototype: string, functionDeclaration: string): Promise<unknown> => {
    await session.post('HeapProfiler.collectGarbage');
    const { result } = await session.post('Runtime.evaluate', { expression: prototype });
    const { objects } = await session.post('Runtime.queryObjects', { prototypeObjectId: result.objectId ?? '' });
    const called = await session.post('Runtime.callFunctionOn', { objectId: objects.objectId ?? '', functionDeclaration, arguments: [{ value: hex }], returnByValue: true });
    await session.post('Runtime.releaseObject', { objectId: objects.objectId ?? '' });
    if (called.exceptionDetails) throw new Error(called.exceptionDetails.exception?.description ?? called.exceptionDetails.text);
    return called.result.value;
  };
  try {
    // A small typed array keeps its bytes in the V8 heap until its buffer is asked for: asking
    // moves them into an array buffer of its own, which the second query then finds.
    await query('Object.getPrototypeOf(Uint8Array.prototype)', 'function () { for (const view of this) if (ArrayBuffer.isView(view)) void view.buffer; }');
    // Views only: the scan itself copies nothing.
    return Number(
      await query(
        'ArrayBuffer.prototype',
        `function (hex) {
          const needle = hex.match(/../g).map((pair) => parseInt(pair, 16));
          let count = 0;
          for (const buffer of this) {
            if (!(buffer instanceof ArrayBuffer) || buffer === ArrayBuffer.prototype) continue;
            const bytes = new Uint8Array(buffer);
            search: for (let start = 0; start + needle.length <= bytes.length; start++) {
              for (let index = 0; index < needle.length; index++) if (bytes[start + index] !== needle[index]) continue search;
              count++;
              break;
            }
          }
          return count;
        }`,
      ),
    );
  } finally {
    session.disconnect();
  }
}
