// Symmetric SPAKE2 on Ed25519, byte-compatible with python-spake2 0.8 (`SPAKE2_Symmetric`,
// `ParamsEd25519`) and RustCrypto `spake2` (PROTOCOL.md section 4, step 2):
//
//   pw  = int_be(HKDF(password, salt="", info="SPAKE2 pw", 48)) mod L
//   x   = int_be(entropy64) mod L
//   msg = 0x53 || encode(x*B + pw*S)
//   K   = encode(x*(Y - pw*S))                      (Y: the peer's point; no cofactor)
//   key = H(H(password) || H(idSymmetric) || min(X, Y) || max(X, Y) || K)
//
// where S is the "arbitrary element" derived from the seed "symmetric" and X, Y are the two
// 32-byte point encodings without the side byte, ordered bytewise.

import { ed25519 } from '@noble/curves/ed25519.js';
import type { EdwardsPoint } from '@noble/curves/abstract/edwards.js';
import { bytesToNumberBE, bytesToNumberLE } from '@noble/curves/utils.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, constantTimeEqual, fromHex, requireBytes, utf8, wipe } from './bytes.js';
import { PairError } from './errors.js';

/**
 * noble's Ed25519 points, read when an exchange needs them rather than as this module loads: in
 * the CLI the first read builds noble's curves (esbuild.mjs, nobleCurvesAtFirstUse), and building
 * them probes for random bytes, which loads Node's Web Crypto. `agent-pair mcp` and `sessions`
 * load this module at every start and most of their starts pair nothing.
 */
function edwards(): typeof ed25519.Point {
  return ed25519.Point;
}
/** The prime order of the Ed25519 base point's subgroup. */
function subgroupOrder(): bigint {
  return edwards().Fn.ORDER;
}
/** The field prime 2^255 - 19. */
function fieldPrime(): bigint {
  return edwards().Fp.ORDER;
}

/** The side byte python-spake2 prefixes to symmetric messages (`b"S"`). */
export const SIDE_SYMMETRIC = 0x53;
export const MESSAGE_LENGTH = 33;
export const ENTROPY_LENGTH = 64;

const PASSWORD_SCALAR_INFO = utf8('SPAKE2 pw');

/**
 * S, python-spake2's "arbitrary element" of the seed "symmetric" (PROTOCOL.md section 4: HKDF of
 * the seed to a y, the first y on the curve, times the cofactor). A constant rather than derived
 * at run time: the derivation hashes and decodes for about as long as the exchange itself, and
 * only ever gives this point. test/core/spake2.test.ts derives it again and checks it against
 * this constant and the vectors' S_point_hex.
 */
export const SYMMETRIC_ELEMENT_HEX = '6f00dae87c1be1a73b5922ef431cd8f57879569c222d22b1cd71e8546ab8e6f1';

let symmetricS: EdwardsPoint | undefined;

/**
 * S as a point, decoded on first use (fromBytes checks it is on the curve). No window table: a
 * process multiplies S once per exchange, and noble's fixed-window multiply of an untabled point
 * costs less than building a table for that one use.
 */
export function symmetricElement(): EdwardsPoint {
  symmetricS ??= edwards().fromBytes(fromHex(SYMMETRIC_ELEMENT_HEX, 'S'));
  return symmetricS;
}

let untabledBase: EdwardsPoint | undefined;

/**
 * The base point B as a second object, equal to Point.BASE. noble gives Point.BASE itself a
 * window table (1408 points, and a blinded one of 2080 more) built at its first multiply: about
 * 80 ms, paid once per process, for the one x*B a joiner computes. Any other point, this one
 * included, takes noble's fixed-window constant-time multiply without a cached table (a few ms).
 */
function baseForOneMultiply(): EdwardsPoint {
  untabledBase ??= edwards().fromAffine(edwards().BASE.toAffine());
  return untabledBase;
}

/** python-spake2's `password_to_scalar` for Ed25519. */
export function passwordToScalar(password: Uint8Array): bigint {
  requireBytes(password, 'password');
  return bytesToNumberBE(hkdf(sha256, password, undefined, PASSWORD_SCALAR_INFO, 48)) % subgroupOrder();
}

/** The ephemeral scalar python-spake2 draws from 64 entropy bytes. */
export function scalarFromEntropy(entropy: Uint8Array): bigint {
  requireBytes(entropy, 'entropy', ENTROPY_LENGTH);
  return bytesToNumberBE(entropy) % subgroupOrder();
}

/** A started exchange: send `message`, then feed the peer's message to `finish` exactly once. */
export interface Spake2Pending {
  readonly message: Uint8Array;
  finish(peerMessage: Uint8Array): Uint8Array;
}

function violation(problem: string): PairError {
  return new PairError('protocol_violation', `the peer's SPAKE2 message ${problem}`);
}

/** Decodes and checks the peer's message; every failure is a `protocol_violation`. */
function peerElement(peerMessage: Uint8Array, ownMessage: Uint8Array): EdwardsPoint {
  if (!(peerMessage instanceof Uint8Array)) throw violation('is not a byte array');
  if (peerMessage.length !== MESSAGE_LENGTH) throw violation(`has ${peerMessage.length} bytes instead of ${MESSAGE_LENGTH}`);
  if (peerMessage[0] !== SIDE_SYMMETRIC) throw violation('does not start with the symmetric side byte 0x53');
  if (constantTimeEqual(peerMessage, ownMessage)) throw violation('is our own message reflected back');
  const encoding = peerMessage.subarray(1);
  // y occupies the low 255 bits; y >= p would be a second spelling of the point y - p.
  if (bytesToNumberLE(encoding) % 2n ** 255n >= fieldPrime()) throw violation('is not a canonical point encoding (y >= p)');
  let element: EdwardsPoint;
  try {
    // Without zip215, decoding follows RFC 8032, which also refuses x = 0 with the sign bit set.
    element = edwards().fromBytes(encoding);
  } catch {
    throw violation('is not a canonical Ed25519 point encoding');
  }
  if (element.is0()) throw violation('is the identity point');
  if (!element.isTorsionFree()) throw violation('is not in the prime-order subgroup');
  return element;
}

/**
 * Starts symmetric SPAKE2. `entropy` (64 bytes) fixes the ephemeral scalar, so a session
 * restored from its persisted seed produces the same message and key without new randomness.
 */
export function spake2Start(password: Uint8Array, idSymmetric: Uint8Array, entropy: Uint8Array): Spake2Pending {
  requireBytes(password, 'password');
  requireBytes(idSymmetric, 'idSymmetric');
  // Scalars of 0 (probability about 2^-252) make noble's multiply throw rather than leak pw*S.
  // pw*S is computed once: the message adds it, finish subtracts it again. Both scalars are
  // secret, so both products use noble's constant-time `multiply`, never `multiplyUnsafe`.
  let blinding: EdwardsPoint | undefined = symmetricElement().multiply(passwordToScalar(password));
  let xScalar: bigint | undefined = scalarFromEntropy(entropy);
  const ownElement = baseForOneMultiply().multiply(xScalar).add(blinding);
  const ownEncoding = ownElement.toBytes();
  const message = concatBytes(Uint8Array.of(SIDE_SYMMETRIC), ownEncoding);
  const passwordDigest = sha256(password);
  const idDigest = sha256(idSymmetric);

  return {
    message: message.slice(),
    finish(peerMessage: Uint8Array): Uint8Array {
      if (blinding === undefined || xScalar === undefined) {
        throw new PairError('invalid_state', 'This SPAKE2 exchange has already been finished; start a new one.');
      }
      const pwS = blinding;
      const x = xScalar;
      // JavaScript cannot overwrite a bigint or a point in place; dropping the only references
      // is the closest to wiping, and it also makes any later call fail above.
      blinding = undefined;
      xScalar = undefined;
      try {
        const sharedEncoding = unblindedShared(peerElement(peerMessage, message), pwS, x);
        const transcript = symmetricTranscript(passwordDigest, idDigest, ownEncoding, peerMessage.subarray(1), sharedEncoding);
        const key = sha256(transcript);
        wipe(sharedEncoding, transcript);
        return key;
      } finally {
        // H(password) of a 30-bit secret is as good as the secret to anyone who can grind it.
        wipe(passwordDigest);
      }
    },
  };
}

/** K = encode(x * (Y - pw*S)): the shared group element, before hashing. */
export function sharedElement(peer: EdwardsPoint, pwScalar: bigint, xScalar: bigint): Uint8Array {
  return unblindedShared(peer, symmetricElement().multiply(pwScalar), xScalar);
}

/** K from pw*S already computed (by spake2Start, for the message). */
function unblindedShared(peer: EdwardsPoint, blinding: EdwardsPoint, xScalar: bigint): Uint8Array {
  return peer.subtract(blinding).multiply(xScalar).toBytes();
}

/**
 * What the key hashes: H(password) || H(idSymmetric) || the two point encodings (without side
 * bytes) in bytewise order || K. Symmetric, so both sides build the same bytes.
 */
export function symmetricTranscript(passwordDigest: Uint8Array, idDigest: Uint8Array, ownEncoding: Uint8Array, peerEncoding: Uint8Array, sharedEncoding: Uint8Array): Uint8Array {
  const [first, second] = compareBytes(ownEncoding, peerEncoding) <= 0 ? [ownEncoding, peerEncoding] : [peerEncoding, ownEncoding];
  return concatBytes(passwordDigest, idDigest, first, second, sharedEncoding);
}

/** Bytewise lexicographic order, as Python compares `bytes`. */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const difference = (a[i] ?? 0) - (b[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return a.length - b.length;
}
