// Ed25519 (identity cards) and X25519 (the HPKE KEM of messages) behind one port. Core computes
// with noble's pure JavaScript unless an adapter installs the runtime's native code
// (node/nativeCurves.ts: node:crypto, many times faster per operation, synchronous, and with no
// tables to build at start). Core imports no `node:` module, so the choice is the adapter's, made
// once at start-up; both give the same answers on the vectors (test/core/curves.test.ts).
//
// SPAKE2's group arithmetic and the prime-order check of a card's key stay noble's: no runtime
// offers those.

import { ed25519, x25519 } from '@noble/curves/ed25519.js';

const ED25519_KEY_BYTES = 32;
const ED25519_SIGNATURE_BYTES = 64;

export interface CurveCrypto {
  /** For diagnostics and tests: which implementation this is. */
  readonly name: string;
  ed25519PublicKey(seed: Uint8Array): Uint8Array;
  ed25519Sign(message: Uint8Array, seed: Uint8Array): Uint8Array;
  /**
   * RFC 8032 verification, strict (not ZIP 215's rules): a non-canonical S or R is refused.
   * The caller has checked the public key (canonical, prime-order subgroup). Wrong lengths
   * are a signature that does not verify.
   */
  ed25519Verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
  /** The X25519 public key of a 32-byte secret (RFC 7748: the secret, clamped, times the base point). */
  x25519PublicKey(secret: Uint8Array): Uint8Array;
  /**
   * X25519(secret, publicKey) (RFC 7748 section 5): the DH of HPKE's KEM (hpke.ts). Throws when
   * the result is all zeros (a low-order public key), which RFC 9180 section 7.1.4 says to refuse.
   */
  x25519SharedSecret(secret: Uint8Array, publicKey: Uint8Array): Uint8Array;
  /**
   * A fresh X25519 secret from the runtime's CSPRNG: HPKE's ephemeral key at each seal (hpke.ts),
   * drawn here so @hpke never reaches for WebCrypto's getRandomValues (loading Node's WebCrypto
   * is a few ms of a CLI send's start-up).
   */
  x25519RandomSecret(): Uint8Array;
}

/** The pure JavaScript fallback, for a runtime without native Ed25519 or X25519. */
export const nobleCurves: CurveCrypto = {
  name: 'noble',
  ed25519PublicKey: (seed) => ed25519.getPublicKey(seed),
  ed25519Sign: (message, seed) => ed25519.sign(message, seed),
  ed25519Verify: (signature, message, publicKey) =>
    signature.length === ED25519_SIGNATURE_BYTES && publicKey.length === ED25519_KEY_BYTES && ed25519.verify(signature, message, publicKey, { zip215: false }),
  x25519PublicKey: (secret) => x25519.getPublicKey(secret),
  // noble refuses an all-zero result itself.
  x25519SharedSecret: (secret, publicKey) => x25519.getSharedSecret(secret, publicKey),
  x25519RandomSecret: () => x25519.utils.randomSecretKey(),
};

let installed: CurveCrypto = nobleCurves;

/** Installed by an adapter's composition root before any key is used; the last call wins. */
export function useCurves(curves: CurveCrypto): void {
  installed = curves;
}

/** The implementation in use. */
export function curves(): CurveCrypto {
  return installed;
}
