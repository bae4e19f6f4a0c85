// The core's symmetric port (core/symmetric.ts) on the runtime's native code: HMAC-SHA256 and
// ChaCha20-Poly1305 through node:crypto (OpenSSL), synchronous, in this thread. HPKE's key
// schedule makes about eight HMACs per seal or open, each several times faster here than in
// JavaScript, and the AEAD runs at OpenSSL's speed. Installed with the native curves by each Node
// composition root (installNativeCrypto); core falls back to noble where nothing is installed.
// node:crypto is loaded at the first use, not at the install.

import { CHACHA20_POLY1305_KEY_BYTES, CHACHA20_POLY1305_NONCE_BYTES, CHACHA20_POLY1305_TAG_BYTES, type SymmetricCrypto, useSymmetric } from '../core/symmetric.js';
import { installNativeCurves } from './nativeCurves.js';
import { nodeCrypto } from './lazyCrypto.js';

const CHACHA20_POLY1305 = 'chacha20-poly1305';

/** A Buffer's bytes as a plain Uint8Array view (no copy): what the port hands back. */
function bytesOf(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** `parts` in one array of its own (Buffer.concat may place small results in Node's shared pool, beside other data). */
function joined(...parts: Uint8Array[]): Uint8Array {
  const output = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    output.set(part, offset);
    offset += part.length;
  }
  return output;
}

/** OpenSSL would take other lengths for some of these (a shorter nonce, say) and compute something else: refused here, as noble refuses them. */
function checkKeyAndNonce(key: Uint8Array, nonce: Uint8Array): void {
  if (key.length !== CHACHA20_POLY1305_KEY_BYTES) throw new Error(`a ChaCha20-Poly1305 key is ${CHACHA20_POLY1305_KEY_BYTES} bytes, not ${key.length}`);
  if (nonce.length !== CHACHA20_POLY1305_NONCE_BYTES) throw new Error(`a ChaCha20-Poly1305 nonce is ${CHACHA20_POLY1305_NONCE_BYTES} bytes, not ${nonce.length}`);
}

export const nativeSymmetric: SymmetricCrypto = {
  name: 'native',
  hmacSha256: (key, data) => bytesOf(nodeCrypto().createHmac('sha256', key).update(data).digest()),
  chacha20Poly1305Seal: (key, nonce, plaintext, aad) => {
    checkKeyAndNonce(key, nonce);
    const cipher = nodeCrypto().createCipheriv(CHACHA20_POLY1305, key, nonce, { authTagLength: CHACHA20_POLY1305_TAG_BYTES });
    cipher.setAAD(aad, { plaintextLength: plaintext.length });
    return joined(cipher.update(plaintext), cipher.final(), cipher.getAuthTag());
  },
  chacha20Poly1305Open: (key, nonce, sealed, aad) => {
    checkKeyAndNonce(key, nonce);
    if (sealed.length < CHACHA20_POLY1305_TAG_BYTES) throw new Error(`a sealed ChaCha20-Poly1305 text is at least its ${CHACHA20_POLY1305_TAG_BYTES}-byte tag, not ${sealed.length} bytes`);
    const ciphertextLength = sealed.length - CHACHA20_POLY1305_TAG_BYTES;
    const decipher = nodeCrypto().createDecipheriv(CHACHA20_POLY1305, key, nonce, { authTagLength: CHACHA20_POLY1305_TAG_BYTES });
    decipher.setAAD(aad, { plaintextLength: ciphertextLength });
    decipher.setAuthTag(sealed.subarray(ciphertextLength));
    const plaintext = decipher.update(sealed.subarray(0, ciphertextLength));
    try {
      // Throws when the tag does not verify; the plaintext computed so far is wiped, never returned.
      return joined(plaintext, decipher.final());
    } finally {
      plaintext.fill(0);
    }
  },
};

/** Makes core use node:crypto for its curves (nativeCurves.ts) and for HPKE's HMAC and AEAD. */
export function installNativeCrypto(): void {
  installNativeCurves();
  useSymmetric(nativeSymmetric);
}
