// Where the relay keeps its state: pair slots, nameplates and their quarantines, inbox slots,
// grants, queued messages and rate-limit windows. server.ts speaks HTTP and validates; a store
// answers whether a request can happen and makes it happen, each operation atomically, so
// several relay processes on one shared store (Redis) behave like one relay.
//
// Three engines: memory (memoryStore.ts, nothing to install: tests and throwaway relays), SQLite
// (sqliteStore.ts, `--store sqlite:PATH`, one file: the local relay's default, a single-node
// relay that keeps what it holds across restarts) and Redis (redisStore.ts,
// `--store redis://HOST:PORT[/DB]`, many relay processes). Every time a store reads is the relay's
// clock (`now`, injectable so tests reach lifetimes without waiting); TTLs a store sets are only
// garbage collection, never what decides that something expired.
//
// A store tells the relay that something changed (a field written, a message posted, a slot
// deleted) through `onChange`, with the channel of the thing, so long polls re-read; the Redis
// engine carries these across processes over pub/sub and, after it reconnects (when it may
// have missed some), reports ALL_CHANNELS so every waiter re-reads.

import type { PairField, Role } from '../core/ports.js';
import type { RelayLimits } from './contract.js';

export interface StoredPair {
  pairId: string;
  nameplate: string;
  expiresAt: number;
  hostToken: string;
  guestToken: string | undefined;
  fields: Record<Role, StoredFields>;
  version: number;
}

/**
 * A role's written fields. A field not written is absent or undefined: the memory engine keeps
 * every key from the start (see MemoryStore), the others leave unwritten ones out.
 */
export type StoredFields = { readonly [F in PairField]?: string | undefined };

/**
 * The role whose token `token` (64 lowercase hex characters, as every stored token is) is, or
 * undefined: compared with the roles' tokens, each comparison in time that depends only on the
 * length, so a guess learns nothing from how long a refusal took. A refusal always compares
 * with both; only the host's own token skips the second comparison, which tells the host
 * nothing it did not know.
 */
export function pairRoleOf(pair: StoredPair, token: string): Role | undefined {
  if (tokensEqual(token, pair.hostToken)) return 'host';
  return pair.guestToken !== undefined && tokensEqual(token, pair.guestToken) ? 'guest' : undefined;
}

/**
 * Whether two token strings are equal, looking at every character whatever it finds (as
 * constantTimeEqual in core/bytes.ts does for bytes): without first turning both into Buffers,
 * which cost the relay more than the rest of a token check.
 */
function tokensEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}

/**
 * The hit an operation takes on a sliding rate window (as takeRate does) before it does anything
 * else (a grant: once its owner is checked): in the same store call, so an open, a join, an
 * allocation, a grant or a post costs one round trip to a shared store, not two or three.
 */
export interface RateHit {
  key: string;
  limit: number;
  windowMs: number;
}

/** The operation's rate window was full: nothing was done, and a hit is allowed in `retryAfterMs`. */
export type RateLimited = { kind: 'rate_limited'; retryAfterMs: number };

export type OpenResult = { kind: 'opened'; nameplate: string } | { kind: 'capacity' } | { kind: 'address_cap' } | RateLimited;

export type JoinResult = { kind: 'joined'; pairId: string; expiresAt: number } | { kind: 'joined_already' } | { kind: 'not_found' } | RateLimited;

export type AllocateResult = 'allocated' | 'capacity' | 'address_cap' | RateLimited;

/**
 * What a field write did: `written` (version bumped, or `finished` when it was the second
 * `done` and the slot is gone), `same` (the value was there already), `conflict` (another value
 * was), `commits_missing` (a pake before both commits), `commit_mismatch` (a pake that does not
 * match the writer's commit), with the role whose token was presented; or `not_found` (no live
 * slot), `unauthorized` (the token is neither role's).
 */
export type WriteResult =
  | { kind: 'written' | 'finished' | 'same' | 'conflict' | 'commits_missing' | 'commit_mismatch'; role: Role }
  | { kind: 'not_found' | 'unauthorized' };

export type OwnerResult = 'ok' | 'not_found' | 'unauthorized';

/** Why an owner's request went no further: the slot is gone, or the token is not its owner's. */
export type OwnerRefusal = Exclude<OwnerResult, 'ok'>;

export type GrantResult = 'granted' | 'full' | OwnerRefusal | RateLimited;

/** A page of messages, or why there is none. */
export type ReadResult = MessagePage | OwnerRefusal;

/** `full`: the inbox holds the most it keeps; `grant_full`: this grant holds its share of it. */
export type PostResult = { kind: 'posted' } | { kind: 'not_found' } | { kind: 'unauthorized' } | { kind: 'full' } | { kind: 'grant_full' } | RateLimited;

export interface StoredMessage {
  seq: number;
  /** Base64 of the envelope, as posted. */
  value: string;
  grantId: string;
  receivedAt: number;
  /** Decoded envelope bytes. */
  bytes: number;
}

export interface MessagePage {
  messages: StoredMessage[];
  lastSeq: number;
}

/** Counts for stats and metrics; a shared store's are the whole relay's, not one process's. */
export interface StoreStats {
  pairSlots: number;
  waitingNameplates: number;
  quarantinedNameplates: number;
  inboxSlots: number;
  inboxMessages: number;
  inboxBytes: number;
  rateLimitedAddresses: number;
}

/** The channel a change to a pair slot is announced on. */
export function pairChannel(pairId: string): string {
  return `pair:${pairId}`;
}
/** The channel a change to an inbox slot is announced on. */
export function inboxChannel(slotId: string): string {
  return `inbox:${slotId}`;
}
/** Every channel at once: after a store reconnects, every waiter re-reads. */
export const ALL_CHANNELS = '*';

/**
 * What a store operation gives: the answer itself when the engine has it at once (the memory
 * engine, and SQLite's pair slots), or a promise of it (Redis, SQLite's inboxes). The relay goes
 * on synchronously with the first, so a request the memory engine serves costs no promise and no
 * microtask between the request's arrival and its answer.
 */
export type StoreAnswer<T> = T | Promise<T>;

/** `next(value)`: at once when `answer` is the value itself, else once its promise resolves. */
export function andThen<T, R>(answer: StoreAnswer<T>, next: (value: T) => StoreAnswer<R>): StoreAnswer<R> {
  return answer instanceof Promise ? answer.then(next) : next(answer);
}

export interface RelayStore {
  /** `memory`, `sqlite` or `redis`, for logs and metrics. */
  readonly engine: string;

  /** Takes the rate hit, then creates a pair slot and gives it a random free nameplate of the fewest digits. */
  openPair(pair: { pairId: string; hostToken: string; expiresAt: number; address: string }, rate: RateHit, now: number): StoreAnswer<OpenResult>;
  /** Takes the rate hit, then joins. One guess per nameplate: a join makes the nameplate stop resolving, right or wrong code. */
  joinPair(nameplate: string, guestToken: string, rate: RateHit, now: number): StoreAnswer<JoinResult>;
  /** The live slot, or undefined (unknown, finished, or expired at `now`). Read-only. */
  getPair(pairId: string, now: number): StoreAnswer<StoredPair | undefined>;
  /**
   * Authenticates `token` as one of the slot's roles (in constant time) and writes that role's
   * field once; a `pake` only once both commits are present and if `pakeCommit` (what its value
   * hashes to) is the writer's commit. The second `done` deletes the slot. One store call, so a
   * write costs one round trip to a shared store.
   */
  writeField(pairId: string, token: string, field: PairField, value: string, pakeCommit: string | undefined, now: number): StoreAnswer<WriteResult>;

  /** Takes the rate hit, then creates an inbox slot, or answers `capacity` when the relay holds the most it keeps. */
  allocateInbox(inbox: { slotId: string; ownerToken: string; address: string }, rate: RateHit, now: number): StoreAnswer<AllocateResult>;
  /**
   * Checks the owner token (constant time) and counts the request as the owner's use of the slot.
   * Every owner's request does this first: a grant, a revocation, a read and an acknowledgement in
   * their own store call (one round trip to a shared store, atomic with the check), so the relay
   * calls this alone only for an owner's request it then refuses as malformed.
   */
  useInbox(slotId: string, ownerToken: string, now: number): StoreAnswer<OwnerResult>;
  /** As useInbox, then takes the rate hit, then adds the grant unless the slot holds `maxGrantsPerSlot`. */
  addGrant(slotId: string, ownerToken: string, grant: { grantId: string; sendToken: string }, rate: RateHit, now: number): StoreAnswer<GrantResult>;
  /** As useInbox, then forgets the grant and deletes its queued messages, which frees its share of the inbox. */
  revokeGrant(slotId: string, ownerToken: string, grantId: string, now: number): StoreAnswer<OwnerResult>;
  /**
   * Takes the rate hit if there is one (a post that presents no send token has none), then queues
   * a message if the send token is a live grant of the slot, and the inbox and the grant's share
   * of it have room.
   */
  postMessage(slotId: string, message: { grantId: string; sendToken: string; value: string; bytes: number }, rate: RateHit | undefined, now: number): StoreAnswer<PostResult>;
  /**
   * Up to `limit` messages with seq > after, oldest first, or `not_found` if the slot is gone.
   * With an owner token, as useInbox first; without, a long poll's re-read of a slot whose owner
   * its first read checked.
   */
  readMessages(slotId: string, ownerToken: string | undefined, after: number, limit: number, now: number): StoreAnswer<ReadResult>;
  /** As useInbox, then deletes the queued messages up to seq `through`. */
  ackMessages(slotId: string, ownerToken: string, through: number, now: number): StoreAnswer<OwnerResult>;

  /**
   * A sliding window: records a hit under `key` and returns undefined, or refuses it and
   * returns the milliseconds until one is allowed (at most `limit` hits in any `windowMs`).
   */
  takeRate(key: string, limit: number, windowMs: number, now: number): StoreAnswer<number | undefined>;

  /** Called with a channel (or ALL_CHANNELS) whenever something a long poll may wait for changed. */
  onChange(listener: (channel: string) => void): void;
  /** Drops what expired by `now` and refreshes the counts `stats` reports. */
  sweep(now: number): Promise<void>;
  /** The counts as of the last sweep (the memory engine's are always current). */
  stats(): StoreStats;
  close(): Promise<void>;
}

/** What a store engine is built from. */
export interface StoreContext {
  limits: RelayLimits;
}

export type StoreFactory = (context: StoreContext) => RelayStore;

/**
 * The store cannot answer (Redis unreachable, a timeout): the relay answers 503 `capacity` with
 * Retry-After, never a guess.
 */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}
