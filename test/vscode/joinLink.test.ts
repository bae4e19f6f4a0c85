import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isPairError } from '../../src/core/errors.js';
import { buildJoinLink, parseJoinLink } from '../../src/vscode/joinLink.js';

const EXTENSION_ID = 'agent-pair.agent-pair';

/** How vscode.Uri splits a link: the path and the raw query. */
function split(link: string): { path: string; query: string } {
  const url = new URL(link);
  return { path: url.pathname, query: url.search.slice(1) };
}

describe('join links', () => {
  it('builds a link for the running editor and reads it back', () => {
    const link = buildJoinLink('vscode', EXTENSION_ID, '47-UE2BZG', 'https://relay.example.com/base/');
    assert.equal(link, 'vscode://agent-pair.agent-pair/join?code=47-UE2BZG&relay=https%3A%2F%2Frelay.example.com%2Fbase');
    const { path, query } = split(link);
    assert.deepEqual(parseJoinLink(path, query), { code: '47-UE2BZG', nameplate: '47', relayUrl: 'https://relay.example.com/base' });
  });

  it('uses the scheme it is given (code-server, Insiders)', () => {
    assert.match(buildJoinLink('code-oss', EXTENSION_ID, '5-ABCDEF', 'http://127.0.0.1:8771'), /^code-oss:\/\/agent-pair\.agent-pair\/join\?/);
    assert.match(buildJoinLink('vscode-insiders', 'Agent-Pair.Agent-Pair', '5-ABCDEF', 'http://127.0.0.1:8771'), /^vscode-insiders:\/\/agent-pair\.agent-pair\//);
  });

  it('canonicalises a code typed loosely', () => {
    assert.deepEqual(parseJoinLink('/join', 'code=47%20ue2bzg'), { code: '47-UE2BZG', nameplate: '47' });
    assert.match(buildJoinLink('vscode', EXTENSION_ID, ' 47 ue2bzg ', 'http://127.0.0.1:8771'), /code=47-UE2BZG&/);
  });

  it('leaves the relay out when the link names none or an empty one', () => {
    assert.deepEqual(parseJoinLink('/join', 'code=47-UE2BZG'), { code: '47-UE2BZG', nameplate: '47' });
    assert.deepEqual(parseJoinLink('/join', 'code=47-UE2BZG&relay='), { code: '47-UE2BZG', nameplate: '47' });
  });

  const refused: [string, string, string, string][] = [
    ['another path', '/host', 'code=47-UE2BZG', 'not_found'],
    ['no code', '/join', 'relay=http%3A%2F%2F127.0.0.1%3A8771', 'bad_input'],
    ['two codes', '/join', 'code=47-UE2BZG&code=48-UE2BZG', 'bad_input'],
    ['a malformed code', '/join', 'code=47-UE2B0G', 'bad_code'],
    ['a relay that is not http', '/join', 'code=47-UE2BZG&relay=file%3A%2F%2F%2Fetc%2Fpasswd', 'bad_input'],
    ['a relay with credentials', '/join', 'code=47-UE2BZG&relay=http%3A%2F%2Fuser%3Apw%40relay.example.com', 'bad_input'],
    ['two relays', '/join', 'code=47-UE2BZG&relay=http%3A%2F%2Fa&relay=http%3A%2F%2Fb', 'bad_input'],
  ];
  for (const [name, path, query, code] of refused) {
    it(`refuses ${name} (${code})`, () => {
      assert.throws(() => parseJoinLink(path, query), (error: unknown) => isPairError(error) && error.code === code);
    });
  }

  it('never repeats a malformed code in its error (it may be most of a secret)', () => {
    assert.throws(() => parseJoinLink('/join', 'code=47-SECRE7X'), (error: unknown) => isPairError(error, 'bad_code') && !error.message.includes('SECRE7X'));
  });

  it('refuses to build a link from a bad code or relay', () => {
    assert.throws(() => buildJoinLink('vscode', EXTENSION_ID, 'not a code', 'http://127.0.0.1:8771'), (error: unknown) => isPairError(error, 'bad_code'));
    assert.throws(() => buildJoinLink('vscode', EXTENSION_ID, '47-UE2BZG', 'ftp://relay'), (error: unknown) => isPairError(error, 'bad_input'));
  });
});
