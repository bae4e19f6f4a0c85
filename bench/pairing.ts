// End-to-end pairing latency: two in-process clients (real SessionStores with the real relay
// client, as in test/helpers/sides.ts) and a real relay in its own process, on loopback. Each
// pairing uses two fresh identities, so nothing is cached from an earlier pairing. Measured:
//   opened → sas_ready   from both sides opened to both sides showing the SAS
//   confirmed → pinned   from both sides confirmed (no human delay) to both finalized
// and the relay requests per pairing, both sides together, by kind.
// Run directly: node --import tsx bench/pairing.ts [pairings]

import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { bothWaitForSas, makeSide, openPair } from '../test/helpers/sides.js';
import { startServerProcess } from './processes.js';
import { type Summary, summarize } from './stats.js';

export interface PairingBench {
  open: Summary;
  toSas: Summary;
  toPinned: Summary;
  /** Relay requests of one pairing, both sides together (the median pairing's, by kind). */
  requestsPerPairing: number;
  requestsByKind: Record<string, number>;
}

const WARM_UP_PAIRINGS = 5;
const WAIT_MS = 10_000;

export async function benchPairing(pairings = 60): Promise<PairingBench> {
  const relay = await startServerProcess('relay');
  try {
    const open: number[] = [];
    const toSas: number[] = [];
    const toPinned: number[] = [];
    const requestCounts: number[] = [];
    const byKind = new Map<string, number[]>();
    for (let i = 0; i < WARM_UP_PAIRINGS + pairings; i++) {
      const host = await makeSide(relay.url, 'alice');
      const guest = await makeSide(relay.url, 'bob');
      host.calls.clear();
      guest.calls.clear();

      const started = performance.now();
      const ids = await openPair(host, guest, relay.url);
      const opened = performance.now();
      const ready = await bothWaitForSas(host, guest, ids, WAIT_MS);
      const sasShown = performance.now();
      if (ready.some((snapshot) => snapshot.state !== 'sas_ready')) throw new Error(`pairing ${i} did not reach sas_ready: ${ready.map((s) => s.state).join(', ')}`);

      const sas = host.store.sasForPerson(ids.hostId);
      await host.store.confirmSas(ids.hostId, sas);
      await guest.store.confirmSas(ids.guestId, sas);
      const confirmed = performance.now();
      const done = await Promise.all([host.store.finalize(ids.hostId, WAIT_MS), guest.store.finalize(ids.guestId, WAIT_MS)]);
      const pinned = performance.now();
      if (done.some((snapshot) => snapshot.state !== 'finalized')) throw new Error(`pairing ${i} did not finalize`);
      if (i < WARM_UP_PAIRINGS) continue;

      open.push(opened - started);
      toSas.push(sasShown - opened);
      toPinned.push(pinned - confirmed);
      let total = 0;
      const kinds = new Map<string, number>();
      for (const calls of [host.calls, guest.calls]) {
        for (const [kind, count] of calls) {
          kinds.set(kind, (kinds.get(kind) ?? 0) + count);
          total += count;
        }
      }
      requestCounts.push(total);
      for (const [kind, count] of kinds) byKind.set(kind, [...(byKind.get(kind) ?? []), count]);
    }
    const requestsByKind: Record<string, number> = {};
    // Averages by kind: a long poll may or may not be needed depending on which side wrote first.
    for (const [kind, counts] of byKind) requestsByKind[kind] = Math.round((counts.reduce((a, b) => a + b, 0) / pairings) * 10) / 10;
    return {
      open: summarize(open),
      toSas: summarize(toSas),
      toPinned: summarize(toPinned),
      requestsPerPairing: Math.round((requestCounts.reduce((a, b) => a + b, 0) / pairings) * 10) / 10,
      requestsByKind,
    };
  } finally {
    await relay.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await benchPairing(Number(process.argv[2] ?? 60)), null, 2));
}
