import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { ERROR_CODES, PairError, errorMessage, isRelayTrouble } from '../../src/core/errors.js';

describe('isRelayTrouble', () => {
  it('is true exactly for the relay failures that may pass, and only for PairErrors', () => {
    const passing = ERROR_CODES.filter((code) => isRelayTrouble(new PairError(code, 'x')));
    assert.deepEqual(passing.sort(), ['rate_limited', 'relay_error', 'relay_full', 'relay_unreachable']);
    assert.equal(isRelayTrouble(new Error('relay_unreachable')), false);
    assert.equal(isRelayTrouble({ code: 'relay_unreachable' }), false);
    assert.equal(isRelayTrouble(undefined), false);
  });
});

describe('errorMessage', () => {
  it("is an Error's message and anything else as text", () => {
    assert.equal(errorMessage(new PairError('timeout', 'no answer')), 'no answer');
    assert.equal(errorMessage(new TypeError('bad')), 'bad');
    assert.equal(errorMessage('plain words'), 'plain words');
    assert.equal(errorMessage(42), '42');
    assert.equal(errorMessage(undefined), 'undefined');
  });
});
