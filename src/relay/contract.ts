// The relay's HTTP contract (PROTOCOL.md section 3), imported by both the server and the client
// so the two agree on every route, body, value format, status and error code. Nothing here
// touches a socket.

import { sha256 } from '@noble/hashes/sha2.js';
import { base64ByteLength, fromBase64, fromHex, toHex, utf8 } from '../core/bytes.js';
import { badInput, isPairError } from '../core/errors.js';
import { MAX_BOOTSTRAP_BYTES, pakeCommitment } from '../core/keySchedule.js';
import { PAIR_FIELDS, type FieldValues, type PairField, type Role } from '../core/ports.js';
import {
  GRANT_ID_PATTERN,
  MAX_ABORT_REASON_CHARS,
  MAX_ENVELOPE_BYTES,
  MAX_LONG_POLL_SECONDS,
  MAX_MESSAGES_PER_READ,
  NAMEPLATE_PATTERN,
  PAIR_ID_PATTERN,
  SESSION_TTL_MS,
  SLOT_ID_PATTERN,
  TOKEN_PATTERN,
  formatTimestamp,
} from '../core/vocabulary.js';

export { PAIR_ID_PATTERN };

// ---------------------------------------------------------------------------------------------
// Routes: one table. The server routes by it (one map lookup per path segment, see matchRoute)
// and the client builds its paths from it (routePath), so the two cannot disagree on a path, a
// parameter's place or the methods a route takes.

export type RouteMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

interface RouteSpec {
  /** The path, each parameter as {name}: a whole segment of its own. */
  path: string;
  /** The methods the route takes, in the order a 405's Allow header lists them. */
  methods: readonly RouteMethod[];
  /** Whether its requests present a token (Authorization: Bearer): counted by the failed-token-check limit. */
  token: boolean;
  /** A POST body limit above maxBodyBytes: envelopes are posted here. */
  postBodyLimit?: 'maxMessageBodyBytes';
}

export const RELAY_ROUTES = {
  health: { path: '/healthz', methods: ['GET'], token: false },
  pair: { path: '/v1/pair', methods: ['POST'], token: false },
  /** `?after=VERSION&wait=SECONDS`: a long poll. */
  pairSlot: { path: '/v1/pair/{pair_id}', methods: ['GET'], token: true },
  pairField: { path: '/v1/pair/{pair_id}/{field}', methods: ['PUT'], token: true },
  inbox: { path: '/v1/slot', methods: ['POST'], token: false },
  grants: { path: '/v1/slot/{slot_id}/grants', methods: ['POST'], token: true },
  grant: { path: '/v1/slot/{slot_id}/grants/{grant_id}', methods: ['DELETE'], token: true },
  /** GET `?after=SEQ&wait=SECONDS` (a long poll), POST an envelope, DELETE `?through=SEQ`. */
  messages: { path: '/v1/slot/{slot_id}/messages', methods: ['GET', 'POST', 'DELETE'], token: true, postBodyLimit: 'maxMessageBodyBytes' },
} as const satisfies Record<string, RouteSpec>;

/** Operators' Prometheus text (`agent-pair relay`, `relay.mjs`): served by the Node server beside the protocol's routes. */
export const METRICS_PATH = '/metrics';

export type RouteName = keyof typeof RELAY_ROUTES;
/** The methods route `R` takes. */
export type MethodOf<R extends RouteName> = (typeof RELAY_ROUTES)[R]['methods'][number];
type ParamNames<Path extends string> = Path extends `${string}{${infer Name}}${infer Rest}` ? Name | ParamNames<Rest> : never;
/** The parameters of route `R` by name, e.g. `{ pair_id, field }`. */
export type RouteParams<R extends RouteName> = Record<ParamNames<(typeof RELAY_ROUTES)[R]['path']>, string>;

/**
 * The path of route `name` with its parameters filled in (each percent-encoded), and a query
 * when given, e.g. `routePath('pairSlot', { pair_id }, { after: 3, wait: 25 })`.
 */
export function routePath<R extends RouteName>(name: R, ...[params, query]: ParamNames<(typeof RELAY_ROUTES)[R]['path']> extends never ? [params?: undefined, query?: Record<string, number>] : [params: RouteParams<R>, query?: Record<string, number>]): string {
  let path: string = RELAY_ROUTES[name].path;
  if (params) for (const [key, value] of Object.entries(params as Record<string, string>)) path = path.replace(`{${key}}`, encodeURIComponent(value));
  if (query) path += `?${Object.entries(query).map(([key, value]) => `${key}=${value}`).join('&')}`;
  return path;
}

/** A route's place in the tree: literal segments with the node each leads to, and at most one parameter. */
interface RouteNode {
  literals: { text: string; node: RouteNode }[];
  param?: { name: string; node: RouteNode };
  route?: RouteName;
}

const ROUTE_TREE: RouteNode = { literals: [] };
for (const name of Object.keys(RELAY_ROUTES) as RouteName[]) {
  let node = ROUTE_TREE;
  for (const segment of RELAY_ROUTES[name].path.split('/').slice(1)) {
    const param = /^\{(\w+)\}$/.exec(segment)?.[1];
    if (param === undefined) {
      let next = node.literals.find((literal) => literal.text === segment)?.node;
      if (!next) node.literals.push({ text: segment, node: (next = { literals: [] }) });
      node = next;
    } else {
      node.param ??= { name: param, node: { literals: [] } };
      node = node.param.node;
    }
  }
  node.route = name;
}

export interface RouteMatch {
  route: RouteName;
  /** Each parameter's segment as it came (not decoded: every id is hex, and a field a plain word). */
  params: Record<string, string>;
}

/**
 * The route a path (no query) belongs to, with its parameters; undefined for a path no route has.
 * Literal segments are compared where they stand in the path (a node has two at most), so only
 * parameters become strings of their own: a segment cut out and looked up in a Map was hashed
 * first, a 32-character id included, on every request.
 */
export function matchRoute(path: string): RouteMatch | undefined {
  if (path.charCodeAt(0) !== 47 /* / */) return undefined;
  let node = ROUTE_TREE;
  const params: Record<string, string> = {};
  let start = 1;
  for (;;) {
    const slash = path.indexOf('/', start);
    const end = slash < 0 ? path.length : slash;
    const literal = literalAt(node, path, start, end);
    if (literal) node = literal;
    else if (node.param) {
      params[node.param.name] = path.slice(start, end);
      node = node.param.node;
    } else return undefined;
    if (slash < 0) break;
    start = slash + 1;
  }
  return node.route === undefined ? undefined : { route: node.route, params };
}

/** The node of the literal segment that `path` holds from `start` to `end`, if any. */
function literalAt(node: RouteNode, path: string, start: number, end: number): RouteNode | undefined {
  for (const literal of node.literals) {
    if (literal.text.length === end - start && path.startsWith(literal.text, start)) return literal.node;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Errors on the wire: {"error": {"code": "...", "message": "..."}}

/**
 * The codes of PROTOCOL.md section 3 (and `inbox_full`, section 6) with their statuses, plus two
 * the table leaves open:
 * `method_not_allowed` (405; the protocol names the status but no code) and `internal` (500; a
 * relay bug, never expected).
 */
export const RELAY_ERROR_STATUS = {
  bad_request: 400,
  unauthorized: 401,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  gone: 410,
  too_large: 413,
  unprocessable: 422,
  rate_limited: 429,
  internal: 500,
  capacity: 503,
  inbox_full: 507,
} as const;
export type RelayErrorCode = keyof typeof RELAY_ERROR_STATUS;

export interface RelayErrorBody {
  error: { code: RelayErrorCode; message: string };
}

export function errorBody(code: RelayErrorCode, message: string): RelayErrorBody {
  return { error: { code, message } };
}

// ---------------------------------------------------------------------------------------------
// Limits

export interface RelayLimits {
  /** Pair slots open at once; the next host open answers 503. */
  maxOpenSlots: number;
  /** Slot opens and joins (pair and inbox) per client address per minute; then 429. */
  opensPerIpPerMinute: number;
  /** Request bodies above this answer 413 without being read. */
  maxBodyBytes: number;
  /** A pair slot lives this long from creation, whatever happens. */
  slotLifetimeSeconds: number;
  /** A nameplate is not handed out again for this long after a join or after its slot ended. */
  nameplateQuarantineSeconds: number;
  /** The longest long poll (`wait`) a GET may ask for. */
  maxWaitSeconds: number;
  /** Inbox slots held at once; then 503. */
  maxInboxSlots: number;
  /** Live (unrevoked) send tokens one inbox slot may hold; then 409. */
  maxGrantsPerSlot: number;
  /** Request bodies on `POST /v1/slot/{slot_id}/messages` above this answer 413 without being read. */
  maxMessageBodyBytes: number;
  /** A posted envelope above this many bytes once base64-decoded answers 413. */
  maxEnvelopeBytes: number;
  /** Messages one send token may post per minute; then 429. */
  messagesPerTokenPerMinute: number;
  /** Messages one inbox holds; then 507 `inbox_full`. */
  maxInboxMessages: number;
  /** Decoded envelope bytes one inbox holds; then 507 `inbox_full`. */
  maxInboxBytes: number;
  /** Messages one inbox holds from one grant (one peer's share); then 507 `inbox_full` for that grant only. */
  maxInboxMessagesPerGrant: number;
  /** Decoded envelope bytes one inbox holds from one grant; then 507 `inbox_full` for that grant only. */
  maxInboxBytesPerGrant: number;
  /** A message is deleted this long after the relay received it, read or not. */
  messageLifetimeSeconds: number;
  /** An inbox slot is deleted this long after its owner last used it (read, acknowledged, granted, revoked). */
  inboxIdleSeconds: number;
  /** Pair slots one client address (IPv4 address, IPv6 /64) may hold open at once; then 429. */
  maxPairSlotsPerAddress: number;
  /** Inbox slots one client address may hold; then 429. */
  maxInboxSlotsPerAddress: number;
  /** Grants one inbox slot may make per minute; then 429. */
  grantsPerSlotPerMinute: number;
  /** Failed token checks (401) one client address may cause per minute; then 429 on every request that presents a token. */
  failedTokenChecksPerIpPerMinute: number;
}

export const DEFAULT_RELAY_LIMITS: Readonly<RelayLimits> = Object.freeze({
  maxOpenSlots: 10_000,
  opensPerIpPerMinute: 30,
  maxBodyBytes: 32 * 1024,
  slotLifetimeSeconds: SESSION_TTL_MS / 1000,
  nameplateQuarantineSeconds: 60,
  maxWaitSeconds: MAX_LONG_POLL_SECONDS,
  // An empty inbox slot costs well under 1 KiB, so this stays below ~50 MiB even if every
  // slot filled up with grants; queued messages are bounded per inbox below.
  maxInboxSlots: 50_000,
  maxGrantsPerSlot: 1_000,
  maxMessageBodyBytes: 192 * 1024,
  maxEnvelopeBytes: MAX_ENVELOPE_BYTES,
  messagesPerTokenPerMinute: 120,
  maxInboxMessages: 1_000,
  maxInboxBytes: 16 * 1024 * 1024,
  // A quarter of the inbox each: one peer cannot fill it for the others (PROTOCOL.md 6.3).
  maxInboxMessagesPerGrant: 250,
  maxInboxBytesPerGrant: 4 * 1024 * 1024,
  messageLifetimeSeconds: 7 * 24 * 3600,
  inboxIdleSeconds: 30 * 24 * 3600,
  // One person's host and join, or a few pairings at once, stay far below these; a flood from
  // a few hundred addresses (the audit used 340) cannot fill the 10,000-slot table.
  maxPairSlotsPerAddress: 25,
  maxInboxSlotsPerAddress: 100,
  grantsPerSlotPerMinute: 60,
  // An honest client fails a token check rarely (a revoked grant, a restarted relay); a guesser
  // meets 429 after this many a minute instead of an answer per guess.
  failedTokenChecksPerIpPerMinute: 60,
});

/** The defaults with `overrides` applied; each override must be a positive number. */
export function resolveLimits(overrides: Partial<RelayLimits> = {}): RelayLimits {
  const limits: RelayLimits = { ...DEFAULT_RELAY_LIMITS };
  for (const key of Object.keys(DEFAULT_RELAY_LIMITS) as (keyof RelayLimits)[]) {
    const value = overrides[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw badInput(`relay limit ${key}`, `is ${String(value)}`, 'a positive number');
    }
    limits[key] = value;
  }
  return limits;
}

// ---------------------------------------------------------------------------------------------
// Identifiers and field values

// The ids' shapes and the shared limits are the protocol's words (core/vocabulary.ts).
export { GRANT_ID_PATTERN, MAX_ENVELOPE_BYTES, MAX_MESSAGES_PER_READ, NAMEPLATE_PATTERN, SLOT_ID_PATTERN, TOKEN_PATTERN, formatTimestamp };

export const PAKE_MESSAGE_BYTES = 33;
export const CONFIRM_BYTES = 32;
export const DONE_VALUE = '1';

export function isPairField(value: string): value is PairField {
  return (PAIR_FIELDS as readonly string[]).includes(value);
}

/**
 * Why `value` is not a valid `field` value, or undefined if it is. The message names the field
 * and the expected shape; it never repeats the value.
 */
export function fieldValueProblem(field: PairField, value: string): string | undefined {
  try {
    switch (field) {
      case 'commit':
        fromHex(value, 'commit', 32);
        return undefined;
      case 'pake':
        base64ByteLength(value, 'pake', PAKE_MESSAGE_BYTES);
        return undefined;
      case 'confirm':
        base64ByteLength(value, 'confirm', CONFIRM_BYTES);
        return undefined;
      case 'bootstrap':
        // Checked on the encoded length first, so an oversized value is never scanned.
        if (value.length > Math.ceil(MAX_BOOTSTRAP_BYTES / 3) * 4 || base64ByteLength(value, 'bootstrap') > MAX_BOOTSTRAP_BYTES) {
          return `bootstrap is too long; expected base64 of at most ${MAX_BOOTSTRAP_BYTES} bytes.`;
        }
        return undefined;
      case 'abort': {
        // Characters are code points, so an emoji counts once whatever its UTF-16 length.
        const characters = Array.from(value).length;
        if (characters === 0 || characters > MAX_ABORT_REASON_CHARS) {
          return `abort has ${characters} characters; expected a reason of 1 to ${MAX_ABORT_REASON_CHARS} characters.`;
        }
        return undefined;
      }
      case 'done':
        return value === DONE_VALUE ? undefined : `done is not "${DONE_VALUE}"; expected exactly "${DONE_VALUE}".`;
    }
  } catch (error) {
    if (isPairError(error, 'bad_input')) return error.message;
    throw error;
  }
}

/**
 * The commit a (well-formed) base64 `pake` value must match: H("agent-pair/v1 commit" || pake),
 * H by `digest` (SHA-256: the relay passes node:crypto's, see pakeCommitment).
 */
export function pakeCommitOf(pake: string, digest?: (bytes: Uint8Array) => Uint8Array): string {
  return pakeCommitment(fromBase64(pake, 'pake', PAKE_MESSAGE_BYTES), digest);
}

// ---------------------------------------------------------------------------------------------
// Bodies: the client builds its requests and reads the answers through these types, and the
// server builds its answers and reads the requests through the same ones, so a field renamed
// on one side fails to compile on the other.

/** A body as received, before it is checked: the contract's fields, each of unknown value. */
export type Received<Body extends object> = Readonly<Partial<Record<keyof Body, unknown>>>;

export interface HostOpenRequestBody {
  role: 'host';
}
export interface GuestJoinRequestBody {
  role: 'guest';
  nameplate: string;
}
export interface FieldWriteRequestBody {
  value: string;
}

export interface HostOpenedBody {
  pair_id: string;
  nameplate: string;
  token: string;
  expires_at: string;
}
export interface GuestJoinedBody {
  pair_id: string;
  token: string;
  expires_at: string;
}
export interface SlotViewBody {
  version: number;
  expires_at: string;
  self: FieldValues;
  peer: FieldValues;
}
export interface InboxSlotBody {
  slot_id: string;
  owner_token: string;
}
export interface GrantBody {
  send_token: string;
  grant_id: string;
}
export interface PostMessageRequestBody {
  value: string;
}
/** `{}`: no `seq`, so a sender learns nothing of what other peers sent (PROTOCOL.md 6.3). */
export type PostedMessageBody = Record<string, never>;
export interface InboxMessageBody {
  seq: number;
  value: string;
  grant_id: string;
  received_at: string;
}
export interface InboxPageBody {
  messages: InboxMessageBody[];
  last_seq: number;
}

/**
 * hex(SHA-256(utf8(send_token)))[0:32]: the id the relay reports with a grant's messages.
 * `sha256Hex` computes the hash: JavaScript's by default (this module runs wherever a client
 * does), node:crypto's in the relay, which computes one per message posted.
 */
export function grantIdOf(sendToken: string, sha256Hex: (text: string) => string = nobleSha256Hex): string {
  return sha256Hex(sendToken).slice(0, 32);
}

function nobleSha256Hex(text: string): string {
  return toHex(sha256(utf8(text)));
}

export function otherRole(role: Role): Role {
  return role === 'host' ? 'guest' : 'host';
}

// ---------------------------------------------------------------------------------------------
// Timestamps: RFC 3339 UTC

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})$/;

/** Milliseconds since the epoch, or undefined if `text` is not an RFC 3339 timestamp. */
export function parseTimestamp(text: string): number | undefined {
  if (!RFC3339.test(text)) return undefined;
  const ms = Date.parse(text.toUpperCase());
  return Number.isFinite(ms) ? ms : undefined;
}
