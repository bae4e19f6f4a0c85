// Child processes for the benchmarks: servers under load (serverProcess.ts) and one-shot
// measurements that need a clean heap or special flags (memoryProcess.ts, activationProcess.ts).
//
// Children run from an esbuild bundle made the way esbuild.mjs makes dist/relay.mjs, not
// through tsx: tsx keeps function names by wrapping every closure in a helper call, which
// costs the relay a few percent per request that the shipped bundle does not pay.

import { type ChildProcess, fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { FromServer, ServerKind, ServerUsage, ToServer } from './serverProcess.js';

/**
 * Out of the way of git and the linter, like other tools' build caches; one per checkout, since
 * worktrees share node_modules and two benches at once must not run each other's bundles.
 */
const CHECKOUT = fileURLToPath(new URL('..', import.meta.url));
const BUNDLE_DIR = new URL(`../node_modules/.cache/agent-pair-bench-${createHash('sha256').update(CHECKOUT).digest('hex').slice(0, 12)}/`, import.meta.url);
const CHILD_ENTRIES = { serverProcess: 'serverProcess.ts', memoryProcess: 'memoryProcess.ts', activationProcess: 'activationProcess.ts' } as const;
type ChildEntry = keyof typeof CHILD_ENTRIES;

let bundled: Promise<void> | undefined;

/** Bundles the child entry points once per run. */
function bundleChildren(): Promise<void> {
  bundled ??= build({
    entryPoints: Object.fromEntries(Object.entries(CHILD_ENTRIES).map(([name, file]) => [name, fileURLToPath(new URL(`./${file}`, import.meta.url))])),
    outdir: fileURLToPath(BUNDLE_DIR),
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    // As in esbuild.mjs: ESM bundles of CommonJS dependencies (ioredis) need a real `require`.
    banner: { js: "import { createRequire as __benchCreateRequire } from 'node:module'; const require = __benchCreateRequire(import.meta.url);" },
    // Loaded from node_modules as it is: it finds its .wasm beside itself (dist/ gets a copy, esbuild.mjs).
    external: ['node-sqlite3-wasm'],
    logLevel: 'warning',
  }).then(() => undefined);
  return bundled;
}

async function forkChild(entry: ChildEntry, args: string[], nodeFlags: string[], stdout: 'inherit' | 'pipe'): Promise<ChildProcess> {
  await bundleChildren();
  return fork(fileURLToPath(new URL(`./${entry}.mjs`, BUNDLE_DIR)), args, { execArgv: nodeFlags, stdio: ['ignore', stdout, 'inherit', 'ipc'] });
}

/**
 * Node flags for the server processes, e.g. `BENCH_SERVER_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof"`
 * to profile the relay under load (Node refuses --cpu-prof in NODE_OPTIONS).
 */
const SERVER_NODE_FLAGS = (process.env['BENCH_SERVER_NODE_FLAGS'] ?? '').split(' ').filter((flag) => flag !== '');

export interface ServerProcess {
  url: string;
  port: number;
  usage(): Promise<ServerUsage>;
  close(): Promise<void>;
}

/**
 * Until the relay in `relay` reports `count` long polls held (its own stats): what wake.ts and
 * delivery.ts wait for before they write, so each row starts from the same state (the readers
 * waiting, both processes just active). A fixed sleep instead left both idle, and the first
 * thing measured was their waking up, which the wake row's baseline does not pay.
 */
export async function untilLongPolls(relay: ServerProcess, count: number): Promise<void> {
  while ((await relay.usage()).stats?.longPolls !== count) {
    // The polls are on their way; the relay reports them once it holds them.
  }
}

function receive<T extends FromServer['kind']>(child: ChildProcess, kind: T): Promise<Extract<FromServer, { kind: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: FromServer): void => {
      if (message.kind !== kind) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(message as Extract<FromServer, { kind: T }>);
    };
    const onExit = (code: number | null): void => {
      child.off('message', onMessage);
      reject(new Error(`the server process exited (code ${String(code)}) before sending ${kind}`));
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** Starts bench/serverProcess.ts in its own process and waits until it listens; a relay on Redis with `store`. */
export async function startServerProcess(kind: ServerKind, store?: string): Promise<ServerProcess> {
  const child = await forkChild('serverProcess', store === undefined ? [kind] : [kind, store], SERVER_NODE_FLAGS, 'inherit');
  const { port } = await receive(child, 'listening');
  const send = (message: ToServer): void => {
    child.send(message);
  };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    usage: async () => {
      const answer = receive(child, 'usage');
      send({ kind: 'usage' });
      return answer;
    },
    close: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) =>
        child.once('exit', () => {
          resolve();
        }),
      );
      send({ kind: 'close' });
      await exited;
    },
  };
}

/** Runs a child entry with extra Node flags and returns the JSON value it prints as its last line. */
export async function runJsonChild<T>(entry: ChildEntry, args: string[], nodeFlags: string[] = []): Promise<T> {
  const child = await forkChild(entry, args, nodeFlags, 'pipe');
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const lastLine = output.trim().split('\n').pop() ?? '';
  if (code !== 0) throw new Error(`${entry} exited with code ${String(code)}: ${lastLine}`);
  return JSON.parse(lastLine) as T;
}
