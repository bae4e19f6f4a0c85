import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isPairError } from '../../src/core/errors.js';
import { MAX_JOIN_LINK_LIFETIME_MS, buildJoinLink, isJoinLinkStale, parseJoinLink } from '../../src/vscode/joinLink.js';

const EXTENSION_ID = 'agent-pair.agent-pair';
/** 2025-11-30T00:12:00Z, a pairing's expiry. */
const EXPIRES_AT = 1_764_461_520_000;
const EXPIRES = `expires=${EXPIRES_AT / 1000}`;

/** How vscode.Uri splits a link: the path and the raw query. */
function split(link: string): { path: string; query: string } {
  const url = new URL(link);
  return { path: url.pathname, query: url.search.slice(1) };
}

describe('join links', () => {
  it('builds a link for the running editor and reads it back', () => {
    const link = buildJoinLink('vscode', EXTENSION_ID, '47-UE2BZG', 'https://relay.example.com/base/', EXPIRES_AT + 999);
    assert.equal(link, `vscode://agent-pair.agent-pair/join?code=47-UE2BZG&relay=https%3A%2F%2Frelay.example.com%2Fbase&${EXPIRES}`);
    const { path, query } = split(link);
    assert.deepEqual(parseJoinLink(path, query), { code: '47-UE2BZG', nameplate: '47', relayUrl: 'https://relay.example.com/base', expiresAt: EXPIRES_AT });
  });

  it('uses the scheme it is given (code-server, Insiders)', () => {
    assert.match(buildJoinLink('code-oss', EXTENSION_ID, '5-ABCDEF', 'http://127.0.0.1:8771', EXPIRES_AT), /^code-oss:\/\/agent-pair\.agent-pair\/join\?/);
    assert.match(buildJoinLink('vscode-insiders', 'Agent-Pair.Agent-Pair', '5-ABCDEF', 'http://127.0.0.1:8771', EXPIRES_AT), /^vscode-insiders:\/\/agent-pair\.agent-pair\//);
  });

  it('canonicalises a code typed loosely', () => {
    assert.deepEqual(parseJoinLink('/join', `code=47%20ue2bzg&${EXPIRES}`), { code: '47-UE2BZG', nameplate: '47', expiresAt: EXPIRES_AT });
    assert.match(buildJoinLink('vscode', EXTENSION_ID, ' 47 ue2bzg ', 'http://127.0.0.1:8771', EXPIRES_AT), /code=47-UE2BZG&/);
  });

  it('leaves the relay out when the link names none or an empty one', () => {
    assert.deepEqual(parseJoinLink('/join', `code=47-UE2BZG&${EXPIRES}`), { code: '47-UE2BZG', nameplate: '47', expiresAt: EXPIRES_AT });
    assert.deepEqual(parseJoinLink('/join', `code=47-UE2BZG&relay=&${EXPIRES}`), { code: '47-UE2BZG', nameplate: '47', expiresAt: EXPIRES_AT });
  });

  it('is stale from its expiry on, and when it claims to last implausibly long', () => {
    const link = parseJoinLink('/join', `code=47-UE2BZG&${EXPIRES}`);
    assert.equal(isJoinLinkStale(link, EXPIRES_AT - 1), false);
    assert.equal(isJoinLinkStale(link, EXPIRES_AT), true);
    assert.equal(isJoinLinkStale(link, EXPIRES_AT - MAX_JOIN_LINK_LIFETIME_MS), false);
    assert.equal(isJoinLinkStale(link, EXPIRES_AT - MAX_JOIN_LINK_LIFETIME_MS - 1), true);
  });

  const refused: [string, string, string, string][] = [
    ['another path', '/host', `code=47-UE2BZG&${EXPIRES}`, 'not_found'],
    ['no expiry (a link from before links carried one)', '/join', 'code=47-UE2BZG', 'bad_input'],
    ['two expiries', '/join', `code=47-UE2BZG&${EXPIRES}&${EXPIRES}`, 'bad_input'],
    ['an expiry that is not Unix seconds', '/join', 'code=47-UE2BZG&expires=soon', 'bad_input'],
    ['no code', '/join', `relay=http%3A%2F%2F127.0.0.1%3A8771&${EXPIRES}`, 'bad_input'],
    ['two codes', '/join', `code=47-UE2BZG&code=48-UE2BZG&${EXPIRES}`, 'bad_input'],
    ['a malformed code', '/join', `code=47-UE2B0G&${EXPIRES}`, 'bad_code'],
    ['a relay that is not http', '/join', `code=47-UE2BZG&relay=file%3A%2F%2F%2Fetc%2Fpasswd&${EXPIRES}`, 'bad_input'],
    ['a relay with credentials', '/join', `code=47-UE2BZG&relay=http%3A%2F%2Fuser%3Apw%40relay.example.com&${EXPIRES}`, 'bad_input'],
    ['two relays', '/join', `code=47-UE2BZG&relay=http%3A%2F%2Fa&relay=http%3A%2F%2Fb&${EXPIRES}`, 'bad_input'],
  ];
  for (const [name, path, query, code] of refused) {
    it(`refuses ${name} (${code})`, () => {
      assert.throws(() => parseJoinLink(path, query), (error: unknown) => isPairError(error) && error.code === code);
    });
  }

  it('never repeats a malformed code in its error (it may be most of a secret)', () => {
    assert.throws(() => parseJoinLink('/join', `code=47-SECRE7X&${EXPIRES}`), (error: unknown) => isPairError(error, 'bad_code') && !error.message.includes('SECRE7X'));
  });

  it('refuses to build a link from a bad code or relay', () => {
    assert.throws(() => buildJoinLink('vscode', EXTENSION_ID, 'not a code', 'http://127.0.0.1:8771', EXPIRES_AT), (error: unknown) => isPairError(error, 'bad_code'));
    assert.throws(() => buildJoinLink('vscode', EXTENSION_ID, '47-UE2BZG', 'ftp://relay', EXPIRES_AT), (error: unknown) => isPairError(error, 'bad_input'));
  });
});
