import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { SECRET_ALPHABET, SECRET_LENGTH, codeHash, formatCode, generateSecret, parseCode, uniformIndices } from '../../src/core/codePhrase.js';
import { isPairError } from '../../src/core/errors.js';
import type { Random } from '../../src/core/ports.js';
import { protocolVectors } from './vectors.js';

/** A Random that hands out the given bytes in order and records how many were asked for. */
class ScriptedRandom implements Random {
  private offset = 0;
  requested = 0;
  constructor(private readonly script: number[]) {}
  bytes(length: number): Uint8Array {
    this.requested += length;
    if (this.offset + length > this.script.length) throw new Error('script exhausted');
    const out = Uint8Array.from(this.script.slice(this.offset, this.offset + length));
    this.offset += length;
    return out;
  }
}

const systemRandom: Random = { bytes: (length) => new Uint8Array(randomBytes(length)) };

describe('generateSecret', () => {
  it('draws 6 characters of the base32 alphabet', () => {
    assert.equal(SECRET_ALPHABET, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567');
    assert.equal(SECRET_LENGTH, 6);
    for (let i = 0; i < 200; i++) assert.match(generateSecret(systemRandom), /^[A-Z2-7]{6}$/);
  });

  it('maps each byte value to alphabet[byte mod 32], using every byte (256 is a multiple of 32)', () => {
    const random = new ScriptedRandom([0, 31, 32, 224, 255, 100]);
    assert.equal(generateSecret(random), 'A7AA7E');
    assert.equal(random.requested, 6);
  });

  it('uses every alphabet character, roughly uniformly, over many draws', () => {
    const counts = new Map<string, number>();
    const draws = 4000;
    for (let i = 0; i < draws; i++) for (const character of generateSecret(systemRandom)) counts.set(character, (counts.get(character) ?? 0) + 1);
    assert.equal(counts.size, 32);
    const expected = (draws * SECRET_LENGTH) / 32; // 750 per character
    // Seven standard deviations (sqrt(750 * 31/32) ~ 27) either side: a false alarm is astronomically rare.
    for (const [character, count] of counts) assert.ok(Math.abs(count - expected) < 190, `${character} appeared ${count} times, expected about ${expected}`);
  });
});

describe('uniformIndices (rejection sampling)', () => {
  it('skips bytes at or above the largest multiple of the size, for sizes that do not divide 256', () => {
    // size 36: 256 - 256 % 36 = 252, so 252..255 would favour indices 0..3 and are skipped.
    const random = new ScriptedRandom([252, 253, 254, 255, 0, 251, 35, 36]);
    assert.deepEqual(uniformIndices(random, 36, 4), [0, 35, 35, 0]);
    assert.equal(random.requested, 8);
  });

  it('skips bytes >= 224 when the size is 56 (256 - 256 % 56 = 224), asking for more bytes as needed', () => {
    const random = new ScriptedRandom([224, 230, 255, 223, 0, 56]);
    assert.deepEqual(uniformIndices(random, 56, 3), [55, 0, 0]);
    assert.equal(random.requested, 6);
  });

  it('refuses sizes that cannot be drawn from one byte', () => {
    for (const size of [0, 257, 1.5, -1]) assert.throws(() => uniformIndices(systemRandom, size, 1), (error) => isPairError(error, 'bad_input'));
  });
});

describe('formatCode', () => {
  it('joins a nameplate and a secret', () => {
    assert.equal(formatCode('47', 'UE2BZG'), '47-UE2BZG');
    assert.equal(formatCode('1234', 'AAAAAA'), '1234-AAAAAA');
  });

  const bad: [string, string, string][] = [
    ['', 'UE2BZG', 'empty nameplate'],
    ['047', 'UE2BZG', 'leading zero'],
    ['4a', 'UE2BZG', 'non-digit nameplate'],
    ['47', 'ue2bzg', 'lowercase secret (not canonical)'],
    ['47', 'UE2BZ', 'short secret'],
    ['47', 'UE2BZ0', 'secret with 0'],
  ];
  for (const [nameplate, secret, why] of bad) {
    it(`refuses ${why}`, () => { assert.throws(() => formatCode(nameplate, secret), (error) => isPairError(error, 'bad_input')); });
  }
});

describe('parseCode', () => {
  const good: [string, string][] = [
    ['47-UE2BZG', '47-UE2BZG'],
    ['47-ue2bzg', '47-UE2BZG'],
    ['  47-Ue2BzG\n', '47-UE2BZG'],
    ['47 UE2BZG', '47-UE2BZG'],
    ['\t9 abcdef ', '9-ABCDEF'],
    ['100-777777', '100-777777'],
  ];
  for (const [input, canonical] of good) {
    it(`accepts ${JSON.stringify(input)} as ${canonical}`, () => {
      const parsed = parseCode(input);
      assert.equal(parsed.code, canonical);
      const [nameplate, secret] = canonical.split('-');
      assert.equal(parsed.nameplate, nameplate);
      assert.equal(parsed.secret, secret);
    });
  }

  const bad: { input: string; reason: RegExp }[] = [
    { input: '', reason: /empty/ },
    { input: '   ', reason: /empty/ },
    { input: '47UE2BZG', reason: /dash .* missing/ },
    { input: '-UE2BZG', reason: /number before the dash is missing/ },
    { input: '047-UE2BZG', reason: /must not start with 0/ },
    { input: '0-UE2BZG', reason: /must not start with 0/ },
    { input: '4x-UE2BZG', reason: /digits only/ },
    { input: '٤٧-UE2BZG', reason: /digits only/ }, // Arabic-Indic digits are not ASCII digits
    { input: '47--UE2BZG', reason: /exactly one dash/ },
    { input: '47  UE2BZG', reason: /exactly one dash/ },
    { input: '47-UE2-BZG', reason: /exactly one dash/ },
    { input: '47 - UE2BZG', reason: /exactly one dash/ },
    { input: '47-UE2BZ', reason: /5 characters instead of 6/ },
    { input: '47-UE2BZGX', reason: /7 characters instead of 6/ },
    { input: '47-', reason: /0 characters instead of 6/ },
    { input: '47-UE2BZ0', reason: /only letters A-Z and digits 2-7/ },
    { input: '47-UE2BZ1', reason: /only letters A-Z and digits 2-7/ },
    { input: '47-UE2BZ8', reason: /only letters A-Z and digits 2-7/ },
    { input: '47-UE2BZ!', reason: /only letters A-Z and digits 2-7/ },
    { input: '47-ßabcde', reason: /only letters A-Z/ }, // 'ß'.toUpperCase() is 'SS': must not sneak in
    { input: '47-ıabcde', reason: /only letters A-Z/ }, // dotless i uppercases to I
    { input: '4'.repeat(70) + '-UE2BZG', reason: /too long/ },
  ];
  for (const { input, reason } of bad) {
    it(`refuses ${JSON.stringify(input.length > 20 ? input.slice(0, 20) + '…' : input)}: ${reason.source}`, () => {
      assert.throws(
        () => parseCode(input),
        (error) => isPairError(error, 'bad_code') && reason.test(error.message) && error.message.includes('like 47-UE2BZG'),
      );
    });
  }

  it('never repeats the typed secret in its errors', () => {
    for (const input of ['47-SECRETX', '47-SECRE0', '047-SECRET', '47SECRET']) {
      assert.throws(() => parseCode(input), (error) => isPairError(error, 'bad_code') && !error.message.includes('SECRE'));
    }
  });

  it('refuses a non-string', () => {
    assert.throws(() => parseCode(47 as unknown as string), (error) => isPairError(error, 'bad_code'));
  });
});

describe('codeHash', () => {
  it('matches the protocol vector', () => {
    assert.equal(codeHash(protocolVectors.code), protocolVectors.code_hash);
  });

  it('is the hash of the canonical form, whatever was typed', () => {
    assert.equal(codeHash(parseCode(' 47 ue2bzg ').code), protocolVectors.code_hash);
    assert.notEqual(codeHash('47-UE2BZH'), protocolVectors.code_hash);
  });

  it('refuses anything but a canonical code', () => {
    for (const code of ['47-ue2bzg', '47 UE2BZG', ' 47-UE2BZG', '047-UE2BZG', '']) {
      assert.throws(() => codeHash(code), (error) => isPairError(error, 'bad_input'));
    }
  });
});
