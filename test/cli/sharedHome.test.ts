// Several processes of one identity pull the same inbox: two `agent-pair inbox --follow --json`
// processes of the built CLI on one home, both long-polling a real relay when the messages
// arrive (the relay wakes both at once). Each message must be printed exactly once across the
// two, none lost and none dropped as a "duplicate": reading, storing and acknowledging is one
// critical section per home (the mailbox lock, src/node/mailLock.ts).

import '../helpers/nativeCurves.js';
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { SendRunner } from '../../src/core/inbox.js';
import { openHomeStores } from '../../src/node/fileStore.js';
import { HOME_MAIL_LOCK_FILE, homeMailLock } from '../../src/node/mailLock.js';
import { systemClock, systemRandom } from '../../src/node/system.js';
import { cliRelayConnector } from '../../src/cli/homeRelays.js';
import { CLI, cliProcess } from '../helpers/cli.js';
import { pairedHomesForFile } from '../helpers/pairedHomes.js';

/** Messages sent while both processes wait. */
const MESSAGES = 12;

const paired = pairedHomesForFile('agent-pair-shared-');

interface Follower {
  child: ChildProcessWithoutNullStreams;
  lines: Record<string, unknown>[];
  waiting: Promise<void>;
  exited: Promise<number | null>;
}

function follow(home: string, onLine: () => void): Follower {
  const child = spawn(process.execPath, [CLI, 'inbox', '--follow', '--json', '--home', home], { env: { ...process.env, AGENT_PAIR_HOME: '' } });
  const lines: Record<string, unknown>[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(JSON.parse(line) as Record<string, unknown>);
    onLine();
  });
  const waiting = new Promise<void>((done) => {
    createInterface({ input: child.stderr }).on('line', (line) => {
      if (line.startsWith('Waiting for messages')) done();
    });
  });
  const exited = new Promise<number | null>((done) => child.on('exit', done));
  return { child, lines, waiting, exited };
}

function aliceSender(): SendRunner {
  return new SendRunner({ ...openHomeStores(paired.aliceHome), mailLock: homeMailLock(paired.aliceHome), random: systemRandom, clock: systemClock, relays: cliRelayConnector() });
}

describe('two processes pulling one home', () => {
  it('two inbox --follow processes print each message exactly once between them', async () => {
    let changed!: () => void;
    let next = new Promise<void>((done) => (changed = done));
    const onLine = (): void => {
      changed();
      next = new Promise<void>((done) => (changed = done));
    };
    const followers = [follow(paired.bobHome, onLine), follow(paired.bobHome, onLine)];
    try {
      await Promise.all(followers.map((follower) => follower.waiting));
      const sender = aliceSender();
      const ids: string[] = [];
      for (let index = 0; index < MESSAGES; index++) ids.push((await sender.send('bob', { type: 'text', text: `message ${index}` })).id);
      const printed = (): string[] => followers.flatMap((follower) => follower.lines.filter((line) => line['event'] === 'message').map((line) => String(line['id'])));
      while (new Set(printed()).size < MESSAGES) await next;
      for (const follower of followers) follower.child.kill('SIGTERM');
      assert.deepEqual(await Promise.all(followers.map((follower) => follower.exited)), [0, 0]);
      assert.deepEqual(printed().sort(), [...ids].sort(), 'every message once, none twice');
      assert.deepEqual(followers.flatMap((follower) => follower.lines.filter((line) => line['event'] === 'dropped')), [], 'none taken for a replay');
    } finally {
      for (const follower of followers) follower.child.kill('SIGKILL');
    }
  });

  it('a lock left by a process that died is taken over; what it left is read next time', async () => {
    // A pid that runs no process (pids are at most 2^22 on Linux).
    writeFileSync(join(paired.bobHome, HOME_MAIL_LOCK_FILE), '4194305\n');
    const sent = await aliceSender().send('bob', { type: 'text', text: 'after a crash' });
    const read = await cliProcess(['inbox', '--json', '--home', paired.bobHome]);
    assert.equal(read.code, 0, read.stderr);
    assert.deepEqual(read.lines.filter((line) => line['event'] === 'message').map((line) => line['id']), [sent.id]);
    assert.equal(existsSync(join(paired.bobHome, HOME_MAIL_LOCK_FILE)), false, 'released after the pull');
  });
});
