// The key schedule of PROTOCOL.md section 4: every value derived from the SPAKE2 key K has its
// own purpose string, and all of them are salted with the code hash, so a key is never used
// for two things and two pairings never share a derived value.
//
//   entropy   = HKDF(seed, "", "agent-pair/v1 spake2 entropy", 64)
//   commit    = hex(H("agent-pair/v1 commit" || pake_msg))
//   kc        = HKDF(K, code_hash, "agent-pair/v1 confirm", 32)
//   confirm   = HMAC(kc, "agent-pair/v1 confirm " + role)
//   sas       = uint64_be(HKDF(K, code_hash, "agent-pair/v1 sas", 8)) mod 10^6
//   kb(role)  = HKDF(K, code_hash, "agent-pair/v1 bootstrap " + role, 32)
//   bootstrap = base64(nonce || ChaCha20-Poly1305(kb(sender), nonce, ad, payload)),
//               ad = "agent-pair/v1 bootstrap " + sender + " " + pair_id

import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, constantTimeEqual, fromBase64, requireBytes, toBase64, toHex, utf8, wipe } from './bytes.js';
import { PairError, badInput } from './errors.js';
import type { Role } from './ports.js';

export const SEED_LENGTH = 32;
export const KEY_LENGTH = 32;
export const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;
/** The relay's limit on a decoded `bootstrap` field: nonce, ciphertext and tag together. */
export const MAX_BOOTSTRAP_BYTES = 16 * 1024;
/** The largest payload whose sealed form still fits `MAX_BOOTSTRAP_BYTES`. */
export const MAX_BOOTSTRAP_PAYLOAD_BYTES = MAX_BOOTSTRAP_BYTES - NONCE_LENGTH - TAG_LENGTH;
const SAS_MODULUS = 1_000_000n;

const ENTROPY_INFO = utf8('agent-pair/v1 spake2 entropy');
const COMMIT_TAG = utf8('agent-pair/v1 commit');
const CONFIRM_INFO = utf8('agent-pair/v1 confirm');
const SAS_INFO = utf8('agent-pair/v1 sas');

function requireRole(role: unknown, what: string): Role {
  if (role !== 'host' && role !== 'guest') throw badInput(what, 'is not a role', '"host" or "guest"');
  return role;
}

/** The code hash as HKDF salt; checked so a raw code or a typo never silently becomes the salt. */
function codeHashSalt(codeHash: string): Uint8Array {
  if (typeof codeHash !== 'string' || !/^[0-9a-f]{64}$/.test(codeHash)) {
    throw badInput('codeHash', 'is not a code hash', '64 lowercase hex characters from codeHash()');
  }
  return utf8(codeHash);
}

function derive(key: Uint8Array, codeHash: string, info: Uint8Array, length: number): Uint8Array {
  requireBytes(key, 'key', KEY_LENGTH);
  return hkdf(sha256, key, codeHashSalt(codeHash), info, length);
}

/** The 64 entropy bytes SPAKE2 draws its scalar from, from the persisted 32-byte session seed. */
export function spake2Entropy(seed: Uint8Array): Uint8Array {
  requireBytes(seed, 'seed', SEED_LENGTH);
  return hkdf(sha256, seed, undefined, ENTROPY_INFO, 64);
}

/**
 * What each side publishes before revealing its SPAKE2 message (commit before reveal).
 * `digest` is SHA-256: JavaScript's by default, node:crypto's in the relay, which checks one
 * per pake written (5 µs each in JavaScript).
 */
export function pakeCommitment(pakeMsg: Uint8Array, digest: (bytes: Uint8Array) => Uint8Array = sha256): string {
  requireBytes(pakeMsg, 'pakeMsg');
  return toHex(digest(concatBytes(COMMIT_TAG, pakeMsg)));
}

/** The key-confirmation MAC `role` sends. */
export function confirmMac(key: Uint8Array, codeHash: string, role: Role): Uint8Array {
  const label = utf8(`agent-pair/v1 confirm ${requireRole(role, 'role')}`);
  const confirmKey = derive(key, codeHash, CONFIRM_INFO, 32);
  const mac = hmac(sha256, confirmKey, label);
  wipe(confirmKey);
  return mac;
}

/** Checks the peer's confirmation MAC in constant time; false means the two codes differ. */
export function verifyPeerConfirm(key: Uint8Array, codeHash: string, peerRole: Role, mac: Uint8Array): boolean {
  requireBytes(mac, 'mac');
  return constantTimeEqual(confirmMac(key, codeHash, peerRole), mac);
}

/** The short authentication string: exactly six digits, zero-padded. */
export function deriveSas(key: Uint8Array, codeHash: string): string {
  const bytes = derive(key, codeHash, SAS_INFO, 8);
  const value = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, false);
  wipe(bytes);
  return (value % SAS_MODULUS).toString().padStart(6, '0');
}

/** `123456` -> `123-456`, the form shown to people. */
export function formatSas(sixDigits: string): string {
  if (typeof sixDigits !== 'string' || !/^[0-9]{6}$/.test(sixDigits)) throw badInput('sas', 'is not six digits', 'six digits like 594376');
  return `${sixDigits.slice(0, 3)}-${sixDigits.slice(3)}`;
}

/**
 * Whether what the person typed is this SAS: non-digits (dashes, spaces) are stripped, exactly
 * six digits must remain, and they are compared in constant time.
 */
export function typedSasMatches(sas: string, typed: string): boolean {
  if (typeof sas !== 'string' || !/^[0-9]{6}$/.test(sas)) throw badInput('sas', 'is not six digits', 'six digits like 594376');
  if (typeof typed !== 'string') return false;
  const digits = typed.replace(/[^0-9]/g, '');
  if (digits.length !== 6) return false;
  return constantTimeEqual(utf8(digits), utf8(sas));
}

/** kb(role): the key `role` seals its bootstrap payload under. */
export function bootstrapKey(key: Uint8Array, codeHash: string, role: Role): Uint8Array {
  return derive(key, codeHash, utf8(`agent-pair/v1 bootstrap ${requireRole(role, 'role')}`), KEY_LENGTH);
}

function bootstrapAssociatedData(senderRole: Role, pairId: string): Uint8Array {
  if (typeof pairId !== 'string' || pairId === '') throw badInput('pairId', 'is empty', 'the pair id the relay assigned');
  return utf8(`agent-pair/v1 bootstrap ${senderRole} ${pairId}`);
}

/** Seals the sender's bootstrap payload: base64(nonce || ciphertext || tag). */
export function sealBootstrap(key: Uint8Array, codeHash: string, senderRole: Role, pairId: string, payload: Uint8Array, nonce: Uint8Array): string {
  requireBytes(payload, 'payload');
  requireBytes(nonce, 'nonce', NONCE_LENGTH);
  if (payload.length > MAX_BOOTSTRAP_PAYLOAD_BYTES) {
    throw badInput('payload', `has ${payload.length} bytes`, `at most ${MAX_BOOTSTRAP_PAYLOAD_BYTES} bytes, so the sealed form fits the relay's ${MAX_BOOTSTRAP_BYTES}`);
  }
  const sealingKey = bootstrapKey(key, codeHash, senderRole);
  const sealed = chacha20poly1305(sealingKey, nonce, bootstrapAssociatedData(senderRole, pairId)).encrypt(payload);
  wipe(sealingKey);
  return toBase64(concatBytes(nonce, sealed));
}

/**
 * Opens the bootstrap `senderRole` sealed. Anything that does not open (tampered bytes, our
 * own bootstrap reflected back, a different key or pair) or has the wrong size is a
 * `protocol_violation`.
 */
export function openBootstrap(key: Uint8Array, codeHash: string, senderRole: Role, pairId: string, sealed: string): Uint8Array {
  requireRole(senderRole, 'senderRole');
  const associatedData = bootstrapAssociatedData(senderRole, pairId);
  if (typeof sealed !== 'string') throw new PairError('protocol_violation', "the peer's bootstrap is not text");
  // Refuse oversized input before decoding it: 4 base64 characters carry 3 bytes.
  if (sealed.length > Math.ceil(MAX_BOOTSTRAP_BYTES / 3) * 4) {
    throw new PairError('protocol_violation', `the peer's bootstrap is larger than ${MAX_BOOTSTRAP_BYTES} bytes`);
  }
  let bytes: Uint8Array;
  try {
    bytes = fromBase64(sealed, 'bootstrap');
  } catch {
    throw new PairError('protocol_violation', "the peer's bootstrap is not standard padded base64");
  }
  if (bytes.length > MAX_BOOTSTRAP_BYTES) {
    throw new PairError('protocol_violation', `the peer's bootstrap is larger than ${MAX_BOOTSTRAP_BYTES} bytes`);
  }
  if (bytes.length < NONCE_LENGTH + TAG_LENGTH) {
    throw new PairError('protocol_violation', "the peer's bootstrap is too short to hold a nonce and a tag");
  }
  const openingKey = bootstrapKey(key, codeHash, senderRole);
  try {
    return chacha20poly1305(openingKey, bytes.subarray(0, NONCE_LENGTH), associatedData).decrypt(bytes.subarray(NONCE_LENGTH));
  } catch {
    throw new PairError('protocol_violation', "the peer's bootstrap does not open under the pairing key (tampered, reflected or from another pairing)");
  } finally {
    wipe(openingKey);
  }
}
