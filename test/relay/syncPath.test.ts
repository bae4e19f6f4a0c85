// The relay's synchronous path (issue 20): a store operation answers a value or a promise, and
// Relay.handle answers at once when every store call of a request did (the memory engine, and
// SQLite's pair slots), else through a promise (Redis, SQLite's inboxes). The answers are the
// same either way (server.test.ts runs every route on every engine); this file pins which
// engine answers how, that a store failing either way is a 503, the hand-written JSON of slot
// views and inbox pages against JSON.stringify, and that a body its client abandons is never
// acted on.

import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { InboxPageBody, SlotViewBody } from '../../src/relay/contract.js';
import { type RunningRelay, startRelay } from '../../src/relay/node.js';
import { Relay, type RelayRequest, type RelayResponse, TimestampTexts, pageJson, sha256Bytes, sha256Hex, slotViewJson } from '../../src/relay/server.js';
import { MemoryStore } from '../../src/relay/memoryStore.js';
import { type OpenResult, type RelayStore, type StoreAnswer, StoreUnavailableError } from '../../src/relay/store.js';
import { DEFAULT_RELAY_LIMITS, formatTimestamp, grantIdOf, pakeCommitOf, resolveLimits } from '../../src/relay/contract.js';
import { protocolVectors } from '../core/vectors.js';
import { ENGINES, type Engine, storeFor } from '../helpers/engines.js';
import { RedisServer } from '../helpers/redis.js';
import { call, openPair, view } from './http.js';

const HOST_COMMIT = protocolVectors.host.commit;

function request(method: string, target: string, token?: string, body?: unknown): RelayRequest {
  return { method, target, authorization: token === undefined ? undefined : `Bearer ${token}`, body: new TextEncoder().encode(body === undefined ? '' : JSON.stringify(body)), clientAddress: '127.0.0.1' };
}

/** The answer, and whether it came at once (not a promise). */
async function answered(answer: StoreAnswer<RelayResponse>): Promise<{ atOnce: boolean; response: RelayResponse }> {
  return { atOnce: !(answer instanceof Promise), response: await answer };
}

let redis: RedisServer | undefined;
before(async () => {
  redis = await RedisServer.start();
});
after(async () => {
  await redis?.dispose();
});

/** Which engines answer a pair slot's routes, and an inbox's, at once. */
const AT_ONCE: Record<Engine, { pair: boolean; inbox: boolean }> = {
  memory: { pair: true, inbox: true },
  sqlite: { pair: true, inbox: false },
  redis: { pair: false, inbox: false },
};

for (const engine of ENGINES) {
  describe(`Relay.handle on the ${engine} engine`, () => {
    let running: RunningRelay;
    before(async () => {
      running = await startRelay({ port: 0, limits: { opensPerIpPerMinute: 1_000 }, ...storeFor(engine, redis) });
    });
    after(async () => {
      await running.close();
    });

    it(`answers a pairing's requests ${AT_ONCE[engine].pair ? 'at once' : 'through a promise'}, with the same answers`, async () => {
      const relay = running.relay;
      const opened = await answered(relay.handle(request('POST', '/v1/pair', undefined, { role: 'host' })));
      assert.equal(opened.response.status, 201);
      assert.equal(opened.atOnce, AT_ONCE[engine].pair);
      const host = JSON.parse(opened.response.body) as { pair_id: string; nameplate: string; token: string };
      const joined = await answered(relay.handle(request('POST', '/v1/pair', undefined, { role: 'guest', nameplate: host.nameplate })));
      assert.equal(joined.response.status, 201);
      const guest = JSON.parse(joined.response.body) as { token: string };

      // A long poll with nothing new waits: a promise on every engine, which the peer's write resolves.
      const polling = relay.handle(request('GET', `/v1/pair/${host.pair_id}?after=0&wait=25`, host.token));
      assert.ok(polling instanceof Promise);
      const written = await answered(relay.handle(request('PUT', `/v1/pair/${host.pair_id}/commit`, guest.token, { value: HOST_COMMIT })));
      assert.deepEqual([written.response.status, written.atOnce], [204, AT_ONCE[engine].pair]);
      const woken = await polling;
      assert.equal(woken.status, 200);
      assert.equal((JSON.parse(woken.body) as SlotViewBody).peer.commit, HOST_COMMIT);

      // A poll whose answer is there already is answered by its first read.
      const read = await answered(relay.handle(request('GET', `/v1/pair/${host.pair_id}?after=0&wait=25`, host.token)));
      assert.deepEqual([read.response.status, read.atOnce], [200, AT_ONCE[engine].pair]);
      assert.equal(read.response.body, woken.body);

      // A refusal takes the same path, and the failed token check is counted (through a promise).
      const refused = await relay.handle(request('GET', `/v1/pair/${host.pair_id}`, 'ab'.repeat(32)));
      assert.equal(refused.status, 401);
    });

    it(`answers an inbox's message routes ${AT_ONCE[engine].inbox ? 'at once' : 'through a promise'}`, async () => {
      const relay = running.relay;
      const inbox = JSON.parse((await relay.handle(request('POST', '/v1/slot'))).body) as { slot_id: string; owner_token: string };
      const grant = JSON.parse((await relay.handle(request('POST', `/v1/slot/${inbox.slot_id}/grants`, inbox.owner_token))).body) as { send_token: string; grant_id: string };
      assert.equal(grant.grant_id, grantIdOf(grant.send_token));
      const value = Buffer.from('an envelope').toString('base64');
      const waiting = relay.handle(request('GET', `/v1/slot/${inbox.slot_id}/messages?after=0&wait=25`, inbox.owner_token));
      assert.ok(waiting instanceof Promise);
      const posted = await answered(relay.handle(request('POST', `/v1/slot/${inbox.slot_id}/messages`, grant.send_token, { value })));
      assert.deepEqual([posted.response.status, posted.response.body, posted.atOnce], [201, '{}', AT_ONCE[engine].inbox]);
      const page = JSON.parse((await waiting).body) as InboxPageBody;
      assert.deepEqual(
        page.messages.map((message) => [message.seq, message.value, message.grant_id]),
        [[1, value, grant.grant_id]],
      );
      const again = await answered(relay.handle(request('GET', `/v1/slot/${inbox.slot_id}/messages?after=0`, inbox.owner_token)));
      assert.deepEqual([again.response.status, again.atOnce], [200, AT_ONCE[engine].inbox]);
      const acked = await answered(relay.handle(request('DELETE', `/v1/slot/${inbox.slot_id}/messages?through=1`, inbox.owner_token)));
      assert.deepEqual([acked.response.status, acked.atOnce], [204, AT_ONCE[engine].inbox]);
    });
  });
}

describe('a store that cannot answer', () => {
  /** The memory store, with openPair failing as a store that lost its connection does: by throwing, or by rejecting. */
  function failingStore(how: 'throws' | 'rejects'): () => RelayStore {
    return () => {
      const store: RelayStore = new MemoryStore(resolveLimits());
      store.openPair = (): StoreAnswer<OpenResult> => {
        const error = new StoreUnavailableError('the store is gone');
        if (how === 'throws') throw error;
        return Promise.reject(error);
      };
      return store;
    };
  }

  for (const how of ['throws', 'rejects'] as const) {
    it(`is a 503 with Retry-After when it ${how}`, async () => {
      const relay = new Relay({ store: failingStore(how) });
      const response = await relay.handle(request('POST', '/v1/pair', undefined, { role: 'host' }));
      assert.equal(response.status, 503);
      assert.equal(response.headers['retry-after'], '2');
      assert.match(response.body, /"code":"capacity"/);
    });
  }

  it('lets any other error through: a relay bug is never answered as a 503', () => {
    const relay = new Relay({
      store: () => {
        const store: RelayStore = new MemoryStore(resolveLimits());
        store.openPair = (): never => {
          throw new TypeError('a bug');
        };
        return store;
      },
    });
    assert.throws(() => relay.handle(request('POST', '/v1/pair', undefined, { role: 'host' })), TypeError);
  });
});

describe('hand-written JSON', () => {
  it('writes a slot view as JSON.stringify does, with unwritten fields present as undefined or absent', () => {
    const self = { commit: HOST_COMMIT, pake: 'A'.repeat(44), confirm: undefined, bootstrap: undefined, abort: 'wrong "code"\n\u{1F600} \\ done', done: undefined };
    const peer = { commit: 'b'.repeat(64) };
    const expected = JSON.stringify({ version: 7, expires_at: '2026-11-25T12:10:00Z', self, peer });
    assert.equal(slotViewJson(7, '2026-11-25T12:10:00Z', self, peer), expected);
    assert.equal(slotViewJson(0, '2026-11-25T12:10:00Z', {}, {}), JSON.stringify({ version: 0, expires_at: '2026-11-25T12:10:00Z', self: {}, peer: {} }));
  });

  it('writes an inbox page as JSON.stringify does, each timestamp as formatTimestamp writes it', () => {
    const at = Date.UTC(2026, 10, 25, 12, 0, 0, 999);
    const messages = [
      { seq: 3, value: Buffer.alloc(300, 1).toString('base64'), grantId: 'c'.repeat(32), receivedAt: at, bytes: 300 },
      { seq: 4, value: 'AA==', grantId: 'd'.repeat(32), receivedAt: at + 1, bytes: 1 },
      { seq: 9, value: 'AAA=', grantId: 'c'.repeat(32), receivedAt: at + 5_000, bytes: 2 },
    ];
    const body: InboxPageBody = {
      messages: messages.map((message) => ({ seq: message.seq, value: message.value, grant_id: message.grantId, received_at: formatTimestamp(message.receivedAt) })),
      last_seq: 12,
    };
    assert.equal(pageJson({ messages, lastSeq: 12 }, new TimestampTexts()), JSON.stringify(body));
    assert.equal(pageJson({ messages: [], lastSeq: 0 }, new TimestampTexts()), JSON.stringify({ messages: [], last_seq: 0 }));
  });

  it("hashes grant ids with node:crypto as the client's JavaScript SHA-256 does", () => {
    for (const token of ['0'.repeat(64), 'ab'.repeat(32), 'f'.repeat(64)]) assert.equal(grantIdOf(token, sha256Hex), grantIdOf(token));
  });

  it("checks pake commitments with node:crypto's SHA-256 to the vectors' commits (section 4)", () => {
    for (const side of [protocolVectors.host, protocolVectors.guest]) {
      const pake = Buffer.from(side.pake_msg_hex, 'hex').toString('base64');
      assert.equal(pakeCommitOf(pake, sha256Bytes), side.commit);
      assert.equal(pakeCommitOf(pake), side.commit);
    }
  });
});

describe('a body its client abandons', () => {
  let running: RunningRelay;
  before(async () => {
    running = await startRelay({ port: 0, limits: DEFAULT_RELAY_LIMITS });
  });
  after(async () => {
    await running.close();
  });

  it('is never acted on, and the relay serves the next request', async () => {
    const { host } = await openPair(running.url);
    const body = JSON.stringify({ value: HOST_COMMIT });
    // Half the body; once the relay holds the request, the client goes away.
    const abandoned = new Promise<void>((resolve) => {
      running.server.once('request', (req: IncomingMessage) => {
        req.once('close', resolve);
        socket.destroy();
      });
    });
    const socket = connect(running.port, '127.0.0.1');
    socket.write(`PUT /v1/pair/${host.pair_id}/commit HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${host.token}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body.slice(0, 20)}`);
    await abandoned;
    const slot = await view(running.url, host.pair_id, host.token);
    assert.deepEqual([slot.version, slot.self], [0, {}]);
    assert.equal((await call(running.url, 'GET', '/healthz')).status, 200);
  });
});
