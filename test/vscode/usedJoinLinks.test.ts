import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseJoinLink } from '../../src/vscode/joinLink.js';
import { MAX_REMEMBERED_JOIN_LINKS, UsedJoinLinks } from '../../src/vscode/usedJoinLinks.js';
import { FakeMemento } from './fakes.js';

const NOW = 1_764_461_000_000;
const link = (nameplate: number, expiresAt = NOW + 600_000) => parseJoinLink('/join', `code=${nameplate}-UE2BZG&expires=${expiresAt / 1000}`);

describe('the join links this machine used', () => {
  it('remembers a used link until it expires, as a hash (never the code)', async () => {
    let now = NOW;
    const state = new FakeMemento();
    const used = new UsedJoinLinks(state, () => now);
    assert.equal(used.has(link(47)), false);
    await used.remember(link(47));
    assert.equal(used.has(link(47)), true);
    assert.equal(used.has(link(48)), false);
    assert.ok(!JSON.stringify(state.get('agentPair.usedJoinLinks')).includes('UE2BZG'));
    now = NOW + 600_000;
    assert.equal(used.has(link(47)), false);
  });

  it(`keeps at most ${MAX_REMEMBERED_JOIN_LINKS}, forgetting the oldest`, async () => {
    const state = new FakeMemento();
    const used = new UsedJoinLinks(state, () => NOW);
    for (let nameplate = 1; nameplate <= MAX_REMEMBERED_JOIN_LINKS + 1; nameplate++) await used.remember(link(nameplate));
    assert.equal((state.get('agentPair.usedJoinLinks') as unknown[]).length, MAX_REMEMBERED_JOIN_LINKS);
    assert.equal(used.has(link(1)), false);
    assert.equal(used.has(link(2)), true);
    assert.equal(used.has(link(MAX_REMEMBERED_JOIN_LINKS + 1)), true);
  });
});
