// The protocol's words that a command line checks before anything runs: the shapes of handles,
// fingerprints, ids and relay URLs, and the loss grace's default. They live in this leaf module
// (no crypto, no storage, no relay) so that `agent-pair --help` and the checks of every argument
// load nothing else; the modules that own each word (identity.ts, messages.ts, mailbox.ts,
// relay/contract.ts, relay/client.ts) take it from here.

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

export const FINGERPRINT_PATTERN = /^[0-9a-f]{16}$/;
export const MESSAGE_ID_PATTERN = /^[0-9a-f]{32}$/;
export const PAIR_ID_PATTERN = /^[0-9a-f]{32}$/;

/** The stored envelope's limit (section 6.2); the relay refuses larger ones too. */
export const MAX_ENVELOPE_BYTES = 128 * 1024;
/** A text body's limit, in UTF-8 bytes (section 6.2). */
export const MAX_TEXT_BYTES = 64 * 1024;

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
