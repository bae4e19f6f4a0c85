import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { newRecord, parseSessionRecord, parseSessionSecrets } from '../../src/core/sessionRecord.js';
import { SESSION_TTL_MS } from '../../src/core/vocabulary.js';

const PAIR_ID = 'ab'.repeat(16);
const fresh = newRecord({ pairId: PAIR_ID, role: 'host', relayUrl: 'http://127.0.0.1:8771', nameplate: '47', openedAt: 1_000, relayExpiresAt: 1_000 + SESSION_TTL_MS + 5_000 });

describe('session records', () => {
  it('reads back what newRecord wrote, its expiry capped at SESSION_TTL', () => {
    assert.equal(fresh.expiresAt, 1_000 + SESSION_TTL_MS);
    assert.deepEqual(parseSessionRecord(JSON.parse(JSON.stringify(fresh)), PAIR_ID), fresh);
  });

  it('drops a record that is not what a session writes', () => {
    const bad: [string, unknown, string?][] = [
      ['stored under another id', fresh, 'cd'.repeat(16)],
      ['an unknown field', { ...fresh, extra: 1 }],
      ['a state outside the closed set', { ...fresh, state: 'paused' }],
      ['an expiry past SESSION_TTL', { ...fresh, expiresAt: fresh.openedAt + SESSION_TTL_MS + 1 }],
      ['sas_ready without the peer\'s SPAKE2 message', { ...fresh, state: 'sas_ready' }],
      ['an abort code outside ERROR_CODES', { ...fresh, state: 'aborted', abort: { code: 'nope', reason: 'x' } }],
      ['a relay URL that is not http(s)', { ...fresh, relayUrl: 'file:///etc/passwd' }],
      ['not an object', [fresh]],
    ];
    for (const [what, value, id] of bad) assert.equal(parseSessionRecord(value, id ?? PAIR_ID), undefined, what);
  });

  it('reads secrets field by field', () => {
    const secrets = { seed: '0f'.repeat(32), token: 'ef'.repeat(32), code: '47-UE2BZG' };
    assert.deepEqual(parseSessionSecrets(secrets), secrets);
    assert.equal(parseSessionSecrets({ ...secrets, code: '47-ue2bzg' }), undefined);
    assert.equal(parseSessionSecrets({ ...secrets, seed: 'short' }), undefined);
    assert.equal(parseSessionSecrets({ ...secrets, key: 'x' }), undefined);
  });
});
