// The section 6 vector (messages.json, alice to bob) checked on whatever curves and symmetric
// primitives are installed: the curve tests run it per curve implementation, the symmetric tests
// per pair of implementations.

import assert from 'node:assert/strict';
import { fromBase64, fromHex, fromUtf8, utf8 } from '../../src/core/bytes.js';
import { curves } from '../../src/core/curves.js';
import { MessageRejected, openEnvelope, sealEnvelope } from '../../src/core/messages.js';
import { messageVectors } from './vectors.js';

const alice = { seed: fromHex(messageVectors.alice.ed25519_seed_hex, 'seed'), public: fromBase64(messageVectors.alice.ed25519_public_b64, 'key') };
const bob = { seed: fromHex(messageVectors.bob.ed25519_seed_hex, 'seed'), public: fromBase64(messageVectors.bob.ed25519_public_b64, 'key') };
const vector = messageVectors.alice_to_bob;

/** The vector envelope as sealed here: alice to bob with the vector's ephemeral ikm. */
export function sealSection6Vector(): Promise<Uint8Array> {
  return sealEnvelope({
    senderSeed: alice.seed,
    recipientPublic: bob.public,
    recipientSlotId: vector.bob_slot_id,
    plaintext: utf8(vector.plaintext_utf8),
    ephemeralIkm: fromHex(vector.ephemeral_ikm_hex, 'ikm'),
  });
}

/** Seals the vector envelope byte for byte, opens it, and refuses each must_fail case as open_failed. */
export async function checkSection6Vector(): Promise<void> {
  const sealed = await sealSection6Vector();
  assert.equal(fromUtf8(sealed), vector.envelope_utf8);
  const opened = await openEnvelope({ recipientSeed: bob.seed, senderPublic: alice.public, ownSlotId: vector.bob_slot_id, envelope: sealed });
  assert.equal(fromUtf8(opened), vector.plaintext_utf8);
  const openFailed = (error: unknown): boolean => error instanceof MessageRejected && error.reason === 'open_failed';
  const carol = curves().ed25519PublicKey(fromHex(messageVectors.must_fail.opened_as_if_from_carol.carol_ed25519_seed_hex, 'seed'));
  await assert.rejects(openEnvelope({ recipientSeed: bob.seed, senderPublic: carol, ownSlotId: vector.bob_slot_id, envelope: sealed }), openFailed);
  await assert.rejects(openEnvelope({ recipientSeed: bob.seed, senderPublic: alice.public, ownSlotId: messageVectors.must_fail.opened_under_another_slot_id, envelope: sealed }), openFailed);
  await assert.rejects(openEnvelope({ recipientSeed: bob.seed, senderPublic: alice.public, ownSlotId: vector.bob_slot_id, envelope: utf8(messageVectors.must_fail.one_ciphertext_bit_flipped) }), openFailed);
}
