// The one-writer lock of a home's saved pairings: one live process holds a session at a time,
// and a lock left by a process that is gone is taken over.

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SessionWriters, sessionWriterPath } from '../../src/node/sessionWriters.js';

const homes: string[] = [];
after(async () => {
  for (const home of homes) await rm(home, { recursive: true, force: true });
});

const SESSION = '0f3c9a1e5b7d4c2a8e6f1b3d5a7c9e0f';
/** Above Linux's pid_max: no process has it. */
const GONE_PID = 4_194_304 + 7;

describe('SessionWriters', () => {
  it('lets one live process hold a session; the other sees who holds it, and takes it once released', async () => {
    const home = await mkdtemp(join(tmpdir(), 'agent-pair-writers-'));
    homes.push(home);
    const here = new SessionWriters(home);
    const other = new SessionWriters(home, process.ppid);
    assert.equal(here.claim(SESSION), true);
    assert.equal(here.claim(SESSION), true, 'claiming again in the same process is a no-op');
    assert.equal(other.claim(SESSION), false);
    assert.equal(other.holder(SESSION), process.pid);
    assert.equal(here.holder(SESSION), undefined, 'a process is not "another" holder of its own lock');
    here.releaseAll();
    assert.equal(other.claim(SESSION), true);
    other.releaseAll();
  });

  it('takes over a lock whose process is gone, and one naming this pid that this process never took', async () => {
    const home = await mkdtemp(join(tmpdir(), 'agent-pair-writers-'));
    homes.push(home);
    const path = sessionWriterPath(home, SESSION);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, `${GONE_PID}\n`);
    const writers = new SessionWriters(home);
    assert.equal(writers.holder(SESSION), undefined);
    assert.equal(writers.claim(SESSION), true);
    writers.releaseAll();
    await writeFile(path, `${process.pid}\n`);
    assert.equal(new SessionWriters(home).claim(SESSION), true);
  });
});
