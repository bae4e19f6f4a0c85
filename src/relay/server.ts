// The relay itself (PROTOCOL.md sections 3 and 6.3) as a handler from a parsed request to a
// response: routes, validation, authentication, limits and long polls. State (pair slots,
// nameplates, inboxes, grants, messages, rate windows) lives in a RelayStore (store.ts): in this
// process's memory by default, where a restart forgets every slot (clients report `expired`)
// and every inbox (`inbox_gone`), or in Redis, shared by many relay processes. It knows nothing
// of sockets; node.ts reads bodies (and enforces their size) and writes responses.
//
// Inbox decisions the protocol leaves open: an unknown (or idle-expired) slot answers 404 on
// every inbox route before any token is looked at, so a sender learns its peer's inbox is gone
// rather than that it was revoked; a send token is 401 on any slot but its own. Any request
// with the owner token (read, acknowledge, grant, revoke) counts as the owner reading it for
// the 30-day idle rule. Inbox bytes are counted decoded, like the envelope limit.
//
// One decision the protocol leaves open: a join under a nameplate whose pairing a guest already
// joined. The table says 409 "a guest already joined"; the prose says the nameplate stops
// resolving and "a late or mistaken join meets a 404, never a stranger's pairing". We answer
// 409 while the nameplate is quarantined after that join (60 s by default) and 404 otherwise.
// Either way the nameplate never leads to the slot again, and 409 tells a person who typed the
// right code that someone else got there first (or that their own earlier join went through),
// instead of making them suspect a typo.

import { hash, randomFillSync } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { performance } from 'node:perf_hooks';
import { base64ByteLength, fromUtf8 } from '../core/bytes.js';
import { isPairError } from '../core/errors.js';
import { PAIR_FIELDS, type PairField, type Role } from '../core/ports.js';
import {
  METRICS_PATH,
  type FieldWriteRequestBody,
  type GrantBody,
  type GuestJoinRequestBody,
  type HostOpenRequestBody,
  type PostMessageRequestBody,
  type PostedMessageBody,
  type Received,
  grantIdOf,
  type GuestJoinedBody,
  type HostOpenedBody,
  type InboxSlotBody,
  type RelayErrorCode,
  type RelayLimits,
  type MethodOf,
  type RouteName,
  type RouteParams,
  GRANT_ID_PATTERN,
  MAX_MESSAGES_PER_READ,
  NAMEPLATE_PATTERN,
  PAIR_ID_PATTERN,
  RELAY_ERROR_STATUS,
  RELAY_ROUTES,
  SLOT_ID_PATTERN,
  TOKEN_PATTERN,
  errorBody,
  fieldValueProblem,
  formatTimestamp,
  isPairField,
  matchRoute,
  otherRole,
  pakeCommitOf,
  resolveLimits,
} from './contract.js';
import { createMemoryStore } from './memoryStore.js';
import {
  type MessagePage,
  type OwnerRefusal,
  type OwnerResult,
  type PostResult,
  type RateHit,
  type RelayStore,
  type StoreAnswer,
  type StoreFactory,
  type StoreStats,
  type StoredFields,
  type StoredPair,
  type WriteResult,
  ALL_CHANNELS,
  andThen,
  StoreUnavailableError,
  inboxChannel,
  pairChannel,
  pairRoleOf,
} from './store.js';
import { CLIENT_ABORT_REASONS } from '../core/vocabulary.js';

/** A request as the relay needs it; the adapter has already read the (size-checked) body. */
export interface RelayRequest {
  method: string;
  /** The request target: path and query, e.g. `/v1/pair/ab…?after=3&wait=25`. */
  target: string;
  authorization?: string | undefined;
  body: Uint8Array;
  /** The peer address of the connection; opens and joins are rate-limited per address. */
  clientAddress: string;
  /** Aborted when the client goes away; a pending long poll then lets go of its slot. */
  signal?: ClientGoneSignal | undefined;
}

/**
 * What a held request hears its client went away by: the part of AbortSignal a long poll uses
 * (an AbortSignal will do; the Node adapter passes something cheaper).
 */
export interface ClientGoneSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options: { once: true }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export interface RelayResponse {
  status: number;
  headers: Readonly<Record<string, string>>;
  /** JSON text, `ok` for the health check, or empty (204). */
  body: string;
}

export interface RelayOptions {
  limits?: Partial<RelayLimits>;
  /** Milliseconds since the epoch; injectable so slot lifetimes can be tested without waiting. */
  clock?: { now(): number };
  /** Where state lives; default the memory engine. */
  store?: StoreFactory;
  /** Told about every answer and every store call, for metrics. */
  observer?: RelayObserver;
}

/** What metrics (metrics.ts) are made of; every method is optional work on the hot path, so cheap. */
export interface RelayObserver {
  answered(route: string, status: number): void;
  storeCall(operation: string, seconds: number): void;
  pairingEnded(outcome: 'completed' | 'aborted', reason: string): void;
}

export interface RelayStats extends StoreStats {
  /** Long polls held by this process. */
  longPolls: number;
}

/** Shared by every JSON answer without headers of its own (never mutated: the adapter copies what it adds). */
const JSON_HEADERS: Readonly<Record<string, string>> = Object.freeze({ 'content-type': 'application/json', 'cache-control': 'no-store' });
const TOKEN_BYTES = 32;
const ID_BYTES = 16;
const RATE_WINDOW_MS = 60_000;
/** A version or seq in a query: a non-negative integer of at most 15 digits (a safe integer). */
const SEQUENCE_PATTERN = /^(?:0|[1-9][0-9]{0,14})$/;
/** A wait in a query: whole seconds, or a decimal an older client sent (rounded down). */
const WAIT_PATTERN = /^[0-9]{1,3}(?:\.[0-9]{1,9})?$/;
/** What a 503 asks a client to wait when the store cannot answer. */
const STORE_RETRY_AFTER_SECONDS = 2;

function json(status: number, value: unknown, headers?: Record<string, string>): RelayResponse {
  return { status, headers: headers === undefined ? JSON_HEADERS : { ...JSON_HEADERS, ...headers }, body: JSON.stringify(value) };
}

export function errorResponse(code: RelayErrorCode, message: string, headers?: Record<string, string>): RelayResponse {
  return json(RELAY_ERROR_STATUS[code], errorBody(code, message), headers);
}

/** 429 with Retry-After in whole seconds (at least 1), `message` given those seconds. */
function rateLimited(retryAfterMs: number, message: (seconds: number) => string): RelayResponse {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return errorResponse('rate_limited', message(seconds), { 'retry-after': String(seconds) });
}

const NO_CONTENT: RelayResponse = { status: 204, headers: { 'cache-control': 'no-store' }, body: '' };

/** hex(SHA-256(utf8(text))) by node:crypto: the relay's grant ids (grantIdOf), without hashing in JavaScript per message. */
export function sha256Hex(text: string): string {
  return hash('sha256', text, 'hex');
}

/** SHA-256 of `bytes` by node:crypto: the relay's pake commitment checks (pakeCommitOf), without hashing in JavaScript per pake. */
export function sha256Bytes(bytes: Uint8Array): Uint8Array {
  return hash('sha256', bytes, 'buffer');
}

/** How many random bytes are drawn at once for ids and tokens (a few dozen tokens' worth). */
const RANDOM_POOL_BYTES = 2048;
const randomPool = Buffer.alloc(RANDOM_POOL_BYTES);
let randomPoolOffset = RANDOM_POOL_BYTES;

/**
 * `bytes` random bytes as hex, for ids and tokens: taken from a pool the CSPRNG refills
 * RANDOM_POOL_BYTES at a time (a call to it per token was 2% of the relay's CPU), each byte
 * handed out once and zeroed in the pool as it is.
 */
function randomHex(bytes: number): string {
  if (randomPoolOffset + bytes > RANDOM_POOL_BYTES) {
    randomFillSync(randomPool);
    randomPoolOffset = 0;
  }
  const end = randomPoolOffset + bytes;
  const hex = randomPool.toString('hex', randomPoolOffset, end);
  randomPool.fill(0, randomPoolOffset, end);
  randomPoolOffset = end;
  return hex;
}

/**
 * The route a request was for, as a metrics label: a fixed set (the route table's paths, ids
 * shown by their name), so hostile paths cannot grow the label space.
 */
export function routeLabel(method: string, target: string): string {
  const path = pathOf(target);
  const known = KNOWN_METHODS.has(method) ? method : 'OTHER';
  if (path === METRICS_PATH) return `${known} ${METRICS_PATH}`;
  const match = matchRoute(path);
  return match === undefined ? 'unknown' : `${known} ${RELAY_ROUTES[match.route].path}`;
}
const KNOWN_METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE']);

/** The path of a request target, without its query. */
function pathOf(target: string): string {
  const queryAt = target.indexOf('?');
  return queryAt < 0 ? target : target.slice(0, queryAt);
}

/** The part of URLSearchParams the handlers read: a parameter's first value, or null. */
type QueryParams = Pick<URLSearchParams, 'get'>;

/**
 * A query's parameters as URLSearchParams reads them. A query without `%` or `+` (and without a
 * second leading `?`, which URLSearchParams drops) has nothing to decode, so its names and values
 * are its own substrings, found by a split: every long poll has a query, and a URLSearchParams
 * per poll was 2% of the relay's own CPU (profiled without sockets) for a two-parameter query.
 */
export function queryParams(query: string): QueryParams {
  if (query.includes('%') || query.includes('+') || query.startsWith('?')) return new URLSearchParams(query);
  return { get: (name) => plainQueryValue(query, name) };
}

/**
 * The first value of `name` in a query with nothing to decode, found by scanning (no array, no
 * pair strings). Each `=` is searched for once, so a query of many pairs without one stays linear.
 */
function plainQueryValue(query: string, name: string): string | null {
  let equals = query.indexOf('=');
  for (let start = 0; start <= query.length; ) {
    const ampersand = query.indexOf('&', start);
    const end = ampersand < 0 ? query.length : ampersand;
    if (equals >= 0 && equals < start) equals = query.indexOf('=', start);
    const nameEnd = equals >= 0 && equals < end ? equals : end;
    if (nameEnd - start === name.length && query.startsWith(name, start)) return nameEnd === end ? '' : query.slice(nameEnd + 1, end);
    start = end + 1;
  }
  return null;
}

/**
 * What answers one method of one route: its parameters by name, the raw query (after `?`, or ''),
 * and the relay's clock read once for the request (a long poll reads it again at each re-read).
 */
type RouteHandler<R extends RouteName> = (request: RelayRequest, params: RouteParams<R>, query: string, now: number) => StoreAnswer<RelayResponse>;
/** A handler for every method of every route in the table, and none besides. */
type RouteHandlers = { [R in RouteName]: { [M in MethodOf<R>]: RouteHandler<R> } };

const HEALTH_OK: RelayResponse = { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }, body: 'ok' };

export class Relay {
  readonly limits: RelayLimits;
  readonly store: RelayStore;
  private readonly clock: { now(): number };
  private readonly observer: RelayObserver | undefined;
  /** Long polls of this process by channel; a store change wakes the channel's waiters to re-read. */
  private readonly waiters = new Map<string, Set<() => void>>();
  private longPolls = 0;
  private shuttingDown = false;
  /** Addresses past their failed-token-check limit, known to this process (the count itself is the store's). */
  private readonly tokenGuessers = new BlockedAddresses();
  /** Slot expiries as the protocol writes them: slots opened within one second share one string. */
  private readonly expiryTexts = new TimestampTexts();
  /** Messages' received_at: the messages posted within one second share one string. */
  private readonly receivedTexts = new TimestampTexts();

  constructor(options: RelayOptions = {}) {
    this.limits = resolveLimits(options.limits);
    this.clock = options.clock ?? { now: () => Date.now() };
    this.observer = options.observer;
    this.store = (options.store ?? createMemoryStore)({ limits: this.limits });
    this.store.onChange((channel) => {
      if (channel === ALL_CHANNELS) {
        for (const set of this.waiters.values()) wakeAll(set);
      } else {
        const set = this.waiters.get(channel);
        if (set) wakeAll(set);
      }
    });
  }

  /**
   * The largest request body the route of `target` takes: envelopes are posted to
   * `/v1/slot/{slot_id}/messages`, so that route reads more than the rest.
   */
  bodyLimit(method: string, target: string): number {
    const match = method === 'POST' ? matchRoute(pathOf(target)) : undefined;
    const larger = match === undefined ? undefined : (RELAY_ROUTES[match.route] as { postBodyLimit?: 'maxMessageBodyBytes' }).postBodyLimit;
    return larger === undefined ? this.limits.maxBodyBytes : this.limits[larger];
  }

  /**
   * The answer to a request: the response itself when every store call had its answer at once
   * (the memory engine), else a promise of it. A thrown error or a rejection is a relay bug.
   */
  handle(request: RelayRequest): StoreAnswer<RelayResponse> {
    if (this.shuttingDown) return errorResponse('capacity', 'The relay is shutting down; try again in a moment.', { connection: 'close' });
    const queryAt = request.target.indexOf('?');
    const path = queryAt < 0 ? request.target : request.target.slice(0, queryAt);
    const match = matchRoute(path);
    if (match === undefined) return notFound(path);
    const route = RELAY_ROUTES[match.route];
    const handler = (this.handlers[match.route] as Partial<Record<string, RouteHandler<RouteName>>>)[request.method];
    if (handler === undefined) return notAllowed(route.methods.join(', '));
    try {
      const now = this.clock.now();
      const address = route.token ? rateLimitKey(request.clientAddress) : '';
      const blocked = route.token ? this.tokenGuessers.blockedFor(address, now) : undefined;
      if (blocked !== undefined) return this.tooManyFailedTokenChecks(blocked);
      const response = handler(request, match.params as RouteParams<RouteName>, queryAt < 0 ? '' : request.target.slice(queryAt + 1), now);
      // An answer at hand is checked here, without a callback made for it.
      if (response instanceof Promise) return (route.token ? response.then((answer) => this.checkedToken(address, answer)) : response).catch(storeUnavailable);
      const checked = route.token ? this.checkedToken(address, response) : response;
      return checked instanceof Promise ? checked.catch(storeUnavailable) : checked;
    } catch (error) {
      return storeUnavailable(error);
    }
  }

  /** Every route of the contract's table, by method. */
  private readonly handlers: RouteHandlers = {
    health: { GET: () => HEALTH_OK },
    pair: { POST: (request, _params, _query, now) => this.openOrJoin(request, now) },
    pairSlot: { GET: (request, { pair_id }, query, now) => this.read(pair_id, queryParams(query), request, now) },
    pairField: { PUT: (request, { pair_id, field }, _query, now) => this.write(pair_id, field, request, now) },
    inbox: { POST: (request, _params, _query, now) => this.allocateInbox(request, now) },
    grants: { POST: (request, { slot_id }, _query, now) => this.grant(slot_id, request, now) },
    grant: { DELETE: (request, { slot_id, grant_id }, _query, now) => this.revoke(slot_id, grant_id, request, now) },
    messages: {
      GET: (request, { slot_id }, query, now) => this.readMessages(slot_id, queryParams(query), request, now),
      POST: (request, { slot_id }, _query, now) => this.postMessage(slot_id, request, now),
      DELETE: (request, { slot_id }, query, now) => this.ackMessages(slot_id, queryParams(query), request, now),
    },
  };

  /** `answer`, unless it is a 401: then the failed token check is counted against `address` (failedTokenCheck). */
  private checkedToken(address: string, answer: RelayResponse): StoreAnswer<RelayResponse> {
    return answer.status === RELAY_ERROR_STATUS.unauthorized ? this.failedTokenCheck(address, answer) : answer;
  }

  /**
   * Counts a failed token check (a 401) against the client address. Past
   * `failedTokenChecksPerIpPerMinute` the answer is 429 instead, and until the window frees every
   * request from that address that presents a token is answered 429 without being checked, so a
   * guesser learns nothing more from it.
   */
  private async failedTokenCheck(address: string, unauthorizedResponse: RelayResponse): Promise<RelayResponse> {
    const now = this.clock.now();
    const retryAfterMs = await this.timed('takeRate', () => this.store.takeRate(`authfail:${address}`, this.limits.failedTokenChecksPerIpPerMinute, RATE_WINDOW_MS, now));
    if (retryAfterMs === undefined) return unauthorizedResponse;
    this.tokenGuessers.block(address, now + retryAfterMs);
    return this.tooManyFailedTokenChecks(retryAfterMs);
  }

  private tooManyFailedTokenChecks(retryAfterMs: number): RelayResponse {
    const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    return errorResponse('rate_limited', `Too many failed token checks from this address (at most ${this.limits.failedTokenChecksPerIpPerMinute} a minute); retry in ${seconds} s.`, { 'retry-after': String(seconds) });
  }

  /**
   * Drops what expired (waking long polls on it, which then answer 404) and refreshes the store's
   * counts. The Node adapter runs it on a timer, so an idle relay lets go of memory too.
   */
  async sweep(): Promise<void> {
    this.tokenGuessers.sweep(this.clock.now());
    await this.timed('sweep', () => this.store.sweep(this.clock.now()));
  }

  /**
   * Stops taking requests and answers every pending long poll at once with the slot as it is
   * (a final, ordinary answer), so a graceful close never waits out a 25-second poll.
   */
  shutdown(): void {
    this.shuttingDown = true;
    for (const set of this.waiters.values()) wakeAll(set);
  }

  stats(): RelayStats {
    return { ...this.store.stats(), longPolls: this.longPolls };
  }

  /** Runs a store call, timing it for metrics (without metrics, the call's own answer: nothing more to wait on). */
  private timed<T>(operation: string, run: () => StoreAnswer<T>): StoreAnswer<T> {
    return this.observer ? timedCall(this.observer, operation, run) : run();
  }

  // -- POST /v1/pair ------------------------------------------------------------------------

  private openOrJoin(request: RelayRequest, now: number): StoreAnswer<RelayResponse> {
    const parsed = parseObject<HostOpenRequestBody | GuestJoinRequestBody>(request.body, '{"role":"host"} or {"role":"guest","nameplate":"47"}');
    if (!parsed.ok) return parsed.response;
    const body = parsed.body;
    const role = body.role;
    if (role === undefined) return badRequest('role is missing; expected "host" or "guest".');
    if (role !== 'host' && role !== 'guest') return badRequest('role is not "host" or "guest".');
    const allowed: string[] = role === 'host' ? (['role'] satisfies (keyof HostOpenRequestBody)[]) : (['role', 'nameplate'] satisfies (keyof GuestJoinRequestBody)[]);
    const unknown = keyBesides(body, allowed);
    if (unknown !== undefined) {
      return badRequest(role === 'host' && unknown === 'nameplate' ? 'nameplate is not taken from a host; the relay allocates it.' : `${unknown} is not a field of this request; expected only ${allowed.join(' and ')}.`);
    }
    let nameplate: string | undefined;
    if (role === 'guest') {
      const value = (body as Received<GuestJoinRequestBody>).nameplate;
      if (value === undefined) return badRequest('nameplate is missing; expected the digits before the dash of the code, like "47".');
      if (typeof value !== 'string' || !NAMEPLATE_PATTERN.test(value)) return badRequest('nameplate is not a string of digits without a leading zero, like "47".');
      nameplate = value;
    }

    const address = rateLimitKey(request.clientAddress);
    return nameplate === undefined ? this.openHost(address, now) : this.joinGuest(nameplate, address, now);
  }

  private openHost(address: string, now: number): StoreAnswer<RelayResponse> {
    const pairId = randomHex(ID_BYTES);
    const hostToken = randomHex(TOKEN_BYTES);
    const expiresAt = now + this.limits.slotLifetimeSeconds * 1000;
    return andThen(this.timed('openPair', () => this.store.openPair({ pairId, hostToken, expiresAt, address }, this.openRate(address), now)), (opened) => {
      if (opened.kind === 'rate_limited') return this.openRateLimited(opened.retryAfterMs);
      if (opened.kind === 'capacity') {
        return errorResponse('capacity', `The relay holds the most pairings it takes at once (${this.limits.maxOpenSlots}); try again in a few minutes.`);
      }
      if (opened.kind === 'address_cap') {
        return errorResponse('rate_limited', `This address holds the most pairings open at once (${this.limits.maxPairSlotsPerAddress}); finish or abort one, or retry once one expires.`, { 'retry-after': '60' });
      }
      const body: HostOpenedBody = { pair_id: pairId, nameplate: opened.nameplate, token: hostToken, expires_at: this.expiryTexts.of(expiresAt) };
      return json(201, body);
    });
  }

  private joinGuest(nameplate: string, address: string, now: number): StoreAnswer<RelayResponse> {
    const guestToken = randomHex(TOKEN_BYTES);
    return andThen(this.timed('joinPair', () => this.store.joinPair(nameplate, guestToken, this.openRate(address), now)), (joined) => {
      if (joined.kind === 'rate_limited') return this.openRateLimited(joined.retryAfterMs);
      if (joined.kind === 'joined_already') {
        return errorResponse('conflict', `A guest already joined the pairing under nameplate ${nameplate}; a code works for one join only. Ask the host for a new code.`);
      }
      if (joined.kind === 'not_found') return errorResponse('not_found', `No pairing waits under nameplate ${nameplate}. Check the code with the host.`);
      const body: GuestJoinedBody = { pair_id: joined.pairId, token: guestToken, expires_at: this.expiryTexts.of(joined.expiresAt) };
      return json(201, body);
    });
  }

  /** The hit an open, a join or an inbox allocation takes on its address's window, in the same store call. */
  private openRate(address: string): RateHit {
    return { key: `open:${address}`, limit: this.limits.opensPerIpPerMinute, windowMs: RATE_WINDOW_MS };
  }

  private openRateLimited(retryAfterMs: number): RelayResponse {
    return rateLimited(retryAfterMs, (seconds) => `Too many pairings opened or joined from this address (at most ${this.limits.opensPerIpPerMinute} a minute); retry in ${seconds} s.`);
  }

  // -- GET /v1/pair/{pair_id} ---------------------------------------------------------------

  private read(pairId: string, query: QueryParams, request: RelayRequest, now: number): StoreAnswer<RelayResponse> {
    const poll = this.parsePoll(query, 'version');
    // Read off the header once per request; compared with the slot's tokens at every re-read.
    const presented = bearerToken(request.authorization);
    // Checked before the slot is looked up, but only answered after it, as before: a request for
    // another's slot learns nothing more from a bad query.
    const answer: PollAnswer = (final, at) =>
      andThen(this.livePair(pairId, at), (slot) => {
        if (!slot) return slotNotFound();
        const role = presented === undefined ? undefined : pairRoleOf(slot, presented);
        if (!role) return unauthorized('the token of this pairing');
        if (!poll.ok) return poll.response;
        if (poll.waitSeconds > 0 && poll.after === undefined) return badRequest('wait needs after: the version to wait beyond.');
        // Only a long poll (after given, wait over 0) answers anything but final.
        return final || slot.version > (poll.after ?? 0) ? this.viewResponse(slot, role) : undefined;
      });
    if (!poll.ok || poll.waitSeconds === 0 || poll.after === undefined) return andThen(answer(true, now), (response) => response ?? slotNotFound());
    // The first read happens inside the long poll, which registers its waiter in the same turn,
    // so a write between the read and the wait still wakes it (and a poll costs one store read, not two).
    return this.longPoll(pairChannel(pairId), poll.waitSeconds * 1000, request.signal, answer, now);
  }

  private livePair(pairId: string, now: number): StoreAnswer<StoredPair | undefined> {
    if (!PAIR_ID_PATTERN.test(pairId)) return undefined;
    return this.timed('getPair', () => this.store.getPair(pairId, now));
  }

  /** `after` (a non-negative integer, absent if not given) and `wait` (seconds, 0 if not given). */
  private parsePoll(query: QueryParams, afterWhat: string): { ok: true; after: number | undefined; waitSeconds: number } | { ok: false; response: RelayResponse } {
    const afterText = query.get('after');
    const waitText = query.get('wait');
    if (afterText !== null && !SEQUENCE_PATTERN.test(afterText)) return { ok: false, response: badRequest(`after is not a ${afterWhat}; expected a non-negative integer.`) };
    let waitSeconds = 0;
    if (waitText !== null) {
      // An integer by the protocol; a decimal from an older client is rounded down, never refused.
      const wait = WAIT_PATTERN.test(waitText) ? Math.floor(Number(waitText)) : Number.NaN;
      if (!(wait <= this.limits.maxWaitSeconds)) return { ok: false, response: badRequest(`wait is not a whole number of seconds from 0 to ${this.limits.maxWaitSeconds}.`) };
      waitSeconds = wait;
    }
    return { ok: true, after: afterText === null ? undefined : Number(afterText), waitSeconds };
  }

  /**
   * Holds a request on `channel` until `answer(false)` has an answer (asked again each time the
   * store reports a change there), the relay shuts down, or `waitMs` passes; then `answer(true)`
   * must answer. Most polls of a busy relay are answered by the first read, which the memory
   * engine answers at once: such a poll is answered synchronously and registers no waiter, with
   * no promise, timer or listener (holdPoll is the rest). Otherwise the waiter is registered in
   * the same turn of the event loop as the first read started, before any I/O callback can run,
   * so a change the read did not see still wakes it: changes come from I/O (another request, a
   * Redis message, the sweep timer), and one a read makes itself (an idle inbox removed) is in
   * what it answers.
   */
  private longPoll(channel: string, waitMs: number, signal: ClientGoneSignal | undefined, answer: PollAnswer, now: number): StoreAnswer<RelayResponse> {
    if (signal?.aborted) return clientWentAway();
    const first = answer(this.shuttingDown, now);
    if (first !== undefined && !(first instanceof Promise)) return first;
    const state: PollState = { changed: false, ended: false, wakeUp: undefined };
    const onChange = (): void => {
      state.changed = true;
      wake(state);
    };
    let set = this.waiters.get(channel);
    if (!set) {
      set = new Set();
      this.waiters.set(channel, set);
    }
    const waiters = set;
    waiters.add(onChange);
    this.longPolls++;
    const release = (): void => {
      waiters.delete(onChange);
      if (waiters.size === 0) this.waiters.delete(channel);
      this.longPolls--;
    };
    return this.holdPoll(state, release, waitMs, signal, answer, first);
  }

  /**
   * The rest of a long poll whose first read is under way or had no answer: re-reads on each
   * change, until an answer, the end of `waitMs` or shutdown, then `release`s the poll. One timer
   * and one abort listener serve the whole poll, armed only once it first waits, and the timer's
   * duration is a whole number of milliseconds, mostly `waitMs` itself: Node keeps one timer list
   * per duration, and a list per poll cost more than the poll's own work.
   */
  private async holdPoll(
    state: PollState,
    release: () => void,
    waitMs: number,
    signal: ClientGoneSignal | undefined,
    answer: PollAnswer,
    first: StoreAnswer<RelayResponse | undefined>,
  ): Promise<RelayResponse> {
    const deadline = performance.now() + waitMs;
    // Made once the poll first waits, with its timer.
    let onEnd: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      let response = await first;
      for (;;) {
        if (response) return response;
        if (signal?.aborted) return clientWentAway();
        const final = this.shuttingDown || state.ended || performance.now() >= deadline;
        if (changedMeanwhile(state) || final) {
          state.changed = false;
          response = await answer(final, this.clock.now());
          continue;
        }
        if (onEnd === undefined) {
          const ending = (): void => {
            state.ended = true;
            wake(state);
          };
          onEnd = ending;
          timer = setTimeout(ending, Math.ceil(deadline - performance.now()));
          signal?.addEventListener('abort', ending, ONCE);
        }
        await new Promise<void>((resolve) => {
          state.wakeUp = resolve;
        });
      }
    } finally {
      if (onEnd !== undefined) {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onEnd);
      }
      release();
    }
  }

  private viewResponse(slot: StoredPair, role: Role): RelayResponse {
    return { status: 200, headers: JSON_HEADERS, body: slotViewJson(slot.version, this.expiryTexts.of(slot.expiresAt), slot.fields[role], slot.fields[otherRole(role)]) };
  }

  // -- PUT /v1/pair/{pair_id}/{field} -------------------------------------------------------

  private write(pairId: string, fieldName: string, request: RelayRequest, now: number): StoreAnswer<RelayResponse> {
    if (!isPairField(fieldName)) return badRequest(`${fieldName.slice(0, 32)} is not a field; expected one of ${PAIR_FIELDS.join(', ')}.`);
    const field: PairField = fieldName;
    if (!PAIR_ID_PATTERN.test(pairId)) return slotNotFound();

    const parsed = parseObject<FieldWriteRequestBody>(request.body, '{"value":"..."}');
    if (!parsed.ok) return parsed.response;
    const body = parsed.body;
    const value = body.value;
    if (value === undefined) return badRequest('value is missing; expected {"value":"..."}.');
    if (typeof value !== 'string') return badRequest('value is not a string.');
    const unknown = keyBesides(body, ONLY_VALUE);
    if (unknown !== undefined) return badRequest(`${unknown} is not a field of this request; expected only value.`);
    // Format violations are 400: the request is malformed whatever the slot holds. The
    // commitment check in the store is 422: well-formed, but it contradicts what the slot holds.
    const problem = fieldValueProblem(field, value);
    if (problem !== undefined) return badRequest(problem);

    // Authentication, write-once, commit before reveal and the commitment check happen in the
    // store, atomically, in one call; a missing token is a stand-in no slot holds.
    const token = bearerToken(request.authorization) ?? NO_TOKEN;
    const pakeCommit = field === 'pake' ? pakeCommitOf(value, sha256Bytes) : undefined;
    return andThen(this.timed('writeField', () => this.store.writeField(pairId, token, field, value, pakeCommit, now)), (result) => this.written(field, value, result));
  }

  private written(field: PairField, value: string, result: WriteResult): RelayResponse {
    switch (result.kind) {
      case 'not_found':
        return slotNotFound();
      case 'unauthorized':
        return unauthorized('the token of this pairing');
      case 'conflict':
        return errorResponse('conflict', `${field} was already written by the ${result.role} with another value; each field is written once.`);
      case 'commits_missing':
        return errorResponse('conflict', 'pake is accepted only once both commits are present (commit before reveal).');
      case 'commit_mismatch':
        return errorResponse('unprocessable', `pake does not match the ${result.role}'s commit: H("agent-pair/v1 commit" || pake) must equal it.`);
      case 'finished':
        this.observer?.pairingEnded('completed', 'done');
        return NO_CONTENT;
      case 'written':
        if (field === 'abort') this.observer?.pairingEnded('aborted', abortReasonLabel(value));
        return NO_CONTENT;
      case 'same':
        return NO_CONTENT;
    }
  }

  // -- Inbox: POST /v1/slot, POST /v1/slot/{slot_id}/grants ---------------------------------

  private async allocateInbox(request: RelayRequest, now: number): Promise<RelayResponse> {
    const address = rateLimitKey(request.clientAddress);
    const slotId = randomHex(ID_BYTES);
    const ownerToken = randomHex(TOKEN_BYTES);
    const result = await this.timed('allocateInbox', () => this.store.allocateInbox({ slotId, ownerToken, address }, this.openRate(address), now));
    if (typeof result === 'object') return this.openRateLimited(result.retryAfterMs);
    if (result === 'capacity') return errorResponse('capacity', `The relay holds the most inbox slots it keeps (${this.limits.maxInboxSlots}), all of them in use.`);
    if (result === 'address_cap') {
      return errorResponse('rate_limited', `This address holds the most inbox slots it may (${this.limits.maxInboxSlotsPerAddress}); unused ones expire ${Math.round(this.limits.inboxIdleSeconds / 86_400)} days after their last use.`, { 'retry-after': '3600' });
    }
    const body: InboxSlotBody = { slot_id: slotId, owner_token: ownerToken };
    return json(201, body);
  }

  private grant(slotId: string, request: RelayRequest, now: number): StoreAnswer<RelayResponse> {
    if (!SLOT_ID_PATTERN.test(slotId)) return inboxNotFound();
    // Drawn before the owner is checked: the check, the rate hit and the grant are one store call.
    const sendToken = randomHex(TOKEN_BYTES);
    const grantId = grantIdOf(sendToken, sha256Hex);
    const rate = { key: `grant:${slotId}`, limit: this.limits.grantsPerSlotPerMinute, windowMs: RATE_WINDOW_MS };
    return andThen(this.timed('addGrant', () => this.store.addGrant(slotId, ownerTokenOf(request), { grantId, sendToken }, rate, now)), (result) => {
      if (typeof result === 'object') {
        return rateLimited(result.retryAfterMs, (seconds) => `Too many grants from this inbox slot (at most ${this.limits.grantsPerSlotPerMinute} a minute); retry in ${seconds} s.`);
      }
      if (result === 'not_found' || result === 'unauthorized') return ownerRefused(result);
      if (result === 'full') return errorResponse('conflict', `This inbox slot already holds the most send tokens it may (${this.limits.maxGrantsPerSlot}); revoke one first.`);
      const body: GrantBody = { send_token: sendToken, grant_id: grantId };
      return json(201, body);
    });
  }

  // -- DELETE /v1/slot/{slot_id}/grants/{grant_id} --------------------------------------------

  /** Revoking a grant the slot does not hold (any more) is 204 too: the outcome is the same. */
  private revoke(slotId: string, grantId: string, request: RelayRequest, now: number): StoreAnswer<RelayResponse> {
    if (!GRANT_ID_PATTERN.test(grantId)) return badRequest('grant_id is not a grant id; expected 32 lowercase hex characters.');
    if (!SLOT_ID_PATTERN.test(slotId)) return inboxNotFound();
    return andThen(this.timed('revokeGrant', () => this.store.revokeGrant(slotId, ownerTokenOf(request), grantId, now)), ownerAnswer);
  }

  /**
   * `answer` once the owner token is checked, which counts as its owner's use of the slot (it
   * lives another `inboxIdleSeconds`): for an owner's request with a malformed query, which is
   * refused only after the refusals every owner's request meets. The well-formed ones are checked
   * in the same store call as their work.
   */
  private afterOwnerCheck(slotId: string, request: RelayRequest, now: number, answer: RelayResponse): StoreAnswer<RelayResponse> {
    if (!SLOT_ID_PATTERN.test(slotId)) return inboxNotFound();
    return andThen(this.timed('useInbox', () => this.store.useInbox(slotId, ownerTokenOf(request), now)), (result) => (result === 'ok' ? answer : ownerRefused(result)));
  }

  // -- POST /v1/slot/{slot_id}/messages -------------------------------------------------------

  private postMessage(slotId: string, request: RelayRequest, now: number): StoreAnswer<RelayResponse> {
    if (!SLOT_ID_PATTERN.test(slotId)) return inboxNotFound();
    const sendToken = bearerToken(request.authorization);

    const parsed = parseObject<PostMessageRequestBody>(request.body, '{"value":"<base64 envelope>"}');
    if (!parsed.ok) return parsed.response;
    const body = parsed.body;
    const value = body.value;
    if (value === undefined) return badRequest('value is missing; expected {"value":"<base64 envelope>"}.');
    if (typeof value !== 'string') return badRequest('value is not a string; expected base64 of the envelope.');
    const unknown = keyBesides(body, ONLY_VALUE);
    if (unknown !== undefined) return badRequest(`${unknown} is not a field of this request; expected only value.`);
    const maxEnvelope = this.limits.maxEnvelopeBytes;
    // Checked on the encoded length first, so an oversized value is never decoded.
    if (value.length > Math.ceil(maxEnvelope / 3) * 4) return errorResponse('too_large', `The envelope is over ${maxEnvelope} bytes; expected base64 of at most ${maxEnvelope} bytes.`);
    let bytes: number;
    try {
      bytes = base64ByteLength(value, 'value');
    } catch (error) {
      if (isPairError(error, 'bad_input')) return badRequest(error.message);
      throw error;
    }
    if (bytes === 0) return badRequest('value is empty; expected base64 of the envelope.');
    if (bytes > maxEnvelope) return errorResponse('too_large', `The envelope is ${bytes} bytes; expected at most ${maxEnvelope}.`);

    // A missing token is a stand-in no grant holds, so an unknown slot answers 404 either way (6.3).
    const presented = sendToken ?? NO_TOKEN;
    const grantId = grantIdOf(presented, sha256Hex);
    // Only a presented send token takes a hit on its window, in the same store call as the post.
    const rate = sendToken === undefined ? undefined : { key: `send:${slotId}/${grantId}`, limit: this.limits.messagesPerTokenPerMinute, windowMs: RATE_WINDOW_MS };
    return andThen(this.timed('postMessage', () => this.store.postMessage(slotId, { grantId, sendToken: presented, value, bytes }, rate, now)), (result) => this.posted(result));
  }

  private posted(result: PostResult): RelayResponse {
    switch (result.kind) {
      case 'rate_limited':
        return rateLimited(result.retryAfterMs, (seconds) => `Too many messages from this send token (at most ${this.limits.messagesPerTokenPerMinute} a minute); retry in ${seconds} s.`);
      case 'not_found':
        return inboxNotFound();
      case 'unauthorized':
        return unauthorized('a send token this inbox slot granted and did not revoke');
      case 'full':
        return errorResponse('inbox_full', `The inbox holds the most it keeps (${this.limits.maxInboxMessages} messages or ${this.limits.maxInboxBytes} bytes) until its owner reads and acknowledges them.`);
      case 'grant_full':
        return errorResponse('inbox_full', `The inbox holds the most it keeps from this send token (${this.limits.maxInboxMessagesPerGrant} messages or ${this.limits.maxInboxBytesPerGrant} bytes, its share of the inbox) until its owner reads and acknowledges them.`);
      case 'posted': {
        const answer: PostedMessageBody = {};
        return json(201, answer);
      }
    }
  }

  // -- GET /v1/slot/{slot_id}/messages?after=N&wait=S -----------------------------------------

  private readMessages(slotId: string, query: QueryParams, request: RelayRequest, now: number): StoreAnswer<RelayResponse> {
    const poll = this.parsePoll(query, 'seq');
    if (!poll.ok) return this.afterOwnerCheck(slotId, request, now, poll.response);
    if (!SLOT_ID_PATTERN.test(slotId)) return inboxNotFound();
    const after = poll.after ?? 0;
    // The first read checks the owner (a use of the slot) in the same store call; a long poll's re-reads need not.
    let ownerToken: string | undefined = ownerTokenOf(request);
    const read: PollAnswer = (final, at) => {
      const checking = ownerToken;
      ownerToken = undefined;
      return andThen(this.timed('readMessages', () => this.store.readMessages(slotId, checking, after, MAX_MESSAGES_PER_READ, at)), (page) => {
        if (typeof page === 'string') return ownerRefused(page);
        return final || page.messages.length > 0 ? this.pageResponse(page) : undefined;
      });
    };
    if (poll.waitSeconds === 0) return andThen(read(true, now), (response) => response ?? inboxNotFound());
    // The first read happens inside the long poll (see read).
    return this.longPoll(inboxChannel(slotId), poll.waitSeconds * 1000, request.signal, read, now);
  }

  private pageResponse(page: MessagePage): RelayResponse {
    return { status: 200, headers: JSON_HEADERS, body: pageJson(page, this.receivedTexts) };
  }

  // -- DELETE /v1/slot/{slot_id}/messages?through=N -------------------------------------------

  private ackMessages(slotId: string, query: QueryParams, request: RelayRequest, now: number): StoreAnswer<RelayResponse> {
    const throughText = query.get('through');
    if (throughText === null) return this.afterOwnerCheck(slotId, request, now, badRequest('through is missing; expected ?through=N, the last seq processed.'));
    if (!SEQUENCE_PATTERN.test(throughText)) return this.afterOwnerCheck(slotId, request, now, badRequest('through is not a seq; expected a non-negative integer.'));
    if (!SLOT_ID_PATTERN.test(slotId)) return inboxNotFound();
    return andThen(this.timed('ackMessages', () => this.store.ackMessages(slotId, ownerTokenOf(request), Number(throughText), now)), ownerAnswer);
  }
}

/**
 * The owner token an owner's request presents. A missing one is a well-formed stand-in no slot
 * holds, so its answer is the same as a wrong token's: 404 for a slot that is gone, else 401.
 */
function ownerTokenOf(request: RelayRequest): string {
  return bearerToken(request.authorization) ?? NO_TOKEN;
}

/** The answer to an owner's request the store refused: the slot is gone, or the token is not its owner's. */
function ownerRefused(refusal: OwnerRefusal): RelayResponse {
  return refusal === 'not_found' ? inboxNotFound() : unauthorized("the inbox slot's owner token");
}

/** 204 once the owner's request was done, else its refusal. */
function ownerAnswer(result: OwnerResult): RelayResponse {
  return result === 'ok' ? NO_CONTENT : ownerRefused(result);
}

/** A token no slot holds (all zero bytes): what an owner check compares a missing token with. */
const NO_TOKEN = '0'.repeat(64);

/** The most addresses remembered as blocked at once; past it the store's count still answers 429 per failure. */
const MAX_BLOCKED_ADDRESSES = 10_000;

/** Addresses blocked until a time, forgotten once it passed. */
class BlockedAddresses {
  private readonly until = new Map<string, number>();

  blockedFor(address: string, now: number): number | undefined {
    const until = this.until.get(address);
    if (until === undefined) return undefined;
    if (until > now) return until - now;
    this.until.delete(address);
    return undefined;
  }

  block(address: string, until: number): void {
    if (this.until.size < MAX_BLOCKED_ADDRESSES || this.until.has(address)) this.until.set(address, until);
  }

  sweep(now: number): void {
    for (const [address, until] of this.until) if (until <= now) this.until.delete(address);
  }
}

function timedCall<T>(observer: RelayObserver, operation: string, run: () => StoreAnswer<T>): StoreAnswer<T> {
  const started = performance.now();
  const record = (): void => {
    observer.storeCall(operation, (performance.now() - started) / 1000);
  };
  let answer: StoreAnswer<T>;
  try {
    answer = run();
  } catch (error) {
    record();
    throw error;
  }
  if (answer instanceof Promise) return answer.finally(record);
  record();
  return answer;
}

/**
 * The 503 for a store that cannot answer (StoreUnavailableError); anything else is rethrown.
 * Never a guess: a client retries a 503 after Retry-After, and meets the same state.
 */
function storeUnavailable(error: unknown): RelayResponse {
  if (!(error instanceof StoreUnavailableError)) throw error;
  return errorResponse('capacity', 'The relay cannot reach its store right now; try again in a moment.', { 'retry-after': String(STORE_RETRY_AFTER_SECONDS) });
}

/** What a long poll asks at each (re-)read, with the clock then: an answer, or undefined to wait on (never when `final`). */
type PollAnswer = (final: boolean, now: number) => StoreAnswer<RelayResponse | undefined>;

function clientWentAway(): RelayResponse {
  return errorResponse('bad_request', 'The client went away before the long poll ended.');
}

/** A long poll's flags: an object, so what callbacks set during an await is read fresh. */
interface PollState {
  changed: boolean;
  ended: boolean;
  wakeUp: (() => void) | undefined;
}

/** Resumes a waiting long poll (once per wait). */
function wake(state: PollState): void {
  const wakeUp = state.wakeUp;
  state.wakeUp = undefined;
  wakeUp?.();
}

/** Read through a call, so the compiler does not assume a flag is what it was before an await. */
function changedMeanwhile(state: PollState): boolean {
  return state.changed;
}

const ONCE = { once: true } as const;

/** A waiter only flags its poll and resolves a promise, so the set does not change while it is walked. */
function wakeAll(waiters: Set<() => void>): void {
  for (const waiter of waiters) waiter();
}

/**
 * An abort reason as a metrics label: the fixed reasons this project's clients write, by name
 * (spaces as underscores); anything else a client wrote is `other`, so labels stay a fixed set.
 */
function abortReasonLabel(reason: string): string {
  return KNOWN_ABORT_REASONS.has(reason) ? reason.replace(/ /g, '_') : 'other';
}
const KNOWN_ABORT_REASONS: ReadonlySet<string> = new Set(CLIENT_ABORT_REASONS);

/**
 * JSON.stringify of the page's InboxPageBody, written out by hand as slotViewJson is: JSON.stringify
 * looks at every character of each envelope (up to 64 KiB of base64) for one to escape, the
 * largest cost of answering a read, and none can hold one: every value passed base64ByteLength
 * before it was stored, grant ids are hex, and timestamps have one format.
 */
export function pageJson(page: MessagePage, timestamps: TimestampTexts): string {
  let json = '{"messages":[';
  for (const [index, message] of page.messages.entries()) {
    json += `${index === 0 ? '' : ','}{"seq":${message.seq},"value":"${message.value}","grant_id":"${message.grantId}","received_at":"${timestamps.of(message.receivedAt)}"}`;
  }
  return `${json}],"last_seq":${page.lastSeq}}`;
}

/** Timestamps as the protocol writes them (to the second), the last one kept: times within one second share one string. */
export class TimestampTexts {
  private second = Number.NaN;
  private text = '';

  of(ms: number): string {
    const second = Math.floor(ms / 1000);
    if (second !== this.second) {
      this.second = second;
      this.text = formatTimestamp(ms);
    }
    return this.text;
  }
}

/**
 * JSON.stringify of a SlotViewBody, with each side's fields in PAIR_FIELDS order, written out by
 * hand: JSON.stringify looks at every character of the pake, confirm and bootstrap values for one
 * to escape, which made it the largest single cost of answering a poll, and none of them can
 * hold one: every value but an abort reason passed fieldValueProblem before it was stored (hex,
 * base64 or "1"), and so did the timestamp's format. An abort reason is escaped as usual.
 */
export function slotViewJson(version: number, expiresAt: string, self: StoredFields, peer: StoredFields): string {
  return `{"version":${version},"expires_at":"${expiresAt}","self":${fieldsJson(self)},"peer":${fieldsJson(peer)}}`;
}

function fieldsJson(values: StoredFields): string {
  let json = '';
  for (const field of PAIR_FIELDS) {
    const value = values[field];
    if (value === undefined) continue;
    json += `${json === '' ? '{' : ','}"${field}":${field === 'abort' ? JSON.stringify(value) : `"${value}"`}`;
  }
  return json === '' ? '{}' : `${json}}`;
}

// -- Authentication -----------------------------------------------------------------------

/** The 64-hex token of an `Authorization: Bearer <64 hex>` header (lowercased), or undefined. */
function bearerToken(header: string | undefined): string | undefined {
  // What every client of this project sends, checked with one pattern; anything else takes the long way.
  if (header?.startsWith(CANONICAL_BEARER_PREFIX) === true && header.length === CANONICAL_BEARER_LENGTH) {
    const token = header.slice(CANONICAL_BEARER_PREFIX.length);
    if (TOKEN_PATTERN.test(token)) return token;
  }
  const match = header === undefined ? null : /^Bearer +([0-9a-f]+) *$/i.exec(header);
  const token = match?.[1]?.toLowerCase();
  return token !== undefined && TOKEN_PATTERN.test(token) ? token : undefined;
}

const CANONICAL_BEARER_PREFIX = 'Bearer ';
/** `Bearer ` and a token: 32 bytes as hex. */
const CANONICAL_BEARER_LENGTH = CANONICAL_BEARER_PREFIX.length + 2 * TOKEN_BYTES;

// -- Request bodies -----------------------------------------------------------------------

type Parsed<Body extends object> = { ok: true; body: Received<Body> } | { ok: false; response: RelayResponse };

function parseObject<Body extends object>(bytes: Uint8Array, expected: string): Parsed<Body> {
  const fail = (message: string): Parsed<Body> => ({ ok: false, response: badRequest(message) });
  if (bytes.length === 0) return fail(`The body is empty; expected a JSON object like ${expected}.`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(fromUtf8(bytes, 'The body'));
  } catch (error) {
    return fail(isPairError(error) ? error.message : `The body is not valid JSON; expected a JSON object like ${expected}.`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return fail(`The body is not a JSON object; expected one like ${expected}.`);
  return { ok: true, body: parsed as Received<Body> };
}

/**
 * The first key of `body` (a JSON object) not in `allowed`, or undefined: what Object.keys and
 * find would answer, without an array of keys and a callback for every body.
 */
function keyBesides(body: object, allowed: readonly string[]): string | undefined {
  for (const key in body) if (!allowed.includes(key)) return key;
  return undefined;
}
const ONLY_VALUE: readonly string[] = ['value'];

// -- Canned answers -----------------------------------------------------------------------

function badRequest(message: string): RelayResponse {
  return errorResponse('bad_request', message);
}

function unauthorized(what: string): RelayResponse {
  return errorResponse('unauthorized', `Missing or wrong credentials; expected Authorization: Bearer with ${what}.`, { 'www-authenticate': 'Bearer' });
}

function slotNotFound(): RelayResponse {
  return errorResponse('not_found', 'No such pairing on this relay: it expired, finished, or the relay restarted.');
}

function inboxNotFound(): RelayResponse {
  return errorResponse('not_found', 'No inbox slot with that id on this relay: it went unread for too long, or the relay restarted.');
}

function notFound(path: string): RelayResponse {
  return errorResponse('not_found', `No route ${path.slice(0, 100)} on this relay.`);
}

function notAllowed(allow: string): RelayResponse {
  return errorResponse('method_not_allowed', `This route takes ${allow} only.`, { allow });
}

// -- Client addresses ---------------------------------------------------------------------

/**
 * The key opens are counted under: the IPv4 address (also when IPv4-mapped), or the /64 prefix
 * of an IPv6 address, since one IPv6 client usually holds a whole /64.
 */
export function rateLimitKey(address: string): string {
  // The common case first: a plain IPv4 address is its own key (both checks below need a colon).
  if (!address.includes(':')) return address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped !== undefined && isIPv4(mapped)) return mapped;
  if (!isIPv6(address)) return address;
  const [head = '', tail = ''] = address.toLowerCase().split('%')[0]?.split('::') ?? [];
  const headGroups = head === '' ? [] : head.split(':');
  // A dotted IPv4 tail (like ::ffff:0:1.2.3.4) stands for two groups.
  const tailGroups = tail === '' ? [] : tail.split(':').flatMap((group) => (group.includes('.') ? ['0', '0'] : [group]));
  const groups = address.includes('::') ? [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups] : headGroups;
  return `${groups.slice(0, 4).map((group) => group.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
