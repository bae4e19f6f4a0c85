// The core's curve port on the runtime's native code: Ed25519 and X25519 through node:crypto
// (OpenSSL), synchronous, in this thread (WebCrypto's X25519 was an async trip through the
// crypto thread pool per operation). Installed by each Node composition root (the CLI, `agent-pair mcp`, the VS Code
// extension) with installNativeCurves(); core falls back to noble where nothing is installed.
// node:crypto is loaded at the first key operation, not at the install: a CLI command that
// signs nothing (`--help`, `peers` with none pinned) never pays for it.

import type { KeyObject } from 'node:crypto';
import { type CurveCrypto, useCurves } from '../core/curves.js';
import { nodeCrypto } from './lazyCrypto.js';

const ED25519_KEY_BYTES = 32;
const X25519_KEY_BYTES = 32;
/**
 * A private JWK needs an `x`, but Node builds the key from `d` alone and only checks x's length,
 * so a placeholder stands in when the public key is what is being derived. (Importing the seed
 * as PKCS #8 DER instead goes through OpenSSL 3's decoders: about 7× slower, and core derives
 * the public key at every identity load.) test/core/curves.test.ts pins the derived keys and
 * signatures to the vectors, so a Node that checked `x` would fail there, not in the field.
 */
const PLACEHOLDER_X = Buffer.alloc(ED25519_KEY_BYTES).toString('base64url');
const ED25519_SIGNATURE_BYTES = 64;
/** The group order L, little-endian: a signature's S must be below it (RFC 8032 5.1.7). */
const GROUP_ORDER_LE = Buffer.from('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010', 'hex');
/** 2^255 - 19, little-endian: an encoded point's y must be below it. */
const FIELD_PRIME_LE = Buffer.from('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', 'hex');

/**
 * Key objects built lately, by what they were built from: building one from a JWK costs more
 * than the signature it serves (about 200 µs for a private key, 50 µs for a public one), and a
 * process uses the same few keys again and again (its identity, its pinned peers). Bounded: the
 * oldest goes first. A private key's entry is keyed by a hash of its seed, never the seed.
 */
const CACHED_KEYS = 64;
const keyCache = new Map<string, KeyObject>();

function cachedKey(cacheKey: string, build: () => KeyObject): KeyObject {
  let key = keyCache.get(cacheKey);
  if (key === undefined) {
    key = build();
    if (keyCache.size >= CACHED_KEYS) keyCache.delete(keyCache.keys().next().value ?? '');
    keyCache.set(cacheKey, key);
  }
  return key;
}

function privateKeyOf(seed: Uint8Array): KeyObject {
  if (seed.length !== ED25519_KEY_BYTES) throw new Error(`an Ed25519 seed is ${ED25519_KEY_BYTES} bytes, not ${seed.length}`);
  return cachedKey(`ed25519 private ${nodeCrypto().createHash('sha256').update(seed).digest('base64')}`, () => privateKeyFromJwk('Ed25519', seed));
}

/**
 * A private key object built from its secret bytes, with no copy of them left in Buffer's shared
 * pool. A copy there outlives the caller's wipe, and GC too while any long-lived buffer shares
 * the pool's 8 KiB (module constants do). The bytes are read in place, and Node's own decoding of
 * the JWK's `d` (Buffer.from, pooled for so short a text) gets an array of its own while the
 * pool size is 0: that copy and the text go at the next GC.
 */
function privateKeyFromJwk(crv: 'Ed25519' | 'X25519', secret: Uint8Array): KeyObject {
  const d = Buffer.from(secret.buffer, secret.byteOffset, secret.byteLength).toString('base64url');
  const poolSize = Buffer.poolSize;
  Buffer.poolSize = 0;
  try {
    // The placeholder x: see PLACEHOLDER_X.
    return nodeCrypto().createPrivateKey({ key: { kty: 'OKP', crv, d, x: PLACEHOLDER_X }, format: 'jwk' });
  } finally {
    Buffer.poolSize = poolSize;
  }
}

function publicKeyOf(publicKey: Uint8Array): KeyObject {
  const x = Buffer.from(publicKey).toString('base64url');
  return cachedKey(`ed25519 public ${x}`, () => nodeCrypto().createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' }));
}

/** `bytes` read as a little-endian number is below `bound` (same length); `mask` clears bits first (the sign bit of a point). */
function belowLittleEndian(bytes: Uint8Array, bound: Uint8Array, topMask = 0xff): boolean {
  for (let index = bound.length - 1; index >= 0; index--) {
    const byte = (bytes[index] ?? 0) & (index === bound.length - 1 ? topMask : 0xff);
    const limit = bound[index] ?? 0;
    if (byte !== limit) return byte < limit;
  }
  return false;
}

export const nativeCurves: CurveCrypto = {
  name: 'native',
  ed25519PublicKey: (seed) => new Uint8Array(Buffer.from(nodeCrypto().createPublicKey(privateKeyOf(seed)).export({ format: 'jwk' }).x ?? '', 'base64url')),
  ed25519Sign: (message, seed) => new Uint8Array(nodeCrypto().sign(null, message, privateKeyOf(seed))),
  ed25519Verify: (signature, message, publicKey) => {
    if (signature.length !== ED25519_SIGNATURE_BYTES || publicKey.length !== ED25519_KEY_BYTES) return false;
    // Strict as noble's zip215: false: S below L, and R's y below the field prime. OpenSSL
    // checks S itself; R's encoding is checked here so both implementations agree on every input.
    if (!belowLittleEndian(signature.subarray(32), GROUP_ORDER_LE) || !belowLittleEndian(signature.subarray(0, 32), FIELD_PRIME_LE, 0x7f)) return false;
    try {
      return nodeCrypto().verify(null, message, publicKeyOf(publicKey), signature);
    } catch {
      return false;
    }
  },
  x25519PublicKey: (secret) => new Uint8Array(Buffer.from(nodeCrypto().createPublicKey(x25519PrivateKeyOf(secret)).export({ format: 'jwk' }).x ?? '', 'base64url')),
  x25519SharedSecret: (secret, publicKey) => {
    if (publicKey.length !== X25519_KEY_BYTES) throw new Error(`an X25519 public key is ${X25519_KEY_BYTES} bytes, not ${publicKey.length}`);
    const peerKey = nodeCrypto().createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(publicKey).toString('base64url') }, format: 'jwk' });
    const shared = new Uint8Array(nodeCrypto().diffieHellman({ privateKey: x25519PrivateKeyOf(secret), publicKey: peerKey }));
    // A low-order public key gives all zeros (RFC 7748 section 6.1): OpenSSL refuses it itself;
    // checked here too, as noble does, so no build of the runtime is trusted with it.
    if (shared.every((byte) => byte === 0)) throw new Error('the X25519 public key is of low order (the shared secret is all zeros)');
    return shared;
  },
  x25519RandomSecret: () => new Uint8Array(nodeCrypto().randomBytes(X25519_KEY_BYTES)),
};

/**
 * The private key object of each X25519 secret while that very array lives: HPKE uses each secret
 * twice in one seal or open (its public key, then the Diffie-Hellman), and building the object
 * from a JWK costs as much as the Diffie-Hellman itself. Keyed by the array, not its bytes, so
 * nothing outlives the secret the caller holds (an ephemeral or one-time key goes with its
 * array); the entry is used only while the array still holds the bytes it was built from (a
 * caller that wipes or reuses its array gets a new object). It keeps their SHA-256, not a copy,
 * so the cache does not undo a caller's wipe: what is left is the key object, which holds the
 * secret natively and goes with the array (and the JWK text that built it, until GC).
 * An array that is all of its buffer is known by the buffer: @hpke wraps a secret it is given
 * as an ArrayBuffer in a view of its own, and a receive key's secret, kept by its owner
 * (core/receiveKeys.ts) from the top-up that gave its public key to the open, finds its object.
 */
const x25519Keys = new WeakMap<object, { digest: Buffer; key: KeyObject }>();

function x25519CacheKey(secret: Uint8Array): object {
  return secret.byteOffset === 0 && secret.buffer.byteLength === secret.byteLength ? secret.buffer : secret;
}

function x25519PrivateKeyOf(secret: Uint8Array): KeyObject {
  if (secret.length !== X25519_KEY_BYTES) throw new Error(`an X25519 secret is ${X25519_KEY_BYTES} bytes, not ${secret.length}`);
  const digest = nodeCrypto().createHash('sha256').update(secret).digest();
  const known = x25519Keys.get(x25519CacheKey(secret));
  if (known && nodeCrypto().timingSafeEqual(known.digest, digest)) return known.key;
  const key = privateKeyFromJwk('X25519', secret);
  x25519Keys.set(x25519CacheKey(secret), { digest, key });
  return key;
}

/** Makes core use node:crypto for Ed25519 and X25519. */
export function installNativeCurves(): void {
  useCurves(nativeCurves);
}
