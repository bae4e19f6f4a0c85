// The small interfaces through which the core meets the world. Adapters (the relay HTTP
// client, Node's clock and CSPRNG, VS Code's SecretStorage and workspace state, 0600 files)
// implement them; tests implement them with real objects or recording fakes.

/** Milliseconds since the Unix epoch; injectable so TTLs can be tested without waiting. */
export interface Clock {
  now(): number;
  /** Resolves after `ms`; sessions use it only between polls that returned nothing new. */
  sleep(ms: number): Promise<void>;
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
  grant(slotId: string, ownerToken: string): Promise<{ sendToken: string }>;
}

/** Builds the RelayPort for a relay URL; sessions may talk to different relays. */
export type RelayConnector = (url: string) => RelayPort;

/**
 * Asks the person (never the agent) to verify the SAS: shows them `sas` and returns the six
 * digits they typed, as read out by the peer. Rejects with `cancelled` or `confirm_unavailable`.
 */
export interface ConfirmPort {
  askForDigits(request: { sessionId: string; sas: string; peerHint: string; expiresAt: number }): Promise<string>;
}
