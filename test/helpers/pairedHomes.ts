// Two CLI homes paired through a real relay on port 0, for one test file whose subject is what
// comes after pairing (processes of the built CLI on those homes): made before its tests,
// removed after them.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { type RunningRelay, startRelay } from '../../src/relay/node.js';
import { CLI, pairHomes } from './cli.js';

/** Filled in by the file's `before` hook. */
export interface PairedHomes {
  relay: RunningRelay;
  aliceHome: string;
  bobHome: string;
}

/** Registers the file's hooks; `prefix` names its temporary directory. */
export function pairedHomesForFile(prefix: string): PairedHomes {
  const paired = {} as PairedHomes;
  let homes: string | undefined;
  before(async () => {
    assert.ok(existsSync(CLI), 'dist/cli.mjs is missing: run `npm run build` first (npm test does)');
    paired.relay = await startRelay({ host: '127.0.0.1', port: 0 });
    homes = await mkdtemp(join(tmpdir(), prefix));
    paired.aliceHome = join(homes, 'alice');
    paired.bobHome = join(homes, 'bob');
    await pairHomes(paired.relay.url, paired.aliceHome, paired.bobHome);
  });
  after(async () => {
    await paired.relay.close();
    if (homes !== undefined) await rm(homes, { recursive: true, force: true });
  });
  return paired;
}
