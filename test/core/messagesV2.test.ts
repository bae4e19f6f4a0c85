// PROTOCOL.md 7.3 and 7.4 against vectors/messages-v2.json (two independent implementations,
// signature bytes included): byte-for-byte sealing, opening, and every must_fail case refused
// with its reason; then each check of 7.4 with a message that fails only that check.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ed25519 } from '@noble/curves/ed25519.js';
import { fromBase64, fromHex, fromUtf8, toBase64, toHex, utf8 } from '../../src/core/bytes.js';
import { canonicalJson } from '../../src/core/identity.js';
import { MAX_MESSAGE_AGE_MS, MessageRejected, x25519PublicFromEd25519, x25519SecretFromSeed } from '../../src/core/messages.js';
import {
  MAX_KEYS_PER_MESSAGE,
  type OpenV2Request,
  isLowOrderX25519,
  type UnsignedMessageV2,
  openEnvelopeV2,
  parseEnvelopeV2,
  parseGivenKeys,
  receiveKeyPublic,
  sealEnvelopeV2,
  signedBytes,
} from '../../src/core/messagesV2.js';
import { messageV2Vectors as vectors } from './vectors.js';

const alice = { seed: fromHex(vectors.alice.ed25519_seed_hex, 'seed'), public: fromBase64(vectors.alice.ed25519_public_b64, 'key') };
const bob = { seed: fromHex(vectors.bob.ed25519_seed_hex, 'seed'), public: fromBase64(vectors.bob.ed25519_public_b64, 'key') };
const vector = vectors.alice_to_bob;
const bobKey = vectors.bob_receive_key_given_to_alice;
const bobKeySecret = fromHex(bobKey.x25519_secret_hex, 'secret');
const unsigned = vector.message_unsigned as unknown as UnsignedMessageV2;
const now = Date.parse(unsigned.sent_at);
const expect = { from: vectors.alice.fingerprint, to: vectors.bob.fingerprint, now };

function rejection(reason: string, detail?: string) {
  return (error: unknown) => error instanceof MessageRejected && error.reason === reason && (detail === undefined || error.message.includes(detail));
}

function openAsBob(envelopeUtf8: string, overrides: Partial<OpenV2Request> = {}): Promise<unknown> {
  const envelope = parseEnvelopeV2(utf8(envelopeUtf8));
  assert.ok(envelope);
  const secret = envelope.kid === 'id' ? x25519SecretFromSeed(bob.seed) : envelope.kid === bobKey.kid ? bobKeySecret : undefined;
  return openEnvelopeV2({ envelope, recipientSecret: secret, ownSlotId: vector.bob_slot_id, senderPublic: alice.public, expect, ...overrides });
}

describe('messages v2 (vectors/messages-v2.json)', () => {
  it('derives every receive key public from its secret, and Bob\'s identity X25519 key', () => {
    for (const key of [bobKey, ...vectors.alice_receive_keys_given_to_bob]) {
      assert.equal(toBase64(receiveKeyPublic(fromHex(key.x25519_secret_hex, 'secret'))), key.pub);
    }
    assert.equal(toHex(x25519SecretFromSeed(bob.seed)), vectors.bob.x25519_secret_hex);
    assert.equal(toHex(x25519PublicFromEd25519(bob.public)), vectors.bob.x25519_public_hex);
  });

  it('signs exactly the bytes 7.3 names, and the signature is the vector\'s', () => {
    const enc = fromBase64(vector.enc, 'enc');
    const bytes = signedBytes(vector.kid, enc, unsigned);
    assert.equal(toHex(bytes), vector.signed_bytes_hex);
    assert.equal(toBase64(ed25519.sign(bytes, alice.seed)), vector.sig);
  });

  it('seals the vector envelope byte for byte (signature inside) with the given ephemeral ikm', async () => {
    const sealed = await sealEnvelopeV2({
      senderSeed: alice.seed,
      recipientKey: fromBase64(bobKey.pub, 'pub'),
      kid: vector.kid,
      recipientSlotId: vector.bob_slot_id,
      message: unsigned,
      ephemeralIkm: fromHex(vector.ephemeral_ikm_hex, 'ikm'),
    });
    assert.equal(fromUtf8(sealed), vector.envelope_utf8);
    assert.equal(canonicalJson({ ...unsigned, sig: vector.sig }), vector.plaintext_utf8);
  });

  it('seals the first keys message under kid "id" to Bob\'s identity key byte for byte', async () => {
    const first = vectors.alice_to_bob_first_keys_under_identity_key;
    const message = { ...first.message } as unknown as UnsignedMessageV2;
    delete (message as Partial<{ sig: string }>).sig;
    const sealed = await sealEnvelopeV2({
      senderSeed: alice.seed,
      recipientKey: x25519PublicFromEd25519(bob.public),
      kid: first.kid,
      recipientSlotId: vector.bob_slot_id,
      message,
      ephemeralIkm: fromHex(first.ephemeral_ikm_hex, 'ikm'),
    });
    assert.equal(fromUtf8(sealed), first.envelope_utf8);
  });

  it('opens both vector envelopes as Bob, signature checked', async () => {
    const opened = await openAsBob(vector.envelope_utf8);
    assert.deepEqual(opened, JSON.parse(vector.plaintext_utf8));
    const first = vectors.alice_to_bob_first_keys_under_identity_key;
    assert.deepEqual(await openAsBob(first.envelope_utf8, { expect: { ...expect, now: Date.parse('2026-12-03T11:59:00Z') } }), first.message);
  });

  it('refuses every must_fail case with its reason', async () => {
    const cases = vectors.must_fail;
    const reasons: Record<string, [string, string?]> = {
      'signed_by_bob_claiming_alice (key-compromise impersonation)': ['bad_signature'],
      text_body_under_identity_key: ['bad_message', 'kid "id" carries only a keys body'],
      one_ciphertext_bit_flipped: ['open_failed'],
      kid_bob_never_gave_alice: ['unknown_key'],
    };
    assert.deepEqual(Object.keys(cases).sort(), Object.keys(reasons).sort(), 'a must_fail case this test does not know');
    for (const [name, testCase] of Object.entries(cases)) {
      const [reason, detail] = reasons[name] as [string, string?];
      const envelopeUtf8 = testCase.envelope_utf8 ?? vector.envelope_utf8.replace(`"kid":"${vector.kid}"`, `"kid":"${testCase.kid}"`);
      await assert.rejects(openAsBob(envelopeUtf8), rejection(reason, detail), name);
    }
  });
});

describe('messages v2 checks (7.4), each failing alone', () => {
  async function sealed(change: (message: UnsignedMessageV2) => UnsignedMessageV2, signer = alice.seed): Promise<string> {
    return fromUtf8(await sealEnvelopeV2({ senderSeed: signer, recipientKey: fromBase64(bobKey.pub, 'pub'), kid: bobKey.kid, recipientSlotId: vector.bob_slot_id, message: change(structuredClone(unsigned)) }));
  }

  it('opens a fresh envelope (random ephemeral key) sealed the same way', async () => {
    const opened = (await openAsBob(await sealed((message) => message))) as { body: unknown };
    assert.deepEqual(opened.body, unsigned.body);
  });

  it('refuses an envelope read from another inbox (the slot id is the associated data)', async () => {
    await assert.rejects(openAsBob(vector.envelope_utf8, { ownSlotId: 'f'.repeat(32) }), rejection('open_failed'));
  });

  it('refuses a message signed by someone other than the pinned sender, even one the recipient trusts', async () => {
    await assert.rejects(openAsBob(await sealed((message) => message, bob.seed)), rejection('bad_signature'));
  });

  it('refuses a message whose from or to is not the grant\'s peer and this side', async () => {
    await assert.rejects(openAsBob(vector.envelope_utf8, { expect: { ...expect, from: '0'.repeat(16) } }), rejection('wrong_sender'));
    await assert.rejects(openAsBob(vector.envelope_utf8, { expect: { ...expect, to: '0'.repeat(16) } }), rejection('wrong_sender'));
  });

  it('refuses a stale message and one from the future', async () => {
    await assert.rejects(openAsBob(vector.envelope_utf8, { expect: { ...expect, now: now + MAX_MESSAGE_AGE_MS + 1000 } }), rejection('stale'));
    await assert.rejects(openAsBob(vector.envelope_utf8, { expect: { ...expect, now: now - 11 * 60 * 1000 } }), rejection('from_future'));
  });

  it('refuses a message with a field more or less, a bad keys list, or v 1 inside', async () => {
    await assert.rejects(openAsBob(await sealed((message) => ({ ...message, extra: 1 }) as UnsignedMessageV2)), rejection('bad_message'));
    await assert.rejects(openAsBob(await sealed((message) => {
        const withoutKeys: Partial<UnsignedMessageV2> = { ...message };
        delete withoutKeys.keys;
        return withoutKeys as UnsignedMessageV2;
      })), rejection('bad_message'));
    await assert.rejects(openAsBob(await sealed((message) => ({ ...message, v: 1 }) as unknown as UnsignedMessageV2)), rejection('bad_message'));
    await assert.rejects(openAsBob(await sealed((message) => ({ ...message, body: { type: 'keys', extra: 1 } }))), rejection('bad_message'));
  });

  it('parses given keys: at most 17, one last-resort key, distinct 16-hex kids, 32-byte pubs', () => {
    const key = (index: number, last = false) => ({ kid: index.toString(16).padStart(16, '0'), pub: bobKey.pub, ...(last && { last: true }) });
    assert.equal(parseGivenKeys(Array.from({ length: MAX_KEYS_PER_MESSAGE - 1 }, (_, i) => key(i)).concat(key(99, true))).length, MAX_KEYS_PER_MESSAGE);
    assert.throws(() => parseGivenKeys(Array.from({ length: MAX_KEYS_PER_MESSAGE + 1 }, (_, i) => key(i))), /at most 17/);
    assert.throws(() => parseGivenKeys(Array.from({ length: MAX_KEYS_PER_MESSAGE }, (_, i) => key(i))), /more than 16 one-time/);
    assert.throws(() => parseGivenKeys([key(1, true), key(2, true)]), /more than one last-resort/);
    assert.throws(() => parseGivenKeys([key(1), key(1)]), /one kid twice/);
    assert.throws(() => parseGivenKeys([{ kid: 'id', pub: bobKey.pub }]), /kid/);
    assert.throws(() => parseGivenKeys([{ kid: key(1).kid, pub: toBase64(new Uint8Array(31)) }]), /pub/);
    assert.throws(() => parseGivenKeys([{ ...key(1), last: false }]), /last/);
    assert.throws(() => parseGivenKeys([{ ...key(1), other: 1 }]), /exactly/);
  });

  it('knows a low-order X25519 key as RFC 7748 reads it (top bit ignored, then mod p): each one, spelt either way, and none of its neighbours', () => {
    const P25519 = 2n ** 255n - 19n;
    const lowOrder = [0n, 1n, P25519 - 1n, 325606250916557431795983626356110631294008115727848805560023387167927233504n, 39382357235489614581723060781553021112529911719440698176882885853963445705823n];
    const bytesOf = (u: bigint): Uint8Array => Uint8Array.from({ length: 32 }, (_, index) => Number((u >> BigInt(8 * index)) & 0xffn));
    const byDefinition = (key: Uint8Array): boolean => {
      let u = 0n;
      for (let index = 31; index >= 0; index--) u = (u << 8n) | BigInt(key[index] as number);
      return lowOrder.includes((u & ((1n << 255n) - 1n)) % P25519);
    };
    const candidates = [...new Set([...lowOrder, P25519, P25519 + 1n, 2n ** 255n - 1n].flatMap((u) => [u - 1n, u, u + 1n]))].filter((u) => u >= 0n && u < 2n ** 255n);
    const keys = candidates.flatMap((u) => [bytesOf(u), bytesOf(u + 2n ** 255n)]);
    for (let i = 0; i < 200; i++) keys.push(crypto.getRandomValues(new Uint8Array(32)));
    let refused = 0;
    for (const key of keys) {
      assert.equal(isLowOrderX25519(key), byDefinition(key), toHex(key));
      if (byDefinition(key)) refused++;
    }
    assert.equal(refused, 14, 'seven values below 2^255 (0, 1 and p-1, the two of order 8, p and p+1), each with the top bit clear or set');
    assert.equal(isLowOrderX25519(new Uint8Array(31).fill(9)), true, 'a key of another length is no usable key either');
  });

  it('tells a v1 envelope apart (undefined) and refuses a malformed v2 one', () => {
    assert.equal(parseEnvelopeV2(utf8('{"ct":"","enc":"","v":1}')), undefined);
    assert.throws(() => parseEnvelopeV2(utf8('{"ct":"","enc":"","v":2}')), rejection('bad_envelope'));
    assert.throws(() => parseEnvelopeV2(utf8(vector.envelope_utf8.replace(vector.kid, 'ID'))), rejection('bad_envelope'));
  });
});
