// The code phrase people read aloud (PROTOCOL.md section 2): `nameplate "-" secret`, e.g.
// `47-UE2BZG`. The nameplate is public and comes from the relay; the 6-character secret is
// drawn here and never leaves the two clients except inside SPAKE2.

import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, toHex, utf8 } from './bytes.js';
import { PairError, badInput } from './errors.js';
import type { Random } from './ports.js';
import { NAMEPLATE_PATTERN } from './vocabulary.js';

/** RFC 4648 base32: no 0, 1, 8 or 9, so nothing reads like O, I or B. */
export const SECRET_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
export const SECRET_LENGTH = 6;

/** What every message about a code phrase shows, so the person sees the shape to type. */
const EXPECTED_SHAPE = 'a number, a dash and 6 characters from A-Z and 2-7, like 47-UE2BZG';
/** Longer input is not a code phrase; refusing it early keeps error handling simple. */
const MAX_CODE_INPUT_CHARS = 64;

const CANONICAL_SECRET_PATTERN = /^[A-Z2-7]{6}$/;
const CODE_HASH_TAG = utf8('agent-pair/v1 code-phrase');

/**
 * Draws `count` indices uniform in [0, size) from single CSPRNG bytes by rejection sampling:
 * bytes at or above the largest multiple of `size` that fits in a byte are skipped, so no index
 * is favoured by the modulo. For the 32-symbol alphabet that bound is 256 and nothing is ever
 * skipped; the general form keeps the alphabet changeable without reintroducing bias.
 */
export function uniformIndices(random: Random, size: number, count: number): number[] {
  if (!Number.isInteger(size) || size < 1 || size > 256) throw badInput('size', 'is out of range', 'an integer from 1 to 256');
  const limit = 256 - (256 % size);
  const indices: number[] = [];
  while (indices.length < count) {
    for (const byte of random.bytes(count - indices.length)) {
      if (byte < limit) indices.push(byte % size);
    }
  }
  return indices;
}

/** A fresh 6-character secret, uniform over the base32 alphabet (30 bits). */
export function generateSecret(random: Random): string {
  return uniformIndices(random, SECRET_ALPHABET.length, SECRET_LENGTH)
    .map((index) => SECRET_ALPHABET.charAt(index))
    .join('');
}

/** The canonical code from a relay nameplate and a secret (both already canonical). */
export function formatCode(nameplate: string, secret: string): string {
  if (typeof nameplate !== 'string' || !NAMEPLATE_PATTERN.test(nameplate)) {
    throw badInput('nameplate', 'is not a decimal number without a leading zero', 'digits like 47');
  }
  if (typeof secret !== 'string' || !CANONICAL_SECRET_PATTERN.test(secret)) {
    throw badInput('secret', 'is not 6 uppercase base32 characters', '6 characters from A-Z and 2-7');
  }
  return `${nameplate}-${secret}`;
}

function badCode(problem: string): PairError {
  // The message never repeats the input: it may hold most of a secret typed into the wrong box.
  return new PairError('bad_code', `That code phrase is not valid: ${problem}. Expected ${EXPECTED_SHAPE}.`);
}

/**
 * Parses what a person typed: surrounding whitespace trimmed, lowercase accepted, and a single
 * space accepted in place of the dash. Returns the canonical form (`digits-UPPERCASE`) and its
 * parts; anything else is a `bad_code` error naming the first problem found.
 */
export function parseCode(input: string): { code: string; nameplate: string; secret: string } {
  if (typeof input !== 'string') throw badCode('it is not text');
  const trimmed = input.trim();
  if (trimmed === '') throw badCode('it is empty');
  if (trimmed.length > MAX_CODE_INPUT_CHARS) throw badCode('it is far too long');
  const separatorAt = trimmed.search(/[- ]/);
  if (separatorAt < 0) throw badCode('the dash between the number and the secret is missing');
  const nameplate = trimmed.slice(0, separatorAt);
  const rest = trimmed.slice(separatorAt + 1);
  if (nameplate === '') throw badCode('the number before the dash is missing');
  if (!/^[0-9]+$/.test(nameplate)) throw badCode('the part before the dash must be digits only');
  if (!NAMEPLATE_PATTERN.test(nameplate)) throw badCode('the number before the dash must not start with 0');
  if (/[-\s]/.test(rest)) throw badCode('there must be exactly one dash (or one space) between the two parts');
  if (rest.length !== SECRET_LENGTH) {
    throw badCode(`the part after the dash has ${rest.length} characters instead of ${SECRET_LENGTH}`);
  }
  // Checked before uppercasing: toUpperCase maps some non-ASCII letters (ß, ı, ſ) into A-Z.
  if (!/^[A-Za-z2-7]+$/.test(rest)) {
    throw badCode('the part after the dash may use only letters A-Z and digits 2-7 (no 0, 1, 8 or 9)');
  }
  const secret = rest.toUpperCase();
  return { code: `${nameplate}-${secret}`, nameplate, secret };
}

/** `hex(H(utf8("agent-pair/v1 code-phrase") || utf8(code)))`: a salt for the key schedule, never sent. */
export function codeHash(code: string): string {
  if (typeof code !== 'string' || !/^[1-9][0-9]*-[A-Z2-7]{6}$/.test(code)) {
    throw badInput('code', 'is not a canonical code phrase', `${EXPECTED_SHAPE}, as parseCode returns it`);
  }
  return toHex(sha256(concatBytes(CODE_HASH_TAG, utf8(code))));
}
