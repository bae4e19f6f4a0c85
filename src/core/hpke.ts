// The one HPKE suite of sections 6.2 and 7.3 (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
// ChaCha20-Poly1305), with its X25519 on the installed curves (curves.ts), and its HKDF steps and
// AEAD on the installed symmetric primitives (symmetric.ts), all in this thread, so a seal or an
// open waits on no thread pool. Two ways:
// - Auth mode (section 6.2) is the kept @hpke/* implementation (RFC 9180) over those primitives
//   (hpkeSuite).
// - Base mode (section 7.3, every v2 message) is RFC 9180's few
//   steps for this one suite written out (setupBaseSender, openBase): one message per context,
//   and the part of the key schedule that depends only on `info` made once. Through @hpke, the
//   steps around the curves cost about as much as the curves themselves: promises and buffers at
//   each step, and three HMACs more per seal or open (psk_id_hash, info_hash, the exporter secret).
//   The vectors pin the bytes, and a test opens each implementation's seal with the other.
// Apart from messages.ts, which imports it at the first seal or open: evaluating
// @hpke/* is a large part of a start-up (the extension's module load, every CLI command that
// reads messages.ts) that seals and opens nothing, or not yet.

import { type AeadEncryptionContext, type AeadInterface, AeadId, CipherSuite, HkdfSha256 } from '@hpke/core';
import { DhkemX25519HkdfSha256, X25519 as X25519Primitives } from '@hpke/dhkem-x25519';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { arrayBufferOf, concatBytes, utf8, wipe } from './bytes.js';
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

/** RFC 5869 section 2.2: HMAC(salt, IKM), with HashLen zeros for an empty salt. */
function hkdfExtract(primitives: SymmetricCrypto, salt: Uint8Array, ikm: Uint8Array): Uint8Array {
  return primitives.hmacSha256(salt.length === 0 ? NO_SALT : salt, ikm);
}

/** RFC 5869 section 2.3: T(i) = HMAC(PRK, T(i-1) || info || i), concatenated and cut to `length`. */
function hkdfExpand(primitives: SymmetricCrypto, prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  if (!Number.isSafeInteger(length) || length < 0 || length > HKDF_SHA256_MAX_OUTPUT_BYTES) throw new Error(`HKDF-Expand gives 0 to ${HKDF_SHA256_MAX_OUTPUT_BYTES} bytes, not ${length}`);
  const output = new Uint8Array(length);
  const input = new Uint8Array(HASH_BYTES + info.length + 1);
  let previous = 0;
  for (let offset = 0, counter = 1; offset < length; offset += HASH_BYTES, counter++) {
    input.set(info, previous);
    input[previous + info.length] = counter;
    const block = primitives.hmacSha256(prk, input.subarray(0, previous + info.length + 1));
    output.set(block.subarray(0, Math.min(HASH_BYTES, length - offset)), offset);
    input.set(block, 0);
    previous = HASH_BYTES;
    block.fill(0);
  }
  input.fill(0);
  return output;
}

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
    return Promise.resolve(arrayBufferOf(hkdfExtract(this.primitives, bytesOf(salt), bytesOf(ikm))));
  }

  override expand(prk: HpkeBytes, info: HpkeBytes, length: number): Promise<ArrayBuffer> {
    return Promise.resolve(arrayBufferOf(hkdfExpand(this.primitives, bytesOf(prk), bytesOf(info), length)));
  }

  override extractAndExpand(salt: HpkeBytes, ikm: HpkeBytes, info: HpkeBytes, length: number): Promise<ArrayBuffer> {
    return Promise.resolve(arrayBufferOf(hkdfExpand(this.primitives, hkdfExtract(this.primitives, bytesOf(salt), bytesOf(ikm)), bytesOf(info), length)));
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
  const primitives = installedOrNoble();
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

// -- Base mode, written out (RFC 9180 sections 4, 4.1, 5.1, 5.2 and 7.1.3, for this one suite) --

/** The symmetric primitives installed, else noble's. */
function installedOrNoble(): SymmetricCrypto {
  return installedSymmetric() ?? nobleSymmetric;
}

const HPKE_VERSION = utf8('HPKE-v1');
/** suite_id of the key schedule: "HPKE" || I2OSP(kem_id 0x0020, 2) || I2OSP(kdf_id 0x0001, 2) || I2OSP(aead_id 0x0003, 2) (section 5.1). */
const HPKE_SUITE_ID = new Uint8Array([0x48, 0x50, 0x4b, 0x45, 0x00, 0x20, 0x00, 0x01, 0x00, 0x03]);
const MODE_BASE = 0x00;
const EMPTY = new Uint8Array(0);
const LABEL_EAE_PRK = utf8('eae_prk');
const LABEL_SHARED_SECRET = utf8('shared_secret');
const LABEL_PSK_ID_HASH = utf8('psk_id_hash');
const LABEL_INFO_HASH = utf8('info_hash');
const LABEL_SECRET = utf8('secret');
const LABEL_KEY = utf8('key');
const LABEL_BASE_NONCE = utf8('base_nonce');
const LABEL_DKP_PRK = utf8('dkp_prk');
const LABEL_SK = utf8('sk');
/** Nsecret, Nsk, Npk and Nenc of DHKEM(X25519, HKDF-SHA256). */
const X25519_BYTES = 32;

/** LabeledExtract(salt, label, ikm) = Extract(salt, "HPKE-v1" || suite_id || label || ikm) (section 4). */
function labeledExtract(primitives: SymmetricCrypto, suiteId: Uint8Array, salt: Uint8Array, label: Uint8Array, ikm: Uint8Array): Uint8Array {
  const labeledIkm = concatBytes(HPKE_VERSION, suiteId, label, ikm);
  try {
    return hkdfExtract(primitives, salt, labeledIkm);
  } finally {
    labeledIkm.fill(0);
  }
}

/** LabeledExpand(prk, label, info, L) = Expand(prk, I2OSP(L, 2) || "HPKE-v1" || suite_id || label || info, L) (section 4). */
function labeledExpand(primitives: SymmetricCrypto, suiteId: Uint8Array, prk: Uint8Array, label: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  return hkdfExpand(primitives, prk, concatBytes(new Uint8Array([length >> 8, length & 0xff]), HPKE_VERSION, suiteId, label, info), length);
}

/** The KEM's shared secret, ExtractAndExpand(dh, enc || pkRm) (section 4.1); `dh` is wiped here. */
function kemSharedSecret(primitives: SymmetricCrypto, dh: Uint8Array, enc: Uint8Array, recipientPublic: Uint8Array): Uint8Array {
  let eaePrk: Uint8Array | undefined;
  try {
    eaePrk = labeledExtract(primitives, X25519_KEM_SUITE_ID, EMPTY, LABEL_EAE_PRK, dh);
    return labeledExpand(primitives, X25519_KEM_SUITE_ID, eaePrk, LABEL_SHARED_SECRET, concatBytes(enc, recipientPublic), X25519_BYTES);
  } finally {
    wipe(dh);
    eaePrk?.fill(0);
  }
}

/**
 * key_schedule_context of Base mode for `info`: mode || psk_id_hash || info_hash (section 5.1). It
 * depends on nothing secret or per message (Base mode's psk and psk_id are empty), so it is
 * computed once per info array, and callers pass a constant one.
 */
const keyScheduleContexts = new WeakMap<Uint8Array, Uint8Array>();

function keyScheduleContext(primitives: SymmetricCrypto, info: Uint8Array): Uint8Array {
  let context = keyScheduleContexts.get(info);
  if (context === undefined) {
    const pskIdHash = labeledExtract(primitives, HPKE_SUITE_ID, EMPTY, LABEL_PSK_ID_HASH, EMPTY);
    const infoHash = labeledExtract(primitives, HPKE_SUITE_ID, EMPTY, LABEL_INFO_HASH, info);
    context = concatBytes(new Uint8Array([MODE_BASE]), pskIdHash, infoHash);
    keyScheduleContexts.set(info, context);
  }
  return context;
}

/**
 * The AEAD key and base nonce of a Base-mode context (section 5.1); `sharedSecret` is wiped here.
 * Its exporter secret is never used, so never made.
 */
function baseKeySchedule(primitives: SymmetricCrypto, sharedSecret: Uint8Array, info: Uint8Array): { key: Uint8Array; nonce: Uint8Array } {
  let secret: Uint8Array | undefined;
  try {
    const context = keyScheduleContext(primitives, info);
    secret = labeledExtract(primitives, HPKE_SUITE_ID, sharedSecret, LABEL_SECRET, EMPTY);
    return {
      key: labeledExpand(primitives, HPKE_SUITE_ID, secret, LABEL_KEY, context, CHACHA20_POLY1305_KEY_BYTES),
      nonce: labeledExpand(primitives, HPKE_SUITE_ID, secret, LABEL_BASE_NONCE, context, CHACHA20_POLY1305_NONCE_BYTES),
    };
  } finally {
    wipe(sharedSecret);
    secret?.fill(0);
  }
}

/** DeriveKeyPair(ikm)'s secret for X25519 (section 7.1.3): the vectors' fixed ephemeral keys. */
function deriveX25519Secret(primitives: SymmetricCrypto, ikm: Uint8Array): Uint8Array {
  const dkpPrk = labeledExtract(primitives, X25519_KEM_SUITE_ID, EMPTY, LABEL_DKP_PRK, ikm);
  try {
    return labeledExpand(primitives, X25519_KEM_SUITE_ID, dkpPrk, LABEL_SK, EMPTY, X25519_BYTES);
  } finally {
    dkpPrk.fill(0);
  }
}

/** A sender's Base-mode context (SetupBaseS) for the one Seal, at sequence number 0, that each message is. */
export interface BaseSender {
  /** The encapsulated ephemeral public key. */
  readonly enc: Uint8Array;
  /** Seals the context's one message; a second call throws (it would repeat the nonce). */
  seal(plaintext: Uint8Array, aad: Uint8Array): Uint8Array;
}

/**
 * SetupBaseS(pkR, info) (section 5.1.1), with a fresh ephemeral key from the installed CSPRNG, or
 * DeriveKeyPair(`ephemeralIkm`) for the vectors. Throws when `recipientPublic` is not a usable
 * X25519 public key (not 32 bytes, or a low-order point: an all-zero Diffie-Hellman).
 */
export function setupBaseSender(recipientPublic: Uint8Array, info: Uint8Array, ephemeralIkm?: Uint8Array): BaseSender {
  const installedCurves = curves();
  const primitives = installedOrNoble();
  const ephemeralSecret = ephemeralIkm === undefined ? installedCurves.x25519RandomSecret() : deriveX25519Secret(primitives, ephemeralIkm);
  let enc: Uint8Array;
  let sharedSecret: Uint8Array;
  try {
    enc = installedCurves.x25519PublicKey(ephemeralSecret);
    sharedSecret = kemSharedSecret(primitives, installedCurves.x25519SharedSecret(ephemeralSecret, recipientPublic), enc, recipientPublic);
  } finally {
    wipe(ephemeralSecret);
  }
  const schedule = baseKeySchedule(primitives, sharedSecret, info);
  let key: Uint8Array | undefined = schedule.key;
  return {
    enc,
    seal: (plaintext, aad) => {
      const sealingKey = key;
      if (sealingKey === undefined) throw new Error('this HPKE context sealed its one message already');
      key = undefined;
      try {
        return primitives.chacha20Poly1305Seal(sealingKey, schedule.nonce, plaintext, aad);
      } finally {
        sealingKey.fill(0);
      }
    },
  };
}

/**
 * OpenBase(enc, skR, info, aad, ct) of a context's one message (SetupBaseR, then Open at sequence
 * number 0, section 5.1.1). Throws when `enc` is not a usable X25519 public key or the AEAD's tag
 * does not verify (sealed to another key, under another info, with other associated data, or altered).
 */
export function openBase(enc: Uint8Array, recipientSecret: Uint8Array, info: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array {
  const installedCurves = curves();
  const primitives = installedOrNoble();
  const recipientPublic = installedCurves.x25519PublicKey(recipientSecret);
  const sharedSecret = kemSharedSecret(primitives, installedCurves.x25519SharedSecret(recipientSecret, enc), enc, recipientPublic);
  const { key, nonce } = baseKeySchedule(primitives, sharedSecret, info);
  try {
    return primitives.chacha20Poly1305Open(key, nonce, sealed, aad);
  } finally {
    key.fill(0);
  }
}
