import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FileKeyValueStore, STALE_TEMPORARY_MS, keyToFileName, openHomeStores } from '../../src/node/fileStore.js';
import { defaultHome } from '../../src/node/system.js';
import { isPairError } from '../../src/core/errors.js';
import { initSelfIdempotent, loadIdentity } from '../../src/core/identity.js';

const roots: string[] = [];
async function freshDirectory(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'agent-pair-filestore-'));
  roots.push(root);
  return root;
}
after(async () => {
  for (const root of roots) await rm(root, { recursive: true, force: true });
});

const permissions = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;
const posix = process.platform !== 'win32';

describe('FileKeyValueStore', () => {
  it('stores, reads back, overwrites and deletes values', async () => {
    const store = new FileKeyValueStore(join(await freshDirectory(), 'state'));
    assert.equal(await store.get('identity.card'), undefined);
    await store.set('identity.card', '{"v":1}');
    assert.equal(await store.get('identity.card'), '{"v":1}');
    await store.set('identity.card', 'é✓ second');
    assert.equal(await store.get('identity.card'), 'é✓ second');
    await store.set('empty', '');
    assert.equal(await store.get('empty'), '');
    await store.delete('identity.card');
    assert.equal(await store.get('identity.card'), undefined);
    await store.delete('identity.card'); // deleting a missing key is fine
  });

  it('creates the directory 0700 (with parents) and files 0600', { skip: !posix && 'POSIX permissions' }, async () => {
    const root = await freshDirectory();
    const directory = join(root, 'home', 'secrets');
    const store = new FileKeyValueStore(directory);
    await store.set('identity.privateKey', 'secret');
    assert.equal(await permissions(directory), 0o700);
    assert.equal(await permissions(join(root, 'home')), 0o700);
    assert.equal(await permissions(join(directory, keyToFileName('identity.privateKey'))), 0o600);
  });

  it('tightens an existing directory to 0700', { skip: !posix && 'POSIX permissions' }, async () => {
    const directory = await freshDirectory();
    await chmod(directory, 0o755);
    await new FileKeyValueStore(directory).set('k', 'v');
    assert.equal(await permissions(directory), 0o700);
  });

  it('removes a temporary file a process that died mid-write left (it may hold a secret deleted since), not one being written now', async () => {
    const directory = await freshDirectory();
    await mkdir(directory, { recursive: true });
    const left = join(directory, '.tmp-0123456789abcdef');
    const writing = join(directory, '.tmp-fedcba9876543210');
    await writeFile(left, '[{"kid":"0123456789abcdef","secret":"a used receive key"}]');
    await writeFile(writing, 'another process is writing this one');
    const longAgo = new Date(Date.now() - STALE_TEMPORARY_MS - 60_000);
    await utimes(left, longAgo, longAgo);
    await new FileKeyValueStore(directory).set('k', 'v');
    assert.deepEqual((await readdir(directory)).sort(), ['.tmp-fedcba9876543210', 'k']);
  });

  it('writes atomically: only the final files remain, never temporary ones', async () => {
    const directory = await freshDirectory();
    const store = new FileKeyValueStore(directory);
    await Promise.all(Array.from({ length: 50 }, (_, index) => store.set(`key${index % 5}`, `value ${index}`)));
    const names = (await readdir(directory)).sort();
    assert.deepEqual(names, ['key0', 'key1', 'key2', 'key3', 'key4']);
    for (const name of names) assert.match(await readFile(join(directory, name), 'utf8'), /^value \d+$/);
  });

  it('reports a failed write as storage_failed, without the value, and removes its temporary file', async () => {
    const directory = await freshDirectory();
    const store = new FileKeyValueStore(directory);
    await store.set('k', 'old');
    // A non-empty directory where the file should go makes the final rename fail (even for root).
    await mkdir(join(directory, 'blocked', 'inside'), { recursive: true });
    await assert.rejects(store.set('blocked', 'secret-value'), (error) => isPairError(error, 'storage_failed') && error.message.includes('"blocked"') && !error.message.includes('secret-value'));
    assert.deepEqual((await readdir(directory)).sort(), ['blocked', 'k']);
    assert.equal(await store.get('k'), 'old');
  });

  it('maps keys to safe, distinct file names', () => {
    const table: [string, string][] = [
      ['identity.card', 'identity.card'],
      ['identity.privateKey', 'identity.private_4bey'],
      ['identity.privatekey', 'identity.privatekey'],
      ['peer.03396219237f75a6.sendToken', 'peer.03396219237f75a6.send_54oken'],
      ['../escape', '_2e._2fescape'],
      ['a/b', 'a_2fb'],
      ['a\\b', 'a_5cb'],
      ['.hidden', '_2ehidden'],
      ['..', '_2e.'],
      ['under_score', 'under_5fscore'],
      ['é', '_c3_a9'],
      ['nul\0', 'nul_00'],
    ];
    for (const [key, name] of table) assert.equal(keyToFileName(key), name, key);
    const names = table.map(([key]) => keyToFileName(key));
    assert.equal(new Set(names).size, names.length);
    for (const name of names) assert.ok(!name.includes('/') && !name.includes('\\') && !name.startsWith('.'), name);
  });

  it('keeps keys that differ only in case apart, even on case-insensitive disks', async () => {
    const store = new FileKeyValueStore(await freshDirectory());
    await store.set('peerA', 'upper');
    await store.set('peera', 'lower');
    assert.equal(await store.get('peerA'), 'upper');
    assert.equal(await store.get('peera'), 'lower');
  });

  it('refuses keys it cannot store safely', async () => {
    const store = new FileKeyValueStore(await freshDirectory());
    for (const key of ['', 'x'.repeat(201), 'A'.repeat(67), 'lone\uD800']) {
      await assert.rejects(store.set(key, 'v'), (error) => isPairError(error, 'bad_input'), JSON.stringify(key.slice(0, 10)));
      await assert.rejects(store.get(key), (error) => isPairError(error, 'bad_input'));
    }
  });
});

describe('openHomeStores', () => {
  it('keeps secrets and state in separate private directories, and holds an identity across reopenings', async () => {
    const home = join(await freshDirectory(), 'agent-pair');
    const clock = { now: () => Date.UTC(2026, 10, 25), sleep: () => Promise.resolve() };
    const random = { bytes: (length: number) => new Uint8Array(length).fill(5) };
    const { identity } = await initSelfIdempotent({ ...openHomeStores(home), clock, random }, 'alice');
    assert.deepEqual((await readdir(home)).sort(), ['secrets', 'state']);
    assert.deepEqual(await readdir(join(home, 'secrets')), [keyToFileName('identity.privateKey')]);
    assert.deepEqual(await readdir(join(home, 'state')), [keyToFileName('identity.card')]);
    if (posix) {
      assert.equal(await permissions(join(home, 'secrets')), 0o700);
      assert.equal(await permissions(join(home, 'state')), 0o700);
    }
    assert.deepEqual(await loadIdentity(openHomeStores(home)), identity);
  });

  it('defaultHome honours AGENT_PAIR_HOME and falls back to ~/.agent-pair', () => {
    const saved = process.env['AGENT_PAIR_HOME'];
    try {
      process.env['AGENT_PAIR_HOME'] = '/tmp/somewhere-else';
      assert.equal(defaultHome(), '/tmp/somewhere-else');
      process.env['AGENT_PAIR_HOME'] = '';
      assert.match(defaultHome(), /[/\\]\.agent-pair$/);
      delete process.env['AGENT_PAIR_HOME'];
      assert.match(defaultHome(), /[/\\]\.agent-pair$/);
    } finally {
      if (saved === undefined) delete process.env['AGENT_PAIR_HOME'];
      else process.env['AGENT_PAIR_HOME'] = saved;
    }
  });
});
