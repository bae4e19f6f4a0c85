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
import { benchCliStart } from './cliStart.js';
import { benchCrypto } from './crypto.js';
import { benchDelivery } from './delivery.js';
import { benchExtension } from './extension.js';
import { benchJoining } from './joining.js';
import type { MemoryBench } from './memoryProcess.js';
import { benchPairing } from './pairing.js';
import { runJsonChild } from './processes.js';
import type { Summary } from './stats.js';
import { freshSqliteFile } from '../test/helpers/engines.js';
import { RedisServer } from '../test/helpers/redis.js';
import { MESSAGE_BYTES, benchMessages, benchSqliteCommit } from './messages.js';
import { benchMessageVersions } from './messageVersions.js';
import { benchPush } from './push.js';
import { benchWake } from './wake.js';
import { installNativeCrypto } from '../src/node/nativeSymmetric.js';
import { httpFetch } from '../src/relay/transport.js';
import { errorMessage } from '../src/core/errors.js';

// The in-process benchmarks (pairing, delivery) use the curves the CLI and the extension install.
installNativeCrypto();

interface Row {
  metric: string;
  median: number | string;
  p99?: number;
  unit: string;
  note?: string;
}

const ENGINE_NAMES: Record<string, string> = { sqlite: 'SQLite', redis: 'Redis' };
const CRYPTO_RUNS = 300;
const PAIRINGS = 60;
/** A round trip between a client and a relay across a country; every request pays it. */
const WAN_ROUND_TRIP_MS = 40;
const WAN_PAIRINGS = 20;
const WAKE_RUNS = 200;
const CONCURRENT_PAIRINGS = 100;
const CAPACITY_SECONDS = 16;
const MEMORY_SLOTS = 10_000;
const DELIVERY_RUNS = 200;
/** Turns each way per pair in the section 6 against section 7 comparison (two pairs, interleaved). */
const MESSAGE_VERSION_RUNS = 100;
const MESSAGE_SENDERS = 50;
const MESSAGE_SECONDS = 4;
const CLI_START_RUNS = 15;
const JOINING_RUNS = 10;
const PUSH_RUNS = 40;

// Issue 20's targets, each a ratio against a baseline measured in the same run.
const CLI_START_TARGET = 1.3;
const JOINING_TARGET = 0.35;
const TO_READER_TARGET = 4;
const TO_RECEIPT_TARGET = 8;
const EXTENSION_LOAD_TARGET = 0.2;
const RELAY_TARGET = 1.5;
// Issue 19's: a channel push within 1.2× the time a waiting inbox_read gets the same kind of message.
const PUSH_TARGET = 1.2;
const SQLITE_COMMITS = 300;

function timed(summary: Summary, metric: string, note?: string): Row {
  return { metric, median: round(summary.medianMs), p99: round(summary.p99Ms), unit: 'ms', note: note ?? `${summary.runs} runs` };
}

/** A ratio row with no target of its own: `value` against its baseline measured in the same run. */
function plainRatio(metric: string, value: number, note: string): Row {
  return { metric, median: round(value), unit: '×', note };
}

/** A ratio row: `value` against its baseline measured in the same run, with the target it must meet. */
function ratio(metric: string, value: number, target: number, note: string): Row {
  return { metric, median: round(value), unit: '×', note: `${note}; target ≤ ${target}× ${value <= target ? '(met)' : '(NOT met)'}` };
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

progress('CLI start-up against node -e 0');
const cliStart = await benchCliStart(CLI_START_RUNS);
progress('joining against magic-wormhole receive');
const joining = await benchJoining(JOINING_RUNS);
progress('client crypto');
const crypto = await benchCrypto(CRYPTO_RUNS);
progress('end-to-end pairing');
const pairing = await benchPairing(PAIRINGS);
progress(`end-to-end pairing with a ${WAN_ROUND_TRIP_MS} ms round trip`);
const wanPairing = await benchPairing(WAN_PAIRINGS, WAN_ROUND_TRIP_MS);
// The Redis engine's rows need Debian's redis-server (scripts/install-redis.sh); one is started
// for this run on a free port, each relay under its own key prefix.
const redis = await RedisServer.start().catch((error: unknown) => {
  process.stderr.write(`bench: no Redis rows (${errorMessage(error)})\n`);
  return undefined;
});
progress('long-poll wake');
const wake = await benchWake(WAKE_RUNS);
// The CLI and `agent-pair mcp` reach relays on node:http (relay/transport.ts), VS Code on the
// global fetch: the message rows run on both, each against a wake on the same transport.
progress('long-poll wake on node:http');
const wakeNodeHttp = await benchWake(WAKE_RUNS, undefined, httpFetch);
let crossWake: Summary | undefined;
if (redis) {
  progress('cross-process long-poll wake on Redis');
  crossWake = await benchWake(WAKE_RUNS, redis.url());
}
// The SQLite engine's rows: a fresh file per relay, removed when this run exits.
const sqliteStore = (): string => `sqlite:${freshSqliteFile()}`;
progress(`relay capacity (${CAPACITY_SECONDS} s each, memory, SQLite${redis ? ' and Redis' : ''} engines) and a bare http server`);
const capacity = await benchCapacity(CONCURRENT_PAIRINGS, CAPACITY_SECONDS, [sqliteStore(), ...(redis ? [redis.url()] : [])]);
/**
 * The relay's CPU per request over the bare server's for the same requests: steadier than the
 * ratio, whose bare floor moves with the host (22.7 to 38.2 µs in five runs of one build, the
 * relay's extra 10 to 14 µs).
 */
const relayExtraCpuUs = Math.round((capacity.relayUserCpuUsPerRequest + capacity.relaySystemCpuUsPerRequest - capacity.bare.userCpuUsPerRequest - capacity.bare.systemCpuUsPerRequest) * 10) / 10;
progress('message delivery');
const delivery = await benchDelivery(DELIVERY_RUNS);
progress('message delivery on node:http');
const deliveryNodeHttp = await benchDelivery(DELIVERY_RUNS, httpFetch);
progress('push to an agent against a waiting inbox_read');
const push = await benchPush(PUSH_RUNS);
progress('messages v1 against v2, homes on disk');
const versions = await benchMessageVersions(MESSAGE_VERSION_RUNS);
progress(`relay messages (${MESSAGE_SECONDS} s)`);
const messages = await benchMessages(MESSAGE_SENDERS, MESSAGE_SECONDS);
const sqliteMessages = await benchMessages(MESSAGE_SENDERS, MESSAGE_SECONDS, sqliteStore());
progress('SQLite commits');
const sqliteCommit = await benchSqliteCommit(SQLITE_COMMITS, freshSqliteFile());
const redisMessages = redis && (await benchMessages(MESSAGE_SENDERS, MESSAGE_SECONDS, redis.url()));
await redis?.dispose();
progress('relay memory');
const memory = await runJsonChild<MemoryBench>('memoryProcess', [String(MEMORY_SLOTS)], ['--expose-gc']);
progress('extension bundle');
const extension = await benchExtension();

const rows: Row[] = [
  timed(cliStart.nodeStart, 'node -e 0 (the start-up baseline)', `${cliStart.nodeStart.runs} runs, interleaved with the CLI's`),
  ...cliStart.commands.flatMap((command) => [
    timed(command.summary, `CLI: agent-pair ${command.command}`),
    command.targeted
      ? ratio(`  CLI ${command.command} / node -e 0`, command.ratio, CLI_START_TARGET, 'medians')
      : plainRatio(`  CLI ${command.command} / node -e 0`, command.ratio, command.note ?? 'medians'),
  ]),
  ...(cliStart.withoutExtraCaCerts
    ? [
        timed(cliStart.withoutExtraCaCerts.nodeStart, 'node -e 0 without NODE_EXTRA_CA_CERTS', `this environment sets it: ${cliStart.withoutExtraCaCerts.certificateBytes} bytes of certificates parsed at every Node start, the baseline above included`),
        timed(cliStart.withoutExtraCaCerts.send, 'CLI: agent-pair send (to opening the network), without NODE_EXTRA_CA_CERTS'),
        plainRatio('  CLI send / node -e 0, both without NODE_EXTRA_CA_CERTS', cliStart.withoutExtraCaCerts.ratio, 'medians; what the start-up target would read where Node parses no extra certificates'),
      ]
    : []),
  { metric: 'CLI bundle dist/cli.cjs (the entry)', median: cliStart.bundleBytes, unit: 'bytes' },
  timed(joining.ours, 'joining: joiner process start → key confirmed (sas)', `${joining.ours.runs} pairings, agent-pair join on loopback`),
  ...(joining.available
    ? [
        timed(joining.wormhole, 'joining: magic-wormhole receive → text', `${joining.wormholeVersion}, local mailbox server`),
        ratio('  joining / magic-wormhole receive', joining.ratio, JOINING_TARGET, 'medians'),
      ]
    : [{ metric: '  joining / magic-wormhole receive', median: 'n/a', unit: '', note: joining.reason }]),
  ...crypto.results.map((result, i) => timed(result, i === 0 ? `client crypto: ${result.name}` : `  ${result.name}`)),
  { metric: '  first spake2 in a process (decodes S, no tables)', median: round(crypto.coldSpake2Ms), unit: 'ms', note: 'once' },
  timed(pairing.open, 'pairing: host opens + guest joins', `${PAIRINGS} pairings, relay in its own process`),
  timed(pairing.toSas, 'pairing: both opened → both sas_ready'),
  timed(pairing.toPinned, 'pairing: both confirmed → both pinned'),
  { metric: 'pairing: relay requests per pairing (both sides)', median: pairing.requestsPerPairing, unit: 'requests', note: Object.entries(pairing.requestsByKind).map(([kind, count]) => `${kind} ${count}`).join(', ') },
  timed(wanPairing.open, `pairing, ${WAN_ROUND_TRIP_MS} ms round trip: host opens + guest joins`, `${WAN_PAIRINGS} pairings, delay added in the clients' fetch`),
  timed(wanPairing.toSas, `pairing, ${WAN_ROUND_TRIP_MS} ms round trip: opened → sas_ready`),
  timed(wanPairing.toPinned, `pairing, ${WAN_ROUND_TRIP_MS} ms round trip: confirmed → pinned`),
  timed(wake, 'long-poll wake: write → pending poll returns', `${WAKE_RUNS} runs, global fetch (VS Code's transport)`),
  timed(wakeNodeHttp, 'long-poll wake on node:http: write → pending poll returns', `${WAKE_RUNS} runs, the CLI's and agent-pair mcp's transport`),
  ...(crossWake ? [timed(crossWake, 'long-poll wake across processes on Redis: write via A → poll on B returns', `${WAKE_RUNS} runs, two relay processes on one redis-server`)] : []),
  {
    metric: 'relay capacity: complete pairings per second',
    median: capacity.pairingsPerSecond,
    unit: 'pairings/s',
    note: `${capacity.concurrentPairings} concurrent, ${capacity.pairings} pairings in ${capacity.seconds} s, ${capacity.requestsPerPairing} requests each, ${capacity.relayRequestsPerSecond} requests/s`,
  },
  { metric: '  relay CPU per pairing', median: capacity.relayCpuMsPerPairing, unit: 'ms', note: `relay process at ${Math.round(capacity.relayCpuShare * 100)}% of a core; per request ${capacity.relayUserCpuUsPerRequest} µs user + ${capacity.relaySystemCpuUsPerRequest} µs system` },
  { metric: '  bare Node http, same requests sent as the relay run sent them', median: capacity.bare.requestsPerSecond, unit: 'requests/s', note: `${capacity.requests} requests in ${capacity.bare.seconds} s, ${capacity.bare.cpuMsPerPairingRequests} ms CPU per pairing's worth (per request ${capacity.bare.userCpuUsPerRequest} µs user + ${capacity.bare.systemCpuUsPerRequest} µs system); lanes in host/guest pairs, each poll after the peer's write` },
  ratio('  relay / bare (same requests, same order)', capacity.bare.throughputRatio, RELAY_TARGET, `time, summed over ${capacity.sliceRatios.length} slices of the run, each replayed at once (slices ${Math.min(...capacity.sliceRatios)}–${Math.max(...capacity.sliceRatios)}); ${capacity.bare.cpuRatio}× CPU, the relay ${relayExtraCpuUs} µs more per request`),
  { metric: '  bare Node http, same requests back to back', median: capacity.backToBack.requestsPerSecond, unit: 'requests/s', note: `${capacity.backToBack.seconds} s, ${capacity.backToBack.cpuMsPerPairingRequests} ms CPU per pairing's worth (per request ${capacity.backToBack.userCpuUsPerRequest} µs user + ${capacity.backToBack.systemCpuUsPerRequest} µs system); every lane without waits, the cheaper pattern` },
  { metric: '  relay / bare back to back', median: capacity.backToBack.throughputRatio, unit: '× time', note: `${capacity.backToBack.cpuRatio}× CPU; not the target's baseline: the bare server is sent the requests faster than the relay run sent them` },
  ...capacity.engines.flatMap((engine) => {
    const name = ENGINE_NAMES[engine.engine] ?? engine.engine;
    return [
      { metric: `relay capacity on the ${name} engine (one process)`, median: engine.pairingsPerSecond, unit: 'pairings/s', note: `${Math.round(engine.shareOfMemory * 100)}% of the memory engine, ${engine.pairings} pairings in ${engine.seconds} s${engine.engine === 'sqlite' ? ' (pair slots live in memory on SQLite too)' : ''}` },
      { metric: `  relay CPU per pairing on ${name}`, median: engine.relayCpuMsPerPairing, unit: 'ms', note: `relay process at ${Math.round(engine.relayCpuShare * 100)}% of a core${engine.engine === 'redis' ? ' (redis-server not counted)' : ''}` },
    ];
  }),
  timed(delivery.toReader, 'message: send → delivered to a waiting reader', `${DELIVERY_RUNS} messages, seal + POST → long poll, AuthOpen, checks, stored, acknowledged; global fetch (VS Code's transport)`),
  timed(delivery.toReceipt, 'message: send → receipt back (delivered)', 'the reader hands each message over at once'),
  timed(delivery.wakeWithReader, '  long-poll wake, in turns with the messages to a reader', `${delivery.wakeWithReader.runs} runs, same relay and transport: the baseline of the ratio below`),
  ratio('  send → waiting reader / long-poll wake', delivery.toReader.medianMs / delivery.wakeWithReader.medianMs, TO_READER_TARGET, 'p50s, sampled in turns'),
  timed(delivery.wakeWithReceipt, '  long-poll wake, in turns with the receipted messages', `${delivery.wakeWithReceipt.runs} runs: the baseline of the ratio below`),
  ratio('  send → receipt back / long-poll wake', delivery.toReceipt.medianMs / delivery.wakeWithReceipt.medianMs, TO_RECEIPT_TARGET, 'p50s, sampled in turns'),
  timed(deliveryNodeHttp.toReader, 'message on node:http: send → delivered to a waiting reader', `${DELIVERY_RUNS} messages, both sides on node:http (the CLI's and agent-pair mcp's transport)`),
  timed(deliveryNodeHttp.toReceipt, 'message on node:http: send → receipt back (delivered)', 'the reader hands each message over at once'),
  timed(deliveryNodeHttp.wakeWithReader, '  long-poll wake on node:http, in turns with the messages to a reader', `${deliveryNodeHttp.wakeWithReader.runs} runs, same relay and transport: the baseline of the ratio below`),
  ratio('  node:http: send → waiting reader / long-poll wake on node:http', deliveryNodeHttp.toReader.medianMs / deliveryNodeHttp.wakeWithReader.medianMs, TO_READER_TARGET, 'p50s, sampled in turns'),
  timed(deliveryNodeHttp.wakeWithReceipt, '  long-poll wake on node:http, in turns with the receipted messages', `${deliveryNodeHttp.wakeWithReceipt.runs} runs: the baseline of the ratio below`),
  ratio('  node:http: send → receipt back / long-poll wake on node:http', deliveryNodeHttp.toReceipt.medianMs / deliveryNodeHttp.wakeWithReceipt.medianMs, TO_RECEIPT_TARGET, 'p50s, sampled in turns'),
  timed(push.channelPush, 'push: send → claude/channel notification at the MCP client', `${PUSH_RUNS} messages from an agent-rule peer, receiving server, real SDK client`),
  timed(push.waitingRead, 'push baseline: send → a waiting inbox_read returns', `${PUSH_RUNS} messages, interleaved with the pushes`),
  ratio('  channel push / waiting inbox_read', push.ratio, PUSH_TARGET, 'p50s, same run'),
  timed(versions.v1Send, 'message v1 (section 6): send, home on disk', `${versions.v1Send.runs} sends, seal + POST + records, two pairs in turns`),
  timed(versions.v2Send, 'message v2 (section 7): send, home on disk', `×${round(versions.v2Send.medianMs / versions.v1Send.medianMs)} of v1: key spent under the lock, top-up secrets kept, signed`),
  timed(versions.v1Read, 'message v1 (section 6): read, home on disk', `${versions.v1Read.runs} reads, one message waiting: open, checks, stored, acknowledged`),
  timed(versions.v2Read, 'message v2 (section 7): read, home on disk', `×${round(versions.v2Read.medianMs / versions.v1Read.medianMs)} of v1: signature verified, one-time secret deleted, pool updated`),
  { metric: `relay messages/s at ${MESSAGE_BYTES / 1024} KiB (memory engine)`, median: messages.messagesPerSecond, unit: 'messages/s', note: `${messages.senders} senders, ${messages.messages} in ${messages.seconds} s, ${messages.relayCpuMsPerMessage} ms relay CPU each` },
  { metric: `relay messages/s at ${MESSAGE_BYTES / 1024} KiB (SQLite engine)`, median: sqliteMessages.messagesPerSecond, unit: 'messages/s', note: `${sqliteMessages.messages} in ${sqliteMessages.seconds} s, ${sqliteMessages.relayCpuMsPerMessage} ms relay CPU each, each committed (WAL, synchronous=FULL) before its 201` },
  timed(sqliteCommit, `SQLite store: one ${MESSAGE_BYTES / 1024} KiB message committed`, `${SQLITE_COMMITS} posts in-process, no HTTP, node-sqlite3-wasm, WAL, synchronous=FULL`),
  ...(redisMessages ? [{ metric: `relay messages/s at ${MESSAGE_BYTES / 1024} KiB (Redis engine)`, median: redisMessages.messagesPerSecond, unit: 'messages/s', note: `${redisMessages.messages} in ${redisMessages.seconds} s, ${redisMessages.relayCpuMsPerMessage} ms relay CPU each` }] : []),
  { metric: 'relay memory per open slot (waiting for guest)', median: memory.openedBytesPerSlot, unit: 'bytes', note: `heap with ${memory.slots} slots minus empty, after GC` },
  { metric: 'relay memory per slot mid-exchange (commits, pakes)', median: memory.exchangingBytesPerSlot, unit: 'bytes' },
  { metric: `relay memory per queued ${MESSAGE_BYTES / 1024} KiB message`, median: memory.bytesPerQueuedMessage, unit: 'bytes', note: `${memory.queuedMessages} queued in one inbox, memory engine` },
  ...(extension.built
    ? [
        { metric: 'extension bundle dist/extension.cjs', median: extension.bundleBytes, unit: 'bytes', note: `${extension.bundleGzipBytes} gzipped` },
        timed(extension.moduleLoad, 'extension: module load (require)', `fresh process, ${extension.moduleLoad.runs} runs`),
        ratio('  extension module load / node -e 0', extension.moduleLoad.medianMs / cliStart.nodeStart.medianMs, EXTENSION_LOAD_TARGET, 'medians, same run'),
        extension.activate
          ? timed(extension.activate, 'extension: activate() against a vscode stub', 'not an extension host: the stub answers at once')
          : { metric: 'extension: activate() against a vscode stub', median: 'failed', unit: '', note: extension.activateError ?? '' },
        { metric: 'extension window bundle dist/extension-window.cjs', median: extension.windowBundleBytes, unit: 'bytes', note: 'loaded once activation is over' },
        ...(extension.windowLoad && extension.windowOpen
          ? [
              timed(extension.windowLoad, 'extension: window bundle load, first start of a build', `fresh process, ${extension.windowLoad.runs} runs: compiled, no code cache yet`),
              plainRatio('  window bundle load, first start / node -e 0', extension.windowLoad.medianMs / cliStart.nodeStart.medianMs, 'medians, same run; after activation, so not the target above'),
              ...(extension.windowLoadCached
                ? [
                    timed(extension.windowLoadCached, 'extension: window bundle load, later starts', 'V8 code cache from a start before'),
                    plainRatio('  window bundle load, later starts / node -e 0', extension.windowLoadCached.medianMs / cliStart.nodeStart.medianMs, 'medians, same run; after activation, so not the target above'),
                  ]
                : []),
              timed(extension.windowOpen, 'extension: the window opens (openWindow) against the stub', 'store, runners, messaging; the first pull starts here'),
              ...(extension.codeCacheSave ? [timed(extension.codeCacheSave, 'extension: code cache written, first start of a build', 'after the window opened')] : []),
            ]
          : []),
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
writeFileSync(output, `${JSON.stringify({ meta, rows, details: { cliStart, joining, crypto, pairing, wanPairing, wake, wakeNodeHttp, crossWake, capacity, delivery, deliveryNodeHttp, push, messages, sqliteMessages, sqliteCommit, redisMessages, memory, extension } }, null, 2)}\n`);
console.log(`\nwritten to ${output}`);
