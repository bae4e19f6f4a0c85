// The SQLite engine as real relay processes run it (dist/relay.mjs, real files):
// what a relay acknowledged survives SIGKILL mid-write and a restart, seq goes on where it was,
// one process writes a file, and the start-up line names the store. The route-by-route suite
// runs on this engine in server.test.ts.

import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import sqlite3 from 'node-sqlite3-wasm';
import { RelayClient } from '../../src/relay/client.js';
import { httpFetch } from '../../src/relay/transport.js';
import { EXIT_STORE_IN_USE } from '../../src/relay/embedded.js';
import { grantIdOf, resolveLimits } from '../../src/relay/contract.js';
import { SqliteStore, openSqliteStore } from '../../src/relay/sqliteStore.js';
import { type PostResult, StoreUnavailableError } from '../../src/relay/store.js';
import { Pids, runRelayMain, runRelayMainRaw, untilExited } from '../helpers/relayProcess.js';
import { until } from '../helpers/until.js';

describe('the SQLite store in relay processes', { concurrency: true }, () => {
  const pids = new Pids();
  const dirs: string[] = [];
  after(async () => {
    pids.killAll();
    await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });

  async function storeFile(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'agent-pair-sqlite-'));
    dirs.push(dir);
    return join(dir, 'relay.sqlite');
  }

  const envelope = (index: number): string => Buffer.from(`envelope ${index} `.padEnd(1024, '.')).toString('base64');

  it('keeps every message it acknowledged when SIGKILLed mid-write; the file opens consistent and seq goes on after the restart', async () => {
    const file = await storeFile();
    const limits = ['--store', `sqlite:${file}`];
    const first = await runRelayMain(['--port', '0', ...limits], pids);
    const client = new RelayClient(first.url, { retries: 0, fetch: httpFetch });
    const inbox = await client.allocateSlot();
    // Two senders, so both stay under their share and their rate while posting as fast as they can.
    const grants = [await client.grant(inbox.slotId, inbox.ownerToken), await client.grant(inbox.slotId, inbox.ownerToken)];
    const acknowledged: string[] = [];
    let attempted = 0;
    const sender = async (sendToken: string, offset: number): Promise<void> => {
      for (let index = offset; index < offset + 100; index++) {
        attempted++;
        const value = envelope(index);
        try {
          await client.postMessage(inbox.slotId, sendToken, value);
          acknowledged.push(value);
        } catch {
          return; // the relay is gone: from here on nothing was acknowledged
        }
      }
    };
    const sending = Promise.all(grants.map((grant, index) => sender(grant.sendToken, index * 1000)));
    await until('40 acknowledged posts', () => acknowledged.length >= 40);
    first.child.kill('SIGKILL');
    await sending;
    assert.equal((await first.exited).signal, 'SIGKILL');
    assert.ok(attempted > acknowledged.length || acknowledged.length === 200, 'killed while posting');

    // The file is consistent (SQLite's own check) before any relay touches it again; the lock
    // directory the killed relay left is removed first, as the next relay does once it holds the pid lock.
    rmSync(`${file}.lock`, { recursive: true, force: true });
    const checked = new sqlite3.Database(file);
    try {
      // A WAL file without shared memory opens only in exclusive mode (this VFS has no -shm).
      checked.exec('PRAGMA locking_mode = EXCLUSIVE');
      assert.deepEqual(checked.get('PRAGMA integrity_check'), { integrity_check: 'ok' });
    } finally {
      checked.close();
    }

    const second = await runRelayMain(['--port', '0', ...limits], pids);
    const again = new RelayClient(second.url, { retries: 0, fetch: httpFetch });
    const stored: string[] = [];
    let lastSeq = 0;
    for (let after = 0; ; ) {
      const page = await again.readMessages(inbox.slotId, inbox.ownerToken, { after });
      if (page.messages.length === 0) break;
      for (const message of page.messages) {
        assert.ok(message.seq > after, 'seq ascending, never repeated');
        stored.push(message.value);
        after = message.seq;
      }
      lastSeq = page.lastSeq;
    }
    for (const value of acknowledged) assert.ok(stored.includes(value), 'every acknowledged message survived the kill');
    assert.ok(stored.length <= acknowledged.length + grants.length, 'at most the posts in flight were stored unacknowledged');
    // Grants survived too, and seq goes on after the highest assigned.
    await again.postMessage(inbox.slotId, grants[0]?.sendToken ?? '', envelope(9999));
    const after = await again.readMessages(inbox.slotId, inbox.ownerToken, { after: lastSeq });
    assert.deepEqual(after.messages.map((message) => message.seq), [lastSeq + 1]);
    second.child.kill('SIGTERM');
    assert.deepEqual(await second.exited, { code: 0, signal: null });
  });

  it('lets one relay process write a file: a second one exits 3 (EXIT_STORE_IN_USE) naming the holder; after a SIGKILL the next one takes it over', async () => {
    const file = await storeFile();
    const first = await runRelayMain(['--port', '0', '--store', `sqlite:${file}`], pids);
    assert.match(first.stdout(), new RegExp(`listening on http://127\\.0\\.0\\.1:\\d+ \\(store: SQLite file ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)`));
    const second = runRelayMainRaw(['--port', '0', '--store', `sqlite:${file}`], pids);
    assert.equal((await second.exited).code, EXIT_STORE_IN_USE);
    assert.match(second.stderr(), new RegExp(`^relay: the SQLite store .*relay\\.sqlite is in use by another relay \\(process ${String(first.child.pid)}\\); one relay process writes a file`));
    // In this process too: the pid lock names a live holder of the file.
    assert.throws(() => openSqliteStore(file, resolveLimits()), /in use by another relay/);

    first.child.kill('SIGKILL');
    await untilExited(first.child.pid ?? 0);
    const third = await runRelayMain(['--port', '0', '--store', `sqlite:${file}`], pids);
    third.child.kill('SIGTERM');
    assert.deepEqual(await third.exited, { code: 0, signal: null });
  });

  it('answers a batch the file cannot take (disk full) with StoreUnavailableError, keeps nothing of it, and commits the next', async () => {
    const file = await storeFile();
    // The store on a handle of the test's own, so it can shrink what the file may grow to.
    const db = new sqlite3.Database(file);
    const store = new SqliteStore(db, file, resolveLimits());
    try {
      const now = Date.now();
      const slotId = 'a1'.repeat(16);
      const ownerToken = 'b2'.repeat(32);
      const sendToken = 'c3'.repeat(32);
      const grantId = grantIdOf(sendToken);
      assert.equal(await store.allocateInbox({ slotId, ownerToken, address: '127.0.0.1' }, { key: 'open:127.0.0.1', limit: 10, windowMs: 60_000 }, now), 'allocated');
      assert.equal(await store.addGrant(slotId, ownerToken, { grantId, sendToken }, { key: `grant:${slotId}`, limit: 10, windowMs: 60_000 }, now), 'granted');
      const post = (value: string): Promise<PostResult> => store.postMessage(slotId, { grantId, sendToken, value, bytes: Buffer.from(value, 'base64').length }, undefined, now);
      assert.deepEqual(await post(envelope(1)), { kind: 'posted' });

      const pages = (db.get('PRAGMA page_count') as { page_count: number }).page_count;
      db.exec(`PRAGMA max_page_count = ${pages}`);
      const large = Buffer.alloc(64 * 1024, 7).toString('base64');
      await assert.rejects(post(large), StoreUnavailableError);
      db.exec('PRAGMA max_page_count = 1073741823');

      // The statements that failed run again, and the failed post took no seq.
      assert.deepEqual(await post(large), { kind: 'posted' });
      const page = await store.readMessages(slotId, ownerToken, 0, 10, now);
      assert.ok(typeof page === 'object');
      assert.deepEqual(
        page.messages.map((message) => [message.seq, message.bytes]),
        [
          [1, 1024],
          [2, 64 * 1024],
        ],
      );
      assert.deepEqual([store.stats().inboxMessages, store.stats().inboxBytes], [2, 1024 + 64 * 1024]);
    } finally {
      await store.close();
    }
  });

  it('journals with WAL', async () => {
    const file = await storeFile();
    await openSqliteStore(file, resolveLimits()).close();
    // WAL is a property of the file: SQLite writes it into the header (bytes 18 and 19 are 2).
    const header = readFileSync(file).subarray(18, 20);
    assert.deepEqual([...header], [2, 2]);
  });
});
