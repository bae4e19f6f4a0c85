// The relay on the open internet (issue 12), on every engine (the audit's floods are in
// flood.*.test.ts): --trust-proxy takes the client from X-Forwarded-For only from the listed
// proxies; requests Node cannot parse get the protocol's JSON errors; hostile input never crashes
// the relay or draws a 5xx; /metrics reports what operators need.

import assert from 'node:assert/strict';
import { Agent, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { RelayClient } from '../../src/relay/client.js';
import { type RunningRelay, type StartRelayOptions, startRelay } from '../../src/relay/node.js';
import { ENGINES, storeFor } from '../helpers/engines.js';
import { RedisServer } from '../helpers/redis.js';
import { assertError, call, openPair, put } from './http.js';
import { WRONG_CODE_REASON } from '../../src/core/vocabulary.js';

let redis: RedisServer | undefined;
before(async () => {
  redis = await RedisServer.start();
});
after(async () => {
  await redis?.dispose();
});

/** The status and body of one request sent from `localAddress` (a 127.x.y.z source). */
function requestFrom(agent: Agent, url: string, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const sending = httpRequest(new URL(path, url), { method, agent, headers: { ...headers, ...(body !== undefined && { 'content-type': 'application/json' }) } }, (response) => {
      let text = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      response.on('end', () => {
        resolve({ status: response.statusCode ?? 0, text });
      });
    });
    sending.on('error', reject);
    sending.end(body);
  });
}

for (const engine of ENGINES) {
  describe(`abuse resistance on the ${engine} engine`, () => {
    const start = (options: StartRelayOptions = {}): Promise<RunningRelay> => startRelay({ ...options, ...storeFor(engine, redis) });

    it('takes the client address from X-Forwarded-For only from --trust-proxy addresses, the last untrusted hop', async () => {
      const relay = await start({ port: 0, trustProxy: ['127.0.0.1', '10.0.0.0/8'], limits: { opensPerIpPerMinute: 1 } });
      const proxy = new Agent({ localAddress: '127.0.0.1' });
      const stranger = new Agent({ localAddress: '127.0.0.9' });
      try {
        const open = (agent: Agent, forwardedFor?: string): Promise<{ status: number }> =>
          requestFrom(agent, relay.url, 'POST', '/v1/slot', undefined, forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor });
        assert.equal((await open(proxy, '203.0.113.1')).status, 201);
        assert.equal((await open(proxy, '203.0.113.2')).status, 201, 'another client behind the proxy has its own bucket');
        assert.equal((await open(proxy, '203.0.113.1')).status, 429);
        assert.equal((await open(proxy, '198.51.100.7, 203.0.113.1')).status, 429, 'a forged left-hand entry does not move the client');
        assert.equal((await open(proxy, '203.0.113.3, 10.1.2.3')).status, 201, 'trusted hops are skipped');
        assert.equal((await open(stranger, '203.0.113.4')).status, 201);
        assert.equal((await open(stranger, '203.0.113.5')).status, 429, 'an untrusted peer cannot choose its address');
      } finally {
        proxy.destroy();
        stranger.destroy();
        await relay.close();
      }
    });

    it('answers requests Node cannot parse with JSON errors: malformed (400), oversized headers (413)', async () => {
      const relay = await start({ port: 0 });
      try {
        const cases: [string, number, string][] = [
          ['GARBAGE\r\n\r\n', 400, 'bad_request'],
          ['GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n', 400, 'bad_request'],
          ['POST /v1/slot HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n', 400, 'bad_request'],
          ['GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n', 400, 'bad_request'],
          [`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 413, 'too_large'],
        ];
        for (const [raw, status, code] of cases) {
          const answer = await rawExchange(relay.port, raw);
          assert.match(answer, new RegExp(`^HTTP/1\\.1 ${status} `), JSON.stringify(raw.slice(0, 40)));
          assert.match(answer, /\r\ncontent-type: application\/json\r\n/i);
          const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { error: { code: string; message: string } };
          assert.equal(body.error.code, code);
          assert.ok(body.error.message.length > 0);
        }
        assert.equal((await call(relay.url, 'GET', '/healthz')).status, 200);
      } finally {
        await relay.close();
      }
    });

    it('keeps 0 crashes and 0 5xx under hostile requests', async () => {
      const relay = await start({ port: 0, limits: { opensPerIpPerMinute: 100_000, maxPairSlotsPerAddress: 100_000, maxInboxSlotsPerAddress: 100_000 } });
      try {
        const { host } = await openPair(relay.url);
        const slot = (await call(relay.url, 'POST', '/v1/slot')).json as { slot_id: string; owner_token: string };
        const token = 'ab'.repeat(32);
        const paths = [
          '/',
          '/v1/pair/%00',
          `/v1/pair/${host.pair_id}?after=99999999999999999999&wait=25`,
          `/v1/pair/${host.pair_id}/../../etc`,
          `/v1/slot/${slot.slot_id}/messages?after=-1`,
          `/v1/slot/${slot.slot_id}/messages?through=1e400`,
          `/v1/slot/${slot.slot_id}/grants/${'z'.repeat(32)}`,
          `/v1/slot/${'A'.repeat(32)}/messages`,
          `/v1/slot/${slot.slot_id}/messages?wait=25&wait=1`,
          '/v1/slot//grants',
          `/v1/pair/${host.pair_id}/__proto__`,
          '/metrics/x',
        ];
        const bodies = ['', 'null', '[]', '{"value":null}', '{"value":"' + '\u0000'.repeat(10) + '"}', '{"__proto__":{"role":"host"}}', '{"role":"guest","nameplate":"1e3"}', '\xff\xfe', '{"value":"' + 'A'.repeat(30_000) + '"}'];
        let answered = 0;
        for (const path of paths) {
          for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'PATCH']) {
            for (const body of method === 'GET' ? [undefined] : bodies) {
              const answer = await call(relay.url, method, path, { token, ...(body !== undefined && { raw: body, headers: { 'content-type': 'application/json' } }) });
              assert.ok(answer.status < 500, `${method} ${path} ${String(body).slice(0, 20)} answered ${answer.status}: ${answer.text}`);
              assert.ok(typeof (answer.json as { error?: unknown } | undefined)?.error === 'object' || answer.status < 300, `${method} ${path} answered without a JSON error`);
              answered++;
            }
          }
        }
        assert.ok(answered > 400);
        assert.equal((await call(relay.url, 'GET', '/healthz')).status, 200);
        assertError(await put(relay.url, host.pair_id, token, 'commit', 'cd'.repeat(32)), 401, 'unauthorized');
      } finally {
        await relay.close();
      }
    });

    it('serves /metrics: requests by route and status, open slots, inboxes, queued messages, long polls, pairings ended by reason, store latency', async () => {
      const relay = await start({ port: 0, metrics: true });
      try {
        const client = new RelayClient(relay.url, { retries: 0 });
        const done = await openPair(relay.url);
        await put(relay.url, done.host.pair_id, done.host.token, 'done', '1');
        await put(relay.url, done.host.pair_id, done.guest.token, 'done', '1');
        const aborted = await openPair(relay.url);
        await put(relay.url, aborted.host.pair_id, aborted.host.token, 'abort', 'sas mismatch');
        await put(relay.url, aborted.host.pair_id, aborted.guest.token, 'abort', 'something a client made up');
        // Every fixed reason a client writes has its label; one no client writes is `other`.
        const wrongCode = await openPair(relay.url);
        await put(relay.url, wrongCode.host.pair_id, wrongCode.host.token, 'abort', WRONG_CODE_REASON);
        await put(relay.url, wrongCode.host.pair_id, wrongCode.guest.token, 'abort', 'no digits typed');
        const inbox = await client.allocateSlot();
        const grant = await client.grant(inbox.slotId, inbox.ownerToken);
        await client.postMessage(inbox.slotId, grant.sendToken, Buffer.from('hello').toString('base64'));
        await call(relay.url, 'GET', '/nope');
        await relay.relay.sweep();
        const answer = await call(relay.url, 'GET', '/metrics');
        assert.equal(answer.status, 200);
        assert.match(answer.headers.get('content-type') ?? '', /^text\/plain/);
        const text = answer.text;
        assert.match(text, /^agent_pair_relay_requests_total\{route="PUT \/v1\/pair\/\{pair_id\}\/\{field\}",status="204"\} 6$/m);
        assert.match(text, /^agent_pair_relay_requests_total\{route="POST \/v1\/slot\/\{slot_id\}\/messages",status="201"\} 1$/m);
        assert.match(text, /^agent_pair_relay_requests_total\{route="unknown",status="404"\} 1$/m);
        assert.match(text, /^agent_pair_relay_pair_slots 2$/m);
        assert.match(text, /^agent_pair_relay_inbox_slots 1$/m);
        assert.match(text, /^agent_pair_relay_messages_queued 1$/m);
        assert.match(text, /^agent_pair_relay_message_bytes_queued 5$/m);
        assert.match(text, /^agent_pair_relay_long_polls 0$/m);
        assert.match(text, /^agent_pair_relay_pairings_ended_total\{outcome="completed",reason="done"\} 1$/m);
        assert.match(text, /^agent_pair_relay_pairings_ended_total\{outcome="aborted",reason="sas_mismatch"\} 1$/m);
        assert.match(text, /^agent_pair_relay_pairings_ended_total\{outcome="aborted",reason="other"\} 2$/m);
        assert.match(text, /^agent_pair_relay_pairings_ended_total\{outcome="aborted",reason="wrong_code"\} 1$/m);
        assert.match(text, /^agent_pair_relay_store_seconds_count\{operation="postMessage"\} 1$/m);
        assertError(await call(relay.url, 'POST', '/metrics'), 405, 'method_not_allowed');
      } finally {
        await relay.close();
      }
    });
  });
}

/** Sends raw bytes and returns everything the relay wrote before closing. */
function rawExchange(port: number, raw: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    socket.on('end', () => {
      resolve(text);
    });
    socket.on('close', () => {
      resolve(text);
    });
    socket.on('error', (error) => {
      if (text !== '') resolve(text);
      else reject(error);
    });
    socket.write(raw);
  });
}
