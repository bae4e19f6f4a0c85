// The small interfaces through which the core meets the world. Adapters (the relay HTTP
// client, Node's clock and CSPRNG, VS Code's SecretStorage and workspace state, 0600 files)
// implement them; tests implement them with real objects or recording fakes.

/** Milliseconds since the Unix epoch; injectable so TTLs can be tested without waiting. */
export interface Clock {
  now(): number;
  /**
   * Resolves after `ms`, or as soon as `signal` aborts (never rejects): the pairing runner's
   * backoff and its bounded waits, which a stop or a change ends early. `sleep(0)` resolves at
   * the event loop's next turn, once what is ready to run now has run (not a timer's minimum).
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** A CSPRNG. */
export interface Random {
  bytes(length: number): Uint8Array;
}

/** A string key-value store. `Vault` holds secrets; `Memory` holds everything that is not. */
export interface KeyValueStore {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
}
export type Vault = KeyValueStore;
export type Memory = KeyValueStore;

/** Protocol section 3: the fields each role writes once to a pair slot. */
export const PAIR_FIELDS = ['commit', 'pake', 'confirm', 'bootstrap', 'abort', 'done'] as const;
export type PairField = (typeof PAIR_FIELDS)[number];
export type Role = 'host' | 'guest';
export type FieldValues = Partial<Record<PairField, string>>;

export interface HostOpened {
  pairId: string;
  nameplate: string;
  token: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
}
export interface GuestJoined {
  pairId: string;
  token: string;
  expiresAt: number;
}
export interface SlotView {
  version: number;
  expiresAt: number;
  self: FieldValues;
  peer: FieldValues;
}
export interface InboxSlot {
  slotId: string;
  ownerToken: string;
}
/** A send token handed to one peer, and the id the relay reports with that peer's messages. */
export interface Grant {
  sendToken: string;
  /** hex(SHA-256(utf8(send_token)))[0:32] (PROTOCOL.md section 6.3). */
  grantId: string;
}
/** One stored envelope as the inbox owner reads it (PROTOCOL.md section 6.3). */
export interface InboxMessage {
  seq: number;
  /** Base64 of the envelope's UTF-8 canonical JSON. */
  value: string;
  grantId: string;
  /** The relay's clock, milliseconds since the epoch. */
  receivedAt: number;
}
export interface InboxPage {
  messages: InboxMessage[];
  lastSeq: number;
}

/**
 * One relay, as the core needs it. Errors are PairErrors: `expired` for a slot the relay no
 * longer knows (404 on a pair slot), `not_found` for an unknown nameplate, `conflict` for 409,
 * `rate_limited`, `relay_full`, `relay_unreachable`, `relay_error`, and `cancelled` for a long
 * poll whose caller's signal aborted.
 */
export interface RelayPort {
  readonly url: string;
  openHost(): Promise<HostOpened>;
  joinGuest(nameplate: string): Promise<GuestJoined>;
  put(pairId: string, token: string, field: PairField, value: string): Promise<void>;
  /**
   * With `after` and `waitSeconds`, a long poll: returns once version > after or the wait ends.
   * `signal` ends the poll early: once it aborts, the call rejects with `cancelled` at once.
   */
  get(pairId: string, token: string, poll?: { after: number; waitSeconds: number; signal?: AbortSignal }): Promise<SlotView>;
  allocateSlot(): Promise<InboxSlot>;
  grant(slotId: string, ownerToken: string): Promise<Grant>;
  /** Revokes one grant: that token's sends get 401 from now on. */
  revokeGrant(slotId: string, ownerToken: string, grantId: string): Promise<void>;
  /**
   * Posts one envelope (base64) to a peer's inbox. Errors: `inbox_full` (507), `revoked` (401:
   * unknown or revoked send token), `inbox_gone` (404), `rate_limited`, `too_large` (413).
   */
  postMessage(slotId: string, sendToken: string, envelope: string): Promise<void>;
  /** Reads the own inbox after `after`; with `waitSeconds`, a long poll. `inbox_gone` on 404. */
  readMessages(slotId: string, ownerToken: string, poll: { after: number; waitSeconds?: number; signal?: AbortSignal }): Promise<InboxPage>;
  /** Acknowledges (deletes) every message with seq <= `through`. */
  ackMessages(slotId: string, ownerToken: string, through: number): Promise<void>;
}

/** Builds the RelayPort for a relay URL; sessions may talk to different relays. */
export type RelayConnector = (url: string) => RelayPort;

/** One question to the person: their own SAS, and what to tell them. */
export interface DigitsRequest {
  sessionId: string;
  /** `ddd-ddd`: for the person's eyes only. */
  sas: string;
  nameplate: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
  /** True when their last answer was not six digits (nothing was checked). */
  again: boolean;
  /** Aborts once the question no longer counts (the session moved on): stop asking. */
  signal: AbortSignal;
}

/**
 * Asks the person (never the agent) to verify the SAS: shows them `sas` and returns what they
 * typed as read out by the peer (the runner checks its shape and asks again if need be).
 * Rejects with `cancelled` when the person gave up the prompt.
 */
export interface ConfirmPort {
  askForDigits(request: DigitsRequest): Promise<string>;
}

/** Gives a held MailLock back. */
export type MailLockRelease = () => Promise<void>;

/**
 * One identity's mailbox across processes: a CLI `inbox --follow`, an `agent-pair mcp` server
 * and VS Code windows may share one mailbox, and each mailbox write (and each pull, from reading
 * the relay to acknowledging what was stored) must run while no other process runs one, or two
 * of them store one message twice or overwrite each other's records. `tryLock` resolves a
 * release while this caller now holds it, or undefined while another process does; the core
 * serialises callers within one process and waits (bounded) between tries.
 */
export interface MailLock {
  tryLock(): Promise<MailLockRelease | undefined>;
}
