import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PairError } from '../../src/core/errors.js';
import type { SessionSnapshot } from '../../src/core/session.js';
import { WATCH_RETRY_MS, watchWhileAsked } from '../../src/node/watch.js';

function snapshot(state: SessionSnapshot['state']): SessionSnapshot {
  return { sessionId: '0'.repeat(32), role: 'host', state, relayUrl: 'http://r', nameplate: '4', openedAt: '', expiresAt: '', secondsLeft: 1, peerJoined: true, personMustAct: state === 'sas_ready', nextStep: '' };
}

describe('watchWhileAsked', () => {
  it('watches slice after slice while the session waits, and resolves with it once it moved on', async () => {
    const states: SessionSnapshot['state'][] = ['sas_ready', 'sas_ready', 'aborted'];
    let slices = 0;
    const moved = await watchWhileAsked(() => Promise.resolve(snapshot(states[slices++] ?? 'sas_ready')), new AbortController().signal);
    assert.equal(moved?.state, 'aborted');
    assert.equal(slices, 3);
  });

  it('resolves undefined once the signal aborts', async () => {
    const stop = new AbortController();
    let slices = 0;
    const watching = watchWhileAsked(() => {
      slices++;
      if (slices === 2) stop.abort();
      return Promise.resolve(snapshot('sas_ready'));
    }, stop.signal);
    assert.equal(await watching, undefined);
    assert.equal(slices, 2);
  });

  it('pauses on relay trouble, says so, and watches again; the pause is cut short by the signal', async () => {
    const stop = new AbortController();
    const troubles: [string, number][] = [];
    let slices = 0;
    const watching = watchWhileAsked(
      () => {
        slices++;
        return Promise.reject(new PairError('relay_unreachable', 'down'));
      },
      stop.signal,
      (error, retryMs) => {
        troubles.push([error.code, retryMs]);
        if (troubles.length === 1) setTimeout(() => { stop.abort(); }, 50);
      },
    );
    assert.equal(await watching, undefined);
    assert.deepEqual(troubles, [['relay_unreachable', WATCH_RETRY_MS.first]]);
    assert.equal(slices, 1);
  });

  it('stops quietly on any other failure', async () => {
    const troubles: unknown[] = [];
    const watching = watchWhileAsked(() => Promise.reject(new PairError('storage_failed', 'disk')), new AbortController().signal, (error) => troubles.push(error));
    assert.equal(await watching, undefined);
    assert.deepEqual(troubles, []);
  });
});
