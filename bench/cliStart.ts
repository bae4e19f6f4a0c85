// CLI start-up against Node's own: each run spawns `node -e 0` and then each measured command
// of the built dist/cli.cjs (package.json's bin), interleaved, so a loaded machine slows them
// alike and the ratio (median of the command / median of `node -e 0`) stays put. Measured from
// spawn to exit for `--version`, `--help` and `peers`; for `send`, from spawn to the moment the
// peer's relay accepts its first connection (a bare TCP listener stands in for the relay, so
// what is timed is the process up to opening the network, not the relay's answer), and, a row
// without a target, to the first byte of its request on that connection: `send` opens the
// connection as soon as it has read which relay the peer has (relay/transport.ts connectAhead),
// and sends the request once the message is sealed and its number and key are on disk.
// A command's group is compiled through V8's code cache, which each command writes once its
// first run of a build is over (src/cli/groupBundles.ts), here in a cache directory of the
// bench's own ($XDG_CACHE_HOME): the target rows are the later starts of a build, so one `send`
// runs to its end before the runs, as `peers`'s warm-up runs do. The first start of a build, with
// no cache, is a row of its own without a target: a fresh cache directory at each of its runs.
// Run directly: node --import tsx bench/cliStart.ts [runs]

import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { type Server, type Socket, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { CLI, pairCliHomes } from '../test/helpers/cli.js';
import { startServerProcess } from './processes.js';
import { type Summary, summarize } from './stats.js';

export interface CliStartRow {
  command: string;
  /** Whether issue 20's start-up target applies (not to the first start of a build, nor to the request's first byte). */
  targeted: boolean;
  /** What a row without a target shows. */
  note?: string;
  summary: Summary;
  /** Median of this command over the median of `node -e 0`, same run. */
  ratio: number;
}

export interface CliStartBench {
  nodeStart: Summary;
  commands: CliStartRow[];
  bundleBytes: number;
  /**
   * Where the environment sets NODE_EXTRA_CA_CERTS (this machine does, to its whole CA bundle),
   * Node parses those certificates at every start, `node -e 0` included: the target rows'
   * baseline is then that much slower. `node -e 0` and send measured again without it, in turns
   * with the others, show the CLI against a plain Node's start.
   */
  withoutExtraCaCerts?: { certificateBytes: number; nodeStart: Summary; send: Summary; ratio: number };
}

const WARM_UP_RUNS = 2;
const ENV = { ...process.env, AGENT_PAIR_HOME: '' };
const EXTRA_CA_CERTS = process.env['NODE_EXTRA_CA_CERTS'];
/** ENV without NODE_EXTRA_CA_CERTS. */
const ENV_WITHOUT_EXTRA_CA_CERTS: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(ENV).filter(([name]) => name !== 'NODE_EXTRA_CA_CERTS'));

/** Spawn → exit, in ms, the CLI's code caches in `cacheHome`; rejects on a non-zero exit. */
function timeToExit(args: string[], cacheHome?: string, env: NodeJS.ProcessEnv = ENV): Promise<number> {
  return new Promise((resolve, reject) => {
    const startedAt = performance.now();
    const child = spawn(process.execPath, args, { env: { ...env, ...(cacheHome !== undefined && { XDG_CACHE_HOME: cacheHome }) }, stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve(performance.now() - startedAt);
      else reject(new Error(`node ${args.join(' ')} exited with ${String(code)}`));
    });
  });
}

/**
 * Spawn → first connection accepted by `listener`, and spawn → the first byte of the request on
 * it, in ms, the CLI's code caches in `cacheHome`; the process is then killed.
 */
function timeToRequest(args: string[], listener: Server, cacheHome: string, env: NodeJS.ProcessEnv = ENV): Promise<{ connectMs: number; requestMs: number }> {
  return new Promise((resolve, reject) => {
    const startedAt = performance.now();
    const child = spawn(process.execPath, args, { env: { ...env, XDG_CACHE_HOME: cacheHome }, stdio: 'ignore' });
    const onConnection = (socket: Socket): void => {
      const connectMs = performance.now() - startedAt;
      socket.once('data', () => {
        const requestMs = performance.now() - startedAt;
        socket.destroy();
        child.kill('SIGKILL');
        child.once('exit', () => {
          resolve({ connectMs, requestMs });
        });
      });
    };
    listener.once('connection', onConnection);
    child.once('exit', (code) => {
      if (listener.listenerCount('connection') === 0) return;
      listener.off('connection', onConnection);
      reject(new Error(`node ${args.join(' ')} exited with ${String(code)} before opening the network`));
    });
  });
}

export async function benchCliStart(runs = 15): Promise<CliStartBench> {
  const dir = mkdtempSync(join(tmpdir(), 'agent-pair-bench-cli-'));
  const relay = await startServerProcess('relay');
  let listener: Server | undefined;
  try {
    const alice = join(dir, 'alice');
    const bob = join(dir, 'bob');
    await pairCliHomes(relay.url, alice, bob);
    // The relay goes; a bare listener on its port records when `send` first opens the network.
    await relay.close();
    const server = createServer();
    listener = server;
    await new Promise<void>((resolve) => server.listen(relay.port, '127.0.0.1', resolve));

    const cacheHome = join(dir, 'cache');
    // Each send starts from a copy of alice's home as pairing left it (copied before the clock
    // starts): a timed send is killed once it opens the network, so its message stays queued,
    // and a send from that home would first post the queued one again (SendRunner flushes the
    // outbox before sealing): the row would time a retry, not a person's send.
    let sendHomes = 0;
    const sendFromCopy = async <T>(time: (args: string[]) => Promise<T>): Promise<T> => {
      const home = join(dir, `send-${sendHomes++}`);
      cpSync(alice, home, { recursive: true });
      try {
        return await time([CLI, 'send', 'bob', 'hello', '--home', home]);
      } finally {
        rmSync(home, { recursive: true, force: true });
      }
    };
    let uncachedRuns = 0;
    /** Each timed send's request, warm-up runs included (left out below). */
    const requestSamples: number[] = [];
    const measured: { command: string; targeted: boolean; note?: string; time: () => Promise<number> }[] = [
      { command: '--version', targeted: true, time: () => timeToExit([CLI, '--version'], cacheHome) },
      { command: '--help', targeted: true, time: () => timeToExit([CLI, '--help'], cacheHome) },
      { command: 'peers', targeted: true, time: () => timeToExit([CLI, 'peers', '--home', alice], cacheHome) },
      {
        command: 'send (to opening the network)',
        targeted: true,
        time: async () => {
          const { connectMs, requestMs } = await sendFromCopy((args) => timeToRequest(args, server, cacheHome));
          requestSamples.push(requestMs);
          return connectMs;
        },
      },
      {
        command: 'send (to opening the network), first start of a build',
        targeted: false,
        note: 'medians; compiles its group, once per build',
        time: async () => (await sendFromCopy((args) => timeToRequest(args, server, join(dir, `no-cache-${uncachedRuns++}`)))).connectMs,
      },
    ];
    // A timed send is killed once it opens the network, before it could keep its code cache:
    // one runs to its end first (the bare listener drops it).
    await sendFromCopy((args) => timeToExit(args, cacheHome));
    const nodeSamples: number[] = [];
    const samples = measured.map(() => [] as number[]);
    const plain = { node: [] as number[], send: [] as number[] };
    for (let i = 0; i < WARM_UP_RUNS + runs; i++) {
      const nodeMs = await timeToExit(['-e', '0']);
      if (i >= WARM_UP_RUNS) nodeSamples.push(nodeMs);
      for (const [index, { time }] of measured.entries()) {
        const ms = await time();
        if (i >= WARM_UP_RUNS) samples[index]!.push(ms);
      }
      if (EXTRA_CA_CERTS === undefined) continue;
      const plainNodeMs = await timeToExit(['-e', '0'], undefined, ENV_WITHOUT_EXTRA_CA_CERTS);
      const plainSendMs = (await sendFromCopy((args) => timeToRequest(args, server, cacheHome, ENV_WITHOUT_EXTRA_CA_CERTS))).connectMs;
      if (i < WARM_UP_RUNS) continue;
      plain.node.push(plainNodeMs);
      plain.send.push(plainSendMs);
    }
    const nodeStart = summarize(nodeSamples);
    let withoutExtraCaCerts: CliStartBench['withoutExtraCaCerts'];
    if (EXTRA_CA_CERTS !== undefined) {
      const plainNode = summarize(plain.node);
      const plainSend = summarize(plain.send);
      withoutExtraCaCerts = { certificateBytes: statSync(EXTRA_CA_CERTS).size, nodeStart: plainNode, send: plainSend, ratio: plainSend.medianMs / plainNode.medianMs };
    }
    return {
      ...(withoutExtraCaCerts && { withoutExtraCaCerts }),
      nodeStart,
      commands: [
        ...measured.map(({ command, targeted, note }, index) => {
          const summary = summarize(samples[index]!);
          return { command, targeted, ...(note !== undefined && { note }), summary, ratio: summary.medianMs / nodeStart.medianMs };
        }),
        requestRow(summarize(requestSamples.slice(WARM_UP_RUNS)), nodeStart),
      ],
      bundleBytes: statSync(CLI).size,
    };
  } finally {
    await relay.close();
    listener?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The timed sends to their request's first byte: no target, shown beside the row that has one. */
function requestRow(summary: Summary, nodeStart: Summary): CliStartRow {
  return {
    command: "send (to its request's first byte)",
    targeted: false,
    note: 'medians; the connection opens once the peer is read from the home, the request once the message is sealed and its number and key are on disk',
    summary,
    ratio: summary.medianMs / nodeStart.medianMs,
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await benchCliStart(Number(process.argv[2] ?? 15)), null, 2));
}
