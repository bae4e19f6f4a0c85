// Messages between pinned peers (PROTOCOL.md section 6.1 and 6.2): the X25519 keys behind the
// identity keys, the HPKE Auth-mode envelope, and every check a received message must pass.
// Nothing here touches storage or the relay: mailbox.ts remembers, inbox.ts moves bytes.
//
// HPKE is the kept @hpke/* implementation (RFC 9180), never written out here: this module only
// picks the suite (built in hpke.ts), the info string and the associated data, and checks the
// shapes around it.

import type { CipherSuite } from '@hpke/core';
import { ed25519 } from '@noble/curves/ed25519.js';
import { fromBase64, fromUtf8, requireBytes, toBase64, toHex, utf8 } from './bytes.js';
import { PairError } from './errors.js';
import { canonicalJson, isRfc3339Utc } from './identity.js';
import { JsonTooDeep, MAX_JSON_NESTING, checkJsonNesting, isRelayUrlShape, jsonNesting } from './untrusted.js';
import { MAX_ENVELOPE_BYTES, MAX_TEXT_BYTES, MESSAGE_ID_PATTERN, FINGERPRINT_PATTERN, SLOT_ID_PATTERN, TOKEN_PATTERN } from './vocabulary.js';

export const MESSAGE_INFO = 'agent-pair/v1 message';
/** A receipt names at most this many message ids. */
export const MAX_RECEIPT_IDS = 100;
/** A message older than this (by its `sent_at`) is dropped as stale. */
export const MAX_MESSAGE_AGE_MS = 7 * 24 * 60 * 60 * 1000;
/** A message dated further ahead of this side's clock is dropped. */
export const MAX_CLOCK_AHEAD_MS = 10 * 60 * 1000;

/** RFC 3339 UTC, whole seconds (section 6.2 `sent_at`). */
const SENT_AT_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
/** A data body's value nests at most this deep: the message and the body are two more levels. */
export const MAX_DATA_NESTING = MAX_JSON_NESTING - 2;
/** An envelope is one object of strings and a number: nothing in it nests. */
const ENVELOPE_NESTING = 1;
const ENC_LENGTH = 32;
/** The Poly1305 tag: a ciphertext is never shorter. */
const TAG_LENGTH = 16;

// ---------------------------------------------------------------------------------------------
// Types.

export interface TextBody {
  type: 'text';
  text: string;
  reply_to?: string;
}
export interface DataBody {
  type: 'data';
  data: unknown;
  reply_to?: string;
}
export interface ReceiptBody {
  type: 'receipt';
  ids: string[];
}
export interface InboxBody {
  type: 'inbox';
  relay_url: string;
  slot_id: string;
  send_token: string;
}
/** A body of a type this version does not know: kept as it came, shown as unsupported. */
export interface UnsupportedBody {
  type: string;
  [field: string]: unknown;
}
export type KnownBody = TextBody | DataBody | ReceiptBody | InboxBody;
export type Body = KnownBody | UnsupportedBody;

export interface Message {
  /** 2 for a message that came or went in a section 7 envelope (its `keys` and `sig` are not kept). */
  v: 1 | 2;
  id: string;
  from: string;
  to: string;
  n: number;
  sent_at: string;
  body: Body;
}

const KNOWN_TYPES = new Set(['text', 'data', 'receipt', 'inbox']);

export function isKnownBody(body: Body): body is KnownBody {
  return KNOWN_TYPES.has(body.type);
}

/** Why a received envelope was dropped: logged and counted, never shown as coming from the peer. */
export type DropReason =
  | 'bad_envelope' // not base64 of {"v":1,"enc","ct"}, or over 128 KiB
  | 'unknown_grant' // the relay reports a grant_id no pinned peer was given
  | 'open_failed' // HPKE AuthOpen with that peer's key failed: forged, altered or misrouted
  | 'bad_message' // the plaintext is not exactly the message of section 6.2
  | 'wrong_sender' // `from` is not the peer the grant names, or `to` is not this side
  | 'stale' // sent_at more than 7 days ago
  | 'from_future' // sent_at more than 10 minutes ahead of this clock
  | 'duplicate' // an id accepted before (a replay), or the id of a message this side sent
  | 'unprocessable' // storing, counting or showing it failed: dropped so it cannot stop the pull
  // Section 7.4 (v2 envelopes):
  | 'unknown_key' // kid is no receive key this side gave that peer and still holds
  | 'bad_signature' // the Ed25519 signature does not verify with the peer's pinned key
  | 'downgrade'; // a section 6 envelope from a peer that already spoke v2

export class MessageRejected extends Error {
  override readonly name = 'MessageRejected';
  constructor(
    readonly reason: DropReason,
    detail: string,
  ) {
    super(detail);
  }
}

// ---------------------------------------------------------------------------------------------
// Keys (section 6.1).

/** `clamp(SHA-512(seed)[0:32])`: the X25519 secret behind an Ed25519 private seed. */
export function x25519SecretFromSeed(ed25519Seed: Uint8Array): Uint8Array {
  return ed25519.utils.toMontgomerySecret(requireBytes(ed25519Seed, 'ed25519Seed', 32));
}

/** The birational map of an Ed25519 public key to its X25519 u-coordinate. */
export function x25519PublicFromEd25519(ed25519Public: Uint8Array): Uint8Array {
  return ed25519.utils.toMontgomery(requireBytes(ed25519Public, 'ed25519Public', 32));
}

// ---------------------------------------------------------------------------------------------
// Envelope (section 6.2).

/** hpke.ts, once it was asked for. */
let hpkeModule: Promise<typeof import('./hpke.js')> | undefined;

/**
 * hpke.ts (the one HPKE suite of sections 6.2 and 7.3), imported at the first seal or open
 * instead of with this module. The import is kept: each `import()` of even a loaded module is a
 * trip through the module loader (under tsx's hooks, a message to their worker thread), which
 * cost about a millisecond per seal or open.
 */
export function loadHpke(): Promise<typeof import('./hpke.js')> {
  hpkeModule ??= import('./hpke.js');
  return hpkeModule;
}

/** @hpke's suite over the installed primitives: section 6.2's Auth mode. */
export async function hpkeSuite(): Promise<CipherSuite> {
  return (await loadHpke()).hpkeSuite();
}

const infoBytes = utf8(MESSAGE_INFO);

export interface SealRequest {
  /** This side's Ed25519 private seed. */
  senderSeed: Uint8Array;
  /** The recipient's Ed25519 public key, from its pinned card. */
  recipientPublic: Uint8Array;
  /** The recipient's inbox slot id: the associated data, so an envelope cannot be moved to another inbox. */
  recipientSlotId: string;
  plaintext: Uint8Array;
  /** Test vectors only: the ephemeral key pair is DeriveKeyPair(ikm). Real senders omit it. */
  ephemeralIkm?: Uint8Array;
}

/** HPKE AuthSeal; returns the envelope's canonical JSON `{"ct","enc","v":1}` as UTF-8 bytes. */
export async function sealEnvelope(request: SealRequest): Promise<Uint8Array> {
  if (!SLOT_ID_PATTERN.test(request.recipientSlotId)) throw new PairError('bad_input', 'recipientSlotId is not a slot id; expected 32 lowercase hex characters.');
  const suite = await hpkeSuite();
  const senderKey = await suite.kem.deserializePrivateKey(x25519SecretFromSeed(request.senderSeed));
  const recipientPublicKey = await suite.kem.deserializePublicKey(x25519PublicFromEd25519(request.recipientPublic));
  const params = { recipientPublicKey, senderKey, info: infoBytes, ...(request.ephemeralIkm && { ekm: request.ephemeralIkm }) };
  const { enc, ct } = await suite.seal(params, request.plaintext, utf8(request.recipientSlotId));
  const envelope = utf8(canonicalJson({ v: 1, enc: toBase64(new Uint8Array(enc)), ct: toBase64(new Uint8Array(ct)) }));
  if (envelope.length > MAX_ENVELOPE_BYTES) throw new PairError('too_large', `The sealed message is ${envelope.length} bytes; an envelope may have at most ${MAX_ENVELOPE_BYTES}. Send less at once.`);
  return envelope;
}

interface ParsedEnvelope {
  enc: Uint8Array;
  ct: Uint8Array;
}

/**
 * A stored envelope (either version) as JSON: its size and nesting bounded before JSON.parse
 * (an envelope is one flat object), `bad_envelope` otherwise.
 */
export function parseEnvelopeJson(bytes: Uint8Array): unknown {
  if (bytes.length > MAX_ENVELOPE_BYTES) throw new MessageRejected('bad_envelope', `envelope is ${bytes.length} bytes, over ${MAX_ENVELOPE_BYTES}`);
  try {
    const text = fromUtf8(bytes, 'envelope');
    checkJsonNesting(text, ENVELOPE_NESTING);
    return JSON.parse(text);
  } catch {
    throw new MessageRejected('bad_envelope', 'envelope is not UTF-8 JSON of one flat object');
  }
}

/** Checks the envelope is exactly `{"v":1,"enc","ct"}` with base64 fields of the right sizes. */
export function parseEnvelope(bytes: Uint8Array): ParsedEnvelope {
  const value = parseEnvelopeJson(bytes);
  if (!isPlainObject(value) || !hasExactly(value, ['v', 'enc', 'ct'], []) || value['v'] !== 1) {
    throw new MessageRejected('bad_envelope', 'envelope is not exactly {"v":1,"enc","ct"}');
  }
  try {
    const enc = fromBase64(value['enc'] as string, 'enc', ENC_LENGTH);
    const ct = fromBase64(value['ct'] as string, 'ct');
    if (ct.length < TAG_LENGTH) throw new Error('short');
    return { enc, ct };
  } catch {
    throw new MessageRejected('bad_envelope', 'envelope enc or ct is not base64 of the expected size');
  }
}

export interface OpenRequest {
  /** This side's Ed25519 private seed. */
  recipientSeed: Uint8Array;
  /** The Ed25519 public key of the peer the grant names (its pinned card). */
  senderPublic: Uint8Array;
  /** This side's inbox slot id the envelope was read from. */
  ownSlotId: string;
  envelope: Uint8Array;
}

/** HPKE AuthOpen of an envelope; `MessageRejected` (bad_envelope, open_failed) otherwise. */
export async function openEnvelope(request: OpenRequest): Promise<Uint8Array> {
  const { enc, ct } = parseEnvelope(request.envelope);
  try {
    const suite = await hpkeSuite();
    const recipientKey = await suite.kem.deserializePrivateKey(x25519SecretFromSeed(request.recipientSeed));
    const senderPublicKey = await suite.kem.deserializePublicKey(x25519PublicFromEd25519(request.senderPublic));
    const plaintext = await suite.open({ recipientKey, senderPublicKey, enc, info: infoBytes }, ct, utf8(request.ownSlotId));
    return new Uint8Array(plaintext);
  } catch {
    throw new MessageRejected('open_failed', 'HPKE AuthOpen failed: not sealed by this peer for this inbox, or altered');
  }
}

// ---------------------------------------------------------------------------------------------
// Message (section 6.2).

/** A fresh message id: 128 random bits as 32 hex characters. */
export function newMessageId(randomBytes: Uint8Array): string {
  return toHex(requireBytes(randomBytes, 'randomBytes', 16));
}

/**
 * Checks a body this side is about to send has a known type and valid fields (the same checks a
 * receiver applies), so nothing leaves that the peer would drop.
 */
export function checkOutgoingBody(body: unknown): KnownBody {
  if (isPlainObject(body) && body['type'] === 'text' && typeof body['text'] === 'string') {
    if (body['text'].trim() === '') throw new PairError('bad_input', 'The text is empty or only whitespace; write something for the other side to read.');
    const size = utf8(body['text']).length;
    if (size > MAX_TEXT_BYTES) throw new PairError('too_large', `The text is ${size} bytes of UTF-8; a message may carry at most ${MAX_TEXT_BYTES} (64 KiB).`);
  }
  if (isPlainObject(body) && body['type'] === 'data' && jsonNesting(body['data'], MAX_DATA_NESTING) > MAX_DATA_NESTING) {
    throw new PairError('bad_input', `message data nests deeper than ${MAX_DATA_NESTING} levels of arrays and objects; send flatter data.`);
  }
  let parsed: Body;
  try {
    parsed = parseBody(body);
  } catch (error) {
    throw new PairError('bad_input', `message body ${error instanceof Error ? error.message : 'is malformed'}.`);
  }
  if (!isKnownBody(parsed)) throw new PairError('bad_input', `message body type ${JSON.stringify(parsed.type)} is unknown; expected text, data, receipt or inbox.`);
  return parsed;
}

/** The canonical JSON of a message, as sealed. */
export function encodeMessage(message: Message): Uint8Array {
  return utf8(canonicalJson(message));
}

export interface ParseExpectations {
  /** The fingerprint of the peer the grant names. */
  from: string;
  /** This side's fingerprint. */
  to: string;
  /** This side's clock, milliseconds since the epoch. */
  now: number;
}

/**
 * An opened plaintext (sections 6.2 and 7.3) as JSON, its nesting bounded before JSON.parse:
 * everything after it (storing, canonical JSON, rendering) recurses.
 */
export function parsePlaintext(plaintext: Uint8Array): unknown {
  try {
    const text = fromUtf8(plaintext, 'message');
    checkJsonNesting(text, MAX_JSON_NESTING);
    return JSON.parse(text);
  } catch (error) {
    if (error instanceof JsonTooDeep) throw new MessageRejected('bad_message', `message ${error.message}`);
    throw new MessageRejected('bad_message', 'plaintext is not UTF-8 JSON');
  }
}

/** Every check of section 6.2 on an opened plaintext, except the id dedup (the mailbox's). */
export function parseMessage(plaintext: Uint8Array, expect: ParseExpectations): Message {
  const value = parsePlaintext(plaintext);
  if (!isPlainObject(value) || !hasExactly(value, ['v', 'id', 'from', 'to', 'n', 'sent_at', 'body'], [])) {
    throw new MessageRejected('bad_message', 'message does not have exactly the fields v, id, from, to, n, sent_at, body');
  }
  if (value['v'] !== 1) throw new MessageRejected('bad_message', 'message v is not 1');
  const fields = checkMessageFields(value);
  checkAddressed(fields, expect);
  checkSentAt(fields.sent_at, expect.now);
  return { v: 1, ...fields };
}

/** The fields sections 6.2 and 7.3 share, each checked for its format (`bad_message` otherwise). */
export function checkMessageFields(value: Record<string, unknown>): Omit<Message, 'v'> {
  const { id, from, to, n, sent_at: sentAt } = value;
  if (typeof id !== 'string' || !MESSAGE_ID_PATTERN.test(id)) throw new MessageRejected('bad_message', 'message id is not 32 lowercase hex characters');
  if (typeof from !== 'string' || !FINGERPRINT_PATTERN.test(from)) throw new MessageRejected('bad_message', 'message from is not a fingerprint');
  if (typeof to !== 'string' || !FINGERPRINT_PATTERN.test(to)) throw new MessageRejected('bad_message', 'message to is not a fingerprint');
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) throw new MessageRejected('bad_message', 'message n is not a positive integer');
  if (typeof sentAt !== 'string' || !SENT_AT_PATTERN.test(sentAt) || !isRfc3339Utc(sentAt)) {
    throw new MessageRejected('bad_message', 'message sent_at is not RFC 3339 UTC in whole seconds');
  }
  let body: Body;
  try {
    body = parseBody(value['body']);
  } catch (error) {
    throw new MessageRejected('bad_message', `message body ${error instanceof Error ? error.message : 'is malformed'}`);
  }
  return { id, from, to, n, sent_at: sentAt, body };
}

/** `from` must be the peer the grant names and `to` this side (`wrong_sender` otherwise). */
export function checkAddressed(message: { from: string; to: string }, expect: ParseExpectations): void {
  if (message.from !== expect.from) throw new MessageRejected('wrong_sender', `message claims to be from ${message.from}, but the grant belongs to ${expect.from}`);
  if (message.to !== expect.to) throw new MessageRejected('wrong_sender', `message is addressed to ${message.to}, not to this side (${expect.to})`);
}

/** `sent_at` at most 7 days old and at most 10 minutes ahead of `now` (`stale`, `from_future`). */
export function checkSentAt(sentAt: string, now: number): void {
  const sentMs = Date.parse(sentAt);
  if (sentMs < now - MAX_MESSAGE_AGE_MS) throw new MessageRejected('stale', `message was sent at ${sentAt}, more than 7 days ago`);
  if (sentMs > now + MAX_CLOCK_AHEAD_MS) throw new MessageRejected('from_future', `message was sent at ${sentAt}, more than 10 minutes ahead of this clock`);
}

/** Throws an Error whose message completes "message body ..." on anything that is not a body. */
function parseBody(value: unknown): Body {
  if (!isPlainObject(value)) throw new Error('is not a JSON object');
  const type = value['type'];
  if (typeof type !== 'string' || type === '') throw new Error('has no type');
  switch (type) {
    case 'text': {
      if (!hasExactly(value, ['type', 'text'], ['reply_to'])) throw new Error('of type text has other fields than type, text and reply_to');
      const text = value['text'];
      if (typeof text !== 'string') throw new Error('text is not a string');
      if (utf8(text).length > MAX_TEXT_BYTES) throw new Error(`text is over ${MAX_TEXT_BYTES} bytes`);
      return withReplyTo({ type, text }, value);
    }
    case 'data': {
      if (!hasExactly(value, ['type', 'data'], ['reply_to'])) throw new Error('of type data has other fields than type, data and reply_to');
      return withReplyTo({ type, data: value['data'] }, value);
    }
    case 'receipt': {
      if (!hasExactly(value, ['type', 'ids'], [])) throw new Error('of type receipt has other fields than type and ids');
      const ids = value['ids'];
      if (!Array.isArray(ids) || ids.length > MAX_RECEIPT_IDS) throw new Error(`ids is not a list of at most ${MAX_RECEIPT_IDS}`);
      if (!ids.every((entry): entry is string => typeof entry === 'string' && MESSAGE_ID_PATTERN.test(entry))) throw new Error('ids holds something that is not a message id');
      return { type, ids };
    }
    case 'inbox': {
      if (!hasExactly(value, ['type', 'relay_url', 'slot_id', 'send_token'], [])) throw new Error('of type inbox does not have exactly type, relay_url, slot_id, send_token');
      const { relay_url: relayUrl, slot_id: slotId, send_token: sendToken } = value;
      if (!isRelayUrlShape(relayUrl)) throw new Error('relay_url is not an http(s) URL without user, password, query or fragment');
      if (typeof slotId !== 'string' || !SLOT_ID_PATTERN.test(slotId)) throw new Error('slot_id is not 32 lowercase hex characters');
      if (typeof sendToken !== 'string' || !TOKEN_PATTERN.test(sendToken)) throw new Error('send_token is not 64 lowercase hex characters');
      return { type, relay_url: relayUrl, slot_id: slotId, send_token: sendToken };
    }
    default:
      // Kept whole: a later version's body is shown as unsupported, never dropped silently.
      return { ...value, type };
  }
}

function withReplyTo<T extends TextBody | DataBody>(body: T, value: Record<string, unknown>): T {
  if (!Object.hasOwn(value, 'reply_to')) return body;
  const replyTo = value['reply_to'];
  if (typeof replyTo !== 'string' || !MESSAGE_ID_PATTERN.test(replyTo)) throw new Error('reply_to is not a message id (32 lowercase hex characters)');
  return { ...body, reply_to: replyTo };
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** True if `value` has every `required` field, and no field outside `required` and `optional`. */
export function hasExactly(value: Record<string, unknown>, required: string[], optional: string[]): boolean {
  const keys = Object.keys(value);
  return required.every((name) => keys.includes(name)) && keys.every((name) => required.includes(name) || optional.includes(name));
}
