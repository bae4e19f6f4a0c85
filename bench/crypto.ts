// Times the protocol's cryptography on one side of a pairing:
//   spake2     start + finish (decode, subgroup check, shared element, transcript hash)
//   keys       confirm MAC, peer-confirm check, SAS, both bootstrap keys
//   bootstrap  seal + open of a realistic payload (card, relay URL, slot id, send token)
//   card       create (sign) + verify of an identity card
// Run directly: node --import tsx bench/crypto.ts [runs]

import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { utf8 } from '../src/core/bytes.js';
import { codeHash } from '../src/core/codePhrase.js';
import { canonicalJson, createCard, verifyCard } from '../src/core/identity.js';
import { bootstrapKey, confirmMac, deriveSas, openBootstrap, sealBootstrap, spake2Entropy, verifyPeerConfirm } from '../src/core/keySchedule.js';
import { spake2Start } from '../src/core/spake2.js';

export interface BenchResult {
  name: string;
  runs: number;
  medianMs: number;
  p99Ms: number;
}

export interface CryptoBench {
  /** The first SPAKE2 start + finish in the process, which also derives and tables the S point. */
  coldSpake2Ms: number;
  results: BenchResult[];
}

function percentile(sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)] ?? Number.NaN;
}

function measure(name: string, runs: number, operation: () => void): BenchResult {
  for (let i = 0; i < Math.min(10, runs); i++) operation(); // warm the JIT
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    operation();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { name, runs, medianMs: percentile(times, 0.5), p99Ms: percentile(times, 0.99) };
}

/** Lets a surrounding runner (timers, output) proceed between the measurements. */
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export async function benchCrypto(runs = 200): Promise<CryptoBench> {
  const code = '47-UE2BZG';
  const pairId = randomBytes(16).toString('hex');
  const password = utf8(code);
  const id = utf8(pairId);
  const hash = codeHash(code);

  const coldStarted = performance.now();
  const peer = spake2Start(password, id, spake2Entropy(randomBytes(32)));
  peer.finish(spake2Start(password, id, spake2Entropy(randomBytes(32))).message);
  const coldSpake2Ms = performance.now() - coldStarted;

  let key: Uint8Array = new Uint8Array(32);
  const spake2 = measure('spake2 start+finish', runs, () => {
    const pending = spake2Start(password, id, spake2Entropy(randomBytes(32)));
    key = pending.finish(peer.message);
  });

  await yieldToEventLoop();
  const keys = measure('key schedule (confirm, verify, SAS, bootstrap keys)', runs, () => {
    const ownMac = confirmMac(key, hash, 'host');
    if (!verifyPeerConfirm(key, hash, 'host', ownMac)) throw new Error('confirm mismatch');
    deriveSas(key, hash);
    bootstrapKey(key, hash, 'host');
    bootstrapKey(key, hash, 'guest');
  });

  await yieldToEventLoop();
  const card = createCard('alice', randomBytes(32), '2026-11-25T00:00:00Z');
  const payload = utf8(canonicalJson({ v: 1, card, relay_url: 'http://127.0.0.1:8771', slot_id: randomBytes(16).toString('hex'), send_token: randomBytes(32).toString('hex') }));
  const bootstrap = measure(`bootstrap seal+open (${payload.length} bytes)`, runs, () => {
    const sealed = sealBootstrap(key, hash, 'host', pairId, payload, randomBytes(12));
    openBootstrap(key, hash, 'host', pairId, sealed);
  });

  await yieldToEventLoop();
  const seed = randomBytes(32);
  const cards = measure('card create+verify', runs, () => {
    verifyCard(createCard('alice', seed, '2026-11-25T00:00:00Z'));
  });

  return { coldSpake2Ms, results: [spake2, keys, bootstrap, cards] };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const runs = Number(process.argv[2] ?? 200);
  const { coldSpake2Ms, results } = await benchCrypto(runs);
  console.log(`first spake2 start+finish in this process (derives S): ${coldSpake2Ms.toFixed(2)} ms`);
  for (const result of results) {
    console.log(`${result.name.padEnd(52)} median ${result.medianMs.toFixed(3)} ms   p99 ${result.p99Ms.toFixed(3)} ms   (${result.runs} runs)`);
  }
}
