// The Redis engine of the relay store (`--store redis://HOST:PORT[/DB]`): every relay process
// on one Redis serves the same pairings and inboxes, and a restart of a process loses nothing.
//
// Each operation that reads and then writes is one Lua script, so it is atomic across processes
// (write-once fields, commit before reveal, version bumps, seq numbers, nameplate claims, caps).
// Times come from the relay's clock as arguments; the TTLs set here are garbage collection only,
// with a day's slack, never what decides that something expired.
// An open, a join, an inbox allocation and a post take their rate hit (take_rate) in their own
// script, and an owner's grant, revocation, read and acknowledgement check the owner (use_inbox)
// in theirs (a grant its rate hit too): one round trip per request, where a takeRate or useInbox
// script first made it two (a grant three).
//
// Changes are published on one channel (`<prefix>changes`, the message is the store channel,
// like `pair:<id>`); each process keeps ONE subscriber connection, and when that connection
// comes back after a drop it reports ALL_CHANNELS so every local long poll re-reads.
//
// Failures: commands are not queued while disconnected and not resent after a reconnect (a
// resent message post could be stored twice); a command that fails or takes longer than
// COMMAND_TIMEOUT_MS rejects with StoreUnavailableError, which the relay answers with 503.
//
// Tokens: pair tokens are stored as they are, for reads the relay authenticates in constant time,
// and as SHA-256 hashes for writes, which are authenticated inside Lua; inbox owner and send
// tokens are stored as hashes only. Lua compares hashes, so its timing says nothing about a token.
//
// Keys (a single Redis, not a cluster: scripts touch keys they derive from their arguments):
//   pair:<id>            hash: hostToken guestToken hostHash guestHash expiresAt nameplate address version h.<field> g.<field>
//   pairs                zset: pairId by expiresAt (the open-slot count)
//   addr-pairs:<addr>    zset: pairId by expiresAt (slots one address holds)
//   np:<nameplate>       "w:<pairId>:<expiresAt>" waiting, "j:<until>" joined, "a:<until>" abandoned
//   np-full:<digits>     the time before which no nameplate of that many digits frees up (a walked range found full)
//   inbox:<id>           hash: ownerHash address lastSeq bytes count lastUsedAt
//   grants:<id>          hash: grantId -> SHA-256 of the send token
//   msgs:<id>            zset: "<seq>|<receivedAt>|<bytes>|<grantId>|<value>" by seq
//   shares:<id>          hash: n.<grantId> b.<grantId>, what each grant's queued messages take (its share)
//   inboxes              zset: slotId by lastUsedAt
//   inboxes-unused       zset: slotId by allocation time, while its owner never used it
//   addr-inboxes:<addr>  zset: slotId by allocation time
//   totals               hash: messages bytes (queued in every inbox)
//   rate:<key>           zset: hits by time

import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import { Redis } from 'ioredis';
import { PAIR_FIELDS, type FieldValues, type PairField, type Role } from '../core/ports.js';
import type { RelayLimits } from './contract.js';
import { parseRedisUrl, redisLocation } from './storeUrl.js';
import { errorMessage } from '../core/errors.js';
import {
  type AllocateResult,
  type GrantResult,
  type JoinResult,
  type OpenResult,
  type OwnerRefusal,
  type OwnerResult,
  type PostResult,
  type RateHit,
  type ReadResult,
  type RelayStore,
  type StoreStats,
  type StoredMessage,
  type StoredPair,
  type WriteResult,
  ALL_CHANNELS,
  StoreUnavailableError,
} from './store.js';

/** A command that takes longer is a failure (503), not a hang; loopback Redis answers in well under 1 ms. */
const COMMAND_TIMEOUT_MS = 5_000;
/** How long connecting at start-up may take before the relay gives up. */
const CONNECT_TIMEOUT_MS = 5_000;
/** Added to every TTL: keys outlive what they hold by this much, so the clock decides, not Redis. */
const TTL_SLACK_MS = 24 * 3600 * 1000;
/** Random nameplate candidates per digit count, claimed in one script (2 digits first). */
const NAMEPLATE_CANDIDATES_PER_LENGTH = 24;
const NAMEPLATE_MAX_DIGITS = 9;
/**
 * Ranges of at most this many nameplates (2 digits) are walked once the random draws miss, so
 * codes stay 2 digits while one is free; a busier relay moves on to more digits after 24 misses
 * (walking the 3-digit range made each open 1,000 reads once it filled).
 */
const NAMEPLATE_WALK_MAX = 90;
/** Idle inboxes deleted per sweep or allocation, so one script never runs long. */
const IDLE_INBOXES_PER_SWEEP = 200;

/** Connects to Redis (both connections ready, scripts defined) or throws StoreUnavailableError. */
export async function connectRedisStore(url: string, limits: RelayLimits): Promise<RedisStore> {
  const address = parseRedisUrl(url);
  const options = {
    host: address.host,
    port: address.port,
    db: address.db,
    ...(address.username !== undefined && { username: address.username }),
    ...(address.password !== undefined && { password: address.password }),
    enableOfflineQueue: false,
    // Commands issued in one turn of the event loop go out in one write (many requests in flight).
    enableAutoPipelining: true,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectTimeout: CONNECT_TIMEOUT_MS,
    lazyConnect: true,
    // Reconnect forever, backing off to one attempt a second: a relay outlives a Redis restart.
    retryStrategy: (times: number) => Math.min(50 * times, 1_000),
  };
  const client = new Redis(options);
  // Not autoResubscribe: ioredis's own subscribe after a reconnect leaves its promise unhandled, so
  // a close while it is under way ends the process with an unhandled rejection; the store does it.
  const subscriber = new Redis({ ...options, enableOfflineQueue: true, commandTimeout: undefined, autoResubscribe: false });
  // Reported by failing commands (503) and by reconnecting; an 'error' event must be listened to.
  client.on('error', () => undefined);
  subscriber.on('error', () => undefined);
  try {
    await Promise.all([client.connect(), subscriber.connect()]);
  } catch (error) {
    client.disconnect();
    subscriber.disconnect();
    throw new StoreUnavailableError(
      `cannot reach Redis at ${redisLocation(address)} (${connectFailure(error)}); check that redis-server runs there and accepts connections from this machine, and that the --store URL's host, port, database and password are right`,
      { cause: error },
    );
  }
  const store = new RedisStore(client, subscriber, address.prefix, limits);
  await store.start();
  return store;
}

type Reply = string | number | null | Reply[];

export class RedisStore implements RelayStore {
  readonly engine = 'redis';
  private readonly listeners: ((channel: string) => void)[] = [];
  private readonly shas = new Map<keyof typeof SCRIPTS, string>();
  private cachedStats: StoreStats = { pairSlots: 0, waitingNameplates: 0, quarantinedNameplates: 0, inboxSlots: 0, inboxMessages: 0, inboxBytes: 0, rateLimitedAddresses: 0 };
  private closed = false;
  /**
   * What makes each rate-window hit of this process a member of its own (hits in the same
   * millisecond must not merge): random per process, so two relays on one Redis never share it,
   * then a count. A random member per hit drew 6 bytes from the CSPRNG each time, 11 µs of the
   * ~45 µs a flooded request cost the relay.
   */
  private readonly rateHitTag = `${randomBytes(6).toString('hex')}:`;
  private rateHits = 0;

  constructor(
    private readonly client: Redis,
    private readonly subscriber: Redis,
    private readonly prefix: string,
    private readonly limits: RelayLimits,
  ) {}

  async start(): Promise<void> {
    const channel = `${this.prefix}changes`;
    this.subscriber.on('message', (from: string, message: string) => {
      if (from === channel) this.emit(message);
    });
    let readyBefore = false;
    this.subscriber.on('ready', () => {
      if (!readyBefore) return;
      // Subscribed again, every waiter re-reads: whatever was published meanwhile is lost. A
      // subscribe that fails (the connection cut again, or the store closed) is retried by the
      // next reconnect; the waiters re-read either way.
      void this.subscriber
        .subscribe(channel)
        .catch(() => undefined)
        .then(() => {
          if (!this.closed) this.emit(ALL_CHANNELS);
        });
    });
    await this.subscriber.subscribe(channel);
    readyBefore = true;
    await this.loadScripts();
  }

  private async loadScripts(): Promise<void> {
    for (const [name, body] of Object.entries(SCRIPTS) as [keyof typeof SCRIPTS, string][]) {
      this.shas.set(name, (await this.client.script('LOAD', PRELUDE + body)) as string);
    }
  }

  /** Runs a script by its SHA, loading it again if Redis restarted and forgot it. */
  private async run(name: keyof typeof SCRIPTS, args: (string | number)[]): Promise<Reply> {
    if (this.closed) throw new StoreUnavailableError('the store is closed');
    const argv = [this.prefix, ...args.map(String)];
    try {
      const sha = this.shas.get(name) ?? '';
      try {
        return (await this.client.evalsha(sha, 0, ...argv)) as Reply;
      } catch (error) {
        if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
        // Redis restarted without the script: run it by its text, which loads it again.
        return (await this.client.eval(PRELUDE + SCRIPTS[name], 0, ...argv)) as Reply;
      }
    } catch (error) {
      if (error instanceof StoreUnavailableError) throw error;
      throw new StoreUnavailableError(`Redis did not answer ${name}: ${errorMessage(error)}`, { cause: error });
    }
  }

  private async command<T>(what: string, run: () => Promise<T>): Promise<T> {
    if (this.closed) throw new StoreUnavailableError('the store is closed');
    try {
      return await run();
    } catch (error) {
      throw new StoreUnavailableError(`Redis did not answer ${what}: ${errorMessage(error)}`, { cause: error });
    }
  }

  // -- Pair slots ---------------------------------------------------------------------------

  async openPair(pair: { pairId: string; hostToken: string; expiresAt: number; address: string }, rate: RateHit, now: number): Promise<OpenResult> {
    const reply = (await this.run('openPair', [
      pair.pairId,
      pair.hostToken,
      pair.expiresAt,
      pair.address,
      now,
      this.limits.maxOpenSlots,
      this.limits.maxPairSlotsPerAddress,
      this.limits.nameplateQuarantineSeconds * 1000,
      TTL_SLACK_MS,
      NAMEPLATE_CANDIDATES_PER_LENGTH,
      NAMEPLATE_WALK_MAX,
      sha256(pair.hostToken),
      nameplateDraws(),
      ...this.rateArguments(rate),
    ])) as [string, (string | number)?];
    // ['opened', nameplate], ['rate_limited', ms], or the kind alone.
    const [kind, detail] = reply;
    if (kind === 'opened' && typeof detail === 'string') return { kind: 'opened', nameplate: detail };
    if (kind === 'rate_limited') return { kind, retryAfterMs: Number(detail) };
    if (kind === 'address_cap') return { kind: 'address_cap' };
    // 'capacity', or (never in practice) no free nameplate among the candidates.
    return { kind: 'capacity' };
  }

  async joinPair(nameplate: string, guestToken: string, rate: RateHit, now: number): Promise<JoinResult> {
    const reply = (await this.run('joinPair', [nameplate, guestToken, now, this.limits.nameplateQuarantineSeconds * 1000, TTL_SLACK_MS, sha256(guestToken), ...this.rateArguments(rate)])) as [string, (string | number)?, string?];
    // ['joined', pairId, expiresAt], ['rate_limited', ms], or the kind alone.
    const [kind, detail, expiresAt] = reply;
    if (kind === 'rate_limited') return { kind, retryAfterMs: Number(detail) };
    if (kind === 'joined' && typeof detail === 'string' && expiresAt !== undefined) return { kind: 'joined', pairId: detail, expiresAt: Number(expiresAt) };
    return kind === 'joined_already' ? { kind: 'joined_already' } : { kind: 'not_found' };
  }

  async getPair(pairId: string, now: number): Promise<StoredPair | undefined> {
    const hash = await this.command('getPair', () => this.client.hgetall(`${this.prefix}pair:${pairId}`));
    const expiresAt = Number(hash['expiresAt']);
    const hostToken = hash['hostToken'];
    const nameplate = hash['nameplate'];
    if (hostToken === undefined || nameplate === undefined || !(expiresAt > now)) return undefined;
    const fields: Record<Role, FieldValues> = { host: {}, guest: {} };
    for (const field of PAIR_FIELDS) {
      const host = hash[`h.${field}`];
      const guest = hash[`g.${field}`];
      if (host !== undefined) fields.host[field] = host;
      if (guest !== undefined) fields.guest[field] = guest;
    }
    return { pairId, nameplate, expiresAt, hostToken, guestToken: hash['guestToken'], fields, version: Number(hash['version'] ?? 0) };
  }

  async writeField(pairId: string, token: string, field: PairField, value: string, pakeCommit: string | undefined, now: number): Promise<WriteResult> {
    const reply = (await this.run('writeField', [pairId, sha256(token), field, value, now, this.limits.nameplateQuarantineSeconds * 1000, TTL_SLACK_MS, pakeCommit ?? ''])) as [string, string?];
    const [kind, prefix] = reply;
    if (kind === 'not_found' || kind === 'unauthorized') return { kind };
    return { kind: kind as Exclude<WriteResult['kind'], 'not_found' | 'unauthorized'>, role: prefix === 'h' ? 'host' : 'guest' };
  }

  // -- Inbox slots --------------------------------------------------------------------------

  async allocateInbox(inbox: { slotId: string; ownerToken: string; address: string }, rate: RateHit, now: number): Promise<AllocateResult> {
    const reply = (await this.run('allocateInbox', [
      inbox.slotId,
      sha256(inbox.ownerToken),
      inbox.address,
      now,
      this.limits.inboxIdleSeconds * 1000,
      this.limits.maxInboxSlots,
      this.limits.maxInboxSlotsPerAddress,
      TTL_SLACK_MS,
      IDLE_INBOXES_PER_SWEEP,
      ...this.rateArguments(rate),
    ])) as [string, number?];
    const [kind, retryAfterMs] = reply;
    if (kind === 'rate_limited') return { kind, retryAfterMs: Number(retryAfterMs) };
    return kind as Exclude<AllocateResult, object>;
  }

  async useInbox(slotId: string, ownerToken: string, now: number): Promise<OwnerResult> {
    return (await this.run('useInbox', [slotId, ...this.ownerArguments(ownerToken, now)])) as OwnerResult;
  }

  /** What use_inbox in Lua is given after the slot id: the owner token's hash, the time, the idle limit and the TTL slack. */
  private ownerArguments(ownerToken: string, now: number): [string, number, number, number] {
    return [sha256(ownerToken), now, this.limits.inboxIdleSeconds * 1000, TTL_SLACK_MS];
  }

  async addGrant(slotId: string, ownerToken: string, grant: { grantId: string; sendToken: string }, rate: RateHit, now: number): Promise<GrantResult> {
    const reply = (await this.run('addGrant', [slotId, ...this.ownerArguments(ownerToken, now), grant.grantId, sha256(grant.sendToken), this.limits.maxGrantsPerSlot, ...this.rateArguments(rate)])) as [
      Exclude<GrantResult, object> | 'rate_limited',
      number?,
    ];
    const [kind, retryAfterMs] = reply;
    return kind === 'rate_limited' ? { kind, retryAfterMs: Number(retryAfterMs) } : kind;
  }

  async revokeGrant(slotId: string, ownerToken: string, grantId: string, now: number): Promise<OwnerResult> {
    return (await this.run('revokeGrant', [slotId, ...this.ownerArguments(ownerToken, now), grantId])) as OwnerResult;
  }

  async postMessage(slotId: string, message: { grantId: string; sendToken: string; value: string; bytes: number }, rate: RateHit | undefined, now: number): Promise<PostResult> {
    const reply = (await this.run('postMessage', [
      slotId,
      message.grantId,
      sha256(message.sendToken),
      message.value,
      message.bytes,
      now,
      this.limits.inboxIdleSeconds * 1000,
      this.limits.messageLifetimeSeconds * 1000,
      this.limits.maxInboxMessages,
      this.limits.maxInboxBytes,
      this.limits.maxInboxMessagesPerGrant,
      this.limits.maxInboxBytesPerGrant,
      // No hit to take: an empty key (a presented token's key is never empty).
      ...(rate === undefined ? ['', 0, 0, ''] : this.rateArguments(rate)),
    ])) as [Exclude<PostResult['kind'], 'rate_limited'>] | ['rate_limited', number];
    return reply[0] === 'rate_limited' ? { kind: 'rate_limited', retryAfterMs: reply[1] } : { kind: reply[0] };
  }

  async readMessages(slotId: string, ownerToken: string | undefined, after: number, limit: number, now: number): Promise<ReadResult> {
    // No owner token: an empty hash, which use_inbox is not asked to check (a stored hash is never empty).
    const owner = ownerToken === undefined ? ['', now, this.limits.inboxIdleSeconds * 1000, TTL_SLACK_MS] : this.ownerArguments(ownerToken, now);
    const reply = (await this.run('readMessages', [slotId, ...owner, after, limit, this.limits.messageLifetimeSeconds * 1000])) as OwnerRefusal | (string | number)[];
    if (typeof reply === 'string') return reply;
    const [lastSeq, ...members] = reply;
    return { lastSeq: Number(lastSeq), messages: members.map((member) => parseMember(String(member))) };
  }

  async ackMessages(slotId: string, ownerToken: string, through: number, now: number): Promise<OwnerResult> {
    return (await this.run('ackMessages', [slotId, ...this.ownerArguments(ownerToken, now), through])) as OwnerResult;
  }

  // -- Rate limits, changes, upkeep ---------------------------------------------------------

  async takeRate(key: string, limit: number, windowMs: number, now: number): Promise<number | undefined> {
    const reply = Number(await this.run('takeRate', [now, ...this.rateArguments({ key, limit, windowMs })]));
    return reply < 0 ? undefined : reply;
  }

  /** What take_rate in Lua is given: the window's key, limit and length, and this hit's member. */
  private rateArguments(rate: RateHit): [string, number, number, string] {
    return [rate.key, rate.limit, rate.windowMs, `${this.rateHitTag}${++this.rateHits}`];
  }

  onChange(listener: (channel: string) => void): void {
    this.listeners.push(listener);
  }

  private emit(channel: string): void {
    for (const listener of this.listeners) listener(channel);
  }

  async sweep(now: number): Promise<void> {
    const reply = (await this.run('sweep', [now, this.limits.inboxIdleSeconds * 1000, IDLE_INBOXES_PER_SWEEP])) as (string | number)[];
    const [pairSlots = 0, inboxSlots = 0, inboxMessages = 0, inboxBytes = 0] = reply.map(Number);
    this.cachedStats = { pairSlots, waitingNameplates: 0, quarantinedNameplates: 0, inboxSlots, inboxMessages, inboxBytes, rateLimitedAddresses: 0 };
  }

  /** As of the last sweep; the Redis engine does not count nameplates or rate windows. */
  stats(): StoreStats {
    return this.cachedStats;
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    // Not QUIT: it would wait for a Redis that may be down; nothing is pending once the relay closed.
    this.client.disconnect();
    this.subscriber.disconnect();
    return Promise.resolve();
  }
}

/** Why connecting failed, in words: ioredis says "Connection is closed" for a refused port too. */
function connectFailure(error: unknown): string {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
  const message = errorMessage(error);
  if (code === 'ECONNREFUSED' || /ECONNREFUSED|Connection is closed/.test(message)) return 'nothing accepts connections there';
  if (code === 'ENOTFOUND' || /ENOTFOUND|EAI_AGAIN/.test(message)) return 'the host name does not resolve';
  if (/ETIMEDOUT|timed? ?out/i.test(message)) return `no answer within ${CONNECT_TIMEOUT_MS / 1000} s`;
  if (/WRONGPASS|NOAUTH|invalid password/i.test(message)) return 'Redis refused the password';
  return message;
}

/**
 * The random nameplate candidates of one open, as one string: NAMEPLATE_CANDIDATES_PER_LENGTH
 * draws of 2 digits, then as many of 3, and so on up to NAMEPLATE_MAX_DIGITS; a draw of d digits
 * lies in [10^(d-1), 10^d), so it is exactly d characters and the script cuts the string apart.
 * One argument instead of 192: the script's ARGV and the command ioredis writes stay small.
 */
function nameplateDraws(): string {
  let draws = '';
  // Integer steps, not 10 ** (digits - 1): a float low made every draw a float, and String() of
  // a float is several times slower than of a small integer.
  for (let low = 10; low < 10 ** NAMEPLATE_MAX_DIGITS; low *= 10) {
    const range = 9 * low;
    const lastUnbiased = DRAW_MASK - ((DRAW_MASK + 1 - range) % range);
    for (let i = 0; i < NAMEPLATE_CANDIDATES_PER_LENGTH; i++) draws += String(low + drawBelow(range, lastUnbiased));
  }
  return draws;
}

/**
 * Random words from the CSPRNG, a pool at a time, masked to 30 bits (small integers to V8, and
 * enough for the 9-digit range): 192 crypto.randomInt calls and their strings cost an open
 * 25-30 µs, these draws and strings about half that (most of it making the strings).
 */
const drawPool = new Int32Array(1024);
const DRAW_MASK = 2 ** 30 - 1;
let drawPoolOffset = drawPool.length;

/**
 * A uniformly random integer in [0, range): a pool word, drawn again while it lies above
 * `lastUnbiased`, the end of the last whole multiple of range below 2^30 (as crypto.randomInt
 * does), so every remainder is equally likely.
 */
function drawBelow(range: number, lastUnbiased: number): number {
  for (;;) {
    if (drawPoolOffset === drawPool.length) {
      randomFillSync(drawPool);
      drawPoolOffset = 0;
    }
    const word = (drawPool[drawPoolOffset++] ?? 0) & DRAW_MASK;
    if (word <= lastUnbiased) return word % range;
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function parseMember(member: string): StoredMessage {
  const match = /^(\d+)\|(\d+)\|(\d+)\|([0-9a-f]+)\|(.*)$/s.exec(member);
  if (!match) throw new StoreUnavailableError('Redis holds a message this relay cannot read');
  return { seq: Number(match[1]), receivedAt: Number(match[2]), bytes: Number(match[3]), grantId: match[4] ?? '', value: match[5] ?? '' };
}

// -- Lua ------------------------------------------------------------------------------------
// ARGV[1] is always the key prefix. Numbers arrive as strings; times are ms since the epoch.

const PRELUDE = `
local P = ARGV[1]
local function num(x) return tonumber(x) end
-- HINCRBY refuses "-0", which is how Lua writes minus zero.
local function add(key, field, delta)
  if delta ~= 0 then redis.call('HINCRBY', key, field, delta) end
end

local function remove_inbox(id)
  local ik = P .. 'inbox:' .. id
  local h = redis.call('HMGET', ik, 'bytes', 'count')
  add(P .. 'totals', 'bytes', -(num(h[1]) or 0))
  add(P .. 'totals', 'messages', -(num(h[2]) or 0))
  redis.call('DEL', ik, P .. 'grants:' .. id, P .. 'msgs:' .. id, P .. 'shares:' .. id)
  redis.call('ZREM', P .. 'inboxes', id)
  redis.call('ZREM', P .. 'inboxes-unused', id)
  redis.call('PUBLISH', P .. 'changes', 'inbox:' .. id)
end

-- Checks an inbox's owner (by the hash of the token) and counts the request as the owner's use:
-- 'ok', 'not_found' (none, or idle past its limit: then deleted) or 'unauthorized'. Its
-- arguments are ARGV[from] .. ARGV[from + 3]: ownerHash, now, idleMs, slackMs. Every owner's
-- request runs it first, in its own script.
local function use_inbox(id, from)
  local now, idle = num(ARGV[from + 1]), num(ARGV[from + 2])
  local ik = P .. 'inbox:' .. id
  local h = redis.call('HMGET', ik, 'ownerHash', 'lastUsedAt')
  if not h[1] then return 'not_found' end
  if num(h[2]) + idle <= now then
    remove_inbox(id)
    return 'not_found'
  end
  if h[1] ~= ARGV[from] then return 'unauthorized' end
  redis.call('HSET', ik, 'lastUsedAt', now)
  redis.call('ZADD', P .. 'inboxes', now, id)
  redis.call('ZREM', P .. 'inboxes-unused', id)
  local ttl = idle + num(ARGV[from + 3])
  redis.call('PEXPIRE', ik, ttl)
  redis.call('PEXPIRE', P .. 'grants:' .. id, ttl)
  redis.call('PEXPIRE', P .. 'msgs:' .. id, ttl)
  redis.call('PEXPIRE', P .. 'shares:' .. id, ttl)
  return 'ok'
end

local function sweep_idle_inboxes(now, idle, max)
  local old = redis.call('ZRANGEBYSCORE', P .. 'inboxes', '-inf', now - idle, 'LIMIT', 0, max)
  for _, id in ipairs(old) do remove_inbox(id) end
end

-- Takes one removed message (a zset member) off its grant's share.
local function unshare(id, m)
  local bytes, grantId = string.match(m, '^%d+|%d+|(%d+)|(%x+)|')
  local sk = P .. 'shares:' .. id
  if redis.call('HINCRBY', sk, 'n.' .. grantId, -1) <= 0 then
    redis.call('HDEL', sk, 'n.' .. grantId, 'b.' .. grantId)
  else
    redis.call('HINCRBY', sk, 'b.' .. grantId, -num(bytes))
  end
end

-- Deletes the messages at the front of the queue that are older than the cutoff, looking at
-- one at a time (a member carries its envelope, up to 170 KiB: never copy more than needed).
local function drop_expired(id, cutoff)
  local mk = P .. 'msgs:' .. id
  local ik = P .. 'inbox:' .. id
  while true do
    local m = redis.call('ZRANGE', mk, 0, 0)[1]
    if not m then return end
    local seq, at, bytes = string.match(m, '^(%d+)|(%d+)|(%d+)|')
    if num(at) > cutoff then return end
    redis.call('ZREM', mk, m)
    unshare(id, m)
    add(ik, 'bytes', -num(bytes))
    add(ik, 'count', -1)
    add(P .. 'totals', 'bytes', -num(bytes))
    add(P .. 'totals', 'messages', -1)
  end
end

-- A sliding window (rate:<key>, hits by time): records a hit and returns -1, or refuses it and
-- returns the milliseconds until one is allowed. Its arguments are ARGV[from] .. ARGV[from + 3]:
-- key, limit, window (ms), this hit's member (unique per hit).
local function take_rate(from, now)
  local key, limit, window = P .. 'rate:' .. ARGV[from], num(ARGV[from + 1]), num(ARGV[from + 2])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local n = redis.call('ZCARD', key)
  if n >= limit then
    local oldest = redis.call('ZRANGE', key, n - limit, n - limit, 'WITHSCORES')
    return num(oldest[2]) + window - now
  end
  redis.call('ZADD', key, now, now .. ':' .. ARGV[from + 3])
  redis.call('PEXPIRE', key, window)
  return -1
end

-- When a held nameplate frees up: a waiting one a quarantine after its slot expires, a joined
-- or abandoned one at the time it holds.
local function free_at(v, quarantine)
  if string.sub(v, 1, 1) == 'w' then
    -- "w:<pairId>:<expiresAt>", the id hex: a plain find of the second colon costs half a
    -- pattern match, and a busy relay's open reads a hundred held nameplates.
    return num(string.sub(v, string.find(v, ':', 3, true) + 1)) + quarantine
  end
  return num(string.sub(v, 3))
end

-- A join or an abandoned slot frees its nameplate sooner than its wait would have: a walked
-- range of that length recorded as full (np-full, see openPair) may no longer be.
local function forget_full(nameplate)
  redis.call('DEL', P .. 'np-full:' .. string.len(nameplate))
end
`;

const SCRIPTS = {
  // ARGV: P pairId hostToken expiresAt address now maxOpen maxPerAddress quarantineMs slackMs perLength walkMax hostHash draws rateKey rateLimit rateWindowMs rateMember
  openPair: `
local pairId, expiresAt, address, now = ARGV[2], num(ARGV[4]), ARGV[5], num(ARGV[6])
local wait = take_rate(15, now)
if wait >= 0 then return {'rate_limited', wait} end
local quarantine, slack = num(ARGV[9]), num(ARGV[10])
redis.call('ZREMRANGEBYSCORE', P .. 'pairs', '-inf', now)
if redis.call('ZCARD', P .. 'pairs') >= num(ARGV[7]) then return {'capacity'} end
local ak = P .. 'addr-pairs:' .. address
redis.call('ZREMRANGEBYSCORE', ak, '-inf', now)
if redis.call('ZCARD', ak) >= num(ARGV[8]) then return {'address_cap'} end
-- The first free nameplate of names, in order (free: nobody holds it, or its hold ended); or
-- nil and the soonest time one of them frees up. One GET for the first (a quiet relay's first
-- draw is free), then one MGET for the rest rather than a GET each (a busy relay's draws and its
-- 2-digit walk miss by the hundred).
local function first_free(names)
  local soonest = nil
  local function free(v)
    if not v then return true end
    local at = free_at(v, quarantine)
    if at <= now then return true end
    if not soonest or at < soonest then soonest = at end
    return false
  end
  if free(redis.call('GET', P .. 'np:' .. names[1])) then return names[1] end
  if #names == 1 then return nil, soonest end
  local keys = {}
  for j = 2, #names do keys[j - 1] = P .. 'np:' .. names[j] end
  local held = redis.call('MGET', unpack(keys))
  for j = 2, #names do
    if free(held[j - 1]) then return names[j] end
  end
  return nil, soonest
end
-- ARGV[14] holds the draws, PER_LENGTH of 2 digits first, then of 3, and so on. After a group's
-- draws all miss, a range of at most WALK_MAX nameplates is walked from the first draw on, so
-- the fewest digits are used while one is free; larger ranges move on to more digits.
local draws, perLength, walkMax = ARGV[14], num(ARGV[11]), num(ARGV[12])
local chosen = nil
local digits, at = 2, 1
while not chosen and at <= string.len(draws) do
  local group = {}
  for j = 0, perLength - 1 do
    local from = at + j * digits
    group[j + 1] = string.sub(draws, from, from + digits - 1)
  end
  chosen = first_free(group)
  local low = 10 ^ (digits - 1)
  local size = 9 * low
  -- A range walked and found full stays so until its first hold ends (np-full keeps that time;
  -- a join or an abandoned slot, which end a hold sooner, delete it): until then the opens of a
  -- busy relay skip the walk, a hundred reads each, that would find nothing free.
  local fullKey = P .. 'np-full:' .. digits
  if not chosen and size <= walkMax and not ((num(redis.call('GET', fullKey)) or 0) > now) then
    local first = num(group[1])
    local walk = {}
    for step = 0, size - 1 do walk[step + 1] = tostring(low + ((first - low + step) % size)) end
    local soonest
    chosen, soonest = first_free(walk)
    if not chosen then redis.call('SET', fullKey, soonest, 'PX', soonest - now + slack) end
  end
  at = at + perLength * digits
  digits = digits + 1
end
if not chosen then return {'capacity'} end
local ttl = expiresAt - now + slack
local pk = P .. 'pair:' .. pairId
redis.call('HSET', pk, 'hostToken', ARGV[3], 'hostHash', ARGV[13], 'expiresAt', expiresAt, 'nameplate', chosen, 'address', address, 'version', 0)
redis.call('PEXPIRE', pk, ttl)
redis.call('ZADD', P .. 'pairs', expiresAt, pairId)
redis.call('ZADD', ak, expiresAt, pairId)
redis.call('PEXPIRE', ak, ttl)
redis.call('SET', P .. 'np:' .. chosen, 'w:' .. pairId .. ':' .. expiresAt, 'PX', ttl + quarantine)
return {'opened', chosen}
`,
  // ARGV: P nameplate guestToken now quarantineMs slackMs guestHash rateKey rateLimit rateWindowMs rateMember
  joinPair: `
local nk = P .. 'np:' .. ARGV[2]
local now, quarantine = num(ARGV[4]), num(ARGV[5])
local wait = take_rate(8, now)
if wait >= 0 then return {'rate_limited', wait} end
local v = redis.call('GET', nk)
if not v then return {'not_found'} end
local kind = string.sub(v, 1, 1)
if kind == 'j' then
  if num(string.sub(v, 3)) > now then return {'joined_already'} end
  return {'not_found'}
end
if kind ~= 'w' then return {'not_found'} end
local pairId, exp = string.match(v, '^w:(%x+):(%d+)$')
if num(exp) <= now then return {'not_found'} end
local pk = P .. 'pair:' .. pairId
if redis.call('EXISTS', pk) == 0 then return {'not_found'} end
redis.call('HSET', pk, 'guestToken', ARGV[3], 'guestHash', ARGV[7])
redis.call('SET', nk, 'j:' .. (now + quarantine), 'PX', quarantine + num(ARGV[6]))
forget_full(ARGV[2])
return {'joined', pairId, exp}
`,
  // ARGV: P pairId tokenHash field value now quarantineMs slackMs pakeCommit
  writeField: `
local pairId, field, value, now = ARGV[2], ARGV[4], ARGV[5], num(ARGV[6])
local pk = P .. 'pair:' .. pairId
local h = redis.call('HMGET', pk, 'expiresAt', 'hostHash', 'guestHash')
if not h[1] or num(h[1]) <= now then return {'not_found'} end
local rp
if h[2] == ARGV[3] then rp = 'h' elseif h[3] and h[3] == ARGV[3] then rp = 'g' else return {'unauthorized'} end
local existing = redis.call('HGET', pk, rp .. '.' .. field)
if existing then
  if existing == value then return {'same', rp} end
  return {'conflict', rp}
end
if field == 'pake' then
  local commits = redis.call('HMGET', pk, 'h.commit', 'g.commit')
  if not commits[1] or not commits[2] then return {'commits_missing', rp} end
  local own = commits[1]
  if rp == 'g' then own = commits[2] end
  if own ~= ARGV[9] then return {'commit_mismatch', rp} end
end
redis.call('HSET', pk, rp .. '.' .. field, value)
redis.call('HINCRBY', pk, 'version', 1)
if redis.call('HEXISTS', pk, 'h.done') == 1 and redis.call('HEXISTS', pk, 'g.done') == 1 then
  local held = redis.call('HMGET', pk, 'nameplate', 'address', 'guestToken')
  redis.call('DEL', pk)
  redis.call('ZREM', P .. 'pairs', pairId)
  redis.call('ZREM', P .. 'addr-pairs:' .. held[2], pairId)
  if not held[3] then
    local quarantine = num(ARGV[7])
    redis.call('SET', P .. 'np:' .. held[1], 'a:' .. (now + quarantine), 'PX', quarantine + num(ARGV[8]))
    forget_full(held[1])
  end
  redis.call('PUBLISH', P .. 'changes', 'pair:' .. pairId)
  return {'finished', rp}
end
redis.call('PUBLISH', P .. 'changes', 'pair:' .. pairId)
return {'written', rp}
`,
  // ARGV: P slotId ownerHash address now idleMs maxSlots maxPerAddress slackMs sweepMax rateKey rateLimit rateWindowMs rateMember
  allocateInbox: `
local id, address, now, idle = ARGV[2], ARGV[4], num(ARGV[5]), num(ARGV[6])
local wait = take_rate(11, now)
if wait >= 0 then return {'rate_limited', wait} end
sweep_idle_inboxes(now, idle, num(ARGV[10]))
local ak = P .. 'addr-inboxes:' .. address
-- Only an address at its cap has its list checked for inboxes that are gone meanwhile.
if redis.call('ZCARD', ak) >= num(ARGV[8]) then
  for _, held in ipairs(redis.call('ZRANGE', ak, 0, -1)) do
    if redis.call('EXISTS', P .. 'inbox:' .. held) == 0 then redis.call('ZREM', ak, held) end
  end
  if redis.call('ZCARD', ak) >= num(ARGV[8]) then return {'address_cap'} end
end
if redis.call('ZCARD', P .. 'inboxes') >= num(ARGV[7]) then
  local victim = redis.call('ZRANGE', P .. 'inboxes-unused', 0, 0)[1]
  if not victim then return {'capacity'} end
  remove_inbox(victim)
end
local ik = P .. 'inbox:' .. id
redis.call('HSET', ik, 'ownerHash', ARGV[3], 'address', address, 'lastSeq', 0, 'bytes', 0, 'count', 0, 'lastUsedAt', now)
redis.call('PEXPIRE', ik, idle + num(ARGV[9]))
redis.call('ZADD', P .. 'inboxes', now, id)
redis.call('ZADD', P .. 'inboxes-unused', now, id)
redis.call('ZADD', ak, now, id)
redis.call('PEXPIRE', ak, idle + num(ARGV[9]))
return {'allocated'}
`,
  // ARGV: P slotId ownerHash now idleMs slackMs
  useInbox: `
return use_inbox(ARGV[2], 3)
`,
  // ARGV: P slotId ownerHash now idleMs slackMs grantId tokenHash maxGrants rateKey rateLimit rateWindowMs rateMember
  addGrant: `
local id = ARGV[2]
local used = use_inbox(id, 3)
if used ~= 'ok' then return {used} end
local wait = take_rate(10, num(ARGV[4]))
if wait >= 0 then return {'rate_limited', wait} end
local gk = P .. 'grants:' .. id
if redis.call('HLEN', gk) >= num(ARGV[9]) then return {'full'} end
redis.call('HSET', gk, ARGV[7], ARGV[8])
-- As long as its inbox, whose TTL use_inbox just set.
redis.call('PEXPIRE', gk, num(ARGV[5]) + num(ARGV[6]))
return {'granted'}
`,
  // ARGV: P slotId ownerHash now idleMs slackMs grantId
  revokeGrant: `
local id, grantId = ARGV[2], ARGV[7]
local used = use_inbox(id, 3)
if used ~= 'ok' then return used end
if redis.call('HDEL', P .. 'grants:' .. id, grantId) == 0 then return 'ok' end
if not redis.call('HGET', P .. 'shares:' .. id, 'n.' .. grantId) then return 'ok' end
-- Its queued messages go (a revoked peer's messages are not for reading), freeing its share.
local mk, ik = P .. 'msgs:' .. id, P .. 'inbox:' .. id
local count, bytes = 0, 0
for _, m in ipairs(redis.call('ZRANGE', mk, 0, -1)) do
  local size, owner = string.match(m, '^%d+|%d+|(%d+)|(%x+)|')
  if owner == grantId then
    redis.call('ZREM', mk, m)
    count = count + 1
    bytes = bytes + num(size)
  end
end
redis.call('HDEL', P .. 'shares:' .. id, 'n.' .. grantId, 'b.' .. grantId)
add(ik, 'count', -count)
add(ik, 'bytes', -bytes)
add(P .. 'totals', 'messages', -count)
add(P .. 'totals', 'bytes', -bytes)
redis.call('PUBLISH', P .. 'changes', 'inbox:' .. id)
return 'ok'
`,
  // ARGV: P slotId grantId tokenHash value bytes now idleMs lifeMs maxMessages maxBytes maxGrantMessages maxGrantBytes rateKey rateLimit rateWindowMs rateMember (rateKey empty: no hit)
  postMessage: `
local id, grantId, value, bytes, now = ARGV[2], ARGV[3], ARGV[5], num(ARGV[6]), num(ARGV[7])
if ARGV[14] ~= '' then
  local wait = take_rate(14, now)
  if wait >= 0 then return {'rate_limited', wait} end
end
local ik = P .. 'inbox:' .. id
local h = redis.call('HMGET', ik, 'lastUsedAt')
if not h[1] then return {'not_found'} end
if num(h[1]) + num(ARGV[8]) <= now then
  remove_inbox(id)
  return {'not_found'}
end
if redis.call('HGET', P .. 'grants:' .. id, grantId) ~= ARGV[4] then return {'unauthorized'} end
drop_expired(id, now - num(ARGV[9]))
local counts = redis.call('HMGET', ik, 'count', 'bytes')
if num(counts[1]) >= num(ARGV[10]) or num(counts[2]) + bytes > num(ARGV[11]) then return {'full'} end
local sk = P .. 'shares:' .. id
local share = redis.call('HMGET', sk, 'n.' .. grantId, 'b.' .. grantId)
if (num(share[1]) or 0) >= num(ARGV[12]) or (num(share[2]) or 0) + bytes > num(ARGV[13]) then return {'grant_full'} end
local seq = redis.call('HINCRBY', ik, 'lastSeq', 1)
local mk = P .. 'msgs:' .. id
redis.call('ZADD', mk, seq, seq .. '|' .. now .. '|' .. bytes .. '|' .. grantId .. '|' .. value)
redis.call('PEXPIRE', mk, redis.call('PTTL', ik))
redis.call('HINCRBY', ik, 'count', 1)
redis.call('HINCRBY', ik, 'bytes', bytes)
redis.call('HINCRBY', sk, 'n.' .. grantId, 1)
redis.call('HINCRBY', sk, 'b.' .. grantId, bytes)
redis.call('PEXPIRE', sk, redis.call('PTTL', ik))
redis.call('HINCRBY', P .. 'totals', 'messages', 1)
redis.call('HINCRBY', P .. 'totals', 'bytes', bytes)
redis.call('PUBLISH', P .. 'changes', 'inbox:' .. id)
return {'posted'}
`,
  // ARGV: P slotId ownerHash now idleMs slackMs after limit lifeMs (ownerHash empty: a long poll's re-read, its owner checked by its first)
  readMessages: `
local id, now = ARGV[2], num(ARGV[4])
if ARGV[3] ~= '' then
  local used = use_inbox(id, 3)
  if used ~= 'ok' then return used end
end
local ik = P .. 'inbox:' .. id
local h = redis.call('HMGET', ik, 'lastUsedAt', 'lastSeq')
if not h[1] then return 'not_found' end
if num(h[1]) + num(ARGV[5]) <= now then
  remove_inbox(id)
  return 'not_found'
end
drop_expired(id, now - num(ARGV[9]))
local out = {num(h[2])}
for _, m in ipairs(redis.call('ZRANGEBYSCORE', P .. 'msgs:' .. id, '(' .. ARGV[7], '+inf', 'LIMIT', 0, num(ARGV[8]))) do
  out[#out + 1] = m
end
return out
`,
  // ARGV: P slotId ownerHash now idleMs slackMs through
  ackMessages: `
local id = ARGV[2]
local used = use_inbox(id, 3)
if used ~= 'ok' then return used end
local mk, ik = P .. 'msgs:' .. id, P .. 'inbox:' .. id
local gone = redis.call('ZRANGEBYSCORE', mk, '-inf', ARGV[7])
if #gone == 0 then return 'ok' end
local bytes = 0
for _, m in ipairs(gone) do
  bytes = bytes + num(string.match(m, '^%d+|%d+|(%d+)|'))
  unshare(id, m)
end
redis.call('ZREMRANGEBYSCORE', mk, '-inf', ARGV[7])
redis.call('HINCRBY', ik, 'count', -#gone)
redis.call('HINCRBY', ik, 'bytes', -bytes)
redis.call('HINCRBY', P .. 'totals', 'messages', -#gone)
redis.call('HINCRBY', P .. 'totals', 'bytes', -bytes)
return 'ok'
`,
  // ARGV: P now key limit windowMs member
  takeRate: `
return take_rate(3, num(ARGV[2]))
`,
  // ARGV: P now idleMs sweepMax
  sweep: `
local now = num(ARGV[2])
redis.call('ZREMRANGEBYSCORE', P .. 'pairs', '-inf', now)
sweep_idle_inboxes(now, num(ARGV[3]), num(ARGV[4]))
local totals = redis.call('HMGET', P .. 'totals', 'messages', 'bytes')
return {redis.call('ZCARD', P .. 'pairs'), redis.call('ZCARD', P .. 'inboxes'), num(totals[1]) or 0, num(totals[2]) or 0}
`,
} as const;
