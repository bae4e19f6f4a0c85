// The standalone relay's process (src/relay/main.ts, built as dist/relay.mjs): how it prints a
// mistake and its help, the record it leaves for whoever wants to stop it, a graceful SIGTERM,
// and the idle exit VS Code's local relay relies on. Real processes on free ports, run
// concurrently (the idle waits add up); every one is killed in `after`, even when a test failed.
// What its command line means (each mistake, the environment, the help's text) is decided in
// this process by the function main runs (src/relay/commandLine.ts), not by a relay process
// each (about 0.13 CPU-seconds a start).

import '../helpers/nativeCurves.js';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../../src/core/errors.js';
import { parseRelayCommandLine, relayUsage } from '../../src/relay/commandLine.js';
import { relayAnswers } from '../../src/relay/embedded.js';
import { Pids, RELAY_MAIN, REPO_ROOT, freePort, runRelayMain, runRelayMainRaw } from '../helpers/relayProcess.js';
import { bothWaitForSas, makeSide } from '../helpers/sides.js';

describe('the relay process (src/relay/main.ts)', { concurrency: true }, () => {
  const pids = new Pids();
  const dirs: string[] = [];
  after(async () => {
    pids.killAll();
    await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });

  async function tempDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'agent-pair-relay-'));
    dirs.push(dir);
    return dir;
  }

  it('prints a mistake in its command line or environment as one line, relay: first, and exits 2', async () => {
    // AGENT_PAIR_RELAY_STORE: the process reads its own environment (the mistakes themselves are
    // the command line's, in this process below).
    const child = spawn(process.execPath, [RELAY_MAIN, '--port', '0'], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, AGENT_PAIR_RELAY_STORE: 'nope' } });
    pids.add(child.pid);
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    assert.equal(await new Promise<number | null>((resolve) => child.once('close', resolve)), 2);
    assert.match(stderr, /^relay: --store nope is not a store; expected memory, sqlite:PATH .*\n$/);
  });

  it('exits 1 naming the store when Redis does not answer at --store', async () => {
    const port = await freePort();
    const relay = runRelayMainRaw(['--port', '0', '--store', `redis://127.0.0.1:${port}`], pids);
    assert.equal((await relay.exited).code, 1);
    // Where (the URL without its password) and what to check, not ioredis's "Connection is closed".
    assert.match(relay.stderr(), new RegExp(`^relay: cannot reach Redis at redis://127\\.0\\.0\\.1:${port}/0 \\(nothing accepts connections there\\); check that redis-server runs there`));
    assert.doesNotMatch(relay.stderr(), /Connection is closed/);
  });

  it('--help names the script as it was run and every option of the shared table with its environment variable', async () => {
    const relay = runRelayMainRaw(['--help'], pids);
    assert.equal((await relay.exited).code, 0);
    assert.match(relay.stdout(), /^Usage: node dist\/relay\.mjs \[--host ADDRESS\] \[--port PORT\] \[--store STORE\] \[--trust-proxy CIDRS\] \[--idle-exit SECONDS\] \[--record FILE\]\n/);
    for (const env of ['AGENT_PAIR_RELAY_HOST', 'AGENT_PAIR_RELAY_PORT', 'AGENT_PAIR_RELAY_STORE', 'AGENT_PAIR_RELAY_TRUST_PROXY', 'AGENT_PAIR_RELAY_IDLE_EXIT']) assert.match(relay.stdout(), new RegExp(`\\(env ${env}\\)`));
    assert.match(relay.stdout(), /--store STORE +.*sqlite:PATH/);
  });

  it('says where Redis was looked for, without the password, when it does not answer', async () => {
    const port = await freePort();
    const relay = runRelayMainRaw(['--port', '0', '--store', `redis://:hunter2@127.0.0.1:${port}/3`], pids);
    assert.equal((await relay.exited).code, 1);
    assert.match(relay.stderr(), new RegExp(`cannot reach Redis at redis://127\\.0\\.0\\.1:${port}/3 `));
    assert.doesNotMatch(relay.stderr(), /hunter2/);
  });

  it('writes its record (0600) once listening, and removes it when SIGTERM closes it gracefully', async () => {
    const record = join(await tempDir(), 'local-relay.json');
    const relay = await runRelayMain(['--port', '0', '--record', record], pids);
    const written = JSON.parse(await readFile(record, 'utf8')) as { pid: number; url: string; startedAt: string };
    assert.equal(written.pid, relay.child.pid);
    assert.equal(written.url, relay.url);
    assert.ok(Math.abs(Date.parse(written.startedAt) - Date.now()) < 60_000);
    if (process.platform !== 'win32') assert.equal((await stat(record)).mode & 0o777, 0o600);
    relay.child.kill('SIGTERM');
    assert.deepEqual(await relay.exited, { code: 0, signal: null });
    await assert.rejects(stat(record), { code: 'ENOENT' });
  });

  it('says clearly when the port is taken, and exits 1', async () => {
    const first = await runRelayMain(['--port', '0'], pids);
    const port = new URL(first.url).port;
    const second = runRelayMainRaw(['--port', port], pids);
    assert.equal((await second.exited).code, 1);
    assert.match(second.stderr(), new RegExp(`^relay: 127\\.0\\.0\\.1:${port} is already in use \\(.*\\); stop it, or choose another port with --port\n$`));
    assert.ok(await relayAnswers(first.url));
  });

  it('exits (code 0) after --idle-exit 2 with nothing open', async () => {
    const began = Date.now();
    const relay = await runRelayMain(['--port', '0', '--idle-exit', '2'], pids);
    const listening = Date.now();
    // A health check that reaches it restarts the idle time; on a machine loaded enough that it
    // arrives after the relay went, the idle time is counted from before the relay started.
    const answered = await relayAnswers(relay.url);
    assert.deepEqual(await relay.exited, { code: 0, signal: null });
    const idleMs = Date.now() - (answered ? listening : began);
    assert.ok(idleMs >= 2000, `exited ${idleMs} ms after ${answered ? 'listening' : 'being started'} (${listening - began} ms to start)`);
    assert.match(relay.stdout(), /idle for 2 s; exiting/);
  });

  it('never exits idle by default (0)', async () => {
    const relay = await runRelayMain(['--port', '0'], pids);
    await sleep(1500);
    assert.equal(relay.child.exitCode, null);
  });

  it('stays while a pairing slot is open, longer than the idle time, and exits once the pairing is done', async () => {
    // 8 s, not 1: until the host opens, the relay is idle, and a machine at a load of 20 took
    // more than 3 s to make the host's identity.
    const relay = await runRelayMain(['--port', '0', '--idle-exit', '8'], pids);
    // Identities bind an inbox slot there: inbox slots alone do not keep the relay alive, the pair slot does.
    const alice = await makeSide(relay.url, 'alice');
    const opened = await alice.store.open('host', relay.url);
    const bob = await makeSide(relay.url, 'bob');
    await sleep(8500); // no request at all meanwhile, longer than the idle time
    assert.equal(relay.child.exitCode, null, 'the relay kept running with a slot open');
    assert.ok(await relayAnswers(relay.url));

    const joined = await bob.store.open('guest', relay.url, opened.code);
    const ids = { hostId: opened.sessionId, guestId: joined.sessionId };
    await bothWaitForSas(alice, bob, ids);
    const sas = alice.store.sasForPerson(ids.hostId);
    await alice.store.confirmSas(ids.hostId, sas);
    await bob.store.confirmSas(ids.guestId, sas);
    const [hostDone, guestDone] = await Promise.all([alice.store.finalize(ids.hostId, 10_000), bob.store.finalize(ids.guestId, 10_000)]);
    assert.equal(hostDone.state, 'finalized');
    assert.equal(guestDone.state, 'finalized');
    // Both wrote `done`, so the slot is gone: the relay is idle now and exits.
    assert.deepEqual(await relay.exited, { code: 0, signal: null });
  });
});

describe('the relay process\'s command line (src/relay/commandLine.ts), in this process', () => {
  /** The one-line message `args` (and `env`) are refused with. */
  function refusal(args: string[], env: NodeJS.ProcessEnv = {}): string {
    try {
      parseRelayCommandLine(args, env);
    } catch (error) {
      return errorMessage(error);
    }
    return assert.fail(`${args.join(' ')} was not refused`);
  }

  it('refuses a bad --idle-exit, --port, --store or --trust-proxy, naming it and the shape it expects', () => {
    const notSeconds = /^--idle-exit .* is not a number of seconds; expected a whole number of seconds, 0 to never exit$/;
    const cases: [string[], RegExp][] = [
      [['--idle-exit', 'soon'], notSeconds],
      [['--idle-exit=-1'], notSeconds],
      [['--idle-exit', '1.5'], notSeconds],
      [['--idle-exit', ''], notSeconds],
      [['--idle-exit'], /^--idle-exit needs a value$/],
      [['--port', '70000'], /^--port "70000" is not a port; expected a whole number from 0 to 65535$/],
      [['--port', 'x'], /^--port "x" is not a port/],
      [['--store', 'http://127.0.0.1:6379'], /^--store http:\/\/127\.0\.0\.1:6379 is not a store; expected memory, sqlite:PATH .* or redis:\/\/HOST:PORT\[\/DB\]$/],
      [['--store', 'sqlite:'], /^--store sqlite: has no file path; expected memory, sqlite:PATH/],
      [['--store', 'redis://:hunter2@127.0.0.1:6379/x'], /^--store redis:\/\/\*\*\*@127\.0\.0\.1:6379\/x has database x/],
      [['--trust-proxy', '10.0.0.0/33'], /^--trust-proxy 10\.0\.0\.0\/33 is not an address or CIDR; expected a list like 10\.0\.0\.0\/8,::1$/],
      [['--trust-proxy', 'proxy.local'], /^--trust-proxy proxy\.local is not an address or CIDR/],
    ];
    for (const [args, expected] of cases) assert.match(refusal(['--port', '0', ...args]), expected, args.join(' '));
  });

  it('reads AGENT_PAIR_RELAY_IDLE_EXIT and AGENT_PAIR_RELAY_STORE like the flags, and the flag wins', () => {
    assert.match(refusal(['--port', '0'], { AGENT_PAIR_RELAY_IDLE_EXIT: 'never' }), /^--idle-exit "never" is not a number of seconds/);
    assert.match(refusal(['--port', '0'], { AGENT_PAIR_RELAY_STORE: 'nope' }), /^--store nope is not a store/);
    assert.deepEqual(parseRelayCommandLine(['--port', '0'], { AGENT_PAIR_RELAY_IDLE_EXIT: '5', AGENT_PAIR_RELAY_STORE: 'memory' }), { kind: 'run', settings: { port: 0, store: 'memory', 'idle-exit': 5 } });
    assert.deepEqual(parseRelayCommandLine(['--idle-exit', '7'], { AGENT_PAIR_RELAY_IDLE_EXIT: '5' }), { kind: 'run', settings: { 'idle-exit': 7 } });
  });

  it('--help (or -h) asks for the help, which names every option of the shared table with its environment variable', () => {
    assert.deepEqual(parseRelayCommandLine(['--help'], {}), { kind: 'help' });
    assert.deepEqual(parseRelayCommandLine(['-h', '--port', 'x'], {}), { kind: 'help' });
    const help = relayUsage('node dist/relay.mjs');
    assert.match(help, /^Usage: node dist\/relay\.mjs \[--host ADDRESS\] \[--port PORT\] \[--store STORE\] \[--trust-proxy CIDRS\] \[--idle-exit SECONDS\] \[--record FILE\]\n/);
    for (const env of ['AGENT_PAIR_RELAY_HOST', 'AGENT_PAIR_RELAY_PORT', 'AGENT_PAIR_RELAY_STORE', 'AGENT_PAIR_RELAY_TRUST_PROXY', 'AGENT_PAIR_RELAY_IDLE_EXIT']) assert.match(help, new RegExp(`\\(env ${env}\\)`));
    assert.match(help, /--store STORE +.*sqlite:PATH/);
  });
});
