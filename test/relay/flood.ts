// The audit's floods (issue 12) against one relay engine: 10,200 pairing opens from 340 source
// addresses and 50,010 inbox allocations from 1,667 (127.x.y.z) leave an existing identity its
// inbox and room for two new identities to pair. One engine per test file (flood.memory,
// flood.sqlite, flood.redis): each flood is tens of thousands of store writes, and as files of
// their own the runner spreads them over the cores instead of running all three in a row.
//
// The relay and its floods run in a worker thread of the test process (the test file again, see
// the end of this module): node:test tracks every promise made in its own thread with an async hook, which made
// the 60,000 requests cost about 2.4 times the CPU they cost without it. The test thread pairs
// through the worker's relay over HTTP, as before, and asserts on what the worker tallied.

import '../helpers/nativeCurves.js';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { type RunningRelay, type StartRelayOptions, startRelay } from '../../src/relay/node.js';
import { type Engine, storeFor } from '../helpers/engines.js';
import { RedisServer } from '../helpers/redis.js';
import { makeSide } from '../helpers/sides.js';

/**
 * Source addresses flooding at once: enough that the SQLite engine commits many allocations per
 * transaction and the Redis client keeps many commands in flight, as a real flood would.
 */
const FLOOD_CONCURRENCY = 64;

/**
 * One request from `clientAddress` handed straight to the relay's handler, with no socket: the
 * floods' 60,000 requests test the per-address limits and the stores, not Node's HTTP stack (the
 * tests below take the address from real sockets and X-Forwarded-For), in seconds, not minutes.
 */
async function handledFrom(relay: RunningRelay, clientAddress: string, method: string, target: string, body = ''): Promise<{ status: number }> {
  const { status } = await relay.relay.handle({ method, target, body: new TextEncoder().encode(body), clientAddress });
  return { status };
}

/** Runs FLOOD_CONCURRENCY of `sources` at a time, each sending `perSource` requests in turn from its own address; tallies statuses. */
async function flood(sources: number, perSource: number, firstOctets: string, send: (clientAddress: string) => Promise<{ status: number }>): Promise<Map<number, number>> {
  const statuses = new Map<number, number>();
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let source = next++; source < sources; source = next++) {
      const address = `${firstOctets}.${Math.floor(source / 250)}.${(source % 250) + 1}`;
      for (let i = 0; i < perSource; i++) {
        const { status } = await send(address);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: FLOOD_CONCURRENCY }, worker));
  return statuses;
}

/** What the worker reports: the relay's URL once it listens, then the floods' tallies. */
type FromWorker = { url: string } | { opens: [number, number][]; inboxes: [number, number][]; inboxSlotsAfterSweep: number };

/** The flood test on `engine` (a Redis engine starts its own redis-server). */
export function floodSuite(engine: Engine): void {
  if (!isMainThread) return; // the worker runs the floods (below), not the tests
  let redis: RedisServer | undefined;
  before(async () => {
    // Never restarted: without the AOF (see RedisServer.start).
    if (engine === 'redis') redis = await RedisServer.start({ appendOnly: false });
  });
  after(async () => {
    await redis?.dispose();
  });

  describe(`abuse resistance on the ${engine} engine`, () => {
    it("after the audit's floods (10,200 opens from 340 addresses, 50,010 inbox allocations from 1,667), an existing identity keeps its inbox and two new identities pair", { timeout: 600_000 }, async () => {
      const worker = new Worker(thisTestFile(), { workerData: { ...storeFor(engine, redis), port: 0 } satisfies StartRelayOptions });
      const exited = once(worker, 'exit');
      const failed = once(worker, 'error').then(([error]) => Promise.reject(error as Error));
      const next = async (): Promise<FromWorker> => ((await Promise.race([once(worker, 'message'), failed])) as [FromWorker])[0];
      try {
        const started = await next();
        assert.ok('url' in started);
        // An identity that paired before the flood: its inbox is in use (it granted a send token).
        const existing = await makeSide(started.url, 'existing');
        await pairToTheEnd(existing, await makeSide(started.url, 'early'), started.url);
        worker.postMessage('flood');
        const flooded = await next();
        assert.ok('opens' in flooded);
        const opens = new Map(flooded.opens);
        assert.equal(opens.get(201), 340 * 25, `each address holds at most 25 open slots: ${JSON.stringify([...opens])}`);
        assert.equal(opens.get(429), 340 * 5);
        assert.equal([...opens.keys()].filter((status) => status >= 500).length, 0);

        const inboxes = new Map(flooded.inboxes);
        assert.equal(inboxes.get(201), 50_010, `every allocation went through: ${JSON.stringify([...inboxes])}`);
        assert.equal(flooded.inboxSlotsAfterSweep, 50_000, 'the table is full of never-used inboxes');

        const alice = await makeSide(started.url, 'alice');
        const bob = await makeSide(started.url, 'bob');
        await pairToTheEnd(alice, bob, started.url);
        await pairToTheEnd(existing, alice, started.url);
        assert.ok((existing.calls.get('allocateSlot') ?? 0) === 1, 'the existing identity kept its inbox: no new one was made');
      } finally {
        worker.postMessage('close'); // a no-op if it already ended (an error)
        await exited;
      }
    });
  });
}

/**
 * The test file this process runs, for a worker: it loads this module again, which then runs
 * floodWorker instead of tests. The runner runs a compiled bundle; under `node --import tsx
 * --test FILE` the file is .ts, and tsx does not register itself in a worker, so the worker
 * registers it first.
 */
function thisTestFile(): string | URL {
  const file = process.argv[1] as string;
  if (!file.endsWith('.ts')) return file;
  const load = `const { register } = await import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}); register(); await import(${JSON.stringify(pathToFileURL(file).href)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(load)}`);
}

/** The worker: starts the relay (workerData), says its URL, floods it when told, closes it when told. */
async function floodWorker(port: NonNullable<typeof parentPort>): Promise<void> {
  const relay = await startRelay(workerData as StartRelayOptions);
  port.on('message', (message: 'flood' | 'close') => {
    if (message === 'close') {
      void relay.close().then(() => {
        port.close();
      });
      return;
    }
    void (async () => {
      const opens = await flood(340, 30, '127.1', (address) => handledFrom(relay, address, 'POST', '/v1/pair', '{"role":"host"}'));
      const inboxes = await flood(1_667, 30, '127.2', (address) => handledFrom(relay, address, 'POST', '/v1/slot'));
      await relay.relay.sweep();
      port.postMessage({ opens: [...opens], inboxes: [...inboxes], inboxSlotsAfterSweep: relay.stats().inboxSlots } satisfies FromWorker);
    })();
  });
  port.postMessage({ url: relay.url } satisfies FromWorker);
}

async function pairToTheEnd(host: Awaited<ReturnType<typeof makeSide>>, guest: Awaited<ReturnType<typeof makeSide>>, url: string): Promise<void> {
  const opened = await host.store.open('host', url);
  assert.ok(opened.code !== undefined);
  const joined = await guest.store.open('guest', url, opened.code);
  await Promise.all([host.store.waitForSas(opened.sessionId, 20_000), guest.store.waitForSas(joined.sessionId, 20_000)]);
  const sas = host.store.sasForPerson(opened.sessionId);
  await Promise.all([host.store.confirmSas(opened.sessionId, sas), guest.store.confirmSas(joined.sessionId, sas)]);
  const ends = await Promise.all([host.store.finalize(opened.sessionId, 20_000), guest.store.finalize(joined.sessionId, 20_000)]);
  assert.deepEqual(
    ends.map((end) => end.state),
    ['finalized', 'finalized'],
  );
}

if (!isMainThread && parentPort) await floodWorker(parentPort);
