// Test fixtures: the built CLI (dist/cli.cjs) run as a person's terminal would, and two homes
// paired through it (host and join, each typing the SAS it was shown, as both people agree), or
// in this process with the code those commands run, for tests about what comes after pairing.

import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
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

/** Runs the CLI to its end; `input`, if given, is its whole standard input; `env` is added to this process's. */
export async function cli(args: string[], onLine?: (line: Record<string, unknown>, stdin: NodeJS.WritableStream) => void, input?: string, env: NodeJS.ProcessEnv = {}): Promise<Finished> {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, AGENT_PAIR_HOME: '', ...env } });
  let stdout = '';
  let stderr = '';
  const lines: Record<string, unknown>[] = [];
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout }).on('line', (line) => {
    stdout += `${line}\n`;
    try {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      lines.push(parsed);
      onLine?.(parsed, child.stdin);
    } catch {
      // human output
    }
  });
  if (input !== undefined) child.stdin.end(input);
  else if (!onLine) child.stdin.end();
  const code = await new Promise<number | null>((done) => child.on('exit', done));
  return { code, stdout, stderr, lines };
}

/** Pairs two homes with `host` and `join --json`; resolves each side's view of the other's fingerprint. */
export async function pairCliHomes(relayUrl: string, aliceHome: string, bobHome: string): Promise<{ aliceFingerprint: string; bobFingerprint: string }> {
  let code = '';
  const codeSeen = gate();
  const host = cli(['host', '--json', '--relay', relayUrl, '--home', aliceHome, '--handle', 'alice'], (line, stdin) => {
    if (line['event'] === 'code') {
      code = String(line['code']);
      codeSeen.open();
    }
    if (line['event'] === 'sas') stdin.write(`${String(line['sas'])}\n`);
  });
  await codeSeen.passed;
  const guest = cli(['join', code, '--json', '--relay', relayUrl, '--home', bobHome, '--handle', 'bob'], (line, stdin) => {
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
