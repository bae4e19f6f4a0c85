// Two people on one machine message through the default local relay (issue 18): the built CLI
// starts it (dist/relay.mjs, on a SQLite file in the state directory), it is SIGKILLed, and a
// later `send` or `inbox` starts it again and finds what it held. Real processes throughout; the
// port and the state directory are a test's own (AGENT_PAIR_LOCAL_RELAY_PORT, AGENT_PAIR_STATE_DIR).

import '../helpers/nativeCurves.js';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LOCAL_RELAY_STATE_DIR_ENV, localRelayStorePath } from '../../src/node/localRelay.js';
import { relayAnswers } from '../../src/relay/embedded.js';
import { sqliteLockPath } from '../../src/relay/sqliteStore.js';
import { CLI, cliProcess, pairCliHomes } from '../helpers/cli.js';
import { freePort, untilExited } from '../helpers/relayProcess.js';
import { processAlive } from '../../src/node/pidFile.js';

let dir: string;
let stateDir: string;
let aliceHome: string;
let bobHome: string;
let localUrl: string;
let port: number;
const started = new Set<number>();

/** The pid of the local relay process that holds the store now (its pid lock names it). */
function relayPid(): number {
  const pid = Number(readFileSync(sqliteLockPath(localRelayStorePath(port)), 'utf8').trim());
  assert.ok(Number.isInteger(pid) && pid > 0 && processAlive(pid), 'a live relay process holds the store');
  started.add(pid);
  return pid;
}

async function killRelay(): Promise<void> {
  const pid = relayPid();
  process.kill(pid, 'SIGKILL');
  await untilExited(pid);
  assert.equal(await relayAnswers(localUrl), false);
}

before(async () => {
  assert.ok(existsSync(CLI), 'dist/cli.cjs is missing: run `npm run build` first (npm test does)');
  dir = await mkdtemp(join(tmpdir(), 'agent-pair-local-'));
  stateDir = join(dir, 'state');
  aliceHome = join(dir, 'alice');
  bobHome = join(dir, 'bob');
  port = await freePort();
  localUrl = `http://127.0.0.1:${port}`;
  // Every CLI this test file runs inherits these: the local relay is this test's own.
  process.env['AGENT_PAIR_LOCAL_RELAY_PORT'] = String(port);
  process.env[LOCAL_RELAY_STATE_DIR_ENV] = stateDir;
  await pairCliHomes(localUrl, aliceHome, bobHome);
});

after(async () => {
  // The relay the last command started too (its pid lock names it).
  const lock = sqliteLockPath(localRelayStorePath(port));
  if (existsSync(lock)) started.add(Number(readFileSync(lock, 'utf8').trim()));
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // exited already
    }
  }
  await rm(dir, { recursive: true, force: true });
});

describe('the default local relay keeps what it holds across a SIGKILL', () => {
  it('runs on a SQLite file in the state directory', () => {
    relayPid();
    assert.ok(existsSync(localRelayStorePath(port)));
    assert.ok(localRelayStorePath(port).startsWith(stateDir));
  });

  it('a message queued before the relay was killed is still there: the reader starts the relay again', async () => {
    const sent = await cliProcess(['send', 'bob', 'queued before the kill', '--json', '--home', aliceHome]);
    assert.equal(sent.code, 0, sent.stderr);
    await killRelay();

    const read = await cliProcess(['inbox', '--json', '--home', bobHome]);
    assert.equal(read.code, 0, read.stderr);
    assert.deepEqual(
      read.lines.filter((line) => line['event'] === 'message').map((line) => line['body']),
      [{ type: 'text', text: 'queued before the kill' }],
    );
    assert.ok(await relayAnswers(localUrl), 'inbox started the relay again');
  });

  it('a send after the relay was killed starts it again, and the other side reads the message', async () => {
    await killRelay();
    const sent = await cliProcess(['send', 'alice', 'sent after the kill', '--json', '--home', bobHome]);
    assert.equal(sent.code, 0, sent.stderr);
    const read = await cliProcess(['inbox', '--json', '--home', aliceHome]);
    assert.equal(read.code, 0, read.stderr);
    assert.deepEqual(
      read.lines.filter((line) => line['event'] === 'message').map((line) => line['body']),
      [{ type: 'text', text: 'sent after the kill' }],
    );
  });
});
