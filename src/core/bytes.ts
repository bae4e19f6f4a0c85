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

const B64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_LOOKUP = new Int16Array(128).fill(-1);
for (let i = 0; i < B64_ALPHABET.length; i++) B64_LOOKUP[B64_ALPHABET.charCodeAt(i)] = i;

/** RFC 4648 base64, standard alphabet, with padding. */
export function toBase64(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += B64_ALPHABET[(n >> 18) & 63]! + B64_ALPHABET[(n >> 12) & 63]! + B64_ALPHABET[(n >> 6) & 63]! + B64_ALPHABET[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += B64_ALPHABET[(n >> 18) & 63]! + B64_ALPHABET[(n >> 12) & 63]! + '==';
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += B64_ALPHABET[(n >> 18) & 63]! + B64_ALPHABET[(n >> 12) & 63]! + B64_ALPHABET[(n >> 6) & 63]! + '=';
  }
  return out;
}

/**
 * Strict RFC 4648 base64 decoding: standard alphabet, padding required, no whitespace, and
 * canonical (unused bits zero), so one byte string has exactly one accepted encoding.
 */
export function fromBase64(text: string, what: string, length?: number): Uint8Array {
  const expected = length === undefined ? 'standard padded base64' : `standard padded base64 of ${length} bytes`;
  if (typeof text !== 'string' || text.length % 4 !== 0) throw badInput(what, 'is not base64', expected);
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((text.length / 4) * 3 - padding);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const last = i + 4 === text.length;
    const digits = [0, 1, 2, 3].map((k) => {
      const c = text.charCodeAt(i + k);
      if (last && c === 61 /* '=' */ && k >= 4 - padding) return 0;
      const v = c < 128 ? B64_LOOKUP[c]! : -1;
      if (v < 0) throw badInput(what, 'is not base64', expected);
      return v;
    });
    const n = (digits[0]! << 18) | (digits[1]! << 12) | (digits[2]! << 6) | digits[3]!;
    out[o++] = (n >> 16) & 255;
    if (o < out.length) out[o++] = (n >> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
    if (last && ((padding === 1 && (n & 0xff) !== 0) || (padding === 2 && (n & 0xffff) !== 0))) {
      throw badInput(what, 'is not canonical base64', expected);
    }
  }
  if (length !== undefined && out.length !== length) throw badInput(what, `decodes to ${out.length} bytes`, expected);
  return out;
}

/** Compares in time that depends only on the lengths, never on where the inputs differ. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/** Overwrites secret bytes once they are no longer needed. */
export function wipe(...arrays: Uint8Array[]): void {
  for (const array of arrays) array.fill(0);
}

export function requireBytes(value: unknown, what: string, length?: number): Uint8Array {
  if (!(value instanceof Uint8Array)) throw badInput(what, 'is not a byte array', length === undefined ? 'a Uint8Array' : `a Uint8Array of ${length} bytes`);
  if (length !== undefined && value.length !== length) throw badInput(what, `has ${value.length} bytes`, `${length} bytes`);
  return value;
}
