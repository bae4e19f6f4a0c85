// HMAC-SHA256 (the steps of HPKE's HKDF-SHA256) and ChaCha20-Poly1305 (HPKE's AEAD) behind one
// port, as curves.ts does for the curves. An adapter installs the runtime's native code
// (node/nativeSymmetric.ts: node:crypto, synchronous, in this thread); with nothing installed,
// hpke.ts computes with noble's pure JavaScript (its `nobleSymmetric`, kept there so that it
// loads with HPKE, at the first seal or open, and not with every module that installs the port).
// Both give the same bytes on the message vectors (test/core/symmetric.test.ts).

export const CHACHA20_POLY1305_KEY_BYTES = 32;
export const CHACHA20_POLY1305_NONCE_BYTES = 12;
export const CHACHA20_POLY1305_TAG_BYTES = 16;

export interface SymmetricCrypto {
  /** For diagnostics and tests: which implementation this is. */
  readonly name: string;
  /** HMAC-SHA256 (RFC 2104) of `data` under `key` (any length): 32 bytes. */
  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array;
  /** RFC 8439's AEAD: the ciphertext followed by its 16-byte tag. Key 32 bytes, nonce 12. */
  chacha20Poly1305Seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array;
  /** The plaintext of `sealed` (ciphertext and tag); throws when the tag does not verify or `sealed` is shorter than a tag. */
  chacha20Poly1305Open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array;
}

let installed: SymmetricCrypto | undefined;

/** Installed by an adapter's composition root before any message is sealed or opened; the last call wins; undefined: noble's again. */
export function useSymmetric(implementation: SymmetricCrypto | undefined): void {
  installed = implementation;
}

/** The implementation installed, if any (hpke.ts falls back to noble's). */
export function installedSymmetric(): SymmetricCrypto | undefined {
  return installed;
}
