// A pairing's two stored records (PROTOCOL.md section 4: "resumable from persisted state after
// a restart"): `SessionRecord`, public and safe for workspace state, and `SessionSecrets` (seed,
// token, code), vault only. Each is checked field by field when read back, since a file or a
// workspace state may have been edited or written by another version; anything else is dropped
// instead of resumed. The state machine that writes them is in session.ts.

import { ERROR_CODES, type ErrorCode } from './errors.js';
import { parseCode } from './codePhrase.js';
import { PAIR_FIELDS, type PairField, type Role } from './ports.js';
import { MAX_RELAY_URL_CHARS } from './untrusted.js';
import { FINGERPRINT_PATTERN, MAX_ABORT_REASON_CHARS, PAIR_ID_PATTERN, SESSION_STATES, SESSION_TTL_MS, type SessionState } from './vocabulary.js';

/**
 * A relay's pair-slot token, or a slot id or send token in a peer's bootstrap, as a client
 * accepts it from any relay (this project's relays issue lowercase hex).
 */
export const SLOT_TOKEN = /^[A-Za-z0-9_-]{1,128}$/;

export interface PeerSummary {
  handle: string;
  fingerprint: string;
  relayUrl: string;
}

/** Everything a session needs to resume that is not secret: safe for workspace state. */
export interface SessionRecord {
  v: 1;
  pairId: string;
  role: Role;
  relayUrl: string;
  nameplate: string;
  openedAt: number;
  expiresAt: number;
  state: SessionState;
  /** Which of our own fields the relay has accepted; re-sending is harmless (same value, 204). */
  sent: Record<PairField, boolean>;
  /** The highest slot version seen, plus our own writes since, so long polls wait only for news. */
  relayVersion: number;
  peerCommit?: string;
  /** The peer's SPAKE2 message (base64); public, and with the seed it re-derives the key. */
  peerPake?: string;
  peer?: PeerSummary;
  abort?: { code: ErrorCode; reason: string };
  endedAt?: number;
}

/** The secret half: vault only, deleted as soon as the session ends. */
export interface SessionSecrets {
  seed: string;
  token: string;
  code: string;
  /** Our sealed bootstrap, kept so a resumed finalize re-sends the same bytes. */
  sealedBootstrap?: string;
}

function isHttpUrl(text: string): boolean {
  if (text.length > MAX_RELAY_URL_CHARS) return false;
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

const HEX_32_BYTES = /^[0-9a-f]{64}$/;
const BASE64_TEXT = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * A stored session record checked field by field (as trust.ts checks pinned peers): the shape,
 * every type, the states and codes from their closed sets, and the pair id it is stored under.
 * Undefined for anything else, which a restore drops instead of resuming.
 */
export function parseSessionRecord(value: unknown, pairId: string): SessionRecord | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const r = value as Record<string, unknown>;
  const known = new Set(['v', 'pairId', 'role', 'relayUrl', 'nameplate', 'openedAt', 'expiresAt', 'state', 'sent', 'relayVersion', 'peerCommit', 'peerPake', 'peer', 'abort', 'endedAt']);
  if (Object.keys(r).some((key) => !known.has(key))) return undefined;
  const isTime = (field: unknown): field is number => typeof field === 'number' && Number.isSafeInteger(field) && field >= 0;
  if (r['v'] !== 1 || r['pairId'] !== pairId || !PAIR_ID_PATTERN.test(pairId)) return undefined;
  if (r['role'] !== 'host' && r['role'] !== 'guest') return undefined;
  if (typeof r['relayUrl'] !== 'string' || !isHttpUrl(r['relayUrl'])) return undefined;
  if (typeof r['nameplate'] !== 'string' || !/^[1-9][0-9]{0,15}$/.test(r['nameplate'])) return undefined;
  if (!isTime(r['openedAt']) || !isTime(r['expiresAt']) || !isTime(r['relayVersion'])) return undefined;
  if (r['expiresAt'] > r['openedAt'] + SESSION_TTL_MS) return undefined;
  if (!SESSION_STATES.includes(r['state'] as SessionState)) return undefined;
  const sent = r['sent'];
  if (typeof sent !== 'object' || sent === null || Array.isArray(sent)) return undefined;
  const sentFields = sent as Record<string, unknown>;
  if (Object.keys(sentFields).sort().join() !== [...PAIR_FIELDS].sort().join() || PAIR_FIELDS.some((field) => typeof sentFields[field] !== 'boolean')) return undefined;
  if (r['peerCommit'] !== undefined && (typeof r['peerCommit'] !== 'string' || !HEX_32_BYTES.test(r['peerCommit']))) return undefined;
  if (r['peerPake'] !== undefined && (typeof r['peerPake'] !== 'string' || r['peerPake'].length !== 44 || !BASE64_TEXT.test(r['peerPake']))) return undefined;
  // Past the key exchange the peer's SPAKE2 message is what re-derives the key.
  if ((r['state'] === 'sas_ready' || r['state'] === 'confirmed') && r['peerPake'] === undefined) return undefined;
  const peer = r['peer'];
  if (peer !== undefined) {
    if (typeof peer !== 'object' || peer === null) return undefined;
    const { handle, fingerprint, relayUrl } = peer as Record<string, unknown>;
    if (typeof handle !== 'string' || typeof fingerprint !== 'string' || !FINGERPRINT_PATTERN.test(fingerprint) || typeof relayUrl !== 'string' || !isHttpUrl(relayUrl)) return undefined;
  }
  const abort = r['abort'];
  if (abort !== undefined) {
    if (typeof abort !== 'object' || abort === null) return undefined;
    const { code, reason } = abort as Record<string, unknown>;
    if (!ERROR_CODES.includes(code as ErrorCode) || typeof reason !== 'string' || reason.length > MAX_ABORT_REASON_CHARS * 2) return undefined;
  }
  if (r['endedAt'] !== undefined && !isTime(r['endedAt'])) return undefined;
  return structuredClone(value) as SessionRecord;
}

/** A stored session's secrets, checked field by field; undefined for anything else. */
export function parseSessionSecrets(value: unknown): SessionSecrets | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const { seed, token, code, sealedBootstrap, ...rest } = value as Record<string, unknown>;
  if (Object.keys(rest).length > 0) return undefined;
  if (typeof seed !== 'string' || !HEX_32_BYTES.test(seed)) return undefined;
  if (typeof token !== 'string' || !SLOT_TOKEN.test(token)) return undefined;
  if (typeof code !== 'string') return undefined;
  try {
    if (parseCode(code).code !== code) return undefined;
  } catch {
    return undefined;
  }
  if (sealedBootstrap !== undefined && (typeof sealedBootstrap !== 'string' || !BASE64_TEXT.test(sealedBootstrap))) return undefined;
  return { seed, token, code, ...(typeof sealedBootstrap === 'string' && { sealedBootstrap }) };
}

/** Fresh bookkeeping for a just-opened session. */
export function newRecord(fields: { pairId: string; role: Role; relayUrl: string; nameplate: string; openedAt: number; relayExpiresAt: number }): SessionRecord {
  return {
    v: 1,
    pairId: fields.pairId,
    role: fields.role,
    relayUrl: fields.relayUrl,
    nameplate: fields.nameplate,
    openedAt: fields.openedAt,
    expiresAt: Math.min(fields.openedAt + SESSION_TTL_MS, fields.relayExpiresAt),
    state: 'opened',
    sent: { commit: false, pake: false, confirm: false, bootstrap: false, abort: false, done: false },
    relayVersion: 0,
  };
}
