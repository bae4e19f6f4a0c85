// Relay memory per open slot, in a process of its own started with --expose-gc: the heap after
// a full collection with N slots open minus the heap of an empty relay, divided by N. Slots are
// opened through Relay.handle (the HTTP contract without sockets), each from its own client
// address, and weighed 61 seconds later on the relay's clock: the per-address rate-limit records
// (kept 60 s) and join quarantines (60 s) are gone by then, the slots (600 s) are not. Two
// states are measured:
//   opened       the host opened the slot; it waits for a guest under its nameplate
//   exchanging   the guest joined and both sides wrote commit and pake (the largest state a
//                slot holds for long while the people compare the SAS)
// And the heap each queued 1 KiB message costs (posted through Relay.handle into one inbox,
// weighed the same way). Prints one JSON line. Arguments: [slots]

import { randomBytes } from 'node:crypto';
import { toBase64, utf8 } from '../src/core/bytes.js';
import { pakeCommitment } from '../src/core/keySchedule.js';
import { routePath } from '../src/relay/contract.js';
import { Relay, type RelayRequest } from '../src/relay/server.js';
import { BENCH_RELAY_LIMITS } from './relayLimits.js';

export interface MemoryBench {
  slots: number;
  emptyHeapBytes: number;
  openedBytesPerSlot: number;
  exchangingBytesPerSlot: number;
  queuedMessages: number;
  bytesPerQueuedMessage: number;
}

/** Messages queued for the per-message weight, and the size of each (decoded). */
const QUEUED_MESSAGES = 10_000;
const QUEUED_MESSAGE_BYTES = 1024;

/** A distinct client address per slot, as when every pairing comes from another machine. */
const clientAddress = (i: number): string => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
const WEIGHED_AFTER_MS = 61_000;

function collectedHeap(): number {
  const gc = globalThis.gc;
  if (gc === undefined) throw new Error('memoryProcess needs node --expose-gc');
  for (let i = 0; i < 4; i++) gc();
  return process.memoryUsage().heapUsed;
}

async function call(relay: Relay, request: RelayRequest, expected: number): Promise<string> {
  const response = await relay.handle(request);
  if (response.status !== expected) throw new Error(`${request.method} ${request.target} answered ${response.status}: ${response.body}`);
  return response.body;
}

async function fill(relay: Relay, slots: number, exchanging: boolean): Promise<void> {
  // The relay checks each pake against its commit, and the encoding only, so any 33 bytes do.
  const writes = (): { commit: string; pake: string } => {
    const message = Uint8Array.of(0x53, ...randomBytes(32));
    return { commit: pakeCommitment(message), pake: toBase64(message) };
  };
  const hostBody = utf8('{"role":"host"}');
  for (let i = 0; i < slots; i++) {
    const client = clientAddress(i);
    const opened = JSON.parse(await call(relay, { method: 'POST', target: routePath('pair'), body: hostBody, clientAddress: client }, 201)) as { pair_id: string; nameplate: string; token: string };
    if (!exchanging) continue;
    const joined = JSON.parse(await call(relay, { method: 'POST', target: routePath('pair'), body: utf8(JSON.stringify({ role: 'guest', nameplate: opened.nameplate })), clientAddress: client }, 201)) as { token: string };
    const sides = [opened.token, joined.token].map((token) => ({ token, ...writes() }));
    for (const field of ['commit', 'pake'] as const) {
      for (const side of sides) {
        await call(relay, { method: 'PUT', target: routePath('pairField', { pair_id: opened.pair_id, field: field }), authorization: `Bearer ${side.token}`, body: utf8(JSON.stringify({ value: side[field] })), clientAddress: client }, 204);
      }
    }
  }
}

async function bytesPerSlot(slots: number, exchanging: boolean): Promise<{ empty: number; perSlot: number }> {
  let now = Date.now();
  const relay = new Relay({ limits: { ...BENCH_RELAY_LIMITS, maxOpenSlots: slots }, clock: { now: () => now } });
  const empty = collectedHeap();
  await fill(relay, slots, exchanging);
  now += WEIGHED_AFTER_MS;
  await relay.sweep();
  const full = collectedHeap();
  if (relay.stats().pairSlots !== slots) throw new Error(`expected ${slots} open slots, the relay holds ${relay.stats().pairSlots}`);
  return { empty, perSlot: (full - empty) / slots };
}

async function bytesPerQueuedMessage(messages: number): Promise<number> {
  const relay = new Relay({ limits: BENCH_RELAY_LIMITS });
  const inbox = JSON.parse(await call(relay, { method: 'POST', target: routePath('inbox'), body: new Uint8Array(), clientAddress: '10.0.0.1' }, 201)) as { slot_id: string; owner_token: string };
  const grant = JSON.parse(await call(relay, { method: 'POST', target: routePath('grants', { slot_id: inbox.slot_id }), authorization: `Bearer ${inbox.owner_token}`, body: new Uint8Array(), clientAddress: '10.0.0.1' }, 201)) as { send_token: string };
  const empty = collectedHeap();
  for (let i = 0; i < messages; i++) {
    // A fresh string each time, as a posted body is: nothing shared between messages.
    const body = utf8(JSON.stringify({ value: randomBytes(QUEUED_MESSAGE_BYTES).toString('base64') }));
    await call(relay, { method: 'POST', target: routePath('messages', { slot_id: inbox.slot_id }), authorization: `Bearer ${grant.send_token}`, body, clientAddress: '10.0.0.2' }, 201);
  }
  const full = collectedHeap();
  if (relay.stats().inboxMessages !== messages) throw new Error(`expected ${messages} queued messages, the relay holds ${relay.stats().inboxMessages}`);
  return (full - empty) / messages;
}

const slots = Number(process.argv[2] ?? 10_000);
const opened = await bytesPerSlot(slots, false);
const exchanging = await bytesPerSlot(slots, true);
const perMessage = await bytesPerQueuedMessage(QUEUED_MESSAGES);
const result: MemoryBench = {
  slots,
  emptyHeapBytes: opened.empty,
  openedBytesPerSlot: Math.round(opened.perSlot),
  exchangingBytesPerSlot: Math.round(exchanging.perSlot),
  queuedMessages: QUEUED_MESSAGES,
  bytesPerQueuedMessage: Math.round(perMessage),
};
console.log(JSON.stringify(result));
