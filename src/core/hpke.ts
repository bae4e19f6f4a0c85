// The one HPKE suite of sections 6.2 and 7.3 (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
// ChaCha20-Poly1305) as the kept @hpke/* implementation (RFC 9180) builds it, with its X25519
// on the installed curves (curves.ts) and its HKDF in this thread, so a seal or an open waits on
// no thread pool; its HKDF and ChaCha20-Poly1305 are the runtime's native ones where the installed
// curves bring them (node/nativeCurves.ts), noble's JavaScript otherwise. Apart from messages.ts,
// which imports it at the first seal or open: evaluating @hpke/* is a large part of a start-up
// (the extension's module load, every CLI command that reads messages.ts) that seals and opens
// nothing, or not yet.

import type { AeadEncryptionContext, AeadInterface } from '@hpke/core';
import { AeadId, CipherSuite, HkdfSha256 } from '@hpke/core';
import { DhkemX25519HkdfSha256, X25519 as X25519Primitives } from '@hpke/dhkem-x25519';
import { expand as hkdfExpand, extract as hkdfExtract } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { type CurveCrypto, type HpkeSymmetric, curves } from './curves.js';

const suites = new WeakMap<CurveCrypto, CipherSuite>();

type HpkeBytes = ArrayBufferLike | ArrayBufferView;

function bytesOf(input: HpkeBytes): Uint8Array {
  return ArrayBuffer.isView(input) ? new Uint8Array(input.buffer, input.byteOffset, input.byteLength) : new Uint8Array(input);
}

function arrayBufferOf(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.byteLength === bytes.byteLength && bytes.buffer instanceof ArrayBuffer ? bytes.buffer : bytes.slice().buffer;
}

/**
 * @hpke's HKDF-SHA256 (its labels, suite ids and checks) with the two RFC 5869 steps computed in
 * this thread, natively where the installed curves bring it, else by @noble/hashes, instead of
 * WebCrypto: the same function, but each WebCrypto step (an importKey and an HMAC per extract and
 * per expand, a dozen per seal or open) was a round trip through the runtime's crypto thread
 * pool, most of a message's latency on a busy machine.
 */
class InThreadHkdfSha256 extends HkdfSha256 {
  constructor(private readonly native: HpkeSymmetric | undefined) {
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
    return this.native ? this.native.hkdfSha256Extract(salt, ikm) : hkdfExtract(sha256, ikm, salt.length === 0 ? undefined : salt);
  }

  private expandBytes(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
    return this.native ? this.native.hkdfSha256Expand(prk, info, length) : hkdfExpand(sha256, prk, info, length);
  }
}

/** ChaCha20-Poly1305 as @hpke's AEAD interface, on the runtime's native code. */
class NativeChacha20Poly1305 implements AeadInterface {
  readonly id = AeadId.Chacha20Poly1305;
  readonly keySize = 32;
  readonly nonceSize = 12;
  readonly tagSize = 16;

  constructor(private readonly native: HpkeSymmetric) {}

  createEncryptionContext(key: HpkeBytes): AeadEncryptionContext {
    // A copy: the caller's key buffer is its own to wipe or reuse.
    const ownKey = bytesOf(key).slice();
    return {
      seal: (nonce, plaintext, aad) => Promise.resolve(arrayBufferOf(this.native.chacha20Poly1305Seal(ownKey, bytesOf(nonce), bytesOf(aad), bytesOf(plaintext)))),
      open: (nonce, sealed, aad) => {
        try {
          return Promise.resolve(arrayBufferOf(this.native.chacha20Poly1305Open(ownKey, bytesOf(nonce), bytesOf(aad), bytesOf(sealed))));
        } catch (error) {
          return Promise.reject(error instanceof Error ? error : new Error(String(error)));
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
  constructor(kdf: InThreadHkdfSha256, installed: CurveCrypto) {
    super(kdf);
    this._curve = {
      ...this._curve,
      getPublicKey: (secret) => ownBuffer(installed.x25519PublicKey(secret)),
      getSharedSecret: (secret, publicKey) => ownBuffer(installed.x25519SharedSecret(secret, publicKey)),
    };
  }
}

/** @hpke's DHKEM(X25519, HKDF-SHA256) over the installed curves, its HKDF steps in this thread. */
class InstalledCurveX25519Kem extends DhkemX25519HkdfSha256 {
  constructor(installed: CurveCrypto) {
    super();
    const kdf = new InThreadHkdfSha256(installed.hpkeSymmetric);
    kdf.init(X25519_KEM_SUITE_ID);
    this._kdf = kdf;
    this._prim = new InstalledCurveX25519(kdf, installed);
  }
}

/** The AEAD: native where the installed curves bring it, else @hpke's in JavaScript, loaded only then. */
async function chacha20Poly1305(installed: CurveCrypto): Promise<AeadInterface> {
  if (installed.hpkeSymmetric) return new NativeChacha20Poly1305(installed.hpkeSymmetric);
  const { Chacha20Poly1305 } = await import('@hpke/chacha20poly1305');
  return new Chacha20Poly1305();
}

/** The suite over the installed curves, one per implementation (the last installed wins, as in curves.ts). */
export async function hpkeSuite(): Promise<CipherSuite> {
  const installed = curves();
  let suite = suites.get(installed);
  if (!suite) {
    suite = new CipherSuite({ kem: new InstalledCurveX25519Kem(installed), kdf: new InThreadHkdfSha256(installed.hpkeSymmetric), aead: await chacha20Poly1305(installed) });
    suites.set(installed, suite);
  }
  return suite;
}
