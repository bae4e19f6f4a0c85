// Receive keys (PROTOCOL.md 7.1 and 7.2): the keys this side gives each peer to seal its
// messages to (their secrets, kept and deleted here), and the pool of keys each peer gave this
// side (spent here, oldest first). Pure over the ports: the caller holds the identity's mail
// lock around every call, so two processes never spend one one-time key or give the same slot
// twice (Mailbox.exclusive); the receive runner calls in while it already holds it.
//
// Storage keys:
//   vault  `rkeys.<fp>`             {"n","keys"}: the secrets of the keys given to that peer, and
//                                   which write this is. A deleted secret is gone: the whole value
//                                   is rewritten without it (the CLI's file store writes a new file
//                                   and renames it over the old one; nothing keeps a copy).
//   vault  `rkeys.pairing.<pairId>` the keys sealed into a bootstrap, until the peer is pinned
//   memory `mail.rkeys.<...>.n`     how many times the vault value beside it was written: the
//                                   latest write, as the mail lock's files know it. VS Code's
//                                   SecretStorage shows a window what another window wrote only
//                                   a moment later, so a read waits until the vault shows that
//                                   write: rewriting an older copy would lose another window's
//                                   top-up (its peer's next messages refused as unknown_key) or
//                                   bring a deleted secret back.
//   memory `mail.keys.<fp>`         PeerKeys: the pool that peer gave, and whether it spoke v2
//                                   (public; `mail.` puts it with the mailbox in VS Code's locked files)

import { fromBase64, fromHex, requireBytes, toBase64, toHex, wipe } from './bytes.js';
import type { GivenKey } from './messagesV2.js';
import { curves } from './curves.js';
import type { Clock, Memory, Random, Vault } from './ports.js';

/** The kid of the identity-derived X25519 key (section 6.1): only the upgrading `keys` message uses it. */
export const IDENTITY_KID = 'id';
/** A message carries at most this many one-time keys (7.3), plus at most one last-resort key. */
export const MAX_ONE_TIME_KEYS_PER_MESSAGE = 16;
const X25519_KEY_LENGTH = 32;

/** The X25519 public key of a receive key's secret. */
export function receiveKeyPublic(secret: Uint8Array): Uint8Array {
  return curves().x25519PublicKey(requireBytes(secret, 'secret', X25519_KEY_LENGTH));
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** A peer should always hold at least this many one-time keys it has not used (7.1); the bootstrap gives this many. */
export const ONE_TIME_KEYS_TARGET = 8;
/**
 * Once the peer holds fewer than the target, a message gives it enough to hold this many (at
 * most 16 per message, 7.3): one refill, and one secrets write, per 8 messages instead of one
 * key and one write per message.
 */
export const ONE_TIME_KEYS_REFILL = MAX_ONE_TIME_KEYS_PER_MESSAGE;
/** A new last-resort key is given once the current one is this old. */
export const LAST_RESORT_ROTATION_MS = DAY_MS;
/** A last-resort secret is deleted this long after a newer one was given (the relay keeps a message 7 days). */
export const LAST_RESORT_GRACE_MS = 8 * DAY_MS;
/** An unused one-time key is deleted this long after it was given, here and in the peer's pool. */
export const ONE_TIME_KEY_LIFETIME_MS = 30 * DAY_MS;
/** At most this many secrets are kept per peer; the oldest unused one-time keys go first. */
export const MAX_SECRETS_PER_PEER = 64;
/** At most this many one-time keys are kept from one peer's gifts (a hostile peer cannot grow it). */
export const MAX_POOL_KEYS = 64;
const SECRET_LENGTH = 32;
const KID_BYTES = 8;
/** A read of a peer's secrets polls this often for the vault to show the latest write... */
export const SECRETS_CATCH_UP_POLL_MS = 50;
/** ...this many times (5 s), then goes on with what the vault shows (lost, not late: nothing newer will come). */
export const SECRETS_CATCH_UP_POLLS = 100;

interface HeldKey {
  kid: string;
  /** Hex of the X25519 secret. */
  secret: string;
  last?: true;
  givenAt: number;
  /** For a last-resort key: when a newer one was given. */
  supersededAt?: number;
}

/** The secrets under one vault key as read: what is not due for deletion, which write it was, how many were stored. */
interface HeldKeys {
  keys: HeldKey[];
  n: number;
  stored: number;
}

interface PoolKey {
  kid: string;
  pub: string;
  /** When this side received it. */
  givenAt: number;
}

interface PeerKeys {
  oneTime: PoolKey[];
  last?: PoolKey;
  /** A v2 message from this peer was accepted: it gets only v2 now, and its section 6 envelopes are refused. */
  spokeV2: boolean;
  /** The one `keys` message under kid "id" was sent (the upgrade of a peer pinned before section 7). */
  idKeysSent: boolean;
}

export interface ReceiveKeysDeps {
  vault: Vault;
  memory: Memory;
  random: Random;
  clock: Clock;
}

/** How to seal the next message to a peer. */
export type SendRoute =
  | { v: 2; kid: string; pub: Uint8Array; keys: GivenKey[] }
  /** No key from the peer yet: section 6, after the upgrading `keys` message when `upgrade` carries its keys. */
  | { v: 1; upgrade?: GivenKey[] };

/** What a person sees: whether that peer's messages have forward secrecy yet. */
export interface ForwardSecrecy {
  /** `on`: both ways; `upgrading`: one way so far (the other follows with the next message); `off`: the peer speaks only section 6 so far. */
  state: 'on' | 'upgrading' | 'off';
  /** This side seals to keys the peer gave (v2). */
  sending: boolean;
  /** The peer sealed to keys this side gave: its section 6 envelopes are refused. */
  receiving: boolean;
}

const heldKey = (fingerprint: string): string => `rkeys.${fingerprint}`;
const pairingKey = (pairId: string): string => `rkeys.pairing.${pairId}`;
const writesKey = (vaultKey: string): string => `mail.${vaultKey}.n`;
const poolKey = (fingerprint: string): string => `mail.keys.${fingerprint}`;

export class ReceiveKeys {
  /**
   * The secret bytes of the keys this object gave or opened with, by vault key and kid, while
   * the vault still holds that secret: the top-up computes a key's public key from them, and the
   * open that uses the key gets the same bytes, whose key object the curves built then (an X25519
   * import, as costly as the Diffie-Hellman, saved at every open). Wiped and forgotten as soon as
   * this object sees the vault no longer hold the key (every read and write of that vault key
   * compares, so another process's deletion is caught at the next one), at most the 64 held.
   */
  private readonly secretBytes = new Map<string, Map<string, { secret: string; bytes: Uint8Array }>>();
  /**
   * Each vault value and pool as last read or written here, with the text it was read from: a
   * message reads its peer's secrets three times (the top-up of the send, the open, the deletion
   * of the one-time key) and the pools twice, and parsing them again each time cost more than the
   * rest of those reads. Used only while the stored text is exactly the same (another process's
   * write is parsed afresh); callers get copies they may change.
   */
  private readonly parsedHeld = new Map<string, { text: string; stored: { list: unknown[]; n: number } }>();
  private readonly parsedPools = new Map<string, { text: string; stored: Partial<PeerKeys> }>();

  constructor(private readonly deps: ReceiveKeysDeps) {}

  // -- Keys this side gives ---------------------------------------------------------------------

  /**
   * The keys to put in the next message to `peer` (7.1 top-up): when it holds fewer than 8 unused
   * one-time keys, enough to hold 16; and a new last-resort key when the current one is a day
   * old. Their secrets are stored before this resolves (nothing is written when nothing is given).
   */
  async topUp(peer: string): Promise<GivenKey[]> {
    const held = await this.readHeld(heldKey(peer));
    const given = this.makeKeys(heldKey(peer), held.keys, ONE_TIME_KEYS_REFILL);
    if (given.length > 0) await this.writeHeld(heldKey(peer), held);
    return given;
  }

  /** The first keys (8 one-time, one last-resort) for a pairing's bootstrap, kept until the peer is pinned. */
  async forPairing(pairId: string): Promise<GivenKey[]> {
    const held = await this.readHeld(pairingKey(pairId));
    if (held.keys.length > 0) return held.keys.map((key) => givenKey(key.kid, this.bytesOf(pairingKey(pairId), key), key.last));
    const given = this.makeKeys(pairingKey(pairId), held.keys, ONE_TIME_KEYS_TARGET);
    await this.writeHeld(pairingKey(pairId), held);
    return given;
  }

  /** The peer of `pairId` was pinned: the keys its bootstrap gave are that peer's now. */
  async adoptPairing(pairId: string, peer: string): Promise<void> {
    const pending = await this.readHeld(pairingKey(pairId));
    if (pending.keys.length === 0) return;
    const held = await this.readHeld(heldKey(peer));
    const now = this.deps.clock.now();
    if (pending.keys.some((key) => key.last)) for (const key of held.keys) if (key.last && key.supersededAt === undefined) key.supersededAt = now;
    held.keys.push(...pending.keys);
    await this.writeHeld(heldKey(peer), held);
    await this.deleteHeld(pairingKey(pairId));
  }

  /** A pairing ended without pinning its peer: the keys sealed into its bootstrap are deleted. */
  async dropPairing(pairId: string): Promise<void> {
    await this.deleteHeld(pairingKey(pairId));
  }

  /**
   * The secret of `kid` if this side gave it to `peer` and still holds it (expired ones deleted
   * first). The bytes stay this object's: it wipes them once the key is deleted, so the caller
   * must not wipe or change them.
   */
  async secretFor(peer: string, kid: string): Promise<Uint8Array | undefined> {
    const held = await this.readHeld(heldKey(peer));
    const key = held.keys.find((entry) => entry.kid === kid);
    return key && this.bytesOf(heldKey(peer), key);
  }

  /**
   * A v2 message under `kid` from `peer`, sent at `sentAt`, is stored (7.4, in this order): a
   * one-time key's secret goes, the keys the message carried join the pool (given when it was
   * sent), and the peer counts as speaking v2.
   *
   * Not after the `keys` message under kid "id", though: its sender had no key of ours and keeps
   * sending section 6 until it hears v2 back (7.2), so refusing section 6 from then on would
   * drop exactly those messages. A peer speaks v2 once it seals to a key this side gave it.
   */
  async accepted(peer: string, kid: string, keys: GivenKey[], sentAt: number): Promise<void> {
    await this.used(peer, kid);
    await this.addToPool(peer, keys, sentAt);
    if (kid !== IDENTITY_KID) await this.markSpokeV2(peer);
  }

  /** A message under `kid` from `peer` is stored: a one-time key's secret goes now (7.1). */
  async used(peer: string, kid: string): Promise<void> {
    const held = await this.readHeld(heldKey(peer));
    const index = held.keys.findIndex((key) => key.kid === kid && !key.last);
    if (index < 0) return;
    held.keys.splice(index, 1);
    await this.writeHeld(heldKey(peer), held);
  }

  /** Deletes what 7.1 says is due (30-day one-time keys, superseded last-resort keys after 8 days). */
  async prune(peer: string): Promise<void> {
    const held = await this.readHeld(heldKey(peer));
    if (held.keys.length !== held.stored) await this.writeHeld(heldKey(peer), held);
  }

  // -- Keys the peer gave -----------------------------------------------------------------------

  /**
   * Adds keys `peer` gave (a bootstrap or an accepted v2 message) to its pool. They count as
   * given at `givenAt`, the carrying message's sent_at: the peer deletes an unused one 30 days
   * after it gave it, however long the message waited at the relay (up to 7 days).
   */
  async addToPool(peer: string, keys: GivenKey[], givenAt = this.deps.clock.now()): Promise<void> {
    if (keys.length === 0) return;
    const pool = await this.readPool(peer);
    const at = Math.min(givenAt, this.deps.clock.now());
    for (const key of keys) {
      if (key.last) pool.last = { kid: key.kid, pub: key.pub, givenAt: at };
      else if (!pool.oneTime.some((entry) => entry.kid === key.kid)) pool.oneTime.push({ kid: key.kid, pub: key.pub, givenAt: at });
    }
    pool.oneTime = pool.oneTime.slice(-MAX_POOL_KEYS);
    await this.writePool(peer, pool);
  }

  /** A bootstrap replaced what this side knew of `peer` (paired again): its pool is what it gave now. */
  async resetPool(peer: string, keys: GivenKey[]): Promise<void> {
    await this.deps.memory.delete(poolKey(peer));
    await this.addToPool(peer, keys);
  }

  /**
   * How to seal the next message to `peer` (7.2), spending what it chooses: the oldest unused
   * one-time key (dropped for good), else the current last-resort key; with fresh keys to give.
   * A peer that gave no key gets section 6, and once the keys it needs to upgrade.
   */
  async route(peer: string): Promise<SendRoute> {
    const pool = await this.readPool(peer);
    const oneTime = pool.oneTime.shift();
    const chosen = oneTime ?? pool.last;
    if (chosen) {
      // Spent for good before it is used; the last-resort key is reused, so nothing changes then.
      if (oneTime) await this.writePool(peer, pool);
      return { v: 2, kid: chosen.kid, pub: fromBase64(chosen.pub, 'receive key', SECRET_LENGTH), keys: await this.topUp(peer) };
    }
    if (pool.idKeysSent) return { v: 1 };
    pool.idKeysSent = true;
    await this.writePool(peer, pool);
    return { v: 1, upgrade: await this.topUp(peer) };
  }

  async spokeV2(peer: string): Promise<boolean> {
    return (await this.readPool(peer)).spokeV2;
  }

  /** A v2 message from `peer` was accepted: from now on its section 6 envelopes are refused. */
  async markSpokeV2(peer: string): Promise<void> {
    const pool = await this.readPool(peer);
    if (pool.spokeV2) return;
    pool.spokeV2 = true;
    await this.writePool(peer, pool);
  }

  async forwardSecrecy(peer: string): Promise<ForwardSecrecy> {
    const pool = await this.readPool(peer);
    const sending = pool.oneTime.length > 0 || pool.last !== undefined;
    return { state: sending && pool.spokeV2 ? 'on' : sending || pool.spokeV2 ? 'upgrading' : 'off', sending, receiving: pool.spokeV2 };
  }

  /** Forgetting a peer deletes every secret given to it and its pool. */
  async forget(peer: string): Promise<void> {
    await this.deleteHeld(heldKey(peer));
    await this.deps.memory.delete(poolKey(peer));
  }

  // -- Internals --------------------------------------------------------------------------------

  /** Makes the top-up into `held`, the keys under `vaultKey` (7.1): below 8 unused one-time keys, up to `refillTo`. */
  private makeKeys(vaultKey: string, held: HeldKey[], refillTo: number): GivenKey[] {
    const now = this.deps.clock.now();
    const given: GivenKey[] = [];
    const unused = held.filter((key) => !key.last).length;
    const wanted = unused < ONE_TIME_KEYS_TARGET ? Math.min(refillTo - unused, MAX_ONE_TIME_KEYS_PER_MESSAGE) : 0;
    for (let i = 0; i < wanted; i++) {
      const key = this.newKey(now);
      held.push(key);
      given.push(givenKey(key.kid, this.bytesOf(vaultKey, key)));
    }
    const current = held.filter((key) => key.last && key.supersededAt === undefined).at(-1);
    if (!current || current.givenAt + LAST_RESORT_ROTATION_MS <= now) {
      if (current) current.supersededAt = now;
      const key: HeldKey = { ...this.newKey(now), last: true };
      held.push(key);
      given.push(givenKey(key.kid, this.bytesOf(vaultKey, key), true));
    }
    return given;
  }

  private newKey(now: number): HeldKey {
    return { kid: toHex(this.deps.random.bytes(KID_BYTES)), secret: toHex(this.deps.random.bytes(SECRET_LENGTH)), givenAt: now };
  }

  /**
   * The held keys under `key`, without those 7.1 says are due for deletion (the caller writes
   * back). Waits (bounded) until the vault shows the latest write the locked files count.
   */
  private async readHeld(key: string): Promise<HeldKeys> {
    const written = parseWrites(await this.deps.memory.get(writesKey(key)));
    let stored = this.parseHeld(key, await this.deps.vault.get(key));
    for (let poll = 0; stored.n < written && poll < SECRETS_CATCH_UP_POLLS; poll++) {
      await this.deps.clock.sleep(SECRETS_CATCH_UP_POLL_MS);
      stored = this.parseHeld(key, await this.deps.vault.get(key));
    }
    const now = this.deps.clock.now();
    const keys = stored.list
      .filter(
        (entry): entry is HeldKey =>
          isHeldKey(entry) && (entry.last ? entry.supersededAt === undefined || entry.supersededAt + LAST_RESORT_GRACE_MS > now : entry.givenAt + ONE_TIME_KEY_LIFETIME_MS > now),
      )
      .map((entry) => ({ ...entry }));
    this.keepBytesOf(key, keys);
    return { keys, n: Math.max(stored.n, written), stored: stored.list.length };
  }

  /** parseStored of `text`, the vault value under `key`, parsed only if it is not the text last read or written here (see parsedHeld). */
  private parseHeld(key: string, text: string | undefined): { list: unknown[]; n: number } {
    const known = this.parsedHeld.get(key);
    if (known !== undefined && known.text === text) return known.stored;
    const stored = parseStored(text);
    if (text === undefined) this.parsedHeld.delete(key);
    else this.parsedHeld.set(key, { text, stored });
    return stored;
  }

  /** The bytes of a held key's secret, kept while the vault holds it (see secretBytes). */
  private bytesOf(vaultKey: string, key: HeldKey): Uint8Array {
    let byKid = this.secretBytes.get(vaultKey);
    if (byKid === undefined) {
      byKid = new Map();
      this.secretBytes.set(vaultKey, byKid);
    }
    const known = byKid.get(key.kid);
    if (known !== undefined && known.secret === key.secret) return known.bytes;
    if (known !== undefined) wipe(known.bytes);
    const bytes = fromHex(key.secret, 'receive key secret', SECRET_LENGTH);
    byKid.set(key.kid, { secret: key.secret, bytes });
    return bytes;
  }

  /** Wipes and forgets the bytes of every key `vaultKey` no longer holds as `held` says. */
  private keepBytesOf(vaultKey: string, held: HeldKey[]): void {
    const byKid = this.secretBytes.get(vaultKey);
    if (byKid === undefined) return;
    const secrets = new Map(held.map((key) => [key.kid, key.secret]));
    for (const [kid, known] of byKid) {
      if (secrets.get(kid) === known.secret) continue;
      wipe(known.bytes);
      byKid.delete(kid);
    }
    if (byKid.size === 0) this.secretBytes.delete(vaultKey);
  }

  /**
   * Rewrites the whole value (nothing kept of what was dropped), even an empty one, so another
   * window sees a deletion as the newest write too; then counts the write in the locked files.
   * Over 64 secrets, the oldest unused one-time keys go first (the list is in the order given).
   */
  private async writeHeld(key: string, held: HeldKeys): Promise<void> {
    for (let excess = held.keys.length - MAX_SECRETS_PER_PEER; excess > 0; excess--) {
      const oldest = held.keys.findIndex((entry) => !entry.last);
      if (oldest < 0) break;
      held.keys.splice(oldest, 1);
    }
    held.n += 1;
    const text = JSON.stringify({ n: held.n, keys: held.keys });
    // Forgotten first: if the write fails, the next read parses what is stored.
    this.parsedHeld.delete(key);
    await this.deps.vault.set(key, text);
    this.parsedHeld.set(key, { text, stored: { list: held.keys.map((entry) => ({ ...entry })), n: held.n } });
    this.keepBytesOf(key, held.keys);
    await this.deps.memory.set(writesKey(key), String(held.n));
  }

  /** The peer or pairing is gone: its secrets and their count. */
  private async deleteHeld(key: string): Promise<void> {
    this.parsedHeld.delete(key);
    await this.deps.vault.delete(key);
    this.keepBytesOf(key, []);
    await this.deps.memory.delete(writesKey(key));
  }

  private async readPool(peer: string): Promise<PeerKeys> {
    const now = this.deps.clock.now();
    const stored = this.parsePool(peer, await this.deps.memory.get(poolKey(peer)));
    const oneTime = Array.isArray(stored.oneTime) ? stored.oneTime.filter((key) => isPoolKey(key) && key.givenAt + ONE_TIME_KEY_LIFETIME_MS > now) : [];
    return { oneTime, ...(isPoolKey(stored.last) && { last: stored.last }), spokeV2: stored.spokeV2 === true, idKeysSent: stored.idKeysSent === true };
  }

  /** The pool stored as `text`, parsed only if it is not the text last read or written here (see parsedPools); its lists are never changed. */
  private parsePool(peer: string, text: string | undefined): Partial<PeerKeys> {
    if (text === undefined) {
      this.parsedPools.delete(peer);
      return {};
    }
    const known = this.parsedPools.get(peer);
    if (known !== undefined && known.text === text) return known.stored;
    let stored: Partial<PeerKeys>;
    try {
      stored = JSON.parse(text) as Partial<PeerKeys>;
    } catch {
      stored = {};
    }
    this.parsedPools.set(peer, { text, stored });
    return stored;
  }

  private async writePool(peer: string, pool: PeerKeys): Promise<void> {
    const text = JSON.stringify(pool);
    // Forgotten first: if the write fails, the next read parses what is stored.
    this.parsedPools.delete(peer);
    await this.deps.memory.set(poolKey(peer), text);
    this.parsedPools.set(peer, { text, stored: { ...pool, oneTime: [...pool.oneTime] } });
  }
}

function givenKey(kid: string, secret: Uint8Array, last?: true): GivenKey {
  const pub = toBase64(receiveKeyPublic(secret));
  return last ? { kid, pub, last } : { kid, pub };
}

/** A vault value: `{"n","keys"}`, or the bare list earlier builds wrote (write 0); anything else holds nothing. */
function parseStored(text: string | undefined): { list: unknown[]; n: number } {
  if (text === undefined) return { list: [], n: 0 };
  try {
    const value = JSON.parse(text) as unknown;
    if (Array.isArray(value)) return { list: value, n: 0 };
    if (typeof value === 'object' && value !== null) {
      const { n, keys } = value as Record<string, unknown>;
      return { list: Array.isArray(keys) ? keys : [], n: parseWrites(String(n)) };
    }
  } catch {
    // Unreadable: holds nothing.
  }
  return { list: [], n: 0 };
}

function parseWrites(text: string | undefined): number {
  const n = Number(text);
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}

function isHeldKey(value: unknown): value is HeldKey {
  if (typeof value !== 'object' || value === null) return false;
  const key = value as Record<string, unknown>;
  return typeof key['kid'] === 'string' && typeof key['secret'] === 'string' && typeof key['givenAt'] === 'number';
}

function isPoolKey(value: unknown): value is PoolKey {
  if (typeof value !== 'object' || value === null) return false;
  const key = value as Record<string, unknown>;
  return typeof key['kid'] === 'string' && typeof key['pub'] === 'string' && typeof key['givenAt'] === 'number';
}
