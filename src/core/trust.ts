// Pinned peers: the identities this side paired with, pinned by fingerprint (never by handle:
// two peers may share one).
//
// Storage keys:
//   memory `peers.index`            JSON array of pinned fingerprints, in pinning order
//   memory `peer.<fp>`              the PinnedPeer record (public)
//   vault  `peer.<fp>.sendToken`    the write-only capability for the peer's inbox (secret)
//   vault  `peer.<fp>.heldMove`     an `inbox` move to another relay, held until the person
//                                   accepts or refuses it (PROTOCOL.md 6.2); it carries a token
//
// A record also remembers the grant this side gave the peer (`grant`: which of our inboxes, and
// the grant_id the relay reports with the peer's messages, PROTOCOL.md 6.4). Peers pinned before
// grants were remembered have none: they were given the identity's first inbox, and their
// grant_id is learned from the first message their key opens.
//   memory `grants.toRevoke`         grants this side no longer stands behind (a peer paired again
//                                    or forgotten while its relay was unreachable), revoked by the
//                                    receive runner once the relay answers
//
// A record also keeps the person's rule for the peer's messages (`rule`: notify, agent or mute,
// core/vocabulary.ts). Records written before rules existed have none and read as `notify`;
// pairing with the peer again keeps the rule it had.
//
// Write order: pinning writes the token, then the record, then the index; forgetting removes
// the index entry first. A peer counts as pinned only while the index lists it, so an
// interruption at any point leaves either the old state or the new one, never half a peer.

import { PairError, badInput } from './errors.js';
import { type Card, cardFingerprint, isRfc3339Utc, verifyCard, verifyPinnedCard } from './identity.js';
import { type AsyncLock, lockPerStore } from './lock.js';
import type { Clock, Memory, Vault } from './ports.js';
import { jsonQuote } from './untrusted.js';
import { DEFAULT_PEER_RULE, FINGERPRINT_PATTERN, GRANT_ID_PATTERN, type PeerRule, isPeerRule, parsePeerRule } from './vocabulary.js';

export const PEERS_INDEX_KEY = 'peers.index';
export const GRANTS_TO_REVOKE_KEY = 'grants.toRevoke';
export const peerRecordKey = (fingerprint: string): string => `peer.${fingerprint}`;
export const peerSendTokenKey = (fingerprint: string): string => `peer.${fingerprint}.sendToken`;
const peerHeldMoveKey = (fingerprint: string): string => `peer.${fingerprint}.heldMove`;

/** A peer's new inbox on another relay, as its `inbox` message named it, waiting for the person. */
export interface HeldMove {
  relayUrl: string;
  slotId: string;
  sendToken: string;
  /** When it arrived (ms). */
  at: number;
}

export interface PinnedPeer {
  fingerprint: string;
  handle: string;
  card: Card;
  /** The peer's inbox: where this side sends. */
  relayUrl: string;
  slotId: string;
  pinnedAt: string;
  /** The grant this side gave the peer for one of its own inboxes: where the peer sends. */
  grant?: PeerGrant;
  /** What this side does with the peer's messages; only the person sets it (setPeerRule). */
  rule: PeerRule;
}

/** A pinned peer as events and results name it. */
export interface PeerRef {
  fingerprint: string;
  handle: string;
}

export const peerRefOf = (peer: PinnedPeer): PeerRef => ({ fingerprint: peer.fingerprint, handle: peer.handle });

/** A peer as pairing pins it: the rule is not pairing's to choose (a new peer gets the default, a re-paired one keeps its own). */
export type PeerToPin = Omit<PinnedPeer, 'rule'>;

export interface PeerGrant {
  relayUrl: string;
  slotId: string;
  /** Unknown for a peer pinned before grants were remembered, until its first message. */
  grantId?: string;
  /** False while the peer has not yet been sent an `inbox` message naming this grant. */
  announced: boolean;
}

function readGrant(value: unknown): PeerGrant | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) throw new Error('bad grant');
  const grant: Partial<Record<keyof PeerGrant, unknown>> = value;
  if (typeof grant.relayUrl !== 'string' || typeof grant.slotId !== 'string' || typeof grant.announced !== 'boolean') throw new Error('bad grant');
  if (grant.grantId !== undefined && (typeof grant.grantId !== 'string' || !GRANT_ID_PATTERN.test(grant.grantId))) throw new Error('bad grant id');
  return { relayUrl: grant.relayUrl, slotId: grant.slotId, announced: grant.announced, ...(grant.grantId !== undefined && { grantId: grant.grantId }) };
}

export interface TrustDeps {
  vault: Vault;
  memory: Memory;
}

/** Index updates are read-modify-write, so they run one at a time per store. */
const trustLock: (store: Memory) => AsyncLock = lockPerStore();

/** Accepts a full fingerprint in either case and returns it lowercase. */
function requireFingerprint(value: string): string {
  const normalised = typeof value === 'string' ? value.trim().toLowerCase() : '';
  if (!FINGERPRINT_PATTERN.test(normalised)) throw badInput('fingerprint', 'is not a peer fingerprint', '16 hex characters, as listed by the peers command');
  return normalised;
}

function requireText(value: unknown, what: string, expected: string): string {
  if (typeof value !== 'string' || value === '') throw badInput(what, 'is empty or not text', expected);
  return value;
}

async function readIndex(memory: Memory): Promise<string[]> {
  const stored = await memory.get(PEERS_INDEX_KEY);
  if (stored === undefined) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(stored);
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || !parsed.every((entry): entry is string => typeof entry === 'string' && FINGERPRINT_PATTERN.test(entry))) {
    throw new PairError('storage_failed', `The list of pinned peers (${PEERS_INDEX_KEY}) is damaged; it is not a JSON array of fingerprints.`);
  }
  return parsed;
}

/** A record's rule: absent in records written before rules existed, which read as the default. */
function readRule(value: unknown): PeerRule {
  if (value === undefined) return DEFAULT_PEER_RULE;
  if (!isPeerRule(value)) throw new Error('bad rule');
  return value;
}

/**
 * Each pinned peer's record as last checked, with the text it was read from: every send and every
 * pull reads the records, and checking a card again (its canonical JSON, its fingerprint) cost
 * most of a read. Used only while the stored text is exactly the same; callers get a copy.
 */
const checkedRecords = new WeakMap<Memory, Map<string, { text: string; peer: PinnedPeer }>>();

function copyPeer(peer: PinnedPeer): PinnedPeer {
  return { ...peer, card: { ...peer.card }, ...(peer.grant && { grant: { ...peer.grant } }) };
}

async function readRecord(memory: Memory, fingerprint: string): Promise<PinnedPeer | undefined> {
  const stored = await memory.get(peerRecordKey(fingerprint));
  let checked = checkedRecords.get(memory);
  const known = checked?.get(fingerprint);
  if (known !== undefined && known.text === stored) return copyPeer(known.peer);
  checked?.delete(fingerprint);
  const peer = checkRecord(stored, fingerprint);
  if (peer && stored !== undefined) {
    if (!checked) {
      checked = new Map<string, { text: string; peer: PinnedPeer }>();
      checkedRecords.set(memory, checked);
    }
    checked.set(fingerprint, { text: stored, peer: copyPeer(peer) });
  }
  return peer;
}

function checkRecord(stored: string | undefined, fingerprint: string): PinnedPeer | undefined {
  if (stored === undefined) return undefined;
  try {
    const record = JSON.parse(stored) as PinnedPeer;
    // The record is our own write, but its card is re-checked so a damaged file cannot pin a key
    // (its key's point checks ran at pinning: see verifyPinnedCard).
    const card = verifyPinnedCard(record.card);
    if (record.fingerprint !== fingerprint || cardFingerprint(card) !== fingerprint) throw new Error('fingerprint mismatch');
    if (typeof record.relayUrl !== 'string' || typeof record.slotId !== 'string' || !isRfc3339Utc(record.pinnedAt)) throw new Error('bad fields');
    const grant = readGrant(record.grant);
    const rule = readRule((record as { rule?: unknown }).rule);
    return { fingerprint, handle: card.handle, card, relayUrl: record.relayUrl, slotId: record.slotId, pinnedAt: record.pinnedAt, ...(grant && { grant }), rule };
  } catch (error) {
    throw new PairError('storage_failed', `The record of pinned peer ${fingerprint} is damaged; forget the peer and pair again.`, { cause: error });
  }
}

/**
 * Pins a peer whose card has been verified, with the send token for its inbox. Pinning the same
 * fingerprint again replaces the record and the token, and keeps the person's rule.
 */
export async function pinPeer(deps: TrustDeps, peer: PeerToPin, sendToken: string): Promise<void> {
  const fingerprint = requireFingerprint(peer.fingerprint);
  const card = verifyCard(peer.card);
  if (cardFingerprint(card) !== fingerprint) throw badInput('peer.fingerprint', 'does not match the card', "the fingerprint of the card's key");
  if (peer.handle !== card.handle) throw badInput('peer.handle', 'does not match the card', "the card's handle");
  const record: PeerToPin = {
    fingerprint,
    handle: card.handle,
    card,
    relayUrl: requireText(peer.relayUrl, 'peer.relayUrl', "the URL of the peer's relay"),
    slotId: requireText(peer.slotId, 'peer.slotId', "the peer's inbox slot id"),
    pinnedAt: peer.pinnedAt,
    ...(peer.grant && { grant: readGrant(peer.grant) as PeerGrant }),
  };
  if (!isRfc3339Utc(record.pinnedAt)) throw badInput('peer.pinnedAt', 'is not an RFC 3339 UTC time', 'a time like 2026-11-25T00:00:00Z');
  requireText(sendToken, 'sendToken', "the send token for the peer's inbox");
  await trustLock(deps.memory).run(async () => {
    // Pairing again gives the peer a new grant: the old one is withdrawn.
    const previous = await readRecord(deps.memory, fingerprint).catch(() => undefined);
    const previousGrant = previous?.grant;
    if (previousGrant?.grantId !== undefined && previousGrant.grantId !== record.grant?.grantId) {
      await queueRevocation(deps.memory, { relayUrl: previousGrant.relayUrl, slotId: previousGrant.slotId, grantId: previousGrant.grantId });
    }
    await deps.vault.set(peerSendTokenKey(fingerprint), sendToken);
    const pinned: PinnedPeer = { ...record, rule: previous?.rule ?? DEFAULT_PEER_RULE };
    await deps.memory.set(peerRecordKey(fingerprint), JSON.stringify(pinned));
    const index = await readIndex(deps.memory);
    if (!index.includes(fingerprint)) await deps.memory.set(PEERS_INDEX_KEY, JSON.stringify([...index, fingerprint]));
  });
}

/** Every pinned peer, in the order they were first pinned. */
export async function listPeers(deps: TrustDeps): Promise<PinnedPeer[]> {
  const peers: PinnedPeer[] = [];
  for (const fingerprint of await readIndex(deps.memory)) {
    const peer = await readRecord(deps.memory, fingerprint);
    if (peer) peers.push(peer);
  }
  return peers;
}

export async function getPeer(deps: TrustDeps, fingerprint: string): Promise<PinnedPeer | undefined> {
  const wanted = requireFingerprint(fingerprint);
  if (!(await readIndex(deps.memory)).includes(wanted)) return undefined;
  return readRecord(deps.memory, wanted);
}

/** The send token for a pinned peer's inbox, or undefined if the peer is not pinned. */
export async function loadPeerSendToken(deps: TrustDeps, fingerprint: string): Promise<string | undefined> {
  const wanted = requireFingerprint(fingerprint);
  if (!(await readIndex(deps.memory)).includes(wanted)) return undefined;
  return deps.vault.get(peerSendTokenKey(wanted));
}

/** Unpins a peer and deletes its send token. Resolves false if it was not pinned. */
export async function forgetPeer(deps: TrustDeps, fingerprint: string): Promise<boolean> {
  const wanted = requireFingerprint(fingerprint);
  return trustLock(deps.memory).run(async () => {
    const index = await readIndex(deps.memory);
    const pinned = index.includes(wanted);
    if (pinned) await deps.memory.set(PEERS_INDEX_KEY, JSON.stringify(index.filter((entry) => entry !== wanted)));
    // Also clears what an interrupted pin may have left behind for an unlisted fingerprint.
    await deps.memory.delete(peerRecordKey(wanted));
    await deps.vault.delete(peerSendTokenKey(wanted));
    await deps.vault.delete(peerHeldMoveKey(wanted));
    return pinned;
  });
}

/**
 * Changes a pinned peer's record in place (its inbox coordinates after an `inbox` message, the
 * grant this side gave it), and its send token when given. Resolves false if it is not pinned.
 */
export async function updatePeer(
  deps: TrustDeps,
  fingerprint: string,
  change: { inbox?: { relayUrl: string; slotId: string; sendToken: string }; grant?: PeerGrant },
): Promise<boolean> {
  const wanted = requireFingerprint(fingerprint);
  return trustLock(deps.memory).run(async () => {
    if (!(await readIndex(deps.memory)).includes(wanted)) return false;
    const record = await readRecord(deps.memory, wanted);
    if (!record) return false;
    if (change.inbox) {
      await deps.vault.set(peerSendTokenKey(wanted), requireText(change.inbox.sendToken, 'sendToken', "the send token for the peer's inbox"));
      record.relayUrl = change.inbox.relayUrl;
      record.slotId = change.inbox.slotId;
    }
    if (change.grant) record.grant = readGrant(change.grant) as PeerGrant;
    await deps.memory.set(peerRecordKey(wanted), JSON.stringify(record));
    return true;
  });
}

/**
 * The person sets what this side does with a pinned peer's messages (never an agent: no MCP tool
 * calls this). Resolves the peer as it is now, or undefined if it is not pinned.
 */
export async function setPeerRule(deps: TrustDeps, fingerprint: string, rule: PeerRule): Promise<PinnedPeer | undefined> {
  const wanted = requireFingerprint(fingerprint);
  const checked = parsePeerRule(rule);
  return trustLock(deps.memory).run(async () => {
    if (!(await readIndex(deps.memory)).includes(wanted)) return undefined;
    const record = await readRecord(deps.memory, wanted);
    if (!record) return undefined;
    const changed: PinnedPeer = { ...record, rule: checked };
    await deps.memory.set(peerRecordKey(wanted), JSON.stringify(changed));
    return changed;
  });
}

/**
 * Finds pinned peers by a fingerprint (either case) or a handle. A handle two peers share is
 * ambiguous: the caller gets both and must ask for a fingerprint.
 */
export async function findPeers(deps: TrustDeps, reference: string): Promise<PinnedPeer[]> {
  const wanted = typeof reference === 'string' ? reference.trim() : '';
  const peers = await listPeers(deps);
  const byFingerprint = peers.filter((peer) => peer.fingerprint === wanted.toLowerCase());
  return byFingerprint.length > 0 ? byFingerprint : peers.filter((peer) => peer.handle === wanted);
}

export interface GrantToRevoke {
  relayUrl: string;
  slotId: string;
  grantId: string;
}

async function readRevocations(memory: Memory): Promise<GrantToRevoke[]> {
  try {
    const parsed = JSON.parse((await memory.get(GRANTS_TO_REVOKE_KEY)) ?? '[]') as unknown;
    if (!Array.isArray(parsed)) return [];
    return parsed.filter((entry: unknown): entry is GrantToRevoke => {
      if (typeof entry !== 'object' || entry === null) return false;
      const { relayUrl, slotId, grantId } = entry as Record<string, unknown>;
      return typeof relayUrl === 'string' && typeof slotId === 'string' && typeof grantId === 'string' && GRANT_ID_PATTERN.test(grantId);
    });
  } catch {
    return [];
  }
}

async function queueRevocation(memory: Memory, grant: GrantToRevoke): Promise<void> {
  const queued = await readRevocations(memory);
  if (!queued.some((entry) => entry.grantId === grant.grantId)) await memory.set(GRANTS_TO_REVOKE_KEY, JSON.stringify([...queued, grant]));
}

/** Remembers a grant to revoke once its relay answers. */
export async function rememberRevocation(deps: TrustDeps, grant: GrantToRevoke): Promise<void> {
  await trustLock(deps.memory).run(() => queueRevocation(deps.memory, grant));
}

/** Grants waiting to be revoked. */
export async function pendingRevocations(deps: TrustDeps): Promise<GrantToRevoke[]> {
  return readRevocations(deps.memory);
}

/** Drops grants from the waiting list (revoked, or their inbox is gone anyway). */
export async function revocationsDone(deps: TrustDeps, grantIds: string[]): Promise<void> {
  await trustLock(deps.memory).run(async () => {
    const queued = await readRevocations(deps.memory);
    await deps.memory.set(GRANTS_TO_REVOKE_KEY, JSON.stringify(queued.filter((entry) => !grantIds.includes(entry.grantId))));
  });
}

/** Holds a peer's move to another relay until the person decides (the newest move replaces an older one). */
export async function holdMove(deps: TrustDeps, fingerprint: string, move: HeldMove): Promise<void> {
  await deps.vault.set(peerHeldMoveKey(requireFingerprint(fingerprint)), JSON.stringify(move));
}

/** The move a peer asked for that waits for the person, if any. */
export async function heldMove(deps: TrustDeps, fingerprint: string): Promise<HeldMove | undefined> {
  const text = await deps.vault.get(peerHeldMoveKey(requireFingerprint(fingerprint)));
  if (text === undefined) return undefined;
  try {
    const { relayUrl, slotId, sendToken, at } = JSON.parse(text) as Record<string, unknown>;
    if (typeof relayUrl !== 'string' || typeof slotId !== 'string' || typeof sendToken !== 'string' || typeof at !== 'number') return undefined;
    return { relayUrl, slotId, sendToken, at };
  } catch {
    return undefined;
  }
}

/**
 * The person's answer to a held move: `accept` points this side's sends at the new inbox,
 * `refuse` keeps the old one. Either way the move is no longer held. Resolves the move decided
 * on, or undefined if none was held.
 */
export async function decideMove(deps: TrustDeps, fingerprint: string, decision: 'accept' | 'refuse', shownRelayUrl?: string): Promise<HeldMove | undefined> {
  const move = await heldMove(deps, fingerprint);
  if (!move) return undefined;
  // The peer may have asked again, for another address, after the person was shown one: an
  // answer holds only for the address they saw.
  if (shownRelayUrl !== undefined && move.relayUrl !== shownRelayUrl) {
    throw new PairError('conflict', `The peer has since asked to move to relay URL ${jsonQuote(move.relayUrl)}, not ${jsonQuote(shownRelayUrl)}; nothing changed. Decide on the address it asks for now.`);
  }
  if (decision === 'accept') await updatePeer(deps, fingerprint, { inbox: move });
  await deps.vault.delete(peerHeldMoveKey(requireFingerprint(fingerprint)));
  return move;
}

/** How often `watchPeers` looks: another process (the CLI, a VS Code window) may pin, forget or re-rule a peer. */
export const PEERS_CHECK_MS = 2_000;

/**
 * Calls `changed` each time the pinned peers or their rules differ from the last look, until
 * `signal` aborts. A look that fails (a record being written) is retried at the next one.
 */
export async function watchPeers(deps: TrustDeps & { clock: Clock }, signal: AbortSignal, changed: () => Promise<void>, everyMs = PEERS_CHECK_MS): Promise<void> {
  let seen: string | undefined;
  while (!signal.aborted) {
    try {
      const now = (await listPeers(deps)).map((peer) => `${peer.fingerprint}:${peer.rule}`).join(',');
      if (seen !== undefined && now !== seen) await changed();
      seen = now;
    } catch {
      // Looked at again after the pause.
    }
    await deps.clock.sleep(everyMs, signal);
  }
}
