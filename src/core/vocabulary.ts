// The protocol's words (PROTOCOL.md), defined once for core, relay and adapters: the shapes of
// handles, fingerprints, ids and tokens, the limits both ends of the wire count the same way,
// the timestamp format, the pairing's states, and the abort reasons this project's clients
// write. It stays a leaf (no crypto, no storage, no relay) so that `agent-pair --help` and the
// checks of every argument load nothing else; identity.ts, messages.ts, session.ts,
// relay/contract.ts and the adapters take their words from here.

import { badInput } from './errors.js';

export const HANDLE_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const MAX_HANDLE_CHARS = 64;
const FALLBACK_HANDLE = 'agent';

/**
 * A handle from a name that may not fit the pattern (an OS user name like `jane.doe` or
 * `DOMAIN\\Jane Doe`): a domain prefix dropped, spaces and dots as `-`, other characters
 * dropped, at most 64 characters; `agent` if nothing is left.
 */
export function sanitiseHandle(name: string): string {
  const withoutDomain = name.includes('\\') ? name.slice(name.lastIndexOf('\\') + 1) : name;
  const handle = withoutDomain
    .trim()
    .replace(/[\s.]+/g, '-')
    .replace(/[^A-Za-z0-9_-]/g, '')
    .replace(/-{2,}/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, MAX_HANDLE_CHARS);
  return handle === '' ? FALLBACK_HANDLE : handle;
}

/** A pairing's states (PROTOCOL.md section 4); `finalized` and `aborted` are terminal. */
export type SessionState = 'opened' | 'sas_ready' | 'confirmed' | 'finalized' | 'aborted';
export const SESSION_STATES: readonly SessionState[] = ['opened', 'sas_ready', 'confirmed', 'finalized', 'aborted'];

/** True once the state can no longer change. */
export function isTerminal(state: SessionState): boolean {
  return state === 'finalized' || state === 'aborted';
}

// ---------------------------------------------------------------------------------------------
// Ids and tokens: lowercase hex of a fixed length

/** `hex(H(public key))[0:16]` (section 5). */
export const FINGERPRINT_PATTERN = /^[0-9a-f]{16}$/;
/** A message's `id`: 128 random bits (section 6.2). */
export const MESSAGE_ID_PATTERN = /^[0-9a-f]{32}$/;
/** A pair slot's `pair_id`: 128 random bits (section 3). */
export const PAIR_ID_PATTERN = /^[0-9a-f]{32}$/;
/** An inbox slot's `slot_id` (section 6.3). */
export const SLOT_ID_PATTERN = /^[0-9a-f]{32}$/;
/** `hex(H(utf8(send_token)))[0:32]`, naming a grant on an inbox (section 6.3). */
export const GRANT_ID_PATTERN = /^[0-9a-f]{32}$/;
/** A relay token (a pair slot's, an inbox's owner or send token): 256 random bits (section 3). */
export const TOKEN_PATTERN = /^[0-9a-f]{64}$/;
/** Decimal digits without a leading zero (section 2). */
export const NAMEPLATE_PATTERN = /^[1-9][0-9]*$/;

// ---------------------------------------------------------------------------------------------
// Limits both ends count the same way

/** Sessions expire this long after they were opened, on both client and relay (`SESSION_TTL`, section 4). */
export const SESSION_TTL_MS = 600_000;
/** The longest a relay holds a long poll, pair slot or inbox (`wait` 0 to 25, sections 3 and 6.3). */
export const MAX_LONG_POLL_SECONDS = 25;
/** An abort reason's limit, in characters (the `abort` field, section 3); counted in code points, as the relay does. */
export const MAX_ABORT_REASON_CHARS = 200;

/** An abort reason cut to the limit by code point, so a cut never splits a surrogate pair the relay would then count. */
export function clipAbortReason(reason: string): string {
  const characters = Array.from(reason);
  return characters.length <= MAX_ABORT_REASON_CHARS ? reason : characters.slice(0, MAX_ABORT_REASON_CHARS).join('');
}
/** The stored envelope's limit (section 6.2); the relay refuses larger ones too. */
export const MAX_ENVELOPE_BYTES = 128 * 1024;
/** A text body's limit, in UTF-8 bytes (section 6.2). */
export const MAX_TEXT_BYTES = 64 * 1024;
/** The most messages one read of an inbox returns (section 6.3); the rest wait for the next read. */
export const MAX_MESSAGES_PER_READ = 100;

// ---------------------------------------------------------------------------------------------
// Timestamps

/**
 * RFC 3339 UTC to the second (`2026-11-29T12:00:00Z`): a relay's `expires_at` and `received_at`,
 * a message's `sent_at`. Rounded down, so a client never believes in a later expiry.
 */
export function formatTimestamp(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

// ---------------------------------------------------------------------------------------------
// Abort reasons: what a side writes in the `abort` field, which the peer reads and its adapters
// word (they compare against these), and the relay counts by name

/** The peer's key confirmation failed: the two sides typed different codes (section 4, step 6). */
export const WRONG_CODE_REASON = 'wrong code';
/** The peer revealed a SPAKE2 message that does not match its commitment (step 5). */
export const COMMITMENT_MISMATCH_REASON = 'commitment mismatch';
/** This side's person typed six digits that differ from its SAS. */
export const SAS_MISMATCH_REASON = 'sas mismatch';
/** The peer presented this side's own identity key (step 8). */
export const OWN_KEY_REASON = 'both sides have the same identity';
/** The person gave up the prompt (Ctrl-C or Ctrl-D at the CLI, a closed panel, a declined elicitation). */
export const CANCELLED_REASON = 'cancelled by the person';
/** Nowhere to ask the person for the SAS digits. */
export const PERSON_UNREACHABLE_REASON = 'the person could not be asked for the SAS';
/** The person aborted from VS Code (the SAS panel or the abort command). */
export const ABORTED_BY_PERSON_REASON = 'aborted by the person';
/** The agent called pair_abort without a reason of its own. */
export const ABORTED_BY_AGENT_REASON = 'aborted by the agent';
/** The person stopped the local relay the pairing ran through (VS Code). */
export const RELAY_STOPPED_REASON = 'the local relay was stopped';

/**
 * Every fixed reason a client of this project writes. The rest are prefixes with a detail
 * (`protocol violation: …`, `bad bootstrap: …`, a failure's `code: detail`) or an agent's own words.
 */
export const CLIENT_ABORT_REASONS: readonly string[] = [
  WRONG_CODE_REASON,
  COMMITMENT_MISMATCH_REASON,
  SAS_MISMATCH_REASON,
  OWN_KEY_REASON,
  CANCELLED_REASON,
  PERSON_UNREACHABLE_REASON,
  ABORTED_BY_PERSON_REASON,
  ABORTED_BY_AGENT_REASON,
  RELAY_STOPPED_REASON,
];
/** Step 5 found the peer's SPAKE2 message invalid; the detail follows. */
export const PROTOCOL_VIOLATION_REASON_PREFIX = 'protocol violation: ';
/** The peer's bootstrap did not open or verify; the detail follows. */
export const BAD_BOOTSTRAP_REASON_PREFIX = 'bad bootstrap: ';
/** How a session ends on its own when its slot is gone or its time ran out (never written). */
export const EXPIRED_REASON = 'expired';

/** A gap in a peer's `n` is reported as lost once it stayed open this long (`--loss-grace`). */
export const LOSS_GRACE_MS = 10 * 60 * 1000;

const URL_EXPECTED = 'an http:// or https:// URL like https://relay.example.com';

/**
 * The canonical form of a relay URL: scheme, lowercase host, port only if not the default, and
 * any path prefix without a trailing slash (`http://127.0.0.1:8771`). Rejects anything else.
 */
export function normaliseRelayUrl(url: string): string {
  if (typeof url !== 'string' || url.trim() === '') throw badInput('relay URL', 'is empty', URL_EXPECTED);
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    throw badInput('relay URL', 'is not a URL', URL_EXPECTED);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw badInput('relay URL', `uses ${parsed.protocol.slice(0, 20)}`, URL_EXPECTED);
  if (parsed.username !== '' || parsed.password !== '') throw badInput('relay URL', 'carries a user name or password', `${URL_EXPECTED}, without credentials`);
  if (parsed.search !== '' || parsed.hash !== '') throw badInput('relay URL', 'has a query or fragment', `${URL_EXPECTED}, without ? or #`);
  return parsed.origin + parsed.pathname.replace(/\/+$/, '');
}

/**
 * What this side does with a pinned peer's messages, set by the person per peer (never by an
 * agent): `notify` tells the person (the default, and what peers pinned before rules existed
 * get), `agent` hands each message to the working agent on its own (a channel push, a resource
 * update, `inbox --follow --exec`, VS Code Chat) within AUTO_HANDOVERS_PER_PEER_PER_HOUR,
 * `mute` stores and counts them without a word.
 */
export const PEER_RULES = ['notify', 'agent', 'mute'] as const;
export type PeerRule = (typeof PEER_RULES)[number];
export const DEFAULT_PEER_RULE: PeerRule = 'notify';

export function isPeerRule(value: unknown): value is PeerRule {
  return typeof value === 'string' && (PEER_RULES as readonly string[]).includes(value);
}

/** A rule as the person typed it (any case, spaces around); anything else names the allowed words. */
export function parsePeerRule(value: string): PeerRule {
  const rule = typeof value === 'string' ? value.trim().toLowerCase() : '';
  if (!isPeerRule(rule)) throw badInput('rule', `${JSON.stringify(typeof value === 'string' ? value.slice(0, 40) : value)} is not a rule`, `one of ${PEER_RULES.join(', ')}`);
  return rule;
}

/**
 * The loop guard: messages an agent may send to one peer in any hour without the person
 * (two agents told to answer each other stop here). Past it the person is asked, or the send is
 * refused where nobody can be asked.
 */
export const AGENT_SENDS_PER_PEER_PER_HOUR = 30;
/**
 * The flood guard: messages from one `agent`-rule peer handed to an agent on their own in any
 * hour. Past it they wait unread for the person.
 */
export const AUTO_HANDOVERS_PER_PEER_PER_HOUR = 20;
/** The environment variables a person sets the budgets with (a flag wins over them). */
export const AGENT_SENDS_ENV = 'AGENT_PAIR_AGENT_SENDS_PER_HOUR';
export const AUTO_HANDOVERS_ENV = 'AGENT_PAIR_AUTO_HANDOVERS_PER_HOUR';
/** The largest budget a person may set (per peer per hour), so a typo cannot switch the guard off. */
export const MAX_BUDGET_PER_HOUR = 10_000;

/** A budget as a person typed it (flag, env variable or setting): a whole number 0..MAX_BUDGET_PER_HOUR. */
export function parseBudgetPerHour(value: string | number, what: string): number {
  const text = String(value).trim();
  const number = /^\d{1,6}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(number) || number > MAX_BUDGET_PER_HOUR) throw badInput(what, `${JSON.stringify(text.slice(0, 20))} is not a budget`, `a whole number of messages per peer per hour from 0 to ${MAX_BUDGET_PER_HOUR}`);
  return number;
}
