// Relay processes on one Redis (issue 12): real dist/relay.mjs processes with --store, a real
// redis-server (AOF on), the real session code on both sides (test/helpers/sides.ts) and the real
// relay client. Two processes serve one pairing; a SIGKILLed process is restarted mid-pairing;
// a message posted through one process is read (and wakes a long poll) through the other; Redis
// restarts and inboxes and messages survive, and while it is down the relay answers 503.

import '../helpers/nativeCurves.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { RelayClient } from '../../src/relay/client.js';
import { httpFetch } from '../../src/relay/transport.js';
import { startRelay } from '../../src/relay/node.js';
import { RedisServer } from '../helpers/redis.js';
import { Pids, freePort, runRelayMain, untilExited } from '../helpers/relayProcess.js';
import { type Side, makeSide } from '../helpers/sides.js';
import { call } from './http.js';
import { until } from '../helpers/until.js';

const ENVELOPE = Buffer.from('{"v":1,"enc":"x","ct":"y"}').toString('base64');

/** Pairs `host` (through `hostUrl`) with `guest` (through `guestUrl`) to the end: both finalized. */
async function pairAcross(host: Side, hostUrl: string, guest: Side, guestUrl: string, between?: () => Promise<void>): Promise<void> {
  const opened = await host.store.open('host', hostUrl);
  assert.ok(opened.code !== undefined);
  const joined = await guest.store.open('guest', guestUrl, opened.code);
  await between?.();
  await Promise.all([host.store.waitForSas(opened.sessionId, 20_000), guest.store.waitForSas(joined.sessionId, 20_000)]);
  const sas = host.store.sasForPerson(opened.sessionId);
  assert.equal(guest.store.sasForPerson(joined.sessionId), sas);
  await Promise.all([host.store.confirmSas(opened.sessionId, sas), guest.store.confirmSas(joined.sessionId, sas)]);
  const [hostEnd, guestEnd] = await Promise.all([host.store.finalize(opened.sessionId, 20_000), guest.store.finalize(joined.sessionId, 20_000)]);
  assert.equal(hostEnd.state, 'finalized');
  assert.equal(guestEnd.state, 'finalized');
}

/** How many long polls a relay process holds, from its /metrics. */
async function longPolls(url: string): Promise<number> {
  const answer = await call(url, 'GET', '/metrics');
  const match = /^agent_pair_relay_long_polls (\d+)$/m.exec(answer.text);
  return Number(match?.[1] ?? -1);
}

describe('relay processes on one Redis', { concurrency: false }, () => {
  const pids = new Pids();
  let redis: RedisServer;
  before(async () => {
    redis = await RedisServer.start();
  });
  after(async () => {
    pids.killAll();
    await redis.dispose();
  });

  it('pairs a host through one process with a guest through another', async () => {
    const store = redis.url();
    const [a, b] = await Promise.all([runRelayMain(['--port', '0', '--store', store], pids), runRelayMain(['--port', '0', '--store', store], pids)]);
    const host = await makeSide(a.url, 'alice');
    const guest = await makeSide(b.url, 'bob');
    await pairAcross(host, a.url, guest, b.url);
    assert.ok((host.calls.get('openHost') ?? 0) >= 1 && (guest.calls.get('joinGuest') ?? 0) >= 1);
  });

  it('completes a pairing whose relay process was SIGKILLed and restarted mid-pairing', async () => {
    const store = redis.url();
    const port = await freePort();
    const first = await runRelayMain(['--port', String(port), '--store', store], pids);
    const host = await makeSide(first.url, 'carol');
    const guest = await makeSide(first.url, 'dave');
    await pairAcross(host, first.url, guest, first.url, async () => {
      // Host opened, guest joined: the relay dies without a word, and comes back.
      first.child.kill('SIGKILL');
      await untilExited(first.child.pid ?? 0);
      const again = await runRelayMain(['--port', String(port), '--store', store], pids);
      assert.equal(again.url, first.url);
    });
  });

  it('reads through one process what was posted through the other, and wakes a long poll there', async () => {
    const store = redis.url();
    const [a, b] = await Promise.all([runRelayMain(['--port', '0', '--store', store], pids), runRelayMain(['--port', '0', '--store', store], pids)]);
    const viaA = new RelayClient(a.url, { retries: 0, fetch: httpFetch });
    const viaB = new RelayClient(b.url, { retries: 0, fetch: httpFetch });
    const inbox = await viaA.allocateSlot();
    const grant = await viaA.grant(inbox.slotId, inbox.ownerToken);
    await viaA.postMessage(inbox.slotId, grant.sendToken, ENVELOPE);
    const page = await viaB.readMessages(inbox.slotId, inbox.ownerToken, { after: 0 });
    assert.deepEqual(page.messages.map((message) => [message.seq, message.value, message.grantId]), [[1, ENVELOPE, grant.grantId]]);

    const polling = viaB.readMessages(inbox.slotId, inbox.ownerToken, { after: 1, waitSeconds: 20 });
    for (let tries = 0; (await longPolls(b.url)) !== 1; tries++) {
      assert.ok(tries < 500, 'the poll never waited on B');
      await sleep(10);
    }
    const postedAt = Date.now();
    await viaA.postMessage(inbox.slotId, grant.sendToken, ENVELOPE);
    const woken = await polling;
    assert.deepEqual(woken.messages.map((message) => message.seq), [2]);
    assert.ok(Date.now() - postedAt < 5_000, 'woken by the post, not by the end of the wait');
  });

  it('wakes a long poll whose process lost its pub/sub connection when the post went out: every waiter re-reads after the reconnect', async () => {
    const store = redis.url();
    const [a, b] = await Promise.all([startRelay({ port: 0, store }), startRelay({ port: 0, store })]);
    const admin = new Redis({ port: redis.port, host: '127.0.0.1', lazyConnect: true });
    try {
      await admin.connect();
      const viaA = new RelayClient(a.url, { retries: 0, fetch: httpFetch });
      const viaB = new RelayClient(b.url, { retries: 0, fetch: httpFetch });
      const inbox = await viaA.allocateSlot();
      const grant = await viaA.grant(inbox.slotId, inbox.ownerToken);
      const polling = viaB.readMessages(inbox.slotId, inbox.ownerToken, { after: 0, waitSeconds: 20 });
      await until('the poll to wait on B', () => b.stats().longPolls === 1);
      // Every subscriber connection is cut; the post's announcement goes to nobody.
      await admin.client('KILL', 'TYPE', 'pubsub');
      const postedAt = Date.now();
      await viaA.postMessage(inbox.slotId, grant.sendToken, ENVELOPE);
      assert.deepEqual((await polling).messages.map((message) => message.seq), [1]);
      assert.ok(Date.now() - postedAt < 10_000, 'woken after the reconnect, not by the end of the wait');
    } finally {
      admin.disconnect();
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('serves opens, joins, grants, posts, reads, long polls, acknowledgements, owner checks and revocations after Redis forgot its scripts (SCRIPT FLUSH): each is run by its text and loaded again', async () => {
    const relay = await startRelay({ port: 0, store: redis.url() });
    const admin = new Redis({ port: redis.port, host: '127.0.0.1', lazyConnect: true });
    try {
      await admin.connect();
      const client = new RelayClient(relay.url, { retries: 0, fetch: httpFetch });
      const inbox = await client.allocateSlot();
      const forget = async (): Promise<void> => {
        assert.equal(await admin.script('FLUSH'), 'OK');
      };
      await forget();
      const host = await call(relay.url, 'POST', '/v1/pair', { body: { role: 'host' } });
      assert.equal(host.status, 201, host.text);
      await forget();
      const guest = await call(relay.url, 'POST', '/v1/pair', { body: { role: 'guest', nameplate: (host.json as { nameplate: string }).nameplate } });
      assert.equal(guest.status, 201, guest.text);
      assert.equal((guest.json as { pair_id: string }).pair_id, (host.json as { pair_id: string }).pair_id);
      await forget();
      const grant = await client.grant(inbox.slotId, inbox.ownerToken);
      await forget();
      await client.postMessage(inbox.slotId, grant.sendToken, ENVELOPE);
      await forget();
      const page = await client.readMessages(inbox.slotId, inbox.ownerToken, { after: 0 });
      assert.deepEqual(page.messages.map((message) => [message.seq, message.value, message.grantId]), [[1, ENVELOPE, grant.grantId]]);
      // A long poll's re-read (no owner check) after a flush: the post runs by its text, then the re-read.
      const polling = client.readMessages(inbox.slotId, inbox.ownerToken, { after: 1, waitSeconds: 20 });
      await until('the poll to wait', () => relay.stats().longPolls === 1);
      await forget();
      await client.postMessage(inbox.slotId, grant.sendToken, ENVELOPE);
      assert.deepEqual((await polling).messages.map((message) => message.seq), [2]);
      await forget();
      await client.ackMessages(inbox.slotId, inbox.ownerToken, 1);
      await forget();
      // A malformed acknowledgement checks the owner alone, then answers 400.
      const malformed = await call(relay.url, 'DELETE', `/v1/slot/${inbox.slotId}/messages`, { token: inbox.ownerToken });
      assert.equal(malformed.status, 400, malformed.text);
      await forget();
      await client.revokeGrant(inbox.slotId, inbox.ownerToken, grant.grantId);
      const left = await client.readMessages(inbox.slotId, inbox.ownerToken, { after: 0 });
      assert.deepEqual([left.messages, left.lastSeq], [[], 2], 'message 1 acknowledged, message 2 gone with its grant');
      // Loaded again by the runs above: the next open goes by its SHA, and still opens.
      const again = await call(relay.url, 'POST', '/v1/pair', { body: { role: 'host' } });
      assert.equal(again.status, 201, again.text);
    } finally {
      admin.disconnect();
      await relay.close();
    }
  });

  it('keeps a slot to its grant limits under concurrent grants through two processes: grantsPerSlotPerMinute and maxGrantsPerSlot, exactly', async () => {
    const store = redis.url();
    const limits = { grantsPerSlotPerMinute: 5, maxGrantsPerSlot: 3 };
    const [a, b] = await Promise.all([startRelay({ port: 0, store, limits }), startRelay({ port: 0, store, limits })]);
    try {
      const owner = new RelayClient(a.url, { retries: 0, fetch: httpFetch });
      const inbox = await owner.allocateSlot();
      // 20 grants at once, alternately through each process: each checks the owner, takes a hit
      // on the window and counts the grants in one script, so 5 get past the window and 3 of them fit.
      const answers = await Promise.all(
        Array.from({ length: 20 }, async (_, i) =>
          (i % 2 === 0 ? a : b).relay.handle({ method: 'POST', target: `/v1/slot/${inbox.slotId}/grants`, authorization: `Bearer ${inbox.ownerToken}`, body: new Uint8Array(), clientAddress: '127.0.0.1' }),
        ),
      );
      const statuses = answers.map((answer) => answer.status).sort((x, y) => x - y);
      assert.deepEqual(statuses, [...Array<number>(3).fill(201), 409, 409, ...Array<number>(15).fill(429)]);
      // Every grant that answered 201 is held: each of its send tokens posts.
      for (const answer of answers) {
        if (answer.status === 201) await owner.postMessage(inbox.slotId, (JSON.parse(answer.body) as { send_token: string }).send_token, ENVELOPE);
      }
      assert.equal((await owner.readMessages(inbox.slotId, inbox.ownerToken, { after: 0 })).messages.length, 3);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('keeps inboxes and messages across a Redis restart (AOF), answers 503 capacity with Retry-After while Redis is down, and wakes long polls after', async () => {
    const relay = await startRelay({ port: 0, store: redis.url() });
    try {
      const client = new RelayClient(relay.url, { retries: 0, fetch: httpFetch });
      const inbox = await client.allocateSlot();
      const grant = await client.grant(inbox.slotId, inbox.ownerToken);
      await client.postMessage(inbox.slotId, grant.sendToken, ENVELOPE);

      await redis.stop();
      const down = await call(relay.url, 'GET', `/v1/slot/${inbox.slotId}/messages`, { token: inbox.ownerToken });
      assert.equal(down.status, 503, down.text);
      assert.equal((down.json as { error: { code: string } }).error.code, 'capacity');
      assert.ok(Number(down.headers.get('retry-after')) >= 1);

      await redis.restart();
      // The relay reconnects on its own; a client retrying 503s gets through.
      const patient = new RelayClient(relay.url, { retries: 8, maxRetryWaitMs: 30_000, fetch: httpFetch });
      const page = await patient.readMessages(inbox.slotId, inbox.ownerToken, { after: 0 });
      assert.deepEqual(page.messages.map((message) => [message.seq, message.value]), [[1, ENVELOPE]]);
      assert.equal(page.lastSeq, 1);

      // A long poll waiting across another restart is woken by the next post.
      const polling = patient.readMessages(inbox.slotId, inbox.ownerToken, { after: 1, waitSeconds: 20 });
      await until('the poll to wait', () => relay.stats().longPolls === 1);
      await redis.restart();
      await patient.postMessage(inbox.slotId, grant.sendToken, ENVELOPE);
      assert.deepEqual((await polling).messages.map((message) => message.seq), [2], 'seq survives too');
    } finally {
      await relay.close();
    }
  });
});
