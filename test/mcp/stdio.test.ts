// `agent-pair mcp` on stdio, and the person confirming in a terminal (`agent-pair confirm`) when
// the MCP client cannot ask them: the server runs the pairing and is its only writer; the
// terminal hands the digits to it over the home's local channel. Two stdio servers and their
// confirm processes, from the built bundle; then a client that starts a server per call, as the
// MCP Inspector's CLI does.

import '../helpers/nativeCurves.js';
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { type RunningRelay, startRelay } from '../../src/relay/node.js';
import { localRelayRecordFile, localRelayStateDir } from '../../src/node/localRelay.js';
import { Pids, freePort } from '../helpers/relayProcess.js';
import { makeSide } from '../helpers/sides.js';
import { errorCodeOf, errorOf, sessionOf, textOf } from './agents.js';
import { cliProcess, pairedPeer } from '../helpers/cli.js';
import { KEY_EXCHANGE_QUIET_ENV } from '../../src/cli/pair.js';
import { gate, until } from '../helpers/until.js';

const REPO = resolve(import.meta.dirname, '../..');
const CLI_BUNDLE = join(REPO, 'dist/cli.cjs');

/** The built CLI, to the end; stdin closed. */
function runCli(args: string[]): { exited: Promise<number>; stdout: () => string; stderr: () => string } {
  const child = spawn(process.execPath, [CLI_BUNDLE, ...args], { cwd: REPO });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end();
  const exited = new Promise<number>((resolveExit) => child.once('exit', (code) => { resolveExit(code ?? -1); }));
  return { exited, stdout: () => stdout, stderr: () => stderr };
}

let relay: RunningRelay;
const cleanups: (() => Promise<void>)[] = [];
before(async () => {
  relay = await startRelay({ host: '127.0.0.1', port: 0, limits: { opensPerIpPerMinute: 10_000 } });
});
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await relay.close();
});

/** `agent-pair mcp` as a child process, with an SDK client on its stdio. */
async function stdioAgent(home: string): Promise<{ client: Client; stderr: string[]; results: CallToolResult[]; call: (name: string, args?: Record<string, unknown>) => Promise<CallToolResult> }> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI_BUNDLE, 'mcp', '--home', home, '--relay', relay.url],
    cwd: REPO,
    stderr: 'pipe',
  });
  const stderr: string[] = [];
  transport.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString('utf8')));
  const client = new Client({ name: 'stdio-test', version: '1' });
  await client.connect(transport);
  cleanups.push(() => client.close());
  const results: CallToolResult[] = [];
  const call = async (name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> => {
    const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
    results.push(result);
    return result;
  };
  return { client, stderr, results, call };
}

/** `agent-pair confirm --json SESSION`: resolves with the SAS it showed, and a way to type lines (the last one ends the input). */
function confirmInTerminal(home: string, sessionId: string): { shown: Promise<string>; type: (...lines: string[]) => Promise<number>; stderr: () => string } {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [CLI_BUNDLE, 'confirm', '--json', '--home', home, sessionId], { cwd: REPO });
  const exited = new Promise<number>((resolveExit) => child.once('exit', (code) => { resolveExit(code ?? -1); }));
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const shown = new Promise<string>((resolveSas, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const event = JSON.parse(line) as { event: string; sas?: string };
      if (event.event === 'sas' && event.sas !== undefined) resolveSas(event.sas);
    });
    void exited.then((code) => { reject(new Error(`agent-pair confirm exited with ${code} before showing a SAS`)); });
  });
  return {
    shown,
    type: (...lines) => {
      child.stdin.end(lines.map((line) => `${line}\n`).join(''));
      return exited;
    },
    stderr: () => stderr,
  };
}

describe('agent-pair mcp on stdio', () => {
  it('pairs two stdio servers whose people confirm in terminals; no SAS reaches the agents or the logs', async () => {
    const homes = await Promise.all(['host', 'guest'].map((name) => mkdtemp(join(tmpdir(), `agent-pair-mcp-${name}-`))));
    cleanups.push(async () => {
      for (const home of homes) await rm(home, { recursive: true, force: true });
    });
    const [hostHome, guestHome] = homes as [string, string];
    const [host, guest] = await Promise.all([stdioAgent(hostHome), stdioAgent(guestHome)]);
    assert.equal((await host.call('identity_init', { handle: 'alice' })).structuredContent?.['created'], true);
    assert.equal((await guest.call('identity_init', { handle: 'bob' })).structuredContent?.['created'], true);

    const hosted = sessionOf(await host.call('pair_host'));
    // The guest waits in pair_join; the host asks pair_status until it says sas_ready. Not a
    // pair_status wait: one that begins on a pairing already sas_ready goes on until the person
    // confirms (its documented use), and the exchange has often ended before that call is served.
    const joined = sessionOf(await guest.call('pair_join', { code: hosted['code'], wait_seconds: 10 }));
    assert.equal(joined.state, 'sas_ready');
    await until('the host at sas_ready', async () => {
      const { state } = sessionOf(await host.call('pair_status', { session_id: hosted.session_id }));
      assert.ok(state === 'opened' || state === 'sas_ready', state);
      return state === 'sas_ready';
    });

    // The stdio client declared no elicitation: the agent is told where the person confirms, with
    // the command as this server was started (agent-pair is not on PATH here) and its home, so it
    // runs from any terminal. Pins wording on purpose: the command line itself.
    const unavailable = await host.call('pair_confirm', { session_id: hosted.session_id });
    assert.equal(errorCodeOf(unavailable), 'confirm_unavailable');
    assert.ok(errorOf(unavailable).includes(`: node ${CLI_BUNDLE} confirm ${hosted.session_id} --home ${hostHome}  (`), errorOf(unavailable));

    // A terminal on another home does not find the pairing, and says which home it looked in.
    const elsewhere = await mkdtemp(join(tmpdir(), 'agent-pair-mcp-elsewhere-'));
    cleanups.push(() => rm(elsewhere, { recursive: true, force: true }));
    const lost = runCli(['confirm', hosted.session_id, '--home', elsewhere]);
    assert.equal(await lost.exited, 1);
    assert.ok(lost.stderr().includes(elsewhere), lost.stderr());
    // `sessions` lists what the agent's server runs in this home.
    const listed = runCli(['sessions', '--json', '--home', hostHome]);
    assert.equal(await listed.exited, 0);
    const rows = listed.stdout().trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(rows.map((row) => [row['session_id'], row['state']]), [[hosted.session_id, 'sas_ready']]);

    const hostTerminal = confirmInTerminal(hostHome, hosted.session_id);
    const guestTerminal = confirmInTerminal(guestHome, joined.session_id);
    const [hostSas, guestSas] = await Promise.all([hostTerminal.shown, guestTerminal.shown]);
    // Each person types what the other one read out; the host slips first (an empty line, five
    // digits): asked again, nothing checked.
    assert.deepEqual(await Promise.all([hostTerminal.type('', guestSas.replace('-', '').slice(0, 5), guestSas), guestTerminal.type(hostSas)]), [0, 0]);
    assert.equal(hostTerminal.stderr().match(/That was not 6 digits/g)?.length, 2);

    assert.notEqual(sessionOf(await host.call('pair_status', { session_id: hosted.session_id })).state, 'sas_ready');
    const [hostDone, guestDone] = await Promise.all([
      host.call('pair_finalize', { session_id: hosted.session_id, timeout_seconds: 10 }),
      guest.call('pair_finalize', { session_id: joined.session_id, timeout_seconds: 10 }),
    ]);
    assert.equal((sessionOf(hostDone)['peer'] as { handle: string }).handle, 'bob');
    assert.equal((sessionOf(guestDone)['peer'] as { handle: string }).handle, 'alice');
    assert.match(textOf(await guest.call('peers_list')), /^peer "alice" \(fingerprint [0-9a-f]{16}\)/);

    const everything = [...host.results, ...guest.results].map((result) => JSON.stringify(result)).concat(host.stderr, guest.stderr);
    assert.ok(host.stderr.join('').includes('serving on stdio'), 'logs go to stderr');
    for (const text of everything) {
      for (const secret of [hostSas, hostSas.replace('-', ''), guestSas.replace('-', '')]) assert.ok(!text.includes(secret), `leaked the SAS in: ${text.slice(0, 200)}`);
    }
  });
});

describe('an MCP client that starts agent-pair mcp for each call', () => {
  const pids = new Pids();
  after(() => {
    pids.killAll();
  });

  /** Calls one after another in one fresh server from the built bundle, then gone: a client's session. */
  async function inOneServer(home: string, env: Record<string, string>, calls: [name: string, args?: Record<string, unknown>][], serverArgs: string[] = []): Promise<CallToolResult[]> {
    const transport = new StdioClientTransport({ command: process.execPath, args: [CLI_BUNDLE, 'mcp', '--home', home, ...serverArgs], cwd: REPO, stderr: 'pipe', env: { ...(process.env as Record<string, string>), ...env } });
    const client = new Client({ name: 'per-call', version: '1' });
    await client.connect(transport);
    try {
      const results: CallToolResult[] = [];
      for (const [name, args = {}] of calls) results.push((await client.callTool({ name, arguments: args })) as CallToolResult);
      return results;
    } finally {
      await client.close();
    }
  }

  /** One call, as the MCP Inspector's CLI makes it: a fresh server from the built bundle, then gone. */
  async function oneCall(home: string, env: Record<string, string>, name: string, args: Record<string, unknown> = {}, serverArgs: string[] = []): Promise<CallToolResult> {
    const [result] = await inOneServer(home, env, [[name, args]], serverArgs);
    if (result === undefined) throw new Error(`no result for ${name}`);
    return result;
  }

  it('keeps the pairing: the default relay outlives the call, and the next call resumes the session', { timeout: 60_000 }, async () => {
    assert.ok(existsSync(CLI_BUNDLE), 'dist/cli.cjs is missing: run `npm run build` first (npm test does)');
    const home = await mkdtemp(join(tmpdir(), 'agent-pair-mcp-per-call-'));
    cleanups.push(() => rm(home, { recursive: true, force: true }));
    const port = await freePort();
    const env = { AGENT_PAIR_LOCAL_RELAY_PORT: String(port) };
    // One server sets up and hosts (an agent's first session), then it is gone.
    const [initialized, hosting] = await inOneServer(home, env, [['identity_init', { handle: 'alice' }], ['pair_host']]);
    assert.equal(initialized?.isError, undefined);
    assert.ok(hosting, 'pair_host answered');
    const hosted = sessionOf(hosting);
    const record = JSON.parse(await readFile(join(localRelayStateDir(), localRelayRecordFile(port)), 'utf8')) as { pid: number; url: string };
    pids.add(record.pid);
    assert.equal(record.url, `http://127.0.0.1:${port}`);

    // The server that hosted is gone; its relay is not. The other person joins through it.
    const bob = await makeSide(record.url, 'bob');
    const joined = await bob.store.open('guest', record.url, String(hosted['code']));
    const bobSas = bob.store.waitForSas(joined.sessionId, 20_000);
    const resumed = sessionOf(await oneCall(home, env, 'pair_status', { session_id: hosted.session_id, wait_seconds: 15 }));
    assert.equal(resumed.state, 'sas_ready', JSON.stringify(resumed));
    assert.equal((await bobSas).state, 'sas_ready');
    assert.equal(sessionOf(await oneCall(home, env, 'pair_abort', { session_id: hosted.session_id, reason: 'test over' })).state, 'aborted');
  });

  it('finishes the pairing when the person confirms between calls: confirm runs it, the next server shows it pinned; the CLI guest pairs', { timeout: 90_000 }, async () => {
    assert.ok(existsSync(CLI_BUNDLE), 'dist/cli.cjs is missing: run `npm run build` first (npm test does)');
    const [agentHome, bobHome] = await Promise.all(['agent', 'bob'].map((name) => mkdtemp(join(tmpdir(), `agent-pair-per-call-${name}-`))));
    cleanups.push(async () => {
      for (const home of [agentHome, bobHome]) await rm(home as string, { recursive: true, force: true });
    });
    const call = (name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> => oneCall(agentHome as string, {}, name, args, ['--relay', relay.url]);
    // One session sets up and hosts, then its server is gone.
    const [initialized, hosting] = await inOneServer(agentHome as string, {}, [['identity_init', { handle: 'alice' }], ['pair_host']], ['--relay', relay.url]);
    assert.equal(initialized?.isError, undefined);
    assert.ok(hosting, 'pair_host answered');
    const hosted = sessionOf(hosting);
    const id = hosted.session_id;
    // Its server is gone: `sessions` says no process runs the pairing, and how to take it over.
    const listed = await cliProcess(['sessions', '--json', '--home', agentHome as string]);
    assert.deepEqual(listed.lines.map((row) => [row['session_id'], row['state'], row['abandoned'], row['server_pid']]), [[id, 'opened', true, undefined]]);

    // The other person joins with the real CLI and types the SAS their terminal shows (the same
    // digits the agent's person sees: both people agree).
    const saidWaiting = gate();
    // It says so after KEY_EXCHANGE_QUIET_ENV's 1 s, not the default 15 s of real time.
    const guest = cliProcess(
      ['join', String(hosted['code']), '--json', '--relay', relay.url, '--home', bobHome as string, '--handle', 'bob'],
      (line, stdin) => {
        if (line['event'] === 'waiting_for_peer') saidWaiting.open();
        if (line['event'] === 'sas') stdin.write(`${String(line['sas'])}\n`);
      },
      undefined,
      { [KEY_EXCHANGE_QUIET_ENV]: '1' },
    );
    // Between the agent's calls nothing moves the host's side: the guest's terminal says what it waits for.
    await saidWaiting.passed;
    // The key exchange runs while the agent waits in a call; then its server is gone again.
    assert.equal(sessionOf(await call('pair_status', { session_id: id, wait_seconds: 20 })).state, 'sas_ready');
    const unavailable = await call('pair_confirm', { session_id: id });
    assert.equal(errorCodeOf(unavailable), 'confirm_unavailable');
    assert.ok(errorOf(unavailable).includes(`confirm ${id} --home ${agentHome as string}`), errorOf(unavailable));

    // No server runs the pairing now: confirm takes it over, shows the SAS and runs it to the end.
    const confirmed = await cliProcess(['confirm', id, '--json', '--home', agentHome as string], (line, stdin) => {
      if (line['event'] === 'sas') stdin.end(`${String(line['sas'])}\n`);
    });
    assert.equal(confirmed.code, 0, confirmed.stderr);
    assert.deepEqual(confirmed.lines.map((line) => line['event']), ['running_here', 'sas', 'paired']);
    const guestDone = await guest;
    assert.equal(guestDone.code, 0, guestDone.stderr);
    assert.ok(guestDone.stderr.includes('their person runs agent-pair confirm'), guestDone.stderr);
    assert.equal(pairedPeer(guestDone).handle, 'alice');

    // The next server restores how it ended.
    const [status, finalized, peers] = await inOneServer(agentHome as string, {}, [['pair_status', { session_id: id }], ['pair_finalize', { session_id: id }], ['peers_list']], ['--relay', relay.url]);
    assert.ok(status && finalized && peers, 'each call answered');
    const after = sessionOf(status);
    assert.equal(after.state, 'finalized');
    assert.equal((after['peer'] as { handle: string }).handle, 'bob');
    assert.equal((sessionOf(finalized)['peer'] as { handle: string }).handle, 'bob');
    assert.match(textOf(peers), /^peer "bob" \(fingerprint [0-9a-f]{16}\)/);
  });

  it('confirm that started with a live server carries on by itself when that server exits mid-question', { timeout: 90_000 }, async () => {
    const [agentHome, bobHome] = await Promise.all(['agent', 'bob'].map((name) => mkdtemp(join(tmpdir(), `agent-pair-gone-${name}-`)))) as [string, string];
    cleanups.push(async () => {
      for (const home of [agentHome, bobHome]) await rm(home, { recursive: true, force: true });
    });
    const call = (name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> => oneCall(agentHome, {}, name, args, ['--relay', relay.url]);
    const [, hosting] = await inOneServer(agentHome, {}, [['identity_init', { handle: 'alice' }], ['pair_host']], ['--relay', relay.url]);
    assert.ok(hosting, 'pair_host answered');
    const hosted = sessionOf(hosting);
    const id = hosted.session_id;
    const guest = cliProcess(['join', String(hosted['code']), '--json', '--relay', relay.url, '--home', bobHome, '--handle', 'bob'], (line, stdin) => {
      if (line['event'] === 'sas') stdin.write(`${String(line['sas'])}\n`);
    });
    // The agent waits in a call: its server runs the pairing, and confirm hands it the digits.
    const transport = new StdioClientTransport({ command: process.execPath, args: [CLI_BUNDLE, 'mcp', '--home', agentHome, '--relay', relay.url], cwd: REPO, stderr: 'pipe' });
    const client = new Client({ name: 'long-call', version: '1' });
    await client.connect(transport);
    const waiting = client.callTool({ name: 'pair_status', arguments: { session_id: id, wait_seconds: 30 } }).catch(() => undefined);
    let shown = 0;
    let firstSas!: (shownTo: { sas: string; stdin: NodeJS.WritableStream }) => void;
    const sasShown = new Promise<{ sas: string; stdin: NodeJS.WritableStream }>((resolveSas) => (firstSas = resolveSas));
    const confirming = cliProcess(['confirm', id, '--json', '--home', agentHome], (line, stdin) => {
      if (line['event'] !== 'sas') return;
      shown += 1;
      if (shown === 1) firstSas({ sas: String(line['sas']), stdin });
      else stdin.end(`${String(line['sas'])}\n`);
    });
    const first = await sasShown;
    // The call ends and its server exits before the person has typed.
    await client.close();
    await waiting;
    await until('the server gone', async () => (await cliProcess(['sessions', '--json', '--home', agentHome])).lines[0]?.['abandoned'] === true, 15_000);
    // The person types now: confirm finds the server gone, takes the pairing over, asks again and finishes it.
    first.stdin.write(`${first.sas}\n`);
    const done = await confirming;
    assert.equal(done.code, 0, done.stderr);
    assert.deepEqual(done.lines.map((line) => line['event']), ['sas', 'running_here', 'sas', 'paired']);
    assert.equal((await guest).code, 0);
    assert.equal(sessionOf(await call('pair_status', { session_id: id })).state, 'finalized');
  });
});
