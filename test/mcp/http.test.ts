// The MCP server over Streamable HTTP: a full pairing between two HTTP servers whose people
// answer elicitations (sent over the SSE stream of the tool call), and the gate in front of
// it: bearer token, Host and Origin checks, body limit, sessions.

import '../helpers/nativeCurves.js';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { MAX_MCP_BODY_BYTES, MAX_MCP_SESSIONS, type RunningMcpHttp, startMcpHttpServer } from '../../src/mcp/http.js';
import { PairingRunners } from '../../src/core/pairing.js';
import { createMcpServer } from '../../src/mcp/server.js';
import { type TestRelay, startTestRelay } from '../helpers/relays.js';
import { makeSide } from '../helpers/sides.js';
import { type Agent, errorOf, openBoth, peoplePair, sessionOf, startAgent, vaultSecrets } from './agents.js';

let relay: TestRelay;
before(async () => {
  relay = await startTestRelay('socketless', { limits: { opensPerIpPerMinute: 10_000 } });
});
after(async () => {
  await relay.close();
});

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One raw HTTP request, for what the SDK client would never send. */
function raw(port: number, options: { method?: string; path?: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, agent: false, path: options.path ?? '/mcp', method: options.method ?? 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...options.headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
    });
    req.on('error', reject);
    req.end(options.body ?? (options.method === 'GET' ? undefined : '{}'));
  });
}

const initialize = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });

describe('MCP over Streamable HTTP', () => {
  it('pairs two agents whose people answer elicitations over HTTP; no secret in any result or log line', async () => {
    const people = peoplePair();
    const agents: Agent[] = [];
    try {
      const host = await startAgent({ relayUrl: relay.url, handle: 'alice', person: people.host, transport: 'http' });
      agents.push(host);
      const guest = await startAgent({ relayUrl: relay.url, handle: 'bob', person: people.guest, transport: 'http' });
      agents.push(guest);
      const ids = await openBoth(host, guest);
      const sas = host.side.store.sasForPerson(ids.hostId);
      const secrets = [sas, sas.replace('-', ''), guest.side.store.sasForPerson(ids.guestId).replace('-', '')];
      for (const side of [host.side, guest.side]) secrets.push(...vaultSecrets(side, { includeCode: false }));

      const confirmed = await Promise.all([host.call('pair_confirm', { session_id: ids.hostId }), guest.call('pair_confirm', { session_id: ids.guestId })]);
      assert.deepEqual(confirmed.map((result) => sessionOf(result).state), ['confirmed', 'confirmed']);
      assert.match(host.prompts[0] ?? '', new RegExp(`Your SAS: ${sas}`));
      const done = await Promise.all([
        host.call('pair_finalize', { session_id: ids.hostId, timeout_seconds: 10 }),
        guest.call('pair_finalize', { session_id: ids.guestId, timeout_seconds: 10 }),
      ]);
      assert.deepEqual(done.map((result) => (sessionOf(result)['peer'] as { fingerprint: string }).fingerprint), [guest.side.fingerprint, host.side.fingerprint]);

      for (const side of [host.side, guest.side]) secrets.push(...vaultSecrets(side, { includeCode: false }));
      const texts = [...host.results, ...guest.results].map((result) => JSON.stringify(result)).concat(host.logs, guest.logs);
      for (const text of texts) for (const secret of secrets) assert.ok(!text.includes(secret), `leaked ${secret.slice(0, 4)}…`);
    } finally {
      for (const agent of agents) await agent.close();
    }
  });

  describe('the gate', () => {
    let http: RunningMcpHttp;
    let auth: Record<string, string>;
    let runners: PairingRunners;
    before(async () => {
      const side = await makeSide(relay.url, 'alice');
      runners = new PairingRunners({ store: side.store, clock: side.clock });
      http = await startMcpHttpServer({ createServer: () => createMcpServer({ store: side.store, deps: side.deps, runners, defaultRelayUrl: relay.url }) });
      auth = { authorization: `Bearer ${http.token}` };
    });
    after(async () => {
      runners.dispose();
      await http.close();
    });

    it('listens on 127.0.0.1 with a fresh 256-bit token', () => {
      assert.equal(http.url, `http://127.0.0.1:${http.port}/mcp`);
      assert.match(http.token, /^[0-9a-f]{64}$/);
    });

    it('serves a client that sends the bearer token, and tells it clearly when arguments are bad', async () => {
      const client = new Client({ name: 'test', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(http.url), { requestInit: { headers: { Authorization: `Bearer ${http.token}` } } }));
      assert.equal((await client.listTools()).tools.length, 15);
      assert.equal(sessionOf(await client.callTool({ name: 'pair_host', arguments: {} }) as never).state, 'opened');
      assert.match(errorOf(await client.callTool({ name: 'pair_status', arguments: { session_id: 'x' } }) as never), /session_id must be 32 lowercase hex/);
      await client.close();
    });

    it('refuses requests without the token, or with a wrong one (401)', async () => {
      for (const authorization of [undefined, 'Bearer wrong', `Bearer ${http.token}x`, `Bearer ${http.token.toUpperCase()}`, `Basic ${http.token}`, http.token]) {
        const client = new Client({ name: 'test', version: '1' });
        const headers: Record<string, string> = authorization === undefined ? {} : { Authorization: authorization };
        await assert.rejects(client.connect(new StreamableHTTPClientTransport(new URL(http.url), { requestInit: { headers } })), /401|Unauthorized/, String(authorization));
        const answer = await raw(http.port, { headers: authorization === undefined ? {} : { authorization }, body: initialize });
        assert.equal(answer.status, 401);
        assert.equal(answer.headers['www-authenticate'], 'Bearer');
      }
    });

    it('refuses a foreign Host or a web page Origin (403), even with the token', async () => {
      for (const host of [`evil.example:${http.port}`, `127.0.0.1:${http.port + 1}`, '127.0.0.1', `localhost.evil.example:${http.port}`]) {
        assert.equal((await raw(http.port, { headers: { ...auth, host }, body: initialize })).status, 403, host);
      }
      for (const origin of ['http://evil.example', `http://evil.example:${http.port}`, 'null', 'vscode-webview://abc123', `https://127.0.0.1:${http.port}`]) {
        assert.equal((await raw(http.port, { headers: { ...auth, origin }, body: initialize })).status, 403, origin);
      }
      // Its own origins, VS Code's workbench, and no Origin at all (a Node client) get through.
      for (const origin of [`http://127.0.0.1:${http.port}`, `http://localhost:${http.port}`, 'vscode-file://vscode-app']) {
        assert.equal((await raw(http.port, { headers: { ...auth, origin }, body: initialize })).status, 200, origin);
      }
      assert.equal((await raw(http.port, { headers: { ...auth, host: `localhost:${http.port}` }, body: initialize })).status, 200);
    });

    it('refuses bodies over the limit (413), bad JSON and non-initialize openings (400), other paths (404)', async () => {
      const big = Buffer.alloc(MAX_MCP_BODY_BYTES + 1, 0x20);
      const tooLarge = await raw(http.port, { headers: auth, body: big });
      assert.equal(tooLarge.status, 413);
      assert.match(tooLarge.body, /at most 1048576 bytes/);
      // Chunked, so no content-length announces it: cut off while reading.
      const chunked = await new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: http.port, path: '/mcp', method: 'POST', headers: { ...auth, 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        for (let i = 0; i < 20; i++) req.write(Buffer.alloc(64 * 1024, 0x20));
        req.end();
      });
      assert.equal(chunked, 413);
      assert.equal((await raw(http.port, { headers: auth, body: '{not json' })).status, 400);
      assert.equal((await raw(http.port, { headers: auth, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }) })).status, 400);
      assert.equal((await raw(http.port, { headers: auth, path: '/other', body: initialize })).status, 404);
      assert.equal((await raw(http.port, { headers: auth, method: 'GET' })).status, 400);
    });

    it('answers 404 for an unknown session, so the client starts a new one', async () => {
      const answer = await raw(http.port, { headers: { ...auth, 'mcp-session-id': 'not-a-session' }, body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }) });
      assert.equal(answer.status, 404);
      const client = new Client({ name: 'test', version: '1' });
      const transport = new StreamableHTTPClientTransport(new URL(http.url), { requestInit: { headers: { Authorization: `Bearer ${http.token}` } } });
      await client.connect(transport);
      const sessionId = transport.sessionId ?? '';
      await transport.terminateSession();
      const after = await raw(http.port, { headers: { ...auth, 'mcp-session-id': sessionId }, body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' }) });
      assert.equal(after.status, 404);
      await client.close();
    });

    it(`keeps at most ${MAX_MCP_SESSIONS} sessions, closing the least recently used`, async () => {
      const opened: string[] = [];
      for (let i = 0; i <= MAX_MCP_SESSIONS; i++) {
        const answer = await raw(http.port, { headers: auth, body: initialize });
        assert.equal(answer.status, 200);
        opened.push(String(answer.headers['mcp-session-id']));
      }
      const list = (sessionId: string) => raw(http.port, { headers: { ...auth, 'mcp-session-id': sessionId, 'mcp-protocol-version': LATEST_PROTOCOL_VERSION }, body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }) });
      assert.equal((await list(opened[0] ?? '')).status, 404, 'the oldest was closed');
      assert.equal((await list(opened.at(-1) ?? '')).status, 200, 'the newest works');
    });
  });

  it('closes cleanly: open sessions end and the port stops answering', async () => {
    const side = await makeSide(relay.url, 'alice');
    const http = await startMcpHttpServer({ createServer: () => createMcpServer({ store: side.store, deps: side.deps, runners: new PairingRunners({ store: side.store, clock: side.clock }), defaultRelayUrl: relay.url }) });
    const client = new Client({ name: 'test', version: '1' });
    let closed = false;
    client.onclose = () => (closed = true);
    await client.connect(new StreamableHTTPClientTransport(new URL(http.url), { requestInit: { headers: { Authorization: `Bearer ${http.token}` } } }));
    await http.close();
    await assert.rejects(raw(http.port, { headers: { authorization: `Bearer ${http.token}` }, body: initialize }), /ECONNREFUSED/);
    await assert.rejects(client.listTools());
    await client.close();
    assert.ok(closed);
  });

  it('takes a given token, and refuses one too short to be secret', async () => {
    const side = await makeSide(relay.url, 'alice');
    const createServer = () => createMcpServer({ store: side.store, deps: side.deps, runners: new PairingRunners({ store: side.store, clock: side.clock }), defaultRelayUrl: relay.url });
    await assert.rejects(startMcpHttpServer({ createServer, token: 'short' }), /token has 5 characters; expected at least 32/);
    const token = 'a'.repeat(64);
    const http = await startMcpHttpServer({ createServer, token });
    try {
      assert.equal(http.token, token);
      assert.equal((await raw(http.port, { headers: { authorization: `Bearer ${token}` }, body: initialize })).status, 200);
    } finally {
      await http.close();
    }
  });
});
