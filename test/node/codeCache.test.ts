// requireWithCodeCache (src/node/codeCache.ts): how the shipped extension loads its window bundle.
// Real files and V8's real code cache. Whether a start used the cache is asked of a new process
// each time (test/helpers/codeCacheLoad.ts), as each extension host is: within one process V8
// finds a script it compiled before in memory and never looks at the cache file.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { requireWithCodeCache, userCodeCacheDir } from '../../src/node/codeCache.js';
import { scriptArgs } from '../helpers/scripts.js';

const root = mkdtempSync(join(tmpdir(), 'agent-pair-codecache-'));
after(() => {
  rmSync(root, { recursive: true, force: true });
});

let made = 0;
/** A CommonJS bundle in a directory of its own, and a cache directory beside it. */
function bundle(source: string): { file: string; cacheDir: string } {
  const dir = join(root, String(made++));
  const file = join(dir, 'extension-window.cjs');
  mkdirSync(dir);
  writeFileSync(file, source);
  return { file, cacheDir: join(dir, 'code-cache') };
}

const LOAD = new URL('../helpers/codeCacheLoad.ts', import.meta.url).pathname;

/** A start of a new process: whether it used the cache, and what the bundle's sum(4, 5) gave. */
function start(file: string, cacheDir: string): { cache: string; sum: number } {
  return JSON.parse(execFileSync(process.execPath, [...scriptArgs(LOAD), file, cacheDir], { encoding: 'utf8' })) as { cache: string; sum: number };
}

const SOURCE = `const { join } = require('node:path');
exports.name = 'window';
exports.dir = __dirname;
exports.joined = join('a', 'b');
exports.sum = (a, b) => a + b;`;

describe('requireWithCodeCache', () => {
  it('loads a CommonJS module as require does, compiles it at the first start and uses the cache it saved at the next', () => {
    const { file, cacheDir } = bundle(SOURCE);
    const first = requireWithCodeCache(file, cacheDir);
    assert.equal(first.cache, 'absent');
    const exports = first.exports as { name: string; dir: string; joined: string; sum: (a: number, b: number) => number };
    assert.deepEqual([exports.name, exports.dir, exports.joined, exports.sum(2, 3)], ['window', dirname(file), join('a', 'b'), 5]);
    // Registered where require looks: a bundle requiring it (mcp.cjs) gets this same instance.
    assert.equal(createRequire(file)(file), first.exports);
    assert.equal(requireWithCodeCache(file, cacheDir).exports, first.exports);
    first.saveCache();
    assert.equal(readdirSync(cacheDir).length, 1);
    assert.deepEqual(start(file, cacheDir), { cache: 'used', sum: 9 });
  });

  it('never reads the cache of another build of the bundle, even of the same length, and keeps only the newest build\'s', () => {
    const { file, cacheDir } = bundle(SOURCE);
    assert.deepEqual(start(file, cacheDir), { cache: 'absent', sum: 9 });
    const [oldCache] = readdirSync(cacheDir);

    // Same length, other code (V8 itself would take the old cache for it: it checks the length).
    const rebuilt = SOURCE.replace('a + b', 'a * b');
    assert.equal(rebuilt.length, SOURCE.length);
    writeFileSync(file, rebuilt);
    assert.deepEqual(start(file, cacheDir), { cache: 'absent', sum: 20 });
    const caches = readdirSync(cacheDir);
    assert.equal(caches.length, 1);
    assert.notEqual(caches[0], oldCache);
    assert.deepEqual(start(file, cacheDir), { cache: 'used', sum: 20 });
  });

  it('keeps a cache per cache name, and a name that begins another\'s never removes that one\'s', () => {
    const { file, cacheDir } = bundle(SOURCE);
    for (const name of ['group.accept-move', 'group.accept']) {
      const loaded = requireWithCodeCache(file, cacheDir, name);
      loaded.saveCache();
      Reflect.deleteProperty(createRequire(file).cache, file);
    }
    assert.deepEqual(
      readdirSync(cacheDir).map((name) => name.replace(/-[0-9a-f]{16}-v8-.*/, '')).sort(),
      ['group.accept', 'group.accept-move'],
    );
  });

  it('compiles the bundle when the cache file is not V8\'s, and replaces it', () => {
    const { file, cacheDir } = bundle(SOURCE);
    start(file, cacheDir);
    const cacheFile = join(cacheDir, readdirSync(cacheDir)[0] ?? '');
    writeFileSync(cacheFile, 'not a code cache');
    assert.deepEqual(start(file, cacheDir), { cache: 'rejected', sum: 9 });
    assert.deepEqual(start(file, cacheDir), { cache: 'used', sum: 9 });
  });

  it('leaves no half-made module in require\'s cache when the bundle throws', () => {
    const { file, cacheDir } = bundle(`exports.before = 1; throw new Error('broken bundle');`);
    assert.throws(() => requireWithCodeCache(file, cacheDir), /broken bundle/);
    assert.equal(createRequire(file).cache[file], undefined);
  });

  it('skips saving, without throwing, where the cache cannot be written', () => {
    const { file } = bundle(SOURCE);
    // The cache directory's parent is a file: nothing can be made there.
    const blocked = join(file, 'code-cache');
    const loaded = requireWithCodeCache(file, blocked);
    assert.doesNotThrow(() => {
      loaded.saveCache();
    });
    assert.deepEqual(start(file, blocked), { cache: 'absent', sum: 9 });
  });

  it('makes the cache directory 0700 and its file 0600: what V8 loads from there runs as this process\'s code', () => {
    const { file, cacheDir } = bundle(SOURCE);
    start(file, cacheDir);
    assert.equal(statSync(cacheDir).mode & 0o777, 0o700);
    const [cacheFile] = readdirSync(cacheDir);
    assert.equal(statSync(join(cacheDir, cacheFile ?? '')).mode & 0o777, 0o600);
  });

  it('reads no cache from a directory or a file others can write, and makes its own directory private again when it writes', () => {
    const { file, cacheDir } = bundle(SOURCE);
    start(file, cacheDir);
    const cacheFile = join(cacheDir, readdirSync(cacheDir)[0] ?? '');
    chmodSync(cacheFile, 0o666);
    assert.deepEqual(start(file, cacheDir), { cache: 'not-private', sum: 9 });
    chmodSync(cacheFile, 0o600);
    assert.deepEqual(start(file, cacheDir), { cache: 'used', sum: 9 });

    chmodSync(cacheDir, 0o777);
    const loaded = requireWithCodeCache(file, cacheDir);
    assert.equal(loaded.cache, 'not-private');
    loaded.saveCache();
    assert.equal(statSync(cacheDir).mode & 0o777, 0o700);
    assert.deepEqual(start(file, cacheDir), { cache: 'used', sum: 9 });
  });

  it('reads no cache file that is a link (it could point anywhere)', () => {
    const { file, cacheDir } = bundle(SOURCE);
    start(file, cacheDir);
    const [name = ''] = readdirSync(cacheDir);
    // The real cache, moved out and linked back in under its name.
    const moved = join(dirname(cacheDir), 'elsewhere.cache');
    renameSync(join(cacheDir, name), moved);
    symlinkSync(moved, join(cacheDir, name));
    assert.equal(start(file, cacheDir).cache, 'absent');
  });

  it('reads no cache another user owns', { skip: process.getuid?.() === 0 ? false : 'only root can give a file to another user' }, () => {
    const { file, cacheDir } = bundle(SOURCE);
    start(file, cacheDir);
    const cacheFile = join(cacheDir, readdirSync(cacheDir)[0] ?? '');
    chownSync(cacheFile, 1, 1);
    assert.deepEqual(start(file, cacheDir), { cache: 'not-private', sum: 9 });
    chownSync(cacheFile, 0, 0);
    chownSync(cacheDir, 1, 1);
    assert.deepEqual(start(file, cacheDir), { cache: 'not-private', sum: 9 });
    // Nor writes one there.
    rmSync(cacheFile);
    assert.deepEqual(start(file, cacheDir), { cache: 'not-private', sum: 9 });
    assert.deepEqual(readdirSync(cacheDir), []);
  });
});

describe('userCodeCacheDir', () => {
  it('is in $XDG_CACHE_HOME when that is an absolute path, else in the platform\'s cache directory', () => {
    const home = '/home/jane';
    assert.equal(userCodeCacheDir('agent-pair', { XDG_CACHE_HOME: '/tmp/caches' }, 'linux', home), join('/tmp/caches', 'agent-pair', 'code-cache'));
    // A relative XDG_CACHE_HOME is ignored, as the XDG rule says.
    assert.equal(userCodeCacheDir('agent-pair', { XDG_CACHE_HOME: 'caches' }, 'linux', home), join(home, '.cache', 'agent-pair', 'code-cache'));
    assert.equal(userCodeCacheDir('agent-pair', {}, 'linux', home), join(home, '.cache', 'agent-pair', 'code-cache'));
    assert.equal(userCodeCacheDir('agent-pair', {}, 'darwin', home), join(home, 'Library', 'Caches', 'agent-pair', 'code-cache'));
    assert.equal(userCodeCacheDir('agent-pair', { LOCALAPPDATA: '/c/Users/jane/AppData/Local' }, 'win32', home), join('/c/Users/jane/AppData/Local', 'agent-pair', 'code-cache'));
    assert.equal(userCodeCacheDir('agent-pair', {}, 'win32', home), join(home, 'AppData', 'Local', 'agent-pair', 'code-cache'));
  });
});
