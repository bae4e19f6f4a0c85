// Test fixtures for relay processes: the built relay (dist/relay.mjs, what ships; a process of
// plain Node starts in a quarter of the CPU the TypeScript entry through tsx takes), free loopback ports, and a list of every pid a test started so `after` can kill
// them all even when the test failed.

import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { processAlive } from '../../src/node/pidFile.js';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RelayCommand } from '../../src/node/localRelay.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const RELAY_MAIN = fileURLToPath(new URL('../../dist/relay.mjs', import.meta.url));

/** What RelayChoice runs in tests: the built relay, as a VS Code window and the CLI do. */
export const RELAY_COMMAND: RelayCommand = { command: process.execPath, args: [RELAY_MAIN], cwd: REPO_ROOT };

/**
 * A loopback port nothing listens on right now, below the kernel's ephemeral range, and never
 * 8771 (which a person's relay may hold). Tests stop a process and start one on the same port (a
 * killed local relay that a command starts again, a restarted redis-server). A port from the
 * ephemeral range, free once the first process is gone, can meanwhile be handed to any listener
 * on port 0 or any outgoing connection of the other test files or the bench. Seen once under
 * `npm run bench`: another test's relay took the killed relay's port, answered the CLI's probe,
 * and was gone by its next request (ECONNREFUSED). Below the range only another freePort call
 * can pick the port, one chance in about 20,000 for two calls at once.
 */
export async function freePort(): Promise<number> {
  const ceiling = ephemeralPortsFrom();
  for (;;) {
    const port = FIRST_TEST_PORT + Math.floor(Math.random() * (ceiling - FIRST_TEST_PORT));
    if (port !== 8771 && (await canListen(port))) return port;
  }
}

/** Where freePort's range starts: above the well-known and most registered services' ports. */
const FIRST_TEST_PORT = 10_000;

/** The first port of the kernel's ephemeral range (Linux's own default where it cannot be read). */
function ephemeralPortsFrom(): number {
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(first) && first > FIRST_TEST_PORT + 1_000) return first;
  } catch {
    // Not Linux: its default below.
  }
  return 32_768;
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => {
      resolve(false);
    });
    server.listen(port, '127.0.0.1', () => {
      server.close(() => {
        resolve(true);
      });
    });
  });
}

/** Every process a test started, killed (SIGKILL) by killAll. */
export class Pids {
  private readonly pids = new Set<number>();

  add(pid: number | undefined): void {
    if (pid !== undefined) this.pids.add(pid);
  }

  /** The pids a RelayChoice logged when it started relay processes. */
  addFromLog(lines: readonly string[]): void {
    for (const line of lines) for (const match of line.matchAll(/\bpid (\d+)\b/g)) this.add(Number(match[1]));
  }

  killAll(): void {
    for (const pid of this.pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // exited already
      }
    }
    this.pids.clear();
  }
}

/** Waits (bounded) until `pid` has exited. */
export async function untilExited(pid: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (processAlive(pid)) {
    if (Date.now() > deadline) throw new Error(`process ${pid} still runs after ${timeoutMs} ms`);
    await sleep(25);
  }
}

export interface RelayMainProcess {
  child: ChildProcess;
  /** Set once the relay printed where it listens. */
  url: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout: () => string;
  stderr: () => string;
}

/** Runs dist/relay.mjs with `args`; resolves once it listens (or rejects with what it printed if it exits first). */
export async function runRelayMain(args: string[], pids: Pids): Promise<RelayMainProcess> {
  const started = runRelayMainRaw(args, pids);
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (): void => {
      const match = /listening on (\S+)/.exec(started.stdout());
      if (match?.[1] !== undefined) {
        started.child.stdout?.off('data', onData);
        resolve(match[1]);
      }
    };
    started.child.stdout?.on('data', onData);
    void started.exited.then(({ code }) => {
      reject(new Error(`relay exited with code ${String(code)} before listening: ${started.stderr()}`));
    });
  });
  return { ...started, url };
}

/** Runs dist/relay.mjs with `args`, without waiting for anything. */
export function runRelayMainRaw(args: string[], pids: Pids): Omit<RelayMainProcess, 'url'> {
  const child = spawn(process.execPath, [RELAY_MAIN, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  pids.add(child.pid);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => {
      resolve({ code, signal });
    });
  });
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}
