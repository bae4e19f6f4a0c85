// Test fixtures: the built CLI (dist/cli.cjs) run as a person's terminal would, and two homes
// paired through it (host and join, each typing the SAS it was shown, as both people agree), or
// in this process with the code those commands run, for tests about what comes after pairing.
//
// A command runs in a process of its own (`cliProcess`), or in a worker thread of this process
// (`cli`): the same built bundle, started the same way (its own argv, environment, stdin, stdout
// and stderr, its own module instances, its exit status from process.exitCode), without the
// process. Node's own start is about half of a short command's CPU, and a test file runs dozens.
// A thread shares this process's pid and working directory: the pid files that keep two
// processes of one home apart (the mail lock, the confirm channel's socket, a session's writer)
// cannot tell two threads apart. So threads are for one command at a time per home, never while
// this process holds that home's mail lock, and never to run host, join, confirm, sessions, mcp
// or relay (a command line refused before its command runs is fine). A thread gets no standard
// input either: Node 20 keeps a worker alive whose stdin was left unread, as `send -` does past
// the size limit. Signals, stdin, locks between processes and the start of a process stay with
// `cliProcess`.

import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { interactiveDeps } from '../../src/cli/pair.js';
import { initSelfIdempotent } from '../../src/core/identity.js';
import { runPairing } from '../../src/core/pairing.js';
import { SessionStore } from '../../src/core/store.js';
import { systemClock } from '../../src/node/system.js';
import { gate } from './until.js';

export const CLI = resolve(import.meta.dirname, '../../dist/cli.cjs');

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
  lines: Record<string, unknown>[];
}

/** A command as it runs: its standard streams, and its exit status (or an error nothing caught, as text for its stderr). */
interface Started {
  stdin: Writable;
  stdout: Readable;
  stderr: Readable;
  exited: Promise<{ code: number | null; uncaught?: string }>;
}

/** The command in a process of its own, as a terminal starts it. */
function startProcess(args: string[], env: NodeJS.ProcessEnv): Started {
  const child = spawn(process.execPath, [CLI, ...args], { env });
  const exited = new Promise<{ code: number | null }>((done) => {
    child.on('exit', (code) => {
      done({ code });
    });
  });
  return { stdin: child.stdin, stdout: child.stdout, stderr: child.stderr, exited };
}

/**
 * The command in a worker thread: the file the process runs, with the Node options a process
 * gets (none: not this test process's --enable-source-maps, which reads each bundle's source map
 * as it loads), `env` as its environment and `args` after its script in process.argv.
 */
function startThread(args: string[], env: NodeJS.ProcessEnv): Started {
  const worker = new Worker(CLI, { argv: args, env, execArgv: [], stdin: true, stdout: true, stderr: true });
  let uncaught: string | undefined;
  worker.on('error', (error) => (uncaught = `${error.stack ?? String(error)}\n`));
  const exited = new Promise<{ code: number | null; uncaught?: string }>((done) => {
    worker.on('exit', (code) => {
      done({ code, ...(uncaught !== undefined && { uncaught }) });
    });
  });
  if (worker.stdin === null) throw new Error('a worker started with stdin: true has a stdin');
  return { stdin: worker.stdin, stdout: worker.stdout, stderr: worker.stderr, exited };
}

/** Where a command runs: a worker thread of this process, or a process of its own (see the top of this file). */
export type RunsIn = 'thread' | 'process';

export interface CliRun {
  /** Called with each JSON line of its stdout, and its stdin to answer on (a process's: it then stays open until the command ends). */
  onLine?: (line: Record<string, unknown>, stdin: NodeJS.WritableStream) => void;
  /** Its whole standard input (a process's). */
  input?: string;
  /** Its whole environment; this process's, with no AGENT_PAIR_HOME, if not given. */
  env?: NodeJS.ProcessEnv;
}

/** Runs the CLI to its end in `where`; its stdout's JSON lines parsed. */
export async function runCli(where: RunsIn, args: string[], { onLine, input, env = { ...process.env, AGENT_PAIR_HOME: '' } }: CliRun = {}): Promise<Finished> {
  if (where === 'thread' && input !== undefined) throw new Error('a command in a thread gets no standard input: run it with cliProcess');
  const started = where === 'thread' ? startThread(args, env) : startProcess(args, env);
  let stdout = '';
  let stderr = '';
  const lines: Record<string, unknown>[] = [];
  started.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const stdoutEnded = new Promise<void>((done) => started.stdout.once('end', done));
  createInterface({ input: started.stdout }).on('line', (line) => {
    stdout += `${line}\n`;
    try {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      lines.push(parsed);
      onLine?.(parsed, started.stdin);
    } catch {
      // human output
    }
  });
  const stderrEnded = new Promise<void>((done) => started.stderr.once('end', done));
  if (input !== undefined) started.stdin.end(input);
  else if (!onLine || where === 'thread') started.stdin.end();
  const { code, uncaught } = await started.exited;
  // A thread's output may still be on its way once it has exited; a process's has all come by then.
  await Promise.all([stdoutEnded, stderrEnded]);
  return { code, stdout, stderr: stderr + (uncaught ?? ''), lines };
}

/** Runs the CLI to its end in a worker thread. */
export async function cli(args: string[]): Promise<Finished> {
  return runCli('thread', args);
}

/** Runs the CLI to its end in a process of its own; `input`, if given, is its whole standard input; `env` is added to this process's. */
export async function cliProcess(args: string[], onLine?: CliRun['onLine'], input?: string, env: NodeJS.ProcessEnv = {}): Promise<Finished> {
  return runCli('process', args, { ...(onLine && { onLine }), ...(input !== undefined && { input }), env: { ...process.env, AGENT_PAIR_HOME: '', ...env } });
}

/** Pairs two homes with `host` and `join --json`; resolves each side's view of the other's fingerprint. */
export async function pairCliHomes(relayUrl: string, aliceHome: string, bobHome: string): Promise<{ aliceFingerprint: string; bobFingerprint: string }> {
  let code = '';
  const codeSeen = gate();
  const host = cliProcess(['host', '--json', '--relay', relayUrl, '--home', aliceHome, '--handle', 'alice'], (line, stdin) => {
    if (line['event'] === 'code') {
      code = String(line['code']);
      codeSeen.open();
    }
    if (line['event'] === 'sas') stdin.write(`${String(line['sas'])}\n`);
  });
  await codeSeen.passed;
  const guest = cliProcess(['join', code, '--json', '--relay', relayUrl, '--home', bobHome, '--handle', 'bob'], (line, stdin) => {
    if (line['event'] === 'sas') stdin.write(`${String(line['sas'])}\n`);
  });
  const [hostDone, guestDone] = await Promise.all([host, guest]);
  if (hostDone.code !== 0 || guestDone.code !== 0) throw new Error(`pairing failed: ${hostDone.stderr} ${guestDone.stderr}`);
  return {
    bobFingerprint: pairedPeer(hostDone).fingerprint,
    aliceFingerprint: pairedPeer(guestDone).fingerprint,
  };
}

/**
 * Pairs two homes as pairCliHomes does, in this process: each home's identity (created as
 * `alice` and `bob` if it has none) and inbox, then the core's pairing runner on both sides with
 * the deps `host` and `join` use (src/cli/pair.ts), each typing the SAS it was shown. Two CLI
 * processes cost a test file about a CPU-second per pairing; tests whose subject is what comes
 * after pairing use this, and the tests of pairing through the CLI keep pairCliHomes.
 */
export async function pairHomes(relayUrl: string, aliceHome: string, bobHome: string): Promise<{ aliceFingerprint: string; bobFingerprint: string }> {
  const sideOf = async (home: string, handle: string): Promise<{ store: SessionStore; fingerprint: string }> => {
    const deps = interactiveDeps(home);
    const { identity } = await initSelfIdempotent(deps, handle, deps.relays(relayUrl));
    return { store: new SessionStore(deps), fingerprint: identity.fingerprint };
  };
  const [host, guest] = await Promise.all([sideOf(aliceHome, 'alice'), sideOf(bobHome, 'bob')]);
  const opened = await host.store.open('host', relayUrl);
  const joined = await guest.store.open('guest', relayUrl, opened.code);
  const run = (store: SessionStore, sessionId: string): ReturnType<typeof runPairing> =>
    runPairing(sessionId, { store, clock: systemClock, confirm: { askForDigits: (request) => Promise.resolve(request.sas) }, onEvent: () => undefined });
  const ends = await Promise.all([run(host.store, opened.sessionId), run(guest.store, joined.sessionId)]);
  if (ends.some((end) => end.state !== 'finalized')) throw new Error(`pairing ended ${ends.map((end) => `${end.state} ${end.abortReason ?? ''}`).join(' / ')}`);
  return { aliceFingerprint: host.fingerprint, bobFingerprint: guest.fingerprint };
}

/** The peer a finished `host`/`join --json` pinned: its `paired` event's `peer`. */
export function pairedPeer(finished: Pick<Finished, 'lines'>): { fingerprint: string; handle: string; relay_url: string } {
  const peer = finished.lines.find((line) => line['event'] === 'paired')?.['peer'];
  if (typeof peer !== 'object' || peer === null) throw new Error('no paired event');
  return peer as { fingerprint: string; handle: string; relay_url: string };
}
