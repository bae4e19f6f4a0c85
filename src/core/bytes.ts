// Byte helpers shared by the whole core: encodings, constant-time comparison, argument checks.
// Platform-neutral (TextEncoder and Uint8Array only), so the core runs in Node and the web.

import { bytesToHex, concatBytes, hexToBytes } from '@noble/hashes/utils.js';
import { badInput } from './errors.js';

export { concatBytes };

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true });

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Decodes UTF-8, rejecting invalid sequences instead of substituting U+FFFD. */
export function fromUtf8(bytes: Uint8Array, what = 'text'): string {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    throw badInput(what, 'is not valid UTF-8', 'UTF-8 text');
  }
}

export function toHex(bytes: Uint8Array): string {
  return bytesToHex(bytes);
}

const LOWER_HEX = /^(?:[0-9a-f]{2})*$/;

/** Parses lowercase hex; `length` (in bytes), when given, must match exactly. */
export function fromHex(text: string, what: string, length?: number): Uint8Array {
  const expected = length === undefined ? 'lowercase hex' : `${length * 2} lowercase hex characters`;
  if (typeof text !== 'string' || !LOWER_HEX.test(text)) throw badInput(what, 'is not lowercase hex', expected);
  if (length !== undefined && text.length !== length * 2) {
    throw badInput(what, `has ${text.length} hex characters`, expected);
  }
  return hexToBytes(text);
}

/**
 * Standard-alphabet characters, then at most two `=`: with a length that is a multiple of 4, the
 * same strings as whole groups of four with the padding in the last group, and a linear scan
 * where the pattern of groups took the relay noticeable time on every bootstrap it was sent.
 */
const BASE64_CHARACTERS = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * The most arguments one String.fromCharCode call is given: far below any engine's limit on
 * arguments, and few enough calls for an envelope of the largest size (128 KiB: 4 calls).
 */
const CHAR_CODES_PER_CALL = 0x8000;

/** RFC 4648 base64, standard alphabet, with padding. */
export function toBase64(bytes: Uint8Array): string {
  // Whole runs of bytes to characters at once: one concatenation per byte took about three
  // times as long for an envelope, and every message is encoded that way twice (its `ct`,
  // then the whole envelope for the relay) and once more per signature and key it carries.
  let binary = '';
  for (let start = 0; start < bytes.length; start += CHAR_CODES_PER_CALL) {
    binary += String.fromCharCode.apply(null, bytes.subarray(start, start + CHAR_CODES_PER_CALL) as unknown as number[]);
  }
  return btoa(binary);
}

/**
 * Strict RFC 4648 base64 decoding: standard alphabet, padding required, no whitespace, and
 * canonical (unused bits zero), so one byte string has exactly one accepted encoding.
 */
export function fromBase64(text: string, what: string, length?: number): Uint8Array {
  base64ByteLength(text, what, length);
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/**
 * How many bytes `text` decodes to, after the checks fromBase64 makes (the same errors), without
 * decoding it: for a relay that only stores the value and bounds its size.
 */
export function base64ByteLength(text: string, what: string, length?: number): number {
  const expected = length === undefined ? 'standard padded base64' : `standard padded base64 of ${length} bytes`;
  if (typeof text !== 'string' || text.length % 4 !== 0 || !BASE64_CHARACTERS.test(text)) throw badInput(what, 'is not base64', expected);
  if (!unusedBitsAreZero(text)) throw badInput(what, 'is not canonical base64', expected);
  const bytes = (text.length / 4) * 3 - paddingOf(text);
  if (length !== undefined && bytes !== length) throw badInput(what, `decodes to ${bytes} bytes`, expected);
  return bytes;
}

/** The number of `=` a padded base64 text ends with (0, 1 or 2). */
function paddingOf(text: string): number {
  return text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
}

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * Whether the bits the padding leaves unused are zero (the last character before `==` carries
 * 2 bits of data and 4 unused, before `=` 4 and 2), so one byte string has one encoding. For
 * well-formed base64 this is the same as re-encoding and comparing, without the re-encoding.
 */
function unusedBitsAreZero(text: string): boolean {
  const padding = paddingOf(text);
  if (padding === 0) return true;
  const last = BASE64_ALPHABET.indexOf(text.charAt(text.length - padding - 1));
  return (last & (padding === 2 ? 0b1111 : 0b11)) === 0;
}

/** Compares in time that depends only on the lengths, never on where the inputs differ. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/** Overwrites secret bytes once they are no longer needed. */
/**
 * The ArrayBuffer that holds exactly `bytes`: their own when they are all of it, else a copy's.
 * @hpke keeps an ArrayBuffer it is given as it is, where it copies the bytes of a view.
 */
export function arrayBufferOf(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.byteLength === bytes.byteLength && bytes.buffer instanceof ArrayBuffer ? bytes.buffer : bytes.slice().buffer;
}

export function wipe(...arrays: Uint8Array[]): void {
  for (const array of arrays) array.fill(0);
}

export function requireBytes(value: unknown, what: string, length?: number): Uint8Array {
  if (!(value instanceof Uint8Array)) throw badInput(what, 'is not a byte array', length === undefined ? 'a Uint8Array' : `a Uint8Array of ${length} bytes`);
  if (length !== undefined && value.length !== length) throw badInput(what, `has ${value.length} bytes`, `${length} bytes`);
  return value;
}
