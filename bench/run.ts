// `npm run bench`: every benchmark in one run (about 40 s on a 2-core machine), one table
// on stdout, and the same rows plus every detail in bench/results/latest.json.
// `npm run bench` builds first (for the extension bundle); run without building as
// `node --import tsx bench/run.ts`.

import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, platform, release } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { benchCapacity } from './capacity.js';
import { benchCrypto } from './crypto.js';
import { benchDelivery } from './delivery.js';
import { benchExtension } from './extension.js';
import type { MemoryBench } from './memoryProcess.js';
import { benchPairing } from './pairing.js';
import { runJsonChild } from './processes.js';
import type { Summary } from './stats.js';
import { RedisServer } from '../test/helpers/redis.js';
import { MESSAGE_BYTES, benchMessages } from './messages.js';
import { benchMessageVersions } from './messageVersions.js';
import { benchWake } from './wake.js';

interface Row {
  metric: string;
  median: number | string;
  p99?: number;
  unit: string;
  note?: string;
}

const CRYPTO_RUNS = 300;
const PAIRINGS = 60;
/** A round trip between a client and a relay across a country; every request pays it. */
const WAN_ROUND_TRIP_MS = 40;
const WAN_PAIRINGS = 20;
const WAKE_RUNS = 200;
const CONCURRENT_PAIRINGS = 100;
const CAPACITY_SECONDS = 8;
const MEMORY_SLOTS = 10_000;
const DELIVERY_RUNS = 200;
/** Turns each way per pair in the section 6 against section 7 comparison (two pairs, interleaved). */
const MESSAGE_VERSION_RUNS = 100;
const MESSAGE_SENDERS = 50;
const MESSAGE_SECONDS = 4;

function timed(summary: Summary, metric: string, note?: string): Row {
  return { metric, median: round(summary.medianMs), p99: round(summary.p99Ms), unit: 'ms', note: note ?? `${summary.runs} runs` };
}

function round(value: number): number {
  if (value >= 100) return Math.round(value);
  if (value >= 10) return Math.round(value * 10) / 10;
  return Math.round(value * 100) / 100;
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

const progress = (step: string): void => {
  process.stderr.write(`bench: ${step}…\n`);
};
const started = performance.now();

progress('client crypto');
const crypto = await benchCrypto(CRYPTO_RUNS);
progress('end-to-end pairing');
const pairing = await benchPairing(PAIRINGS);
progress(`end-to-end pairing with a ${WAN_ROUND_TRIP_MS} ms round trip`);
const wanPairing = await benchPairing(WAN_PAIRINGS, WAN_ROUND_TRIP_MS);
// The Redis engine's rows need Debian's redis-server (scripts/install-redis.sh); one is started
// for this run on a free port, each relay under its own key prefix.
const redis = await RedisServer.start().catch((error: unknown) => {
  process.stderr.write(`bench: no Redis rows (${error instanceof Error ? error.message : String(error)})\n`);
  return undefined;
});
progress('long-poll wake');
const wake = await benchWake(WAKE_RUNS);
let crossWake: Summary | undefined;
if (redis) {
  progress('cross-process long-poll wake on Redis');
  crossWake = await benchWake(WAKE_RUNS, redis.url());
}
progress(`relay capacity (${CAPACITY_SECONDS} s, memory${redis ? ' and Redis' : ''} engine) and a bare http server`);
const capacity = await benchCapacity(CONCURRENT_PAIRINGS, CAPACITY_SECONDS, redis?.url());
progress('message delivery');
const delivery = await benchDelivery(DELIVERY_RUNS);
progress('messages v1 against v2, homes on disk');
const versions = await benchMessageVersions(MESSAGE_VERSION_RUNS);
progress(`relay messages (${MESSAGE_SECONDS} s)`);
const messages = await benchMessages(MESSAGE_SENDERS, MESSAGE_SECONDS);
const redisMessages = redis && (await benchMessages(MESSAGE_SENDERS, MESSAGE_SECONDS, redis.url()));
await redis?.dispose();
progress('relay memory');
const memory = await runJsonChild<MemoryBench>('memoryProcess', [String(MEMORY_SLOTS)], ['--expose-gc']);
progress('extension bundle');
const extension = await benchExtension();

const rows: Row[] = [
  ...crypto.results.map((result, i) => timed(result, i === 0 ? `client crypto: ${result.name}` : `  ${result.name}`)),
  { metric: '  first spake2 in a process (derives S, builds its table)', median: round(crypto.coldSpake2Ms), unit: 'ms', note: 'once' },
  timed(pairing.open, 'pairing: host opens + guest joins', `${PAIRINGS} pairings, relay in its own process`),
  timed(pairing.toSas, 'pairing: both opened → both sas_ready'),
  timed(pairing.toPinned, 'pairing: both confirmed → both pinned'),
  { metric: 'pairing: relay requests per pairing (both sides)', median: pairing.requestsPerPairing, unit: 'requests', note: Object.entries(pairing.requestsByKind).map(([kind, count]) => `${kind} ${count}`).join(', ') },
  timed(wanPairing.open, `pairing, ${WAN_ROUND_TRIP_MS} ms round trip: host opens + guest joins`, `${WAN_PAIRINGS} pairings, delay added in the clients' fetch`),
  timed(wanPairing.toSas, `pairing, ${WAN_ROUND_TRIP_MS} ms round trip: opened → sas_ready`),
  timed(wanPairing.toPinned, `pairing, ${WAN_ROUND_TRIP_MS} ms round trip: confirmed → pinned`),
  timed(wake, 'long-poll wake: write → pending poll returns'),
  ...(crossWake ? [timed(crossWake, 'long-poll wake across processes on Redis: write via A → poll on B returns', `${WAKE_RUNS} runs, two relay processes on one redis-server`)] : []),
  {
    metric: 'relay capacity: complete pairings per second',
    median: capacity.pairingsPerSecond,
    unit: 'pairings/s',
    note: `${capacity.concurrentPairings} concurrent, ${capacity.pairings} pairings in ${capacity.seconds} s, ${capacity.requestsPerPairing} requests each, ${capacity.relayRequestsPerSecond} requests/s`,
  },
  { metric: '  relay CPU per pairing', median: capacity.relayCpuMsPerPairing, unit: 'ms', note: `relay process at ${Math.round(capacity.relayCpuShare * 100)}% of a core` },
  { metric: '  bare Node http, same requests', median: capacity.bareRequestsPerSecond, unit: 'requests/s', note: `${capacity.requests} requests in ${capacity.bareSeconds} s, ${capacity.bareCpuMsPerPairingRequests} ms CPU per pairing's worth` },
  { metric: '  relay / bare', median: capacity.throughputRatio, unit: '× time', note: `${capacity.cpuRatio}× CPU` },
  ...(capacity.redis
    ? [
        { metric: 'relay capacity on the Redis engine (one process)', median: capacity.redis.pairingsPerSecond, unit: 'pairings/s', note: `${Math.round(capacity.redis.shareOfMemory * 100)}% of the memory engine, ${capacity.redis.pairings} pairings in ${capacity.redis.seconds} s` },
        { metric: '  relay CPU per pairing on Redis', median: capacity.redis.relayCpuMsPerPairing, unit: 'ms', note: `relay process at ${Math.round(capacity.redis.relayCpuShare * 100)}% of a core (redis-server not counted)` },
      ]
    : []),
  timed(delivery.toReader, 'message: send → delivered to a waiting reader', `${DELIVERY_RUNS} messages, seal + POST → long poll, AuthOpen, checks, stored, acknowledged`),
  timed(delivery.toReceipt, 'message: send → receipt back (delivered)', 'the reader hands each message over at once'),
  timed(versions.v1Send, 'message v1 (section 6): send, home on disk', `${versions.v1Send.runs} sends, seal + POST + records, two pairs in turns`),
  timed(versions.v2Send, 'message v2 (section 7): send, home on disk', `×${round(versions.v2Send.medianMs / versions.v1Send.medianMs)} of v1: key spent under the lock, top-up secrets kept, signed`),
  timed(versions.v1Read, 'message v1 (section 6): read, home on disk', `${versions.v1Read.runs} reads, one message waiting: open, checks, stored, acknowledged`),
  timed(versions.v2Read, 'message v2 (section 7): read, home on disk', `×${round(versions.v2Read.medianMs / versions.v1Read.medianMs)} of v1: signature verified, one-time secret deleted, pool updated`),
  { metric: `relay messages/s at ${MESSAGE_BYTES / 1024} KiB (memory engine)`, median: messages.messagesPerSecond, unit: 'messages/s', note: `${messages.senders} senders, ${messages.messages} in ${messages.seconds} s, ${messages.relayCpuMsPerMessage} ms relay CPU each` },
  ...(redisMessages ? [{ metric: `relay messages/s at ${MESSAGE_BYTES / 1024} KiB (Redis engine)`, median: redisMessages.messagesPerSecond, unit: 'messages/s', note: `${redisMessages.messages} in ${redisMessages.seconds} s, ${redisMessages.relayCpuMsPerMessage} ms relay CPU each` }] : []),
  { metric: 'relay memory per open slot (waiting for guest)', median: memory.openedBytesPerSlot, unit: 'bytes', note: `heap with ${memory.slots} slots minus empty, after GC` },
  { metric: 'relay memory per slot mid-exchange (commits, pakes)', median: memory.exchangingBytesPerSlot, unit: 'bytes' },
  { metric: `relay memory per queued ${MESSAGE_BYTES / 1024} KiB message`, median: memory.bytesPerQueuedMessage, unit: 'bytes', note: `${memory.queuedMessages} queued in one inbox, memory engine` },
  ...(extension.built
    ? [
        { metric: 'extension bundle dist/extension.cjs', median: extension.bundleBytes, unit: 'bytes', note: `${extension.bundleGzipBytes} gzipped` },
        timed(extension.moduleLoad, 'extension: module load (require)', `fresh process, ${extension.moduleLoad.runs} runs`),
        extension.activate
          ? timed(extension.activate, 'extension: activate() against a vscode stub', 'not an extension host: the stub answers at once')
          : { metric: 'extension: activate() against a vscode stub', median: 'failed', unit: '', note: extension.activateError ?? '' },
      ]
    : [{ metric: 'extension bundle and activation', median: 'n/a', unit: '', note: 'dist/extension.cjs not built (src/vscode/extension.ts missing or build failed)' }]),
];

const totalSeconds = Math.round((performance.now() - started) / 100) / 10;
const meta = { date: new Date().toISOString(), commit: gitCommit(), node: process.version, platform: `${platform()} ${release()}`, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, totalSeconds };

const cell = (value: number | string | undefined): string => (value === undefined ? '' : typeof value === 'number' ? value.toLocaleString('en-US') : value);
const table = [['metric', 'median', 'p99', 'unit', 'note'], ...rows.map((row) => [row.metric, cell(row.median), cell(row.p99), row.unit, row.note ?? ''])];
const widths = [0, 1, 2, 3].map((column) => Math.max(...table.map((line) => line[column]!.length)));
const format = (line: string[]): string =>
  line.map((text, column) => (column === 0 || column >= 3 ? text.padEnd(widths[column] ?? 0) : text.padStart(widths[column] ?? 0))).join('  ').trimEnd();
console.log(`Agent Pair benchmarks, ${meta.date}, ${meta.commit}, Node ${meta.node}, ${meta.cores} × ${meta.cpu}, on loopback (${totalSeconds} s)`);
console.log(format(table[0]!));
console.log(widths.map((width) => '-'.repeat(width)).join('  ') + '  ----');
for (const line of table.slice(1)) console.log(format(line));

const resultsDir = new URL('./results/', import.meta.url);
mkdirSync(resultsDir, { recursive: true });
const output = fileURLToPath(new URL('latest.json', resultsDir));
writeFileSync(output, `${JSON.stringify({ meta, rows, details: { crypto, pairing, wanPairing, wake, crossWake, capacity, delivery, messages, redisMessages, memory, extension } }, null, 2)}\n`);
console.log(`\nwritten to ${output}`);
