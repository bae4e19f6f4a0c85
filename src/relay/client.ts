// The RelayPort over HTTP (PROTOCOL.md section 3): typed calls with per-request timeouts,
// bounded retries with exponential backoff and jitter, and every failure mapped to a PairError
// the core can act on. Response bodies are size-capped and validated before use: the relay is
// not trusted.
//
// Retries and non-idempotent requests. PUTs and GETs are idempotent (a field written again with
// the same value answers 204), so they are retried after network errors, 429 and 503 (honouring
// Retry-After within a bounded total wait); an attempt that timed out is not retried, so a call
// never takes much longer than its timeout plus that wait. The POSTs are retried too, with
// these consequences:
// - Host open, inbox allocation, grant: if an attempt reached the relay but its answer was lost,
//   the retry creates a second slot or token and the first is orphaned. An orphaned pair slot
//   holds a nameplate until it expires (10 minutes); an orphaned grant is a capability nobody
//   holds. Both are harmless, and cheaper than failing a pairing on one dropped packet.
// - Guest join: if a lost answer hid a successful join, the nameplate is used up and the retry
//   meets 409. The client cannot recover the token of that join, so it reports `conflict` and
//   says that its own earlier attempt may have been the one that joined. (Attempts that failed
//   before the request left, like a refused connection, do not count as possibly joined.)
// - PUT done: once both sides wrote `done` the relay deletes the slot, so a retry of a `done`
//   whose answer was lost can meet 404; that is reported as success, since the write it
//   retries is exactly what made the slot go away (or the pairing was over anyway).
//
// A long poll may carry the caller's AbortSignal: once it aborts, the call rejects with
// `cancelled` at once (the request is torn down, nothing is retried), so a watcher woken by
// its own side's action lets go of the relay immediately.

import { type RelayFetch, type RelayRequestInit, ResponseTooLarge, readCapped } from './transport.js';
import { PairError, badInput, errorMessage } from '../core/errors.js';
import { jsonQuote } from '../core/untrusted.js';
import { MAX_LONG_POLL_SECONDS, normaliseRelayUrl } from '../core/vocabulary.js';
import { systemClock } from '../node/system.js';

export { normaliseRelayUrl };
import {
  PAIR_FIELDS,
  type Clock,
  type FieldValues,
  type Grant,
  type GuestJoined,
  type HostOpened,
  type InboxMessage,
  type InboxPage,
  type InboxSlot,
  type PairField,
  type RelayConnector,
  type RelayPort,
  type SlotView,
} from '../core/ports.js';
import {
  type FieldWriteRequestBody,
  type GrantBody,
  type GuestJoinRequestBody,
  type GuestJoinedBody,
  type HostOpenRequestBody,
  type HostOpenedBody,
  type InboxMessageBody,
  type InboxPageBody,
  type InboxSlotBody,
  type PostMessageRequestBody,
  type Received,
  type SlotViewBody,
  GRANT_ID_PATTERN,
  MAX_ENVELOPE_BYTES,
  MAX_MESSAGES_PER_READ,
  NAMEPLATE_PATTERN,
  PAIR_ID_PATTERN,
  SLOT_ID_PATTERN,
  TOKEN_PATTERN,
  fieldValueProblem,
  grantIdOf,
  isPairField,
  parseTimestamp,
  routePath,
} from './contract.js';

export interface RelayClientOptions {
  /** Timeout of one request in ms; a long poll gets its wait on top. Default 10 000. */
  timeoutMs?: number;
  /** Further attempts after a network error, 429 or 503. Default 3. */
  retries?: number;
  /** The most time, in ms, spent waiting between attempts of one call. Default 20 000. */
  maxRetryWaitMs?: number;
  /** The fetch to use; default the global one. */
  fetch?: RelayFetch;
  /** What the pauses between attempts (the backoff, a Retry-After) wait on; default real time. */
  clock?: Pick<Clock, 'sleep'>;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_RETRIES = 3;
const DEFAULT_MAX_RETRY_WAIT_MS = 20_000;
const BACKOFF_BASE_MS = 250;
const BACKOFF_CAP_MS = 5_000;
/** Far above the largest legitimate answer (two 16 KiB bootstraps in base64). */
const MAX_RESPONSE_BYTES = 256 * 1024;
/** An inbox page: 100 envelopes of at most 128 KiB, in base64, with their JSON around them. */
const MAX_INBOX_PAGE_BYTES = MAX_MESSAGES_PER_READ * (Math.ceil(MAX_ENVELOPE_BYTES / 3) * 4 + 256) + 1024;
/** A relay's error message is shown to people; this much of it is enough. */
const MAX_SERVER_MESSAGE_CHARS = 300;

/** What one call needs: the request, and how its answers map to outcomes. */
interface Call {
  /** Completes "could not …" and "refused to …" in messages, e.g. "open a pairing". */
  what: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  token?: string;
  body?: unknown;
  timeoutMs: number;
  /** The caller's signal: aborting it ends the call with `cancelled`, without a retry. */
  signal?: AbortSignal | undefined;
  success: 200 | 201 | 204;
  /** The largest answer read; default MAX_RESPONSE_BYTES. */
  maxResponseBytes?: number;
  /** The error for a 404 answer. */
  notFound: (serverMessage: string) => PairError;
  /**
   * Overrides the mapping of a failed status; `retried` is true when an earlier attempt may have
   * reached the relay (its answer was lost). Returns 'success' to accept the answer as success.
   */
  special?: (status: number, retried: boolean, serverMessage: string) => PairError | 'success' | undefined;
}

interface Answer {
  status: number;
  retryAfterMs: number | undefined;
  text: string;
}

export class RelayClient implements RelayPort {
  readonly url: string;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly maxRetryWaitMs: number;
  private readonly fetchImpl: RelayFetch;
  private readonly clock: Pick<Clock, 'sleep'>;

  constructor(url: string, options: RelayClientOptions = {}) {
    this.url = normaliseRelayUrl(url);
    this.timeoutMs = positiveNumber(options.timeoutMs, 'timeoutMs', DEFAULT_TIMEOUT_MS);
    this.retries = nonNegativeInteger(options.retries, 'retries', DEFAULT_RETRIES);
    this.maxRetryWaitMs = nonNegativeInteger(options.maxRetryWaitMs, 'maxRetryWaitMs', DEFAULT_MAX_RETRY_WAIT_MS);
    this.fetchImpl = options.fetch ?? fetch;
    this.clock = options.clock ?? systemClock;
  }

  async openHost(): Promise<HostOpened> {
    const body = await this.call({
      what: 'open a pairing',
      method: 'POST',
      path: routePath('pair'),
      body: { role: 'host' } satisfies HostOpenRequestBody,
      timeoutMs: this.timeoutMs,
      success: 201,
      notFound: (message) => this.unexpected('open a pairing', 404, message),
    });
    const object = this.object<HostOpenedBody>(body);
    return {
      pairId: this.string(object, 'pair_id', PAIR_ID_PATTERN),
      nameplate: this.string(object, 'nameplate', NAMEPLATE_PATTERN),
      token: this.string(object, 'token', TOKEN_PATTERN),
      expiresAt: this.timestamp(object, 'expires_at'),
    };
  }

  async joinGuest(nameplate: string): Promise<GuestJoined> {
    if (typeof nameplate !== 'string' || !NAMEPLATE_PATTERN.test(nameplate)) {
      throw badInput('nameplate', 'is not digits without a leading zero', 'the digits before the dash of the code, like "47"');
    }
    const body = await this.call({
      what: `join the pairing under nameplate ${nameplate}`,
      method: 'POST',
      path: routePath('pair'),
      body: { role: 'guest', nameplate } satisfies GuestJoinRequestBody,
      timeoutMs: this.timeoutMs,
      success: 201,
      notFound: () => new PairError('not_found', `No pairing waits under nameplate ${nameplate} on ${this.url}: check the code (a code works for one join only).`),
      special: (status, retried) => {
        if (!retried || status !== 409) return undefined;
        return new PairError('conflict', `The pairing under nameplate ${nameplate} on ${this.url} was already joined, perhaps by this side's own earlier attempt whose answer was lost. Ask the host for a new code.`);
      },
    });
    const object = this.object<GuestJoinedBody>(body);
    return {
      pairId: this.string(object, 'pair_id', PAIR_ID_PATTERN),
      token: this.string(object, 'token', TOKEN_PATTERN),
      expiresAt: this.timestamp(object, 'expires_at'),
    };
  }

  async put(pairId: string, token: string, field: PairField, value: string): Promise<void> {
    checkPairId(pairId);
    checkToken(token, 'token');
    if (typeof field !== 'string' || !isPairField(field)) throw badInput('field', 'is not a pairing field', PAIR_FIELDS.join(', '));
    if (typeof value !== 'string') throw badInput('value', 'is not a string', `a ${field} value`);
    const problem = fieldValueProblem(field, value);
    if (problem !== undefined) throw new PairError('bad_input', problem);
    await this.call({
      what: `write ${field}`,
      method: 'PUT',
      path: routePath('pairField', { pair_id: pairId, field }),
      token,
      body: { value } satisfies FieldWriteRequestBody,
      timeoutMs: this.timeoutMs,
      success: 204,
      notFound: () => this.expired(),
      special: (status, retried) => (field === 'done' && status === 404 && retried ? 'success' : undefined),
    });
  }

  async get(pairId: string, token: string, poll?: { after: number; waitSeconds: number; signal?: AbortSignal }): Promise<SlotView> {
    checkPairId(pairId);
    checkToken(token, 'token');
    let path = routePath('pairSlot', { pair_id: pairId });
    let timeoutMs = this.timeoutMs;
    let signal: AbortSignal | undefined;
    if (poll !== undefined) {
      const { after, waitSeconds } = poll;
      signal = poll.signal;
      if (!Number.isSafeInteger(after) || after < 0) throw badInput('poll.after', 'is not a version', 'a non-negative integer');
      const maxWait = MAX_LONG_POLL_SECONDS;
      if (typeof waitSeconds !== 'number' || !(waitSeconds >= 0 && waitSeconds <= maxWait)) {
        throw badInput('poll.waitSeconds', 'is out of range', `a number of seconds from 0 to ${maxWait}`);
      }
      const wait = Math.floor(waitSeconds);
      path = routePath('pairSlot', { pair_id: pairId }, { after, wait });
      timeoutMs += wait * 1000;
    }
    const body = await this.call({ what: 'read the pairing', method: 'GET', path, token, timeoutMs, signal, success: 200, notFound: () => this.expired() });
    const object = this.object<SlotViewBody>(body);
    const version = object.version;
    if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) throw this.malformed('version is not a non-negative integer');
    return { version, expiresAt: this.timestamp(object, 'expires_at'), self: this.fields(object, 'self'), peer: this.fields(object, 'peer') };
  }

  async allocateSlot(): Promise<InboxSlot> {
    const body = await this.call({
      what: 'allocate an inbox slot',
      method: 'POST',
      path: routePath('inbox'),
      timeoutMs: this.timeoutMs,
      success: 201,
      notFound: (message) => this.unexpected('allocate an inbox slot', 404, message),
    });
    const object = this.object<InboxSlotBody>(body);
    return { slotId: this.string(object, 'slot_id', SLOT_ID_PATTERN), ownerToken: this.string(object, 'owner_token', TOKEN_PATTERN) };
  }

  async grant(slotId: string, ownerToken: string): Promise<Grant> {
    checkSlotId(slotId);
    checkToken(ownerToken, 'ownerToken');
    const body = await this.call({
      what: 'grant a send token',
      method: 'POST',
      path: routePath('grants', { slot_id: slotId }),
      token: ownerToken,
      timeoutMs: this.timeoutMs,
      success: 201,
      notFound: () => this.inboxGone(),
    });
    const object = this.object<GrantBody>(body);
    const sendToken = this.string(object, 'send_token', TOKEN_PATTERN);
    // The id is a hash of the token: a relay that reports another one is not believed.
    if (this.string(object, 'grant_id', GRANT_ID_PATTERN) !== grantIdOf(sendToken)) throw this.malformed('grant_id is not the hash of send_token');
    return { sendToken, grantId: grantIdOf(sendToken) };
  }

  async revokeGrant(slotId: string, ownerToken: string, grantId: string): Promise<void> {
    checkSlotId(slotId);
    checkToken(ownerToken, 'ownerToken');
    if (typeof grantId !== 'string' || !GRANT_ID_PATTERN.test(grantId)) throw badInput('grantId', 'is not a grant id', '32 lowercase hex characters');
    await this.call({
      what: 'revoke a grant',
      method: 'DELETE',
      path: routePath('grant', { slot_id: slotId, grant_id: grantId }),
      token: ownerToken,
      timeoutMs: this.timeoutMs,
      success: 204,
      notFound: () => this.inboxGone(),
    });
  }

  async postMessage(slotId: string, sendToken: string, envelope: string): Promise<void> {
    checkSlotId(slotId);
    checkToken(sendToken, 'sendToken');
    if (typeof envelope !== 'string' || envelope.length === 0 || envelope.length > Math.ceil(MAX_ENVELOPE_BYTES / 3) * 4) {
      throw new PairError('too_large', `The envelope is empty or over ${MAX_ENVELOPE_BYTES / 1024} KiB; expected base64 of at most ${MAX_ENVELOPE_BYTES} bytes.`);
    }
    await this.call({
      what: 'deliver a message',
      method: 'POST',
      path: routePath('messages', { slot_id: slotId }),
      token: sendToken,
      body: { value: envelope } satisfies PostMessageRequestBody,
      timeoutMs: this.timeoutMs,
      success: 201,
      notFound: () => this.inboxGone(),
      special: (status) =>
        status === 401 ? new PairError('revoked', `The relay at ${this.url} refused our send token: the peer forgot us or revoked it. Pair again to talk to them.`) : undefined,
    });
    // The answer is `{}` (PROTOCOL.md 6.3): nothing in it is read.
  }

  async readMessages(slotId: string, ownerToken: string, poll: { after: number; waitSeconds?: number; signal?: AbortSignal }): Promise<InboxPage> {
    checkSlotId(slotId);
    checkToken(ownerToken, 'ownerToken');
    const { after, waitSeconds = 0, signal } = poll;
    if (!Number.isSafeInteger(after) || after < 0) throw badInput('poll.after', 'is not a sequence number', 'a non-negative integer');
    const maxWait = MAX_LONG_POLL_SECONDS;
    if (typeof waitSeconds !== 'number' || !(waitSeconds >= 0 && waitSeconds <= maxWait)) {
      throw badInput('poll.waitSeconds', 'is out of range', `a number of seconds from 0 to ${maxWait}`);
    }
    const wait = Math.floor(waitSeconds);
    const body = await this.call({
      what: 'read the inbox',
      method: 'GET',
      path: routePath('messages', { slot_id: slotId }, { after, wait }),
      token: ownerToken,
      timeoutMs: this.timeoutMs + wait * 1000,
      signal,
      success: 200,
      maxResponseBytes: MAX_INBOX_PAGE_BYTES,
      notFound: () => this.inboxGone(),
    });
    const object = this.object<InboxPageBody>(body);
    const lastSeq = object.last_seq;
    if (typeof lastSeq !== 'number' || !Number.isSafeInteger(lastSeq) || lastSeq < 0) throw this.malformed('last_seq is not a non-negative integer');
    const list = object.messages;
    if (!Array.isArray(list) || list.length > MAX_MESSAGES_PER_READ) throw this.malformed(`messages is not a list of at most ${MAX_MESSAGES_PER_READ}`);
    const messages = list.map((item: unknown, index): InboxMessage => {
      const entry = this.object<InboxMessageBody>(item, `messages[${index}]`);
      const seq = entry.seq;
      const value = entry.value;
      if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq <= after || seq > lastSeq) throw this.malformed(`messages[${index}].seq is not between after and last_seq`);
      if (typeof value !== 'string') throw this.malformed(`messages[${index}].value is not a string`);
      return { seq, value, grantId: this.string(entry, 'grant_id', GRANT_ID_PATTERN), receivedAt: this.timestamp(entry, 'received_at') };
    });
    return { messages, lastSeq };
  }

  async ackMessages(slotId: string, ownerToken: string, through: number): Promise<void> {
    checkSlotId(slotId);
    checkToken(ownerToken, 'ownerToken');
    if (!Number.isSafeInteger(through) || through < 0) throw badInput('through', 'is not a sequence number', 'a non-negative integer');
    await this.call({
      what: 'acknowledge messages',
      method: 'DELETE',
      path: routePath('messages', { slot_id: slotId }, { through }),
      token: ownerToken,
      timeoutMs: this.timeoutMs,
      success: 204,
      notFound: () => this.inboxGone(),
    });
  }

  private inboxGone(): PairError {
    return new PairError('inbox_gone', `The relay at ${this.url} does not know this inbox (it may have restarted, or the inbox went unread for 30 days).`);
  }

  // -- Transport ----------------------------------------------------------------------------

  /** Runs a call with retries; returns the parsed JSON body of the success answer (undefined for 204). */
  private async call(call: Call): Promise<unknown> {
    let waitedMs = 0;
    let reachedBefore = false;
    for (let attempt = 0; ; attempt++) {
      if (aborted(call.signal)) throw this.cancelled(call);
      let answer: Answer;
      try {
        answer = await this.send(call);
      } catch (error) {
        if (aborted(call.signal)) throw this.cancelled(call, error);
        if (error instanceof ResponseTooLarge) throw this.malformed(error.message);
        const failure = this.unreachable(call, error);
        const delay = backoffMs(attempt);
        // A timed-out attempt is not retried: the relay took the request and stayed silent, and
        // retrying would multiply a wait (25 s for a long poll) the caller did not budget for.
        if (isTimeout(error) || attempt >= this.retries || waitedMs + delay > this.maxRetryWaitMs) throw failure;
        reachedBefore ||= !failedBeforeSending(error);
        waitedMs += delay;
        await this.pause(delay, call);
        continue;
      }
      if (answer.status === call.success) return answer.status === 204 ? undefined : this.parseJson(answer.text);
      if (answer.status === 429 || answer.status === 503) {
        const delay = answer.retryAfterMs ?? backoffMs(attempt);
        if (attempt < this.retries && waitedMs + delay <= this.maxRetryWaitMs) {
          waitedMs += delay;
          await this.pause(delay, call);
          continue;
        }
      }
      const message = serverMessage(answer.text);
      const special = call.special?.(answer.status, reachedBefore, message);
      if (special === 'success') return undefined;
      throw special ?? this.mapStatus(call, answer, message);
    }
  }

  /** Waits between attempts; the caller's signal cuts the wait short with `cancelled`. */
  private async pause(ms: number, call: Call): Promise<void> {
    await this.clock.sleep(ms, call.signal);
    if (aborted(call.signal)) throw this.cancelled(call);
  }

  private async send(call: Call): Promise<Answer> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (call.token !== undefined) headers['authorization'] = `Bearer ${call.token}`;
    // The request's own timer, cleared with its answer (AbortSignal.timeout's stays pending for
    // the whole timeout after every request); its reason is a TimeoutError, as that one's is.
    const timeout = new AbortController();
    const timer = setTimeout(() => {
      timeout.abort(new DOMException(`The request took longer than ${call.timeoutMs} ms.`, 'TimeoutError'));
    }, call.timeoutMs);
    timer.unref();
    try {
      // Never followed: a redirect would send the token to an address nobody agreed to (issue 17).
      const init: RelayRequestInit = { method: call.method, headers, redirect: 'manual', signal: call.signal ? AbortSignal.any([call.signal, timeout.signal]) : timeout.signal };
      if (call.body !== undefined) {
        headers['content-type'] = 'application/json';
        init.body = JSON.stringify(call.body);
      }
      const response = await this.fetchImpl(this.url + call.path, init);
      const text = await readCapped(response, call.maxResponseBytes ?? MAX_RESPONSE_BYTES);
      return { status: response.status, retryAfterMs: parseRetryAfter(response.headers.get('retry-after')), text };
    } finally {
      clearTimeout(timer);
    }
  }

  private mapStatus(call: Call, answer: Answer, message: string): PairError {
    if (answer.status >= 300 && answer.status < 400) {
      // Its Location is not repeated: it is the relay's word, and nobody agreed to that address.
      return new PairError('relay_error', `The relay at ${this.url} answered ${answer.status} (a redirect) when asked to ${call.what}; relay requests never follow redirects. Check the relay URL: it must be the relay itself.`);
    }
    switch (answer.status) {
      case 404:
        return call.notFound(message);
      case 413:
        return new PairError('too_large', `The relay at ${this.url} refused to ${call.what}: ${message}`);
      case 507:
        return new PairError('inbox_full', `The inbox at ${this.url} is full: ${message} The owner must read their messages first.`);
      case 409:
        return new PairError('conflict', `The relay at ${this.url} refused to ${call.what}: ${message}`);
      case 429: {
        const retry = answer.retryAfterMs === undefined ? '' : ` Retry in ${Math.ceil(answer.retryAfterMs / 1000)} s.`;
        return new PairError('rate_limited', `The relay at ${this.url} asks to slow down: ${message}${retry}`);
      }
      case 503:
        return new PairError('relay_full', `The relay at ${this.url} has no room right now: ${message} Try again in a few minutes, or use another relay.`);
      default:
        return this.unexpected(call.what, answer.status, message);
    }
  }

  private unexpected(what: string, status: number, message: string): PairError {
    return new PairError('relay_error', `The relay at ${this.url} answered ${status} when asked to ${what}: ${message}`);
  }

  private unreachable(call: Call, error: unknown): PairError {
    const message = isTimeout(error)
      ? `The relay at ${this.url} did not answer within ${Math.round(call.timeoutMs / 1000)} s when asked to ${call.what}. Check the relay URL and your network.`
      : `Could not reach the relay at ${this.url} to ${call.what} (${networkCause(error)}). Check the relay URL and that the relay runs.`;
    return new PairError('relay_unreachable', message, { cause: error });
  }

  private cancelled(call: Call, cause?: unknown): PairError {
    return new PairError('cancelled', `The wait to ${call.what} at ${this.url} was cancelled by its caller.`, cause === undefined ? undefined : { cause });
  }

  private expired(): PairError {
    return new PairError('expired', `The pairing is no longer on the relay at ${this.url}: it expired, finished, or the relay restarted.`);
  }

  // -- Response validation ------------------------------------------------------------------

  private malformed(problem: string): PairError {
    return new PairError('relay_error', `The relay at ${this.url} answered with a malformed body: ${problem}.`);
  }

  private parseJson(text: string): unknown {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw this.malformed('it is not JSON');
    }
  }

  /** An answer's body as the contract's `Body`, each field still to be checked. */
  private object<Body extends object>(value: unknown, name = 'the body'): Received<Body> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw this.malformed(`${name} is not a JSON object`);
    return value as Received<Body>;
  }

  private string<Body extends object>(object: Received<Body>, key: keyof Body & string, pattern: RegExp): string {
    const value = object[key];
    if (typeof value !== 'string' || !pattern.test(value)) throw this.malformed(`${key} is missing or not in the protocol's format`);
    return value;
  }

  private timestamp<Body extends object>(object: Received<Body>, key: keyof Body & string): number {
    const value = object[key];
    const ms = typeof value === 'string' ? parseTimestamp(value) : undefined;
    if (ms === undefined) throw this.malformed(`${key} is not an RFC 3339 timestamp`);
    return ms;
  }

  /** The known fields of `self` or `peer`; their values' formats are the core's to judge. */
  private fields(object: Received<SlotViewBody>, key: 'self' | 'peer'): FieldValues {
    const source = this.object<FieldValues>(object[key], key);
    const values: FieldValues = {};
    for (const field of PAIR_FIELDS) {
      const value = source[field];
      if (value === undefined) continue;
      if (typeof value !== 'string') throw this.malformed(`${key}.${field} is not a string`);
      values[field] = value;
    }
    return values;
  }
}

/**
 * A RelayConnector that keeps one client per relay URL (so connections are reused), all with
 * the same options.
 */
export function createRelayConnector(options: RelayClientOptions = {}): RelayConnector {
  const clients = new Map<string, RelayClient>();
  return (url) => {
    // A URL already in its normal form (as records keep it) is found without parsing it again:
    // a send or a pull asks several times per message. Normalising a normal form changes nothing.
    const known = clients.get(url);
    if (known) return known;
    const normalised = normaliseRelayUrl(url);
    let client = clients.get(normalised);
    if (!client) {
      client = new RelayClient(normalised, options);
      clients.set(normalised, client);
    }
    return client;
  };
}

// -- Helpers --------------------------------------------------------------------------------

function checkPairId(pairId: string): void {
  if (typeof pairId !== 'string' || !PAIR_ID_PATTERN.test(pairId)) throw badInput('pairId', 'is not a pair id', '32 lowercase hex characters');
}

function checkSlotId(slotId: string): void {
  if (typeof slotId !== 'string' || !SLOT_ID_PATTERN.test(slotId)) throw badInput('slotId', 'is not an inbox slot id', '32 lowercase hex characters');
}

function checkToken(token: string, name: string): void {
  // The message never repeats the token: it is a secret.
  if (typeof token !== 'string' || !TOKEN_PATTERN.test(token)) throw badInput(name, 'is not a relay token', '64 lowercase hex characters');
}

function positiveNumber(value: number | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw badInput(name, 'is not a positive number', 'milliseconds greater than 0');
  return value;
}

function nonNegativeInteger(value: number | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0) throw badInput(name, 'is not a non-negative integer', 'an integer of 0 or more');
  return value;
}

/** Exponential backoff with jitter: half the step fixed, half random, so clients spread out. */
function backoffMs(attempt: number): number {
  const step = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt);
  return Math.round(step / 2 + Math.random() * (step / 2));
}

/** Retry-After as delay-seconds or an HTTP date, in ms; undefined if absent or unreadable. */
function parseRetryAfter(header: string | null): number | undefined {
  if (header === null) return undefined;
  const text = header.trim();
  if (/^\d{1,9}$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}

/** The `error.message` of a relay error body, cleaned for display, or a stand-in. */
function serverMessage(text: string): string {
  let message: unknown;
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed === 'object' && parsed !== null && 'error' in parsed) {
      const error = parsed.error;
      if (typeof error === 'object' && error !== null && 'message' in error) message = error.message;
    }
  } catch {
    // Not JSON: the relay (or a proxy in front of it) answered with something else.
  }
  if (typeof message !== 'string' || message.trim() === '') return '(no error message)';
  // eslint-disable-next-line no-control-regex -- stripping control characters is the point
  const clean = message.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ').trim();
  // Quoted: a peer's relay is an address the peer chose, and its words must not read as ours
  // (an agent reads them in a tool's error) nor run on as part of our sentence.
  return jsonQuote(clean.length > MAX_SERVER_MESSAGE_CHARS ? `${clean.slice(0, MAX_SERVER_MESSAGE_CHARS)}…` : clean);
}

/** The system error code behind a failed fetch (undici puts it on `cause`), if any. */
function errorCode(error: unknown): string | undefined {
  const cause: unknown = error instanceof Error ? error.cause : undefined;
  return typeof cause === 'object' && cause !== null && 'code' in cause && typeof cause.code === 'string' ? cause.code : undefined;
}

/** A short reason for a failed fetch: the system error code if there is one. */
function networkCause(error: unknown): string {
  return errorCode(error) ?? (errorMessage(error));
}

/** A function, not a property read, so a check after an await is not narrowed away. */
function aborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

function isTimeout(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'TimeoutError';
}

/** Failures while connecting: the request never reached the relay. */
const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

function failedBeforeSending(error: unknown): boolean {
  const code = errorCode(error);
  return code !== undefined && CONNECT_ERRORS.has(code);
}
