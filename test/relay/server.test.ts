// The relay over real HTTP on loopback (port 0): every route, status and error body of
// PROTOCOL.md section 3, nameplates, tokens, write-once fields, commit before reveal, long
// polls, lifetimes and limits. Time-based rules run on an injected clock; long polls on real time.

import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatTimestamp } from '../../src/relay/contract.js';
import { type RunningRelay, type StartRelayOptions, startRelay } from '../../src/relay/node.js';
import { rateLimitKey } from '../../src/relay/server.js';
import { protocolVectors } from '../core/vectors.js';
import { TestClock, assertError, call, eventually, joinGuest, openHost, openPair, put, view } from './http.js';

const HOST_PAKE = Buffer.from(protocolVectors.host.pake_msg_hex, 'hex').toString('base64');
const GUEST_PAKE = Buffer.from(protocolVectors.guest.pake_msg_hex, 'hex').toString('base64');
const HOST_COMMIT = protocolVectors.host.commit;
const GUEST_COMMIT = protocolVectors.guest.commit;
const CONFIRM = Buffer.alloc(32, 7).toString('base64');
const OTHER_TOKEN = 'ab'.repeat(32);
const UNKNOWN_PAIR = '0'.repeat(32);
const GENEROUS = { opensPerIpPerMinute: 100_000 };

/** Starts a relay for one describe block and closes it afterwards. */
function relayFor(options: () => StartRelayOptions = () => ({ limits: GENEROUS })): { relay: () => RunningRelay; url: () => string } {
  let running: RunningRelay | undefined;
  before(async () => {
    running = await startRelay({ host: '127.0.0.1', port: 0, ...options() });
  });
  after(async () => {
    await running?.close();
  });
  const relay = (): RunningRelay => {
    assert.ok(running, 'relay not started');
    return running;
  };
  return { relay, url: () => relay().url };
}

describe('health and routing', () => {
  const { url } = relayFor();

  it('answers GET /healthz with 200 ok', async () => {
    const answer = await call(url(), 'GET', '/healthz');
    assert.equal(answer.status, 200);
    assert.equal(answer.text, 'ok');
    assert.match(answer.headers.get('content-type') ?? '', /^text\/plain/);
  });

  it('answers unknown routes with 404 not_found', async () => {
    for (const path of ['/', '/nope', '/v1', '/v1/', '/v2/pair', '/v1/pair/a/b/c', '/v1/slot/x', '/v1/slot/x/grants/y', '/healthz/x']) {
      assertError(await call(url(), 'GET', path), 404, 'not_found');
    }
  });

  it('answers wrong methods with 405 and an Allow header', async () => {
    const cases: [string, string, string][] = [
      ['POST', '/healthz', 'GET'],
      ['GET', '/v1/pair', 'POST'],
      ['DELETE', `/v1/pair/${UNKNOWN_PAIR}`, 'GET'],
      ['POST', `/v1/pair/${UNKNOWN_PAIR}`, 'GET'],
      ['GET', `/v1/pair/${UNKNOWN_PAIR}/commit`, 'PUT'],
      ['GET', '/v1/slot', 'POST'],
      ['PUT', `/v1/slot/${UNKNOWN_PAIR}/grants`, 'POST'],
    ];
    for (const [method, path, allow] of cases) {
      const answer = await call(url(), method, path);
      assertError(answer, 405, 'method_not_allowed');
      assert.equal(answer.headers.get('allow'), allow, `${method} ${path}`);
    }
  });
});

describe('opening and joining', () => {
  const clock = new TestClock();
  const { url } = relayFor(() => ({ limits: GENEROUS, clock }));

  it('opens a host slot: 201 with pair_id, nameplate, token and expires_at 600 s later', async () => {
    const answer = await call(url(), 'POST', '/v1/pair', { body: { role: 'host' } });
    assert.equal(answer.status, 201);
    const body = answer.json as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), ['expires_at', 'nameplate', 'pair_id', 'token']);
    assert.match(body['pair_id'] as string, /^[0-9a-f]{32}$/);
    assert.match(body['token'] as string, /^[0-9a-f]{64}$/);
    assert.match(body['nameplate'] as string, /^[1-9][0-9]$/);
    assert.equal(body['expires_at'], formatTimestamp(clock.ms + 600_000));
    assert.match(body['expires_at'], /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  });

  it('lets a guest join by nameplate: 201 with the same pair_id, its own token, the same expiry', async () => {
    const host = await openHost(url());
    clock.advanceSeconds(30);
    const answer = await call(url(), 'POST', '/v1/pair', { body: { role: 'guest', nameplate: host.nameplate } });
    assert.equal(answer.status, 201);
    const body = answer.json as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), ['expires_at', 'pair_id', 'token']);
    assert.equal(body['pair_id'], host.pair_id);
    assert.match(body['token'] as string, /^[0-9a-f]{64}$/);
    assert.notEqual(body['token'], host.token);
    assert.equal(body['expires_at'], host.expires_at, 'the lifetime runs from creation, not from the join');
  });

  it('answers 404 for a nameplate nobody waits under', async () => {
    assertError(await call(url(), 'POST', '/v1/pair', { body: { role: 'guest', nameplate: '123456789' } }), 404, 'not_found', /nameplate 123456789/);
  });

  it('allows one guess per nameplate: a second join answers 409, the nameplate no longer resolves', async () => {
    const host = await openHost(url());
    const first = await joinGuest(url(), host.nameplate);
    const second = await call(url(), 'POST', '/v1/pair', { body: { role: 'guest', nameplate: host.nameplate } });
    assertError(second, 409, 'conflict', /already joined/);
    // The first guest's token still works; the second got none.
    assert.equal((await view(url(), host.pair_id, first.token)).version, 0);
  });

  it('rejects malformed open and join bodies with 400 naming the problem', async () => {
    const cases: [string | undefined, unknown, RegExp][] = [
      ['', undefined, /empty/],
      ['{"role":', undefined, /not valid JSON/],
      ['[1]', undefined, /not a JSON object/],
      ['"host"', undefined, /not a JSON object/],
      [undefined, {}, /role is missing/],
      [undefined, { role: 'admin' }, /role/],
      [undefined, { role: 7 }, /role/],
      [undefined, { role: 'guest' }, /nameplate is missing/],
      [undefined, { role: 'guest', nameplate: 47 }, /nameplate is not a string of digits/],
      [undefined, { role: 'guest', nameplate: '047' }, /nameplate/],
      [undefined, { role: 'guest', nameplate: '4a' }, /nameplate/],
      [undefined, { role: 'host', nameplate: '47' }, /nameplate is not taken from a host/],
      [undefined, { role: 'host', extra: true }, /extra is not a field/],
      [undefined, { role: 'guest', nameplate: '47', token: 'x' }, /token is not a field/],
    ];
    for (const [raw, body, message] of cases) {
      const answer = await call(url(), 'POST', '/v1/pair', raw === undefined ? { body } : { raw, headers: { 'content-type': 'application/json' } });
      assertError(answer, 400, 'bad_request', message);
    }
    const invalidUtf8 = new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x7d]);
    assertError(await call(url(), 'POST', '/v1/pair', { raw: invalidUtf8 }), 400, 'bad_request', /UTF-8/);
  });
});

describe('nameplates', () => {
  const clock = new TestClock();
  const { url, relay } = relayFor(() => ({ limits: { ...GENEROUS, maxOpenSlots: 1_000 }, clock }));

  it('hands out random 2-digit nameplates while fewer than 90 wait, then 3 digits; then quarantines them for 60 s after a join', async () => {
    const opened = [];
    for (let i = 0; i < 90; i++) opened.push(await openHost(url()));
    const nameplates = opened.map((host) => Number(host.nameplate));
    assert.deepEqual([...nameplates].sort((a, b) => a - b), Array.from({ length: 90 }, (_, i) => i + 10), 'all of 10..99, each once');
    assert.notDeepEqual(nameplates, [...nameplates].sort((a, b) => a - b), 'handed out in random order, not lowest first');

    const overflow = await openHost(url());
    assert.match(overflow.nameplate, /^[1-9][0-9]{2}$/);

    // A guest joins one 2-digit pairing: its nameplate is quarantined, not reused.
    const joinedHost = opened[42]!;
    await joinGuest(url(), joinedHost.nameplate);
    assert.equal(relay().stats().waitingNameplates, 90, '89 two-digit waiting + the 3-digit one');
    clock.advanceSeconds(59);
    assert.match((await openHost(url())).nameplate, /^\d{3}$/, 'still quarantined after 59 s');
    assertError(await call(url(), 'POST', '/v1/pair', { body: { role: 'guest', nameplate: joinedHost.nameplate } }), 409, 'conflict');

    clock.advanceSeconds(2);
    // Quarantine over: a late join meets 404, and the nameplate is the only free 2-digit one.
    assertError(await call(url(), 'POST', '/v1/pair', { body: { role: 'guest', nameplate: joinedHost.nameplate } }), 404, 'not_found');
    assert.equal((await openHost(url())).nameplate, joinedHost.nameplate);
  });

  it('quarantines the nameplates of expired slots for 60 s too', async () => {
    clock.advanceSeconds(600);
    const afterExpiry = await openHost(url());
    assert.match(afterExpiry.nameplate, /^\d{3}$/, 'every 2-digit nameplate is quarantined after its slot expired');
    assert.equal(relay().stats().pairSlots, 1);
    clock.advanceSeconds(61);
    assert.match((await openHost(url())).nameplate, /^\d{2}$/);
  });
});

describe('tokens', () => {
  const { url } = relayFor();

  it('answers 401 to a missing, malformed or unknown token, with WWW-Authenticate', async () => {
    const { host } = await openPair(url());
    const path = `/v1/pair/${host.pair_id}`;
    const attempts: Record<string, string>[] = [{}, { authorization: 'Bearer nothex' }, { authorization: `Basic ${host.token}` }, { authorization: `Bearer ${OTHER_TOKEN}` }, { authorization: `Bearer ${host.token.slice(0, 63)}` }];
    for (const headers of attempts) {
      const read = await call(url(), 'GET', path, { headers });
      assertError(read, 401, 'unauthorized');
      assert.equal(read.headers.get('www-authenticate'), 'Bearer');
      assertError(await call(url(), 'PUT', `${path}/commit`, { headers, body: { value: HOST_COMMIT } }), 401, 'unauthorized');
    }
    assert.equal((await call(url(), 'GET', path, { headers: { authorization: `bearer ${host.token}` } })).status, 200, 'the scheme is case-insensitive');
  });

  it("answers 401 to a token of another pairing, and 404 to an unknown pairing whatever the token", async () => {
    const first = await openPair(url());
    const second = await openPair(url());
    assertError(await call(url(), 'GET', `/v1/pair/${first.host.pair_id}`, { token: second.host.token }), 401, 'unauthorized');
    assertError(await call(url(), 'GET', `/v1/pair/${UNKNOWN_PAIR}`, { token: first.host.token }), 404, 'not_found');
    assertError(await call(url(), 'GET', '/v1/pair/not-an-id', { token: first.host.token }), 404, 'not_found');
  });

  it("writes each role's fields only under that role: neither can write the other's", async () => {
    const { host, guest } = await openPair(url());
    assert.equal((await put(url(), host.pair_id, host.token, 'commit', HOST_COMMIT)).status, 204);
    assert.equal((await put(url(), host.pair_id, guest.token, 'commit', GUEST_COMMIT)).status, 204);
    const hostView = await view(url(), host.pair_id, host.token);
    const guestView = await view(url(), host.pair_id, guest.token);
    assert.deepEqual(hostView.self, { commit: HOST_COMMIT });
    assert.deepEqual(hostView.peer, { commit: GUEST_COMMIT });
    assert.deepEqual(guestView.self, { commit: GUEST_COMMIT });
    assert.deepEqual(guestView.peer, { commit: HOST_COMMIT });
  });
});

describe('fields', () => {
  const clock = new TestClock();
  const { url, relay } = relayFor(() => ({ limits: GENEROUS, clock }));

  it('returns version, expires_at, self and peer, omitting absent fields; version grows on every write', async () => {
    const { host, guest } = await openPair(url());
    const empty = await view(url(), host.pair_id, host.token);
    assert.deepEqual(empty, { version: 0, expires_at: host.expires_at, self: {}, peer: {} });
    await put(url(), host.pair_id, host.token, 'commit', HOST_COMMIT);
    await put(url(), host.pair_id, guest.token, 'abort', 'changed my mind');
    const after = await view(url(), host.pair_id, host.token);
    assert.deepEqual(after, { version: 2, expires_at: host.expires_at, self: { commit: HOST_COMMIT }, peer: { abort: 'changed my mind' } });
  });

  it('is write-once: the same value again is 204 and changes nothing, a different one 409', async () => {
    const { host } = await openPair(url());
    assert.equal((await put(url(), host.pair_id, host.token, 'commit', HOST_COMMIT)).status, 204);
    assert.equal((await put(url(), host.pair_id, host.token, 'commit', HOST_COMMIT)).status, 204);
    assert.equal((await view(url(), host.pair_id, host.token)).version, 1);
    assertError(await put(url(), host.pair_id, host.token, 'commit', GUEST_COMMIT), 409, 'conflict', /commit was already written/);
    assert.deepEqual((await view(url(), host.pair_id, host.token)).self, { commit: HOST_COMMIT });
  });

  it('accepts pake only once both commits are present (409) and only if it matches the writer\'s commit (422)', async () => {
    const { host, guest } = await openPair(url());
    assertError(await put(url(), host.pair_id, host.token, 'pake', HOST_PAKE), 409, 'conflict', /both commits/);
    await put(url(), host.pair_id, host.token, 'commit', HOST_COMMIT);
    assertError(await put(url(), host.pair_id, host.token, 'pake', HOST_PAKE), 409, 'conflict', /both commits/);
    await put(url(), host.pair_id, guest.token, 'commit', GUEST_COMMIT);
    // The guest's message does not hash to the host's commit, and vice versa.
    assertError(await put(url(), host.pair_id, host.token, 'pake', GUEST_PAKE), 422, 'unprocessable', /commit/);
    assertError(await put(url(), host.pair_id, guest.token, 'pake', HOST_PAKE), 422, 'unprocessable', /commit/);
    assert.equal((await put(url(), host.pair_id, host.token, 'pake', HOST_PAKE)).status, 204);
    assert.equal((await put(url(), host.pair_id, guest.token, 'pake', GUEST_PAKE)).status, 204);
    const seen = await view(url(), host.pair_id, guest.token);
    assert.deepEqual(seen.peer, { commit: HOST_COMMIT, pake: HOST_PAKE });
  });

  it('checks every value format with 400 naming the field', async () => {
    const { host } = await openPair(url());
    const bad: [string, unknown, RegExp][] = [
      ['commit', 'AB'.repeat(32), /commit/],
      ['commit', 'ab'.repeat(31), /commit/],
      ['pake', Buffer.alloc(32).toString('base64'), /pake/],
      ['pake', 'not base64!', /pake/],
      ['confirm', Buffer.alloc(33).toString('base64'), /confirm/],
      ['confirm', Buffer.alloc(32).toString('base64url'), /confirm/],
      ['bootstrap', Buffer.alloc(16 * 1024 + 1).toString('base64'), /bootstrap/],
      ['bootstrap', 'abc', /bootstrap/],
      ['abort', '', /abort/],
      ['abort', 'x'.repeat(201), /abort/],
      ['done', 'yes', /done/],
      ['done', '', /done/],
    ];
    for (const [field, value, message] of bad) {
      assertError(await put(url(), host.pair_id, host.token, field, value), 400, 'bad_request', message);
    }
    assertError(await put(url(), host.pair_id, host.token, 'secret', 'x'), 400, 'bad_request', /not a field/);
    assertError(await put(url(), host.pair_id, host.token, 'commit', 7), 400, 'bad_request', /value is not a string/);
    assertError(await call(url(), 'PUT', `/v1/pair/${host.pair_id}/commit`, { token: host.token, body: {} }), 400, 'bad_request', /value is missing/);
    assertError(await call(url(), 'PUT', `/v1/pair/${host.pair_id}/commit`, { token: host.token, body: { value: HOST_COMMIT, extra: 1 } }), 400, 'bad_request', /extra/);
    assertError(await call(url(), 'PUT', `/v1/pair/${host.pair_id}/commit`, { token: host.token, raw: 'value=1' }), 400, 'bad_request', /JSON/);
    assert.equal((await view(url(), host.pair_id, host.token)).version, 0, 'nothing was written');

    const good: [string, string][] = [
      ['confirm', CONFIRM],
      ['bootstrap', Buffer.alloc(16 * 1024, 1).toString('base64')],
      ['abort', '🙂'.repeat(200)], // 200 characters, 400 UTF-16 code units
      ['done', '1'],
    ];
    for (const [field, value] of good) assert.equal((await put(url(), host.pair_id, host.token, field, value)).status, 204, field);
  });

  it('deletes the slot once both roles wrote done: it answers 404 from then on', async () => {
    const { host, guest } = await openPair(url());
    await put(url(), host.pair_id, host.token, 'done', '1');
    assert.equal((await view(url(), host.pair_id, guest.token)).peer['done'], '1');
    assert.equal((await put(url(), host.pair_id, guest.token, 'done', '1')).status, 204);
    assertError(await call(url(), 'GET', `/v1/pair/${host.pair_id}`, { token: host.token }), 404, 'not_found');
    assertError(await put(url(), host.pair_id, host.token, 'abort', 'late'), 404, 'not_found');
  });

  it('lets a slot live 600 s from creation, whatever happens, then answers 404 and forgets it', async () => {
    const before = relay().stats().pairSlots;
    const { host, guest } = await openPair(url());
    clock.advanceSeconds(599);
    await put(url(), host.pair_id, host.token, 'commit', HOST_COMMIT);
    assert.equal((await view(url(), host.pair_id, guest.token)).peer['commit'], HOST_COMMIT, 'no idle refresh, but still alive at 599 s');
    clock.advanceSeconds(1);
    assertError(await call(url(), 'GET', `/v1/pair/${host.pair_id}`, { token: host.token }), 404, 'not_found');
    assertError(await put(url(), host.pair_id, guest.token, 'commit', GUEST_COMMIT), 404, 'not_found');
    assert.ok(relay().stats().pairSlots <= before, 'the expired slot was swept');
  });
});

describe('long polls', () => {
  const { url, relay } = relayFor();

  it('wakes the moment the peer writes, well before the wait ends', async () => {
    const { host, guest } = await openPair(url());
    const started = Date.now();
    const polling = view(url(), host.pair_id, host.token, '?after=0&wait=20');
    await eventually(() => relay().stats().longPolls === 1, 5_000, 'the poll to wait');
    await sleep(100);
    const wroteAt = Date.now();
    await put(url(), host.pair_id, guest.token, 'commit', GUEST_COMMIT);
    const woken = await polling;
    const answeredAt = Date.now();
    assert.equal(woken.version, 1);
    assert.deepEqual(woken.peer, { commit: GUEST_COMMIT });
    assert.ok(answeredAt - wroteAt < 2_000, `answered ${answeredAt - wroteAt} ms after the write`);
    assert.ok(answeredAt - started < 10_000, 'long before the 20 s wait ended');
    assert.equal(relay().stats().longPolls, 0);
  });

  it('answers after the wait with the version unchanged when nothing was written', async () => {
    const { host } = await openPair(url());
    const started = Date.now();
    const answer = await view(url(), host.pair_id, host.token, '?after=0&wait=0.5');
    const elapsed = Date.now() - started;
    assert.equal(answer.version, 0);
    assert.ok(elapsed >= 450, `held ${elapsed} ms`);
    assert.ok(elapsed < 5_000, `held ${elapsed} ms`);
  });

  it('answers at once when the version is already past after, or without a wait', async () => {
    const { host } = await openPair(url());
    await put(url(), host.pair_id, host.token, 'commit', HOST_COMMIT);
    const started = Date.now();
    assert.equal((await view(url(), host.pair_id, host.token, '?after=0&wait=25')).version, 1);
    assert.equal((await view(url(), host.pair_id, host.token, '?after=1')).version, 1);
    assert.equal((await view(url(), host.pair_id, host.token, '?after=1&wait=0')).version, 1);
    assert.ok(Date.now() - started < 2_000);
  });

  it('rejects bad after and wait values with 400', async () => {
    const { host } = await openPair(url());
    for (const query of ['?after=x&wait=1', '?after=-1&wait=1', '?after=1.5&wait=1', '?after=0&wait=26', '?after=0&wait=-1', '?after=0&wait=abc', '?wait=5']) {
      assertError(await call(url(), 'GET', `/v1/pair/${host.pair_id}${query}`, { token: host.token }), 400, 'bad_request', /after|wait/);
    }
  });

  it('wakes waiting polls with 404 when the slot is deleted', async () => {
    const { host, guest } = await openPair(url());
    await put(url(), host.pair_id, host.token, 'done', '1');
    const polling = call(url(), 'GET', `/v1/pair/${host.pair_id}?after=1&wait=20`, { token: host.token });
    await eventually(() => relay().stats().longPolls === 1, 5_000, 'the poll to wait');
    const started = Date.now();
    await put(url(), host.pair_id, guest.token, 'done', '1');
    assertError(await polling, 404, 'not_found');
    assert.ok(Date.now() - started < 2_000);
  });

  it('lets go of a poll whose client disconnects, and keeps serving', async () => {
    const { host } = await openPair(url());
    const target = new URL(`/v1/pair/${host.pair_id}?after=0&wait=25`, url());
    const pending = httpRequest(target, { headers: { authorization: `Bearer ${host.token}` } });
    pending.on('error', () => {
      // Expected: the test destroys this request.
    });
    pending.end();
    await eventually(() => relay().stats().longPolls === 1, 5_000, 'the poll to wait');
    pending.destroy();
    await eventually(() => relay().stats().longPolls === 0, 5_000, 'the relay to drop the poll');
    assert.equal((await view(url(), host.pair_id, host.token)).version, 0);
  });
});

describe('graceful close', () => {
  it('answers a pending long poll at once, refuses new requests and resolves', async () => {
    const running = await startRelay({ port: 0 });
    const { host } = await openPair(running.url);
    const polling = call(running.url, 'GET', `/v1/pair/${host.pair_id}?after=0&wait=25`, { token: host.token });
    await eventually(() => running.stats().longPolls === 1, 5_000, 'the poll to wait');
    const started = Date.now();
    await running.close();
    const answer = await polling;
    assert.ok(Date.now() - started < 5_000, `close took ${Date.now() - started} ms`);
    assert.equal(answer.status, 200);
    assert.equal((answer.json as { version: number }).version, 0);
    await assert.rejects(fetch(`${running.url}/healthz`), 'the port no longer accepts');
    await running.close(); // idempotent
  });
});

describe('limits', () => {
  it('answers 503 capacity once maxOpenSlots pair slots are open', async () => {
    const running = await startRelay({ port: 0, limits: { maxOpenSlots: 2 } });
    try {
      const first = await openHost(running.url);
      await openHost(running.url);
      assertError(await call(running.url, 'POST', '/v1/pair', { body: { role: 'host' } }), 503, 'capacity');
      // Joining creates no slot, so it still works.
      await joinGuest(running.url, first.nameplate);
    } finally {
      await running.close();
    }
  });

  it('answers 429 with Retry-After after opensPerIpPerMinute opens and joins, and lets them through a minute later', async () => {
    const clock = new TestClock();
    const running = await startRelay({ port: 0, clock, limits: { opensPerIpPerMinute: 3 } });
    try {
      const host = await openHost(running.url);
      clock.advanceSeconds(20);
      await joinGuest(running.url, host.nameplate);
      assert.equal((await call(running.url, 'POST', '/v1/slot')).status, 201, 'inbox slots count as opens too');
      const refused = await call(running.url, 'POST', '/v1/pair', { body: { role: 'host' } });
      assertError(refused, 429, 'rate_limited');
      assert.equal(refused.headers.get('retry-after'), '40', 'the first open leaves the window in 40 s');
      assertError(await call(running.url, 'POST', '/v1/pair', { body: { role: 'guest', nameplate: '12' } }), 429, 'rate_limited');
      assertError(await call(running.url, 'POST', '/v1/slot'), 429, 'rate_limited');
      // Reads and writes are not rate-limited.
      assert.equal((await call(running.url, 'GET', `/v1/pair/${host.pair_id}`, { token: host.token })).status, 200);
      clock.advanceSeconds(40);
      await openHost(running.url);
    } finally {
      await running.close();
    }
  });

  it('counts IPv6 clients per /64 and IPv4-mapped clients as IPv4', () => {
    assert.equal(rateLimitKey('203.0.113.7'), '203.0.113.7');
    assert.equal(rateLimitKey('::ffff:203.0.113.7'), '203.0.113.7');
    assert.equal(rateLimitKey('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64');
    assert.equal(rateLimitKey('2001:db8:1:2::9'), '2001:db8:1:2::/64');
    assert.equal(rateLimitKey('2001:0db8::1'), '2001:db8:0:0::/64');
    assert.equal(rateLimitKey('::1'), '0:0:0:0::/64');
  });

  describe('request bodies', () => {
    const { url, relay } = relayFor();

    it('answers 413 to a declared Content-Length over 32 KiB without reading the body', async () => {
      const { host } = await openPair(url());
      const { port } = relay();
      const socket = connect(port, '127.0.0.1');
      // Only the head is sent: an answer can come only from a relay that did not wait for the body.
      socket.write(`PUT /v1/pair/${host.pair_id}/bootstrap HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${host.token}\r\nContent-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n`);
      const raw = await new Promise<string>((resolve, reject) => {
        let text = '';
        socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        socket.on('end', () => {
          resolve(text);
        });
        socket.on('error', reject);
      });
      assert.match(raw, /^HTTP\/1\.1 413 /);
      assert.match(raw, /\r\nconnection: close\r\n/i);
      const body = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as { error: { code: string } };
      assert.equal(body.error.code, 'too_large');
      socket.destroy();
    });

    it('answers 413 to a streamed (chunked) body once it crosses 32 KiB, and cuts the stream off', async () => {
      const { host } = await openPair(url());
      const target = new URL(`/v1/pair/${host.pair_id}/bootstrap`, url());
      const sending = httpRequest(target, { method: 'PUT', headers: { authorization: `Bearer ${host.token}`, 'content-type': 'application/json' } });
      let sent = 0;
      const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
        sending.on('response', (response) => {
          let body = '';
          response.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
          response.on('end', () => {
            resolve({ status: response.statusCode ?? 0, body });
          });
        });
        sending.on('error', reject);
      });
      const progress = { answered: false };
      void answer.finally(() => (progress.answered = true));
      // Keeps streaming until the relay answers (or 1 MiB went out, which would be a failure).
      while (!progress.answered && sent < 1024 * 1024) {
        sending.write(Buffer.alloc(4096, 0x20));
        sent += 4096;
        await sleep(2);
      }
      const { status, body } = await answer;
      sending.destroy();
      assert.equal(status, 413);
      assert.equal((JSON.parse(body) as { error: { code: string } }).error.code, 'too_large');
      assert.ok(sent < 1024 * 1024, `the relay answered after ${sent} bytes`);
    });

    it('refuses an oversized body before sending 100 Continue', async () => {
      const { host } = await openPair(url());
      const target = new URL(`/v1/pair/${host.pair_id}/bootstrap`, url());
      const asking = httpRequest(target, { method: 'PUT', headers: { authorization: `Bearer ${host.token}`, 'content-length': String(1024 * 1024), expect: '100-continue' } });
      let continued = false;
      asking.on('continue', () => (continued = true));
      const status = await new Promise<number>((resolve, reject) => {
        asking.on('response', (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        });
        asking.on('error', reject);
        asking.flushHeaders();
      });
      asking.destroy();
      assert.equal(status, 413);
      assert.equal(continued, false);
    });

    it('reads a body just under the limit and judges its content', async () => {
      const { host } = await openPair(url());
      const value = 'x'.repeat(32 * 1024 - 20);
      assertError(await put(url(), host.pair_id, host.token, 'abort', value), 400, 'bad_request', /abort has/);
    });

    it('keeps serving while a slow client dribbles its request head', async () => {
      const socket = connect(relay().port, '127.0.0.1');
      socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      const answer = await call(url(), 'GET', '/healthz');
      assert.equal(answer.status, 200);
      socket.destroy();
    });
  });
});

describe('inbox slots', () => {
  const { url } = relayFor();

  it('allocates a slot (201 slot_id, owner_token) and grants send tokens to its owner only', async () => {
    const allocated = await call(url(), 'POST', '/v1/slot');
    assert.equal(allocated.status, 201);
    const slot = allocated.json as { slot_id: string; owner_token: string };
    assert.deepEqual(Object.keys(slot).sort(), ['owner_token', 'slot_id']);
    assert.match(slot.slot_id, /^[0-9a-f]{32}$/);
    assert.match(slot.owner_token, /^[0-9a-f]{64}$/);

    const granted = await call(url(), 'POST', `/v1/slot/${slot.slot_id}/grants`, { token: slot.owner_token });
    assert.equal(granted.status, 201);
    const first = (granted.json as { send_token: string }).send_token;
    assert.match(first, /^[0-9a-f]{64}$/);
    const again = (await call(url(), 'POST', `/v1/slot/${slot.slot_id}/grants`, { token: slot.owner_token })).json as { send_token: string };
    assert.notEqual(again.send_token, first, 'each grant is a new capability');

    assertError(await call(url(), 'POST', `/v1/slot/${slot.slot_id}/grants`, { token: OTHER_TOKEN }), 401, 'unauthorized');
    assertError(await call(url(), 'POST', `/v1/slot/${slot.slot_id}/grants`), 401, 'unauthorized');
    assertError(await call(url(), 'POST', `/v1/slot/${UNKNOWN_PAIR}/grants`, { token: slot.owner_token }), 404, 'not_found');
  });

  it('caps the grants of one slot and the number of slots', async () => {
    const running = await startRelay({ port: 0, limits: { maxInboxSlots: 1, maxGrantsPerSlot: 2 } });
    try {
      const slot = (await call(running.url, 'POST', '/v1/slot')).json as { slot_id: string; owner_token: string };
      assertError(await call(running.url, 'POST', '/v1/slot'), 503, 'capacity');
      for (let i = 0; i < 2; i++) assert.equal((await call(running.url, 'POST', `/v1/slot/${slot.slot_id}/grants`, { token: slot.owner_token })).status, 201);
      assertError(await call(running.url, 'POST', `/v1/slot/${slot.slot_id}/grants`, { token: slot.owner_token }), 409, 'conflict');
    } finally {
      await running.close();
    }
  });
});
