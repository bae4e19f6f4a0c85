// The local mailbox over a real in-memory store and an adjustable clock: dedup remembered 8 days,
// per-peer n with gaps reported after the grace, states, receipts owed, retention limits.

import '../helpers/nativeCurves.js';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DEDUP_MEMORY_MS, HANDLED_RETENTION_MS, LOSS_GRACE_MS, MAX_MESSAGES_PER_PEER, MAX_N_JUMP, MAX_OPEN_GAPS, MAX_RECEIPTS_OWED_PER_PEER, MAX_SEEN_PER_PEER, MAX_UNHANDLED_PER_PEER, Mailbox, SEEN_CHUNK_IDS } from '../../src/core/mailbox.js';
import { type Message, MessageRejected } from '../../src/core/messages.js';
import { MemoryKeyValueStore } from '../../src/core/routedStore.js';
import { FileKeyValueStore, keyToFileName } from '../../src/node/fileStore.js';
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

  it('a jump of MAX_N_JUMP numbers is tracked; past it the message is dropped (n = 2^53-1 reports no absurd loss)', async () => {
    const { mailbox } = makeMailbox();
    assert.equal(MAX_N_JUMP, 10_000);
    await mailbox.accept(message(MAX_N_JUMP + 1));
    assert.equal((await mailbox.summary(ALICE)).pendingGap, MAX_N_JUMP);
    await assert.rejects(mailbox.accept(message(2 * MAX_N_JUMP + 3)), (error: unknown) => error instanceof MessageRejected && error.reason === 'bad_message');
    await assert.rejects(mailbox.accept(message(Number.MAX_SAFE_INTEGER)), (error: unknown) => error instanceof MessageRejected && error.reason === 'bad_message');
    // Gap tracking goes on for that peer.
    await mailbox.accept(message(MAX_N_JUMP + 3));
    const summary = await mailbox.summary(ALICE);
    assert.equal(summary.pendingGap, MAX_N_JUMP + 1);
    assert.equal(summary.lost, 0);
  });

  it('two mailboxes over one store (two processes) see each other\'s writes to a peer\'s record at once', async () => {
    const clock = new ShiftableClock();
    const memory = new MemoryKeyValueStore();
    const first = new Mailbox({ memory, clock });
    const second = new Mailbox({ memory, clock });
    assert.equal(await first.nextN(ALICE), 1);
    assert.equal(await second.nextN(ALICE), 2);
    assert.equal(await first.nextN(ALICE), 3);
    const stored = message(1);
    await first.accept(stored);
    await second.markHandled([{ peer: ALICE, id: stored.id }]);
    assert.deepEqual(await first.receiptsOwed(ALICE), [stored.id]);
    await first.receiptsSent(ALICE, [stored.id]);
    assert.deepEqual(await second.receiptsOwed(ALICE), []);
    // A record damaged or deleted behind its back is read as it is now, not as remembered.
    await memory.set(`mail.peer.${ALICE}`, '{"sentN":');
    assert.equal(await first.nextN(ALICE), 1);
    await memory.delete(`mail.peer.${ALICE}`);
    assert.equal(await second.nextN(ALICE), 1);
    assert.equal(await first.nextN(ALICE), 2);
  });

  it('writes each peer record and id list as exactly its JSON.stringify, whatever happened to its ids (the list\'s JSON is appended to)', async () => {
    const clock = new ShiftableClock();
    const stored = new MemoryKeyValueStore();
    let idsWrites = 0;
    const memory = {
      get: (key: string) => stored.get(key),
      delete: (key: string) => stored.delete(key),
      set: (key: string, value: string) => {
        if (key.startsWith('mail.ids.')) idsWrites++;
        if (key.startsWith('mail.peer.') || key.startsWith('mail.ids.')) assert.equal(value, JSON.stringify(JSON.parse(value)), `${key} is written as JSON.stringify writes it`);
        return stored.set(key, value);
      },
    };
    const mailbox = new Mailbox({ memory, clock }, { maxUnhandledPerPeer: 3, maxMessagesPerPeer: 4 });
    const other = new Mailbox({ memory, clock });
    const kept: string[] = [];
    for (let n = 1; n <= 8; n++) {
      const received = message(n);
      await mailbox.accept(received);
      kept.push(received.id);
      const sent = { ...message(n, { type: 'text', text: `reply ${n}` }, BOB), to: ALICE };
      await mailbox.nextN(ALICE);
      await mailbox.recordSent(sent);
      kept.push(sent.id);
      if (n % 3 === 0) await other.markHandled([{ peer: ALICE, id: received.id }]);
      if (n % 4 === 0) await mailbox.prune(ALICE);
    }
    assert.ok(idsWrites >= 16);
    // What is listed is what a mailbox that never read the record before finds in it.
    const fresh = new Mailbox({ memory: stored, clock });
    assert.deepEqual(
      (await fresh.list([ALICE])).map((record) => record.id),
      (await mailbox.list([ALICE])).map((record) => record.id),
    );
    const listed = (await fresh.list([ALICE])).map((record) => record.id);
    assert.deepEqual(listed, kept.filter((id) => listed.includes(id)));
    assert.ok(listed.length >= 4 && listed.length < kept.length, 'overflow and pruning removed some, kept the rest in order');
    // Every message record kept is listed once, and nothing else.
    const records = stored.entries().filter(([key]) => key.startsWith(`mail.msg.${ALICE}.`)).map(([key]) => key.slice(`mail.msg.${ALICE}.`.length));
    assert.deepEqual([...listed].sort(), records.sort());
  });

  it('opens a mailbox kept on disk before the ids had their own key: lists it in order, moves the ids out at the first write, keeps working', async () => {
    const home = await mkdtemp(join(tmpdir(), 'agent-pair-mail-'));
    try {
      const memory = new FileKeyValueStore(join(home, 'state'));
      const clock = new ShiftableClock();
      const now = clock.now();
      const record = (id: string, direction: 'in' | 'out', n: number, state: string) => ({ id, peer: ALICE, direction, n, sentAt: '2026-11-29T12:00:00Z', storedAt: now - 3000 + n, body: { type: 'text', text: id }, state, changedAt: now });
      const [handled, sent, unread] = ['1'.repeat(32), '2'.repeat(32), '3'.repeat(32)] as [string, string, string];
      // As the build before wrote them: the ids in the peer's record.
      await memory.set(`mail.msg.${ALICE}.${handled}`, JSON.stringify(record(handled, 'in', 1, 'handled')));
      await memory.set(`mail.msg.${ALICE}.${sent}`, JSON.stringify(record(sent, 'out', 1, 'sent')));
      await memory.set(`mail.msg.${ALICE}.${unread}`, JSON.stringify(record(unread, 'in', 2, 'unread')));
      await memory.set(`mail.peer.${ALICE}`, JSON.stringify({ sentN: 1, highestN: 2, gaps: [], lost: 0, ids: [handled, sent, unread], receiptsOwed: [handled], unhandled: [unread] }));
      const peerFile = join(home, 'state', keyToFileName(`mail.peer.${ALICE}`));
      const idsFile = join(home, 'state', keyToFileName(`mail.ids.${ALICE}`));

      const mailbox = new Mailbox({ memory, clock });
      assert.deepEqual((await mailbox.list([ALICE])).map((kept) => kept.id), [handled, sent, unread]);
      assert.equal((await mailbox.summary(ALICE)).unread, 1);
      // A write that changes no ids (a send's n) moves them to their own key first: none is lost.
      assert.equal(await mailbox.nextN(ALICE), 2);
      assert.deepEqual(JSON.parse(await readFile(idsFile, 'utf8')), [handled, sent, unread]);
      assert.equal('ids' in JSON.parse(await readFile(peerFile, 'utf8')), false);
      assert.equal((await mailbox.summary(ALICE)).lastOut?.id, sent);

      // A mailbox opened afresh on the moved store (the next process) carries on from there.
      const next = new Mailbox({ memory: new FileKeyValueStore(join(home, 'state')), clock });
      const arriving = message(3);
      assert.equal((await next.accept(arriving)) !== 'duplicate', true);
      await next.markHandled([{ peer: ALICE, id: unread }]);
      assert.deepEqual((await next.list([ALICE])).map((kept) => kept.id), [handled, sent, unread, arriving.id]);
      assert.deepEqual(await next.receiptsOwed(ALICE), [handled, unread]);
      assert.deepEqual((await next.list([ALICE], { unreadOnly: true })).map((kept) => kept.id), [arriving.id]);
      assert.deepEqual(JSON.parse(await readFile(idsFile, 'utf8')), [handled, sent, unread, arriving.id]);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  it('a peer record of the build before whose ids never reached their own key (a crash) still lists them when a stored message adds one', async () => {
    const memory = new MemoryKeyValueStore();
    const mailbox = new Mailbox({ memory, clock: new ShiftableClock() });
    const first = message(1);
    await mailbox.accept(first);
    await memory.delete(`mail.ids.${ALICE}`);
    await memory.set(`mail.peer.${ALICE}`, JSON.stringify({ ...JSON.parse((await memory.get(`mail.peer.${ALICE}`)) ?? '{}'), ids: [first.id] }));
    const second = message(2);
    await mailbox.accept(second);
    assert.deepEqual((await mailbox.list([ALICE])).map((kept) => kept.id), [first.id, second.id]);
    assert.equal('ids' in JSON.parse((await memory.get(`mail.peer.${ALICE}`)) ?? '{}'), false);
  });

  it('what a caller does to a list it was given does not reach the stored record', async () => {
    const { mailbox } = makeMailbox();
    const stored = message(1);
    await mailbox.accept(stored);
    await mailbox.markHandled([{ peer: ALICE, id: stored.id }]);
    (await mailbox.receiptsOwed(ALICE)).push('f'.repeat(32));
    assert.deepEqual(await mailbox.receiptsOwed(ALICE), [stored.id]);
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

  it('owes a peer at most MAX_RECEIPTS_OWED_PER_PEER receipts: the oldest are forgotten (a peer whose inbox refuses them cannot grow its record)', async () => {
    const { mailbox } = makeMailbox({ maxUnhandledPerPeer: MAX_RECEIPTS_OWED_PER_PEER + 10 });
    const handled: string[] = [];
    for (let n = 1; n <= MAX_RECEIPTS_OWED_PER_PEER + 1; n++) {
      const incoming = message(n);
      await mailbox.accept(incoming);
      handled.push(incoming.id);
    }
    await mailbox.markHandled(handled.slice(0, MAX_RECEIPTS_OWED_PER_PEER).map((id) => ({ peer: ALICE, id })));
    assert.deepEqual(await mailbox.receiptsOwed(ALICE), handled.slice(0, MAX_RECEIPTS_OWED_PER_PEER));
    await mailbox.markHandled([{ peer: ALICE, id: handled.at(-1) as string }]);
    assert.deepEqual(await mailbox.receiptsOwed(ALICE), handled.slice(1));
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

  it('a received id equal to one this side sent is dropped, and the sent record keeps its text', async () => {
    const { clock, mailbox } = makeMailbox();
    const mine = { ...message(1, { type: 'text', text: 'I agree to pay 10 EUR' }, BOB), to: ALICE };
    await mailbox.recordSent(mine);
    const forged = { ...message(1, { type: 'text', text: 'I agree to pay 10000 EUR' }), id: mine.id };
    assert.equal(await mailbox.accept(forged), 'duplicate');
    // Past the dedup memory the sent id is forgotten, and the record itself still refuses it.
    clock.offsetMs += DEDUP_MEMORY_MS;
    await assert.rejects(mailbox.accept(forged), (error: unknown) => error instanceof MessageRejected && error.reason === 'duplicate');
    const kept = await mailbox.get(ALICE, mine.id);
    assert.equal(kept?.direction, 'out');
    assert.deepEqual(kept.body, { type: 'text', text: 'I agree to pay 10 EUR' });
    assert.equal((await mailbox.list([ALICE], { direction: 'in' })).length, 0);
  });

  it('a received id equal to one this side sent to another peer is a duplicate too; that record keeps its text', async () => {
    const { mailbox } = makeMailbox();
    const carol = 'c'.repeat(16);
    const toCarol = { ...message(1, { type: 'text', text: 'for carol' }, BOB), to: carol };
    await mailbox.recordSent(toCarol);
    const queuedToCarol = { ...message(2, { type: 'text', text: 'queued for carol' }, BOB), to: carol };
    await mailbox.queue(queuedToCarol, 'inbox_full', 0);
    for (const reused of [toCarol, queuedToCarol]) assert.equal(await mailbox.accept({ ...message(1, { type: 'text', text: 'from alice' }), id: reused.id }), 'duplicate');
    assert.deepEqual((await mailbox.list([ALICE])).length, 0);
    assert.deepEqual((await mailbox.list([carol])).map((record) => [record.direction, record.body]), [['out', { type: 'text', text: 'for carol' }], ['out', { type: 'text', text: 'queued for carol' }]]);
  });

  it('keeps at most maxUnhandledPerPeer unhandled messages: the oldest go and are counted', async () => {
    assert.equal(MAX_UNHANDLED_PER_PEER, 1000);
    const { mailbox } = makeMailbox({ maxUnhandledPerPeer: 3 });
    const sent = [message(1), message(2), message(3), message(4), message(5)];
    const overflowed = [];
    for (const entry of sent) {
      const accepted = await mailbox.accept(entry);
      overflowed.push(accepted !== 'duplicate' && accepted.kind === 'stored' ? accepted.overflowed : -1);
    }
    assert.deepEqual(overflowed, [0, 0, 0, 1, 1]);
    assert.deepEqual((await mailbox.list([ALICE])).map((record) => record.id), sent.slice(2).map((entry) => entry.id));
    assert.equal((await mailbox.summary(ALICE)).overflowed, 2);
    // Handled ones make room: the cap counts only what still waits.
    await mailbox.markHandled([{ peer: ALICE, id: sent[2]!.id }]);
    const next = await mailbox.accept(message(6));
    assert.equal(next !== 'duplicate' && next.kind === 'stored' && next.overflowed, 0);
  });

  it('accepting costs the same writes however many ids came before (no whole-set rewrite)', async () => {
    const memory = new MemoryKeyValueStore();
    const written: number[] = [];
    const set = memory.set.bind(memory);
    memory.set = async (key, value) => {
      written.push(value.length);
      await set(key, value);
    };
    const clock = new ShiftableClock();
    const mailbox = new Mailbox({ memory, clock }, { maxUnhandledPerPeer: 10 });
    const bytesOf = async (n: number): Promise<number> => {
      written.length = 0;
      await mailbox.accept(message(n));
      return written.reduce((sum, length) => sum + length, 0);
    };
    const early = await bytesOf(1);
    for (let n = 2; n < 3 * SEEN_CHUNK_IDS; n++) await mailbox.accept(message(n));
    const late = await bytesOf(3 * SEEN_CHUNK_IDS);
    // Bounded by a chunk and the capped peer record, not by the 1,500 ids seen before.
    assert.ok(late < early + SEEN_CHUNK_IDS * 60, `${late} bytes written for one message after 1,500, ${early} for the first`);
  });

  it('two mailboxes over one store (two processes) accepting in turns log every id once, in order, whatever each read before', async () => {
    const memory = new MemoryKeyValueStore();
    const clock = new ShiftableClock();
    const mailboxes = [new Mailbox({ memory, clock }, { maxUnhandledPerPeer: 5 }), new Mailbox({ memory, clock }, { maxUnhandledPerPeer: 5 })];
    const accepted: string[] = [];
    for (let n = 1; n <= 2 * SEEN_CHUNK_IDS + 10; n++) {
      const arriving = message(n);
      // Mostly in turns, sometimes twice in a row: each one's last look at a chunk is often stale.
      await mailboxes[n % 3 === 0 ? 0 : n % 2]?.accept(arriving);
      accepted.push(arriving.id);
    }
    const log = JSON.parse((await memory.get(`mail.seenlog.${ALICE}`)) ?? '{}') as { first: number; next: number };
    const logged: string[] = [];
    for (let chunk = log.first; chunk < log.next; chunk++) {
      const entries = JSON.parse((await memory.get(`mail.seenlog.${ALICE}.${chunk}`)) ?? '[]') as [string, number][];
      assert.ok(entries.length <= SEEN_CHUNK_IDS);
      logged.push(...entries.map(([id]) => id));
    }
    assert.deepEqual(logged, accepted);
    for (const id of accepted) assert.equal(await mailboxes[0]?.accept({ ...message(1), id }), 'duplicate');
  });

  it('remembers at most maxSeenPerPeer ids per peer, forgetting whole chunks oldest first', async () => {
    assert.equal(MAX_SEEN_PER_PEER, 50_000);
    const { mailbox } = makeMailbox({ maxSeenPerPeer: SEEN_CHUNK_IDS * 2, maxUnhandledPerPeer: 5 });
    const first = message(1);
    await mailbox.accept(first);
    for (let n = 2; n <= SEEN_CHUNK_IDS * 2; n++) await mailbox.accept(message(n));
    assert.equal(await mailbox.seen(first.id), true);
    await mailbox.accept(message(SEEN_CHUNK_IDS * 2 + 1));
    assert.equal(await mailbox.seen(first.id), false);
  });

  it('moves the ids an earlier version kept in one mail.seen object to per-id keys', async () => {
    const memory = new MemoryKeyValueStore();
    const clock = new ShiftableClock();
    const old = message(1);
    await memory.set('mail.seen', JSON.stringify({ [old.id]: clock.now() }));
    const mailbox = new Mailbox({ memory, clock });
    await mailbox.accept(message(2));
    assert.equal(await memory.get('mail.seen'), undefined);
    assert.equal(await mailbox.accept(old), 'duplicate');
  });

  it('queues a refused send, lists it, and settles it once (sent, failed or cancelled)', async () => {
    const { mailbox } = makeMailbox();
    const outgoing = { ...message(1, { type: 'text', text: 'later' }, BOB), to: ALICE };
    const record = await mailbox.queue(outgoing, 'inbox_full', Date.now() + 1000);
    assert.equal(record?.state, 'queued');
    assert.deepEqual((await mailbox.outbox()).map((entry) => [entry.peer, entry.id, entry.lastError]), [[ALICE, outgoing.id, 'inbox_full']]);
    assert.equal((await mailbox.summary(ALICE)).queued, 1);
    assert.equal((await mailbox.settleQueued(ALICE, outgoing.id, 'cancelled'))?.state, 'cancelled');
    assert.equal(await mailbox.settleQueued(ALICE, outgoing.id, 'sent'), undefined);
    assert.deepEqual(await mailbox.outbox(), []);
    assert.equal((await mailbox.get(ALICE, outgoing.id))?.state, 'cancelled');
  });

  it('tracks at most MAX_OPEN_GAPS gaps per peer: older ones are reported at once', async () => {
    assert.equal(MAX_OPEN_GAPS, 100);
    const { mailbox } = makeMailbox();
    for (let gap = 1; gap <= MAX_OPEN_GAPS + 2; gap++) await mailbox.accept(message(gap * 2));
    // Within the grace, only the two oldest gaps are due.
    assert.deepEqual(await mailbox.takeLosses([ALICE]), [{ peer: ALICE, count: 2 }]);
    assert.equal((await mailbox.summary(ALICE)).pendingGap, MAX_OPEN_GAPS);
  });

  it('a message stored before a crash kept its id from being remembered is stored once when read again', async () => {
    const memory = new MemoryKeyValueStore();
    const clock = new ShiftableClock();
    const crashed = new Mailbox({ memory, clock });
    const again = message(1);
    await crashed.accept(again);
    for (const key of [...memory.entries()].map(([entry]) => entry).filter((entry) => entry.startsWith('mail.seen'))) await memory.delete(key);
    const mailbox = new Mailbox({ memory, clock });
    const accepted = await mailbox.accept(again);
    assert.equal(accepted !== 'duplicate' && accepted.kind, 'stored');
    assert.deepEqual((await mailbox.list([ALICE])).map((record) => record.id), [again.id]);
    assert.equal(await mailbox.accept(again), 'duplicate');
  });
});
