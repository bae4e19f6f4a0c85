// Join links: `vscode://agent-pair.agent-pair/join?code=47-UE2BZG&relay=http%3A%2F%2F...&expires=1764467520`.
// The host copies one; opening it on the other machine brings up VS Code (or code-server, or
// Insiders: the scheme is the running editor's), which asks the person before joining, since
// a code is good for one join only. The link carries its pairing's expiry (Unix seconds): once
// it has passed, the relay may have given the nameplate to a stranger's new pairing, whose one
// join a stale link would use up, so a stale link is refused here and never reaches the relay.
// Pure: building and parsing only; uriHandler.ts acts on it.

import { PairError, badInput, isPairError } from '../core/errors.js';
import { parseCode } from '../core/codePhrase.js';
import { normaliseRelayUrl } from '../relay/client.js';

export const JOIN_LINK_PATH = '/join';

export interface JoinLink {
  /** The canonical code phrase. */
  code: string;
  nameplate: string;
  /** The relay the host paired through, normalised; absent when the link names none. */
  relayUrl?: string;
  /** When the host's pairing expires (epoch ms, whole seconds). */
  expiresAt: number;
}

/** Expiries are whole seconds, at most this far ahead (a pairing lasts 10 minutes; clocks drift). */
export const MAX_JOIN_LINK_LIFETIME_MS = 24 * 60 * 60_000;

/** `<scheme>://<extension id>/join?code=...&relay=...&expires=...` */
export function buildJoinLink(scheme: string, extensionId: string, code: string, relayUrl: string, expiresAt: number): string {
  if (!Number.isFinite(expiresAt) || expiresAt <= 0) throw badInput('expiresAt', 'is not a time', 'epoch milliseconds');
  const query = new URLSearchParams({ code: parseCode(code).code, relay: normaliseRelayUrl(relayUrl), expires: String(Math.floor(expiresAt / 1000)) });
  return `${scheme}://${extensionId.toLowerCase()}${JOIN_LINK_PATH}?${query.toString()}`;
}

/** True once the link's pairing has expired: it must not be used. */
export function isJoinLinkStale(link: JoinLink, now: number): boolean {
  return now >= link.expiresAt || link.expiresAt - now > MAX_JOIN_LINK_LIFETIME_MS;
}

/**
 * Reads the path and query of an opened link (as vscode.Uri splits them). Unknown paths are
 * `not_found`; a malformed code is `bad_code`; a relay that is not http(s) is `bad_input`.
 */
export function parseJoinLink(path: string, query: string): JoinLink {
  if (path !== JOIN_LINK_PATH) throw new PairError('not_found', `Agent Pair does not handle links to ${path.slice(0, 80)}; a join link looks like <editor>://agent-pair.agent-pair/join?code=47-UE2BZG.`);
  const params = new URLSearchParams(query);
  const codes = params.getAll('code');
  const relays = params.getAll('relay');
  const expiries = params.getAll('expires');
  if (codes.length !== 1) throw badInput('The join link', codes.length === 0 ? 'has no code' : 'has more than one code', 'exactly one code=47-UE2BZG');
  if (relays.length > 1) throw badInput('The join link', 'names more than one relay', 'at most one relay=<http(s) URL>');
  const expires = expiries.length === 1 ? expiries[0] ?? '' : '';
  if (!/^[1-9][0-9]{0,11}$/.test(expires)) {
    throw badInput('The join link', expiries.length === 0 ? 'has no expiry' : 'has a malformed expiry', 'one expires=<Unix seconds>, as Copy Join Link makes it; ask for a new link');
  }
  const parsed = parseCode(codes[0] ?? '');
  const link: JoinLink = { code: parsed.code, nameplate: parsed.nameplate, expiresAt: Number(expires) * 1000 };
  const relay = relays[0];
  if (relay !== undefined && relay !== '') {
    try {
      link.relayUrl = normaliseRelayUrl(relay);
    } catch (error) {
      if (isPairError(error, 'bad_input')) throw badInput("The join link's relay", 'is not usable', 'an http:// or https:// URL without credentials, query or fragment');
      throw error;
    }
  }
  return link;
}
