// HMAC-SHA256 (the steps of HPKE's HKDF-SHA256) and ChaCha20-Poly1305 (HPKE's AEAD) behind one
// port, as curves.ts does for the curves. Core computes with noble's pure JavaScript unless an
// adapter installs the runtime's native code (node/nativeSymmetric.ts: node:crypto, synchronous,
// in this thread); hpke.ts builds the message suite on whichever is installed. Both give the same
// bytes on the message vectors (test/core/symmetric.test.ts).

import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';

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

/** The pure JavaScript fallback, for a runtime without native HMAC or ChaCha20-Poly1305. */
export const nobleSymmetric: SymmetricCrypto = {
  name: 'noble',
  hmacSha256: (key, data) => hmac(sha256, key, data),
  chacha20Poly1305Seal: (key, nonce, plaintext, aad) => chacha20poly1305(key, nonce, aad).encrypt(plaintext),
  chacha20Poly1305Open: (key, nonce, sealed, aad) => chacha20poly1305(key, nonce, aad).decrypt(sealed),
};

let installed: SymmetricCrypto = nobleSymmetric;

/** Installed by an adapter's composition root before any message is sealed or opened; the last call wins. */
export function useSymmetric(implementation: SymmetricCrypto): void {
  installed = implementation;
}

/** The implementation in use. */
export function symmetric(): SymmetricCrypto {
  return installed;
}
