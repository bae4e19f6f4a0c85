// Which of Node's own modules a `send` of the built CLI loads: each is compiled at every start
// (issue 20's start-up row for send). Read in a process of the built CLI, preloaded with a
// module that prints Node's list of loaded modules when the process exits.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { CLI } from '../helpers/cli.js';
import { pairedHomesForFile } from '../helpers/pairedHomes.js';

const paired = pairedHomesForFile('agent-pair-send-loads-');
let preloadDir: string;
let preload: string;

const LIST_MARK = 'node-modules-loaded:';

before(async () => {
  preloadDir = await mkdtemp(join(tmpdir(), 'agent-pair-send-loads-preload-'));
  preload = join(preloadDir, 'list-modules.cjs');
  await writeFile(preload, `process.on('exit', () => process.stderr.write(${JSON.stringify(LIST_MARK)} + JSON.stringify(process.moduleLoadList) + '\\n'));\n`);
});
after(async () => {
  await rm(preloadDir, { recursive: true, force: true });
});

/** Node's built-in modules loaded by the time `args` of the CLI exited (which must be 0). */
async function nodeModulesLoadedBy(args: string[]): Promise<string[]> {
  const { stderr } = await promisify(execFile)(process.execPath, ['--require', preload, CLI, ...args], { env: { ...process.env, AGENT_PAIR_HOME: '' } });
  const line = stderr.split('\n').find((text) => text.startsWith(LIST_MARK));
  assert.ok(line !== undefined, `no module list in: ${stderr}`);
  return (JSON.parse(line.slice(LIST_MARK.length)) as string[]).filter((name) => name.startsWith('NativeModule ')).map((name) => name.slice('NativeModule '.length));
}

describe('what a send loads of Node', () => {
  it('a send sealed and delivered loads no WebCrypto (HPKE draws its ephemeral key from node:crypto and computes without crypto.subtle)', async () => {
    const loaded = await nodeModulesLoadedBy(['send', 'bob', 'sealed without WebCrypto', '--home', paired.aliceHome]);
    assert.ok(loaded.includes('http'), 'the send did not reach the network');
    assert.ok(!loaded.includes('internal/crypto/webcrypto'), 'a send loaded WebCrypto');
  });

  it('a send, its home read and written, loads no node:fs/promises (node/fsAsync.ts: the callback API as promises)', async () => {
    const loaded = await nodeModulesLoadedBy(['send', 'bob', 'stored without fs/promises', '--home', paired.aliceHome]);
    assert.ok(loaded.includes('http'), 'the send did not reach the network');
    assert.ok(!loaded.includes('fs/promises') && !loaded.includes('internal/fs/promises'), 'a send loaded node:fs/promises');
  });
});
