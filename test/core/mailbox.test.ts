// The local mailbox over a real in-memory store and an adjustable clock: dedup remembered 8 days,
// per-peer n with gaps reported after the grace, states, receipts owed, retention limits.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEDUP_MEMORY_MS, HANDLED_RETENTION_MS, LOSS_GRACE_MS, MAX_MESSAGES_PER_PEER, MAX_TRACKED_GAP, Mailbox } from '../../src/core/mailbox.js';
import type { Message } from '../../src/core/messages.js';
import { MemoryKeyValueStore } from '../../src/core/routedStore.js';
import { ShiftableClock } from '../helpers/sides.js';

const ALICE = 'a'.repeat(16);
const BOB = 'b'.repeat(16);
let counter = 0;

function message(n: number, body: Message['body'] = { type: 'text', text: `m${n}` }, from = ALICE): Message {
  counter++;
  return { v: 1, id: counter.toString(16).padStart(32, '0'), from, to: BOB, n, sent_at: '2026-11-29T12:00:00Z', body };
}

function makeMailbox(options = {}) {
  const clock = new ShiftableClock();
  return { clock, mailbox: new Mailbox({ memory: new MemoryKeyValueStore(), clock }, options) };
}

describe('mailbox', () => {
  it('stores a message unread once; the same id again is a duplicate', async () => {
    const { mailbox } = makeMailbox();
    const first = message(1);
    const accepted = await mailbox.accept(first);
    assert.equal(accepted !== 'duplicate' && accepted.kind, 'stored');
    assert.equal(await mailbox.accept(first), 'duplicate');
    assert.equal((await mailbox.summary(ALICE)).unread, 1);
  });

  it('remembers accepted ids for DEDUP_MEMORY_MS (8 days), then forgets them', async () => {
    const { mailbox, clock } = makeMailbox();
    const old = message(1);
    await mailbox.accept(old);
    clock.offsetMs = DEDUP_MEMORY_MS - 1000;
    await mailbox.accept(message(2));
    assert.equal(await mailbox.seen(old.id), true);
    clock.offsetMs = DEDUP_MEMORY_MS + 1000;
    await mailbox.accept(message(3));
    assert.equal(await mailbox.seen(old.id), false);
    assert.equal(DEDUP_MEMORY_MS, 8 * 24 * 3600 * 1000);
  });

  it('reports a gap in n once LOSS_GRACE_MS passed, and not if the number arrives in time', async () => {
    const { mailbox, clock } = makeMailbox();
    assert.equal(LOSS_GRACE_MS, 10 * 60 * 1000);
    await mailbox.accept(message(1));
    await mailbox.accept(message(4));
    assert.equal((await mailbox.summary(ALICE)).pendingGap, 2);
    assert.deepEqual(await mailbox.takeLosses([ALICE]), []);
    await mailbox.accept(message(2));
    clock.offsetMs = LOSS_GRACE_MS;
    assert.deepEqual(await mailbox.takeLosses([ALICE]), [{ peer: ALICE, count: 1 }]);
    assert.deepEqual(await mailbox.takeLosses([ALICE]), []);
    assert.equal((await mailbox.summary(ALICE)).lost, 1);
    // A late arrival of a number already reported changes nothing.
    await mailbox.accept(message(3));
    assert.equal((await mailbox.summary(ALICE)).lost, 1);
  });

  it('a configured grace applies (--loss-grace)', async () => {
    const { mailbox, clock } = makeMailbox({ lossGraceMs: 1000 });
    await mailbox.accept(message(2));
    clock.offsetMs = 1000;
    assert.deepEqual(await mailbox.takeLosses([ALICE]), [{ peer: ALICE, count: 1 }]);
  });

  it('a jump over MAX_TRACKED_GAP is counted lost at once instead of tracked number by number', async () => {
    const { mailbox } = makeMailbox();
    await mailbox.accept(message(MAX_TRACKED_GAP + 2));
    const summary = await mailbox.summary(ALICE);
    assert.equal(summary.lost, MAX_TRACKED_GAP + 1);
    assert.equal(summary.pendingGap, undefined);
  });

  it('counts n per peer when sending, and gives a number back only if it was the last', async () => {
    const { mailbox } = makeMailbox();
    assert.equal(await mailbox.nextN(ALICE), 1);
    assert.equal(await mailbox.nextN(ALICE), 2);
    assert.equal(await mailbox.nextN(BOB), 1);
    await mailbox.releaseN(ALICE, 1);
    assert.equal(await mailbox.nextN(ALICE), 3);
    await mailbox.releaseN(ALICE, 3);
    assert.equal(await mailbox.nextN(ALICE), 3);
  });

  it('moves unread → read → handled, owes a receipt once, and a receipt marks sent messages delivered', async () => {
    const { mailbox } = makeMailbox();
    const incoming = message(1);
    await mailbox.accept(incoming);
    const ref = { peer: ALICE, id: incoming.id };
    assert.equal((await mailbox.markRead([ref]))[0]?.state, 'read');
    assert.deepEqual(await mailbox.markRead([ref]), []);
    assert.equal((await mailbox.markHandled([ref]))[0]?.state, 'handled');
    assert.deepEqual(await mailbox.markHandled([ref]), []);
    assert.deepEqual(await mailbox.receiptsOwed(ALICE), [incoming.id]);
    await mailbox.receiptsSent(ALICE, [incoming.id]);
    assert.deepEqual(await mailbox.receiptsOwed(ALICE), []);

    const outgoing = { ...message(1, { type: 'text', text: 'out' }, BOB), to: ALICE };
    await mailbox.recordSent(outgoing);
    const receipt = await mailbox.accept(message(2, { type: 'receipt', ids: [outgoing.id, incoming.id] }));
    // Only this side's own sent message to that peer is marked; the peer's own id is ignored.
    assert.deepEqual(receipt, { kind: 'receipt', delivered: [outgoing.id] });
    assert.equal((await mailbox.get(ALICE, outgoing.id))?.state, 'delivered');
  });

  it('keeps unknown body types as messages', async () => {
    const { mailbox } = makeMailbox();
    const unknown = message(1, { type: 'poll', question: 'lunch?' });
    await mailbox.accept(unknown);
    assert.deepEqual((await mailbox.list([ALICE]))[0]?.body, { type: 'poll', question: 'lunch?' });
  });

  it('prunes settled messages after HANDLED_RETENTION_MS, never unread ones', async () => {
    const { mailbox, clock } = makeMailbox();
    const handled = message(1);
    const unread = message(2);
    await mailbox.accept(handled);
    await mailbox.accept(unread);
    await mailbox.markHandled([{ peer: ALICE, id: handled.id }]);
    clock.offsetMs = HANDLED_RETENTION_MS;
    assert.equal(await mailbox.prune(ALICE), 1);
    assert.deepEqual((await mailbox.list([ALICE])).map((record) => record.id), [unread.id]);
    assert.equal(HANDLED_RETENTION_MS, 30 * 24 * 3600 * 1000);
  });

  it('keeps at most maxMessagesPerPeer, dropping the oldest settled first', async () => {
    const { mailbox } = makeMailbox({ maxMessagesPerPeer: 2 });
    const [one, two, three] = [message(1), message(2), message(3)];
    for (const entry of [one, two, three]) await mailbox.accept(entry);
    await mailbox.markHandled([{ peer: ALICE, id: two.id }]);
    assert.equal(await mailbox.prune(ALICE), 1);
    assert.deepEqual((await mailbox.list([ALICE])).map((record) => record.id), [one.id, three.id]);
    assert.equal(MAX_MESSAGES_PER_PEER, 1000);
  });
});
