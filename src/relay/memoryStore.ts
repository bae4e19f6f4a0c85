// The memory engine of the relay store: everything in this process's maps, nothing to install.
// For tests and throwaway relays, a restart forgets every slot. The SQLite engine keeps its pair
// slots and rate windows in one of these too (they need not outlive a restart).

import { randomInt, timingSafeEqual } from 'node:crypto';
import type { PairField, Role } from '../core/ports.js';
import type { RelayLimits } from './contract.js';
import {
  type AllocateResult,
  type GrantResult,
  type JoinResult,
  type OpenResult,
  type OwnerRefusal,
  type OwnerResult,
  type PostResult,
  type RateHit,
  type RateLimited,
  type ReadResult,
  type RelayStore,
  type StoreContext,
  type StoreStats,
  type StoredMessage,
  type StoredPair,
  type WriteResult,
  inboxChannel,
  pairChannel,
  pairRoleOf,
} from './store.js';

interface MemoryPair extends StoredPair {
  address: string;
  fields: Record<Role, WritableFields>;
}

type WritableFields = Record<PairField, string | undefined>;

/**
 * A role's fields with every key there from the start, undefined until written. Adding a
 * property by a computed name (`own[field] = value` on an empty object) took V8's slow path
 * at every write, the largest single cost of a field write on this engine; setting one that
 * exists does not.
 */
function unwrittenFields(): WritableFields {
  return { commit: undefined, pake: undefined, confirm: undefined, bootstrap: undefined, abort: undefined, done: undefined };
}

interface MemoryInbox {
  slotId: string;
  ownerToken: Buffer;
  address: string;
  /** Live grants: the send token by grant_id. */
  grants: Map<string, string>;
  /** Oldest first; seq ascending, so the front is also the first to expire. */
  messages: StoredMessage[];
  lastSeq: number;
  bytes: number;
  /** What each grant's queued messages take of the inbox (its share), by grant_id. */
  shares: Map<string, { messages: number; bytes: number }>;
  lastUsedAt: number;
  /** Whether its owner ever used it (read, acknowledged, granted, revoked). */
  used: boolean;
}

/** How often the store walks every queue for messages past their lifetime. */
const MESSAGE_SWEEP_INTERVAL_MS = 60_000;

export function createMemoryStore(context: StoreContext): RelayStore {
  return new MemoryStore(context.limits);
}

export class MemoryStore implements RelayStore {
  readonly engine = 'memory';
  /** Insertion order is creation order, and every slot lives equally long: the oldest expire first. */
  private readonly pairs = new Map<string, MemoryPair>();
  private readonly pairsByAddress = new Counter();
  private readonly nameplates = new NameplateRegistry();
  /** Insertion order is last-use order (a use moves a slot to the end): the idlest expire first. */
  private readonly inboxes = new Map<string, MemoryInbox>();
  /** Inboxes whose owner never used them, oldest first: the first to go when the table is full. */
  private readonly unusedInboxes = new Map<string, MemoryInbox>();
  private readonly inboxesByAddress = new Counter();
  private readonly windows = new Map<number, SlidingWindowLimiter>();
  private readonly listeners: ((channel: string) => void)[] = [];
  private inboxMessages = 0;
  private inboxBytes = 0;
  private lastMessageSweep = Number.NEGATIVE_INFINITY;

  constructor(private readonly limits: RelayLimits) {}

  // -- Pair slots ---------------------------------------------------------------------------

  openPair(pair: { pairId: string; hostToken: string; expiresAt: number; address: string }, rate: RateHit, now: number): OpenResult {
    const refused = this.refusedRate(rate, now);
    if (refused) return refused;
    this.sweepPairs(now);
    if (this.pairs.size >= this.limits.maxOpenSlots) return { kind: 'capacity' };
    if (this.pairsByAddress.get(pair.address) >= this.limits.maxPairSlotsPerAddress) return { kind: 'address_cap' };
    const nameplate = this.nameplates.allocate(pair.pairId);
    // Written out rather than spread from `pair`: a spread copies through V8's generic object clone.
    const stored: MemoryPair = {
      pairId: pair.pairId,
      hostToken: pair.hostToken,
      expiresAt: pair.expiresAt,
      address: pair.address,
      nameplate,
      guestToken: undefined,
      fields: { host: unwrittenFields(), guest: unwrittenFields() },
      version: 0,
    };
    this.pairs.set(pair.pairId, stored);
    this.pairsByAddress.add(pair.address, 1);
    return { kind: 'opened', nameplate };
  }

  joinPair(nameplate: string, guestToken: string, rate: RateHit, now: number): JoinResult {
    const refused = this.refusedRate(rate, now);
    if (refused) return refused;
    this.sweepPairs(now);
    const entry = this.nameplates.lookup(nameplate, now);
    if (entry.kind === 'joined') return { kind: 'joined_already' };
    const pair = entry.kind === 'waiting' ? this.pairs.get(entry.pairId) : undefined;
    if (pair === undefined) return { kind: 'not_found' };
    this.nameplates.quarantine(nameplate, now + this.limits.nameplateQuarantineSeconds * 1000, 'joined');
    pair.guestToken = guestToken;
    return { kind: 'joined', pairId: pair.pairId, expiresAt: pair.expiresAt };
  }

  getPair(pairId: string, now: number): StoredPair | undefined {
    return this.livePair(pairId, now);
  }

  writeField(pairId: string, token: string, field: PairField, value: string, pakeCommit: string | undefined, now: number): WriteResult {
    const pair = this.livePair(pairId, now);
    if (!pair) return { kind: 'not_found' };
    const role = pairRoleOf(pair, token);
    if (!role) return { kind: 'unauthorized' };
    const own = pair.fields[role];
    const existing = own[field];
    if (existing !== undefined) return { kind: existing === value ? 'same' : 'conflict', role };
    if (field === 'pake') {
      if (pair.fields.host.commit === undefined || pair.fields.guest.commit === undefined) return { kind: 'commits_missing', role };
      if (own.commit !== pakeCommit) return { kind: 'commit_mismatch', role };
    }
    own[field] = value;
    pair.version++;
    if (pair.fields.host.done !== undefined && pair.fields.guest.done !== undefined) {
      this.removePair(pair, now);
      return { kind: 'finished', role };
    }
    this.emit(pairChannel(pairId));
    return { kind: 'written', role };
  }

  private livePair(pairId: string, now: number): MemoryPair | undefined {
    const pair = this.pairs.get(pairId);
    return pair && pair.expiresAt > now ? pair : undefined;
  }

  /** Deletes a slot that finished or expired; its long polls wake and answer 404. */
  private removePair(pair: MemoryPair, now: number): void {
    this.pairs.delete(pair.pairId);
    this.pairsByAddress.add(pair.address, -1);
    // A nameplate nobody joined is quarantined from now on too, so a late join meets a 404.
    if (pair.guestToken === undefined) this.nameplates.quarantine(pair.nameplate, now + this.limits.nameplateQuarantineSeconds * 1000, 'abandoned');
    this.emit(pairChannel(pair.pairId));
  }

  private sweepPairs(now: number): void {
    for (const pair of this.pairs.values()) {
      if (pair.expiresAt > now) break;
      this.removePair(pair, now);
    }
    this.nameplates.release(now);
  }

  // -- Inbox slots --------------------------------------------------------------------------

  allocateInbox(inbox: { slotId: string; ownerToken: string; address: string }, rate: RateHit, now: number): AllocateResult {
    const refused = this.refusedRate(rate, now);
    if (refused) return refused;
    this.sweepInboxes(now);
    if (this.inboxesByAddress.get(inbox.address) >= this.limits.maxInboxSlotsPerAddress) return 'address_cap';
    if (this.inboxes.size >= this.limits.maxInboxSlots) {
      // Full: the oldest inbox its owner never used makes room (a flood of allocations nobody
      // reads cannot lock out new identities, and cannot touch the ones in use).
      const unused = this.unusedInboxes.values().next();
      if (unused.done === true) return 'capacity';
      this.removeInbox(unused.value);
    }
    const slot: MemoryInbox = {
      slotId: inbox.slotId,
      ownerToken: Buffer.from(inbox.ownerToken, 'hex'),
      address: inbox.address,
      grants: new Map(),
      messages: [],
      lastSeq: 0,
      bytes: 0,
      shares: new Map(),
      lastUsedAt: now,
      used: false,
    };
    this.inboxes.set(slot.slotId, slot);
    this.unusedInboxes.set(slot.slotId, slot);
    this.inboxesByAddress.add(slot.address, 1);
    return 'allocated';
  }

  useInbox(slotId: string, ownerToken: string, now: number): OwnerResult {
    const slot = this.usedInbox(slotId, ownerToken, now);
    return typeof slot === 'string' ? slot : 'ok';
  }

  /** The slot once its owner token is checked and the use counted (useInbox), or why not. */
  private usedInbox(slotId: string, ownerToken: string, now: number): MemoryInbox | OwnerRefusal {
    const slot = this.liveInbox(slotId, now);
    if (!slot) return 'not_found';
    if (!timingSafeEqual(Buffer.from(ownerToken, 'hex'), slot.ownerToken)) return 'unauthorized';
    slot.lastUsedAt = now;
    slot.used = true;
    this.unusedInboxes.delete(slotId);
    // Moved to the end: the map stays in last-use order, so the sweep stops at the first live one.
    this.inboxes.delete(slotId);
    this.inboxes.set(slotId, slot);
    return slot;
  }

  addGrant(slotId: string, ownerToken: string, grant: { grantId: string; sendToken: string }, rate: RateHit, now: number): GrantResult {
    const slot = this.usedInbox(slotId, ownerToken, now);
    if (typeof slot === 'string') return slot;
    const refused = this.refusedRate(rate, now);
    if (refused) return refused;
    if (slot.grants.size >= this.limits.maxGrantsPerSlot) return 'full';
    slot.grants.set(grant.grantId, grant.sendToken);
    return 'granted';
  }

  revokeGrant(slotId: string, ownerToken: string, grantId: string, now: number): OwnerResult {
    const slot = this.usedInbox(slotId, ownerToken, now);
    if (typeof slot === 'string') return slot;
    if (slot.grants.delete(grantId) && slot.shares.has(grantId)) {
      const kept: StoredMessage[] = [];
      const dropped: StoredMessage[] = [];
      for (const message of slot.messages) (message.grantId === grantId ? dropped : kept).push(message);
      slot.messages = kept;
      this.forget(slot, dropped);
      this.emit(inboxChannel(slotId));
    }
    return 'ok';
  }

  postMessage(slotId: string, message: { grantId: string; sendToken: string; value: string; bytes: number }, rate: RateHit | undefined, now: number): PostResult {
    const refused = this.refusedRate(rate, now);
    if (refused) return refused;
    const slot = this.liveInbox(slotId, now);
    if (!slot) return { kind: 'not_found' };
    const held = slot.grants.get(message.grantId);
    if (held === undefined || !timingSafeEqual(Buffer.from(held, 'hex'), Buffer.from(message.sendToken, 'hex'))) return { kind: 'unauthorized' };
    this.dropExpiredMessages(slot, now);
    if (slot.messages.length >= this.limits.maxInboxMessages || slot.bytes + message.bytes > this.limits.maxInboxBytes) return { kind: 'full' };
    const share = slot.shares.get(message.grantId) ?? { messages: 0, bytes: 0 };
    if (share.messages >= this.limits.maxInboxMessagesPerGrant || share.bytes + message.bytes > this.limits.maxInboxBytesPerGrant) return { kind: 'grant_full' };
    const seq = ++slot.lastSeq;
    slot.messages.push({ seq, value: message.value, grantId: message.grantId, receivedAt: now, bytes: message.bytes });
    slot.bytes += message.bytes;
    share.messages++;
    share.bytes += message.bytes;
    slot.shares.set(message.grantId, share);
    this.inboxMessages++;
    this.inboxBytes += message.bytes;
    this.emit(inboxChannel(slotId));
    return { kind: 'posted' };
  }

  readMessages(slotId: string, ownerToken: string | undefined, after: number, limit: number, now: number): ReadResult {
    const slot = ownerToken === undefined ? (this.liveInbox(slotId, now) ?? 'not_found') : this.usedInbox(slotId, ownerToken, now);
    if (typeof slot === 'string') return slot;
    this.dropExpiredMessages(slot, now);
    const messages: StoredMessage[] = [];
    for (const message of slot.messages) {
      if (message.seq <= after) continue;
      messages.push(message);
      if (messages.length >= limit) break;
    }
    return { messages, lastSeq: slot.lastSeq };
  }

  ackMessages(slotId: string, ownerToken: string, through: number, now: number): OwnerResult {
    const slot = this.usedInbox(slotId, ownerToken, now);
    if (typeof slot === 'string') return slot;
    let count = 0;
    while (count < slot.messages.length && (slot.messages[count]?.seq ?? Infinity) <= through) count++;
    this.deleteMessages(slot, count);
    return 'ok';
  }

  private liveInbox(slotId: string, now: number): MemoryInbox | undefined {
    const slot = this.inboxes.get(slotId);
    if (slot === undefined) return undefined;
    if (slot.lastUsedAt + this.limits.inboxIdleSeconds * 1000 > now) return slot;
    this.removeInbox(slot);
    return undefined;
  }

  /** Drops the messages at the front of the queue that outlived `messageLifetimeSeconds`. */
  private dropExpiredMessages(slot: MemoryInbox, now: number): void {
    const receivedBefore = now - this.limits.messageLifetimeSeconds * 1000;
    let count = 0;
    while (count < slot.messages.length && (slot.messages[count]?.receivedAt ?? Infinity) <= receivedBefore) count++;
    this.deleteMessages(slot, count);
  }

  private deleteMessages(slot: MemoryInbox, count: number): void {
    if (count === 0) return;
    this.forget(slot, slot.messages.splice(0, count));
  }

  /** Takes messages already removed from the queue off the counts (the inbox's, their grants' and the store's). */
  private forget(slot: MemoryInbox, removed: readonly StoredMessage[]): void {
    for (const message of removed) {
      slot.bytes -= message.bytes;
      this.inboxBytes -= message.bytes;
      this.inboxMessages--;
      const share = slot.shares.get(message.grantId);
      if (share === undefined) continue;
      share.messages--;
      share.bytes -= message.bytes;
      if (share.messages === 0) slot.shares.delete(message.grantId);
    }
  }

  /** Deletes an inbox slot (idle too long, or evicted); its long polls wake and answer 404. */
  private removeInbox(slot: MemoryInbox): void {
    this.inboxes.delete(slot.slotId);
    this.unusedInboxes.delete(slot.slotId);
    this.inboxesByAddress.add(slot.address, -1);
    this.deleteMessages(slot, slot.messages.length);
    this.emit(inboxChannel(slot.slotId));
  }

  private sweepInboxes(now: number): void {
    const idleBefore = now - this.limits.inboxIdleSeconds * 1000;
    for (const slot of this.inboxes.values()) {
      if (slot.lastUsedAt > idleBefore) break;
      this.removeInbox(slot);
    }
  }

  // -- Rate limits, changes, upkeep ---------------------------------------------------------

  /**
   * Takes `rate`'s hit, or answers the refusal when its window is full; nothing to take when
   * there is no hit (a post that presents no send token). What an open, a join, an allocation and
   * a post do first, on this engine and the SQLite one (which keeps its windows here).
   */
  refusedRate(rate: RateHit | undefined, now: number): RateLimited | undefined {
    if (rate === undefined) return undefined;
    const retryAfterMs = this.takeRate(rate.key, rate.limit, rate.windowMs, now);
    return retryAfterMs === undefined ? undefined : { kind: 'rate_limited', retryAfterMs };
  }

  takeRate(key: string, limit: number, windowMs: number, now: number): number | undefined {
    let limiter = this.windows.get(windowMs);
    if (!limiter) {
      limiter = new SlidingWindowLimiter(windowMs);
      this.windows.set(windowMs, limiter);
    }
    return limiter.take(key, limit, now);
  }

  onChange(listener: (channel: string) => void): void {
    this.listeners.push(listener);
  }

  private emit(channel: string): void {
    for (const listener of this.listeners) listener(channel);
  }

  sweep(now: number): Promise<void> {
    this.sweepPairs(now);
    this.sweepInboxes(now);
    for (const limiter of this.windows.values()) limiter.sweep(now);
    if (now - this.lastMessageSweep >= MESSAGE_SWEEP_INTERVAL_MS) {
      this.lastMessageSweep = now;
      for (const slot of this.inboxes.values()) this.dropExpiredMessages(slot, now);
    }
    return Promise.resolve();
  }

  stats(): StoreStats {
    let rateLimitedAddresses = 0;
    for (const limiter of this.windows.values()) rateLimitedAddresses += limiter.size;
    return {
      pairSlots: this.pairs.size,
      waitingNameplates: this.nameplates.waitingCount,
      quarantinedNameplates: this.nameplates.quarantinedCount,
      inboxSlots: this.inboxes.size,
      inboxMessages: this.inboxMessages,
      inboxBytes: this.inboxBytes,
      rateLimitedAddresses,
    };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Counts per key, forgetting keys that reach 0. */
class Counter {
  private readonly counts = new Map<string, number>();
  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }
  add(key: string, delta: number): void {
    const next = this.get(key) + delta;
    if (next <= 0) this.counts.delete(key);
    else this.counts.set(key, next);
  }
}

// -- Nameplates ---------------------------------------------------------------------------

/** Random draws for a free nameplate before walking the range from a random start. */
const MAX_NAMEPLATE_DRAWS = 64;

type NameplateEntry = { kind: 'waiting'; pairId: string } | { kind: 'joined' } | { kind: 'free' };

/**
 * Which nameplates are taken: by a pairing that waits for its guest, or by quarantine (after a
 * join or after the slot ended) so a late join never reaches a stranger's pairing. Hands out a
 * random free nameplate of the fewest digits that still has one free: 2 digits (10 to 99)
 * while fewer than 90 are taken, then 3, and so on. (With quarantine, "taken" counts
 * quarantined nameplates too, so 3 digits can start a little before 90 pairings wait.)
 */
class NameplateRegistry {
  private readonly waiting = new Map<string, string>();
  /** Insertion order is release order (the quarantine is one length, and the clock moves forward). */
  private readonly quarantined = new Map<string, { until: number; reason: 'joined' | 'abandoned' }>();
  private readonly takenByDigits = new Map<number, number>();

  get waitingCount(): number {
    return this.waiting.size;
  }
  get quarantinedCount(): number {
    return this.quarantined.size;
  }

  lookup(nameplate: string, now: number): NameplateEntry {
    const pairId = this.waiting.get(nameplate);
    if (pairId !== undefined) return { kind: 'waiting', pairId };
    const held = this.quarantined.get(nameplate);
    return held?.reason === 'joined' && held.until > now ? { kind: 'joined' } : { kind: 'free' };
  }

  allocate(pairId: string): string {
    for (let digits = 2; ; digits++) {
      const low = 10 ** (digits - 1);
      const size = 9 * low;
      const taken = this.takenByDigits.get(digits) ?? 0;
      if (taken >= size) continue;
      const nameplate = this.pickFree(low, size);
      this.waiting.set(nameplate, pairId);
      this.count(nameplate, 1);
      return nameplate;
    }
  }

  /** Moves a nameplate from waiting (or an earlier quarantine) into quarantine until `until`. */
  quarantine(nameplate: string, until: number, reason: 'joined' | 'abandoned'): void {
    const wasTaken = this.waiting.delete(nameplate) || this.quarantined.delete(nameplate);
    this.quarantined.set(nameplate, { until, reason });
    if (!wasTaken) this.count(nameplate, 1);
  }

  release(now: number): void {
    for (const [nameplate, held] of this.quarantined) {
      if (held.until > now) break;
      this.quarantined.delete(nameplate);
      this.count(nameplate, -1);
    }
  }

  private isTaken(nameplate: string): boolean {
    return this.waiting.has(nameplate) || this.quarantined.has(nameplate);
  }

  /**
   * A random free nameplate of a range that has one. Rejection sampling is uniform over the
   * free ones and takes size/free draws on average (2 at half taken, 10 at 90%). Only once a
   * range is so full that 64 draws all miss (1 open in 4 at 98% taken) does it take the
   * first free one after a random start: nearly uniform, and linear in the gap, not the range.
   * (Listing every free nameplate of a half-full range cost 0.3 ms per open at 4 digits, ten
   * times that at 5, which a busy relay reaches through the 60-second quarantine.)
   */
  private pickFree(low: number, size: number): string {
    for (let draw = 0; draw < MAX_NAMEPLATE_DRAWS; draw++) {
      const candidate = String(randomInt(low, low + size));
      if (!this.isTaken(candidate)) return candidate;
    }
    const start = randomInt(size);
    for (let step = 0; step < size; step++) {
      const candidate = String(low + ((start + step) % size));
      if (!this.isTaken(candidate)) return candidate;
    }
    throw new Error('nameplate range reported free but has no free nameplate');
  }

  private count(nameplate: string, delta: number): void {
    this.takenByDigits.set(nameplate.length, (this.takenByDigits.get(nameplate.length) ?? 0) + delta);
  }
}

// -- Rate limiting ------------------------------------------------------------------------

/** A sliding window per key: at most `limit` hits in any `windowMs`. */
class SlidingWindowLimiter {
  private readonly hits = new Map<string, number[]>();
  private lastSweep = Number.NEGATIVE_INFINITY;

  constructor(private readonly windowMs: number) {}

  get size(): number {
    return this.hits.size;
  }

  /**
   * Records a hit and returns undefined, or refuses it and returns ms until one is allowed. A
   * key's hits are kept oldest first and only those inside the window: the ones that left it go
   * from the front, so a hit costs O(1) amortised instead of a pass over the whole window.
   */
  take(key: string, limit: number, now: number): number | undefined {
    let times = this.hits.get(key);
    if (times === undefined) {
      times = [];
      this.hits.set(key, times);
    }
    let expired = 0;
    while (expired < times.length && (times[expired] ?? now) <= now - this.windowMs) expired++;
    if (expired > 0) times.splice(0, expired);
    if (times.length >= limit) return (times[times.length - limit] ?? now) + this.windowMs - now;
    times.push(now);
    return undefined;
  }

  /** Forgets keys with no hit inside the window; walks every key, so at most once a window. */
  sweep(now: number): void {
    if (now - this.lastSweep < this.windowMs) return;
    this.lastSweep = now;
    for (const [key, times] of this.hits) {
      if ((times[times.length - 1] ?? 0) <= now - this.windowMs) this.hits.delete(key);
    }
  }
}
