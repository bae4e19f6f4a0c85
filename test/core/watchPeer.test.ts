// SessionStore.watchPeer through a real relay on loopback (port 0): while a session waits in
// sas_ready for its person, the relay is watched, so a peer's abort or an expired pairing ends
// it at once; whatever this side does meanwhile wakes the watch. These tests set no timing
// asserts: a watch that failed to wake would run into the test's own timeout.

import '../helpers/nativeCurves.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isPairError } from '../../src/core/errors.js';
import { startRelay } from '../../src/relay/node.js';
import { type TestRelay, startTestRelay } from '../helpers/relays.js';
import { type Side, bothWaitForSas, makeSide, openPair } from '../helpers/sides.js';
import { SESSION_TTL_MS } from '../../src/core/vocabulary.js';
import { until } from '../helpers/until.js';

let relay: TestRelay;

before(async () => {
  relay = await startTestRelay('socketless', { limits: { opensPerIpPerMinute: 10_000 } });
});
after(async () => {
  await relay.close();
});

/** Two sides paired up to sas_ready. */
async function atSas(): Promise<{ host: Side; guest: Side; hostId: string; guestId: string; sas: string }> {
  const host = await makeSide(relay.url, 'alice');
  const guest = await makeSide(relay.url, 'bob');
  const ids = await openPair(host, guest, relay.url);
  const [hostReady, guestReady] = await bothWaitForSas(host, guest, ids);
  assert.equal(hostReady.state, 'sas_ready');
  assert.equal(guestReady.state, 'sas_ready');
  return { host, guest, ...ids, sas: host.store.sasForPerson(ids.hostId) };
}

/** The relay requests a side made so far, by kind. */
function gets(side: Side): { plain: number; waits: number } {
  return { plain: side.calls.get('get') ?? 0, waits: side.calls.get('get:wait') ?? 0 };
}

/** Resolves once the relay holds exactly `count` long polls. */
async function longPolls(count: number): Promise<void> {
  await until(`${count} long polls at the relay`, () => relay.stats().longPolls === count);
}

function wrong(sas: string): string {
  const digits = sas.replace(/\D/g, '');
  return digits.slice(0, 5) + String((Number(digits[5]) + 1) % 10);
}

describe('SessionStore.watchPeer', () => {
  it('ends the session as peer_aborted when the other person types wrong digits, and persists and announces it', { timeout: 10_000 }, async () => {
    const { host, guest, hostId, guestId, sas } = await atSas();
    let changes = 0;
    guest.store.onDidChange(() => changes++);
    const watching = guest.store.watchPeer(guestId, 20_000);
    await longPolls(1);
    await assert.rejects(host.store.confirmSas(hostId, wrong(sas)), (error) => isPairError(error, 'sas_mismatch'));

    const ended = await watching;
    assert.equal(ended.state, 'aborted');
    assert.equal(ended.abortCode, 'peer_aborted');
    assert.equal(ended.abortReason, 'sas mismatch');
    assert.equal(guest.store.status(guestId).state, 'aborted');
    assert.ok(changes >= 1, 'the end was announced');
    const kept = guest.memory.entries().filter(([key]) => key.startsWith('session.'));
    assert.deepEqual(kept.map(([key, value]) => [key, (JSON.parse(value) as { state: string }).state]), [[`session.${guestId}`, 'aborted']], 'the ended session is kept as ended, for a later process to tell');
    assert.equal(guest.vault.entries().filter(([key]) => key.startsWith('session.')).length, 0, 'its secrets too');
    // The SAS is gone with it; digits typed now meet the end.
    assert.throws(() => guest.store.sasForPerson(guestId), (error) => isPairError(error, 'invalid_state'));
    await assert.rejects(guest.store.confirmSas(guestId, sas), (error) => isPairError(error, 'aborted'));
  });

  it('ends the session as peer_aborted when the other side aborts', { timeout: 10_000 }, async () => {
    const { host, guest, hostId, guestId } = await atSas();
    const watching = host.store.watchPeer(hostId, 20_000);
    await guest.store.abort(guestId, 'wrong person');
    const ended = await watching;
    assert.deepEqual([ended.state, ended.abortCode, ended.abortReason], ['aborted', 'peer_aborted', 'wrong person']);
  });

  it('returns at once when this side confirms, letting go of its long poll', { timeout: 5_000 }, async () => {
    const { host, hostId, sas } = await atSas();
    const watching = host.store.watchPeer(hostId, 20_000);
    await longPolls(1);
    await host.store.confirmSas(hostId, sas);
    assert.equal((await watching).state, 'confirmed');
    await longPolls(0);
  });

  it('returns at once when this side aborts, waking every watcher of the session', { timeout: 5_000 }, async () => {
    const { host, hostId } = await atSas();
    const watchers = [host.store.watchPeer(hostId, 20_000), host.store.watchPeer(hostId, 20_000), host.store.watchPeer(hostId, 20_000)];
    await longPolls(3);
    await host.store.abort(hostId, 'changed my mind');
    for (const watcher of await Promise.all(watchers)) assert.deepEqual([watcher.state, watcher.abortCode], ['aborted', 'aborted']);
    await longPolls(0);
  });

  it('returns at once when the pairing expires', { timeout: 5_000 }, async () => {
    const { host, hostId } = await atSas();
    const watching = host.store.watchPeer(hostId, 20_000);
    await longPolls(1);
    host.clock.offsetMs = SESSION_TTL_MS + 1;
    await host.store.sweepExpired(); // any other call on the store does this first
    const ended = await watching;
    assert.deepEqual([ended.state, ended.abortCode], ['aborted', 'expired']);
  });

  it('ends the session as expired when the relay no longer knows the slot', { timeout: 10_000 }, async () => {
    const ownRelay = await startRelay({ host: '127.0.0.1', port: 0 });
    const port = Number(new URL(ownRelay.url).port);
    const host = await makeSide(ownRelay.url, 'alice');
    const guest = await makeSide(ownRelay.url, 'bob');
    const ids = await openPair(host, guest, ownRelay.url);
    await bothWaitForSas(host, guest, ids);
    await ownRelay.close();
    const restarted = await startRelay({ host: '127.0.0.1', port });
    try {
      const ended = await host.store.watchPeer(ids.hostId, 20_000);
      assert.deepEqual([ended.state, ended.abortCode], ['aborted', 'expired']);
    } finally {
      await restarted.close();
    }
  });

  it('returns when the caller\'s signal aborts, leaving the session as it is', { timeout: 5_000 }, async () => {
    const { host, hostId } = await atSas();
    const controller = new AbortController();
    const watching = host.store.watchPeer(hostId, 20_000, controller.signal);
    await longPolls(1);
    controller.abort();
    assert.equal((await watching).state, 'sas_ready');
    await longPolls(0);
    assert.equal((await host.store.watchPeer(hostId, 20_000, controller.signal)).state, 'sas_ready', 'an aborted signal returns at once');
  });

  it('answers at once, without relay I/O, in any state but sas_ready', async () => {
    const { host, guest, hostId, guestId, sas } = await atSas();
    const opened = await host.store.open('host', relay.url);
    await host.store.confirmSas(hostId, sas);
    await guest.store.abort(guestId, 'done');
    const callsBefore = [...host.calls.values()].reduce((a, b) => a + b, 0);
    assert.equal((await host.store.watchPeer(opened.sessionId, 20_000)).state, 'opened');
    assert.equal((await host.store.watchPeer(hostId, 20_000)).state, 'confirmed');
    const guestCalls = [...guest.calls.values()].reduce((a, b) => a + b, 0);
    assert.equal((await guest.store.watchPeer(guestId, 20_000)).state, 'aborted');
    assert.equal([...host.calls.values()].reduce((a, b) => a + b, 0), callsBefore);
    assert.equal([...guest.calls.values()].reduce((a, b) => a + b, 0), guestCalls);
    await host.store.abort(opened.sessionId, 'done');
  });

  it('waits for news with one long poll at a time: no request spin while nothing happens', { timeout: 10_000 }, async () => {
    const { host, hostId } = await atSas();
    const before = gets(host);
    const watched = await host.store.watchPeer(hostId, 2_000);
    assert.equal(watched.state, 'sas_ready', 'still waiting for the person after the wait');
    const after = gets(host);
    assert.equal(after.plain - before.plain, 0, 'no plain reads');
    assert.ok(after.waits - before.waits >= 1 && after.waits - before.waits <= 2, `${after.waits - before.waits} long polls in 2 s`);
  });

  it('validates the wait like the other waits', async () => {
    const { host, hostId } = await atSas();
    for (const wait of [-1, Number.NaN, 10 * 60_000 + 1]) {
      await assert.rejects(host.store.watchPeer(hostId, wait), (error) => isPairError(error, 'bad_input'));
    }
    await assert.rejects(host.store.watchPeer('0'.repeat(32), 1_000), (error) => isPairError(error, 'not_found'));
    assert.equal((await host.store.watchPeer(hostId, 0)).state, 'sas_ready');
  });
});
