// Messages at the relay (PROTOCOL.md section 6.3): how many 1 KiB envelopes a second one relay
// process stores, with many senders posting at once (each its own inbox and send token, its
// own keep-alive connection and loopback address), the relay in its own process; and, in a
// clean process, the heap each queued 1 KiB message costs the memory engine.
// Run directly: node --import tsx bench/messages.ts [senders] [seconds] [sqlite:PATH | redis://…]

import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { grantIdOf, resolveLimits, routePath } from '../src/relay/contract.js';
import { openSqliteStore } from '../src/relay/sqliteStore.js';
import { BENCH_RELAY_LIMITS } from './relayLimits.js';
import { startServerProcess } from './processes.js';
import { RawConnection, requestText } from './rawHttp.js';
import { type Summary, summarize } from './stats.js';

export const MESSAGE_BYTES = 1024;

export interface MessagesBench {
  senders: number;
  seconds: number;
  messages: number;
  messagesPerSecond: number;
  relayCpuMsPerMessage: number;
}

async function json<T>(connection: RawConnection, text: string, expected: number): Promise<T> {
  const response = await connection.request(text);
  if (response.status !== expected) throw new Error(`answered ${response.status} instead of ${expected}: ${response.body.slice(0, 200)}`);
  return JSON.parse(response.body) as T;
}

export async function benchMessages(senders = 50, seconds = 4, store?: string): Promise<MessagesBench> {
  const relay = await startServerProcess('relay', store);
  try {
    const body = JSON.stringify({ value: randomBytes(MESSAGE_BYTES).toString('base64') });
    const lanes = await Promise.all(
      Array.from({ length: senders }, async (_, i) => {
        const connection = await RawConnection.open(relay.port, `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`);
        const inbox = await json<{ slot_id: string; owner_token: string }>(connection, requestText('POST', routePath('inbox'), undefined, ''), 201);
        const grant = await json<{ send_token: string }>(connection, requestText('POST', routePath('grants', { slot_id: inbox.slot_id }), inbox.owner_token, ''), 201);
        return { connection, post: requestText('POST', routePath('messages', { slot_id: inbox.slot_id }), grant.send_token, body) };
      }),
    );
    const run = async (ms: number): Promise<{ messages: number; elapsedMs: number }> => {
      let messages = 0;
      const started = performance.now();
      const deadline = started + ms;
      await Promise.all(
        lanes.map(async (lane) => {
          while (performance.now() < deadline) {
            const response = await lane.connection.request(lane.post);
            if (response.status !== 201) throw new Error(`a post answered ${response.status}: ${response.body.slice(0, 200)}`);
            messages++;
          }
        }),
      );
      return { messages, elapsedMs: performance.now() - started };
    };
    await run(500); // warm-up
    const before = await relay.usage();
    const measured = await run(seconds * 1000);
    const cpuMs = (await relay.usage()).cpuMs - before.cpuMs;
    for (const lane of lanes) lane.connection.close();
    return {
      senders,
      seconds: Math.round(measured.elapsedMs / 10) / 100,
      messages: measured.messages,
      messagesPerSecond: Math.round(measured.messages / (measured.elapsedMs / 1000)),
      relayCpuMsPerMessage: Math.round((cpuMs / measured.messages) * 1000) / 1000,
    };
  } finally {
    await relay.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await benchMessages(Number(process.argv[2] ?? 50), Number(process.argv[3] ?? 4), process.argv[4])));
}

/**
 * One committed message on the SQLite engine, in this process and without HTTP: the store's
 * postMessage on a fresh file, each a transaction made durable (WAL, synchronous=FULL) before
 * it returns, as the relay waits for it before answering 201.
 */
export async function benchSqliteCommit(runs: number, path: string): Promise<Summary> {
  const limits = resolveLimits(BENCH_RELAY_LIMITS);
  const store = openSqliteStore(path, limits);
  try {
    const sendToken = randomBytes(32).toString('hex');
    const slotId = randomBytes(16).toString('hex');
    const ownerToken = randomBytes(32).toString('hex');
    await store.allocateInbox({ slotId, ownerToken, address: '127.0.0.1' }, { key: 'open:127.0.0.1', limit: limits.opensPerIpPerMinute, windowMs: 60_000 }, Date.now());
    await store.addGrant(slotId, ownerToken, { grantId: grantIdOf(sendToken), sendToken }, { key: `grant:${slotId}`, limit: limits.grantsPerSlotPerMinute, windowMs: 60_000 }, Date.now());
    const value = randomBytes(MESSAGE_BYTES).toString('base64');
    const samples: number[] = [];
    for (let run = 0; run < runs; run++) {
      const started = performance.now();
      const result = await store.postMessage(slotId, { grantId: grantIdOf(sendToken), sendToken, value, bytes: MESSAGE_BYTES }, undefined, Date.now());
      samples.push(performance.now() - started);
      if (result.kind !== 'posted') throw new Error(`a post was ${result.kind}`);
    }
    return summarize(samples);
  } finally {
    await store.close();
  }
}
