// The built CLI's code cache (src/cli/groupBundles.ts, src/node/codeCache.ts): a command loads
// its group's bundle (dist/cli-GROUP.cjs) with V8's code cache from this OS user's cache directory
// ($XDG_CACHE_HOME/agent-pair/code-cache here), one cache per command, written once the command
// is over. Real CLI
// processes: the cache is a speed-up only, so every case checks the command answers exactly as it
// does with no cache at all.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { type Finished, cliProcess } from '../helpers/cli.js';

const root = mkdtempSync(join(tmpdir(), 'agent-pair-cli-codecache-'));
after(() => {
  rmSync(root, { recursive: true, force: true });
});

let made = 0;
/** A cache home of its own ($XDG_CACHE_HOME), the CLI's cache directory in it, and an empty Agent Pair home. */
function fresh(): { env: { XDG_CACHE_HOME: string }; cacheDir: string; home: string } {
  const dir = join(root, String(made++));
  mkdirSync(dir);
  return { env: { XDG_CACHE_HOME: join(dir, 'cache') }, cacheDir: join(dir, 'cache', 'agent-pair', 'code-cache'), home: join(dir, 'home') };
}

/** The cache file `command` keeps of this build of its group's bundle (dist/cli-home.cjs), on this Node. */
const homeGroupCache = (command: string): string =>
  `cli-home.cjs.${command}-${createHash('sha256')
    .update(readFileSync(resolve(import.meta.dirname, '../../dist/cli-home.cjs'), 'utf8'))
    .digest('hex')
    .slice(0, 16)}-v8-${process.versions.v8}.cache`;
const HOME_GROUP_CACHE = homeGroupCache('peers');

const peers = (home: string, env: Record<string, string>): Promise<Finished> => cliProcess(['peers', '--home', home], undefined, undefined, env);
const answer = ({ code, stdout, stderr }: Finished): unknown => ({ code, stdout, stderr });

describe("the CLI's code cache", () => {
  it("keeps a command group's compiled code after its first command, 0600 in a 0700 directory, and the next command reads it and answers the same", async () => {
    const { env, cacheDir, home } = fresh();
    const first = await peers(home, env);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(readdirSync(cacheDir), [HOME_GROUP_CACHE]);
    const cacheFile = join(cacheDir, HOME_GROUP_CACHE);
    assert.equal(statSync(cacheDir).mode & 0o777, 0o700);
    assert.equal(statSync(cacheFile).mode & 0o777, 0o600);
    const written = statSync(cacheFile);

    const second = await peers(home, env);
    assert.deepEqual(answer(second), answer(first));
    // Used, so not written again (a cache compiled anew is written to a new file renamed over it).
    const after = statSync(cacheFile);
    assert.deepEqual([after.ino, after.mtimeMs], [written.ino, written.mtimeMs]);

    // Another command of the group keeps its own, beside it.
    assert.equal((await cliProcess(['whoami', '--home', home], undefined, undefined, env)).code, 1);
    assert.deepEqual(readdirSync(cacheDir).sort(), [HOME_GROUP_CACHE, homeGroupCache('whoami')].sort());
  });

  it("removes another build's cache, and replaces a file of this build's name that V8 refuses, answering as with no cache", async () => {
    const { env, cacheDir, home } = fresh();
    const uncached = await peers(home, { XDG_CACHE_HOME: join(root, 'unused-cache') });
    mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
    const otherBuild = `cli-home.cjs.peers-0123456789abcdef-v8-${process.versions.v8}.cache`;
    writeFileSync(join(cacheDir, otherBuild), 'the code cache of another build', { mode: 0o600 });
    writeFileSync(join(cacheDir, HOME_GROUP_CACHE), 'not a code cache', { mode: 0o600 });

    assert.deepEqual(answer(await peers(home, env)), answer(uncached));
    assert.deepEqual(readdirSync(cacheDir), [HOME_GROUP_CACHE]);
    assert.notEqual(readFileSync(join(cacheDir, HOME_GROUP_CACHE), 'utf8'), 'not a code cache');
    assert.deepEqual(answer(await peers(home, env)), answer(uncached));
  });

  it('runs as with no cache where none can be made (the cache home is a file), and where the directory is not private (made private again)', async () => {
    const { env, cacheDir, home } = fresh();
    const expected = answer(await peers(home, env));
    const blocked = join(root, `a-file-${made}`);
    writeFileSync(blocked, '');
    assert.deepEqual(answer(await peers(home, { XDG_CACHE_HOME: blocked })), expected);

    // The cache directory, emptied and made writable by anyone.
    rmSync(cacheDir, { recursive: true });
    mkdirSync(cacheDir);
    chmodSync(cacheDir, 0o777);
    assert.deepEqual(answer(await peers(home, env)), expected);
    assert.equal(statSync(cacheDir).mode & 0o777, 0o700);
    assert.deepEqual(readdirSync(cacheDir), [HOME_GROUP_CACHE]);
    assert.deepEqual(answer(await peers(home, env)), expected);
  });
});
