import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isPairError } from '../../src/core/errors.js';
import { fromHex, toBase64 } from '../../src/core/bytes.js';
import { type Card, cardFingerprint, createCard } from '../../src/core/identity.js';
import type { KeyValueStore } from '../../src/core/ports.js';
import { MemoryKeyValueStore } from '../../src/core/routedStore.js';
import { resolvePeer } from '../../src/core/inbox.js';
import { PEERS_INDEX_KEY, type PinnedPeer, findPeers, forgetPeer, getPeer, listPeers, loadPeerSendToken, peerRecordKey, pinPeer, setPeerRule, updatePeer, watchPeers } from '../../src/core/trust.js';
import { systemClock } from '../../src/node/system.js';
import { until } from '../helpers/until.js';

function makeCard(handle: string, seedByte: number): Card {
  return createCard(handle, new Uint8Array(32).fill(seedByte), '2026-11-25T00:00:00Z');
}

function makePeer(handle: string, seedByte: number, overrides: Partial<PinnedPeer> = {}): PinnedPeer {
  const card = makeCard(handle, seedByte);
  return { fingerprint: cardFingerprint(card), handle, card, relayUrl: 'http://127.0.0.1:8771', slotId: 'ab'.repeat(16), pinnedAt: '2026-11-25T10:00:00Z', rule: 'notify', ...overrides };
}

function makeDeps() {
  return { vault: new MemoryKeyValueStore(), memory: new MemoryKeyValueStore() };
}

describe('pinned peers', () => {
  it('pins a peer: public record in memory, send token in the vault only', async () => {
    const deps = makeDeps();
    const peer = makePeer('bob', 2);
    await pinPeer(deps, peer, 'token-for-bob');
    assert.deepEqual(await listPeers(deps), [peer]);
    assert.deepEqual(await getPeer(deps, peer.fingerprint), peer);
    assert.equal(await loadPeerSendToken(deps, peer.fingerprint), 'token-for-bob');
    assert.ok(!deps.memory.entries().some(([, value]) => value.includes('token-for-bob')));
    assert.ok(deps.vault.entries().some(([, value]) => value === 'token-for-bob'));
  });

  it('reads a record again whenever its stored text changed, and hands out copies', async () => {
    const deps = makeDeps();
    const peer = makePeer('bob', 2);
    await pinPeer(deps, peer, 'token-for-bob');
    const pinned = await getPeer(deps, peer.fingerprint);
    assert.ok(pinned);
    pinned.handle = 'mallory';
    pinned.card.handle = 'mallory';
    assert.deepEqual(await getPeer(deps, peer.fingerprint), { ...pinned, handle: 'bob', card: { ...pinned.card, handle: 'bob' } });
    const stored = await deps.memory.get(peerRecordKey(peer.fingerprint));
    assert.ok(stored !== undefined);
    // Damaged after a good read: refused, not answered from what was read before.
    await deps.memory.set(peerRecordKey(peer.fingerprint), stored.replaceAll('"bob"', '"eve"'));
    await assert.rejects(getPeer(deps, peer.fingerprint), (error) => isPairError(error, 'storage_failed'));
    await deps.memory.set(peerRecordKey(peer.fingerprint), stored);
    assert.equal((await getPeer(deps, peer.fingerprint))?.handle, 'bob');
    await setPeerRule(deps, peer.fingerprint, 'agent');
    assert.equal((await listPeers(deps))[0]?.rule, 'agent');
  });

  it('keeps two peers with the same handle apart by fingerprint', async () => {
    const deps = makeDeps();
    const first = makePeer('bob', 2);
    const second = makePeer('bob', 3);
    await pinPeer(deps, first, 't1');
    await pinPeer(deps, second, 't2');
    assert.deepEqual((await listPeers(deps)).map((peer) => peer.fingerprint), [first.fingerprint, second.fingerprint]);
    assert.equal(await loadPeerSendToken(deps, first.fingerprint), 't1');
    assert.equal(await loadPeerSendToken(deps, second.fingerprint), 't2');
  });

  it('re-pinning the same fingerprint updates the record and token, without a duplicate', async () => {
    const deps = makeDeps();
    const peer = makePeer('bob', 2);
    await pinPeer(deps, peer, 'old-token');
    const moved = { ...peer, relayUrl: 'https://relay.example', slotId: 'cd'.repeat(16), pinnedAt: '2026-11-26T10:00:00Z' };
    await pinPeer(deps, moved, 'new-token');
    assert.deepEqual(await listPeers(deps), [moved]);
    assert.equal(await loadPeerSendToken(deps, peer.fingerprint), 'new-token');
  });

  it('pins concurrently without losing index entries', async () => {
    const deps = makeDeps();
    const peers = Array.from({ length: 10 }, (_, index) => makePeer(`peer${index}`, index + 10));
    await Promise.all(peers.map((peer) => pinPeer(deps, peer, `token${peer.handle}`)));
    assert.deepEqual(new Set((await listPeers(deps)).map((peer) => peer.fingerprint)), new Set(peers.map((peer) => peer.fingerprint)));
  });

  it('forgets a peer and its token; forgetting again reports false', async () => {
    const deps = makeDeps();
    const keep = makePeer('alice', 1);
    const drop = makePeer('bob', 2);
    await pinPeer(deps, keep, 'keep');
    await pinPeer(deps, drop, 'drop');
    assert.equal(await forgetPeer(deps, drop.fingerprint.toUpperCase()), true);
    assert.deepEqual(await listPeers(deps), [keep]);
    assert.equal(await getPeer(deps, drop.fingerprint), undefined);
    assert.equal(await loadPeerSendToken(deps, drop.fingerprint), undefined);
    assert.ok(!deps.vault.entries().some(([, value]) => value === 'drop'));
    assert.ok(!deps.memory.entries().some(([key]) => key === peerRecordKey(drop.fingerprint)));
    assert.equal(await forgetPeer(deps, drop.fingerprint), false);
  });

  it('refuses fingerprints of the wrong shape', async () => {
    const deps = makeDeps();
    for (const bad of ['', '03396219237f75a', '03396219237f75a6ff', '03396219237f75ag', 'peer.x/../y', 'bob']) {
      await assert.rejects(forgetPeer(deps, bad), (error) => isPairError(error, 'bad_input') && /16 hex characters/.test(error.message));
      await assert.rejects(getPeer(deps, bad), (error) => isPairError(error, 'bad_input'));
      await assert.rejects(loadPeerSendToken(deps, bad), (error) => isPairError(error, 'bad_input'));
    }
  });

  it('refuses to pin a record that does not match its card', async () => {
    const deps = makeDeps();
    const peer = makePeer('bob', 2);
    const other = makePeer('carol', 3);
    // The identity point as key, and a signature (R = identity, S = 0) that verifies any message by it.
    const forgery: Card = { ...peer.card, key: toBase64(fromHex('01' + '00'.repeat(31), 'identity point')), sig: toBase64(fromHex('01' + '00'.repeat(63), 'forged sig')) };
    const cases: [string, PinnedPeer, string][] = [
      ['fingerprint of another card', { ...peer, fingerprint: other.fingerprint }, 'bad_input'],
      ['handle not on the card', { ...peer, handle: 'mallory' }, 'bad_input'],
      ['tampered card', { ...peer, card: { ...peer.card, handle: 'mallory' }, handle: 'mallory' }, 'bad_card'],
      // Reading a record back skips the key's point checks (identity.ts verifyPinnedCard): they run here.
      ['card with the identity-key forgery', { ...peer, card: forgery, fingerprint: cardFingerprint(forgery) }, 'bad_card'],
      ['empty relay URL', { ...peer, relayUrl: '' }, 'bad_input'],
      ['empty slot id', { ...peer, slotId: '' }, 'bad_input'],
      ['bad pinnedAt', { ...peer, pinnedAt: 'yesterday' }, 'bad_input'],
    ];
    for (const [why, record, code] of cases) {
      await assert.rejects(pinPeer(deps, record, 'token'), (error) => isPairError(error) && error.code === code, why);
    }
    await assert.rejects(pinPeer(deps, peer, ''), (error) => isPairError(error, 'bad_input'));
    assert.deepEqual(await listPeers(deps), []);
    assert.deepEqual([...deps.vault.entries(), ...deps.memory.entries()], []);
  });

  it('an interrupted pin leaves the peer unpinned, and pinning again completes it', async () => {
    const deps = makeDeps();
    const peer = makePeer('bob', 2);
    const memory: KeyValueStore = {
      get: (key) => deps.memory.get(key),
      delete: (key) => deps.memory.delete(key),
      set: (key, value) => (key === PEERS_INDEX_KEY ? Promise.reject(new Error('simulated crash')) : deps.memory.set(key, value)),
    };
    await assert.rejects(pinPeer({ vault: deps.vault, memory }, peer, 'token'), /simulated crash/);
    assert.deepEqual(await listPeers(deps), []);
    assert.equal(await getPeer(deps, peer.fingerprint), undefined);
    assert.equal(await loadPeerSendToken(deps, peer.fingerprint), undefined);
    await pinPeer(deps, peer, 'token');
    assert.deepEqual(await listPeers(deps), [peer]);
  });

  it('reports a damaged index or record as storage_failed', async () => {
    const deps = makeDeps();
    const peer = makePeer('bob', 2);
    await pinPeer(deps, peer, 'token');
    await deps.memory.set(peerRecordKey(peer.fingerprint), JSON.stringify({ ...peer, card: { ...peer.card, handle: 'mallory' } }));
    await assert.rejects(listPeers(deps), (error) => isPairError(error, 'storage_failed') && error.message.includes(peer.fingerprint));
    // Forgetting does not need the record, so a damaged peer can always be removed.
    assert.equal(await forgetPeer(deps, peer.fingerprint), true);
    await deps.memory.set(PEERS_INDEX_KEY, '{"not":"a list"}');
    await assert.rejects(listPeers(deps), (error) => isPairError(error, 'storage_failed'));
    // Another key under the card's signature, filed under that key's own fingerprint: only the
    // signature, checked again on every read, catches it.
    const swapped: Card = { ...peer.card, key: makeCard('bob', 3).key };
    const swappedFingerprint = cardFingerprint(swapped);
    await deps.memory.set(PEERS_INDEX_KEY, JSON.stringify([swappedFingerprint]));
    await deps.memory.set(peerRecordKey(swappedFingerprint), JSON.stringify({ ...peer, fingerprint: swappedFingerprint, card: swapped }));
    await assert.rejects(listPeers(deps), (error) => isPairError(error, 'storage_failed') && isPairError(error.cause, 'bad_card') && /signature/.test(error.cause.message));
  });

  it('finds peers by fingerprint (either case) or handle; a shared handle is ambiguous', async () => {
    const deps = makeDeps();
    const first = makePeer('bob', 2);
    const second = makePeer('bob', 3);
    await pinPeer(deps, first, 'token');
    await pinPeer(deps, second, 'token');
    assert.deepEqual((await findPeers(deps, first.fingerprint.toUpperCase())).map((peer) => peer.fingerprint), [first.fingerprint]);
    assert.equal((await findPeers(deps, 'bob')).length, 2);
    assert.deepEqual(await findPeers(deps, 'carol'), []);
    await assert.rejects(resolvePeer(deps, 'bob'), (error) => isPairError(error, 'bad_input') && error.message.includes(first.fingerprint) && error.message.includes(second.fingerprint));
    await assert.rejects(resolvePeer(deps, 'carol'), (error) => isPairError(error, 'not_found'));
  });

  it('keeps the grant given to a peer, and updates its inbox coordinates and token in place', async () => {
    const deps = makeDeps();
    const grant = { relayUrl: 'http://127.0.0.1:8771', slotId: 'cd'.repeat(16), grantId: 'ef'.repeat(16), announced: true };
    const peer = makePeer('bob', 2, { grant });
    await pinPeer(deps, peer, 'token');
    assert.deepEqual((await getPeer(deps, peer.fingerprint))?.grant, grant);
    assert.equal(await updatePeer(deps, peer.fingerprint, { inbox: { relayUrl: 'http://other:1', slotId: '12'.repeat(16), sendToken: 'new-token' } }), true);
    const moved = await getPeer(deps, peer.fingerprint);
    assert.equal(moved?.relayUrl, 'http://other:1');
    assert.equal(moved.slotId, '12'.repeat(16));
    assert.deepEqual(moved.grant, grant);
    assert.equal(await loadPeerSendToken(deps, peer.fingerprint), 'new-token');
    assert.equal(await updatePeer(deps, makePeer('carol', 4).fingerprint, { grant }), false);
  });
});

describe('watching the pinned peers', () => {
  it('calls back once per change (pinned, rule set, forgotten), not for looks that find none, and stops on the signal', async () => {
    const deps = { ...makeDeps(), clock: systemClock };
    const stop = new AbortController();
    let changes = 0;
    const watching = watchPeers(deps, stop.signal, () => Promise.resolve(void (changes += 1)), 5);
    const bob = makePeer('bob', 2);
    await new Promise((done) => setTimeout(done, 30));
    assert.equal(changes, 0, 'nothing changed yet');
    await pinPeer(deps, bob, 'token');
    await until('the pinning seen', () => changes === 1);
    await setPeerRule(deps, bob.fingerprint, 'agent');
    await until('the rule seen', () => changes === 2);
    await forgetPeer(deps, bob.fingerprint);
    await until('the forgetting seen', () => changes === 3);
    await new Promise((done) => setTimeout(done, 30));
    assert.equal(changes, 3, 'one call per change');
    stop.abort();
    await watching;
  });
});
