// End-to-end pairing latency: two in-process clients (real SessionStores over in-memory stores
// with the real relay client, as in test/helpers/sides.ts) and a real relay in its own process.
// Each pairing uses two fresh identities. Measured:
//   opened → sas_ready   from both sides opened to both sides showing the SAS
//   confirmed → pinned   from both sides confirmed (no human delay) to both finalized
// and the relay requests per pairing, both sides together, by kind.
//
// On loopback a request costs well under a millisecond, so these figures are mostly the two
// sides' computation (which here shares one thread). With `roundTripMs`, every request of the
// clients is delayed by half of it on the way out and half on the way back, which shows what
// the number of sequential round trips costs on a real network.
//
// Both sides share one process, so each identity card is verified once for both (the
// verification cache in identity.ts); on two machines each side verifies the peer's card once.
// Run directly: node --import tsx bench/pairing.ts [pairings] [round trip ms]

import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { initSelfIdempotent } from '../src/core/identity.js';
import { MemoryKeyValueStore } from '../src/core/routedStore.js';
import type { SessionDeps } from '../src/core/session.js';
import { SessionStore } from '../src/core/store.js';
import { systemClock, systemRandom } from '../src/node/system.js';
import { createRelayConnector } from '../src/relay/client.js';
import { countingConnector } from '../test/helpers/sides.js';
import { startServerProcess } from './processes.js';
import { type Summary, summarize } from './stats.js';

export interface PairingBench {
  roundTripMs: number;
  open: Summary;
  toSas: Summary;
  toPinned: Summary;
  /** Relay requests of one pairing, both sides together, averaged over the pairings. */
  requestsPerPairing: number;
  requestsByKind: Record<string, number>;
}

interface Side {
  store: SessionStore;
  calls: Map<string, number>;
}

const WARM_UP_PAIRINGS = 3;
const WAIT_MS = 30_000;

/** A fetch with `roundTripMs` of network delay around each request. */
function delayedFetch(roundTripMs: number): typeof fetch {
  return async (input, init) => {
    await sleep(roundTripMs / 2);
    const response = await fetch(input, init);
    await sleep(roundTripMs / 2);
    return response;
  };
}

async function makeSide(relayUrl: string, handle: string, roundTripMs: number): Promise<Side> {
  const calls = new Map<string, number>();
  const connector = createRelayConnector(roundTripMs > 0 ? { fetch: delayedFetch(roundTripMs) } : {});
  const deps: SessionDeps = { vault: new MemoryKeyValueStore(), memory: new MemoryKeyValueStore(), clock: systemClock, random: systemRandom, relays: countingConnector(connector, calls) };
  await initSelfIdempotent(deps, handle, deps.relays(relayUrl));
  calls.clear(); // setting up the identity is not part of a pairing
  return { store: new SessionStore(deps), calls };
}

export async function benchPairing(pairings = 60, roundTripMs = 0): Promise<PairingBench> {
  const relay = await startServerProcess('relay');
  try {
    const open: number[] = [];
    const toSas: number[] = [];
    const toPinned: number[] = [];
    const requests = new Map<string, number>();
    for (let i = 0; i < WARM_UP_PAIRINGS + pairings; i++) {
      const host = await makeSide(relay.url, 'alice', roundTripMs);
      const guest = await makeSide(relay.url, 'bob', roundTripMs);

      const started = performance.now();
      const opened = await host.store.open('host', relay.url);
      const joined = await guest.store.open('guest', relay.url, opened.code);
      const bothOpened = performance.now();
      const ready = await Promise.all([host.store.waitForSas(opened.sessionId, WAIT_MS), guest.store.waitForSas(joined.sessionId, WAIT_MS)]);
      const sasShown = performance.now();
      if (ready.some((snapshot) => snapshot.state !== 'sas_ready')) throw new Error(`pairing ${i} did not reach sas_ready: ${ready.map((s) => s.state).join(', ')}`);

      const sas = host.store.sasForPerson(opened.sessionId);
      await host.store.confirmSas(opened.sessionId, sas);
      await guest.store.confirmSas(joined.sessionId, sas);
      const confirmed = performance.now();
      const done = await Promise.all([host.store.finalize(opened.sessionId, WAIT_MS), guest.store.finalize(joined.sessionId, WAIT_MS)]);
      const pinned = performance.now();
      if (done.some((snapshot) => snapshot.state !== 'finalized')) throw new Error(`pairing ${i} did not finalize`);
      if (i < WARM_UP_PAIRINGS) continue;

      open.push(bothOpened - started);
      toSas.push(sasShown - bothOpened);
      toPinned.push(pinned - confirmed);
      for (const calls of [host.calls, guest.calls]) for (const [kind, count] of calls) requests.set(kind, (requests.get(kind) ?? 0) + count);
    }
    const perPairing = (count: number): number => Math.round((count / pairings) * 10) / 10;
    return {
      roundTripMs,
      open: summarize(open),
      toSas: summarize(toSas),
      toPinned: summarize(toPinned),
      requestsPerPairing: perPairing([...requests.values()].reduce((a, b) => a + b, 0)),
      // Averages: whether a side needs a second long poll depends on which side wrote first.
      requestsByKind: Object.fromEntries([...requests].map(([kind, count]) => [kind, perPairing(count)])),
    };
  } finally {
    await relay.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await benchPairing(Number(process.argv[2] ?? 60), Number(process.argv[3] ?? 0)), null, 2));
}
