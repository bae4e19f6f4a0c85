// Times the protocol's cryptography on one side of a pairing:
//   per side   everything one side computes in a whole pairing: SPAKE2 start (entropy, x*B + pw*S,
//              commitment) and finish (decode, subgroup check, commitment check, shared element,
//              transcript hash), the key schedule (own confirm, peer-confirm check, SAS), and
//              bootstrap seal (own) + open (peer's)
//   and its parts: spake2 start, spake2 finish, key schedule, bootstrap, plus the verification
//   of the peer's identity card (once per pairing, on top of the per-side figure).
// Run directly: node --import tsx bench/crypto.ts [runs]

import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { utf8 } from '../src/core/bytes.js';
import { codeHash } from '../src/core/codePhrase.js';
import { canonicalJson, createCard, verifyCard } from '../src/core/identity.js';
import { confirmMac, deriveSas, openBootstrap, pakeCommitment, sealBootstrap, spake2Entropy, verifyPeerConfirm } from '../src/core/keySchedule.js';
import { type Spake2Pending, spake2Start } from '../src/core/spake2.js';
import { summarize, yieldToEventLoop } from './stats.js';

export interface BenchResult {
  name: string;
  runs: number;
  medianMs: number;
  p99Ms: number;
}

export interface CryptoBench {
  /** The first SPAKE2 start + finish in the process: the first use of noble's arithmetic (S is a constant, no table is built). */
  coldSpake2Ms: number;
  /** The whole pairing's crypto on one side (the first entry of `results`). */
  perSide: BenchResult;
  results: BenchResult[];
}

/** Times `operation` `runs` times after a JIT warm-up; `setup` runs before each, untimed. */
function measure<T>(name: string, runs: number, setup: () => T, operation: (input: T) => void): BenchResult {
  for (let i = 0; i < Math.min(10, runs); i++) operation(setup());
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const input = setup();
    const started = performance.now();
    operation(input);
    times.push(performance.now() - started);
  }
  return { name, ...summarize(times) };
}

const nothing = (): undefined => undefined;

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

  // One side (the host) with a fixed seed, so the peer's answers (confirm MAC, sealed
  // bootstrap) can be computed once; the arithmetic is constant-time, so the seed's value does
  // not change the cost.
  const ownSeed = randomBytes(32);
  const peerMessage = spake2Start(password, id, spake2Entropy(randomBytes(32))).message;
  const peerSide = spake2Start(password, id, spake2Entropy(randomBytes(32)));
  const key = peerSide.finish(spake2Start(password, id, spake2Entropy(ownSeed)).message);
  const peerCommit = pakeCommitment(peerSide.message);
  const peerMac = confirmMac(key, hash, 'guest');
  const card = createCard('alice', randomBytes(32), '2026-11-25T00:00:00Z');
  const payload = utf8(canonicalJson({ v: 1, card, relay_url: 'http://127.0.0.1:8771', slot_id: randomBytes(16).toString('hex'), send_token: randomBytes(32).toString('hex') }));
  const peerSealed = sealBootstrap(key, hash, 'guest', pairId, payload, randomBytes(12));

  const perSide = measure('per side, whole pairing (spake2, key schedule, bootstrap)', runs, nothing, () => {
    const pending = spake2Start(password, id, spake2Entropy(ownSeed));
    pakeCommitment(pending.message);
    if (pakeCommitment(peerSide.message) !== peerCommit) throw new Error('commitment mismatch');
    const sharedKey = pending.finish(peerSide.message);
    confirmMac(sharedKey, hash, 'host');
    if (!verifyPeerConfirm(sharedKey, hash, 'guest', peerMac)) throw new Error('confirm mismatch');
    deriveSas(sharedKey, hash);
    sealBootstrap(sharedKey, hash, 'host', pairId, payload, randomBytes(12));
    openBootstrap(sharedKey, hash, 'guest', pairId, peerSealed);
  });

  await yieldToEventLoop();
  const start = measure('spake2 start (entropy, x*B + pw*S)', runs, nothing, () => {
    spake2Start(password, id, spake2Entropy(randomBytes(32)));
  });

  await yieldToEventLoop();
  const finish = measure('spake2 finish (decode, subgroup check, x*(Y - pw*S), hash)', runs, () => spake2Start(password, id, spake2Entropy(randomBytes(32))), (pending: Spake2Pending) => {
    pending.finish(peerMessage);
  });

  await yieldToEventLoop();
  const keys = measure('key schedule (confirm, verify, SAS)', runs, nothing, () => {
    confirmMac(key, hash, 'host');
    if (!verifyPeerConfirm(key, hash, 'guest', peerMac)) throw new Error('confirm mismatch');
    deriveSas(key, hash);
  });

  await yieldToEventLoop();
  const bootstrap = measure(`bootstrap seal+open (${payload.length} bytes)`, runs, nothing, () => {
    sealBootstrap(key, hash, 'host', pairId, payload, randomBytes(12));
    openBootstrap(key, hash, 'guest', pairId, peerSealed);
  });

  await yieldToEventLoop();
  // A fresh card each run: a card seen before may be answered from a cache of verified cards.
  const cards = measure("card verify (the peer's, once per pairing)", runs, () => createCard('bob', randomBytes(32), '2026-11-25T00:00:00Z'), (fresh) => {
    verifyCard(fresh);
  });

  return { coldSpake2Ms, perSide, results: [perSide, start, finish, keys, bootstrap, cards] };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const runs = Number(process.argv[2] ?? 200);
  const { coldSpake2Ms, results } = await benchCrypto(runs);
  console.log(`first spake2 start+finish in this process: ${coldSpake2Ms.toFixed(2)} ms`);
  for (const result of results) {
    console.log(`${result.name.padEnd(62)} median ${result.medianMs.toFixed(3)} ms   p99 ${result.p99Ms.toFixed(3)} ms   (${result.runs} runs)`);
  }
}
