// The relay client against a real relay on loopback, and against tiny scripted HTTP servers
// (also real sockets on port 0) for the answers a healthy relay never gives: 503 then 201,
// Retry-After, silence, malformed bodies.

import assert from 'node:assert/strict';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { isPairError, type ErrorCode } from '../../src/core/errors.js';
import { type RelayFetch, httpFetch } from '../../src/relay/transport.js';
import { RelayClient, type RelayClientOptions, createRelayConnector, normaliseRelayUrl } from '../../src/relay/client.js';
import { type RunningRelay, startRelay } from '../../src/relay/node.js';
import { protocolVectors } from '../core/vectors.js';
import { ENGINES, storeFor } from '../helpers/engines.js';
import { RedisServer } from '../helpers/redis.js';
import { TestClock } from './http.js';
import { until } from '../helpers/until.js';

const HOST_COMMIT = protocolVectors.host.commit;
const GUEST_COMMIT = protocolVectors.guest.commit;
const HOST_PAKE = Buffer.from(protocolVectors.host.pake_msg_hex, 'hex').toString('base64');
const GUEST_PAKE = Buffer.from(protocolVectors.guest.pake_msg_hex, 'hex').toString('base64');
const SOME_TOKEN = 'cd'.repeat(32);
const SOME_ID = 'ab'.repeat(16);

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isPairError(error), `expected a PairError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (message) assert.match(error.message, message);
    return true;
  });
}

/** A tiny HTTP server whose answers a test scripts; `requests` counts what reached it. */
async function scriptedServer(answer: (req: IncomingMessage, res: ServerResponse, index: number) => void): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  let count = 0;
  const server: Server = createServer((req, res) => {
    answer(req, res, count++);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

function reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

const OPENED = { pair_id: SOME_ID, nameplate: '47', token: SOME_TOKEN, expires_at: '2026-11-25T12:10:00Z' };

describe('RelayClient against a real relay', () => {
  const clock = new TestClock();
  let relay: RunningRelay;
  let client: RelayClient;
  before(async () => {
    relay = await startRelay({ port: 0, clock, limits: { opensPerIpPerMinute: 10_000, maxOpenSlots: 1_000 } });
    client = new RelayClient(relay.url, { retries: 0 });
  });
  after(async () => {
    await relay.close();
  });

  it('opens, joins, writes and reads, with expires_at in ms', async () => {
    const host = await client.openHost();
    assert.match(host.nameplate, /^\d{2}$/);
    assert.equal(host.expiresAt, clock.ms + 600_000);
    const guest = await client.joinGuest(host.nameplate);
    assert.equal(guest.pairId, host.pairId);
    assert.equal(guest.expiresAt, host.expiresAt);

    await client.put(host.pairId, host.token, 'commit', HOST_COMMIT);
    await client.put(host.pairId, guest.token, 'commit', GUEST_COMMIT);
    await client.put(host.pairId, host.token, 'commit', HOST_COMMIT); // the same value again is fine
    await client.put(host.pairId, host.token, 'pake', HOST_PAKE);
    const seen = await client.get(host.pairId, guest.token);
    assert.deepEqual(seen, { version: 3, expiresAt: host.expiresAt, self: { commit: GUEST_COMMIT }, peer: { commit: HOST_COMMIT, pake: HOST_PAKE } });
  });

  it('long-polls: wakes on the peer write', async () => {
    const host = await client.openHost();
    const guest = await client.joinGuest(host.nameplate);
    const polling = client.get(host.pairId, host.token, { after: 0, waitSeconds: 20 });
    await until('the poll to wait', () => relay.stats().longPolls === 1);
    const wroteAt = Date.now();
    await client.put(host.pairId, guest.token, 'commit', GUEST_COMMIT);
    const woken = await polling;
    assert.equal(woken.version, 1);
    assert.equal(woken.peer.commit, GUEST_COMMIT);
    assert.ok(Date.now() - wroteAt < 2_000);
  });

  it('ends a long poll at once with cancelled when the caller\'s signal aborts; the relay lets go of it', async () => {
    const host = await client.openHost();
    const controller = new AbortController();
    const polling = client.get(host.pairId, host.token, { after: 0, waitSeconds: 20, signal: controller.signal });
    await until('the poll to wait', () => relay.stats().longPolls === 1);
    controller.abort();
    await rejectsWith(polling, 'cancelled', /cancelled/);
    await until('the relay to drop the poll', () => relay.stats().longPolls === 0);
    // An already aborted signal sends nothing at all.
    await rejectsWith(client.get(host.pairId, host.token, { after: 0, waitSeconds: 20, signal: controller.signal }), 'cancelled');
    assert.equal(relay.stats().longPolls, 0);
  });

  it('maps 404 on a pair slot to expired, on a join to not_found, 409 to conflict, others to relay_error', async () => {
    await rejectsWith(client.joinGuest('98765'), 'not_found', /nameplate 98765/);
    const host = await client.openHost();
    const guest = await client.joinGuest(host.nameplate);
    await rejectsWith(client.joinGuest(host.nameplate), 'conflict', /already joined/);
    await client.put(host.pairId, host.token, 'commit', HOST_COMMIT);
    await rejectsWith(client.put(host.pairId, host.token, 'commit', GUEST_COMMIT), 'conflict', new RegExp(relay.url.replace(/\./g, '\\.')));
    await client.put(host.pairId, guest.token, 'commit', GUEST_COMMIT);
    await rejectsWith(client.put(host.pairId, host.token, 'pake', GUEST_PAKE), 'relay_error', /422.*commit/);
    await rejectsWith(client.get(host.pairId, SOME_TOKEN), 'relay_error', /401/);
    await rejectsWith(client.get(SOME_ID, host.token), 'expired', /expired, finished, or the relay restarted/);

    clock.advanceSeconds(600);
    await rejectsWith(client.get(host.pairId, host.token), 'expired');
    await rejectsWith(client.put(host.pairId, guest.token, 'abort', 'too late'), 'expired');
  });

  it('allocates inbox slots and grants send tokens', async () => {
    const slot = await client.allocateSlot();
    assert.match(slot.slotId, /^[0-9a-f]{32}$/);
    const { sendToken } = await client.grant(slot.slotId, slot.ownerToken);
    assert.match(sendToken, /^[0-9a-f]{64}$/);
    await rejectsWith(client.grant(SOME_ID, slot.ownerToken), 'inbox_gone', /does not know this inbox/);
    await rejectsWith(client.grant(slot.slotId, SOME_TOKEN), 'relay_error', /401/);
  });

  it('rejects bad arguments before any request, never echoing a token', async () => {
    const host = await client.openHost();
    const cases: [() => Promise<unknown>, RegExp][] = [
      [() => client.joinGuest('047'), /nameplate/],
      [() => client.joinGuest('47-ABCDEF'), /nameplate/],
      [() => client.put('xyz', host.token, 'commit', HOST_COMMIT), /pairId/],
      [() => client.put(host.pairId, 'secret-token', 'commit', HOST_COMMIT), /token/],
      [() => client.put(host.pairId, host.token, 'commit', 'AB'.repeat(32)), /commit/],
      [() => client.put(host.pairId, host.token, 'nope' as 'commit', HOST_COMMIT), /field/],
      [() => client.put(host.pairId, host.token, 'done', 'yes'), /done/],
      [() => client.get(host.pairId, host.token, { after: -1, waitSeconds: 1 }), /after/],
      [() => client.get(host.pairId, host.token, { after: 0, waitSeconds: 26 }), /waitSeconds/],
      [() => client.get(host.pairId, host.token, { after: 0, waitSeconds: Number.NaN }), /waitSeconds/],
      [() => client.grant('nope', SOME_TOKEN), /slotId/],
    ];
    for (const [attempt, message] of cases) {
      await assert.rejects(attempt(), (error: unknown) => {
        assert.ok(isPairError(error, 'bad_input'), String(error));
        assert.match(error.message, message);
        assert.ok(!error.message.includes('secret-token'));
        return true;
      });
    }
    assert.equal((await client.get(host.pairId, host.token)).version, 0, 'nothing was written');
  });

  it('maps 429 to rate_limited and 503 to relay_full once retries are spent', async () => {
    const limited = await startRelay({ port: 0, limits: { opensPerIpPerMinute: 1, maxOpenSlots: 1 } });
    try {
      const impatient = new RelayClient(limited.url, { retries: 0 });
      await impatient.openHost();
      await rejectsWith(impatient.openHost(), 'rate_limited', /Retry in \d+ s/);
      const full = await startRelay({ port: 0, limits: { maxOpenSlots: 1 } });
      try {
        const client = new RelayClient(full.url, { retries: 1 });
        await client.openHost();
        await rejectsWith(client.openHost(), 'relay_full', /no room/);
      } finally {
        await full.close();
      }
    } finally {
      await limited.close();
    }
  });

  it('treats a retried done that meets 404 as done: the slot went away because of it', async () => {
    const host = await client.openHost();
    const guest = await client.joinGuest(host.nameplate);
    await client.put(host.pairId, guest.token, 'done', '1');
    const lossy = new RelayClient(relay.url, { retries: 2, fetch: answerLostOnce() });
    await lossy.put(host.pairId, host.token, 'done', '1');
    await rejectsWith(client.get(host.pairId, host.token), 'expired', /finished/);
  });

  it('reports a join whose answer was lost and whose retry met 409 as conflict, naming the likely cause', async () => {
    const host = await client.openHost();
    const lossy = new RelayClient(relay.url, { retries: 2, fetch: answerLostOnce() });
    await rejectsWith(lossy.joinGuest(host.nameplate), 'conflict', /own earlier attempt/);
  });
});

for (const engine of ENGINES) {
  describe(`RelayClient messaging against a real relay on the ${engine} engine (section 6.3)`, () => {
    const clock = new TestClock();
    let relay: RunningRelay;
    let client: RelayClient;
    let redis: RedisServer | undefined;
    before(async () => {
      redis = engine === 'redis' ? await RedisServer.start() : undefined;
      relay = await startRelay({ port: 0, clock, limits: { opensPerIpPerMinute: 10_000, maxInboxMessages: 5 }, ...storeFor(engine, redis) });
      client = new RelayClient(relay.url, { retries: 0 });
    });
    after(async () => {
      await relay.close();
      await redis?.dispose();
    });

    const envelope = (fill: number): string => Buffer.alloc(40, fill).toString('base64');

    it('posts, reads with grant_id and received_at, acknowledges', async () => {
      const inbox = await client.allocateSlot();
      const grant = await client.grant(inbox.slotId, inbox.ownerToken);
      await client.postMessage(inbox.slotId, grant.sendToken, envelope(1));
      await client.postMessage(inbox.slotId, grant.sendToken, envelope(2));
      const page = await client.readMessages(inbox.slotId, inbox.ownerToken, { after: 0 });
      const receivedAt = Math.floor(clock.ms / 1000) * 1000;
      assert.deepEqual(page, {
        messages: [
          { seq: 1, value: envelope(1), grantId: grant.grantId, receivedAt },
          { seq: 2, value: envelope(2), grantId: grant.grantId, receivedAt },
        ],
        lastSeq: 2,
      });
      await client.ackMessages(inbox.slotId, inbox.ownerToken, 1);
      assert.deepEqual((await client.readMessages(inbox.slotId, inbox.ownerToken, { after: 0 })).messages.map((m) => m.seq), [2]);
    });

    it('long-polls the inbox: a waiting read is woken by a post', async () => {
      const inbox = await client.allocateSlot();
      const grant = await client.grant(inbox.slotId, inbox.ownerToken);
      const polling = client.readMessages(inbox.slotId, inbox.ownerToken, { after: 0, waitSeconds: 20 });
      await until('the poll to wait', () => relay.stats().longPolls === 1);
      const sender = new RelayClient(relay.url, { retries: 0 });
      await sender.postMessage(inbox.slotId, grant.sendToken, envelope(3));
      const page = await polling;
      assert.deepEqual(page.messages.map((m) => [m.seq, m.value]), [[1, envelope(3)]]);
      assert.equal(relay.stats().longPolls, 0);
    });

    it('revokes a grant: that token\'s sends are revoked, the others keep working', async () => {
      const inbox = await client.allocateSlot();
      const forgotten = await client.grant(inbox.slotId, inbox.ownerToken);
      const kept = await client.grant(inbox.slotId, inbox.ownerToken);
      await client.revokeGrant(inbox.slotId, inbox.ownerToken, forgotten.grantId);
      await rejectsWith(client.postMessage(inbox.slotId, forgotten.sendToken, envelope(4)), 'revoked', /forgot us or revoked/);
      await client.postMessage(inbox.slotId, kept.sendToken, envelope(5));
      assert.deepEqual((await client.readMessages(inbox.slotId, inbox.ownerToken, { after: 0 })).messages.map((message) => message.grantId), [kept.grantId]);
      await client.revokeGrant(inbox.slotId, inbox.ownerToken, forgotten.grantId);
    });

    it('maps an unknown or idle-expired inbox to inbox_gone, a full one to inbox_full', async () => {
      const inbox = await client.allocateSlot();
      const grant = await client.grant(inbox.slotId, inbox.ownerToken);
      for (let i = 0; i < 5; i++) await client.postMessage(inbox.slotId, grant.sendToken, envelope(i));
      await rejectsWith(client.postMessage(inbox.slotId, grant.sendToken, envelope(9)), 'inbox_full', /read their messages/);
      await rejectsWith(client.readMessages(SOME_ID, inbox.ownerToken, { after: 0 }), 'inbox_gone');
      await rejectsWith(client.ackMessages(SOME_ID, inbox.ownerToken, 1), 'inbox_gone');
      await rejectsWith(client.revokeGrant(SOME_ID, inbox.ownerToken, grant.grantId), 'inbox_gone');
      clock.advanceSeconds(30 * 24 * 3600);
      await rejectsWith(client.readMessages(inbox.slotId, inbox.ownerToken, { after: 0 }), 'inbox_gone', /30 days/);
      await rejectsWith(client.postMessage(inbox.slotId, grant.sendToken, envelope(1)), 'inbox_gone');
    });
  });
}

/** A fetch that delivers the first request to the relay but loses its answer, like a dropped connection. */
function answerLostOnce(): typeof fetch {
  let lost = false;
  return async (input, init) => {
    const response = await fetch(input, init);
    if (lost) return response;
    lost = true;
    await response.arrayBuffer();
    throw new TypeError('fetch failed', { cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }) });
  };
}

/** Both transports the client runs on: the global fetch (VS Code's) and node:http (the CLI's, relay/transport.ts). */
const TRANSPORTS: { name: string; transport: RelayClientOptions }[] = [
  { name: 'the global fetch', transport: {} },
  { name: 'node:http', transport: { fetch: httpFetch } },
];

for (const { name, transport } of TRANSPORTS) {
  describe(`RelayClient retries and timeouts (scripted servers, ${name})`, () => {
    it('retries a 503 after its Retry-After and succeeds on the 201', async () => {
      const server = await scriptedServer((_req, res, index) => {
        if (index === 0) reply(res, 503, { error: { code: 'capacity', message: 'full' } }, { 'retry-after': '1' });
        else reply(res, 201, OPENED);
      });
      try {
        const started = Date.now();
        const opened = await new RelayClient(server.url, { ...transport, retries: 2 }).openHost();
        const elapsed = Date.now() - started;
        assert.equal(opened.nameplate, '47');
        assert.equal(opened.expiresAt, Date.UTC(2026, 10, 25, 12, 10, 0));
        assert.equal(server.requests(), 2);
        assert.ok(elapsed >= 900, `waited ${elapsed} ms for Retry-After: 1`);
        assert.ok(elapsed < 5_000, `waited ${elapsed} ms`);
      } finally {
        await server.close();
      }
    });

    it('retries 429 with Retry-After: 0 at once, and network errors with backoff', async () => {
      const server = await scriptedServer((req, res, index) => {
        if (index === 0) reply(res, 429, { error: { code: 'rate_limited', message: 'slow down' } }, { 'retry-after': '0' });
        else if (index === 1) req.socket.destroy(); // a connection reset mid-request
        else reply(res, 201, { slot_id: SOME_ID, owner_token: SOME_TOKEN });
      });
      try {
        const slot = await new RelayClient(server.url, { ...transport, retries: 3 }).allocateSlot();
        assert.deepEqual(slot, { slotId: SOME_ID, ownerToken: SOME_TOKEN });
        assert.equal(server.requests(), 3);
      } finally {
        await server.close();
      }
    });

    it('waits its pauses on the clock it is given: a Retry-After in full, then a network error\'s backoff', async () => {
      const server = await scriptedServer((req, res, index) => {
        if (index === 0) reply(res, 503, { error: { code: 'capacity', message: 'full' } }, { 'retry-after': '7' });
        else if (index === 1) req.socket.destroy();
        else reply(res, 201, { slot_id: SOME_ID, owner_token: SOME_TOKEN });
      });
      const paused: number[] = [];
      const clock = {
        sleep: (ms: number): Promise<void> => {
          paused.push(ms);
          return Promise.resolve();
        },
      };
      try {
        const slot = await new RelayClient(server.url, { ...transport, retries: 3, clock }).allocateSlot();
        assert.deepEqual(slot, { slotId: SOME_ID, ownerToken: SOME_TOKEN });
        assert.equal(server.requests(), 3);
        assert.equal(paused.length, 2, String(paused));
        assert.equal(paused[0], 7_000);
        assert.ok(paused[1] !== undefined && paused[1] >= 250 && paused[1] <= 500, `the second attempt's backoff is 250-500 ms, not ${paused[1]}`);
      } finally {
        await server.close();
      }
    });

    it('does not retry a long poll whose caller aborted, not even from a backoff wait', async () => {
      const server = await scriptedServer((_req, res) => {
        reply(res, 503, { error: { code: 'capacity', message: 'full' } }, { 'retry-after': '10' });
      });
      try {
        const controller = new AbortController();
        const started = Date.now();
        const polling = new RelayClient(server.url, { ...transport, retries: 3, maxRetryWaitMs: 60_000 }).get(SOME_ID, SOME_TOKEN, { after: 0, waitSeconds: 5, signal: controller.signal });
        await until('the first attempt', () => server.requests() === 1);
        controller.abort();
        await rejectsWith(polling, 'cancelled');
        assert.ok(Date.now() - started < 5_000, 'the 10 s Retry-After was cut short');
        assert.equal(server.requests(), 1);
      } finally {
        await server.close();
      }
    });

    it('gives up at once when Retry-After exceeds the retry budget', async () => {
      const server = await scriptedServer((_req, res) => {
        reply(res, 429, { error: { code: 'rate_limited', message: 'slow down' } }, { 'retry-after': '120' });
      });
      try {
        const started = Date.now();
        await rejectsWith(new RelayClient(server.url, { ...transport, retries: 3, maxRetryWaitMs: 10_000 }).openHost(), 'rate_limited', /Retry in 120 s/);
        assert.equal(server.requests(), 1);
        assert.ok(Date.now() - started < 2_000);
      } finally {
        await server.close();
      }
    });

    it('stops after the configured retries', async () => {
      const server = await scriptedServer((_req, res) => {
        reply(res, 503, { error: { code: 'capacity', message: 'still full' } }, { 'retry-after': '0' });
      });
      try {
        await rejectsWith(new RelayClient(server.url, { ...transport, retries: 2 }).openHost(), 'relay_full', /still full/);
        assert.equal(server.requests(), 3);
      } finally {
        await server.close();
      }
    });

    it('times out a silent relay as relay_unreachable, naming the URL, without retrying the timeout', async () => {
      const server = await scriptedServer(() => {
        // Never answers.
      });
      try {
        // Attempts are counted where they start: on a loaded machine 200 ms can pass before the
        // server has read the request, so its count alone could say 0.
        let attempts = 0;
        const transportFetch = transport.fetch ?? fetch;
        const counting: RelayFetch = (input, init) => {
          attempts++;
          return transportFetch(input, init);
        };
        const started = Date.now();
        await rejectsWith(new RelayClient(server.url, { fetch: counting, retries: 3, timeoutMs: 200 }).openHost(), 'relay_unreachable', new RegExp(`${server.url.replace(/\./g, '\\.')} did not answer`));
        assert.ok(Date.now() - started < 3_000);
        assert.equal(attempts, 1);
        assert.ok(server.requests() <= 1, `the server saw ${server.requests()} requests`);
      } finally {
        await server.close();
      }
    });

    it('gives a long poll its wait on top of the request timeout', async () => {
      const server = await scriptedServer((_req, res) => {
        setTimeout(() => {
          reply(res, 200, { version: 4, expires_at: '2026-11-25T12:10:00.5+00:00', self: {}, peer: { done: '1', extra: 'ignored' } });
        }, 600);
      });
      try {
        const client = new RelayClient(server.url, { ...transport, retries: 0, timeoutMs: 300 });
        const view = await client.get(SOME_ID, SOME_TOKEN, { after: 3, waitSeconds: 1 });
        assert.deepEqual(view, { version: 4, expiresAt: Date.UTC(2026, 10, 25, 12, 10, 0, 500), self: {}, peer: { done: '1' } });
        await rejectsWith(client.get(SOME_ID, SOME_TOKEN), 'relay_unreachable', /did not answer/);
      } finally {
        await server.close();
      }
    });

    it('reports an unreachable relay as relay_unreachable, naming the URL', async () => {
      const server = await scriptedServer(() => undefined);
      const url = server.url;
      await server.close(); // nothing listens there now
      await rejectsWith(new RelayClient(url, { ...transport, retries: 1 }).openHost(), 'relay_unreachable', new RegExp(`${url.replace(/\./g, '\\.')}.*ECONNREFUSED`));
    });

    it('rejects malformed or oversized answers as relay_error', async () => {
      const answers: [number, string | object, RegExp][] = [
        [201, 'not json', /not JSON/],
        [201, [1, 2], /not a JSON object/],
        [201, { ...OPENED, token: 'short' }, /token/],
        [201, { ...OPENED, nameplate: '07' }, /nameplate/],
        [201, { ...OPENED, expires_at: 'tomorrow' }, /expires_at/],
        [201, 'x'.repeat(300 * 1024), /over/],
        [200, OPENED, /answered 200/],
        [400, { error: { code: 'bad_request', message: 'role\u001b[31m is wrong' } }, /400 when asked to open a pairing: "role \[31m is wrong"$/],
        [500, '<html>oops</html>', /500.*no error message/],
      ];
      let index = 0;
      const server = await scriptedServer((_req, res) => {
        const [status, body] = answers[index++]!;
        reply(res, status, body);
      });
      try {
        const client = new RelayClient(server.url, { ...transport, retries: 0 });
        for (const [, , message] of answers) await rejectsWith(client.openHost(), 'relay_error', message);
      } finally {
        await server.close();
      }
    });

    it('rejects a view with a malformed version or field', async () => {
      const views = [
        { version: -1, expires_at: OPENED.expires_at, self: {}, peer: {} },
        { version: 1, expires_at: OPENED.expires_at, self: [], peer: {} },
        { version: 1, expires_at: OPENED.expires_at, self: {}, peer: { commit: 5 } },
      ];
      let index = 0;
      const server = await scriptedServer((_req, res) => {
        reply(res, 200, views[index++]);
      });
      try {
        const client = new RelayClient(server.url, { ...transport, retries: 0 });
        for (const message of [/version/, /self/, /peer\.commit/]) await rejectsWith(client.get(SOME_ID, SOME_TOKEN), 'relay_error', message);
      } finally {
        await server.close();
      }
    });
  });

  describe(`RelayClient never follows a redirect, and sends wait as an integer (scripted servers, ${name})`, () => {
    it('reports a 3xx as an error naming its status, and never contacts the address it points to', async () => {
      const elsewhere = await scriptedServer((_req, res) => {
        reply(res, 201, {});
      });
      const redirecting = await scriptedServer((_req, res, index) => {
        res.writeHead([307, 308, 301, 302][index % 4] ?? 307, { location: `${elsewhere.url}/v1/slot/${SOME_ID}/messages` });
        res.end();
      });
      try {
        const client = new RelayClient(redirecting.url, { ...transport, retries: 0 });
        for (const status of [307, 308, 301, 302]) {
          await rejectsWith(client.postMessage(SOME_ID, SOME_TOKEN, 'AAAA'), 'relay_error', new RegExp(`answered ${status} \\(a redirect\\) when asked to deliver a message; relay requests never follow redirects`));
        }
        await rejectsWith(client.readMessages(SOME_ID, SOME_TOKEN, { after: 0 }), 'relay_error', /307 \(a redirect\)/);
        assert.equal(elsewhere.requests(), 0, 'the redirect target was never contacted');
      } finally {
        await redirecting.close();
        await elsewhere.close();
      }
    });

    it('sends wait as a whole number of seconds, rounded down (PROTOCOL.md section 3)', async () => {
      const targets: string[] = [];
      const server = await scriptedServer((req, res) => {
        targets.push(req.url ?? '');
        if ((req.url ?? '').startsWith('/v1/slot/')) reply(res, 200, { messages: [], last_seq: 0 });
        else reply(res, 200, { version: 0, expires_at: '2026-11-25T12:10:00Z', self: {}, peer: {} });
      });
      try {
        const client = new RelayClient(server.url, { ...transport, retries: 0 });
        await client.readMessages(SOME_ID, SOME_TOKEN, { after: 0, waitSeconds: 4.867 });
        await client.get(SOME_ID, SOME_TOKEN, { after: 0, waitSeconds: 0.9 });
        assert.deepEqual(targets, [`/v1/slot/${SOME_ID}/messages?after=0&wait=4`, `/v1/pair/${SOME_ID}?after=0&wait=0`]);
      } finally {
        await server.close();
      }
    });
  });
}

describe('relay URLs', () => {
  it('normalises http(s) URLs', () => {
    assert.equal(normaliseRelayUrl('http://127.0.0.1:8771'), 'http://127.0.0.1:8771');
    assert.equal(normaliseRelayUrl('  http://127.0.0.1:8771/  '), 'http://127.0.0.1:8771');
    assert.equal(normaliseRelayUrl('HTTP://Relay.Example.COM:80/'), 'http://relay.example.com');
    assert.equal(normaliseRelayUrl('https://relay.example.com/agent-pair/'), 'https://relay.example.com/agent-pair');
    assert.equal(normaliseRelayUrl('http://[::1]:8771'), 'http://[::1]:8771');
  });

  it('rejects anything else with bad_input naming the expected shape', () => {
    for (const bad of ['', '   ', 'relay.example.com', 'ftp://relay.example.com', 'file:///etc/passwd', 'http://user:pw@relay.example.com', 'http://relay.example.com/?x=1', 'http://relay.example.com/#top', 'http://']) {
      assert.throws(
        () => normaliseRelayUrl(bad),
        (error: unknown) => isPairError(error, 'bad_input') && /relay URL/.test(error.message) && /http:\/\/ or https:\/\//.test(error.message) && !error.message.includes('pw'),
        bad,
      );
    }
    assert.throws(() => new RelayClient('ftp://x'), (error: unknown) => isPairError(error, 'bad_input'));
    assert.throws(() => new RelayClient('http://x', { timeoutMs: 0 }), (error: unknown) => isPairError(error, 'bad_input') && /timeoutMs/.test(error.message));
    assert.throws(() => new RelayClient('http://x', { retries: -1 }), (error: unknown) => isPairError(error, 'bad_input') && /retries/.test(error.message));
  });

  it('connects one client per normalised URL', () => {
    const connect = createRelayConnector();
    const first = connect('http://127.0.0.1:8771/');
    assert.equal(first, connect('http://127.0.0.1:8771'));
    assert.equal(first.url, 'http://127.0.0.1:8771');
    assert.notEqual(first, connect('http://127.0.0.1:8772'));
    assert.throws(() => connect('mailto:x@example.com'), (error: unknown) => isPairError(error, 'bad_input'));
  });
});
