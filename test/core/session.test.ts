// The staged session and its store, end to end through a real relay on loopback (port 0).

import '../helpers/nativeCurves.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isPairError } from '../../src/core/errors.js';
import { listPeers } from '../../src/core/trust.js';
import { ENDED_RETENTION_MS, MAX_OPEN_SESSIONS, SessionStore } from '../../src/core/store.js';
import { startRelay } from '../../src/relay/node.js';
import { type TestRelay, startTestRelay } from '../helpers/relays.js';
import { bothWaitForSas, makeSide, openPair } from '../helpers/sides.js';
import { SAS_MISMATCH_REASON, SESSION_TTL_MS } from '../../src/core/vocabulary.js';

let relay: TestRelay;

before(async () => {
  relay = await startTestRelay('socketless', { limits: { opensPerIpPerMinute: 10_000, maxPairSlotsPerAddress: 100 } });
});
after(async () => {
  await relay.close();
});

function digits(sas: string): string {
  return sas.replace(/\D/g, '');
}

describe('a pairing between two stores', () => {
  it('runs open → sas_ready → confirmed → finalized and pins each side on the other', async () => {
    const host = await makeSide(relay.url, 'alice');
    const guest = await makeSide(relay.url, 'bob');
    const ids = await openPair(host, guest, relay.url);
    const [hostReady, guestReady] = await bothWaitForSas(host, guest, ids);
    assert.equal(hostReady.state, 'sas_ready');
    assert.equal(guestReady.state, 'sas_ready');
    const hostSas = host.store.sasForPerson(ids.hostId);
    const guestSas = guest.store.sasForPerson(ids.guestId);
    assert.match(hostSas, /^\d{3}-\d{3}$/);
    assert.equal(hostSas, guestSas);

    await host.store.confirmSas(ids.hostId, guestSas);
    await guest.store.confirmSas(ids.guestId, ` ${digits(hostSas)} `);
    const [hostDone, guestDone] = await Promise.all([host.store.finalize(ids.hostId, 10_000), guest.store.finalize(ids.guestId, 10_000)]);
    assert.equal(hostDone.state, 'finalized');
    assert.equal(hostDone.peer?.fingerprint, guest.fingerprint);
    assert.equal(hostDone.peer.handle, 'bob');
    assert.equal(guestDone.peer?.fingerprint, host.fingerprint);
    assert.equal(guestDone.peer.relayUrl, relay.url);

    const hostPeers = await listPeers(host.deps);
    assert.deepEqual(hostPeers.map((peer) => peer.fingerprint), [guest.fingerprint]);
    assert.equal(hostPeers[0]?.relayUrl, relay.url);
    // Finalizing again is a no-op that reports the same result.
    assert.equal((await host.store.finalize(ids.hostId, 0)).state, 'finalized');
  });

  it('ends both sides in "wrong code" before any SAS when the codes differ', async () => {
    const host = await makeSide(relay.url, 'alice');
    const guest = await makeSide(relay.url, 'bob');
    const opened = await host.store.open('host', relay.url);
    const [nameplate, secret] = opened.code!.split('-') as [string, string];
    const otherSecret = secret.startsWith('A') ? `B${secret.slice(1)}` : `A${secret.slice(1)}`;
    const joined = await guest.store.open('guest', relay.url, `${nameplate}-${otherSecret}`);
    const [hostEnd, guestEnd] = await bothWaitForSas(host, guest, { hostId: opened.sessionId, guestId: joined.sessionId });
    for (const end of [hostEnd, guestEnd]) {
      assert.deepEqual([end.state, end.abortCode], ['aborted', 'wrong_code']);
    }
    assert.throws(() => host.store.sasForPerson(opened.sessionId), (error) => isPairError(error, 'invalid_state'));
  });

  it('aborts both sides for good on a SAS mismatch', async () => {
    const host = await makeSide(relay.url, 'alice');
    const guest = await makeSide(relay.url, 'bob');
    const ids = await openPair(host, guest, relay.url);
    await bothWaitForSas(host, guest, ids);
    const sas = digits(guest.store.sasForPerson(ids.guestId));
    const wrong = sas.slice(0, 5) + String((Number(sas[5]) + 1) % 10);
    await assert.rejects(host.store.confirmSas(ids.hostId, wrong), (error) => isPairError(error, 'sas_mismatch'));
    assert.equal(host.store.status(ids.hostId).state, 'aborted');
    // The right digits no longer help: the session is over.
    await assert.rejects(host.store.confirmSas(ids.hostId, sas), (error) => isPairError(error, 'aborted'));
    await guest.store.confirmSas(ids.guestId, sas);
    await assert.rejects(guest.store.finalize(ids.guestId, 5_000), (error) => isPairError(error, 'peer_aborted'));
    assert.deepEqual([guest.store.status(ids.guestId).abortCode, guest.store.status(ids.guestId).abortReason], ['peer_aborted', SAS_MISMATCH_REASON]);
  });

  it('refuses input that is not six digits without aborting (the person is asked again), and a second confirm', async () => {
    const host = await makeSide(relay.url, 'alice');
    const guest = await makeSide(relay.url, 'bob');
    const ids = await openPair(host, guest, relay.url);
    await bothWaitForSas(host, guest, ids);
    const sas = digits(host.store.sasForPerson(ids.hostId));
    await guest.store.confirmSas(ids.guestId, sas);
    await assert.rejects(guest.store.confirmSas(ids.guestId, sas), (error) => isPairError(error, 'invalid_state'));
    for (const slip of ['', sas.slice(0, 5), `${sas}1`, '12-34-56', 'sas please']) {
      await assert.rejects(host.store.confirmSas(ids.hostId, slip), (error) => isPairError(error, 'bad_input'));
      assert.equal(host.store.status(ids.hostId).state, 'sas_ready', `${JSON.stringify(slip)} changed nothing`);
    }
    assert.equal((await host.store.confirmSas(ids.hostId, `${sas.slice(0, 3)} ${sas.slice(3)}`)).state, 'confirmed');
  });

  it('reports the peer\'s abort with its reason', async () => {
    const host = await makeSide(relay.url, 'alice');
    const guest = await makeSide(relay.url, 'bob');
    const ids = await openPair(host, guest, relay.url);
    await guest.store.abort(ids.guestId, 'changed my mind');
    const status = await host.store.waitForSas(ids.hostId, 5_000);
    assert.equal(status.state, 'aborted');
    assert.equal(status.abortReason, 'changed my mind');
    assert.equal(status.abortCode, 'peer_aborted');
  });

  it('expires after SESSION_TTL on the client clock, and forgets ended sessions after retention', async () => {
    const host = await makeSide(relay.url, 'alice');
    const opened = await host.store.open('host', relay.url);
    host.clock.offsetMs = SESSION_TTL_MS + 1;
    const status = await host.store.waitForSas(opened.sessionId, 0);
    assert.equal(status.state, 'aborted');
    assert.equal(status.abortReason, 'expired');
    // The record stays (without secrets) so a later process can tell how it ended; then it goes.
    assert.deepEqual(host.memory.entries().filter(([key]) => key.startsWith('session.')).map(([key]) => key), [`session.${opened.sessionId}`]);
    assert.deepEqual(host.vault.entries().filter(([key]) => key.startsWith('session.')), []);
    assert.equal((await new SessionStore(host.deps).restore()).restored[0]?.abortReason, 'expired');
    host.clock.offsetMs += ENDED_RETENTION_MS + 1;
    await host.store.sweepExpired();
    assert.throws(() => host.store.status(opened.sessionId), (error) => isPairError(error, 'not_found'));
    assert.deepEqual(host.memory.entries().filter(([key]) => key.startsWith('session')), [['sessions.index', '[]']]);
  });

  it('reports "expired" when the relay restarts mid-pairing', async () => {
    const ownRelay = await startRelay({ host: '127.0.0.1', port: 0 });
    const port = new URL(ownRelay.url).port;
    const host = await makeSide(ownRelay.url, 'alice');
    const opened = await host.store.open('host', ownRelay.url);
    await ownRelay.close();
    const restarted = await startRelay({ host: '127.0.0.1', port: Number(port) });
    try {
      const status = await host.store.waitForSas(opened.sessionId, 5_000);
      assert.equal(status.state, 'aborted');
      assert.equal(status.abortReason, 'expired');
    } finally {
      await restarted.close();
    }
  });

  it('answers waitForSas from memory after sas_ready: no relay call', async () => {
    const host = await makeSide(relay.url, 'alice');
    const guest = await makeSide(relay.url, 'bob');
    const ids = await openPair(host, guest, relay.url);
    await bothWaitForSas(host, guest, ids);
    const callsBefore = [...host.calls.values()].reduce((a, b) => a + b, 0);
    for (let i = 0; i < 3; i++) assert.equal((await host.store.waitForSas(ids.hostId, 1_000)).state, 'sas_ready');
    assert.equal([...host.calls.values()].reduce((a, b) => a + b, 0), callsBefore);
  });

  it('lets a finalize that timed out resume, sending its bootstrap only once', async () => {
    const host = await makeSide(relay.url, 'alice');
    const guest = await makeSide(relay.url, 'bob');
    const ids = await openPair(host, guest, relay.url);
    await bothWaitForSas(host, guest, ids);
    const sas = host.store.sasForPerson(ids.hostId);
    await host.store.confirmSas(ids.hostId, sas);
    await assert.rejects(host.store.finalize(ids.hostId, 200), (error) => isPairError(error, 'timeout'));
    assert.equal(host.store.status(ids.hostId).state, 'confirmed');
    await guest.store.confirmSas(ids.guestId, sas);
    const [hostDone, guestDone] = await Promise.all([host.store.finalize(ids.hostId, 10_000), guest.store.finalize(ids.guestId, 10_000)]);
    assert.equal(hostDone.state, 'finalized');
    assert.equal(guestDone.state, 'finalized');
    assert.equal(host.calls.get('put:bootstrap'), 1);
    assert.equal(host.calls.get('grant'), 1);
  });

  it('keeps a long wait on one pairing from blocking another', async () => {
    const host = await makeSide(relay.url, 'alice');
    const first = await host.store.open('host', relay.url);
    const second = await host.store.open('host', relay.url);
    const started = Date.now();
    const waiting = host.store.waitForSas(first.sessionId, 4_000);
    const aborted = await host.store.abort(second.sessionId, 'not needed');
    assert.equal(aborted.state, 'aborted');
    assert.ok(Date.now() - started < 3_000, 'the abort did not wait for the other session\'s long poll');
    // Aborting the waiting session itself also goes through while its long poll is pending.
    await host.store.abort(first.sessionId, 'stop waiting');
    assert.equal((await waiting).state, 'aborted');
  });
});

describe('restore', () => {
  for (const stage of ['opened', 'sas_ready', 'confirmed'] as const) {
    it(`rebuilds a session persisted at ${stage} without network I/O and completes it`, async () => {
      const host = await makeSide(relay.url, 'alice');
      const guest = await makeSide(relay.url, 'bob');
      const ids = await openPair(host, guest, relay.url);
      let sas: string | undefined;
      if (stage !== 'opened') {
        await bothWaitForSas(host, guest, ids);
        sas = host.store.sasForPerson(ids.hostId);
      }
      if (stage === 'confirmed') await host.store.confirmSas(ids.hostId, sas!);

      // A window reload: a new store over the same persisted state.
      const reloaded = await makeSide(relay.url, 'alice', { vault: host.vault, memory: host.memory, clock: host.clock });
      const result = await reloaded.store.restore();
      assert.deepEqual(result.dropped, []);
      assert.equal(result.restored.length, 1);
      assert.equal(result.restored[0]?.state, stage);
      assert.equal(reloaded.calls.size, 0, 'restore made no relay call');

      if (stage === 'opened') {
        await bothWaitForSas(reloaded, guest, ids);
        sas = reloaded.store.sasForPerson(ids.hostId);
      }
      if (stage === 'sas_ready') assert.equal(reloaded.store.sasForPerson(ids.hostId), sas);
      if (stage !== 'confirmed') await reloaded.store.confirmSas(ids.hostId, sas!);
      await guest.store.confirmSas(ids.guestId, sas!);
      const [hostDone, guestDone] = await Promise.all([reloaded.store.finalize(ids.hostId, 10_000), guest.store.finalize(ids.guestId, 10_000)]);
      assert.equal(hostDone.peer?.fingerprint, guest.fingerprint);
      assert.equal(guestDone.peer?.fingerprint, host.fingerprint);
    });
  }

  it('drops a persisted session whose secrets are missing', async () => {
    const host = await makeSide(relay.url, 'alice');
    const opened = await host.store.open('host', relay.url);
    await host.vault.delete(`session.${opened.sessionId}.secrets`);
    const reloaded = new SessionStore(host.deps);
    const result = await reloaded.restore();
    assert.deepEqual(result.dropped, [opened.sessionId]);
    assert.deepEqual(host.memory.entries().filter(([key]) => key.startsWith('session')), [['sessions.index', '[]']]);
  });

  it('checks a stored record field by field and drops one with any field out of shape', async () => {
    const host = await makeSide(relay.url, 'alice');
    const opened = await host.store.open('host', relay.url);
    const key = `session.${opened.sessionId}`;
    const good = JSON.parse((await host.memory.get(key))!) as Record<string, unknown>;
    const secretsKey = `${key}.secrets`;
    const goodSecrets = (await host.vault.get(secretsKey))!;
    const bad: [string, Record<string, unknown>][] = [
      ['state', { ...good, state: 'paired' }],
      ['role', { ...good, role: 'admin' }],
      ['relayUrl', { ...good, relayUrl: 'ftp://relay' }],
      ['nameplate', { ...good, nameplate: '047' }],
      ['expiresAt', { ...good, expiresAt: Number(good['openedAt']) + 3_600_000 }],
      ['sent', { ...good, sent: { commit: 'yes' } }],
      ['peerCommit', { ...good, peerCommit: 'zz' }],
      ['sas_ready without peerPake', { ...good, state: 'sas_ready' }],
      ['abort code', { ...good, abort: { code: 'oops', reason: 'x' } }],
      ['unknown field', { ...good, extra: 1 }],
      ['pairId', { ...good, pairId: 'f'.repeat(32) }],
    ];
    for (const [what, record] of bad) {
      await host.memory.set(key, JSON.stringify(record));
      await host.memory.set('sessions.index', JSON.stringify([opened.sessionId]));
      await host.vault.set(secretsKey, goodSecrets);
      const result = await new SessionStore(host.deps).restore();
      assert.deepEqual(result.dropped, [opened.sessionId], `a record with a bad ${what} is dropped`);
    }
    for (const secrets of [{ seed: 'short', token: 't', code: '47-UE2BZG' }, { ...(JSON.parse(goodSecrets) as object), code: '47_UE2BZG' }]) {
      await host.memory.set(key, JSON.stringify(good));
      await host.memory.set('sessions.index', JSON.stringify([opened.sessionId]));
      await host.vault.set(secretsKey, JSON.stringify(secrets));
      assert.deepEqual((await new SessionStore(host.deps).restore()).dropped, [opened.sessionId]);
    }
    await host.memory.set(key, JSON.stringify(good));
    await host.memory.set('sessions.index', JSON.stringify([opened.sessionId]));
    await host.vault.set(secretsKey, goodSecrets);
    assert.deepEqual((await new SessionStore(host.deps).restore()).restored.map((snapshot) => snapshot.sessionId), [opened.sessionId]);
  });

  it('never writes the seed, the token or the code to the non-secret store', async () => {
    const host = await makeSide(relay.url, 'alice');
    const guest = await makeSide(relay.url, 'bob');
    const ids = await openPair(host, guest, relay.url);
    await bothWaitForSas(host, guest, ids);
    const secrets = JSON.parse((await host.vault.get(`session.${ids.hostId}.secrets`))!) as { seed: string; token: string; code: string };
    const publicState = JSON.stringify(host.memory.entries());
    for (const secret of [secrets.seed, secrets.token, secrets.code, digits(host.store.sasForPerson(ids.hostId))]) {
      assert.ok(!publicState.includes(secret), 'a secret reached the public store');
    }
  });
});

describe('many pairings at once', () => {
  it('runs 50 pairings concurrently through one relay', async () => {
    const host = await makeSide(relay.url, 'alice');
    const guest = await makeSide(relay.url, 'bob');
    const count = Math.min(50, MAX_OPEN_SESSIONS);
    const results = await Promise.all(
      Array.from({ length: count }, async () => {
        const ids = await openPair(host, guest, relay.url);
        await bothWaitForSas(host, guest, ids, 20_000);
        const sas = host.store.sasForPerson(ids.hostId);
        await Promise.all([host.store.confirmSas(ids.hostId, sas), guest.store.confirmSas(ids.guestId, sas)]);
        return Promise.all([host.store.finalize(ids.hostId, 20_000), guest.store.finalize(ids.guestId, 20_000)]);
      }),
    );
    assert.equal(results.filter(([a, b]) => a.state === 'finalized' && b.state === 'finalized').length, count);
  });
});
