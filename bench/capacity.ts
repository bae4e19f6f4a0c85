// Relay capacity: complete pairings per second with many pairings in flight, the relay in its
// own process. The clients replay protocol messages computed once (real SPAKE2 messages and
// their commitments, a real sealed bootstrap): the relay checks each pake against its commit,
// and nothing ties those values to a pair_id, so no client crypto shares a core with the relay.
//
// Each pairing is what two clients send: host opens, guest joins, then each side in turn
// writes commit, pake, confirm and bootstrap and long-polls (GET ?after=V&wait=25) until the
// peer's matching field is there, then writes done. Every side has its own keep-alive
// connection, reused from one pairing to the next.
//
// Next to it, in the same run, a bare Node `http` server (its own process too) answers the same
// requests (the same kinds, counts and bodies on the same number of connections from the same
// addresses, each with a trivial JSON answer), which is the floor for any Node HTTP server on
// this machine. It is sent them twice (see replay):
// - paired, the baseline of issue 20's target: as the relay run sent them, lanes in host/guest
//   pairs, a join only once its open is answered, and each poll that waited on the relay for
//   the peer's write sent only once the bare server answered that write, so the bare server
//   meets the same chain of waits (two round trips per step after the later of the two writes)
//   and the same trickle of requests the relay did.
// - back to back, the baseline before: every lane sends its next request the moment the last
//   is answered, with no waits. The bare server is never short of work, so its time for the
//   same requests is shorter than any server's could be when sent them as the relay was; the
//   row stays in the table so the change of baseline is visible.
// Both rows show CPU per request, user (the server's own code) and system (the kernel's, for
// its sockets): time ratios move with the machine's load (other processes take the cores), CPU
// per request less so.
// On the memory engine the relay and the bare server run side by side, and the run goes in
// slices of SLICE_SECONDS: a slice of the relay run, then at once the bare server's paired replay
// of that slice, and so on; the target's ratio is the relay's time over the bare server's summed
// over the slices. Each server then meets the machine as it was a second apart, not eight. The
// other engines' runs go in the same slices, so their rates compare with the memory engine's.
// Each server is measured warm: the relay after 3 s of the same load, the bare server after the
// paired replay of those 3 s. A 1 s warm-up left the relay's JIT compiling through the first two
// seconds of the measured run (see RELAY_WARM_UP_SECONDS), so the row counted start-up that a
// running relay never pays again.
// With other stores (sqlite:PATH, redis://…), the same run also goes against a relay process on
// each (pair slots live in memory on the SQLite engine too, so it should match the memory engine).
// Run directly: node --import tsx bench/capacity.ts [concurrent pairings] [seconds] [STORE…]

import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { toBase64, utf8 } from '../src/core/bytes.js';
import { codeHash } from '../src/core/codePhrase.js';
import { canonicalJson, createCard } from '../src/core/identity.js';
import { pakeCommitment, sealBootstrap, spake2Entropy } from '../src/core/keySchedule.js';
import type { PairField, Role } from '../src/core/ports.js';
import { spake2Start } from '../src/core/spake2.js';
import { routePath } from '../src/relay/contract.js';
import { type ServerProcess, startServerProcess } from './processes.js';
import { RawConnection, type RawResponse, requestText } from './rawHttp.js';
import type { ServerKind } from './serverProcess.js';
import { yieldToEventLoop } from './stats.js';

export interface CapacityBench {
  /** The same run against a relay process on each other store given (its engine: sqlite, redis). */
  engines: { engine: string; pairings: number; seconds: number; pairingsPerSecond: number; relayCpuMsPerPairing: number; relayCpuShare: number; shareOfMemory: number }[];
  concurrentPairings: number;
  seconds: number;
  pairings: number;
  pairingsPerSecond: number;
  requests: number;
  requestsPerPairing: number;
  relayRequestsPerSecond: number;
  /** CPU time of the relay process per pairing: the cost, whoever was the bottleneck. */
  relayCpuMsPerPairing: number;
  /** Share of one core the relay process used during the run. */
  relayCpuShare: number;
  /** The relay's CPU per request in its own code (user mode) and in the kernel on its behalf (system), in µs. */
  relayUserCpuUsPerRequest: number;
  relaySystemCpuUsPerRequest: number;
  /** The bare server sent the relay run's requests as the relay run sent them (replay order `paired`): the target's baseline. */
  bare: BareRow;
  /** Each slice's relay / bare time ratio, in the order run (SLICE_SECONDS); `bare.throughputRatio` is that of their sums. */
  sliceRatios: number[];
  /** The same requests sent the bare server back to back (replay order `backToBack`), the cheaper pattern the ratio was taken against before. */
  backToBack: BareRow;
}

/** The bare server's replay of the relay run's requests, and the relay against it. */
export interface BareRow {
  seconds: number;
  requestsPerSecond: number;
  /** CPU time of the bare server for one pairing's worth of requests. */
  cpuMsPerPairingRequests: number;
  cpuShare: number;
  /** The relay's time for its run over the bare server's for the same requests (1 = the relay costs nothing more). */
  throughputRatio: number;
  /** Relay CPU over bare-server CPU for the same requests. */
  cpuRatio: number;
  /** The bare server's CPU per request, user and system, in µs. */
  userCpuUsPerRequest: number;
  systemCpuUsPerRequest: number;
}

/** What each request is, so the bare server can be sent the same ones: open, join, a write, a poll. */
type Kind = 'open' | 'join' | Exclude<PairField, 'abort'> | 'poll';
const EXCHANGED = ['commit', 'pake', 'confirm', 'bootstrap'] as const;

/** The JSON bodies of one role's writes, computed once. */
type WriteBodies = Record<PairField, string>;

function precomputeWrites(): Record<Role, WriteBodies> {
  const code = '47-UE2BZG';
  const pairId = randomBytes(16).toString('hex');
  const hash = codeHash(code);
  const card = createCard('alice', randomBytes(32), '2026-11-25T00:00:00Z');
  const payload = utf8(canonicalJson({ v: 1, card, relay_url: 'http://127.0.0.1:8771', slot_id: randomBytes(16).toString('hex'), send_token: randomBytes(32).toString('hex') }));
  const side = (role: Role): WriteBodies => {
    const pake = spake2Start(utf8(code), utf8(pairId), spake2Entropy(randomBytes(32))).message;
    const values: Record<PairField, string> = {
      commit: pakeCommitment(pake),
      pake: toBase64(pake),
      confirm: toBase64(randomBytes(32)),
      bootstrap: sealBootstrap(randomBytes(32), hash, role, pairId, payload, randomBytes(12)),
      abort: 'unused',
      done: '1',
    };
    const bodies = {} as WriteBodies;
    for (const [field, value] of Object.entries(values) as [PairField, string][]) bodies[field] = JSON.stringify({ value });
    return bodies;
  };
  return { host: side('host'), guest: side('guest') };
}

/** One side's connection plus the kinds of request it sent, in order. */
interface Lane {
  connection: RawConnection;
  kinds: Kind[];
}

async function send(lane: Lane, kind: Kind, text: string, expected: number): Promise<RawResponse> {
  lane.kinds.push(kind);
  const response = await lane.connection.request(text);
  if (response.status !== expected) throw new Error(`${kind} answered ${response.status} instead of ${expected}: ${response.body.slice(0, 200)}`);
  return response;
}

const VERSION = /^\{"version":(\d+)/;

/** Whether a slot view lists `field` under `peer` (`peer` is the view's last member). */
function peerHas(body: string, field: PairField): boolean {
  const peerAt = body.indexOf('"peer":');
  return peerAt >= 0 && body.indexOf(`"${field}":`, peerAt) >= 0;
}

async function runSide(lane: Lane, pairId: string, token: string, writes: WriteBodies): Promise<void> {
  // Versions as the session counts them: the last one seen, plus one for each own write.
  let version = 0;
  for (const field of EXCHANGED) {
    await send(lane, field, requestText('PUT', routePath('pairField', { pair_id: pairId, field }), token, writes[field]), 204);
    version++;
    for (;;) {
      const view = await send(lane, 'poll', requestText('GET', routePath('pairSlot', { pair_id: pairId }, { after: version, wait: 25 }), token), 200);
      version = Number(VERSION.exec(view.body)?.[1] ?? Number.NaN);
      if (peerHas(view.body, field)) break;
    }
  }
  await send(lane, 'done', requestText('PUT', routePath('pairField', { pair_id: pairId, field: 'done' }), token, writes.done), 204);
}

const HOST_OPEN = requestText('POST', routePath('pair'), undefined, '{"role":"host"}');

async function runPairing(host: Lane, guest: Lane, writes: Record<Role, WriteBodies>): Promise<void> {
  const opened = JSON.parse((await send(host, 'open', HOST_OPEN, 201)).body) as { pair_id: string; nameplate: string; token: string };
  const joinBody = JSON.stringify({ role: 'guest', nameplate: opened.nameplate });
  const joined = JSON.parse((await send(guest, 'join', requestText('POST', routePath('pair'), undefined, joinBody), 201)).body) as { token: string };
  await Promise.all([runSide(host, opened.pair_id, opened.token, writes.host), runSide(guest, opened.pair_id, joined.token, writes.guest)]);
}

/**
 * A loopback source address per lane, so the relay's per-address rate limiter sees many
 * clients with a few opens each, as in real use, instead of one address with every open of the
 * run (whose sliding window would then dominate the relay's work).
 */
function laneAddress(lane: number): string {
  return `127.0.${1 + Math.floor(lane / 250)}.${1 + (lane % 250)}`;
}

/** Runs `concurrent` pairing loops until `seconds` pass; returns the pairings completed and each lane's request kinds. */
async function drive(port: number, concurrent: number, seconds: number, writes: Record<Role, WriteBodies>): Promise<{ pairings: number; elapsedMs: number; lanes: Lane[] }> {
  const lanes: Lane[] = [];
  for (let i = 0; i < concurrent * 2; i++) lanes.push({ connection: await RawConnection.open(port, laneAddress(i)), kinds: [] });
  let pairings = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrent }, async (_, worker) => {
      const host = lanes[worker * 2]!;
      const guest = lanes[worker * 2 + 1]!;
      while (performance.now() < deadline) {
        await runPairing(host, guest, writes);
        pairings++;
      }
    }),
  );
  const elapsedMs = performance.now() - started;
  for (const lane of lanes) lane.connection.close();
  return { pairings, elapsedMs, lanes };
}

/** The request text the bare server is sent for each kind (it answers every one the same). */
function bareTexts(writes: Record<Role, WriteBodies>): Record<Kind, string> {
  const pairId = randomBytes(16).toString('hex');
  const token = randomBytes(32).toString('hex');
  return {
    open: HOST_OPEN,
    join: requestText('POST', routePath('pair'), undefined, '{"role":"guest","nameplate":"4711"}'),
    commit: requestText('PUT', routePath('pairField', { pair_id: pairId, field: 'commit' }), token, writes.host.commit),
    pake: requestText('PUT', routePath('pairField', { pair_id: pairId, field: 'pake' }), token, writes.host.pake),
    confirm: requestText('PUT', routePath('pairField', { pair_id: pairId, field: 'confirm' }), token, writes.host.confirm),
    bootstrap: requestText('PUT', routePath('pairField', { pair_id: pairId, field: 'bootstrap' }), token, writes.host.bootstrap),
    done: requestText('PUT', routePath('pairField', { pair_id: pairId, field: 'done' }), token, writes.host.done),
    poll: requestText('GET', routePath('pairSlot', { pair_id: pairId }, { after: 12, wait: 25 }), token),
  };
}

/** How the bare server is sent a run's requests. */
export type ReplayOrder = 'paired' | 'backToBack';

async function bareRequest(connection: RawConnection, text: string): Promise<void> {
  const response = await connection.request(text);
  if (response.status !== 200) throw new Error(`the bare server answered ${response.status}`);
}

/** The kinds of one lane cut into pairings (each starts with its open or join). */
function pairingsOf(kinds: readonly Kind[]): Kind[][] {
  const pairings: Kind[][] = [];
  for (const kind of kinds) {
    if (kind === 'open' || kind === 'join') pairings.push([]);
    pairings.at(-1)?.push(kind);
  }
  return pairings;
}

/** A promise per pair field, resolved once that field's write has been answered. */
class WritesAnswered {
  private readonly answered = new Map<Kind, { promise: Promise<void>; resolve: () => void }>();

  of(field: Kind): { promise: Promise<void>; resolve: () => void } {
    let entry = this.answered.get(field);
    if (!entry) {
      let resolve = (): void => undefined;
      const promise = new Promise<void>((done) => {
        resolve = done;
      });
      entry = { promise, resolve };
      this.answered.set(field, entry);
    }
    return entry;
  }
}

/**
 * One side of one pairing against the bare server, with the relay's waits: a write goes once the
 * side's previous request was answered, and the poll that (in the relay run) ended its field's
 * polling, the one the relay held until the peer's write of that field came, goes only once
 * the bare server has answered the peer's write of that field.
 */
async function replaySide(connection: RawConnection, kinds: readonly Kind[], texts: Record<Kind, string>, own: WritesAnswered, peer: WritesAnswered): Promise<void> {
  let field: Kind | undefined;
  for (const [index, kind] of kinds.entries()) {
    if (kind === 'poll') {
      if (field !== undefined && kinds[index + 1] !== 'poll') await peer.of(field).promise;
    } else {
      field = kind;
    }
    await bareRequest(connection, texts[kind]);
    if (kind !== 'poll') own.of(kind).resolve();
  }
}

/**
 * Sends the bare server, on as many connections from the same addresses, the requests each lane
 * sent the relay, in one of two orders:
 * - `paired`: as the relay run sent them. Lanes go in host/guest pairs, pairing after pairing:
 *   the host's open, then the guest's join once it is answered, then both sides, each waiting
 *   where it waited on the relay (replaySide), and the next open once both sides' done is
 *   answered. The bare server then sees the arrival pattern the relay saw: requests trickling
 *   in as the peers answer each other.
 * - `backToBack`: every lane sends its next request the moment the last one is answered, no
 *   waits: the bare server is never short of work, and takes less time than any server sent the
 *   requests as the relay run sent them could.
 */
async function replay(port: number, lanes: readonly Lane[], writes: Record<Role, WriteBodies>, order: ReplayOrder): Promise<number> {
  const texts = bareTexts(writes);
  const connections = await Promise.all(lanes.map((_, i) => RawConnection.open(port, laneAddress(i))));
  const started = performance.now();
  if (order === 'backToBack') {
    await Promise.all(
      lanes.map(async (lane, i) => {
        for (const kind of lane.kinds) await bareRequest(connections[i]!, texts[kind]);
      }),
    );
  } else {
    await Promise.all(
      Array.from({ length: lanes.length / 2 }, async (_, worker) => {
        const host = connections[worker * 2]!;
        const guest = connections[worker * 2 + 1]!;
        const hostPairings = pairingsOf(lanes[worker * 2]!.kinds);
        const guestPairings = pairingsOf(lanes[worker * 2 + 1]!.kinds);
        for (const [index, hostKinds] of hostPairings.entries()) {
          const guestKinds = guestPairings[index] ?? [];
          await bareRequest(host, texts.open);
          await bareRequest(guest, texts.join);
          const hostWrites = new WritesAnswered();
          const guestWrites = new WritesAnswered();
          await Promise.all([replaySide(host, hostKinds.slice(1), texts, hostWrites, guestWrites), replaySide(guest, guestKinds.slice(1), texts, guestWrites, hostWrites)]);
        }
      }),
    );
  }
  const elapsedMs = performance.now() - started;
  for (const connection of connections) connection.close();
  return elapsedMs;
}

/** CPU a server process spent across a measured run, in ms: all of it, and the user part. */
interface ServerCpu {
  cpuMs: number;
  userCpuMs: number;
}

/**
 * Starts a server process, warms it up (JIT, connection setup), then runs `measured` against it:
 * what that returned and the CPU the process spent across it alone. The process is closed after.
 */
async function measuredServer<T>(kind: ServerKind, store: string | undefined, warmUp: (port: number) => Promise<unknown>, measured: (port: number) => Promise<T>): Promise<{ result: T } & ServerCpu> {
  const server = await startServerProcess(kind, store);
  try {
    await warmUp(server.port);
    return await cpuAcross(server, () => measured(server.port));
  } finally {
    await server.close();
  }
}

/**
 * How long a relay process is driven before it is measured: until the JIT has compiled its hot
 * code. After the 1 s this was, the relay's optimizing compiler still ran for the next two seconds
 * of the measured run (230 ms of CPU, `perf record` of the relay process), and its CPU per request
 * over 2 s segments was higher in the first segment than in any later one (23 to 35 µs against
 * 18 to 24 µs, seven runs): the row measured part of its start-up. The bare server is warmed
 * with the replay of the same seconds, so both are measured warm.
 */
const RELAY_WARM_UP_SECONDS = 3;

/** Drives a relay process for `seconds` in slices after a warm-up of RELAY_WARM_UP_SECONDS; the run and the relay's CPU time. */
async function measureRelay(store: string | undefined, concurrent: number, seconds: number, writes: Record<Role, WriteBodies>): Promise<{ run: DriveResult; relayCpuMs: number; relayUserCpuMs: number }> {
  const { result: run, cpuMs, userCpuMs } = await measuredServer(
    'relay',
    store,
    (port) => drive(port, concurrent, RELAY_WARM_UP_SECONDS, writes),
    async (port) => {
      const slices: DriveResult[] = [];
      for (let slice = 0; slice < sliceCount(seconds); slice++) slices.push(await drive(port, concurrent, seconds / sliceCount(seconds), writes));
      return joinRuns(slices);
    },
  );
  return { run, relayCpuMs: cpuMs, relayUserCpuMs: userCpuMs };
}

/**
 * About how long each slice of a run is, in seconds (see sliceCount). As whole runs (8 s of the
 * relay, then the bare server's replay of them), the ratio of three rounds of one build spread
 * from 1.02 to 1.81 in one bench: the bare server's time for the same requests moved by two
 * fifths from one round to the next, the shared machine faster or slower for seconds at a time.
 * A slice of about a second keeps the two servers a second apart. Shorter slices would spend
 * more of each in its drain (the last pairings finishing, fewer at a time), about an eighth of
 * a second per slice here.
 */
const SLICE_SECONDS = 1;

/** How many slices a run of `seconds` is cut into. */
function sliceCount(seconds: number): number {
  return Math.max(1, Math.round(seconds / SLICE_SECONDS));
}

type DriveResult = Awaited<ReturnType<typeof drive>>;

/** Slices of one run over the same lanes as one run: pairings and time summed, each lane's kinds in order. */
function joinRuns(slices: readonly DriveResult[]): DriveResult {
  return {
    pairings: slices.reduce((total, slice) => total + slice.pairings, 0),
    elapsedMs: slices.reduce((total, slice) => total + slice.elapsedMs, 0),
    lanes: slices[0]!.lanes.map((lane, index) => ({ connection: lane.connection, kinds: slices.flatMap((slice) => slice.lanes[index]!.kinds) })),
  };
}

/** The CPU a server process spent while `measured` ran, and what it returned. */
async function cpuAcross<T>(server: ServerProcess, measured: () => Promise<T>): Promise<{ result: T } & ServerCpu> {
  await yieldToEventLoop();
  const before = await server.usage();
  const result = await measured();
  const after = await server.usage();
  return { result, cpuMs: after.cpuMs - before.cpuMs, userCpuMs: after.userCpuMs - before.userCpuMs };
}

/**
 * The memory engine's relay and the bare server, each in its own process and warm, sent the
 * run's load slice by slice in turns (SLICE_SECONDS): each slice of the relay run, then the paired
 * replay of it. The run and both servers' time and CPU, summed over the slices.
 */
async function measureInterleaved(
  concurrent: number,
  seconds: number,
  writes: Record<Role, WriteBodies>,
): Promise<{ run: DriveResult; relayCpuMs: number; relayUserCpuMs: number; bare: { ms: number } & ServerCpu; sliceRatios: number[] }> {
  const relay = await startServerProcess('relay');
  try {
    const bare = await startServerProcess('bare');
    try {
      const warmUp = await drive(relay.port, concurrent, RELAY_WARM_UP_SECONDS, writes);
      await replay(bare.port, warmUp.lanes, writes, 'paired');
      const slices: { run: DriveResult; relay: ServerCpu; bare: { ms: number } & ServerCpu }[] = [];
      for (let slice = 0; slice < sliceCount(seconds); slice++) {
        const { result: run, ...relayCpu } = await cpuAcross(relay, () => drive(relay.port, concurrent, seconds / sliceCount(seconds), writes));
        const { result: ms, ...bareCpu } = await cpuAcross(bare, () => replay(bare.port, run.lanes, writes, 'paired'));
        slices.push({ run, relay: relayCpu, bare: { ms, ...bareCpu } });
      }
      const sum = (of: (slice: (typeof slices)[number]) => number): number => slices.reduce((total, slice) => total + of(slice), 0);
      return {
        run: joinRuns(slices.map((slice) => slice.run)),
        relayCpuMs: sum((slice) => slice.relay.cpuMs),
        relayUserCpuMs: sum((slice) => slice.relay.userCpuMs),
        bare: { ms: sum((slice) => slice.bare.ms), cpuMs: sum((slice) => slice.bare.cpuMs), userCpuMs: sum((slice) => slice.bare.userCpuMs) },
        sliceRatios: slices.map((slice) => slice.run.elapsedMs / slice.bare.ms),
      };
    } finally {
      await bare.close();
    }
  } finally {
    await relay.close();
  }
}

/** A fresh bare server, warmed with the run's first pairings, sent the whole run's requests back to back. */
async function measureBackToBack(lanes: readonly Lane[], writes: Record<Role, WriteBodies>): Promise<{ ms: number } & ServerCpu> {
  const warmUp = lanes.map((lane) => ({ ...lane, kinds: pairingsOf(lane.kinds).slice(0, BACK_TO_BACK_WARM_UP_PAIRINGS).flat() }));
  const { result: ms, ...cpu } = await measuredServer(
    'bare',
    undefined,
    (port) => replay(port, warmUp, writes, 'backToBack'),
    (port) => replay(port, lanes, writes, 'backToBack'),
  );
  return { ms, ...cpu };
}
/** Pairings per lane warming the back-to-back bare server (JIT, connections): about the relay's warm-up in requests. */
const BACK_TO_BACK_WARM_UP_PAIRINGS = 30;

export async function benchCapacity(concurrent = 100, seconds = 8, stores: readonly string[] = []): Promise<CapacityBench> {
  const writes = precomputeWrites();
  const { run, relayCpuMs, relayUserCpuMs, bare, sliceRatios } = await measureInterleaved(concurrent, seconds, writes);
  const backToBack = await measureBackToBack(run.lanes, writes);
  const others: { store: string; measured: Awaited<ReturnType<typeof measureRelay>> }[] = [];
  for (const store of stores) others.push({ store, measured: await measureRelay(store, concurrent, seconds, writes) });
  const requests = run.lanes.reduce((sum, lane) => sum + lane.kinds.length, 0);

  const memoryRate = run.pairings / (run.elapsedMs / 1000);
  const bareRow = (measured: { ms: number } & ServerCpu): BareRow => ({
    seconds: round(measured.ms / 1000),
    requestsPerSecond: round(requests / (measured.ms / 1000), 0),
    cpuMsPerPairingRequests: round(measured.cpuMs / run.pairings, 3),
    cpuShare: round(measured.cpuMs / measured.ms),
    throughputRatio: round(run.elapsedMs / measured.ms),
    cpuRatio: round(relayCpuMs / measured.cpuMs),
    userCpuUsPerRequest: round((measured.userCpuMs * 1000) / requests, 1),
    systemCpuUsPerRequest: round(((measured.cpuMs - measured.userCpuMs) * 1000) / requests, 1),
  });
  return {
    engines: others.map(({ store, measured }) => ({
      engine: store.startsWith('sqlite:') ? 'sqlite' : 'redis',
      pairings: measured.run.pairings,
      seconds: round(measured.run.elapsedMs / 1000),
      pairingsPerSecond: round(measured.run.pairings / (measured.run.elapsedMs / 1000), 0),
      relayCpuMsPerPairing: round(measured.relayCpuMs / measured.run.pairings, 3),
      relayCpuShare: round(measured.relayCpuMs / measured.run.elapsedMs),
      shareOfMemory: round(measured.run.pairings / (measured.run.elapsedMs / 1000) / memoryRate),
    })),
    concurrentPairings: concurrent,
    seconds: round(run.elapsedMs / 1000),
    pairings: run.pairings,
    pairingsPerSecond: round(run.pairings / (run.elapsedMs / 1000), 0),
    requests,
    requestsPerPairing: round(requests / run.pairings, 1),
    relayRequestsPerSecond: round(requests / (run.elapsedMs / 1000), 0),
    relayCpuMsPerPairing: round(relayCpuMs / run.pairings, 3),
    relayCpuShare: round(relayCpuMs / run.elapsedMs),
    relayUserCpuUsPerRequest: round((relayUserCpuMs * 1000) / requests, 1),
    relaySystemCpuUsPerRequest: round(((relayCpuMs - relayUserCpuMs) * 1000) / requests, 1),
    bare: bareRow(bare),
    sliceRatios: sliceRatios.map((ratio) => round(ratio)),
    backToBack: bareRow(backToBack),
  };
}

/** `value` rounded to `places` decimals, for the table. */
function round(value: number, places = 2): number {
  return Math.round(value * 10 ** places) / 10 ** places;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await benchCapacity(Number(process.argv[2] ?? 100), Number(process.argv[3] ?? 8), process.argv.slice(4)), null, 2));
}
