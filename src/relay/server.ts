// The relay itself (PROTOCOL.md section 3): pair slots, nameplates, per-role tokens, long-poll
// waiters, inbox slots and limits, as a handler from a parsed request to a response. It knows
// nothing of sockets; node.ts reads bodies (and enforces their size) and writes responses.
//
// Everything lives in memory: a restart forgets every slot, which clients report as `expired`.
//
// One decision the protocol leaves open: a join under a nameplate whose pairing a guest already
// joined. The table says 409 "a guest already joined"; the prose says the nameplate stops
// resolving and "a late or mistaken join meets a 404, never a stranger's pairing". We answer
// 409 while the nameplate is quarantined after that join (60 s by default) and 404 otherwise.
// Either way the nameplate never leads to the slot again, and 409 tells a person who typed the
// right code that someone else got there first (or that their own earlier join went through),
// instead of making them suspect a typo.

import { randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { fromUtf8 } from '../core/bytes.js';
import { isPairError } from '../core/errors.js';
import { PAIR_FIELDS, type FieldValues, type PairField, type Role } from '../core/ports.js';
import {
  type FieldWriteRequestBody,
  type GrantBody,
  type GuestJoinRequestBody,
  type HostOpenRequestBody,
  type Received,
  grantIdOf,
  type GuestJoinedBody,
  type HostOpenedBody,
  type InboxSlotBody,
  type RelayErrorCode,
  type RelayLimits,
  type SlotViewBody,
  HEALTH_PATH,
  INBOX_PATH,
  NAMEPLATE_PATTERN,
  PAIR_ID_PATTERN,
  PAIR_PATH,
  RELAY_ERROR_STATUS,
  SLOT_ID_PATTERN,
  TOKEN_PATTERN,
  errorBody,
  fieldValueProblem,
  formatTimestamp,
  isPairField,
  otherRole,
  pakeMatchesCommit,
  resolveLimits,
} from './contract.js';

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
  signal?: AbortSignal;
}

export interface RelayResponse {
  status: number;
  headers: Record<string, string>;
  /** JSON text, `ok` for the health check, or empty (204). */
  body: string;
}

export interface RelayOptions {
  limits?: Partial<RelayLimits>;
  /** Milliseconds since the epoch; injectable so slot lifetimes can be tested without waiting. */
  clock?: { now(): number };
}

export interface RelayStats {
  pairSlots: number;
  waitingNameplates: number;
  quarantinedNameplates: number;
  inboxSlots: number;
  longPolls: number;
  rateLimitedAddresses: number;
}

interface PairSlot {
  pairId: string;
  nameplate: string;
  expiresAt: number;
  /** `expiresAt` as RFC 3339, formatted once (every answer about the slot carries it). */
  expiresAtText: string;
  hostToken: Buffer;
  guestToken: Buffer | undefined;
  fields: Record<Role, FieldValues>;
  version: number;
  /** Pending long polls, each called once the slot changes or goes away. */
  waiters: Set<() => void>;
}

interface InboxSlot {
  ownerToken: Buffer;
  sendTokens: Set<string>;
}

const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' };
const TOKEN_BYTES = 32;
const ID_BYTES = 16;
const RATE_WINDOW_MS = 60_000;

function json(status: number, value: unknown, headers: Record<string, string> = {}): RelayResponse {
  return { status, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(value) };
}

export function errorResponse(code: RelayErrorCode, message: string, headers: Record<string, string> = {}): RelayResponse {
  return json(RELAY_ERROR_STATUS[code], errorBody(code, message), headers);
}

const NO_CONTENT: RelayResponse = { status: 204, headers: { 'cache-control': 'no-store' }, body: '' };

function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

export class Relay {
  readonly limits: RelayLimits;
  private readonly clock: { now(): number };
  /** Insertion order is creation order, and every slot lives equally long: the oldest expire first. */
  private readonly slots = new Map<string, PairSlot>();
  private readonly nameplates = new NameplateRegistry();
  private readonly inbox = new Map<string, InboxSlot>();
  private readonly opens: SlidingWindowLimiter;
  private longPolls = 0;
  private shuttingDown = false;
  /** The last expiry formatted: slots opened in the same second share one string. */
  private lastExpiry = { second: Number.NaN, text: '' };

  constructor(options: RelayOptions = {}) {
    this.limits = resolveLimits(options.limits);
    this.clock = options.clock ?? { now: () => Date.now() };
    this.opens = new SlidingWindowLimiter(this.limits.opensPerIpPerMinute, RATE_WINDOW_MS);
  }

  async handle(request: RelayRequest): Promise<RelayResponse> {
    if (this.shuttingDown) return errorResponse('capacity', 'The relay is shutting down; try again in a moment.', { connection: 'close' });
    this.sweep();
    const queryAt = request.target.indexOf('?');
    const path = queryAt < 0 ? request.target : request.target.slice(0, queryAt);
    const query = new URLSearchParams(queryAt < 0 ? '' : request.target.slice(queryAt + 1));
    const segments = path.split('/').slice(1);
    const [first, second, third, fourth, ...rest] = segments;
    const method = request.method;

    if (path === HEALTH_PATH) {
      return method === 'GET' ? { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }, body: 'ok' } : notAllowed('GET');
    }
    if (first !== 'v1' || rest.length > 0) return notFound(path);
    if (`/${first}/${second ?? ''}` === PAIR_PATH) {
      if (third === undefined) return method === 'POST' ? this.openOrJoin(request) : notAllowed('POST');
      if (fourth === undefined) return method === 'GET' ? this.read(third, query, request) : notAllowed('GET');
      return method === 'PUT' ? this.write(third, fourth, request) : notAllowed('PUT');
    }
    if (`/${first}/${second ?? ''}` === INBOX_PATH) {
      if (third === undefined) return method === 'POST' ? this.allocateInbox(request) : notAllowed('POST');
      if (fourth === 'grants') return method === 'POST' ? this.grant(third, request) : notAllowed('POST');
    }
    return notFound(path);
  }

  /**
   * Drops expired slots (waking their long polls, which then answer 404), releases nameplates
   * whose quarantine is over and forgets idle rate-limit entries. Runs at the start of every
   * request; the Node adapter also runs it on a timer so an idle relay lets go of memory too.
   */
  sweep(): void {
    const now = this.clock.now();
    for (const slot of this.slots.values()) {
      if (slot.expiresAt > now) break;
      this.removeSlot(slot, now);
    }
    this.nameplates.release(now);
    this.opens.sweep(now);
  }

  /**
   * Stops taking requests and answers every pending long poll at once with the slot as it is
   * (a final, ordinary answer), so a graceful close never waits out a 25-second poll.
   */
  shutdown(): void {
    this.shuttingDown = true;
    for (const slot of this.slots.values()) wake(slot);
  }

  stats(): RelayStats {
    return {
      pairSlots: this.slots.size,
      waitingNameplates: this.nameplates.waitingCount,
      quarantinedNameplates: this.nameplates.quarantinedCount,
      inboxSlots: this.inbox.size,
      longPolls: this.longPolls,
      rateLimitedAddresses: this.opens.size,
    };
  }

  // -- POST /v1/pair ------------------------------------------------------------------------

  private openOrJoin(request: RelayRequest): RelayResponse {
    const parsed = parseObject<HostOpenRequestBody | GuestJoinRequestBody>(request.body, '{"role":"host"} or {"role":"guest","nameplate":"47"}');
    if (!parsed.ok) return parsed.response;
    const body = parsed.body;
    const role = body.role;
    if (role === undefined) return badRequest('role is missing; expected "host" or "guest".');
    if (role !== 'host' && role !== 'guest') return badRequest('role is not "host" or "guest".');
    const allowed: string[] = role === 'host' ? (['role'] satisfies (keyof HostOpenRequestBody)[]) : (['role', 'nameplate'] satisfies (keyof GuestJoinRequestBody)[]);
    const unknown = Object.keys(body).find((key) => !allowed.includes(key));
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

    const limited = this.takeOpen(request.clientAddress);
    if (limited) return limited;
    const now = this.clock.now();
    return nameplate === undefined ? this.openHost(now) : this.joinGuest(nameplate, now);
  }

  private openHost(now: number): RelayResponse {
    if (this.slots.size >= this.limits.maxOpenSlots) {
      return errorResponse('capacity', `The relay holds the most pairings it takes at once (${this.limits.maxOpenSlots}); try again in a few minutes.`);
    }
    const pairId = randomHex(ID_BYTES);
    const hostToken = randomBytes(TOKEN_BYTES);
    const expiresAt = now + this.limits.slotLifetimeSeconds * 1000;
    const slot: PairSlot = {
      pairId,
      nameplate: this.nameplates.allocate(pairId),
      expiresAt,
      expiresAtText: this.expiryText(expiresAt),
      hostToken,
      guestToken: undefined,
      fields: { host: {}, guest: {} },
      version: 0,
      waiters: new Set(),
    };
    this.slots.set(pairId, slot);
    const body: HostOpenedBody = { pair_id: pairId, nameplate: slot.nameplate, token: hostToken.toString('hex'), expires_at: slot.expiresAtText };
    return json(201, body);
  }

  private expiryText(expiresAt: number): string {
    const second = Math.floor(expiresAt / 1000);
    if (second !== this.lastExpiry.second) this.lastExpiry = { second, text: formatTimestamp(expiresAt) };
    return this.lastExpiry.text;
  }

  private joinGuest(nameplate: string, now: number): RelayResponse {
    const entry = this.nameplates.lookup(nameplate, now);
    if (entry.kind === 'joined') {
      return errorResponse('conflict', `A guest already joined the pairing under nameplate ${nameplate}; a code works for one join only. Ask the host for a new code.`);
    }
    const slot = entry.kind === 'waiting' ? this.slots.get(entry.pairId) : undefined;
    if (slot === undefined) return errorResponse('not_found', `No pairing waits under nameplate ${nameplate}. Check the code with the host.`);
    // One guess per pairing: the nameplate stops resolving now, right or wrong code.
    this.nameplates.quarantine(nameplate, now + this.limits.nameplateQuarantineSeconds * 1000, 'joined');
    const guestToken = randomBytes(TOKEN_BYTES);
    slot.guestToken = guestToken;
    const body: GuestJoinedBody = { pair_id: slot.pairId, token: guestToken.toString('hex'), expires_at: slot.expiresAtText };
    return json(201, body);
  }

  private takeOpen(clientAddress: string): RelayResponse | undefined {
    const retryAfterMs = this.opens.take(rateLimitKey(clientAddress), this.clock.now());
    if (retryAfterMs === undefined) return undefined;
    const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    return errorResponse('rate_limited', `Too many pairings opened or joined from this address (at most ${this.limits.opensPerIpPerMinute} a minute); retry in ${seconds} s.`, { 'retry-after': String(seconds) });
  }

  // -- GET /v1/pair/{pair_id} ---------------------------------------------------------------

  private read(pairId: string, query: URLSearchParams, request: RelayRequest): RelayResponse | Promise<RelayResponse> {
    const slot = this.liveSlot(pairId);
    if (!slot) return slotNotFound();
    const role = authenticatePair(slot, request.authorization);
    if (!role) return unauthorized('the token of this pairing');

    const afterText = query.get('after');
    const waitText = query.get('wait');
    if (afterText !== null && !/^(?:0|[1-9][0-9]{0,14})$/.test(afterText)) return badRequest('after is not a version; expected a non-negative integer.');
    if (waitText !== null) {
      const wait = /^[0-9]{1,3}(?:\.[0-9]{1,3})?$/.test(waitText) ? Number(waitText) : Number.NaN;
      if (!(wait <= this.limits.maxWaitSeconds)) return badRequest(`wait is not a number of seconds from 0 to ${this.limits.maxWaitSeconds}.`);
      if (afterText === null) return badRequest('wait needs after: the version to wait beyond.');
      const after = Number(afterText);
      if (slot.version <= after && wait > 0) return this.waitForChange(slot, role, after, wait * 1000, request.signal);
    }
    return viewResponse(slot, role);
  }

  private waitForChange(slot: PairSlot, role: Role, after: number, waitMs: number, signal: AbortSignal | undefined): Promise<RelayResponse> {
    return new Promise((resolve) => {
      const finish = (): void => {
        cleanUp();
        // Looked up again: the slot may have expired or finished while we waited.
        const current = this.slots.get(slot.pairId);
        resolve(current ? viewResponse(current, role) : slotNotFound());
      };
      const onChange = (): void => {
        if (this.shuttingDown || slot.version > after || !this.slots.has(slot.pairId)) finish();
      };
      const onClientGone = (): void => {
        cleanUp();
        resolve(errorResponse('bad_request', 'The client went away before the long poll ended.'));
      };
      const cleanUp = (): void => {
        clearTimeout(timer);
        if (slot.waiters.delete(onChange)) this.longPolls--;
        signal?.removeEventListener('abort', onClientGone);
      };
      const timer = setTimeout(finish, waitMs);
      slot.waiters.add(onChange);
      this.longPolls++;
      if (signal?.aborted) onClientGone();
      else signal?.addEventListener('abort', onClientGone, { once: true });
    });
  }

  // -- PUT /v1/pair/{pair_id}/{field} -------------------------------------------------------

  private write(pairId: string, fieldName: string, request: RelayRequest): RelayResponse {
    if (!isPairField(fieldName)) return badRequest(`${fieldName.slice(0, 32)} is not a field; expected one of ${PAIR_FIELDS.join(', ')}.`);
    const field: PairField = fieldName;
    const slot = this.liveSlot(pairId);
    if (!slot) return slotNotFound();
    const role = authenticatePair(slot, request.authorization);
    if (!role) return unauthorized('the token of this pairing');

    const parsed = parseObject<FieldWriteRequestBody>(request.body, '{"value":"..."}');
    if (!parsed.ok) return parsed.response;
    const body = parsed.body;
    const value = body.value;
    if (value === undefined) return badRequest('value is missing; expected {"value":"..."}.');
    if (typeof value !== 'string') return badRequest('value is not a string.');
    const unknown = Object.keys(body).find((key) => key !== 'value');
    if (unknown !== undefined) return badRequest(`${unknown} is not a field of this request; expected only value.`);
    // Format violations are 400: the request is malformed whatever the slot holds. The
    // commitment check below is 422: well-formed, but it contradicts what the slot holds.
    const problem = fieldValueProblem(field, value);
    if (problem !== undefined) return badRequest(problem);

    const own = slot.fields[role];
    const existing = own[field];
    if (existing !== undefined) {
      return existing === value ? NO_CONTENT : errorResponse('conflict', `${field} was already written by the ${role} with another value; each field is written once.`);
    }
    if (field === 'pake') {
      const hostCommit = slot.fields.host.commit;
      const guestCommit = slot.fields.guest.commit;
      if (hostCommit === undefined || guestCommit === undefined) {
        return errorResponse('conflict', 'pake is accepted only once both commits are present (commit before reveal).');
      }
      if (!pakeMatchesCommit(value, role === 'host' ? hostCommit : guestCommit)) {
        return errorResponse('unprocessable', `pake does not match the ${role}'s commit: H("agent-pair/v1 commit" || pake) must equal it.`);
      }
    }
    own[field] = value;
    slot.version++;
    if (slot.fields.host.done !== undefined && slot.fields.guest.done !== undefined) this.removeSlot(slot, this.clock.now());
    else wake(slot);
    return NO_CONTENT;
  }

  // -- Inbox: POST /v1/slot, POST /v1/slot/{slot_id}/grants ---------------------------------

  private allocateInbox(request: RelayRequest): RelayResponse {
    const limited = this.takeOpen(request.clientAddress);
    if (limited) return limited;
    if (this.inbox.size >= this.limits.maxInboxSlots) {
      return errorResponse('capacity', `The relay holds the most inbox slots it keeps (${this.limits.maxInboxSlots}).`);
    }
    const slotId = randomHex(ID_BYTES);
    const ownerToken = randomBytes(TOKEN_BYTES);
    this.inbox.set(slotId, { ownerToken, sendTokens: new Set() });
    const body: InboxSlotBody = { slot_id: slotId, owner_token: ownerToken.toString('hex') };
    return json(201, body);
  }

  private grant(slotId: string, request: RelayRequest): RelayResponse {
    const slot = SLOT_ID_PATTERN.test(slotId) ? this.inbox.get(slotId) : undefined;
    if (!slot) return errorResponse('not_found', 'No inbox slot with that id on this relay (it may have restarted).');
    const presented = bearerToken(request.authorization);
    if (!presented || !timingSafeEqual(presented, slot.ownerToken)) return unauthorized("the inbox slot's owner token");
    if (slot.sendTokens.size >= this.limits.maxGrantsPerSlot) {
      return errorResponse('conflict', `This inbox slot already handed out the most send tokens it may (${this.limits.maxGrantsPerSlot}).`);
    }
    const sendToken = randomHex(TOKEN_BYTES);
    slot.sendTokens.add(sendToken);
    const body: GrantBody = { send_token: sendToken, grant_id: grantIdOf(sendToken) };
    return json(201, body);
  }

  // -- Slot bookkeeping ---------------------------------------------------------------------

  private liveSlot(pairId: string): PairSlot | undefined {
    if (!PAIR_ID_PATTERN.test(pairId)) return undefined;
    const slot = this.slots.get(pairId);
    return slot && slot.expiresAt > this.clock.now() ? slot : undefined;
  }

  /** Deletes a slot that finished or expired; its long polls wake and answer 404. */
  private removeSlot(slot: PairSlot, now: number): void {
    this.slots.delete(slot.pairId);
    // A nameplate nobody joined is quarantined from now on too, so a late join meets a 404.
    if (slot.guestToken === undefined) this.nameplates.quarantine(slot.nameplate, now + this.limits.nameplateQuarantineSeconds * 1000, 'abandoned');
    wake(slot);
  }
}

function wake(slot: PairSlot): void {
  for (const waiter of [...slot.waiters]) waiter();
}

function viewResponse(slot: PairSlot, role: Role): RelayResponse {
  const body: SlotViewBody = {
    version: slot.version,
    expires_at: slot.expiresAtText,
    self: orderedFields(slot.fields[role]),
    peer: orderedFields(slot.fields[otherRole(role)]),
  };
  return json(200, body);
}

function orderedFields(values: FieldValues): FieldValues {
  const out: FieldValues = {};
  for (const field of PAIR_FIELDS) {
    const value = values[field];
    if (value !== undefined) out[field] = value;
  }
  return out;
}

// -- Authentication -----------------------------------------------------------------------

/** The 32 token bytes of an `Authorization: Bearer <64 hex>` header, or undefined. */
function bearerToken(header: string | undefined): Buffer | undefined {
  const match = header === undefined ? null : /^Bearer +([0-9a-f]+) *$/i.exec(header);
  const token = match?.[1];
  return token !== undefined && TOKEN_PATTERN.test(token) ? Buffer.from(token, 'hex') : undefined;
}

/** The role whose token was presented; both comparisons run in constant time. */
function authenticatePair(slot: PairSlot, header: string | undefined): Role | undefined {
  const presented = bearerToken(header);
  if (!presented) return undefined;
  const isHost = timingSafeEqual(presented, slot.hostToken);
  const isGuest = slot.guestToken !== undefined && timingSafeEqual(presented, slot.guestToken);
  return isHost ? 'host' : isGuest ? 'guest' : undefined;
}

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

function notFound(path: string): RelayResponse {
  return errorResponse('not_found', `No route ${path.slice(0, 100)} on this relay.`);
}

function notAllowed(allow: string): RelayResponse {
  return errorResponse('method_not_allowed', `This route takes ${allow} only.`, { allow });
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

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  get size(): number {
    return this.hits.size;
  }

  /** Records a hit and returns undefined, or refuses it and returns ms until one is allowed. */
  take(key: string, now: number): number | undefined {
    const times = (this.hits.get(key) ?? []).filter((time) => time > now - this.windowMs);
    if (times.length >= this.limit) {
      this.hits.set(key, times);
      return (times[times.length - this.limit] ?? now) + this.windowMs - now;
    }
    times.push(now);
    this.hits.set(key, times);
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

/**
 * The key opens are counted under: the IPv4 address (also when IPv4-mapped), or the /64 prefix
 * of an IPv6 address, since one IPv6 client usually holds a whole /64.
 */
export function rateLimitKey(address: string): string {
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
