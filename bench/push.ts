// Push latency (issue 19): a message from an `agent`-rule peer reaching an agent on its own, against
// the same kind of message reaching an agent that waits in inbox_read, relay in its own process,
// real MCP servers and the real SDK client (in-memory transport), interleaved run by run:
// - channel push: measured from the start of SendRunner.send to the `notifications/claude/channel`
//   arriving at the client of a receiving server (`agent-pair mcp`), timed in the client's
//   notification handler (a poll for it would add a timer's delay the read does not pay);
// - waiting inbox_read: from the start of the send to the tool result of an inbox_read with
//   wait_seconds that was pending when the send started.
// Run directly: node --import tsx bench/push.ts [runs]

import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { SendRunner } from '../src/core/inbox.js';
import { setPeerRule } from '../src/core/trust.js';
import { CHANNEL_NOTIFICATION } from '../src/mcp/agentChannel.js';
import { startAgent } from '../test/mcp/agents.js';
import { pairSides } from '../test/helpers/pairing.js';
import { makeSide } from '../test/helpers/sides.js';
import { startServerProcess } from './processes.js';
import { type Summary, summarize } from './stats.js';

const WARM_UP_RUNS = 5;
/** Lets the waiting reader's long poll (and the receiving server's next one) reach the relay before the send. */
const POLL_SETTLE_MS = 50;

export interface PushBench {
  channelPush: Summary;
  waitingRead: Summary;
  /** channelPush p50 / waitingRead p50. */
  ratio: number;
}

export async function benchPush(runs = 40): Promise<PushBench> {
  const relay = await startServerProcess('relay');
  const [alice, pushed, reading] = await Promise.all([makeSide(relay.url, 'alice'), makeSide(relay.url, 'bob'), makeSide(relay.url, 'carol')]);
  await pairSides(alice, pushed, relay.url);
  await pairSides(alice, reading, relay.url);
  await setPeerRule(pushed.deps, alice.fingerprint, 'agent');
  const channelAgent = await startAgent({ relayUrl: relay.url, handle: 'bob', side: pushed, receive: true, readsChannels: true, budgets: { autoHandovers: 10_000 } });
  const readingAgent = await startAgent({ relayUrl: relay.url, handle: 'carol', side: reading });
  const sender = new SendRunner(alice.deps);
  // The moment each channel push reaches the client, as the read's moment is its tool result's.
  let pushArrived: (() => void) | undefined;
  const recordNotification = channelAgent.client.fallbackNotificationHandler;
  channelAgent.client.fallbackNotificationHandler = async (notification) => {
    if (notification.method === CHANNEL_NOTIFICATION) pushArrived?.();
    await recordNotification?.(notification);
  };
  const pushSamples: number[] = [];
  const readSamples: number[] = [];
  try {
    for (let run = 0; run < WARM_UP_RUNS + runs; run++) {
      let pushedAt = 0;
      const pushed = new Promise<void>((resolve) => {
        pushArrived = () => {
          pushedAt = performance.now();
          resolve();
        };
      });
      await sleep(POLL_SETTLE_MS);
      const pushStart = performance.now();
      await sender.send('bob', { type: 'text', text: `push ${run}` });
      await pushed;
      const pushMs = pushedAt - pushStart;

      let readAt = 0;
      const read = readingAgent.call('inbox_read', { wait_seconds: 30 }).then((result) => {
        readAt = performance.now();
        return result;
      });
      await sleep(POLL_SETTLE_MS);
      const readStart = performance.now();
      await sender.send('carol', { type: 'text', text: `read ${run}` });
      const result = await read;
      if (result.isError === true) throw new Error('inbox_read failed');
      await readingAgent.call('inbox_ack', { ids: ((result.structuredContent as { messages: { id: string }[] }).messages).map((message) => message.id) });
      if (run >= WARM_UP_RUNS) {
        pushSamples.push(pushMs);
        readSamples.push(readAt - readStart);
      }
    }
  } finally {
    await channelAgent.close();
    await readingAgent.close();
    await relay.close();
  }
  const channelPush = summarize(pushSamples);
  const waitingRead = summarize(readSamples);
  return { channelPush, waitingRead, ratio: channelPush.medianMs / waitingRead.medianMs };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // The curves `npm run bench`, the CLI and the MCP server install.
  (await import('../src/node/nativeSymmetric.js')).installNativeCrypto();
  console.log(JSON.stringify(await benchPush(Number(process.argv[2] ?? 40))));
}
