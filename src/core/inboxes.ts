// This identity's own inboxes (PROTOCOL.md 6.4): one per relay it pairs through, made when first
// needed, and made anew when the relay answers 404 for it (an in-memory relay restarted).
//
// Storage keys:
//   vault  `identity.inboxes`  {"<relay url>": {"slot_id","owner_token"}}: owner capabilities (secret)
//
// The identity's first inbox predates this map: it lives in identity.ts's binding
// (`identity.relay` / `identity.inbox`) and counts as the inbox for its relay until the map names
// another one for that URL.

import { PairError, isPairError } from './errors.js';
import { loadIdentity, loadIdentityAndInboxToken } from './identity.js';
import { type AsyncLock, lockPerStore } from './lock.js';
import type { Memory, RelayPort, Vault } from './ports.js';

export const OWN_INBOXES_KEY = 'identity.inboxes';

export interface OwnInbox {
  relayUrl: string;
  slotId: string;
  ownerToken: string;
}

export interface InboxesDeps {
  vault: Vault;
  memory: Memory;
}

type StoredInboxes = Record<string, { slot_id: string; owner_token: string }>;

const inboxLock: (store: Vault) => AsyncLock = lockPerStore();

async function readStored(vault: Vault): Promise<StoredInboxes> {
  const text = await vault.get(OWN_INBOXES_KEY);
  if (text === undefined) return {};
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    for (const entry of Object.values(parsed as Record<string, unknown>)) {
      const { slot_id: slotId, owner_token: ownerToken } = (entry ?? {}) as Record<string, unknown>;
      if (typeof slotId !== 'string' || typeof ownerToken !== 'string') throw new Error('bad entry');
    }
    return parsed as StoredInboxes;
  } catch (error) {
    throw new PairError('storage_failed', `This identity's list of inboxes (${OWN_INBOXES_KEY}) is damaged; delete it and the next read makes new inboxes.`, { cause: error });
  }
}

/** Every inbox this identity owns, one per relay URL. */
export async function listOwnInboxes(deps: InboxesDeps): Promise<OwnInbox[]> {
  const stored = await readStored(deps.vault);
  const inboxes = Object.entries(stored).map(([relayUrl, entry]) => ({ relayUrl, slotId: entry.slot_id, ownerToken: entry.owner_token }));
  const legacy = await legacyInbox(deps);
  if (legacy && !(legacy.relayUrl in stored)) inboxes.unshift(legacy);
  return inboxes;
}

async function legacyInbox(deps: InboxesDeps): Promise<OwnInbox | undefined> {
  const loaded = await loadIdentityAndInboxToken(deps);
  const relay = loaded?.identity.relay;
  if (!relay || loaded.inboxOwnerToken === undefined) return undefined;
  return { relayUrl: relay.url, slotId: relay.slotId, ownerToken: loaded.inboxOwnerToken };
}

/** The identity's inbox on `relay`, made there if it has none yet. */
export async function inboxOn(deps: InboxesDeps, relay: RelayPort): Promise<OwnInbox> {
  return inboxLock(deps.vault).run(async () => {
    const existing = (await listOwnInboxes(deps)).find((inbox) => inbox.relayUrl === relay.url);
    return existing ?? allocate(deps, relay);
  });
}

/**
 * Makes a new inbox on `relay` in place of `goneSlotId`, which the relay no longer knows. If
 * another caller already replaced it, returns that replacement instead of making a third.
 */
export async function replaceInbox(deps: InboxesDeps, relay: RelayPort, goneSlotId: string): Promise<OwnInbox> {
  return inboxLock(deps.vault).run(async () => {
    const current = (await listOwnInboxes(deps)).find((inbox) => inbox.relayUrl === relay.url);
    if (current && current.slotId !== goneSlotId) return current;
    return allocate(deps, relay);
  });
}

async function allocate(deps: InboxesDeps, relay: RelayPort): Promise<OwnInbox> {
  const slot = await relay.allocateSlot();
  const stored = await readStored(deps.vault);
  stored[relay.url] = { slot_id: slot.slotId, owner_token: slot.ownerToken };
  await deps.vault.set(OWN_INBOXES_KEY, JSON.stringify(stored));
  return { relayUrl: relay.url, slotId: slot.slotId, ownerToken: slot.ownerToken };
}

/**
 * Grants a send token on the identity's inbox at `relay` (made if needed); when the relay no
 * longer knows that inbox, makes a new one there first. `moved` names the slot that was gone.
 */
export async function grantOnInbox(deps: InboxesDeps, relay: RelayPort): Promise<{ inbox: OwnInbox; sendToken: string; grantId: string; moved?: string }> {
  const inbox = await inboxOn(deps, relay);
  try {
    return { inbox, ...(await relay.grant(inbox.slotId, inbox.ownerToken)) };
  } catch (error) {
    if (!isPairError(error, 'inbox_gone')) throw error;
    const fresh = await replaceInbox(deps, relay, inbox.slotId);
    return { inbox: fresh, ...(await relay.grant(fresh.slotId, fresh.ownerToken)), moved: inbox.slotId };
  }
}

/** The identity's first inbox (identity.ts's binding): what peers pinned without a grant were given. */
export async function firstInbox(deps: InboxesDeps): Promise<{ relayUrl: string; slotId: string } | undefined> {
  const identity = await loadIdentity(deps);
  return identity?.relay && { relayUrl: identity.relay.url, slotId: identity.relay.slotId };
}

/** `{"<pair id>": {relayUrl, slotId, grantId, heldUntil}}`: grants sealed into a bootstrap whose pairing is in flight. */
export const PENDING_GRANTS_KEY = 'grants.pending';
/** Where an earlier version kept one pairing's pending grant. */
const legacyPendingGrantKey = (pairId: string): string => `grant.pending.${pairId}`;

export interface PendingGrant {
  relayUrl: string;
  slotId: string;
  grantId: string;
  /** The pairing's end at the latest (ms): a grant still listed after it belongs to a pairing that died. */
  heldUntil: number;
}

async function readPendingGrants(memory: Memory): Promise<Record<string, PendingGrant>> {
  const text = await memory.get(PENDING_GRANTS_KEY);
  if (text === undefined) return {};
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
    const grants: Record<string, PendingGrant> = {};
    for (const [pairId, entry] of Object.entries(value as Record<string, unknown>)) {
      const { relayUrl, slotId, grantId, heldUntil } = (entry ?? {}) as Record<string, unknown>;
      if (typeof relayUrl === 'string' && typeof slotId === 'string' && typeof grantId === 'string' && typeof heldUntil === 'number') grants[pairId] = { relayUrl, slotId, grantId, heldUntil };
    }
    return grants;
  } catch {
    return {};
  }
}

async function changePendingGrants<T>(deps: InboxesDeps, change: (grants: Record<string, PendingGrant | undefined>) => T): Promise<T> {
  return inboxLock(deps.vault).run(async () => {
    const grants = await readPendingGrants(deps.memory);
    const result = change(grants);
    // JSON drops the entries set to undefined: that is how a pairing's grant leaves the list.
    await deps.memory.set(PENDING_GRANTS_KEY, JSON.stringify(grants));
    return result;
  });
}

/**
 * Remembers, for one pairing, the grant sealed into this side's bootstrap until the peer is
 * pinned: the pinned record then keeps it, so the peer's messages are known by their grant_id.
 * Until then a message under it waits at the relay (the peer may send before this side pinned it).
 */
export async function rememberPendingGrant(deps: InboxesDeps, pairId: string, grant: PendingGrant): Promise<void> {
  await changePendingGrants(deps, (grants) => {
    grants[pairId] = grant;
  });
}

/** The grant remembered for `pairId`, removed from the pending list; `{}` if none. */
export async function takePendingGrant(deps: InboxesDeps, pairId: string): Promise<{ grant?: { relayUrl: string; slotId: string; grantId: string; announced: true } }> {
  const taken = await changePendingGrants(deps, (grants) => {
    const grant = grants[pairId];
    grants[pairId] = undefined;
    return grant;
  });
  const legacy = await deps.memory.get(legacyPendingGrantKey(pairId));
  if (legacy !== undefined) await deps.memory.delete(legacyPendingGrantKey(pairId));
  if (taken) return { grant: { relayUrl: taken.relayUrl, slotId: taken.slotId, grantId: taken.grantId, announced: true } };
  if (legacy === undefined) return {};
  try {
    const { relayUrl, slotId, grantId } = JSON.parse(legacy) as Record<string, unknown>;
    if (typeof relayUrl !== 'string' || typeof slotId !== 'string' || typeof grantId !== 'string') return {};
    return { grant: { relayUrl, slotId, grantId, announced: true } };
  } catch {
    return {};
  }
}

/** Grants of pairings still in flight at `now` (by grant_id), and the ones whose pairing died, removed. */
export async function pendingGrantIds(deps: InboxesDeps, now: number): Promise<Set<string>> {
  const grants = await readPendingGrants(deps.memory);
  return new Set(Object.values(grants).filter((grant) => grant.heldUntil > now).map((grant) => grant.grantId));
}
