// Messages v2 (PROTOCOL.md section 7) between real sides through a real relay on port 0: what a
// stolen key can no longer do, when keys stop opening (injected clocks), and the upgrade of
// peers that speak only section 6 or were pinned before it.

import '../helpers/nativeCurves.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fromBase64, toBase64 } from '../../src/core/bytes.js';
import { loadSigningKey } from '../../src/core/identity.js';
import { type MessagingEvent, ReceiveRunner } from '../../src/core/inbox.js';
import { listOwnInboxes } from '../../src/core/inboxes.js';
import { encodeMessage, newMessageId, sealEnvelope } from '../../src/core/messages.js';
import { sealEnvelopeV2 } from '../../src/core/messagesV2.js';
import { LAST_RESORT_GRACE_MS, LAST_RESORT_ROTATION_MS, ONE_TIME_KEYS_REFILL, ONE_TIME_KEYS_TARGET, ONE_TIME_KEY_LIFETIME_MS, ReceiveKeys } from '../../src/core/receiveKeys.js';
import { getPeer, loadPeerSendToken } from '../../src/core/trust.js';
import { canonicalJson, createCard } from '../../src/core/identity.js';
import { parseBootstrapPayload } from '../../src/core/session.js';
import { isPairError } from '../../src/core/errors.js';
import { type TestRelay, startTestRelay } from '../helpers/relays.js';
import { pairedSides } from '../helpers/pairing.js';
import type { Side } from '../helpers/sides.js';
import { formatTimestamp } from '../../src/core/vocabulary.js';

const quiet = { log: () => undefined, limits: { opensPerIpPerMinute: 10_000 } };
const MINUTE_MS = 60_000;

let relay: TestRelay;
before(async () => {
  relay = await startTestRelay('socketless', quiet);
});
after(async () => {
  await relay.close();
});

function dropped(events: MessagingEvent[]): string[] {
  return events.flatMap((event) => (event.type === 'dropped' ? [event.reason] : []));
}
function texts(events: MessagingEvent[]): unknown[] {
  return events.flatMap((event) => (event.type === 'message' ? [event.record.body] : []));
}

interface PoolKey {
  kid: string;
  pub: string;
}
/** The keys `to` gave `from`, as `from` holds them (its pool: public). */
async function poolOf(from: Side, to: Side): Promise<{ oneTime: PoolKey[]; last?: PoolKey }> {
  return JSON.parse((await from.memory.get(`mail.keys.${to.fingerprint}`)) ?? '{"oneTime":[]}') as { oneTime: PoolKey[]; last?: PoolKey };
}

/**
 * Posts a v2 message from `from` to `to` sealed to `key`, signed by `signerSeed` (the sender's
 * own unless a forger's), under `from`'s grant: what a hostile sender or relay can make.
 */
async function postV2(from: Side, to: Side, key: PoolKey, text: string, signerSeed?: Uint8Array): Promise<void> {
  const peer = await getPeer(from.deps, to.fingerprint);
  const token = await loadPeerSendToken(from.deps, to.fingerprint);
  assert.ok(peer && token);
  const seed = signerSeed ?? (await loadSigningKey(from.deps));
  const envelope = await sealEnvelopeV2({
    senderSeed: seed,
    recipientKey: fromBase64(key.pub, 'pub'),
    kid: key.kid,
    recipientSlotId: peer.slotId,
    message: { v: 2, id: newMessageId(from.deps.random.bytes(16)), from: from.fingerprint, to: to.fingerprint, n: 900, sent_at: formatTimestamp(from.clock.now()), body: { type: 'text', text }, keys: [] },
  });
  await from.deps.relays(peer.relayUrl).postMessage(peer.slotId, token, toBase64(envelope));
}

describe('messages v2 between two sides paired with section 7', () => {
  it('speaks v2 from the first message, both ways, receipts included, and says so on the record', async () => {
    const { alice, bob } = await pairedSides(relay.url);
    const a = new ReceiveRunner(alice.deps);
    const b = new ReceiveRunner(bob.deps);
    const sent = await a.sender.send('bob', { type: 'text', text: 'hi' });
    assert.equal(sent.record?.v, 2);
    const events = await b.pull();
    const [message] = events.filter((event) => event.type === 'message');
    assert.equal(message?.type === 'message' && message.record.v, 2);
    await b.markHandled([{ peer: alice.fingerprint, id: sent.id }]);
    assert.deepEqual(
      (await a.pull()).flatMap((event) => (event.type === 'receipt' ? [event.ids] : [])),
      [[sent.id]],
    );
    assert.deepEqual(await a.sender.keys.forwardSecrecy(bob.fingerprint), { state: 'on', sending: true, receiving: true });
    assert.deepEqual(await b.sender.keys.forwardSecrecy(alice.fingerprint), { state: 'on', sending: true, receiving: true });
  });

  it('a send whose spent key cannot be stored posts nothing and gives its n back (the key and n are written together)', async () => {
    const { alice, bob } = await pairedSides(relay.url);
    const poolKey = `mail.keys.${bob.fingerprint}`;
    const poolBefore = await alice.memory.get(poolKey);
    const set = alice.memory.set.bind(alice.memory);
    let refused = 0;
    alice.memory.set = (key, value) => (key === poolKey && refused++ === 0 ? Promise.reject(new Error('disk full')) : set(key, value));
    const a = new ReceiveRunner(alice.deps);
    await assert.rejects(a.sender.send('bob', { type: 'text', text: 'never sealed' }), /disk full/);
    assert.equal(refused, 1);
    assert.equal(await alice.memory.get(poolKey), poolBefore, 'the pool is as it was');
    assert.equal(alice.calls.get('postMessage') ?? 0, 0, 'nothing reached the relay');

    const sent = await a.sender.send('bob', { type: 'text', text: 'sealed' });
    assert.equal(sent.record?.n, 1, 'the failed send gave its n back');
    const events = await new ReceiveRunner(bob.deps).pull();
    assert.deepEqual(texts(events), [{ type: 'text', text: 'sealed' }]);
    assert.deepEqual(dropped(events), []);
  });

  it('receipts carry the top-ups: a side that only reads refills the sender to 16 keys, and a day on (one runner all along) gives a new last-resort key', async () => {
    const { alice, bob } = await pairedSides(relay.url);
    const a = new ReceiveRunner(alice.deps);
    const b = new ReceiveRunner(bob.deps);
    const firstLast = (await poolOf(alice, bob)).last;
    const sendAndHandOver = async (count: number): Promise<void> => {
      const ids: string[] = [];
      for (let i = 0; i < count; i++) ids.push((await a.sender.send('bob', { type: 'text', text: `message ${i}` })).id);
      const stored = (await b.pull()).flatMap((event) => (event.type === 'message' ? [event.record.id] : []));
      assert.deepEqual(stored.sort(), [...ids].sort());
      // Bob only hands them over: his receipt is all he sends.
      await b.markHandled(ids.map((id) => ({ peer: alice.fingerprint, id })));
      const receipted = (await a.pull()).flatMap((event) => (event.type === 'receipt' ? event.ids : []));
      assert.deepEqual(receipted.sort(), [...ids].sort());
    };
    await sendAndHandOver(ONE_TIME_KEYS_TARGET);
    const refilled = await poolOf(alice, bob);
    assert.equal(refilled.oneTime.length, ONE_TIME_KEYS_REFILL, 'the receipt refilled Alice to 16 unused one-time keys');
    assert.equal(refilled.last?.kid, firstLast?.kid, 'the last-resort key is not a day old yet');
    for (const side of [alice, bob]) side.clock.offsetMs = LAST_RESORT_ROTATION_MS;
    await sendAndHandOver(1);
    const dayOn = await poolOf(alice, bob);
    assert.ok(dayOn.last && dayOn.last.kid !== firstLast?.kid, 'the receipt a day on gave a new last-resort key');
    assert.equal(dayOn.oneTime.length, ONE_TIME_KEYS_REFILL - 1, 'and no one-time keys while Alice holds 8 or more');
  });

  it('refuses a message forged with the recipient\'s own secrets (its identity key signs, not the sender\'s): bad_signature', async () => {
    const { alice, bob } = await pairedSides(relay.url);
    // The thief holds Bob's identity seed and every receive key Bob gave; here: a key Bob gave Alice.
    const [key] = (await poolOf(alice, bob)).oneTime;
    assert.ok(key);
    await postV2(alice, bob, key, 'I am alice, honest', await loadSigningKey(bob.deps));
    const events = await new ReceiveRunner(bob.deps).pull();
    assert.deepEqual(dropped(events), ['bad_signature']);
    assert.deepEqual(texts(events), []);
  });

  it('refuses a message sealed to a one-time key already spent: unknown_key', async () => {
    const { alice, bob } = await pairedSides(relay.url);
    const [key] = (await poolOf(alice, bob)).oneTime;
    assert.ok(key);
    const b = new ReceiveRunner(bob.deps);
    await postV2(alice, bob, key, 'first under this key');
    assert.deepEqual(texts(await b.pull()), [{ type: 'text', text: 'first under this key' }]);
    await postV2(alice, bob, key, 'second under the same key');
    const events = await b.pull();
    assert.deepEqual(dropped(events), ['unknown_key']);
    assert.deepEqual(texts(events), []);
  });

  it('deletes a key given and never used 30 days later (injected clock)', async () => {
    const { alice, bob } = await pairedSides(relay.url);
    const [key] = (await poolOf(alice, bob)).oneTime;
    assert.ok(key);
    assert.ok(await bob.vault.get(`rkeys.${alice.fingerprint}`).then((text) => text?.includes(key.kid)));
    for (const side of [alice, bob]) side.clock.offsetMs = ONE_TIME_KEY_LIFETIME_MS;
    const b = new ReceiveRunner(bob.deps);
    await b.pull();
    assert.ok(!(await bob.vault.get(`rkeys.${alice.fingerprint}`))?.includes(key.kid), 'the heal round rewrote the secrets without it');
    await postV2(alice, bob, key, 'too late');
    assert.deepEqual(dropped(await b.pull()), ['unknown_key']);
  });

  it('a key that reached the peer late (its message waited 6 days at the relay) is dropped from its pool when the giver deletes it, not 6 days later', async () => {
    const { alice, bob } = await pairedSides(relay.url);
    const a = new ReceiveRunner(alice.deps);
    const b = new ReceiveRunner(bob.deps);
    // Alice spends Bob's 8 one-time keys; Bob reads them and answers, his answer refilling her pool.
    for (let i = 0; i < ONE_TIME_KEYS_TARGET; i++) await a.sender.send('bob', { type: 'text', text: `message ${i}` });
    await b.pull();
    await b.sender.send('alice', { type: 'text', text: 'here are fresh keys' });
    // Alice reads Bob's answer only 6 days later.
    const SIX_DAYS_MS = 6 * 24 * 60 * 60 * 1000;
    alice.clock.offsetMs = SIX_DAYS_MS;
    await a.pull();
    const refill = (await poolOf(alice, bob)).oneTime;
    assert.equal(refill.length, ONE_TIME_KEYS_REFILL);
    // 30 days after Bob gave them, he deleted them (unused): Alice must not seal to them any more.
    for (const side of [alice, bob]) side.clock.offsetMs = ONE_TIME_KEY_LIFETIME_MS + MINUTE_MS;
    const late = await a.sender.send('bob', { type: 'text', text: 'a month on' });
    const events = await b.pull();
    assert.deepEqual(dropped(events), []);
    assert.deepEqual(texts(events), [{ type: 'text', text: 'a month on' }], 'sealed to a key Bob still holds (his last-resort key)');
    assert.equal(late.record?.v, 2);
  });

  it('keeps opening under the last-resort key until 8 days after a newer one was given, then not', async () => {
    const { alice, bob } = await pairedSides(relay.url);
    const oldLast = (await poolOf(alice, bob)).last;
    assert.ok(oldLast);
    const b = new ReceiveRunner(bob.deps);
    await postV2(alice, bob, oldLast, 'under the last resort');
    await postV2(alice, bob, oldLast, 'and again: it is reused');
    assert.equal(texts(await b.pull()).length, 2);
    // A day later Bob's next message gives Alice a newer last-resort key.
    for (const side of [alice, bob]) side.clock.offsetMs = LAST_RESORT_ROTATION_MS;
    await b.sender.send('alice', { type: 'text', text: 'a day later' });
    await new ReceiveRunner(alice.deps).pull();
    const newLast = (await poolOf(alice, bob)).last;
    assert.ok(newLast && newLast.kid !== oldLast.kid);
    for (const side of [alice, bob]) side.clock.offsetMs = LAST_RESORT_ROTATION_MS + LAST_RESORT_GRACE_MS - MINUTE_MS;
    await postV2(alice, bob, oldLast, 'within 8 days of the newer one');
    assert.deepEqual(texts(await b.pull()), [{ type: 'text', text: 'within 8 days of the newer one' }]);
    for (const side of [alice, bob]) side.clock.offsetMs = LAST_RESORT_ROTATION_MS + LAST_RESORT_GRACE_MS + MINUTE_MS;
    await postV2(alice, bob, oldLast, 'past 8 days');
    assert.deepEqual(dropped(await b.pull()), ['unknown_key']);
    await postV2(alice, bob, newLast, 'the newer one still opens');
    assert.deepEqual(texts(await b.pull()), [{ type: 'text', text: 'the newer one still opens' }]);
  });

  it('refuses a section 6 envelope from a peer that spoke v2: downgrade', async () => {
    const { alice, bob } = await pairedSides(relay.url);
    const b = new ReceiveRunner(bob.deps);
    await new ReceiveRunner(alice.deps).sender.send('bob', { type: 'text', text: 'v2' });
    await b.pull();
    await postV1(alice, bob, 'an old-style envelope');
    const events = await b.pull();
    assert.deepEqual(dropped(events), ['downgrade']);
    assert.deepEqual(texts(events), []);
  });
});

/** Posts a section 6 envelope from `from` to `to`, as a peer that speaks only section 6 sends. */
async function postV1(from: Side, to: Side, text: string): Promise<string> {
  const peer = await getPeer(from.deps, to.fingerprint);
  const token = await loadPeerSendToken(from.deps, to.fingerprint);
  assert.ok(peer && token);
  const id = newMessageId(from.deps.random.bytes(16));
  const message = { v: 1 as const, id, from: from.fingerprint, to: to.fingerprint, n: 1, sent_at: formatTimestamp(from.clock.now()), body: { type: 'text', text } };
  const envelope = await sealEnvelope({ senderSeed: await loadSigningKey(from.deps), recipientPublic: fromBase64(peer.card.key, 'key'), recipientSlotId: peer.slotId, plaintext: encodeMessage(message) });
  await from.deps.relays(peer.relayUrl).postMessage(peer.slotId, token, toBase64(envelope));
  return id;
}

/** Makes `side` forget every key `peer` gave it and every key it gave `peer`: as if pinned before section 7. */
async function pinnedBeforeSection7(side: Side, peer: Side): Promise<void> {
  await new ReceiveKeys(side.deps).forget(peer.fingerprint);
}

describe('upgrading peers pinned before section 7', () => {
  it('two peers pinned before section 7 upgrade by themselves through the keys message under kid "id"', async () => {
    const { alice, bob } = await pairedSides(relay.url);
    await pinnedBeforeSection7(alice, bob);
    await pinnedBeforeSection7(bob, alice);
    const a = new ReceiveRunner(alice.deps);
    const b = new ReceiveRunner(bob.deps);
    const first = await a.sender.send('bob', { type: 'text', text: 'still section 6' });
    assert.equal(first.record?.v, undefined, 'no key from Bob yet: section 6');
    const events = await b.pull();
    assert.deepEqual(dropped(events), []);
    assert.deepEqual(texts(events), [{ type: 'text', text: 'still section 6' }], 'the keys message is never shown');
    // Alice's section 6 message after her keys message was read: she had no key of Bob's yet.
    assert.deepEqual(await b.sender.keys.forwardSecrecy(alice.fingerprint), { state: 'upgrading', sending: true, receiving: false });
    const reply = await b.sender.send('alice', { type: 'text', text: 'now v2' });
    assert.equal(reply.record?.v, 2);
    assert.deepEqual(texts(await a.pull()), [{ type: 'text', text: 'now v2' }]);
    const next = await a.sender.send('bob', { type: 'text', text: 'v2 both ways' });
    assert.equal(next.record?.v, 2);
    assert.deepEqual(texts(await b.pull()), [{ type: 'text', text: 'v2 both ways' }]);
    assert.deepEqual(await b.sender.keys.forwardSecrecy(alice.fingerprint), { state: 'on', sending: true, receiving: true });
    await postV1(alice, bob, 'section 6 again');
    assert.deepEqual(dropped(await b.pull()), ['downgrade'], 'once Alice sealed to a key Bob gave, section 6 from her is refused');
    // Bob saw no gap in Alice's numbers: the keys message shared the next message's n.
    assert.equal((await b.mailbox.summary(alice.fingerprint)).pendingGap, undefined);
  });

  it('a peer that speaks only section 6 still gets section 6 messages and is still read', async () => {
    const { alice, bob } = await pairedSides(relay.url);
    // Bob plays a section-6-only peer: he gave Alice no keys, posts section 6 and reads only section 6.
    await pinnedBeforeSection7(alice, bob);
    const a = new ReceiveRunner(alice.deps);
    await postV1(bob, alice, 'from a section 6 peer');
    assert.deepEqual(texts(await a.pull()), [{ type: 'text', text: 'from a section 6 peer' }]);
    await a.sender.send('bob', { type: 'text', text: 'reply one' });
    await a.sender.send('bob', { type: 'text', text: 'reply two' });
    const page = await readOwnInbox(bob);
    const versions = page.map((value) => JSON.parse(Buffer.from(value, 'base64').toString('utf8')) as { v: number; kid?: string });
    assert.deepEqual(versions.map((envelope) => envelope.v), [2, 1, 1], 'one keys message (which a section 6 peer drops), then section 6');
    assert.equal(versions[0]?.kid, 'id');
    assert.deepEqual(await a.sender.keys.forwardSecrecy(bob.fingerprint), { state: 'off', sending: false, receiving: false });
  });
});

/** The envelopes waiting in `side`'s own inbox (read with its owner token, not acknowledged). */
async function readOwnInbox(side: Side): Promise<string[]> {
  const [inbox] = await listOwnInboxes(side.deps);
  assert.ok(inbox);
  const page = await side.deps.relays(inbox.relayUrl).readMessages(inbox.slotId, inbox.ownerToken, { after: 0 });
  return page.messages.map((message) => message.value);
}

describe('the bootstrap may carry keys (section 4)', () => {
  const card = createCard('carol', new Uint8Array(32).fill(7), '2026-12-03T00:00:00Z');
  const base = { v: 1, card, relay_url: 'http://127.0.0.1:8771', slot_id: 'a'.repeat(32), send_token: 'b'.repeat(64) };
  const key = { kid: '0123456789abcdef', pub: toBase64(new Uint8Array(32).fill(1)) };
  const parse = (payload: unknown) => parseBootstrapPayload(new TextEncoder().encode(canonicalJson(payload)));

  it('accepts a payload without keys (a peer that predates section 7) and one with them', () => {
    assert.deepEqual(parse(base).keys, []);
    assert.deepEqual(parse({ ...base, keys: [key, { ...key, kid: 'fedcba9876543210', last: true }] }).keys, [key, { ...key, kid: 'fedcba9876543210', last: true }]);
  });

  it('refuses malformed keys as a protocol violation naming them', () => {
    for (const keys of [{}, [{ ...key, kid: 'nope' }], [key, key], [{ ...key, pub: toBase64(new Uint8Array(32)) }], Array.from({ length: 18 }, (_, i) => ({ ...key, kid: i.toString(16).padStart(16, '0') }))]) {
      assert.throws(() => parse({ ...base, keys }), (error: unknown) => isPairError(error, 'protocol_violation') && /bootstrap keys/.test(error.message));
    }
  });
});
