// The relay's route table (contract.ts): the paths the client builds are the paths the server
// routes, parameter for parameter, and nothing outside the table routes anywhere.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RELAY_ROUTES, type RouteName, matchRoute, routePath } from '../../src/relay/contract.js';
import { queryParams, routeLabel } from '../../src/relay/server.js';

const PAIR_ID = 'ab'.repeat(16);
const SLOT_ID = 'cd'.repeat(16);
const GRANT_ID = 'ef'.repeat(16);

const BUILT: Record<RouteName, { path: string; params: Record<string, string> }> = {
  health: { path: routePath('health'), params: {} },
  pair: { path: routePath('pair'), params: {} },
  pairSlot: { path: routePath('pairSlot', { pair_id: PAIR_ID }), params: { pair_id: PAIR_ID } },
  pairField: { path: routePath('pairField', { pair_id: PAIR_ID, field: 'pake' }), params: { pair_id: PAIR_ID, field: 'pake' } },
  inbox: { path: routePath('inbox'), params: {} },
  grants: { path: routePath('grants', { slot_id: SLOT_ID }), params: { slot_id: SLOT_ID } },
  grant: { path: routePath('grant', { slot_id: SLOT_ID, grant_id: GRANT_ID }), params: { slot_id: SLOT_ID, grant_id: GRANT_ID } },
  messages: { path: routePath('messages', { slot_id: SLOT_ID }), params: { slot_id: SLOT_ID } },
};

describe('relay route table', () => {
  it('matches every path the client builds back to its route and parameters', () => {
    for (const [route, { path, params }] of Object.entries(BUILT)) {
      assert.deepEqual(matchRoute(path), { route, params }, path);
    }
  });

  it('builds the paths of PROTOCOL.md section 3, with the query after them', () => {
    assert.equal(BUILT.pairField.path, `/v1/pair/${PAIR_ID}/pake`);
    assert.equal(BUILT.grant.path, `/v1/slot/${SLOT_ID}/grants/${GRANT_ID}`);
    assert.equal(routePath('messages', { slot_id: SLOT_ID }, { after: 3, wait: 25 }), `/v1/slot/${SLOT_ID}/messages?after=3&wait=25`);
    assert.equal(routePath('pairSlot', { pair_id: PAIR_ID }, { after: 0, wait: 0 }), `/v1/pair/${PAIR_ID}?after=0&wait=0`);
  });

  it('percent-encodes a parameter, so a value cannot add a segment', () => {
    assert.equal(routePath('grants', { slot_id: 'a/b' }), '/v1/slot/a%2Fb/grants');
  });

  it('matches nothing outside the table: unknown, extra or missing segments, no leading slash', () => {
    for (const path of ['/', '', 'v1/pair', '/v2/pair', '/v1', '/v1/slot/x', '/v1/slot/x/other', '/v1/pair/a/b/c', '/healthz/', '/v1/slot/x/grants/y/z', '/metrics']) {
      assert.equal(matchRoute(path), undefined, path);
    }
  });

  it('matches a literal segment whole: a segment that starts or ends like one is no route', () => {
    for (const path of ['/healthzz', '/health', '/v1x/pair', '/v1/pairs', '/v1/pai', `/v1/slot/${SLOT_ID}/grant`, `/v1/slot/${SLOT_ID}/messagesx`, `/v1/slot/${SLOT_ID}/grants/${GRANT_ID}/x`]) {
      assert.equal(matchRoute(path), undefined, path);
    }
  });

  it('labels metrics by the table: the route path for a route, unknown for anything else', () => {
    assert.equal(routeLabel('PUT', `/v1/pair/${PAIR_ID}/commit`), 'PUT /v1/pair/{pair_id}/{field}');
    assert.equal(routeLabel('GET', `/v1/slot/${SLOT_ID}/messages?after=0&wait=25`), 'GET /v1/slot/{slot_id}/messages');
    assert.equal(routeLabel('PATCH', '/healthz'), 'OTHER /healthz');
    assert.equal(routeLabel('GET', '/metrics?x'), 'GET /metrics');
    assert.equal(routeLabel('GET', '/v1/slot/x/other'), 'unknown');
  });

  it('lists each route once per method, token routes being exactly those under a pair or inbox slot', () => {
    for (const [name, route] of Object.entries(RELAY_ROUTES)) {
      assert.equal(new Set(route.methods).size, route.methods.length, name);
      assert.equal(route.token, /^\/v1\/(pair|slot)\/\{/.test(route.path), name);
    }
  });
});

describe('relay query parameters', () => {
  it('reads every query as URLSearchParams does: first value wins, bare names, empty pairs, encodings, a second ?', () => {
    const queries = ['', 'after=3&wait=25', 'wait=25&after=3', 'after=1&after=2', 'after', 'after=', '&&after=4&', 'after=5=6', 'x=1&afterx=2&after=7', '=3&after=8', 'after=%31&wait=2%35', 'after=1+2', 'after+=9', '?after=3', '??after=3', 'after=%zz', 'through=12', 'AFTER=3', 'wait=25#frag', `${'&'.repeat(5000)}after=10`, `${'x&'.repeat(3000)}wait=5=&after=11`];
    for (const query of queries) {
      const expected = new URLSearchParams(query);
      for (const name of ['after', 'wait', 'through', 'x', 'after ']) assert.equal(queryParams(query).get(name), expected.get(name), `${name} in ${JSON.stringify(query)}`);
    }
  });
});
