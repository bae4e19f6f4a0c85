// Message delivery (PROTOCOL.md section 6), relay in its own process, real runners on both sides:
// - send → delivered to a waiting reader: the reader's long poll is held at the relay (its stats
//   say so, as wake.ts waits for its poll); measured from the start of SendRunner.send (seal,
//   POST) to the reader's `message` event (read, open, checks, stored; the acknowledgement follows);
// - send → receipt back: the reader hands each message over at once; measured from the start of
//   the send to the sender's `receipt` event (its message now `delivered`).
// (The relay's own messages/s is bench/messages.ts.) Both sides reach the relay through the
// global fetch (VS Code's transport) unless given another (the CLI's and `agent-pair mcp`'s
// node:http, transport.ts's httpFetch).
// Their baseline, a long-poll wake (wake.ts) on the same relay process and transport, is sampled
// here too, one wake after each message: a ratio of two rows measured minutes apart moved with
// whatever else the machine did in between (send → reader read 2.5× one run and 5× the next
// with the same code), while samples taken in turns meet the same machine.
// Run directly: node --import tsx bench/delivery.ts [runs]

import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { ReceiveRunner, type MessagingEvent } from '../src/core/inbox.js';
import { pairSides } from '../test/helpers/pairing.js';
import { makeSide } from '../test/helpers/sides.js';
import { RelayClient, createRelayConnector } from '../src/relay/client.js';
import type { RelayFetch } from '../src/relay/transport.js';
import { startServerProcess, untilLongPolls } from './processes.js';
import { type Summary, summarize } from './stats.js';
import { wakeOnce } from './wake.js';

const WARM_UP_RUNS = 10;

export interface DeliveryBench {
  toReader: Summary;
  toReceipt: Summary;
  /** Long-poll wakes on the same relay and transport, one after each message of each part: the baselines of their ratios. */
  wakeWithReader: Summary;
  wakeWithReceipt: Summary;
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

export async function benchDelivery(runs = 200, fetch?: RelayFetch): Promise<DeliveryBench> {
  const relay = await startServerProcess('relay');
  try {
    const alice = await makeSide(relay.url, 'alice');
    const bob = await makeSide(relay.url, 'bob');
    if (fetch) for (const side of [alice, bob]) side.deps.relays = createRelayConnector({ fetch });
    await pairSides(alice, bob, relay.url);
    const aliceRunner = new ReceiveRunner(alice.deps);
    const bobRunner = new ReceiveRunner(bob.deps);
    const wakeHost = new RelayClient(relay.url, fetch && { fetch });
    const wakeGuest = new RelayClient(relay.url, fetch && { fetch });
    const sampleWake = async (into: number[], measured: boolean): Promise<void> => {
      const ms = await wakeOnce(relay, wakeHost, wakeGuest);
      if (measured) into.push(ms);
    };

    const toReader: number[] = [];
    const wakeWithReader: number[] = [];
    for (let i = 0; i < WARM_UP_RUNS + runs; i++) {
      const arrived = waitFor(bobRunner, 'message');
      const pulling = bobRunner.pull({ waitSeconds: 25 });
      await untilLongPolls(relay, 1);
      const startedAt = performance.now();
      await aliceRunner.sender.send(bob.fingerprint, { type: 'text', text: `message ${i}` });
      const at = await arrived;
      await pulling;
      if (i >= WARM_UP_RUNS) toReader.push(at - startedAt);
      await sampleWake(wakeWithReader, i >= WARM_UP_RUNS);
    }
    // Settle what the first part left: bob hands everything over, alice takes the receipts.
    await bobRunner.markHandled(await bobRunner.mailbox.list([alice.fingerprint], { direction: 'in', unreadOnly: true }));
    await aliceRunner.pull();

    const toReceipt: number[] = [];
    const wakeWithReceipt: number[] = [];
    const stopHandOver = bobRunner.on((event) => {
      if (event.type === 'message') void bobRunner.markHandled([event.record]);
    });
    for (let i = 0; i < WARM_UP_RUNS + runs; i++) {
      const receipted = waitFor(aliceRunner, 'receipt');
      const bobPulling = bobRunner.pull({ waitSeconds: 25 });
      const alicePulling = aliceRunner.pull({ waitSeconds: 25 });
      await untilLongPolls(relay, 2);
      const startedAt = performance.now();
      await aliceRunner.sender.send(bob.fingerprint, { type: 'text', text: `receipted ${i}` });
      const at = await receipted;
      await Promise.all([bobPulling, alicePulling]);
      if (i >= WARM_UP_RUNS) toReceipt.push(at - startedAt);
      await sampleWake(wakeWithReceipt, i >= WARM_UP_RUNS);
    }
    stopHandOver();

    return { toReader: summarize(toReader), toReceipt: summarize(toReceipt), wakeWithReader: summarize(wakeWithReader), wakeWithReceipt: summarize(wakeWithReceipt) };
  } finally {
    await relay.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  (await import('../src/node/nativeSymmetric.js')).installNativeCrypto();
  console.log(JSON.stringify(await benchDelivery(Number(process.argv[2] ?? 200))));
}
