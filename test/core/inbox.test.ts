// The messaging runners end to end between two real sides through real relays on port 0:
// send → store → receipt → delivered, one read of the relay per message (a long poll's page, read
// again only if another runner acknowledged meanwhile), hand-overs decided as messages are
// stored, every drop rule, loss after the grace, full and revoked
// inboxes, and inboxes that heal after a relay restart. A hostile proxy (a real HTTP server in
// front of a real relay) replays, flips bits, reports foreign grants and swallows messages.

import '../helpers/nativeCurves.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PairError, isPairError } from '../../src/core/errors.js';
import { OUTBOX_MAX_AGE_MS, OUTBOX_RETRY_BASE_MS, ReceiveRunner, SendRunner, type MessagingEvent, decidePeerMove } from '../../src/core/inbox.js';
import { forgetAndRevoke } from '../../src/core/grants.js';
import { listOwnInboxes } from '../../src/core/inboxes.js';
import { MAX_MESSAGE_AGE_MS } from '../../src/core/messages.js';
import type { RelayConnector, RelayPort } from '../../src/core/ports.js';
import { type Handover, PeerBudgets } from '../../src/core/rules.js';
import { getPeer, loadPeerSendToken, peerRecordKey, pendingRevocations, setPeerRule } from '../../src/core/trust.js';
import { type RunningRelay, startRelay } from '../../src/relay/node.js';
import { type TestRelay, startTestRelay } from '../helpers/relays.js';
import { HostileProxy, pairSides, pairedSides } from '../helpers/pairing.js';
import { postRaw, rawMessage } from '../helpers/hostile.js';
import { type Side, makeSide } from '../helpers/sides.js';
import { gate, until } from '../helpers/until.js';

const quiet = { log: () => undefined, limits: { opensPerIpPerMinute: 10_000 } };

/**
 * `test` with alice and bob paired through a HostileProxy in front of a relay of their own (the
 * proxy then forgets an inbox, or goes away and comes back); both are closed after.
 */
async function withProxiedPair(test: (sides: { alice: Side; bob: Side; proxy: HostileProxy }) => Promise<void>): Promise<void> {
  const backend = await startRelay(quiet);
  const proxy = new HostileProxy(backend.url);
  await proxy.start();
  try {
    await test({ ...(await pairedSides(proxy.url)), proxy });
  } finally {
    await proxy.close();
    await backend.close();
  }
}

function runners(side: Side, lossGraceMs?: number): { sender: SendRunner; receiver: ReceiveRunner } {
  const receiver = new ReceiveRunner(side.deps, lossGraceMs === undefined ? {} : { lossGraceMs });
  return { sender: receiver.sender, receiver };
}

/** What the mailbox counted as dropped, by reason, as it stored the counts. */
async function droppedCounts(side: Side): Promise<Record<string, number>> {
  return JSON.parse((await side.deps.memory.get('mail.dropped')) ?? '{}') as Record<string, number>;
}

/** `relays` with some of each port's calls replaced: `override` is given the port it wraps, to call through. */
function overriding(relays: RelayConnector, override: (port: RelayPort) => Partial<RelayPort>): RelayConnector {
  return (url) => {
    const port = relays(url);
    return { ...port, ...override(port) };
  };
}

/** A receiver of `side` on `relays` that hands each message over at its event; `handed` holds those handovers. */
function handingOverAtOnce(side: Side, relays: RelayConnector): { receiver: ReceiveRunner; handed: Promise<unknown>[] } {
  const receiver = new ReceiveRunner({ ...side.deps, relays });
  const handed: Promise<unknown>[] = [];
  receiver.on((event) => {
    if (event.type === 'message') handed.push(receiver.markHandled([event.record]));
  });
  return { receiver, handed };
}

function ofType<T extends MessagingEvent['type']>(events: MessagingEvent[], type: T): Extract<MessagingEvent, { type: T }>[] {
  return events.filter((event): event is Extract<MessagingEvent, { type: T }> => event.type === type);
}

let relay: TestRelay;
before(async () => {
  relay = await startTestRelay('socketless', quiet);
});
after(async () => {
  await relay.close();
});

describe('messages between two paired sides', () => {
  it('delivers text, stores it unread, and a handled message comes back as delivered', async () => {
    const { alice, bob } = await pairedSides(relay.url);
    const a = runners(alice);
    const b = runners(bob);
    const sent = await a.sender.send('bob', { type: 'text', text: 'hello bob' });
    assert.equal(sent.record?.state, 'sent');
    assert.equal(sent.record.n, 1);

    const events = await b.receiver.pull();
    const [message] = ofType(events, 'message');
    assert.ok(message);
    assert.deepEqual(message.peer, { fingerprint: alice.fingerprint, handle: 'alice' });
    assert.deepEqual(message.record.body, { type: 'text', text: 'hello bob' });
    assert.equal(message.record.id, sent.id);
    assert.equal(message.record.state, 'unread');
    assert.equal((await b.receiver.mailbox.summary(alice.fingerprint)).unread, 1);
    // Acknowledged at the relay once stored: the next read finds nothing.
    assert.deepEqual(await b.receiver.pull(), []);

    await b.receiver.markRead([message.record]);
    assert.equal((await b.receiver.mailbox.get(alice.fingerprint, sent.id))?.state, 'read');
    await b.receiver.markHandled([message.record]);
    assert.equal((await b.receiver.mailbox.get(alice.fingerprint, sent.id))?.state, 'handled');
    assert.deepEqual(await b.receiver.mailbox.receiptsOwed(alice.fingerprint), []);

    const receipts = ofType(await a.receiver.pull(), 'receipt');
    assert.deepEqual(receipts, [{ type: 'receipt', peer: { fingerprint: bob.fingerprint, handle: 'bob' }, ids: [sent.id] }]);
    assert.equal((await a.receiver.mailbox.get(bob.fingerprint, sent.id))?.state, 'delivered');
    // Receipts are never receipted, and do not show up as messages.
    assert.deepEqual(ofType(await b.receiver.pull(), 'message'), []);
  });

  it('sends data with reply_to both ways, and numbers each direction from 1', async () => {
    const { alice, bob } = await pairedSides(relay.url);
    const a = runners(alice);
    const b = runners(bob);
    const first = await a.sender.send(bob.fingerprint, { type: 'text', text: 'q?' });
    const [question] = ofType(await b.receiver.pull(), 'message');
    const answer = await b.sender.send(alice.fingerprint, { type: 'data', data: { answer: [1, 2] }, reply_to: first.id });
    assert.equal(answer.record?.n, 1);
    const [reply] = ofType(await a.receiver.pull(), 'message');
    assert.deepEqual(reply?.record.body, { type: 'data', data: { answer: [1, 2] }, reply_to: question?.record.id });
  });

  it('a long poll returns as soon as a message arrives', async () => {
    const { alice, bob } = await pairedSides(relay.url);
    const a = runners(alice);
    const b = runners(bob);
    const waiting = b.receiver.pull({ waitSeconds: 20 });
    await a.sender.send('bob', { type: 'text', text: 'wake up' });
    assert.equal(ofType(await waiting, 'message').length, 1);
  });

  it('a long poll\'s page is stored as the poll returned it: one read of the relay per message, not a second one', async () => {
    const { alice, bob } = await pairedSides(relay.url);
    const a = runners(alice);
    const b = runners(bob);
    await b.receiver.pull();
    const reads = bob.calls.get('readMessages') ?? 0;
    const waiting = b.receiver.pull({ waitSeconds: 20 });
    await a.sender.send('bob', { type: 'text', text: 'read once' });
    assert.equal(ofType(await waiting, 'message').length, 1);
    assert.equal(bob.calls.get('readMessages') ?? 0, reads, 'no read besides the long poll');
  });

  it('a polled page another runner of the identity stored first is read again, never stored or dropped twice', async () => {
    const { alice, bob } = await pairedSides(relay.url);
    const a = runners(alice);
    // The late runner's long poll returns the message, then waits (gate) while the first runner stores and acknowledges it.
    const pollReturned = gate();
    const firstStored = gate();
    const gated = overriding(bob.deps.relays, (port) => ({
      readMessages: async (slotId, ownerToken, poll) => {
        const page = await port.readMessages(slotId, ownerToken, poll);
        if (poll.waitSeconds !== undefined && page.messages.length > 0) {
          pollReturned.open();
          await firstStored.passed;
        }
        return page;
      },
    }));
    const late = new ReceiveRunner({ ...bob.deps, relays: gated });
    const first = new ReceiveRunner(bob.deps);
    await late.pull();
    const waiting = late.pull({ waitSeconds: 20 });
    await a.sender.send('bob', { type: 'text', text: 'stored once' });
    await pollReturned.passed;
    assert.equal(ofType(await first.pull(), 'message').length, 1);
    firstStored.open();
    const events = await waiting;
    assert.deepEqual(events.filter((event) => event.type === 'message' || event.type === 'dropped'), []);
    assert.deepEqual(await droppedCounts(bob), {});
    assert.equal((await first.mailbox.list([alice.fingerprint], { direction: 'in' })).length, 1);
  });

  it('a receipt for a message just stored goes out while the pull\'s acknowledgement is still on its way to the relay', async () => {
    const { alice, bob } = await pairedSides(relay.url);
    const a = runners(alice);
    const ackHeld = gate();
    let acknowledging = false;
    const gated = overriding(bob.deps.relays, (port) => ({
      ackMessages: async (slotId, ownerToken, through) => {
        acknowledging = true;
        await ackHeld.passed;
        return port.ackMessages(slotId, ownerToken, through);
      },
    }));
    const { receiver: b, handed } = handingOverAtOnce(bob, gated);
    const sent = await a.sender.send('bob', { type: 'text', text: 'hand me over' });
    const pulling = b.pull();
    await until('the acknowledgement is held', () => acknowledging);
    // The receipt reaches alice while bob's acknowledgement waits.
    const receipts: string[][] = [];
    await until('the receipt reached alice', async () => {
      receipts.push(...ofType(await a.receiver.pull(), 'receipt').map((event) => event.ids));
      return receipts.length > 0;
    });
    assert.deepEqual(receipts, [[sent.id]]);
    assert.equal(acknowledging, true);
    ackHeld.open();
    await pulling;
    await Promise.all(handed);
    assert.deepEqual(await b.pull(), [], 'acknowledged: nothing is read twice');
    assert.equal(await b.mailbox.ackDue((await listOwnInboxes(bob.deps))[0]?.slotId ?? ''), undefined);
  });

  it('a message handed over at its event has its receipt posted before the pull acknowledges it: no one waits on the acknowledgement', async () => {
    const { alice, bob } = await pairedSides(relay.url);
    const a = runners(alice);
    const calls: string[] = [];
    const recording = overriding(bob.deps.relays, (port) => ({
      postMessage: (slotId, sendToken, envelope) => {
        calls.push('postMessage');
        return port.postMessage(slotId, sendToken, envelope);
      },
      ackMessages: (slotId, ownerToken, through) => {
        calls.push('ackMessages');
        return port.ackMessages(slotId, ownerToken, through);
      },
    }));
    const { receiver: b, handed } = handingOverAtOnce(bob, recording);
    const sent = await a.sender.send('bob', { type: 'text', text: 'receipt first' });
    await b.pull();
    await Promise.all(handed);
    assert.deepEqual(calls, ['postMessage', 'ackMessages'], 'the receipt went out first, then the acknowledgement');
    assert.deepEqual(ofType(await a.receiver.pull(), 'receipt').map((event) => event.ids), [[sent.id]]);
  });

  it('an acknowledgement that failed is made by the next runner of the identity before it reads: nothing is dropped as a duplicate', async () => {
    const { alice, bob } = await pairedSides(relay.url);
    const a = runners(alice);
    const failing = overriding(bob.deps.relays, () => ({ ackMessages: () => Promise.reject(new PairError('relay_unreachable', 'the relay went away')) }));
    const first = new ReceiveRunner({ ...bob.deps, relays: failing, log: () => undefined });
    await a.sender.send('bob', { type: 'text', text: 'stored, never acknowledged' });
    const firstEvents = await first.pull();
    assert.equal(ofType(firstEvents, 'message').length, 1);
    assert.equal(ofType(firstEvents, 'relayTrouble').length, 1);
    // Another process of the identity (its own runner, the same mailbox) reads next.
    const next = new ReceiveRunner(bob.deps);
    const acks = bob.calls.get('ackMessages') ?? 0;
    assert.deepEqual(await next.pull(), []);
    assert.equal(bob.calls.get('ackMessages') ?? 0, acks + 1, 'the due acknowledgement was made first');
    assert.deepEqual(await droppedCounts(bob), {});
    assert.equal((await next.mailbox.list([alice.fingerprint], { direction: 'in' })).length, 1);
  });

  it('with a hand-over policy each stored message carries its hand-over, decided and spent as it is stored', async () => {
    const { alice, bob } = await pairedSides(relay.url);
    const a = runners(alice);
    const b = runners(bob);
    const budgets = new PeerBudgets(bob.deps, b.receiver.mailbox, { autoHandovers: 1 });
    let takes = false;
    b.receiver.setHandover({ budgets, wantsHandover: () => takes });
    const next = async (text: string): Promise<Handover | undefined> => {
      await a.sender.send('bob', { type: 'text', text });
      const [message] = ofType(await b.receiver.pull(), 'message');
      assert.ok(message, `the message ${text}`);
      return message.handover;
    };
    const used = async (): Promise<number> => (await budgets.state('autoHandovers', alice.fingerprint)).used;
    assert.deepEqual(await next('notify rule'), { kind: 'notify' });
    await setPeerRule(bob.deps, alice.fingerprint, 'agent');
    assert.equal(await next('no one takes it'), undefined);
    assert.equal(await used(), 0, 'nothing spent when this process would not hand it over');
    takes = true;
    assert.deepEqual(await next('to the agent'), { kind: 'agent' });
    assert.equal(await used(), 1);
    const over = await next('past the budget');
    assert.equal(over?.kind === 'overBudget' && over.state.limit, 1, 'over the budget of 1');
    assert.equal(await used(), 1, 'nothing counted past the limit');
    await setPeerRule(bob.deps, alice.fingerprint, 'mute');
    assert.deepEqual(await next('muted'), { kind: 'mute' });
    b.receiver.setHandover(undefined);
    await setPeerRule(bob.deps, alice.fingerprint, 'agent');
    assert.equal(await next('no policy'), undefined);
  });

  it('run() pulls until its signal aborts and emits events as they come', async () => {
    const { alice, bob } = await pairedSides(relay.url);
    const a = runners(alice);
    const b = runners(bob);
    const controller = new AbortController();
    const got = new Promise<MessagingEvent>((resolve) => {
      b.receiver.on((event) => {
        if (event.type === 'message') resolve(event);
      });
    });
    const running = b.receiver.run({ signal: controller.signal });
    await a.sender.send('bob', { type: 'text', text: 'streamed' });
    const event = await got;
    assert.equal(event.type === 'message' && event.record.body.type, 'text');
    controller.abort();
    await running;
  });

  it('refuses an unknown or ambiguous peer and a bad body before sending anything', async () => {
    const { alice } = await pairedSides(relay.url);
    const a = runners(alice);
    await assert.rejects(a.sender.send('nobody', { type: 'text', text: 'x' }), (error) => isPairError(error, 'not_found'));
    await assert.rejects(a.sender.send('bob', { type: 'receipt', ids: [] }), (error) => isPairError(error, 'bad_input'));
    await assert.rejects(a.sender.send('bob', { type: 'text', text: 'x'.repeat(70_000) }), (error) => isPairError(error, 'too_large'));
  });

  it('drops a stale message (sender clock 8 days behind), still acknowledges it, and counts it', async () => {
    const { alice, bob } = await pairedSides(relay.url);
    const a = runners(alice);
    const b = runners(bob);
    alice.clock.offsetMs = -(MAX_MESSAGE_AGE_MS + 24 * 3600_000);
    await a.sender.send('bob', { type: 'text', text: 'old news' });
    alice.clock.offsetMs = 0;
    const events = await b.receiver.pull();
    assert.deepEqual(ofType(events, 'dropped').map((event) => event.reason), ['stale']);
    assert.deepEqual(ofType(events, 'message'), []);
    assert.deepEqual(await b.receiver.pull(), []);
    assert.equal((await droppedCounts(bob)).stale, 1);
  });

  it('drops a message dated more than 10 minutes ahead', async () => {
    const { alice, bob } = await pairedSides(relay.url);
    alice.clock.offsetMs = 11 * 60_000;
    await runners(alice).sender.send('bob', { type: 'text', text: 'from the future' });
    assert.deepEqual(ofType(await runners(bob).receiver.pull(), 'dropped').map((event) => event.reason), ['from_future']);
  });

  it('inbox full: the send waits in the outbox, goes out with a later pull after the backoff, same id and n (no false loss)', async () => {
    const small = await startTestRelay('socketless', { limits: { ...quiet.limits, maxInboxMessages: 1 } });
    try {
      const { alice, bob } = await pairedSides(small.url);
      const a = runners(alice);
      await a.sender.send('bob', { type: 'text', text: 'one' });
      const queued = await a.sender.send('bob', { type: 'text', text: 'two' });
      assert.equal(queued.queued, true);
      assert.equal(queued.record?.state, 'queued');
      assert.equal((await a.receiver.mailbox.summary(bob.fingerprint)).queued, 1);
      const b = runners(bob, 0);
      assert.equal(ofType(await b.receiver.pull(), 'message').length, 1);
      // Not due yet: a pull leaves it queued.
      await a.sender.flushOutbox();
      assert.equal((await a.receiver.mailbox.get(bob.fingerprint, queued.id))?.state, 'queued');
      alice.clock.offsetMs += OUTBOX_RETRY_BASE_MS;
      const sentEvents = ofType(await a.receiver.pull(), 'sent');
      assert.deepEqual(sentEvents.map((event) => [event.id, event.record?.state]), [[queued.id, 'sent']]);
      const events = await b.receiver.pull();
      const [two] = ofType(events, 'message');
      assert.equal(two?.record.id, queued.id);
      assert.equal(two.record.n, 2);
      assert.deepEqual(ofType(events, 'lost'), []);
    } finally {
      await small.close();
    }
  });

  it('a queued send can be cancelled, and one queued past OUTBOX_MAX_AGE_MS fails', async () => {
    const small = await startTestRelay('socketless', { limits: { ...quiet.limits, maxInboxMessages: 1 } });
    try {
      const { alice, bob } = await pairedSides(small.url);
      const a = runners(alice);
      await a.sender.send('bob', { type: 'text', text: 'fills it' });
      const cancelled = await a.sender.send('bob', { type: 'text', text: 'take it back' });
      const aged = await a.sender.send('bob', { type: 'text', text: 'too late' });
      assert.equal((await a.sender.cancel(cancelled.id)).state, 'cancelled');
      await assert.rejects(a.sender.cancel(cancelled.id), (error) => isPairError(error, 'not_found'));
      const failed: MessagingEvent[] = [];
      a.sender.on((event) => failed.push(event));
      alice.clock.offsetMs += OUTBOX_MAX_AGE_MS;
      await a.sender.flushOutbox();
      assert.deepEqual(ofType(failed, 'sendFailed').map((event) => event.record.id), [aged.id]);
      assert.equal((await a.receiver.mailbox.get(bob.fingerprint, aged.id))?.state, 'failed');
      assert.deepEqual(await a.receiver.mailbox.outbox(), []);
      assert.equal(OUTBOX_MAX_AGE_MS, 7 * 24 * 3600 * 1000);
    } finally {
      await small.close();
    }
  });

  it('forgetting a peer revokes its grant: its next send is refused as revoked', async () => {
    const { alice, bob } = await pairedSides(relay.url);
    const result = await forgetAndRevoke(bob.deps, alice.fingerprint);
    assert.deepEqual(result, { forgotten: true, revoked: true });
    await assert.rejects(runners(alice).sender.send('bob', { type: 'text', text: 'still there?' }), (error) => isPairError(error, 'revoked'));
  });

  it('pairing again with a pinned peer revokes the grant it had: its old send token is refused', async () => {
    const { alice, bob } = await pairedSides(relay.url);
    const oldToken = (await loadPeerSendToken(alice.deps, bob.fingerprint)) ?? '';
    await pairSides(alice, bob, relay.url);
    assert.equal((await pendingRevocations(bob.deps)).length, 1);
    await runners(bob).receiver.pull();
    assert.deepEqual(await pendingRevocations(bob.deps), []);
    const bobPeer = await getPeer(alice.deps, bob.fingerprint);
    await assert.rejects(alice.deps.relays(relay.url).postMessage(bobPeer?.slotId ?? '', oldToken, 'AAAA'), (error) => isPairError(error, 'revoked'));
    await runners(alice).sender.send('bob', { type: 'text', text: 'new token works' });
    assert.equal(ofType(await runners(bob).receiver.pull(), 'message').length, 1);
  });

  it('a peer pinned before grant ids were remembered still gets through, and its grant id is learned', async () => {
    const { alice, bob } = await pairedSides(relay.url);
    const record = JSON.parse((await bob.memory.get(peerRecordKey(alice.fingerprint))) ?? '{}') as Record<string, unknown>;
    const grantId = (record['grant'] as { grantId: string }).grantId;
    delete record['grant'];
    await bob.memory.set(peerRecordKey(alice.fingerprint), JSON.stringify(record));
    await runners(alice).sender.send('bob', { type: 'text', text: 'old pairing' });
    assert.equal(ofType(await runners(bob).receiver.pull(), 'message').length, 1);
    assert.equal((await getPeer(bob.deps, alice.fingerprint))?.grant?.grantId, grantId);
  });
});

describe('a relay that turns hostile to messages', () => {
  let backend: RunningRelay;
  let proxy: HostileProxy;
  let alice: Side;
  let bob: Side;
  before(async () => {
    backend = await startRelay(quiet);
    proxy = new HostileProxy(backend.url);
    await proxy.start();
    ({ alice, bob } = await pairedSides(proxy.url));
  });
  after(async () => {
    await proxy.close();
    await backend.close();
  });

  it('an envelope replayed under a new seq is dropped: its one-time key is gone (unknown_key, section 7)', async () => {
    const a = runners(alice);
    const b = runners(bob);
    await a.sender.send('bob', { type: 'text', text: 'once' });
    proxy.mode = 'replay';
    const events = await b.receiver.pull();
    assert.equal(ofType(events, 'message').length, 1);
    assert.deepEqual(ofType(events, 'dropped').map((event) => event.reason), ['unknown_key']);
  });

  it('a flipped ciphertext bit is dropped (open_failed), never shown as from the peer', async () => {
    await runners(alice).sender.send('bob', { type: 'text', text: 'intact?' });
    proxy.mode = 'flip';
    const events = await runners(bob).receiver.pull();
    assert.deepEqual(ofType(events, 'message'), []);
    assert.deepEqual(ofType(events, 'dropped').map((event) => event.reason), ['open_failed']);
    assert.deepEqual(await runners(bob).receiver.pull(), []);
  });

  it('a grant_id the owner never gave is dropped as unknown_grant', async () => {
    await runners(alice).sender.send('bob', { type: 'text', text: 'who am I?' });
    proxy.mode = 'foreignGrant';
    const events = await runners(bob).receiver.pull();
    assert.deepEqual(ofType(events, 'dropped').map((event) => event.reason), ['unknown_grant']);
  });

  it('a send retried after a 503 carries the same envelope, and arrives once', async () => {
    const a = runners(alice);
    const b = runners(bob);
    await b.receiver.pull();
    const before = proxy.posts.length;
    proxy.mode = 'unavailable';
    const sent = await a.sender.send('bob', { type: 'text', text: 'retried' });
    assert.equal(proxy.posts.length, before + 1, 'the 503 never reached the relay; the retry did');
    const events = await b.receiver.pull();
    assert.deepEqual(ofType(events, 'message').map((event) => event.record.id), [sent.id]);
  });

  it('a send whose answer was cut after the relay stored it is retried with the same envelope; the copy is dropped (its one-time key is spent: unknown_key)', async () => {
    const a = runners(alice);
    const b = runners(bob);
    await b.receiver.pull();
    const before = proxy.posts.length;
    proxy.mode = 'cutAfterStore';
    const sent = await a.sender.send('bob', { type: 'text', text: 'twice on the wire' });
    const posts = proxy.posts.slice(before);
    assert.equal(posts.length, 2);
    assert.equal(posts[0], posts[1], 'the retry is byte for byte the same request');
    const events = await b.receiver.pull();
    assert.deepEqual(ofType(events, 'message').map((event) => event.record.id), [sent.id]);
    assert.deepEqual(ofType(events, 'dropped').map((event) => event.reason), ['unknown_key']);
  });

  it('a message thrown away with a 201 is reported lost after the grace, not before', async () => {
    ({ alice, bob } = await pairedSides(proxy.url));
    const a = runners(alice);
    const b = runners(bob, 60_000);
    await b.receiver.pull();
    proxy.mode = 'swallow';
    await a.sender.send('bob', { type: 'text', text: 'lost in transit' });
    await a.sender.send('bob', { type: 'text', text: 'arrives' });
    const first = await b.receiver.pull();
    assert.equal(ofType(first, 'message').length, 1);
    assert.deepEqual(ofType(first, 'lost'), []);
    assert.equal((await b.receiver.mailbox.summary(alice.fingerprint)).pendingGap, 1);
    bob.clock.offsetMs = 60_000;
    try {
      const later = await b.receiver.pull();
      assert.deepEqual(ofType(later, 'lost'), [{ type: 'lost', peer: { fingerprint: alice.fingerprint, handle: 'alice' }, count: 1 }]);
      assert.deepEqual(ofType(await b.receiver.pull(), 'lost'), []);
      assert.equal((await b.receiver.mailbox.summary(alice.fingerprint)).lost, 1);
    } finally {
      bob.clock.offsetMs = 0;
    }
  });
});

describe('inboxes that heal after a relay restart', () => {
  it('pairing twice through a relay that restarted in between works', async () => {
    const first = await startRelay(quiet);
    const port = first.port;
    const alice = await makeSide(first.url, 'alice');
    const bob = await makeSide(first.url, 'bob');
    await pairSides(alice, bob, first.url);
    await first.close();
    const second = await startRelay({ ...quiet, port });
    try {
      await pairSides(alice, bob, second.url);
      await runners(alice).sender.send('bob', { type: 'text', text: 'after the restart' });
      assert.equal(ofType(await runners(bob).receiver.pull(), 'message').length, 1);
    } finally {
      await second.close();
    }
  });

  it('a relay restart loses both inboxes: each side moves, and pairing again restores the conversation, what waited included', async () => {
    const first = await startRelay(quiet);
    const port = first.port;
    const { alice, bob } = await pairedSides(first.url);
    await first.close();
    const second = await startRelay({ ...quiet, port });
    try {
      const b = runners(bob);
      const moved = ofType(await b.receiver.pull(), 'inboxMoved');
      assert.equal(moved.length, 1);
      // Alice's inbox went with the restart too, so she cannot be told where bob is now.
      assert.deepEqual(moved[0]?.told, []);
      // Nothing is lost: the send waits in the outbox for bob's new inbox.
      const waiting = await runners(alice).sender.send('bob', { type: 'text', text: 'lost?' });
      assert.equal(waiting.queued, true);
      assert.equal(waiting.record?.state, 'queued');
      await pairSides(alice, bob, second.url);
      // Its retry comes due (OUTBOX_RETRY_BASE_MS), and the next send takes it first.
      alice.clock.offsetMs += OUTBOX_RETRY_BASE_MS;
      await runners(alice).sender.send('bob', { type: 'text', text: 'back' });
      assert.deepEqual(
        ofType(await runners(bob).receiver.pull(), 'message').map((event) => event.record.body),
        [{ type: 'text', text: 'lost?' }, { type: 'text', text: 'back' }],
      );
    } finally {
      await second.close();
    }
  });

  it('a relay that forgot one inbox: a send waits in the outbox, a read meets 404, a new inbox is made, the peer is told, and what waited goes there first', async () => {
    await withProxiedPair(async ({ alice, bob, proxy }) => {
      const oldSlot = (await listOwnInboxes(bob.deps))[0]?.slotId ?? '';
      proxy.forgotten.add(oldSlot);
      const queued: MessagingEvent[] = [];
      const a = runners(alice);
      a.sender.on((event) => queued.push(event));
      const waiting = await a.sender.send('bob', { type: 'text', text: 'into the void' });
      assert.equal(waiting.queued, true);
      assert.deepEqual(queued.map((event) => (event.type === 'queued' ? event.code : event.type)), ['inbox_gone']);
      const b = runners(bob);
      const moved = ofType(await b.receiver.pull(), 'inboxMoved');
      assert.deepEqual(moved[0]?.told, [{ fingerprint: alice.fingerprint, handle: 'alice' }]);
      assert.notEqual((await listOwnInboxes(bob.deps))[0]?.slotId, oldSlot);
      assert.deepEqual(ofType(await a.receiver.pull(), 'peerMoved').map((event) => event.peer.handle), ['bob']);
      // The move made the queued send due at once (no clock moved): the next send takes it first.
      await a.sender.send('bob', { type: 'text', text: 'are you there?' });
      assert.deepEqual(
        ofType(await b.receiver.pull(), 'message').map((event) => event.record.body),
        [{ type: 'text', text: 'into the void' }, { type: 'text', text: 'are you there?' }],
      );
      await b.sender.send('alice', { type: 'text', text: 'yes' });
      assert.equal(ofType(await a.receiver.pull(), 'message').length, 1);
    });
  });

  it('a move to another relay the person accepts makes what waited for that peer due at once; a refused one leaves its backoff', async () => {
    await withProxiedPair(async ({ alice, bob, proxy }) => {
      proxy.forgotten.add((await listOwnInboxes(bob.deps))[0]?.slotId ?? '');
      const a = runners(alice);
      assert.equal((await a.sender.send('bob', { type: 'text', text: 'into the void' })).queued, true);
      const waitingFor = async (): Promise<number[]> => (await a.sender.mailbox.outbox()).filter((entry) => entry.peer === bob.fingerprint).map((entry) => entry.nextTryAt - alice.deps.clock.now());
      const askToMove = async (n: number): Promise<void> => {
        const move = JSON.stringify({ type: 'inbox', relay_url: 'https://relay.example.net', slot_id: 'e'.repeat(32), send_token: 'f'.repeat(64) });
        await postRaw(bob.deps, alice.fingerprint, await rawMessage(bob.deps, alice.fingerprint, move, { n }));
        assert.equal(ofType(await a.receiver.pull(), 'peerMoveHeld').length, 1);
      };
      await askToMove(1);
      await decidePeerMove(alice.deps, 'bob', 'refuse');
      assert.ok((await waitingFor()).every((ms) => ms > 0), 'a refused move made the queued send due');
      await askToMove(2);
      await decidePeerMove(alice.deps, 'bob', 'accept');
      const due = await waitingFor();
      assert.equal(due.length, 1);
      assert.ok(due.every((ms) => ms <= 0), 'the accepted move left the queued send waiting for its backoff');
    });
  });

  it('a peer pinned before grant ids were remembered is told of the new inbox too', async () => {
    await withProxiedPair(async ({ alice, bob, proxy }) => {
      const record = JSON.parse((await bob.memory.get(peerRecordKey(alice.fingerprint))) ?? '{}') as Record<string, unknown>;
      delete record['grant'];
      await bob.memory.set(peerRecordKey(alice.fingerprint), JSON.stringify(record));
      proxy.forgotten.add((await listOwnInboxes(bob.deps))[0]?.slotId ?? '');
      const b = runners(bob);
      assert.deepEqual(ofType(await b.receiver.pull(), 'inboxMoved')[0]?.told.map((peer) => peer.handle), ['alice']);
      assert.equal((await getPeer(bob.deps, alice.fingerprint))?.grant?.announced, true);
      const a = runners(alice);
      await a.receiver.pull();
      await a.sender.send('bob', { type: 'text', text: 'found you' });
      assert.equal(ofType(await b.receiver.pull(), 'message').length, 1);
    });
  });

  it('a forget while the relay is unreachable revokes the grant once the relay answers again', async () => {
    await withProxiedPair(async ({ alice, bob, proxy }) => {
      const port = Number(new URL(proxy.url).port);
      await proxy.close();
      assert.deepEqual(await forgetAndRevoke(bob.deps, alice.fingerprint), { forgotten: true, revoked: false });
      assert.equal((await pendingRevocations(bob.deps)).length, 1);
      await proxy.start(port);
      await runners(bob).receiver.pull();
      assert.deepEqual(await pendingRevocations(bob.deps), []);
      await assert.rejects(runners(alice).sender.send('bob', { type: 'text', text: 'still there?' }), (error) => isPairError(error, 'revoked'));
    });
  });
});
