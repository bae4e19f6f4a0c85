// The MCP tools driven by the SDK's real Client, over the in-memory transport and over HTTP,
// pairing two agents through a real relay; the person's digits come from elicitation handlers.

import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { type CallToolResult, ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { createMcpServer } from '../../src/mcp/server.js';
import { startMcpHttpServer } from '../../src/mcp/http.js';
import { type RunningRelay, startRelay } from '../../src/relay/node.js';
import { type Side, makeSide } from '../helpers/sides.js';

let relay: RunningRelay;
before(async () => {
  relay = await startRelay({ host: '127.0.0.1', port: 0, limits: { opensPerIpPerMinute: 10_000 } });
});
after(async () => {
  await relay.close();
});

interface Agent {
  side: Side;
  client: Client;
  results: CallToolResult[];
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  elicitations: string[];
}

/** One agent: its side (store, identity), an MCP server over it, and a connected client. */
async function agent(handle: string, digitsFor: ((message: string) => string) | undefined): Promise<Agent> {
  const side = await makeSide(relay.url, handle);
  const server = createMcpServer({ store: side.store, deps: side.deps, defaultRelayUrl: relay.url });
  const client = new Client({ name: 'test', version: '1' }, digitsFor ? { capabilities: { elicitation: {} } } : {});
  const elicitations: string[] = [];
  if (digitsFor) {
    client.setRequestHandler(ElicitRequestSchema, (request) => {
      elicitations.push(request.params.message);
      return { action: 'accept', content: { digits: digitsFor(request.params.message) } };
    });
  }
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(serverTransport), client.connect(clientTransport)]);
  const results: CallToolResult[] = [];
  const call = async (name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> => {
    const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
    results.push(result);
    return result;
  };
  return { side, client, results, call, elicitations };
}

function session(result: CallToolResult): Record<string, unknown> {
  assert.notEqual(result.isError, true, JSON.stringify(result.content));
  const structured = result.structuredContent as { session?: Record<string, unknown>; sessions?: Record<string, unknown>[] };
  const value = structured.session ?? structured.sessions?.[0];
  assert.ok(value, 'a session in the result');
  return value;
}

function text(result: CallToolResult): string {
  return result.content.map((part) => (part.type === 'text' ? part.text : '')).join('\n');
}

/** Host and guest open and wait until both SASes are ready; returns the session ids. */
async function openBoth(host: Agent, guest: Agent): Promise<{ hostId: string; guestId: string }> {
  const hosted = session(await host.call('pair_host'));
  assert.equal(hosted['state'], 'opened');
  const joined = session(await guest.call('pair_join', { code: hosted['code'] }));
  const hostId = String(hosted['session_id']);
  const guestId = String(joined['session_id']);
  const [hostStatus, guestStatus] = await Promise.all([host.call('pair_status', { session_id: hostId, wait_seconds: 10 }), guest.call('pair_status', { session_id: guestId, wait_seconds: 10 })]);
  assert.equal(session(hostStatus)['state'], 'sas_ready');
  assert.equal(session(guestStatus)['state'], 'sas_ready');
  return { hostId, guestId };
}

describe('MCP tools over the in-memory transport', () => {
  it('pair two agents end to end; the SAS reaches only the person, never a tool result', async () => {
    // Each person types what the other person reads out: the other side's SAS.
    const shown = { host: '', guest: '' };
    const host = await agent('alice', () => shown.guest);
    const guest = await agent('bob', () => shown.host);
    const ids = await openBoth(host, guest);
    shown.host = host.side.store.sasForPerson(ids.hostId);
    shown.guest = guest.side.store.sasForPerson(ids.guestId);
    const hostSas = shown.host;

    assert.equal(session(await host.call('pair_confirm', { session_id: ids.hostId }))['state'], 'confirmed');
    assert.equal(session(await guest.call('pair_confirm', { session_id: ids.guestId }))['state'], 'confirmed');
    assert.match(host.elicitations[0] ?? '', new RegExp(`Your SAS is ${hostSas}`));

    const [hostDone, guestDone] = await Promise.all([
      host.call('pair_finalize', { session_id: ids.hostId, timeout_seconds: 10 }),
      guest.call('pair_finalize', { session_id: ids.guestId, timeout_seconds: 10 }),
    ]);
    assert.deepEqual(session(hostDone)['peer'], { handle: 'bob', fingerprint: guest.side.fingerprint, relay_url: relay.url });
    assert.equal((session(guestDone)['peer'] as Record<string, unknown>)['fingerprint'], host.side.fingerprint);
    const peers = (await host.call('peers_list')).structuredContent as { peers: { fingerprint: string }[] };
    assert.deepEqual(peers.peers.map((peer) => peer.fingerprint), [guest.side.fingerprint]);
    assert.equal((await host.call('identity_show')).structuredContent?.['fingerprint'], host.side.fingerprint);

    // No tool result carries a SAS, a seed, a relay token or a private key.
    const secrets = [hostSas, hostSas.replace('-', '')];
    for (const side of [host.side, guest.side]) {
      for (const [key, value] of side.vault.entries()) {
        if (key.startsWith('identity.privateKey')) secrets.push(value);
      }
    }
    for (const result of [...host.results, ...guest.results]) {
      const serialised = JSON.stringify(result);
      for (const secret of secrets) assert.ok(!serialised.includes(secret), `a tool result leaked a secret: ${serialised}`);
      assert.doesNotMatch(serialised, /"(?:seed|token|owner_token|send_token)"/);
    }
  });

  it('aborts both sides when the person types the wrong digits', async () => {
    const host = await agent('alice', (message) => {
      const sas = /Your SAS is (\d{3})-(\d{3})/.exec(message);
      const digits = `${sas?.[1] ?? ''}${sas?.[2] ?? ''}`;
      return digits.slice(0, 5) + String((Number(digits[5]) + 1) % 10);
    });
    const guest = await agent('bob', undefined);
    const ids = await openBoth(host, guest);
    const result = await host.call('pair_confirm', { session_id: ids.hostId });
    assert.equal(result.isError, true);
    assert.match(text(result), /sas_mismatch: The digits typed do not match/);
    const peerStatus = session(await guest.call('pair_status', { session_id: ids.guestId }));
    assert.equal(peerStatus['state'], 'sas_ready');
    const finalize = await guest.call('pair_finalize', { session_id: ids.guestId, timeout_seconds: 5 });
    assert.equal(finalize.isError, true);
    assert.match(text(finalize), /peer aborted: sas mismatch|There is no|not confirmed/);
  });

  it('tells a client without elicitation where the person can confirm', async () => {
    const host = await agent('alice', undefined);
    const guest = await agent('bob', undefined);
    const ids = await openBoth(host, guest);
    const result = await host.call('pair_confirm', { session_id: ids.hostId });
    assert.equal(result.isError, true);
    assert.match(text(result), new RegExp(`confirm_unavailable: .*agent-pair confirm ${ids.hostId}`));
    assert.equal(session(await host.call('pair_status', { session_id: ids.hostId }))['state'], 'sas_ready');
  });

  it('answers bad arguments and domain failures with clear tool errors', async () => {
    const host = await agent('alice', undefined);
    const badId = await host.call('pair_status', { session_id: 'nope' });
    assert.equal(badId.isError, true);
    assert.match(text(badId), /session_id is 32 lowercase hex characters/);
    const badCode = await host.call('pair_join', { code: '47_UE2BZG' });
    assert.equal(badCode.isError, true);
    assert.match(text(badCode), /bad_code: .*47-UE2BZG/);
    const unknown = await host.call('pair_finalize', { session_id: '0'.repeat(32) });
    assert.match(text(unknown), /not_found/);
    const conflict = await host.call('identity_init', { handle: 'mallory' });
    assert.match(text(conflict), /identity_conflict/);
    const same = await host.call('identity_init', { handle: 'alice' });
    assert.equal(same.structuredContent?.['created'], false);
  });
});

describe('MCP over Streamable HTTP', () => {
  it('serves the tools to a client with the bearer token and refuses everyone else', async () => {
    const side = await makeSide(relay.url, 'alice');
    const http = await startMcpHttpServer({ createServer: () => createMcpServer({ store: side.store, deps: side.deps, defaultRelayUrl: relay.url }) });
    try {
      const client = new Client({ name: 'test', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(http.url), { requestInit: { headers: { Authorization: `Bearer ${http.token}` } } }));
      const tools = (await client.listTools()).tools.map((tool) => tool.name).sort();
      assert.deepEqual(tools, ['identity_init', 'identity_show', 'pair_abort', 'pair_confirm', 'pair_finalize', 'pair_host', 'pair_join', 'pair_status', 'peers_forget', 'peers_list']);
      const hosted = (await client.callTool({ name: 'pair_host', arguments: {} })) as CallToolResult;
      assert.equal(session(hosted)['state'], 'opened');
      await client.close();

      for (const authorization of [undefined, 'Bearer wrong', `Bearer ${http.token}x`]) {
        const rejected = new Client({ name: 'test', version: '1' });
        const headers: Record<string, string> = authorization === undefined ? {} : { Authorization: authorization };
        await assert.rejects(rejected.connect(new StreamableHTTPClientTransport(new URL(http.url), { requestInit: { headers } })), /401|Unauthorized/);
      }
      assert.equal(await rawStatus(http.port, { host: `evil.example:${http.port}`, authorization: `Bearer ${http.token}` }), 403);
      assert.equal(await rawStatus(http.port, { host: `127.0.0.1:${http.port}`, origin: 'http://evil.example', authorization: `Bearer ${http.token}` }), 403);
    } finally {
      await http.close();
    }
  });
});

function rawStatus(port: number, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/mcp', method: 'POST', headers: { ...headers, 'content-type': 'application/json' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end('{}');
  });
}
