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

/** A pairing's states (PROTOCOL.md section 4); `finalized` and `aborted` are terminal. */
export type SessionState = 'opened' | 'sas_ready' | 'confirmed' | 'finalized' | 'aborted';
export const SESSION_STATES: readonly SessionState[] = ['opened', 'sas_ready', 'confirmed', 'finalized', 'aborted'];

/** True once the state can no longer change. */
export function isTerminal(state: SessionState): boolean {
  return state === 'finalized' || state === 'aborted';
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
