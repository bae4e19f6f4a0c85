// The one HPKE suite of sections 6.2 and 7.3 (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
// ChaCha20-Poly1305) as the kept @hpke/* implementation (RFC 9180) builds it, with its X25519
// on the installed curves (curves.ts), and its HKDF steps and AEAD on the installed symmetric
// primitives (symmetric.ts), all in this thread, so a seal or an open waits on no thread pool. Apart from messages.ts, which imports it at the first seal or open: evaluating
// @hpke/* is a large part of a start-up (the extension's module load, every CLI command that
// reads messages.ts) that seals and opens nothing, or not yet.

import { type AeadEncryptionContext, type AeadInterface, AeadId, CipherSuite, HkdfSha256 } from '@hpke/core';
import { DhkemX25519HkdfSha256, X25519 as X25519Primitives } from '@hpke/dhkem-x25519';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { arrayBufferOf } from './bytes.js';
import { type CurveCrypto, curves } from './curves.js';
import { CHACHA20_POLY1305_KEY_BYTES, CHACHA20_POLY1305_NONCE_BYTES, CHACHA20_POLY1305_TAG_BYTES, type SymmetricCrypto, installedSymmetric } from './symmetric.js';

/** The symmetric port's pure JavaScript fallback, for a runtime without native HMAC or ChaCha20-Poly1305 (nothing installed). */
export const nobleSymmetric: SymmetricCrypto = {
  name: 'noble',
  hmacSha256: (key, data) => hmac(sha256, key, data),
  chacha20Poly1305Seal: (key, nonce, plaintext, aad) => chacha20poly1305(key, nonce, aad).encrypt(plaintext),
  chacha20Poly1305Open: (key, nonce, sealed, aad) => chacha20poly1305(key, nonce, aad).decrypt(sealed),
};

/** One suite per pair of installed implementations. */
const suites = new WeakMap<CurveCrypto, WeakMap<SymmetricCrypto, CipherSuite>>();

type HpkeBytes = ArrayBufferLike | ArrayBufferView;

function bytesOf(input: HpkeBytes): Uint8Array {
  return ArrayBuffer.isView(input) ? new Uint8Array(input.buffer, input.byteOffset, input.byteLength) : new Uint8Array(input);
}

/** SHA-256's output length, HKDF's HashLen (RFC 5869). */
const HASH_BYTES = 32;
/** HKDF-Expand's most output: 255 blocks of HashLen (RFC 5869 section 2.3, L <= 255*HashLen). */
export const HKDF_SHA256_MAX_OUTPUT_BYTES = 255 * HASH_BYTES;
/** HKDF-Extract's salt when none is given: HashLen zeros (RFC 5869 section 2.2). */
const NO_SALT = new Uint8Array(HASH_BYTES);

/**
 * @hpke's HKDF-SHA256 (its labels, suite ids and checks) with the two RFC 5869 steps computed in
 * this thread on the installed HMAC-SHA256 instead of WebCrypto: the same function, but each
 * WebCrypto step (an importKey and an HMAC per extract and per expand, a dozen per seal or open)
 * was a round trip through the runtime's crypto thread pool, most of a message's latency on a
 * busy machine.
 */
class InThreadHkdfSha256 extends HkdfSha256 {
  constructor(private readonly primitives: SymmetricCrypto) {
    super();
  }

  override extract(salt: HpkeBytes, ikm: HpkeBytes): Promise<ArrayBuffer> {
    return Promise.resolve(arrayBufferOf(this.extractBytes(bytesOf(salt), bytesOf(ikm))));
  }

  override expand(prk: HpkeBytes, info: HpkeBytes, length: number): Promise<ArrayBuffer> {
    return Promise.resolve(arrayBufferOf(this.expandBytes(bytesOf(prk), bytesOf(info), length)));
  }

  override extractAndExpand(salt: HpkeBytes, ikm: HpkeBytes, info: HpkeBytes, length: number): Promise<ArrayBuffer> {
    return Promise.resolve(arrayBufferOf(this.expandBytes(this.extractBytes(bytesOf(salt), bytesOf(ikm)), bytesOf(info), length)));
  }

  private extractBytes(salt: Uint8Array, ikm: Uint8Array): Uint8Array {
    return this.primitives.hmacSha256(salt.length === 0 ? NO_SALT : salt, ikm);
  }

  /** RFC 5869 section 2.3: T(i) = HMAC(PRK, T(i-1) || info || i), concatenated and cut to `length`. */
  private expandBytes(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
    if (!Number.isSafeInteger(length) || length < 0 || length > HKDF_SHA256_MAX_OUTPUT_BYTES) throw new Error(`HKDF-Expand gives 0 to ${HKDF_SHA256_MAX_OUTPUT_BYTES} bytes, not ${length}`);
    const output = new Uint8Array(length);
    const input = new Uint8Array(HASH_BYTES + info.length + 1);
    let previous = 0;
    for (let offset = 0, counter = 1; offset < length; offset += HASH_BYTES, counter++) {
      input.set(info, previous);
      input[previous + info.length] = counter;
      const block = this.primitives.hmacSha256(prk, input.subarray(0, previous + info.length + 1));
      output.set(block.subarray(0, Math.min(HASH_BYTES, length - offset)), offset);
      input.set(block, 0);
      previous = HASH_BYTES;
      block.fill(0);
    }
    input.fill(0);
    return output;
  }
}

/** ChaCha20-Poly1305 (HPKE AEAD 0x0003) on the installed primitives. */
class InstalledChacha20Poly1305 implements AeadInterface {
  readonly id = AeadId.Chacha20Poly1305;
  readonly keySize = CHACHA20_POLY1305_KEY_BYTES;
  readonly nonceSize = CHACHA20_POLY1305_NONCE_BYTES;
  readonly tagSize = CHACHA20_POLY1305_TAG_BYTES;

  constructor(private readonly primitives: SymmetricCrypto) {}

  createEncryptionContext(key: HpkeBytes): AeadEncryptionContext {
    // A copy: the context's key is @hpke's, and the caller may reuse its buffer.
    const keyBytes = bytesOf(key).slice();
    const { primitives } = this;
    return {
      seal: (iv, data, aad) => Promise.resolve(arrayBufferOf(primitives.chacha20Poly1305Seal(keyBytes, bytesOf(iv), bytesOf(data), bytesOf(aad)))),
      // A failed tag rejects; @hpke turns it into its OpenError, and the callers into open_failed.
      open: (iv, data, aad) => {
        try {
          return Promise.resolve(arrayBufferOf(primitives.chacha20Poly1305Open(keyBytes, bytesOf(iv), bytesOf(data), bytesOf(aad))));
        } catch (error) {
          return Promise.reject(error instanceof Error ? error : new Error('ChaCha20-Poly1305 open failed'));
        }
      },
    };
  }
}

/** suite_id of DHKEM(X25519, HKDF-SHA256): "KEM" || I2OSP(0x0020, 2) (RFC 9180 section 4.1). */
const X25519_KEM_SUITE_ID = new Uint8Array([0x4b, 0x45, 0x4d, 0x00, 0x20]);

/**
 * A copy whose buffer is exactly its bytes: @hpke's X25519 primitives hand out `bytes.buffer`
 * as the key or the shared secret, so a view into a larger buffer would leak the rest with it.
 */
function ownBuffer(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.byteLength ? bytes : bytes.slice();
}

/**
 * @hpke's X25519 DHKEM primitives (RFC 9180's DH with its all-zero check, key serialisation, its
 * ephemeral secrets from the CSPRNG, DeriveKeyPair for the vectors' fixed ephemeral keys) with
 * the two scalar multiplications done by the installed curves: node:crypto's X25519 where an
 * adapter installed it (synchronous, in this thread: WebCrypto's was an async trip through the
 * crypto thread pool per DH and per key import), noble's otherwise.
 */
class InstalledCurveX25519 extends X25519Primitives {
  constructor(kdf: HkdfSha256, installed: CurveCrypto) {
    super(kdf);
    this._curve = {
      ...this._curve,
      getPublicKey: (secret) => ownBuffer(installed.x25519PublicKey(secret)),
      getSharedSecret: (secret, publicKey) => ownBuffer(installed.x25519SharedSecret(secret, publicKey)),
      // The ephemeral secret of each seal, from the installed CSPRNG (a seed given is @hpke's DeriveKeyPair path, kept).
      utils: { ...this._curve.utils, randomSecretKey: (seed) => Promise.resolve(seed ?? ownBuffer(installed.x25519RandomSecret())) },
    };
  }
}

/** @hpke's DHKEM(X25519, HKDF-SHA256) over the installed curves, its HKDF steps in this thread. */
class InstalledCurveX25519Kem extends DhkemX25519HkdfSha256 {
  constructor(installed: CurveCrypto, primitives: SymmetricCrypto) {
    super();
    const kdf = new InThreadHkdfSha256(primitives);
    kdf.init(X25519_KEM_SUITE_ID);
    this._kdf = kdf;
    this._prim = new InstalledCurveX25519(kdf, installed);
  }
}

/**
 * @hpke's CipherSuite without its WebCrypto: its `_setup` fetches `crypto.subtle` before each
 * seal or open (loading Node's WebCrypto, a few ms of a CLI send's start-up) only to hand it to
 * the KEM's, KDF's and AEAD's native implementations, and every one of this suite's computes
 * without it (the curves and symmetric primitives above).
 */
class InstalledCipherSuite extends CipherSuite {
  protected override _setup(): Promise<void> {
    return Promise.resolve();
  }
}

/** The suite over the installed curves and symmetric primitives, one per pair (the last installed wins, as in curves.ts). */
export function hpkeSuite(): CipherSuite {
  const installedCurves = curves();
  const primitives = installedSymmetric() ?? nobleSymmetric;
  let byPrimitives = suites.get(installedCurves);
  if (!byPrimitives) {
    byPrimitives = new WeakMap();
    suites.set(installedCurves, byPrimitives);
  }
  let suite = byPrimitives.get(primitives);
  if (!suite) {
    suite = new InstalledCipherSuite({ kem: new InstalledCurveX25519Kem(installedCurves, primitives), kdf: new InThreadHkdfSha256(primitives), aead: new InstalledChacha20Poly1305(primitives) });
    byPrimitives.set(primitives, suite);
  }
  return suite;
}
