// Joining, as a person does it, against magic-wormhole doing the same, side by side in one run:
// - Agent Pair: a host (`agent-pair host --json`) waits with its code; the joiner's whole
//   process `agent-pair join CODE --json` is timed from spawn to its `sas` event (the key is
//   confirmed: the peer's confirm MAC checked, the SAS shown), on a relay in its own process.
//   Then both type the SAS so each pairing ends as a person's would.
// - magic-wormhole: `wormhole send --text` waits with its code; `wormhole receive CODE` is timed
//   from spawn to exit (it has printed the text), on a local mailbox server.
// Both on loopback, fresh homes per pairing (identities set up beforehand, not timed). The ratio
// is the median of ours over the median of theirs. Needs Debian's magic-wormhole and
// python3-magic-wormhole-mailbox-server (`apt-get install magic-wormhole
// python3-magic-wormhole-mailbox-server`); without them the row says so.
// Run directly: node --import tsx bench/joining.ts [runs]

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { CLI, cli } from '../test/helpers/cli.js';
import { startServerProcess } from './processes.js';
import { type Summary, summarize } from './stats.js';

export type JoiningBench =
  | { available: false; reason: string; ours: Summary }
  | { available: true; ours: Summary; wormhole: Summary; ratio: number; wormholeVersion: string };

const WARM_UP_RUNS = 1;
const ENV = { ...process.env, AGENT_PAIR_HOME: '' };

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        resolve(typeof address === 'object' && address !== null ? address.port : 0);
      });
    });
  });
}

/** Resolves the first line of `stream` that `pick` maps to a value. */
function firstLine<T>(stream: NodeJS.ReadableStream, what: string, pick: (line: string) => T | undefined): Promise<T> {
  return new Promise((resolve, reject) => {
    let found = false;
    const lines = createInterface({ input: stream });
    lines.on('line', (line) => {
      const value = found ? undefined : pick(line);
      if (value === undefined) return;
      found = true;
      resolve(value);
    });
    lines.once('close', () => {
      if (!found) reject(new Error(`the output ended before ${what}`));
    });
  });
}

const exited = (child: ChildProcess): Promise<number | null> => new Promise((resolve) => child.once('exit', resolve));

function jsonEvent(line: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** One Agent Pair pairing; returns the joiner's spawn → `sas` time. */
async function ourJoin(relayUrl: string, dir: string, run: number): Promise<number> {
  const [hostHome, guestHome] = [join(dir, `host-${run}`), join(dir, `guest-${run}`)];
  for (const [home, handle] of [[hostHome, 'host'], [guestHome, 'guest']] as const) {
    const init = await cli(['init', handle, '--home', home]);
    if (init.code !== 0) throw new Error(`init failed: ${init.stderr}`);
  }
  const host = spawn(process.execPath, [CLI, 'host', '--json', '--relay', relayUrl, '--home', hostHome], { env: ENV, stdio: ['pipe', 'pipe', 'ignore'] });
  const hostExited = exited(host);
  const hostLines = createInterface({ input: host.stdout });
  const code = await new Promise<string>((resolve) => {
    hostLines.on('line', (line) => {
      const event = jsonEvent(line);
      if (event?.['event'] === 'code') resolve(String(event['code']));
      if (event?.['event'] === 'sas') host.stdin.write(`${String(event['sas'])}\n`);
    });
  });
  const startedAt = performance.now();
  const guest = spawn(process.execPath, [CLI, 'join', code, '--json', '--relay', relayUrl, '--home', guestHome], { env: ENV, stdio: ['pipe', 'pipe', 'ignore'] });
  const guestExited = exited(guest);
  const sas = await firstLine(guest.stdout, 'the joiner\'s sas event', (line) => {
    const event = jsonEvent(line);
    return event?.['event'] === 'sas' ? String(event['sas']) : undefined;
  });
  const elapsed = performance.now() - startedAt;
  guest.stdin.write(`${sas}\n`);
  const [hostCode, guestCode] = await Promise.all([hostExited, guestExited]);
  if (hostCode !== 0 || guestCode !== 0) throw new Error(`the pairing did not finish (host ${String(hostCode)}, guest ${String(guestCode)})`);
  return elapsed;
}

/** One magic-wormhole text transfer; returns `wormhole receive`'s spawn → exit time. */
async function wormholeReceive(mailboxUrl: string): Promise<number> {
  const sender = spawn('wormhole', ['--relay-url', mailboxUrl, 'send', '--text', 'hello'], { stdio: ['ignore', 'ignore', 'pipe'] });
  // Listened for from the start: the sender may exit before the receiver's exit is seen.
  const senderExited = exited(sender);
  const code = await firstLine(sender.stderr, 'wormhole send\'s code', (line) => /^Wormhole code is: (\S+)/.exec(line)?.[1]);
  const startedAt = performance.now();
  const receiverCode = await exited(spawn('wormhole', ['--relay-url', mailboxUrl, 'receive', code], { stdio: ['ignore', 'ignore', 'ignore'] }));
  const elapsed = performance.now() - startedAt;
  const senderCode = await senderExited;
  if (receiverCode !== 0 || senderCode !== 0) throw new Error(`wormhole did not finish (send ${String(senderCode)}, receive ${String(receiverCode)})`);
  return elapsed;
}

function wormholeVersion(): string | undefined {
  const wormhole = spawnSync('wormhole', ['--version'], { encoding: 'utf8' });
  const mailbox = spawnSync('twist3', ['--help'], { encoding: 'utf8' });
  if (wormhole.status !== 0 || mailbox.status !== 0 || !mailbox.stdout.includes('wormhole-mailbox')) return undefined;
  return wormhole.stdout.trim();
}

export async function benchJoining(runs = 10): Promise<JoiningBench> {
  const dir = mkdtempSync(join(tmpdir(), 'agent-pair-bench-join-'));
  const relay = await startServerProcess('relay');
  const version = wormholeVersion();
  let mailbox: ChildProcess | undefined;
  try {
    let mailboxUrl: string | undefined;
    if (version !== undefined) {
      const port = await freePort();
      mailbox = spawn('twist3', ['wormhole-mailbox', '--port', `tcp:${port}:interface=127.0.0.1`], { cwd: dir, env: { ...process.env, PYTHONUNBUFFERED: '1' }, stdio: ['ignore', 'pipe', 'ignore'] });
      await firstLine(mailbox.stdout!, 'the mailbox server\'s start', (line) => (line.includes('Starting reactor') ? true : undefined));
      mailboxUrl = `ws://127.0.0.1:${port}/v1`;
    }
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let i = 0; i < WARM_UP_RUNS + runs; i++) {
      const ourMs = await ourJoin(relay.url, dir, i);
      const theirMs = mailboxUrl === undefined ? undefined : await wormholeReceive(mailboxUrl);
      if (i < WARM_UP_RUNS) continue;
      ours.push(ourMs);
      if (theirMs !== undefined) theirs.push(theirMs);
    }
    if (version === undefined || theirs.length === 0) {
      return { available: false, reason: 'magic-wormhole is not installed (bash scripts/install-wormhole.sh: Debian magic-wormhole and python3-magic-wormhole-mailbox-server)', ours: summarize(ours) };
    }
    const oursSummary = summarize(ours);
    const wormhole = summarize(theirs);
    return { available: true, ours: oursSummary, wormhole, ratio: oursSummary.medianMs / wormhole.medianMs, wormholeVersion: version };
  } finally {
    mailbox?.kill();
    await relay.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await benchJoining(Number(process.argv[2] ?? 10)), null, 2));
}
