// The one HPKE suite of sections 6.2 and 7.3 (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
// ChaCha20-Poly1305) as the kept @hpke/* implementation (RFC 9180) builds it, with two costs of
// it taken out. Apart from messages.ts, which imports it at the first seal or open: evaluating
// @hpke/* is a large part of a start-up (the extension's module load, every CLI command that
// reads messages.ts) that seals and opens nothing, or not yet.

import { Chacha20Poly1305 } from '@hpke/chacha20poly1305';
import { CipherSuite, DhkemX25519HkdfSha256 as WebCryptoX25519Kem, HkdfSha256 } from '@hpke/core';
import { expand as hkdfExpand, extract as hkdfExtract, hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { requireBytes, toBase64 } from './bytes.js';
import { type CurveCrypto, curves } from './curves.js';

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
 * this thread by @noble/hashes instead of WebCrypto: the same function, but each WebCrypto step
 * (an importKey and an HMAC per extract and per expand, a dozen per seal or open) was a round
 * trip through the runtime's crypto thread pool, most of a message's latency on a busy machine.
 */
class InThreadHkdfSha256 extends HkdfSha256 {
  override extract(salt: HpkeBytes, ikm: HpkeBytes): Promise<ArrayBuffer> {
    const saltBytes = bytesOf(salt);
    return Promise.resolve(arrayBufferOf(hkdfExtract(sha256, bytesOf(ikm), saltBytes.length === 0 ? undefined : saltBytes)));
  }

  override expand(prk: HpkeBytes, info: HpkeBytes, length: number): Promise<ArrayBuffer> {
    return Promise.resolve(arrayBufferOf(hkdfExpand(sha256, bytesOf(prk), bytesOf(info), length)));
  }

  override extractAndExpand(salt: HpkeBytes, ikm: HpkeBytes, info: HpkeBytes, length: number): Promise<ArrayBuffer> {
    const saltBytes = bytesOf(salt);
    return Promise.resolve(arrayBufferOf(hkdf(sha256, bytesOf(ikm), saltBytes.length === 0 ? undefined : saltBytes, bytesOf(info), length)));
  }
}

/** suite_id of DHKEM(X25519, HKDF-SHA256): "KEM" || I2OSP(0x0020, 2) (RFC 9180 section 4.1). */
const X25519_KEM_SUITE_ID = new Uint8Array([0x4b, 0x45, 0x4d, 0x00, 0x20]);

/**
 * @hpke's WebCrypto X25519 KEM with two costs taken out: its shared-secret derivation runs on the
 * in-thread HKDF too, and a private key is imported as a JWK (with its public key from the
 * installed curves) instead of as PKCS #8, which WebCrypto parses through OpenSSL's decoders at
 * about four times the cost.
 */
class FasterWebCryptoX25519Kem extends WebCryptoX25519Kem {
  constructor() {
    super();
    const kdf = new InThreadHkdfSha256();
    kdf.init(X25519_KEM_SUITE_ID);
    this._kdf = kdf;
  }

  override async deserializePrivateKey(key: HpkeBytes): Promise<CryptoKey> {
    const secret = requireBytes(bytesOf(key), 'X25519 private key', X25519_SECRET_BYTES);
    return this.importKey('jwk', { kty: 'OKP', crv: 'X25519', d: base64Url(secret), x: base64Url(curves().x25519PublicKey(secret)) }, false);
  }
}

const X25519_SECRET_BYTES = 32;

function base64Url(bytes: Uint8Array): string {
  return toBase64(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * The suite over the installed curves (keys of one KEM do not work with another's). @hpke's
 * JavaScript X25519 is imported only where the runtime has no X25519 of its own: its tables cost
 * every start-up that would never use them.
 */
export async function hpkeSuite(): Promise<CipherSuite> {
  const installed = curves();
  let suite = suites.get(installed);
  if (!suite) {
    const kem = installed.webCryptoX25519 ? new FasterWebCryptoX25519Kem() : new (await import('@hpke/dhkem-x25519')).DhkemX25519HkdfSha256();
    suite = new CipherSuite({ kem, kdf: new InThreadHkdfSha256(), aead: new Chacha20Poly1305() });
    suites.set(installed, suite);
  }
  return suite;
}
