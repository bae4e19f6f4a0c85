// RelayChoice and the shared local relay's process: started detached when nothing answers, used
// by every other "window" (RelayChoice), surviving the one that started it, stopped through its
// record from any of them. Real relay processes (dist/relay.mjs) on free
// ports, never 8771; every process a test started is killed in afterEach, even on failure.

import '../helpers/nativeCurves.js';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, it } from 'node:test';
import { isPairError } from '../../src/core/errors.js';
import { createRelayConnector } from '../../src/relay/client.js';
import { relayAnswers } from '../../src/relay/embedded.js';
import { startRelay } from '../../src/relay/node.js';
import { LOCAL_RELAY_IDLE_EXIT_SECONDS, type LocalRelayEvent, type LocalRelayStatus, RelayChoice, RelayChoiceError, type RelayCommand, isRelayChoiceError, localRelayRecordFile, startingLocalRelay } from '../../src/node/localRelay.js';
import { localRelayFailureWords } from '../../src/cli/words.js';
import { localRelayLogLine, relayChoiceFailureWords } from '../../src/vscode/relayWords.js';
import { Pids, REPO_ROOT, RELAY_COMMAND, freePort, untilExited } from '../helpers/relayProcess.js';
import { processAlive } from '../../src/node/pidFile.js';
import { scriptArgs } from '../helpers/scripts.js';
import { bothWaitForSas, makeSide } from '../helpers/sides.js';

const pids = new Pids();
const dirs: string[] = [];
const logs: string[][] = [];
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const lines of logs.splice(0)) pids.addFromLog(lines);
  pids.killAll();
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup().catch(() => undefined)));
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

const RELAY_START_TIMEOUT_MS = 20_000;

/** The global storage of one user's windows (shared by all their RelayChoices). */
async function stateDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'agent-pair-state-'));
  dirs.push(dir);
  return join(dir, 'globalStorage'); // not created yet, as in a fresh VS Code profile
}

function choice(port: number, state: string, options: { configured?: string; relayCommand?: RelayCommand; startTimeoutMs?: number } = {}): { relays: RelayChoice; events: LocalRelayEvent[] } {
  const events: LocalRelayEvent[] = [];
  const lines: string[] = [];
  logs.push(lines);
  const relays = new RelayChoice({
    configuredUrl: () => options.configured ?? '',
    port,
    stateDir: state,
    // Beside the record, in this test's own directory, never the person's state directory.
    storePath: join(state, 'relay.sqlite'),
    relayCommand: options.relayCommand ?? RELAY_COMMAND,
    // A relay process compiles SQLite's WebAssembly as it starts: on a loaded machine that can
    // take longer than the 5 s budget, which is not what these test.
    startTimeoutMs: options.startTimeoutMs ?? RELAY_START_TIMEOUT_MS,
    onEvent: (event) => {
      events.push(event);
      lines.push(localRelayLogLine(event)); // names every pid, for the cleanup
    },
  });
  return { relays, events };
}

function pidOf(status: LocalRelayStatus | undefined): number {
  assert.ok(status?.process, 'a window started the relay (its record names it)');
  pids.add(status.process.pid);
  return status.process.pid;
}

describe('RelayChoice (the shared local relay, in a process of its own)', () => {
  it('starts a relay process when nothing answers, and another window uses it', async () => {
    const port = await freePort();
    const state = await stateDir();
    const url = `http://127.0.0.1:${port}`;
    const first = choice(port, state);
    const second = choice(port, state);
    assert.equal(await first.relays.localStatus(), undefined);

    const began = Date.now();
    const started = await first.relays.ensureLocal();
    const pid = pidOf(started);
    assert.ok(Date.now() - began < RELAY_START_TIMEOUT_MS);
    assert.deepEqual({ ...started, process: undefined }, { url, started: true, process: undefined });
    assert.notEqual(pid, process.pid);
    assert.equal(started.process?.url, url);
    const said = first.events.find((event) => event.type === 'started');
    assert.deepEqual({ ...said, ms: undefined }, { type: 'started', url, process: started.process, ms: undefined, idleExitSeconds: LOCAL_RELAY_IDLE_EXIT_SECONDS });

    // The record, in the shared state directory, readable by this user only.
    const recordPath = join(state, localRelayRecordFile(port));
    assert.deepEqual(JSON.parse(await readFile(recordPath, 'utf8')), started.process);
    if (process.platform !== 'win32') assert.equal((await stat(recordPath)).mode & 0o777, 0o600);

    const used = await second.relays.ensureLocal();
    assert.deepEqual(used, { url, started: false, process: started.process });
    assert.deepEqual(await second.relays.localStatus(), { url, started: false, process: started.process });
    assert.equal(LOCAL_RELAY_IDLE_EXIT_SECONDS, 600);
  });

  it('keeps the relay after the window that started it goes, and a pairing opened before completes after', async () => {
    const port = await freePort();
    const state = await stateDir();
    const url = `http://127.0.0.1:${port}`;
    // The first window is a process of its own, as an extension host is.
    const windowScript = fileURLToPath(new URL('../helpers/relayWindow.ts', import.meta.url));
    const window = spawn(process.execPath, [...scriptArgs(windowScript), String(port), state], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    pids.add(window.pid);
    const windowGone = new Promise((resolve) => window.once('exit', resolve));
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      window.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
        pids.addFromLog([out]);
        const status = /^status (.*)$/m.exec(out);
        if (status?.[1] !== undefined) resolve(status[1]);
      });
      window.once('exit', (code) => {
        reject(new Error(`the window exited with ${String(code)}`));
      });
    });
    const status = JSON.parse(line) as LocalRelayStatus;
    assert.equal(status.started, true);
    const relayPid = pidOf(status);

    // Alice hosts through it, Bob is ready to join; then the window reloads: its extension host
    // (and its whole process group) is killed outright.
    const alice = await makeSide(url, 'alice');
    const bob = await makeSide(url, 'bob');
    const opened = await alice.store.open('host', url);
    assert.ok(window.pid !== undefined);
    process.kill(-window.pid, 'SIGKILL');
    await windowGone;
    assert.ok(processAlive(relayPid), 'the relay process outlived the window');

    // The reloaded window finds the same relay, and the pairing finishes through it.
    const reloaded = choice(port, state);
    assert.deepEqual(await reloaded.relays.ensureLocal(), { url, started: false, process: status.process });
    const joined = await bob.store.open('guest', url, opened.code);
    const ids = { hostId: opened.sessionId, guestId: joined.sessionId };
    await bothWaitForSas(alice, bob, ids);
    const [aliceSas, bobSas] = [alice.store.sasForPerson(ids.hostId), bob.store.sasForPerson(ids.guestId)];
    await alice.store.confirmSas(ids.hostId, bobSas);
    await bob.store.confirmSas(ids.guestId, aliceSas);
    const [hostDone, guestDone] = await Promise.all([alice.store.finalize(ids.hostId, 10_000), bob.store.finalize(ids.guestId, 10_000)]);
    assert.equal(hostDone.peer?.fingerprint, bob.fingerprint);
    assert.equal(guestDone.peer?.fingerprint, alice.fingerprint);
  });

  it('keeps the relay when the window that started it is gone', async () => {
    const port = await freePort();
    const state = await stateDir();
    // The window holds nothing of the relay: once it started it, it may go.
    const pid = pidOf(await choice(port, state).relays.ensureLocal());
    assert.ok(await relayAnswers(`http://127.0.0.1:${port}`));
    assert.equal(pidOf(await choice(port, state).relays.localStatus()), pid);
  });

  it('lets windows racing to start it end up on one relay', async () => {
    const port = await freePort();
    const state = await stateDir();
    const windows = [choice(port, state), choice(port, state), choice(port, state)];
    const statuses = await Promise.all(windows.map((window) => window.relays.ensureLocal()));
    const winners = statuses.filter((status) => status.started);
    assert.equal(winners.length, 1, JSON.stringify(statuses));
    const pid = pidOf(winners[0]);
    for (const status of statuses) {
      assert.equal(status.url, `http://127.0.0.1:${port}`);
      assert.equal(status.process?.pid, pid);
    }
    // The losers' processes found the port taken and exited; only the winner runs.
    const spawned = windows.flatMap((window) => window.events.flatMap((event) => (event.type === 'starting' && event.pid !== undefined ? [event.pid] : [])));
    assert.ok(spawned.includes(pid));
    for (const other of spawned.filter((candidate) => candidate !== pid)) await untilExited(other);
    assert.ok(processAlive(pid));
  });

  it('stops the relay from another window through the record, and the next need starts a new one', async () => {
    const port = await freePort();
    const state = await stateDir();
    const url = `http://127.0.0.1:${port}`;
    const first = choice(port, state);
    const pid = pidOf(await first.relays.ensureLocal());
    const other = choice(port, state);
    const stopped = await other.relays.stopLocal();
    assert.equal(stopped.outcome, 'stopped');
    assert.ok(!(await relayAnswers(url)));
    await untilExited(pid);
    await assert.rejects(stat(join(state, localRelayRecordFile(port))), { code: 'ENOENT' });
    assert.deepEqual(other.events.filter((event) => event.type === 'stopped'), [{ type: 'stopped', process: stopped.process }]);
    assert.deepEqual(await other.relays.stopLocal(), { outcome: 'not_running' });

    // What the pairing driver's relayLost does: the next need starts a new relay process.
    const restarted = await first.relays.ensureLocal();
    assert.equal(restarted.started, true);
    assert.notEqual(pidOf(restarted), pid);
  });

  it('leaves a relay another process runs (no record) alone', async () => {
    const port = await freePort();
    const state = await stateDir();
    const cli = await startRelay({ port }); // as `agent-pair host` runs one in-process
    cleanups.push(() => cli.close());
    const { relays } = choice(port, state);
    assert.deepEqual(await relays.ensureLocal(), { url: cli.url, started: false });
    assert.deepEqual(await relays.localStatus(), { url: cli.url, started: false });
    assert.deepEqual(await relays.stopLocal(), { outcome: 'other_process' });
    assert.ok(await relayAnswers(cli.url));
  });

  it('drops a stale record: a dead pid, or (on Linux) a live process that is not the relay', async () => {
    const port = await freePort();
    const state = await stateDir();
    const cli = await startRelay({ port });
    cleanups.push(() => cli.close());
    const { relays } = choice(port, state);
    const recordPath = join(state, localRelayRecordFile(port));
    await mkdir(state, { recursive: true });

    const dead = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => dead.once('exit', resolve));
    assert.ok(dead.pid !== undefined);
    await writeFile(recordPath, JSON.stringify({ pid: dead.pid, url: cli.url, startedAt: new Date().toISOString() }));
    assert.deepEqual(await relays.localStatus(), { url: cli.url, started: false });
    await assert.rejects(stat(recordPath), { code: 'ENOENT' });

    if (process.platform === 'linux') {
      // A record naming a live process that is not a relay (here: this test runner) is never signalled.
      await writeFile(recordPath, JSON.stringify({ pid: process.pid, url: cli.url, startedAt: new Date().toISOString() }));
      assert.deepEqual(await relays.stopLocal(), { outcome: 'other_process' });
      await assert.rejects(stat(recordPath), { code: 'ENOENT' });
    }
    assert.ok(await relayAnswers(cli.url));
  });

  it('fails clearly when something else holds the port', async () => {
    const squatter = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          squatter.close(() => {
            resolve();
          });
        }),
    );
    const address = squatter.address();
    assert.ok(address !== null && typeof address !== 'string');
    const { relays } = choice(address.port, await stateDir());
    await assert.rejects(relays.ensureLocal(), (error: unknown) => {
      assert.ok(isRelayChoiceError(error) && isPairError(error, 'relay_unreachable'), String(error));
      assert.deepEqual(error.failure, { reason: 'process_ended', url: `http://127.0.0.1:${address.port}`, port: address.port, detail: 'exit code 1' });
      return true;
    });
  });

  it('fails clearly when the relay process cannot run, or never answers', async () => {
    const port = await freePort();
    const missing = choice(port, await stateDir(), { relayCommand: { command: join(tmpdir(), 'no-such-node'), args: [] } });
    await assert.rejects(missing.relays.ensureLocal(), (error: unknown) => isRelayChoiceError(error) && error.code === 'relay_unreachable' && error.failure.reason === 'process_ended' && error.failure.detail.includes('ENOENT'));

    const silent = choice(port, await stateDir(), { relayCommand: { command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)', '--'] }, startTimeoutMs: 500 });
    await assert.rejects(silent.relays.ensureLocal(), (error: unknown) => isRelayChoiceError(error) && error.code === 'relay_unreachable' && JSON.stringify(error.failure) === JSON.stringify({ reason: 'no_answer', url: `http://127.0.0.1:${port}`, waitedMs: 500 }));
    const spawned = silent.events.flatMap((event) => (event.type === 'starting' && event.pid !== undefined ? [event.pid] : []));
    assert.equal(spawned.length, 1);
    await untilExited(spawned[0] ?? 0); // killed, not left behind
  });

  it('uses the configured relay, normalised, and the local one when the setting is empty', () => {
    assert.equal(choice(8771, '/nonexistent', { configured: '  https://Relay.Example.com/base/ ' }).relays.forNewPairing(), 'https://relay.example.com/base');
    assert.equal(choice(8771, '/nonexistent').relays.forNewPairing(), 'http://127.0.0.1:8771');
    assert.equal(choice(8771, '/nonexistent').relays.configured(), undefined);
  });

  it('names the setting when it holds no usable URL', () => {
    for (const bad of ['relay.example.com', 'ftp://relay', 'https://user:pw@relay.example.com']) {
      assert.throws(() => choice(8771, '/nonexistent', { configured: bad }).relays.forNewPairing(), (error: unknown) => isRelayChoiceError(error) && error.code === 'bad_input' && error.failure.reason === 'bad_configured_url' && error.failure.value === bad, bad);
    }
  });

  it('says nothing in any adapter\'s words: VS Code names its setting, the CLI its --relay option', () => {
    const failure = { reason: 'process_ended', url: 'http://127.0.0.1:8771', port: 8771, detail: 'exit code 1' } as const;
    const error = new RelayChoiceError(failure);
    assert.ok(!error.message.includes('agentPair.relayUrl') && !error.message.includes('--relay'), error.message);
    // Pins wording on purpose: each adapter's advice names its own way to choose a relay.
    assert.ok(relayChoiceFailureWords(failure).includes('set agentPair.relayUrl'));
    assert.ok(localRelayFailureWords(failure, 'node dist/cli.cjs').includes('node dist/cli.cjs relay') && localRelayFailureWords(failure, 'agent-pair').includes('--relay URL'));
    assert.ok(!localRelayFailureWords(failure, 'agent-pair').includes('agentPair.relayUrl'));
  });

  it('recognises the local relay in any spelling', () => {
    const { relays } = choice(8771, '/nonexistent');
    assert.ok(relays.isLocal('http://127.0.0.1:8771/'));
    assert.ok(!relays.isLocal('http://127.0.0.1:8772'));
    assert.ok(!relays.isLocal('http://localhost:8771'));
  });
});

describe('startingLocalRelay', () => {
  it('starts the local relay before opening a pairing on it, so an agent need not', async () => {
    const port = await freePort();
    const state = await stateDir();
    const { relays } = choice(port, state);
    const connector = startingLocalRelay(createRelayConnector({ retries: 0 }), relays);
    const opened = await connector(`http://127.0.0.1:${port}`).openHost();
    assert.match(opened.nameplate, /^[1-9][0-9]*$/);
    pidOf(await relays.localStatus());
  });

  it('starts the local relay again when a send, read or acknowledgement finds it gone, and the inbox is still there (SQLite)', async () => {
    const port = await freePort();
    const state = await stateDir();
    const { relays } = choice(port, state);
    const connector = startingLocalRelay(createRelayConnector({ retries: 0 }), relays);
    const relay = connector(`http://127.0.0.1:${port}`);
    const inbox = await relay.allocateSlot();
    const grant = await relay.grant(inbox.slotId, inbox.ownerToken);
    const envelope = Buffer.alloc(40, 1).toString('base64');
    for (const step of ['post', 'read'] as const) {
      const first = pidOf(await relays.localStatus());
      process.kill(first, 'SIGKILL');
      await untilExited(first);
      if (step === 'post') await relay.postMessage(inbox.slotId, grant.sendToken, envelope);
      else assert.deepEqual((await relay.readMessages(inbox.slotId, inbox.ownerToken, { after: 0 })).messages.map((message) => message.value), [envelope]);
      assert.notEqual(pidOf(await relays.localStatus()), first, `the ${step} started a new relay process`);
    }
  });

  it('leaves other relays alone', async () => {
    const port = await freePort();
    const { relays } = choice(port, await stateDir());
    const connector = startingLocalRelay(createRelayConnector({ retries: 0 }), relays);
    const other = await freePort();
    await assert.rejects(connector(`http://127.0.0.1:${other}`).openHost(), (error: unknown) => isPairError(error, 'relay_unreachable'));
    assert.equal(await relays.localStatus(), undefined);
  });
});
