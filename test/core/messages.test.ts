// PROTOCOL.md 6.1 and 6.2 against vectors/messages.json (two independent implementations), and
// every check a received message must pass, each with a message that fails only that check.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ed25519 } from '@noble/curves/ed25519.js';
import { fromBase64, fromHex, fromUtf8, toBase64, toHex, utf8 } from '../../src/core/bytes.js';
import { canonicalJson, fingerprint } from '../../src/core/identity.js';
import {
  MAX_CLOCK_AHEAD_MS,
  MAX_MESSAGE_AGE_MS,
  MAX_RECEIPT_IDS,
  MessageRejected,
  checkOutgoingBody,
  encodeMessage,
  openEnvelope,
  parseEnvelope,
  parseMessage,
  sealEnvelope,
  x25519PublicFromEd25519,
  x25519SecretFromSeed,
} from '../../src/core/messages.js';
import { grantIdOf } from '../../src/relay/contract.js';
import { sealSection6Vector } from './messageVectorChecks.js';
import { messageVectors as vectors } from './vectors.js';
import { MAX_ENVELOPE_BYTES, MAX_TEXT_BYTES, formatTimestamp } from '../../src/core/vocabulary.js';

const alice = { seed: fromHex(vectors.alice.ed25519_seed_hex, 'seed'), public: fromBase64(vectors.alice.ed25519_public_b64, 'key') };
const bob = { seed: fromHex(vectors.bob.ed25519_seed_hex, 'seed'), public: fromBase64(vectors.bob.ed25519_public_b64, 'key') };
const vector = vectors.alice_to_bob;
const envelopeBytes = utf8(vector.envelope_utf8);
const sentMs = Date.parse(vector.message.sent_at);

function rejection(reason: string) {
  return (error: unknown) => error instanceof MessageRejected && error.reason === reason;
}

describe('message keys and envelope (vectors/messages.json)', () => {
  it('derives both X25519 key pairs and fingerprints from the Ed25519 seeds', () => {
    for (const side of [vectors.alice, vectors.bob]) {
      const seed = fromHex(side.ed25519_seed_hex, 'seed');
      const publicKey = ed25519.getPublicKey(seed);
      assert.equal(toBase64(publicKey), side.ed25519_public_b64);
      assert.equal(fingerprint(publicKey), side.fingerprint);
      assert.equal(toHex(x25519SecretFromSeed(seed)), side.x25519_secret_hex);
      assert.equal(toHex(x25519PublicFromEd25519(publicKey)), side.x25519_public_hex);
    }
  });

  it('encodes the message as the vector plaintext, byte for byte', () => {
    assert.equal(fromUtf8(encodeMessage(vector.message)), vector.plaintext_utf8);
    assert.equal(canonicalJson(JSON.parse(vector.plaintext_utf8)), vector.plaintext_utf8);
  });

  it('seals the vector envelope byte for byte with the given ephemeral ikm', async () => {
    const sealed = await sealSection6Vector();
    assert.equal(fromUtf8(sealed), vector.envelope_utf8);
    assert.equal(toHex(parseEnvelope(sealed).enc), vector.ephemeral_public_hex);
  });

  it('opens the vector envelope as bob and parses the message', async () => {
    const plaintext = await openEnvelope({ recipientSeed: bob.seed, senderPublic: alice.public, ownSlotId: vector.bob_slot_id, envelope: envelopeBytes });
    assert.equal(fromUtf8(plaintext), vector.plaintext_utf8);
    assert.deepEqual(parseMessage(plaintext, { from: vectors.alice.fingerprint, to: vectors.bob.fingerprint, now: sentMs }), vector.message);
  });

  it('a fresh seal uses a fresh ephemeral key and still opens', async () => {
    const request = { senderSeed: alice.seed, recipientPublic: bob.public, recipientSlotId: vector.bob_slot_id, plaintext: utf8('{}') };
    const [one, two] = [await sealEnvelope(request), await sealEnvelope(request)];
    assert.notDeepEqual(one, two);
    assert.equal(fromUtf8(await openEnvelope({ recipientSeed: bob.seed, senderPublic: alice.public, ownSlotId: vector.bob_slot_id, envelope: two })), '{}');
  });

  it('refuses the envelope opened as if from carol', async () => {
    const carol = ed25519.getPublicKey(fromHex(vectors.must_fail.opened_as_if_from_carol.carol_ed25519_seed_hex, 'seed'));
    assert.equal(fingerprint(carol), vectors.must_fail.opened_as_if_from_carol.carol_fingerprint);
    await assert.rejects(openEnvelope({ recipientSeed: bob.seed, senderPublic: carol, ownSlotId: vector.bob_slot_id, envelope: envelopeBytes }), rejection('open_failed'));
  });

  it('refuses the envelope opened under another slot id', async () => {
    await assert.rejects(
      openEnvelope({ recipientSeed: bob.seed, senderPublic: alice.public, ownSlotId: vectors.must_fail.opened_under_another_slot_id, envelope: envelopeBytes }),
      rejection('open_failed'),
    );
  });

  it('refuses the envelope with one ciphertext bit flipped', async () => {
    await assert.rejects(
      openEnvelope({ recipientSeed: bob.seed, senderPublic: alice.public, ownSlotId: vector.bob_slot_id, envelope: utf8(vectors.must_fail.one_ciphertext_bit_flipped) }),
      rejection('open_failed'),
    );
  });

  it('refuses the envelope opened by alice herself (it was sealed to bob)', async () => {
    await assert.rejects(openEnvelope({ recipientSeed: alice.seed, senderPublic: alice.public, ownSlotId: vector.bob_slot_id, envelope: envelopeBytes }), rejection('open_failed'));
  });

  it('computes the grant id as hex(SHA-256(send_token))[0:32]', () => {
    assert.equal(grantIdOf(vectors.grant_id.send_token), vectors.grant_id.grant_id);
  });

  it('refuses envelopes that are not exactly {"v":1,"enc","ct"} or too large', () => {
    const good = JSON.parse(vector.envelope_utf8) as Record<string, unknown>;
    const bad: unknown[] = [
      'not json',
      [],
      { ...good, v: 2 },
      { ...good, extra: 1 },
      { v: 1, enc: good['enc'] },
      { ...good, enc: toBase64(new Uint8Array(31)) },
      { ...good, ct: toBase64(new Uint8Array(15)) },
      { ...good, ct: 'not base64!' },
    ];
    for (const value of bad) {
      assert.throws(() => parseEnvelope(utf8(typeof value === 'string' ? value : JSON.stringify(value))), rejection('bad_envelope'), JSON.stringify(value));
    }
    assert.throws(() => parseEnvelope(new Uint8Array(MAX_ENVELOPE_BYTES + 1)), rejection('bad_envelope'));
  });

  it('refuses to seal more than MAX_ENVELOPE_BYTES', async () => {
    await assert.rejects(
      sealEnvelope({ senderSeed: alice.seed, recipientPublic: bob.public, recipientSlotId: vector.bob_slot_id, plaintext: new Uint8Array(MAX_ENVELOPE_BYTES) }),
      (error: unknown) => error instanceof Error && 'code' in error && error.code === 'too_large',
    );
  });
});

describe('message checks (section 6.2)', () => {
  const expect = { from: vectors.alice.fingerprint, to: vectors.bob.fingerprint, now: sentMs };
  const base = vector.message as unknown as Record<string, unknown>;
  const parse = (message: unknown, now = sentMs) => parseMessage(utf8(JSON.stringify(message)), { ...expect, now });

  it('accepts every known body type and keeps unknown ones whole', () => {
    for (const body of [
      { type: 'text', text: 'hi' },
      { type: 'text', text: 'x'.repeat(MAX_TEXT_BYTES) },
      { type: 'data', data: { a: [1, 'b', null] } },
      { type: 'data', data: null, reply_to: 'ab'.repeat(16) },
      { type: 'receipt', ids: Array.from({ length: MAX_RECEIPT_IDS }, () => 'cd'.repeat(16)) },
      { type: 'inbox', relay_url: 'http://127.0.0.1:8771', slot_id: 'ab'.repeat(16), send_token: 'cd'.repeat(32) },
      { type: 'poll', question: 'lunch?', options: ['yes', 'no'] },
    ]) {
      assert.deepEqual(parse({ ...base, body }).body, body);
    }
  });

  const badMessages: [string, unknown][] = [
    ['a missing field', { ...base, n: undefined }],
    ['an extra field', { ...base, extra: true }],
    ['v 2', { ...base, v: 2 }],
    ['an uppercase id', { ...base, id: 'AB'.repeat(16) }],
    ['a short id', { ...base, id: 'ab' }],
    ['a bad from', { ...base, from: 'alice' }],
    ['a bad to', { ...base, to: 12 }],
    ['n 0', { ...base, n: 0 }],
    ['n 1.5', { ...base, n: 1.5 }],
    ['n as text', { ...base, n: '3' }],
    ['sent_at with fractions', { ...base, sent_at: '2026-11-29T12:00:00.5Z' }],
    ['sent_at with an offset', { ...base, sent_at: '2026-11-29T12:00:00+00:00' }],
    ['sent_at on February 30', { ...base, sent_at: '2026-02-30T12:00:00Z' }],
    ['a body that is not an object', { ...base, body: 'hi' }],
    ['a body without a type', { ...base, body: { text: 'hi' } }],
    ['a text body with an extra field', { ...base, body: { type: 'text', text: 'hi', color: 'red' } }],
    ['a text body over 64 KiB', { ...base, body: { type: 'text', text: 'x'.repeat(MAX_TEXT_BYTES + 1) } }],
    ['a text body without text', { ...base, body: { type: 'text' } }],
    ['a bad reply_to', { ...base, body: { type: 'text', text: 'hi', reply_to: 'x' } }],
    ['a data body without data', { ...base, body: { type: 'data' } }],
    ['a receipt with 101 ids', { ...base, body: { type: 'receipt', ids: Array.from({ length: MAX_RECEIPT_IDS + 1 }, () => 'cd'.repeat(16)) } }],
    ['a receipt with a bad id', { ...base, body: { type: 'receipt', ids: ['nope'] } }],
    ['a receipt with reply_to', { ...base, body: { type: 'receipt', ids: [], reply_to: 'ab'.repeat(16) } }],
    ['an inbox body with a bad url', { ...base, body: { type: 'inbox', relay_url: 'ftp://x', slot_id: 'ab'.repeat(16), send_token: 'cd'.repeat(32) } }],
    ['an inbox body with a short token', { ...base, body: { type: 'inbox', relay_url: 'http://x', slot_id: 'ab'.repeat(16), send_token: 'cd' } }],
  ];
  for (const [name, message] of badMessages) {
    it(`drops a message with ${name} as bad_message`, () => {
      assert.throws(() => parse(message), rejection('bad_message'));
    });
  }

  it('drops a message whose from is not the peer the grant names, or whose to is not this side', () => {
    assert.throws(() => parse({ ...base, from: vectors.bob.fingerprint }), rejection('wrong_sender'));
    assert.throws(() => parse({ ...base, to: vectors.alice.fingerprint }), rejection('wrong_sender'));
  });

  it('accepts sent_at up to 7 days old and 10 minutes ahead, and drops beyond', () => {
    assert.equal(parse(base, sentMs + MAX_MESSAGE_AGE_MS).id, vector.message.id);
    assert.throws(() => parse(base, sentMs + MAX_MESSAGE_AGE_MS + 1000), rejection('stale'));
    assert.equal(parse(base, sentMs - MAX_CLOCK_AHEAD_MS).id, vector.message.id);
    assert.throws(() => parse(base, sentMs - MAX_CLOCK_AHEAD_MS - 1000), rejection('from_future'));
  });

  it('drops plaintext that is not JSON', () => {
    assert.throws(() => parseMessage(utf8('{'), expect), rejection('bad_message'));
  });

  it('checks outgoing bodies the way a receiver would', () => {
    assert.deepEqual(checkOutgoingBody({ type: 'text', text: 'hi' }), { type: 'text', text: 'hi' });
    assert.throws(() => checkOutgoingBody({ type: 'text', text: 'x'.repeat(MAX_TEXT_BYTES + 1) }), /64 KiB/);
    assert.throws(() => checkOutgoingBody({ type: 'poll' }), /unknown/);
    assert.throws(() => checkOutgoingBody({ type: 'text', text: 'hi', reply_to: 'x' }), /reply_to/);
  });

  it('writes sent_at in whole seconds', () => {
    assert.equal(formatTimestamp(Date.parse('2026-11-29T12:00:00.999Z')), '2026-11-29T12:00:00Z');
  });
});
