// A paired peer is still a stranger (issue 17): a properly paired but hostile peer, through a
// real relay on port 0, sends what no honest sender would. Nothing it sends may stop the pull,
// rewrite what this side sent, or point this side at another relay without the person.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type MessagingEvent, ReceiveRunner, decidePeerMove, heldMoves } from '../../src/core/inbox.js';
import { grantOnInbox, pendingGrantIds, rememberPendingGrant, takePendingGrant } from '../../src/core/inboxes.js';
import { getPeer } from '../../src/core/trust.js';
import { MAX_DATA_NESTING } from '../../src/core/messages.js';
import { isPairError } from '../../src/core/errors.js';
import { type TestRelay, startTestRelay } from '../helpers/relays.js';
import { pairedSides } from '../helpers/pairing.js';
import { deepDataBody, postRaw, rawMessage } from '../helpers/hostile.js';
import type { Side } from '../helpers/sides.js';
import { toBase64 } from '../../src/core/bytes.js';
import { MAX_ONE_TIME_KEYS_PER_MESSAGE, MAX_POOL_KEYS, receiveKeyPublic } from '../../src/core/receiveKeys.js';

const quiet = { log: () => undefined, limits: { opensPerIpPerMinute: 10_000 } };

let relay: TestRelay;
before(async () => {
  relay = await startTestRelay('socketless', quiet);
});
after(async () => {
  await relay.close();
});

function ofType<T extends MessagingEvent['type']>(events: MessagingEvent[], type: T): Extract<MessagingEvent, { type: T }>[] {
  return events.filter((event): event is Extract<MessagingEvent, { type: T }> => event.type === type);
}

const text = (words: string): string => JSON.stringify({ type: 'text', text: words });

describe('a hostile paired peer', () => {
  it('a data body nested 10,000 deep is dropped with a reason and acknowledged; the honest message behind it arrives', async () => {
    const { alice, bob } = await pairedSides(relay.url);
    await postRaw(bob.deps, alice.fingerprint, await rawMessage(bob.deps, alice.fingerprint, deepDataBody(10_000), { n: 1 }));
    await postRaw(bob.deps, alice.fingerprint, await rawMessage(bob.deps, alice.fingerprint, text('still here'), { n: 2 }));
    const receiver = new ReceiveRunner(alice.deps);
    const events = await receiver.pull();
    assert.deepEqual(ofType(events, 'dropped').map((event) => event.reason), ['bad_message']);
    assert.match(ofType(events, 'dropped')[0]?.detail ?? '', /deeper than 64/);
    assert.deepEqual(ofType(events, 'message').map((event) => event.record.body), [{ type: 'text', text: 'still here' }]);
    assert.deepEqual(await receiver.pull(), []);
  });

  it('data at MAX_DATA_NESTING arrives; one level deeper is dropped', async () => {
    const { alice, bob } = await pairedSides(relay.url);
    await postRaw(bob.deps, alice.fingerprint, await rawMessage(bob.deps, alice.fingerprint, deepDataBody(MAX_DATA_NESTING), { n: 1 }));
    await postRaw(bob.deps, alice.fingerprint, await rawMessage(bob.deps, alice.fingerprint, deepDataBody(MAX_DATA_NESTING + 1), { n: 2 }));
    const events = await new ReceiveRunner(alice.deps).pull();
    assert.equal(ofType(events, 'message').length, 1);
    assert.deepEqual(ofType(events, 'dropped').map((event) => event.reason), ['bad_message']);
  });

  it('whatever throws while storing one message drops it as unprocessable; the pull goes on', async () => {
    const { alice, bob } = await pairedSides(relay.url);
    const set = alice.memory.set.bind(alice.memory);
    alice.memory.set = async (key, value) => {
      if (value.includes('poison')) throw new RangeError('Maximum call stack size exceeded');
      await set(key, value);
    };
    await postRaw(bob.deps, alice.fingerprint, await rawMessage(bob.deps, alice.fingerprint, text('poison'), { n: 1 }));
    await postRaw(bob.deps, alice.fingerprint, await rawMessage(bob.deps, alice.fingerprint, text('fine'), { n: 2 }));
    const receiver = new ReceiveRunner(alice.deps);
    const events = await receiver.pull();
    assert.deepEqual(ofType(events, 'dropped').map((event) => event.reason), ['unprocessable']);
    assert.deepEqual(ofType(events, 'message').map((event) => event.record.body), [{ type: 'text', text: 'fine' }]);
    assert.deepEqual(await receiver.pull(), []);
  });

  it('a message reusing the id of one this side sent is dropped; the sent record keeps its own text', async () => {
    const { alice, bob } = await pairedSides(relay.url);
    const aliceRunner = new ReceiveRunner(alice.deps);
    const sent = await aliceRunner.sender.send('bob', { type: 'text', text: 'I agree to pay 10 EUR' });
    await postRaw(bob.deps, alice.fingerprint, await rawMessage(bob.deps, alice.fingerprint, text('I agree to pay 10000 EUR'), { id: sent.id, n: 1 }));
    const events = await aliceRunner.pull();
    assert.deepEqual(ofType(events, 'dropped').map((event) => event.reason), ['duplicate']);
    assert.deepEqual(ofType(events, 'message'), []);
    const kept = await aliceRunner.mailbox.get(bob.fingerprint, sent.id);
    assert.deepEqual([kept?.direction, kept?.body], ['out', { type: 'text', text: 'I agree to pay 10 EUR' }]);
  });

  it('a move within the same relay applies at once; one to another relay waits for the person', async () => {
    const { alice, bob } = await pairedSides(relay.url);
    const slot = 'c'.repeat(32);
    const token = 'd'.repeat(64);
    const move = (url: string): string => JSON.stringify({ type: 'inbox', relay_url: url, slot_id: slot, send_token: token });
    const receiver = new ReceiveRunner(alice.deps);
    await postRaw(bob.deps, alice.fingerprint, await rawMessage(bob.deps, alice.fingerprint, move(`${relay.url}/`), { n: 1 }));
    const same = await receiver.pull();
    assert.deepEqual(ofType(same, 'peerMoved').map((event) => event.relayUrl), [`${relay.url}/`]);
    assert.equal((await getPeer(alice.deps, bob.fingerprint))?.slotId, slot);
    await postRaw(bob.deps, alice.fingerprint, await rawMessage(bob.deps, alice.fingerprint, move('http://169.254.169.254:80/latest'), { n: 2 }));
    const other = await receiver.pull();
    assert.deepEqual(ofType(other, 'peerMoveHeld').map((event) => event.relayUrl), ['http://169.254.169.254:80/latest']);
    assert.deepEqual(ofType(other, 'peerMoved'), []);
    assert.equal((await getPeer(alice.deps, bob.fingerprint))?.relayUrl, `${relay.url}/`);
    assert.deepEqual((await heldMoves(alice.deps)).map((held) => held.relayUrl), ['http://169.254.169.254:80/latest']);
    await decidePeerMove(alice.deps, 'bob', 'refuse');
    assert.deepEqual(await heldMoves(alice.deps), []);
    assert.equal((await getPeer(alice.deps, bob.fingerprint))?.relayUrl, `${relay.url}/`);
    await assert.rejects(decidePeerMove(alice.deps, 'bob', 'accept'), (error) => isPairError(error, 'not_found'));
  });

  it('a move the person accepts points sends at the new relay', async () => {
    const { alice, bob } = await pairedSides(relay.url);
    const receiver = new ReceiveRunner(alice.deps);
    await postRaw(bob.deps, alice.fingerprint, await rawMessage(bob.deps, alice.fingerprint, JSON.stringify({ type: 'inbox', relay_url: 'https://relay.example.net', slot_id: 'e'.repeat(32), send_token: 'f'.repeat(64) }), { n: 1 }));
    await receiver.pull();
    await decidePeerMove(alice.deps, bob.fingerprint, 'accept');
    const moved = await getPeer(alice.deps, bob.fingerprint);
    assert.deepEqual([moved?.relayUrl, moved?.slotId], ['https://relay.example.net', 'e'.repeat(32)]);
  });

  it('an answer holds only for the address the person was shown: a move swapped meanwhile is not accepted', async () => {
    const { alice, bob } = await pairedSides(relay.url);
    const receiver = new ReceiveRunner(alice.deps);
    const moveTo = async (url: string, n: number): Promise<void> => {
      await postRaw(bob.deps, alice.fingerprint, await rawMessage(bob.deps, alice.fingerprint, JSON.stringify({ type: 'inbox', relay_url: url, slot_id: 'e'.repeat(32), send_token: 'f'.repeat(64) }), { n }));
      await receiver.pull();
    };
    await moveTo('https://relay.example.net', 1);
    // The person reads this one; before they answer, bob asks again for another address.
    await moveTo('http://169.254.169.254/latest', 2);
    await assert.rejects(decidePeerMove(alice.deps, 'bob', 'accept', 'https://relay.example.net'), (error) => isPairError(error, 'conflict') && /169\.254\.169\.254/.test(error.message));
    assert.equal((await getPeer(alice.deps, bob.fingerprint))?.relayUrl, relay.url);
    assert.deepEqual((await heldMoves(alice.deps)).map((held) => held.relayUrl), ['http://169.254.169.254/latest']);
    await decidePeerMove(alice.deps, 'bob', 'refuse', 'http://169.254.169.254/latest');
    assert.deepEqual(await heldMoves(alice.deps), []);
  });

  for (const url of ['http://user:pw@relay.example', 'http://relay.example/?x=1', 'http://relay.example/#x', 'http://relay.example/\u2800says-hello', 'ftp://relay.example', 'http://r\u00e9lay.example']) {
    it(`an inbox move to ${JSON.stringify(url)} is dropped as bad_message`, async () => {
      const { alice, bob } = await pairedSides(relay.url);
      await postRaw(bob.deps, alice.fingerprint, await rawMessage(bob.deps, alice.fingerprint, JSON.stringify({ type: 'inbox', relay_url: url, slot_id: 'c'.repeat(32), send_token: 'd'.repeat(64) }), { n: 1 }));
      const events = await new ReceiveRunner(alice.deps).pull();
      assert.deepEqual(ofType(events, 'dropped').map((event) => event.reason), ['bad_message']);
      assert.deepEqual(await heldMoves(alice.deps), []);
    });
  }

  it('n = 2^53-1 is dropped: no absurd loss, gap tracking goes on', async () => {
    const { alice, bob } = await pairedSides(relay.url);
    await postRaw(bob.deps, alice.fingerprint, await rawMessage(bob.deps, alice.fingerprint, text('huge'), { n: Number.MAX_SAFE_INTEGER }));
    await postRaw(bob.deps, alice.fingerprint, await rawMessage(bob.deps, alice.fingerprint, text('two'), { n: 2 }));
    const receiver = new ReceiveRunner(alice.deps, { lossGraceMs: 0 });
    const events = await receiver.pull();
    assert.deepEqual(ofType(events, 'dropped').map((event) => event.reason), ['bad_message']);
    // The first message was never seen: a gap can start at 1, so its loss shows.
    assert.deepEqual(ofType(events, 'lost').map((event) => event.count), [1]);
  });
});

/** 32 little-endian bytes of `value` (an X25519 u-coordinate as the wire carries it), base64. */
function uCoordinate(value: bigint): string {
  const bytes = new Uint8Array(32);
  for (let i = 0; i < 32; i++) bytes[i] = Number((value >> BigInt(8 * i)) & 0xffn);
  return toBase64(bytes);
}
const P25519 = 2n ** 255n - 19n;
/** Every u-coordinate of a point of order 1, 2, 4 or 8 (curve or twist), and non-canonical spellings of some. */
const LOW_ORDER_U: [string, bigint][] = [
  ['0', 0n],
  ['1', 1n],
  ['p-1', P25519 - 1n],
  ['an order-8 point', 325606250916557431795983626356110631294008115727848805560023387167927233504n],
  ['the other order-8 point', 39382357235489614581723060781553021112529911719440698176882885853963445705823n],
  ['p (0 spelt long)', P25519],
  ['p+1 (1 spelt long)', P25519 + 1n],
  ['0 with the ignored top bit set', 2n ** 255n],
];

describe('the receive keys a hostile peer gives (PROTOCOL.md 7.1, 7.3)', () => {
  const kid = (index: number): string => index.toString(16).padStart(16, '0');
  const good = (index: number, last = false) => ({ kid: kid(index), pub: toBase64(receiveKeyPublic(new Uint8Array(32).fill(index + 1))), ...(last && { last: true }) });

  /** The pool of keys `from` holds from `peer` (public; memory). */
  async function poolOf(from: Side, peer: Side): Promise<{ oneTime: { kid: string; pub: string }[]; last?: { kid: string; pub: string } }> {
    return JSON.parse((await from.memory.get(`mail.keys.${peer.fingerprint}`)) ?? '{"oneTime":[]}') as { oneTime: { kid: string; pub: string }[]; last?: { kid: string; pub: string } };
  }

  const garbage: [string, unknown][] = [
    ['not a list', { kid: kid(1), pub: good(1).pub }],
    ['18 keys', Array.from({ length: 18 }, (_, i) => good(i))],
    ['17 one-time keys', Array.from({ length: 17 }, (_, i) => good(i))],
    ['one kid twice', [good(1), { ...good(2), kid: kid(1) }]],
    ['two last-resort keys', [good(1, true), good(2, true)]],
    ['a 31-byte pub', [{ kid: kid(1), pub: toBase64(new Uint8Array(31).fill(9)) }]],
    ['a 33-byte pub', [{ kid: kid(1), pub: toBase64(new Uint8Array(33).fill(9)) }]],
    ['an uppercase kid', [{ ...good(1), kid: 'ABCDEF0123456789' }]],
    ['kid "id"', [{ ...good(1), kid: 'id' }]],
    ['last: false', [{ ...good(1), last: false }]],
    ['a field more', [{ ...good(1), note: 'x' }]],
    ...LOW_ORDER_U.map(([name, u]): [string, unknown] => [`a low-order pub (u = ${name})`, [good(1), { kid: kid(2), pub: uCoordinate(u), last: true }]]),
  ];
  for (const [what, keys] of garbage) {
    it(`keys with ${what}: its message is dropped as bad_message, the pool is untouched, the next message arrives`, async () => {
      const { alice: mallory, bob } = await pairedSides(relay.url);
      const keysHeld = async () => {
        const { oneTime, last } = await poolOf(bob, mallory);
        return { oneTime, last };
      };
      const before = await keysHeld();
      await postRaw(mallory.deps, bob.fingerprint, await rawMessage(mallory.deps, bob.fingerprint, text('take these'), { n: 1 }), keys);
      await postRaw(mallory.deps, bob.fingerprint, await rawMessage(mallory.deps, bob.fingerprint, text('then this'), { n: 2 }));
      const events = await new ReceiveRunner(bob.deps).pull();
      assert.deepEqual(ofType(events, 'dropped').map((event) => [event.reason, /keys/.test(event.detail)]), [['bad_message', true]]);
      assert.deepEqual(ofType(events, 'message').map((event) => event.record.body), [{ type: 'text', text: 'then this' }]);
      assert.deepEqual(await keysHeld(), before);
    });
  }

  it('a peer giving 16 keys in every message never grows its pool past MAX_POOL_KEYS, and what it holds is spent oldest first', async () => {
    const { alice: mallory, bob } = await pairedSides(relay.url);
    const rounds = Math.ceil(MAX_POOL_KEYS / MAX_ONE_TIME_KEYS_PER_MESSAGE) + 2;
    for (let round = 0; round < rounds; round++) {
      const keys = Array.from({ length: MAX_ONE_TIME_KEYS_PER_MESSAGE }, (_, i) => good(100 + round * MAX_ONE_TIME_KEYS_PER_MESSAGE + i));
      await postRaw(mallory.deps, bob.fingerprint, await rawMessage(mallory.deps, bob.fingerprint, text(`round ${round}`), { n: round + 1 }), keys);
    }
    const events = await new ReceiveRunner(bob.deps).pull();
    assert.equal(ofType(events, 'message').length, rounds);
    const pool = await poolOf(bob, mallory);
    assert.equal(pool.oneTime.length, MAX_POOL_KEYS);
    assert.equal(pool.oneTime.at(-1)?.kid, kid(100 + rounds * MAX_ONE_TIME_KEYS_PER_MESSAGE - 1), 'the newest gifts are kept');
  });

  it('a low-order key already in the pool (an older build took it) fails that send as protocol_violation; the pull and the receipts go on', async () => {
    const { alice: mallory, bob } = await pairedSides(relay.url);
    const pool = JSON.parse((await bob.memory.get(`mail.keys.${mallory.fingerprint}`)) ?? '{}') as { oneTime: unknown[] };
    pool.oneTime = [{ kid: kid(7), pub: uCoordinate(0n), givenAt: bob.clock.now() }];
    await bob.memory.set(`mail.keys.${mallory.fingerprint}`, JSON.stringify(pool));
    const b = new ReceiveRunner(bob.deps);
    await assert.rejects(b.sender.send(mallory.fingerprint, { type: 'text', text: 'to a key nobody can use' }), (error: unknown) => isPairError(error, 'protocol_violation') && error.message.includes(kid(7)));
    await postRaw(mallory.deps, bob.fingerprint, await rawMessage(mallory.deps, bob.fingerprint, text('still read'), { n: 1 }));
    const events = await b.pull();
    assert.deepEqual(ofType(events, 'message').map((event) => event.record.body), [{ type: 'text', text: 'still read' }]);
    const [message] = ofType(events, 'message');
    assert.ok(message);
    await b.markHandled([{ peer: mallory.fingerprint, id: message.record.id }]);
    assert.deepEqual(await b.mailbox.receiptsOwed(mallory.fingerprint), [], 'the receipt was stored at the relay, sealed to the last-resort key');
  });
});

describe('a message under the grant of a pairing still in flight', () => {
  it('waits at the relay, unacknowledged, until the pairing ends; then it is handled', async () => {
    const { alice, bob } = await pairedSides(relay.url);
    const relayPort = alice.deps.relays(relay.url);
    const { inbox, sendToken, grantId } = await grantOnInbox(alice.deps, relayPort);
    await rememberPendingGrant(alice.deps, 'a'.repeat(32), { relayUrl: inbox.relayUrl, slotId: inbox.slotId, grantId, heldUntil: alice.clock.now() + 60_000 });
    assert.deepEqual([...(await pendingGrantIds(alice.deps, alice.clock.now()))], [grantId]);
    // The new peer writes before this side pinned it; an honest pinned peer writes after.
    await relayPort.postMessage(inbox.slotId, sendToken, 'bm90IGFuIGVudmVsb3Bl');
    await postRaw(bob.deps, alice.fingerprint, await rawMessage(bob.deps, alice.fingerprint, text('after it'), { n: 1 }));
    // A pull that finds it rechecks after PENDING_PAIRING_RECHECK_MS (a second), here at once.
    const receiver = new ReceiveRunner({ ...alice.deps, clock: { now: () => alice.clock.now(), sleep: () => Promise.resolve() } });
    assert.deepEqual(await receiver.pull(), []);
    assert.equal((await relayPort.readMessages(inbox.slotId, inbox.ownerToken, { after: 0 })).messages.length, 2);
    await takePendingGrant(alice.deps, 'a'.repeat(32));
    const events = await receiver.pull();
    assert.deepEqual(ofType(events, 'dropped').map((event) => event.reason), ['unknown_grant']);
    assert.deepEqual(ofType(events, 'message').map((event) => event.record.body), [{ type: 'text', text: 'after it' }]);
  });

  it('a pending grant past its pairing\'s end holds nothing', async () => {
    const { alice } = await pairedSides(relay.url);
    await rememberPendingGrant(alice.deps, 'b'.repeat(32), { relayUrl: relay.url, slotId: 'c'.repeat(32), grantId: 'd'.repeat(32), heldUntil: alice.clock.now() - 1 });
    assert.equal((await pendingGrantIds(alice.deps, alice.clock.now())).size, 0);
  });
});
