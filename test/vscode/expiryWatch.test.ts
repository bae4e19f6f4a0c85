import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MemoryKeyValueStore } from '../../src/core/routedStore.js';
import { SessionStore } from '../../src/core/store.js';
import { systemRandom } from '../../src/node/system.js';
import { createRelayConnector } from '../../src/relay/client.js';
import { type RunningRelay, startRelay } from '../../src/relay/node.js';
import { watchExpiry } from '../../src/vscode/expiryWatch.js';
import { ShiftableClock } from '../helpers/sides.js';
import { SESSION_TTL_MS } from '../../src/core/vocabulary.js';

describe('watchExpiry', () => {
  let relay: RunningRelay;
  before(async () => {
    relay = await startRelay({ port: 0 });
  });
  after(async () => {
    await relay.close();
  });

  /** A store with one pairing that runs out about `msLeft` from now, and nobody polling it. */
  async function pairingAboutToExpire(msLeft: number): Promise<{ store: SessionStore; id: string; changes: () => number }> {
    const clock = new ShiftableClock();
    const store = new SessionStore({ vault: new MemoryKeyValueStore(), memory: new MemoryKeyValueStore(), clock, random: systemRandom, relays: createRelayConnector() });
    const opened = await store.open('host', relay.url);
    clock.offsetMs = SESSION_TTL_MS - msLeft;
    let count = 0;
    store.onDidChange(() => count++);
    return { store, id: opened.sessionId, changes: () => count };
  }

  it('marks a pairing expired on time, though nothing polls it', async () => {
    const { store, id, changes } = await pairingAboutToExpire(600);
    const watch = watchExpiry(store, (line) => assert.fail(line));
    try {
      assert.equal(store.status(id).state, 'opened');
      const deadline = Date.now() + 3_000;
      while (store.status(id).state === 'opened' && Date.now() < deadline) await sleep(50);
      assert.deepEqual([store.status(id).state, store.status(id).abortCode], ['aborted', 'expired']);
      assert.ok(changes() >= 1, 'listeners (the status bar, the panel) heard of it');
    } finally {
      watch.dispose();
    }
  });

  it('does nothing once disposed', async () => {
    const { store, id } = await pairingAboutToExpire(300);
    watchExpiry(store, (line) => assert.fail(line)).dispose();
    await sleep(1_500);
    assert.equal(store.status(id).state, 'opened', 'status() alone never sweeps; only the watch would have');
  });
});
