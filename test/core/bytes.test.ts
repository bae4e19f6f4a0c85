// Strict base64: every byte string has exactly one accepted spelling, the one Node's own encoder
// writes. Checked against Buffer across lengths and against every variant of the last character.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { base64ByteLength, fromBase64, toBase64 } from '../../src/core/bytes.js';
import { isPairError } from '../../src/core/errors.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function accepts(text: string): boolean {
  try {
    fromBase64(text, 'value');
    return true;
  } catch (error) {
    if (!isPairError(error, 'bad_input')) throw error;
    return false;
  }
}

describe('strict base64', () => {
  it('round-trips every length from 0 to 40 bytes exactly as Buffer encodes', () => {
    for (let length = 0; length <= 40; length++) {
      const bytes = randomBytes(length);
      const text = bytes.toString('base64');
      assert.equal(toBase64(bytes), text);
      assert.deepEqual(Buffer.from(fromBase64(text, 'value')), bytes);
    }
  });

  it('encodes as Buffer does across the lengths where it converts bytes in runs (0x8000 at a time), up to the largest envelope', () => {
    for (const length of [0x7fff, 0x8000, 0x8001, 0x10000 + 1, 128 * 1024]) {
      const bytes = randomBytes(length);
      assert.equal(toBase64(bytes), bytes.toString('base64'), `${length} bytes`);
      assert.equal(toBase64(new Uint8Array(bytes.buffer, bytes.byteOffset + 1, length - 1)), bytes.subarray(1).toString('base64'), `a view of ${length - 1} bytes at an offset`);
    }
  });

  it('accepts a last character only if its unused bits are zero (the canonical spelling)', () => {
    for (const length of [1, 2, 3, 31, 32, 33]) {
      const text = randomBytes(length).toString('base64');
      const padding = text.length - text.replace(/=+$/, '').length;
      const at = text.length - padding - 1;
      let accepted = 0;
      for (const char of ALPHABET) {
        const variant = text.slice(0, at) + char + text.slice(at + 1);
        const canonical = Buffer.from(variant, 'base64').toString('base64') === variant;
        assert.equal(accepts(variant), canonical, `${variant} (${length} bytes)`);
        if (canonical) accepted++;
      }
      // 2 bits of data before "==", 4 before "=", all 6 without padding.
      assert.equal(accepted, padding === 2 ? 4 : padding === 1 ? 16 : 64);
    }
  });

  it('names the problem: not base64, not canonical, wrong length', () => {
    assert.throws(() => fromBase64('QQ', 'pake'), (error) => isPairError(error, 'bad_input') && /pake is not base64/.test(error.message));
    assert.throws(() => fromBase64('QR==', 'pake'), (error) => isPairError(error, 'bad_input') && /pake is not canonical base64/.test(error.message));
    assert.throws(() => fromBase64('QQ==', 'pake', 33), (error) => isPairError(error, 'bad_input') && /pake decodes to 1 bytes/.test(error.message));
  });

  it('refuses padding anywhere but the end of the last group, and anything outside the alphabet', () => {
    for (const text of ['A', 'AA', 'AAA', 'A===', '====', '=AAA', 'AA=A', 'A=AA', 'AAAA=', 'AAAA==', 'AAAAA===', 'AA==AAAA', 'AAA=AAAA', 'AA-_', 'AA A', 'AAAA\n', 'AAé=']) {
      assert.equal(accepts(text), false, JSON.stringify(text));
    }
    for (const text of ['', 'AAAA', 'AA==', 'AAA=', 'AAAAAA==', '+/+/']) assert.equal(accepts(text), true, JSON.stringify(text));
  });

  it('counts the decoded bytes without decoding, after the same checks and with the same errors', () => {
    for (let length = 0; length <= 40; length++) {
      const text = randomBytes(length).toString('base64');
      assert.equal(base64ByteLength(text, 'value'), length);
      assert.equal(base64ByteLength(text, 'value', length), length);
    }
    for (const [text, length, problem] of [['QQ', undefined, /pake is not base64/], ['QR==', undefined, /pake is not canonical base64/], ['QQ==', 33, /pake decodes to 1 bytes/]] as const) {
      assert.throws(() => base64ByteLength(text, 'pake', length), (error) => isPairError(error, 'bad_input') && problem.test(error.message));
    }
  });
});
