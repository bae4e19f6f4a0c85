// Messages (PROTOCOL.md section 6), relay in its own process, real runners on both sides:
// - send → delivered to a waiting reader: the reader's long poll is pending; measured from the
//   start of SendRunner.send (seal, POST) to the reader's `message` event (read, AuthOpen, checks,
//   stored, acknowledged);
// - send → receipt back: the reader hands each message over at once; measured from the start of
//   the send to the sender's `receipt` event (its message now `delivered`);
// - relay messages/s at 1 KiB: concurrent senders POST 1 KiB envelopes for a few seconds while the
//   owner reads and acknowledges.
// Run directly: node --import tsx bench/messages.ts [runs]

import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { ReceiveRunner, type MessagingEvent } from '../src/core/inbox.js';
import { RelayClient } from '../src/relay/client.js';
import { pairSides } from '../test/helpers/pairing.js';
import { makeSide } from '../test/helpers/sides.js';
import { startServerProcess } from './processes.js';
import { type Summary, summarize } from './stats.js';

const WARM_UP_RUNS = 10;
/** Lets the reader's long poll reach the relay before the send starts. */
const POLL_SETTLE_MS = 20;
const ENVELOPE_BYTES = 1024;
const THROUGHPUT_SENDERS = 32;

export interface MessagesBench {
  toReader: Summary;
  toReceipt: Summary;
  messagesPerSecond: number;
  throughputSeconds: number;
  throughputMessages: number;
}

function waitFor(receiver: ReceiveRunner, type: MessagingEvent['type']): Promise<number> {
  return new Promise((resolve) => {
    const stop = receiver.on((event) => {
      if (event.type !== type) return;
      stop();
      resolve(performance.now());
    });
  });
}

export async function benchMessages(runs = 200, throughputSeconds = 5): Promise<MessagesBench> {
  const relay = await startServerProcess('relay');
  try {
    const alice = await makeSide(relay.url, 'alice');
    const bob = await makeSide(relay.url, 'bob');
    await pairSides(alice, bob, relay.url);
    const aliceRunner = new ReceiveRunner(alice.deps);
    const bobRunner = new ReceiveRunner(bob.deps);

    const toReader: number[] = [];
    for (let i = 0; i < WARM_UP_RUNS + runs; i++) {
      const arrived = waitFor(bobRunner, 'message');
      const pulling = bobRunner.pull({ waitSeconds: 25 });
      await sleep(POLL_SETTLE_MS);
      const startedAt = performance.now();
      await aliceRunner.sender.send(bob.fingerprint, { type: 'text', text: `message ${i}` });
      const at = await arrived;
      await pulling;
      if (i >= WARM_UP_RUNS) toReader.push(at - startedAt);
    }
    // Settle what the first part left: bob hands everything over, alice takes the receipts.
    await bobRunner.markHandled(await bobRunner.mailbox.list([alice.fingerprint], { direction: 'in', unreadOnly: true }));
    await aliceRunner.pull();

    const toReceipt: number[] = [];
    const stopHandOver = bobRunner.on((event) => {
      if (event.type === 'message') void bobRunner.markHandled([event.record]);
    });
    for (let i = 0; i < WARM_UP_RUNS + runs; i++) {
      const receipted = waitFor(aliceRunner, 'receipt');
      const bobPulling = bobRunner.pull({ waitSeconds: 25 });
      const alicePulling = aliceRunner.pull({ waitSeconds: 25 });
      await sleep(POLL_SETTLE_MS);
      const startedAt = performance.now();
      await aliceRunner.sender.send(bob.fingerprint, { type: 'text', text: `receipted ${i}` });
      const at = await receipted;
      await Promise.all([bobPulling, alicePulling]);
      if (i >= WARM_UP_RUNS) toReceipt.push(at - startedAt);
    }
    stopHandOver();

    // Throughput: raw relay posts of 1 KiB envelopes from concurrent grants; the owner drains.
    const owner = new RelayClient(relay.url);
    const inbox = await owner.allocateSlot();
    const grants = await Promise.all(Array.from({ length: THROUGHPUT_SENDERS }, () => owner.grant(inbox.slotId, inbox.ownerToken)));
    const envelope = randomBytes(ENVELOPE_BYTES).toString('base64');
    let posted = 0;
    const draining = { running: true };
    const drain = (async () => {
      while (draining.running) {
        const page = await owner.readMessages(inbox.slotId, inbox.ownerToken, { after: 0, waitSeconds: 1 });
        if (page.messages.length > 0) await owner.ackMessages(inbox.slotId, inbox.ownerToken, page.lastSeq);
      }
    })();
    const startedAt = performance.now();
    const deadline = startedAt + throughputSeconds * 1000;
    await Promise.all(
      grants.map(async (grant) => {
        const client = new RelayClient(relay.url);
        while (performance.now() < deadline) {
          await client.postMessage(inbox.slotId, grant.sendToken, envelope);
          posted++;
        }
      }),
    );
    const seconds = (performance.now() - startedAt) / 1000;
    draining.running = false;
    await drain;
    return { toReader: summarize(toReader), toReceipt: summarize(toReceipt), messagesPerSecond: Math.round(posted / seconds), throughputSeconds: Math.round(seconds * 10) / 10, throughputMessages: posted };
  } finally {
    await relay.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await benchMessages(Number(process.argv[2] ?? 200))));
}
