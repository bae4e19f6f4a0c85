// This side's identity (PROTOCOL.md section 5): an Ed25519 key and the signed card that names
// it, plus the relay inbox peers reach it at.
//
// Storage keys:
//   vault  `identity.privateKey`  hex of the 32-byte Ed25519 private seed
//   memory `identity.card`        the card, canonical JSON
//   vault  `identity.inbox`       {"slot_id","owner_token"}: the inbox slot's owner capability
//   memory `identity.relay`       {"url","slot_id","fingerprint"}: where that inbox lives
//
// Write order keeps every interruption harmless: the secret is written before the public record
// that refers to it (private key before card, owner token before relay binding), and a record
// whose secret is missing or does not match is read as absent, so the next init repairs it.
// An existing identity is never replaced by one with a different handle: peers pinned its key.

import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { constantTimeEqual, fromBase64, fromHex, requireBytes, toBase64, toHex, utf8, wipe } from './bytes.js';
import { curves } from './curves.js';
import { PairError, badInput, isPairError } from './errors.js';
import { type AsyncLock, lockPerStore } from './lock.js';
import type { Clock, Memory, Random, RelayPort, Vault } from './ports.js';
import { HANDLE_PATTERN } from './vocabulary.js';

const HANDLE_SHAPE = '1 to 64 letters, digits, "_" or "-"';
export const PRIVATE_SEED_LENGTH = 32;

export const IDENTITY_KEYS = {
  privateKey: 'identity.privateKey',
  card: 'identity.card',
  inbox: 'identity.inbox',
  relay: 'identity.relay',
} as const;

export interface Card {
  v: 1;
  handle: string;
  key: string;
  created_at: string;
  sig: string;
}

const CARD_FIELDS = ['created_at', 'handle', 'key', 'sig', 'v'] as const;

// ---------------------------------------------------------------------------------------------
// Canonical JSON: what the card signature covers.

/** Deeper nesting than this is refused (it also stops cyclic structures). */
const MAX_JSON_DEPTH = 64;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Orders strings by Unicode code point (JavaScript's `<` orders UTF-16 code units). */
function compareCodePoints(a: string, b: string): number {
  // While the prefixes agree, both strings step over the same code points.
  for (let i = 0; i < a.length && i < b.length; ) {
    const x = a.codePointAt(i) ?? 0;
    const y = b.codePointAt(i) ?? 0;
    if (x !== y) return x - y;
    i += x > 0xffff ? 2 : 1;
  }
  return a.length - b.length;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** JSON.stringify escapes quote, backslash and controls and leaves every other character as is. */
function jsonString(text: string, path: string): string {
  if (LONE_SURROGATE.test(text)) throw badInput(path, 'contains an unpaired surrogate', 'text that encodes as UTF-8');
  return JSON.stringify(text);
}

function writeCanonical(value: unknown, path: string, depth: number): string {
  if (depth > MAX_JSON_DEPTH) throw badInput(path, `is nested deeper than ${MAX_JSON_DEPTH} levels`, 'a shallower, acyclic value');
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      // Only integers have one spelling every JSON implementation agrees on.
      if (!Number.isSafeInteger(value)) throw badInput(path, 'is not a safe integer', 'an integer between -(2^53-1) and 2^53-1');
      return String(value); // String(-0) is "0"
    case 'string':
      return jsonString(value, path);
    case 'object': {
      if (Array.isArray(value)) {
        return `[${value.map((item: unknown, index) => writeCanonical(item, `${path}[${index}]`, depth + 1)).join(',')}]`;
      }
      if (!isPlainObject(value)) throw badInput(path, 'is not a plain object', 'null, a boolean, an integer, a string, an array or a plain object');
      const members = Object.keys(value)
        .sort(compareCodePoints)
        .map((key) => `${jsonString(key, `${path} key`)}:${writeCanonical(value[key], `${path}.${key}`, depth + 1)}`);
      return `{${members.join(',')}}`;
    }
    default:
      throw badInput(path, `is ${typeof value}`, 'null, a boolean, an integer, a string, an array or a plain object');
  }
}

/**
 * Canonical JSON: object keys sorted by code point, no whitespace, strings JSON-escaped with
 * non-ASCII left as is (UTF-8 once encoded). Refuses what has no single spelling: non-integer
 * or unsafe numbers, undefined, functions, symbols, bigints, lone surrogates, non-plain objects.
 */
export function canonicalJson(value: unknown): string {
  return writeCanonical(value, 'value', 0);
}

// ---------------------------------------------------------------------------------------------
// Cards.

const RFC3339_UTC = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?Z$/;

/** An RFC 3339 timestamp in UTC (`Z`), with real calendar fields. */
export function isRfc3339Utc(text: unknown): text is string {
  if (typeof text !== 'string') return false;
  const match = RFC3339_UTC.exec(text);
  if (!match) return false;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth && hour <= 23 && minute <= 59 && second <= 60;
}

/** The current time as a card timestamp, to the second: `2026-11-25T00:00:00Z`. */
export function cardTimestamp(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `hex(H(public key))[0:16]`: how peers are pinned. */
export function fingerprint(publicKey: Uint8Array): string {
  requireBytes(publicKey, 'publicKey', 32);
  return toHex(sha256(publicKey)).slice(0, 16);
}

export function cardFingerprint(card: Card): string {
  return fingerprint(fromBase64(card.key, 'card key', 32));
}

function unsignedCardBytes(card: Omit<Card, 'sig'>): Uint8Array {
  return utf8(canonicalJson({ v: card.v, handle: card.handle, key: card.key, created_at: card.created_at }));
}

/** Signs a card for `handle` with the 32-byte private seed. */
export function createCard(handle: string, privateSeed: Uint8Array, createdAt: string): Card {
  if (typeof handle !== 'string' || !HANDLE_PATTERN.test(handle)) throw badInput('handle', 'is not a valid handle', HANDLE_SHAPE);
  requireBytes(privateSeed, 'privateSeed', PRIVATE_SEED_LENGTH);
  if (!isRfc3339Utc(createdAt)) throw badInput('createdAt', 'is not an RFC 3339 UTC timestamp', 'a time like 2026-11-25T00:00:00Z');
  const unsigned = { v: 1 as const, handle, key: toBase64(curves().ed25519PublicKey(privateSeed)), created_at: createdAt };
  return { ...unsigned, sig: toBase64(curves().ed25519Sign(unsignedCardBytes(unsigned), privateSeed)) };
}

function badCard(problem: string): PairError {
  return new PairError('bad_card', `identity card ${problem}`);
}

/** Shortens a peer-chosen field name before it goes into a message. */
function quoteName(name: string): string {
  return JSON.stringify(name.length > 32 ? `${name.slice(0, 32)}…` : name);
}

function decodeCardBytes(text: unknown, field: string, length: number): Uint8Array {
  if (typeof text !== 'string') throw badCard(`field "${field}" is not a string`);
  try {
    return fromBase64(text, field, length);
  } catch {
    throw badCard(`field "${field}" is not standard padded base64 of ${length} bytes`);
  }
}

/**
 * Cards that passed `verifyCard`, by their canonical JSON (every field, the signature too, each
 * in its only accepted spelling): the verdict depends on nothing else, and one pairing checks
 * the same two cards up to five times (our own on every identity load, the peer's on receipt
 * and again when pinning), at about 2 ms each for the point checks and the signature.
 */
const verifiedCards = new Set<string>();
const MAX_REMEMBERED_CARDS = 256;

/** An untrusted value's card fields, checked for shape: exactly the five, each well formed. */
function readCardFields(value: unknown): { card: Card; publicKey: Uint8Array; signature: Uint8Array } {
  if (!isPlainObject(value)) throw badCard('is not a JSON object');
  for (const name of Object.keys(value)) {
    if (!(CARD_FIELDS as readonly string[]).includes(name)) throw badCard(`has an unexpected field ${quoteName(name)}`);
  }
  for (const name of CARD_FIELDS) {
    if (!Object.hasOwn(value, name)) throw badCard(`is missing the field "${name}"`);
  }
  const { v, handle, key, created_at: createdAt, sig } = value;
  if (v !== 1) throw badCard('has a version other than 1');
  if (typeof handle !== 'string' || !HANDLE_PATTERN.test(handle)) throw badCard(`has a handle that is not ${HANDLE_SHAPE}`);
  const publicKey = decodeCardBytes(key, 'key', 32);
  const signature = decodeCardBytes(sig, 'sig', 64);
  if (!isRfc3339Utc(createdAt)) throw badCard('has a created_at that is not an RFC 3339 UTC time like 2026-11-25T00:00:00Z');
  return { card: { v: 1, handle, key: key as string, created_at: createdAt, sig: sig as string }, publicKey, signature };
}

/** Throws unless the card's signature verifies by its key. */
function checkSignature(card: Card, publicKey: Uint8Array, signature: Uint8Array): void {
  if (!curves().ed25519Verify(signature, unsignedCardBytes(card), publicKey)) {
    throw badCard('has a signature that does not verify');
  }
}

/** Remembers a card (in its only spelling) that passed every check of verifyCard. */
function rememberVerified(spelling: string): void {
  if (verifiedCards.size >= MAX_REMEMBERED_CARDS) verifiedCards.clear();
  verifiedCards.add(spelling);
}

/**
 * Checks an untrusted value is exactly a card (no extra fields, `v` 1, a valid handle, a
 * canonical Ed25519 key in the prime-order subgroup, an RFC 3339 UTC time, a 64-byte signature)
 * and that the signature verifies. Returns a fresh card holding only those fields.
 */
export function verifyCard(value: unknown): Card {
  const { card, publicKey, signature } = readCardFields(value);
  const spelling = canonicalJson(card);
  if (verifiedCards.has(spelling)) return card;
  let point;
  try {
    point = ed25519.Point.fromBytes(publicKey);
  } catch {
    throw badCard('has a key that is not an Ed25519 public key');
  }
  // Small-order and mixed-order keys admit signatures that verify for many messages.
  if (!constantTimeEqual(point.toBytes(), publicKey) || point.is0() || !point.isTorsionFree()) {
    throw badCard('has a key outside the Ed25519 prime-order subgroup');
  }
  checkSignature(card, publicKey, signature);
  rememberVerified(spelling);
  return card;
}

/**
 * This side's own card, read from storage: verifyCard's checks, with its key required to be
 * `ownPublicKey`, the key this identity's private seed gives. Such a key needs no point checks:
 * it is [a]B for the clamped seed scalar a (2^254 + 8k, never a multiple of the odd prime order
 * of B), so it is canonically encoded, not the identity, and in the prime-order subgroup. So
 * noble's subgroup check, a scalar multiplication in JavaScript, runs for peers' cards only.
 */
function verifyOwnCard(value: unknown, ownPublicKey: Uint8Array): Card {
  const { card, publicKey, signature } = readCardFields(value);
  if (card.key !== toBase64(ownPublicKey)) throw badCard("has a key other than this identity's private key");
  const spelling = canonicalJson(card);
  if (!verifiedCards.has(spelling)) {
    checkSignature(card, publicKey, signature);
    rememberVerified(spelling);
  }
  return card;
}

/**
 * A pinned peer's card, read back from this home's own store (core/trust.ts): verifyCard's
 * checks except the point checks of its key, which ran when the card was pinned (pinPeer takes
 * only a card verifyCard accepted). Read back, they would guard nothing:
 * - Damage is caught without them: the signature must still verify under the stored key (a
 *   changed key, handle or time fails it), and trust.ts also requires the key's fingerprint to be
 *   the one the record is filed under.
 * - A deliberate writer gains nothing from them: whoever can write this home's state can already
 *   pin a well-formed key of their own (and replace the send token, or the identity key itself),
 *   and node/homeCheck.ts refuses, before every command, a home anyone but its user can write.
 * They are the one scalar multiplication in JavaScript a read would do (noble's subgroup check,
 * several milliseconds cold per peer, the largest part of `agent-pair peers`). A card passing
 * only this is not remembered as verified: verifyCard still checks it in full if it comes back
 * from a peer.
 */
export function verifyPinnedCard(value: unknown): Card {
  const { card, publicKey, signature } = readCardFields(value);
  const spelling = canonicalJson(card);
  if (!verifiedCards.has(spelling)) checkSignature(card, publicKey, signature);
  return card;
}

// ---------------------------------------------------------------------------------------------
// This side's identity in storage.

export interface Identity {
  card: Card;
  fingerprint: string;
  handle: string;
  relay?: { url: string; slotId: string };
}

export interface IdentityDeps {
  vault: Vault;
  memory: Memory;
  random: Random;
  clock: Clock;
}

/** Identity writes (creation, inbox allocation) run one at a time per vault. */
const identityLock: (store: Vault) => AsyncLock = lockPerStore();

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function parsePrivateSeed(stored: string | undefined): Uint8Array | undefined {
  if (stored === undefined) return undefined;
  try {
    return fromHex(stored, 'stored private key', PRIVATE_SEED_LENGTH);
  } catch {
    return undefined;
  }
}

async function readPrivateSeed(vault: Vault): Promise<Uint8Array | undefined> {
  return parsePrivateSeed(await vault.get(IDENTITY_KEYS.privateKey));
}

interface StoredInbox {
  slotId: string;
  ownerToken: string;
}

/** The inbox binding, if both halves are present, agree, and belong to `ownFingerprint`. */
function parseInbox(bindingText: string | undefined, secretText: string | undefined, ownFingerprint: string): (StoredInbox & { url: string }) | undefined {
  const binding = parseJson(bindingText);
  if (!isPlainObject(binding)) return undefined;
  const { url, slot_id: slotId, fingerprint: boundTo } = binding;
  if (typeof url !== 'string' || typeof slotId !== 'string' || boundTo !== ownFingerprint) return undefined;
  const secret = parseJson(secretText);
  if (!isPlainObject(secret) || secret['slot_id'] !== slotId || typeof secret['owner_token'] !== 'string') return undefined;
  return { url, slotId, ownerToken: secret['owner_token'] };
}

interface LoadedIdentity {
  identity: Identity;
  privateSeed: Uint8Array;
  /** The owner token of the identity's first inbox, when it has one. */
  inboxOwnerToken?: string;
}

/** The four stored values an identity is read from, as stored. */
interface IdentityTexts {
  card: string;
  privateKey: string;
  relay: string | undefined;
  inbox: string | undefined;
}

/**
 * The last identity read from each vault, with the stored values it was read from: every send
 * and every pull reads the identity, and checking it again (the card's canonical JSON and
 * fingerprint, the private key against the card's key) cost more than the rest of the read. It is
 * a function of those four values alone, so it is used only while all four are exactly what they
 * were; any write (here or by another process) makes the next read check again. Kept in memory
 * only, as long as the vault object is (which holds the same private key).
 */
const readIdentities = new WeakMap<Vault, { texts: IdentityTexts; loaded: LoadedIdentity }>();

function sameTexts(a: IdentityTexts, b: IdentityTexts): boolean {
  return a.card === b.card && a.privateKey === b.privateKey && a.relay === b.relay && a.inbox === b.inbox;
}

/** A copy the caller may change (and whose seed it wipes) without touching the remembered one. */
function copyLoaded(loaded: LoadedIdentity): LoadedIdentity {
  const { identity } = loaded;
  return {
    identity: { ...identity, card: { ...identity.card }, ...(identity.relay && { relay: { ...identity.relay } }) },
    privateSeed: loaded.privateSeed.slice(),
    ...(loaded.inboxOwnerToken !== undefined && { inboxOwnerToken: loaded.inboxOwnerToken }),
  };
}

async function readIdentity(deps: Pick<IdentityDeps, 'vault' | 'memory'>): Promise<LoadedIdentity | undefined> {
  const card = await deps.memory.get(IDENTITY_KEYS.card);
  if (card === undefined) return undefined;
  const privateKey = await deps.vault.get(IDENTITY_KEYS.privateKey);
  if (privateKey === undefined) return undefined;
  const texts: IdentityTexts = { card, privateKey, relay: await deps.memory.get(IDENTITY_KEYS.relay), inbox: await deps.vault.get(IDENTITY_KEYS.inbox) };
  const known = readIdentities.get(deps.vault);
  if (known && sameTexts(known.texts, texts)) return copyLoaded(known.loaded);
  const loaded = checkIdentity(texts);
  if (loaded) readIdentities.set(deps.vault, { texts, loaded: copyLoaded(loaded) });
  return loaded;
}

function checkIdentity(texts: IdentityTexts): LoadedIdentity | undefined {
  const privateSeed = parsePrivateSeed(texts.privateKey);
  if (!privateSeed) return undefined;
  let card: Card;
  try {
    card = verifyOwnCard(parseJson(texts.card), curves().ed25519PublicKey(privateSeed));
  } catch (error) {
    wipe(privateSeed);
    // A missing or damaged card, or one whose private key is different (an interrupted re-creation), is no identity.
    if (isPairError(error, 'bad_card')) return undefined;
    throw error;
  }
  const ownFingerprint = cardFingerprint(card);
  const inbox = parseInbox(texts.relay, texts.inbox, ownFingerprint);
  const identity: Identity = { card, fingerprint: ownFingerprint, handle: card.handle };
  if (inbox) identity.relay = { url: inbox.url, slotId: inbox.slotId };
  return { identity, privateSeed, ...(inbox && { inboxOwnerToken: inbox.ownerToken }) };
}

/** This side's identity, or undefined if none is set up (or only part of one was written). */
export async function loadIdentity(deps: Pick<IdentityDeps, 'vault' | 'memory'>): Promise<Identity | undefined> {
  const loaded = await readIdentity(deps);
  if (loaded) wipe(loaded.privateSeed);
  return loaded?.identity;
}

/** This side's identity and the private seed that signs for it (the caller wipes it), or undefined if none is set up. */
export async function loadIdentityWithKey(deps: Pick<IdentityDeps, 'vault' | 'memory'>): Promise<{ identity: Identity; privateSeed: Uint8Array } | undefined> {
  const loaded = await readIdentity(deps);
  return loaded && { identity: loaded.identity, privateSeed: loaded.privateSeed };
}

/** The private seed that signs for this identity; `identity_missing` if there is none. */
export async function loadSigningKey(deps: Pick<IdentityDeps, 'vault' | 'memory'>): Promise<Uint8Array> {
  const loaded = await readIdentity(deps);
  if (!loaded) throw new PairError('identity_missing', 'This side has no identity yet: set one up with a handle first.');
  return loaded.privateSeed;
}

/** The owner token of this identity's inbox slot (to grant peers send tokens), if it has one. */
export async function loadInboxOwnerToken(deps: Pick<IdentityDeps, 'vault' | 'memory'>): Promise<string | undefined> {
  return (await loadIdentityAndInboxToken(deps))?.inboxOwnerToken;
}

/** This side's identity and the owner token of its first inbox (when it has one), in one read. */
export async function loadIdentityAndInboxToken(deps: Pick<IdentityDeps, 'vault' | 'memory'>): Promise<{ identity: Identity; inboxOwnerToken?: string } | undefined> {
  const loaded = await readIdentity(deps);
  if (!loaded) return undefined;
  wipe(loaded.privateSeed);
  return { identity: loaded.identity, ...(loaded.inboxOwnerToken !== undefined && { inboxOwnerToken: loaded.inboxOwnerToken }) };
}

async function bindInbox(deps: IdentityDeps, identity: Identity, relay: RelayPort): Promise<Identity> {
  const slot = await relay.allocateSlot();
  await deps.vault.set(IDENTITY_KEYS.inbox, JSON.stringify({ slot_id: slot.slotId, owner_token: slot.ownerToken }));
  await deps.memory.set(IDENTITY_KEYS.relay, JSON.stringify({ url: relay.url, slot_id: slot.slotId, fingerprint: identity.fingerprint }));
  return { ...identity, relay: { url: relay.url, slotId: slot.slotId } };
}

/**
 * Sets up this side's identity once. With the same handle again it changes nothing (except,
 * given a relay, allocating the identity's inbox slot the first time); with a different handle
 * it refuses with `identity_conflict`, because peers pinned the existing key.
 */
export async function initSelfIdempotent(deps: IdentityDeps, handle: string, relay?: RelayPort): Promise<{ identity: Identity; created: boolean }> {
  if (typeof handle !== 'string' || !HANDLE_PATTERN.test(handle)) throw badInput('handle', 'is not a valid handle', HANDLE_SHAPE);
  return identityLock(deps.vault).run(async () => {
    const existing = await readIdentity(deps);
    if (existing) {
      wipe(existing.privateSeed);
      const { identity } = existing;
      if (identity.handle !== handle) {
        throw new PairError(
          'identity_conflict',
          `This side already has the identity "${identity.handle}" (fingerprint ${identity.fingerprint}), and peers pin its key, so it is never replaced silently. ` +
            `Keep it by using the handle "${identity.handle}", or start over by deleting the existing identity's card and private key first.`,
        );
      }
      return { identity: relay && !identity.relay ? await bindInbox(deps, identity, relay) : identity, created: false };
    }
    // A private key without a valid card (an interrupted setup, a damaged card) is reused, so
    // the repaired identity keeps the fingerprint anyone may already know.
    const privateSeed = (await readPrivateSeed(deps.vault)) ?? requireBytes(deps.random.bytes(PRIVATE_SEED_LENGTH), 'random bytes', PRIVATE_SEED_LENGTH);
    const card = createCard(handle, privateSeed, cardTimestamp(deps.clock.now()));
    await deps.vault.set(IDENTITY_KEYS.privateKey, toHex(privateSeed));
    wipe(privateSeed);
    await deps.memory.set(IDENTITY_KEYS.card, canonicalJson(card));
    const identity: Identity = { card, fingerprint: cardFingerprint(card), handle };
    return { identity: relay ? await bindInbox(deps, identity, relay) : identity, created: true };
  });
}
