// `agent-pair mcp` on stdio, and the person confirming in a terminal (`agent-pair confirm`) when
// the MCP client cannot ask them: two processes sharing one home directory. First the store's
// reloadFromStorage in one process (two stores over the same in-memory storage), then the real
// thing: two stdio servers and two confirm processes, all spawned from the sources.

import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { type RunningRelay, startRelay } from '../../src/relay/node.js';
import { makeSide } from '../helpers/sides.js';
import { type Agent, errorOf, sessionOf, startAgent, textOf } from './agents.js';

const REPO = resolve(import.meta.dirname, '../..');
const CLI_SOURCE = join(REPO, 'src/cli/main.ts');

let relay: RunningRelay;
const cleanups: (() => Promise<void>)[] = [];
before(async () => {
  relay = await startRelay({ host: '127.0.0.1', port: 0, limits: { opensPerIpPerMinute: 10_000 } });
});
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await relay.close();
});

describe('a session confirmed or ended by another process on the same storage', () => {
  /** An MCP agent, and a "terminal" store over the same storage (as `agent-pair confirm` restores it). */
  async function sharedSetUp(): Promise<{ host: Agent; guest: Agent; hostId: string; guestId: string; terminal: Awaited<ReturnType<typeof makeSide>> }> {
    const hostSide = await makeSide(relay.url, 'alice');
    const host = await startAgent({ relayUrl: relay.url, handle: 'alice', side: hostSide, sharedStorage: true });
    const guest = await startAgent({ relayUrl: relay.url, handle: 'bob', person: (message) => ({ action: 'accept', content: { digits: /Your SAS: (\S+)/.exec(message)?.[1] ?? '' } }) });
    cleanups.push(() => host.close(), () => guest.close());
    const hosted = sessionOf(await host.call('pair_host'));
    const joined = sessionOf(await guest.call('pair_join', { code: hosted['code'] }));
    await Promise.all([host.call('pair_status', { session_id: hosted.session_id, wait_seconds: 10 }), guest.call('pair_status', { session_id: joined.session_id, wait_seconds: 10 })]);
    const terminal = await makeSide(relay.url, 'alice', { vault: hostSide.vault, memory: hostSide.memory, clock: hostSide.clock });
    const restored = await terminal.store.restore();
    assert.deepEqual(restored.restored.map((snapshot) => [snapshot.sessionId, snapshot.state]), [[hosted.session_id, 'sas_ready']]);
    return { host, guest, hostId: hosted.session_id, guestId: joined.session_id, terminal };
  }

  it('adopts a confirmation made in the other process, then finalizes', async () => {
    const { host, guest, hostId, guestId, terminal } = await sharedSetUp();
    // While the person types in the terminal, the agent polls: polls of a sas_ready session
    // write nothing, so none can overwrite the confirmation the terminal persists.
    const writes: string[] = [];
    const memory = host.side.memory;
    const write = memory.set.bind(memory);
    memory.set = (key, value) => {
      writes.push(key);
      return write(key, value);
    };
    for (let i = 0; i < 3; i++) assert.equal(sessionOf(await host.call('pair_status', { session_id: hostId })).state, 'sas_ready');
    await host.call('pair_status');
    assert.deepEqual(writes, []);
    await terminal.store.confirmSas(hostId, terminal.store.sasForPerson(hostId));
    assert.ok(writes.length > 0, 'the terminal store writes to the same storage');
    assert.equal(host.side.store.status(hostId).state, 'sas_ready', 'this process has not looked yet');
    assert.equal(sessionOf(await host.call('pair_status', { session_id: hostId })).state, 'confirmed');
    assert.equal(sessionOf(await guest.call('pair_confirm', { session_id: guestId })).state, 'confirmed');
    const [hostDone, guestDone] = await Promise.all([host.call('pair_finalize', { session_id: hostId, timeout_seconds: 10 }), guest.call('pair_finalize', { session_id: guestId, timeout_seconds: 10 })]);
    assert.equal(sessionOf(hostDone).state, 'finalized');
    assert.equal(sessionOf(guestDone).state, 'finalized');
  });

  it('never goes back to a record the other process wrote from an older copy', async () => {
    const { host, guest, hostId, guestId, terminal } = await sharedSetUp();
    // The person confirmed here; the terminal, still holding sas_ready, then persists its copy.
    await host.side.store.confirmSas(hostId, host.side.store.sasForPerson(hostId));
    await terminal.store.trySas(hostId);
    assert.match((await host.side.memory.get(`session.${hostId}`)) ?? '', /"state":"sas_ready"/, 'the stale copy is what is stored');
    assert.equal(sessionOf(await host.call('pair_status', { session_id: hostId })).state, 'confirmed');
    assert.equal(sessionOf(await guest.call('pair_confirm', { session_id: guestId })).state, 'confirmed');
    const [hostDone, guestDone] = await Promise.all([host.call('pair_finalize', { session_id: hostId, timeout_seconds: 10 }), guest.call('pair_finalize', { session_id: guestId, timeout_seconds: 10 })]);
    assert.deepEqual([sessionOf(hostDone).state, sessionOf(guestDone).state], ['finalized', 'finalized']);
  });

  it('sees a session the other process ended (a mismatch typed there) as aborted', async () => {
    const { host, guest, hostId, guestId, terminal } = await sharedSetUp();
    await assert.rejects(terminal.store.confirmSas(hostId, '000-000' === terminal.store.sasForPerson(hostId) ? '111-111' : '000-000'), /sas_mismatch|digits typed do not match/);
    const listed = (await host.call('pair_status')).structuredContent as { sessions: { session_id: string; state: string; abort_reason?: string }[] };
    assert.deepEqual(listed.sessions.map((session) => [session.session_id, session.state, session.abort_reason]), [[hostId, 'aborted', 'ended in another process']]);
    assert.match(errorOf(await host.call('pair_confirm', { session_id: hostId })), /^aborted: .*ended in another process/);
    // The other process wrote the abort to the relay, so the peer learns why while it waits.
    const seen = sessionOf(await guest.call('pair_status', { session_id: guestId, wait_seconds: 5 }));
    assert.deepEqual([seen.state, seen['error_code'], seen['abort_reason']], ['aborted', 'peer_aborted', 'peer aborted: sas mismatch']);
  });

  it('wakes a pair_status wait on a sas_ready session once the other process confirmed it', { timeout: 10_000 }, async () => {
    const { host, hostId, guestId, guest, terminal } = await sharedSetUp();
    const polling = host.call('pair_status', { session_id: hostId, wait_seconds: 30 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await terminal.store.confirmSas(hostId, terminal.store.sasForPerson(hostId));
    assert.equal(sessionOf(await polling).state, 'confirmed');
    await Promise.all([host.call('pair_abort', { session_id: hostId, reason: 'done' }), guest.call('pair_abort', { session_id: guestId, reason: 'done' })]);
  });
});

/** `agent-pair mcp` as a child process, with an SDK client on its stdio. */
async function stdioAgent(home: string): Promise<{ client: Client; stderr: string[]; results: CallToolResult[]; call: (name: string, args?: Record<string, unknown>) => Promise<CallToolResult> }> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: ['--import', 'tsx', CLI_SOURCE, 'mcp', '--home', home, '--relay', relay.url],
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

/** `agent-pair confirm --json SESSION`: resolves with the SAS it showed, and a way to type the digits. */
function confirmInTerminal(home: string, sessionId: string): { shown: Promise<string>; type: (digits: string) => Promise<number> } {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, ['--import', 'tsx', CLI_SOURCE, 'confirm', '--json', '--home', home, sessionId], { cwd: REPO });
  const exited = new Promise<number>((resolveExit) => child.once('exit', (code) => { resolveExit(code ?? -1); }));
  const shown = new Promise<string>((resolveSas, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const event = JSON.parse(line) as { event: string; sas?: string };
      if (event.event === 'sas' && event.sas !== undefined) resolveSas(event.sas);
    });
    void exited.then((code) => { reject(new Error(`agent-pair confirm exited with ${code} before showing a SAS`)); });
  });
  return {
    shown,
    type: (digits) => {
      child.stdin.end(`${digits}\n`);
      return exited;
    },
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
    const joined = sessionOf(await guest.call('pair_join', { code: hosted['code'] }));
    const [hostReady, guestReady] = await Promise.all([
      host.call('pair_status', { session_id: hosted.session_id, wait_seconds: 10 }),
      guest.call('pair_status', { session_id: joined.session_id, wait_seconds: 10 }),
    ]);
    assert.equal(sessionOf(hostReady).state, 'sas_ready');
    assert.equal(sessionOf(guestReady).state, 'sas_ready');

    // The stdio client declared no elicitation: the agent is told where the person confirms.
    assert.match(errorOf(await host.call('pair_confirm', { session_id: hosted.session_id })), new RegExp(`agent-pair confirm ${hosted.session_id}`));

    const hostTerminal = confirmInTerminal(hostHome, hosted.session_id);
    const guestTerminal = confirmInTerminal(guestHome, joined.session_id);
    const [hostSas, guestSas] = await Promise.all([hostTerminal.shown, guestTerminal.shown]);
    // Each person types what the other one read out.
    assert.deepEqual(await Promise.all([hostTerminal.type(guestSas), guestTerminal.type(hostSas)]), [0, 0]);

    assert.equal(sessionOf(await host.call('pair_status', { session_id: hosted.session_id })).state, 'confirmed');
    const [hostDone, guestDone] = await Promise.all([
      host.call('pair_finalize', { session_id: hosted.session_id, timeout_seconds: 10 }),
      guest.call('pair_finalize', { session_id: joined.session_id, timeout_seconds: 10 }),
    ]);
    assert.equal((sessionOf(hostDone)['peer'] as { handle: string }).handle, 'bob');
    assert.equal((sessionOf(guestDone)['peer'] as { handle: string }).handle, 'alice');
    assert.match(textOf(await guest.call('peers_list')), /^alice \([0-9a-f]{16}\)/);

    const everything = [...host.results, ...guest.results].map((result) => JSON.stringify(result)).concat(host.stderr, guest.stderr);
    assert.ok(host.stderr.join('').includes('serving on stdio'), 'logs go to stderr');
    for (const text of everything) {
      for (const secret of [hostSas, hostSas.replace('-', ''), guestSas.replace('-', '')]) assert.ok(!text.includes(secret), `leaked the SAS in: ${text.slice(0, 200)}`);
    }
  });
});
