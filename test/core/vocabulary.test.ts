import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { CLIENT_ABORT_REASONS, MAX_ABORT_REASON_CHARS, SESSION_STATES, clipAbortReason, formatTimestamp, isTerminal } from '../../src/core/vocabulary.js';

describe('vocabulary', () => {
  it('formats timestamps as RFC 3339 UTC to the second, rounded down', () => {
    assert.equal(formatTimestamp(Date.parse('2026-11-29T12:00:00.999Z')), '2026-11-29T12:00:00Z');
    assert.equal(formatTimestamp(0), '1970-01-01T00:00:00Z');
  });

  it('calls exactly finalized and aborted terminal', () => {
    assert.deepEqual(SESSION_STATES.filter(isTerminal), ['finalized', 'aborted']);
  });

  it('has fixed abort reasons that are distinct, fit the abort field, and make plain metrics labels', () => {
    assert.equal(new Set(CLIENT_ABORT_REASONS).size, CLIENT_ABORT_REASONS.length);
    for (const reason of CLIENT_ABORT_REASONS) {
      assert.ok(reason.length > 0 && reason.length <= MAX_ABORT_REASON_CHARS, reason);
      assert.match(reason, /^[A-Za-z ]+$/, reason);
    }
  });

  it('cuts an abort reason to the limit by code point, never inside a surrogate pair', () => {
    const atLimit = 'a'.repeat(MAX_ABORT_REASON_CHARS);
    assert.equal(clipAbortReason(atLimit), atLimit);
    const emoji = '\u{1F600}'.repeat(MAX_ABORT_REASON_CHARS + 1);
    const clipped = clipAbortReason(emoji);
    assert.equal(Array.from(clipped).length, MAX_ABORT_REASON_CHARS);
    assert.equal(clipped, '\u{1F600}'.repeat(MAX_ABORT_REASON_CHARS), 'whole pairs only');
    assert.equal(clipAbortReason(`x${emoji}`).length, 1 + 2 * (MAX_ABORT_REASON_CHARS - 1));
  });
});
