// The mailbox lock across processes: the core waits for a MailLock held elsewhere (at most
// MAIL_LOCK_WAIT_MS, trying every MAIL_LOCK_RETRY_MS), and the Node lock file (src/node/mailLock.ts)
// is busy while a live process (this one included) holds it and is taken over from a dead one.

import '../helpers/nativeCurves.js';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isPairError } from '../../src/core/errors.js';
import { MAIL_LOCK_RETRY_MS, MAIL_LOCK_WAIT_MS, Mailbox } from '../../src/core/mailbox.js';
import type { Clock, MailLock } from '../../src/core/ports.js';
import { MemoryKeyValueStore } from '../../src/core/routedStore.js';
import { ReceiveRunner, SendRunner } from '../../src/core/inbox.js';
import { fileMailLock } from '../../src/node/mailLock.js';
import { type TestRelay, startTestRelay } from '../helpers/relays.js';
import { pairSides } from '../helpers/pairing.js';
import { makeSide } from '../helpers/sides.js';

/** A clock whose sleeps pass at once, moving its time on: waits measured, not waited. */
class SteppingClock implements Clock {
  at = 1_000_000;
  sleeps: number[] = [];
  now(): number {
    return this.at;
  }
  sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.at += ms;
    return Promise.resolve();
  }
}

const text = (id: string) => ({ v: 1 as const, id: id.padStart(32, '0'), from: 'a'.repeat(16), to: 'b'.repeat(16), n: 1, sent_at: '2026-11-29T12:00:00Z', body: { type: 'text' as const, text: 'hi' } });

describe('the mailbox waits for a lock another process holds', () => {
  it('tries every MAIL_LOCK_RETRY_MS and gives up with timeout after MAIL_LOCK_WAIT_MS, writing nothing', async () => {
    const clock = new SteppingClock();
    const memory = new MemoryKeyValueStore();
    const heldElsewhere: MailLock = { tryLock: () => Promise.resolve(undefined) };
    const mailbox = new Mailbox({ memory, clock, mailLock: heldElsewhere });
    await assert.rejects(mailbox.accept(text('1')), (error: unknown) => isPairError(error, 'timeout'));
    assert.ok(clock.sleeps.every((ms) => ms === MAIL_LOCK_RETRY_MS));
    assert.equal(clock.sleeps.length, MAIL_LOCK_WAIT_MS / MAIL_LOCK_RETRY_MS);
    assert.deepEqual(memory.entries(), []);
  });

  it('goes ahead once the other holder lets go, and releases after', async () => {
    const clock = new SteppingClock();
    let busyTries = 3;
    let released = 0;
    const release = (): Promise<void> => {
      released++;
      return Promise.resolve();
    };
    const lock: MailLock = { tryLock: () => Promise.resolve(busyTries-- > 0 ? undefined : release) };
    const mailbox = new Mailbox({ memory: new MemoryKeyValueStore(), clock, mailLock: lock });
    const accepted = await mailbox.accept(text('2'));
    assert.equal(accepted !== 'duplicate' && accepted.kind, 'stored');
    assert.equal(clock.sleeps.length, 3);
    assert.equal(released, 1);
  });
});

describe('the mailbox lock file', () => {
  let home: string;
  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'agent-pair-lock-'));
  });
  after(async () => {
    await rm(home, { recursive: true, force: true });
  });

  it('holds the pid while held; busy for everyone else, this process included, until released', async () => {
    const path = join(home, 'a.lock');
    const release = await fileMailLock(path).tryLock();
    assert.ok(release);
    assert.equal(readFileSync(path, 'utf8'), `${process.pid}\n`);
    assert.equal(await fileMailLock(path).tryLock(), undefined, 'a second holder in this process waits');
    assert.equal(await fileMailLock(path, { pid: 77, alive: () => true }).tryLock(), undefined, 'another live process waits');
    await release();
    assert.equal(existsSync(path), false);
    const again = await fileMailLock(path, { pid: 77, alive: () => true }).tryLock();
    assert.ok(again);
    await again();
  });

  it('a file naming a process that is gone, or this pid left by an earlier process, is taken over', async () => {
    const path = join(home, 'b.lock');
    writeFileSync(path, '4194305\n');
    const fromDead = await fileMailLock(path, { alive: () => false }).tryLock();
    assert.ok(fromDead);
    await fromDead();
    writeFileSync(path, `${process.pid}\n`);
    const leftover = await fileMailLock(path).tryLock();
    assert.ok(leftover, 'no one here holds it: the file is a leftover of an earlier process with our pid');
    await leftover();
  });
});

describe('two pullers of one mailbox', () => {
  let relay: TestRelay;
  before(async () => {
    relay = await startTestRelay('socketless');
  });
  after(async () => {
    await relay.close();
  });

  it('the one that finds its news taken returns too, and finds the message stored once in the shared mailbox', async () => {
    const alice = await makeSide(relay.url, 'alice');
    const bob = await makeSide(relay.url, 'bob');
    await pairSides(alice, bob, relay.url);
    const pullers = [new ReceiveRunner(alice.deps), new ReceiveRunner(alice.deps)];
    const pulls = pullers.map((runner) => runner.pull({ waitSeconds: 20 }));
    await sleep(200); // both long polls reach the relay (if one does not, it waits out its 20 s: slower, still right)
    const sender = new SendRunner(bob.deps);
    const first = await sender.send('alice', { type: 'text', text: 'first' });
    const messageIds = (events: Awaited<(typeof pulls)[number]>): string[] => events.flatMap((event) => (event.type === 'message' ? [event.record.id] : []));
    // Both return (the loser without waiting out its wait); only the winner stored it.
    const results = await Promise.all(pulls);
    assert.deepEqual(results.map(messageIds).flat(), [first.id]);
    assert.equal((await pullers[0]?.mailbox.summary(bob.fingerprint))?.unread, 1);
    // The next message goes to whichever pulls next.
    const second = await sender.send('alice', { type: 'text', text: 'second' });
    assert.deepEqual(messageIds(await pullers[1]?.pull({ waitSeconds: 20 }) ?? []), [second.id]);
  });
});
