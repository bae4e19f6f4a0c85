// A receiver with no inbox yet (an identity that has not paired) waits out each round instead of
// spinning: `run` in a VS Code window starts before the first pairing makes an inbox.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReceiveRunner } from '../../src/core/inbox.js';
import type { Clock } from '../../src/core/ports.js';
import { MemoryKeyValueStore } from '../../src/core/routedStore.js';
import { systemRandom } from '../../src/node/system.js';
import { MAX_LONG_POLL_SECONDS } from '../../src/core/vocabulary.js';

describe('a receiver with no inbox', () => {
  it('sleeps the long-poll wait each round, and stops when the signal aborts', async () => {
    const stop = new AbortController();
    const slept: number[] = [];
    const clock: Clock = {
      now: () => 1_000_000, // still: each round asks for the whole wait
      sleep: (ms) => {
        slept.push(ms);
        if (slept.length === 3) stop.abort();
        return Promise.resolve();
      },
    };
    const receiver = new ReceiveRunner({
      vault: new MemoryKeyValueStore(),
      memory: new MemoryKeyValueStore(),
      random: systemRandom,
      clock,
      relays: () => {
        throw new Error('no relay is called without an inbox');
      },
    });
    await receiver.run({ signal: stop.signal });
    assert.deepEqual(slept, [MAX_LONG_POLL_SECONDS * 1000, MAX_LONG_POLL_SECONDS * 1000, MAX_LONG_POLL_SECONDS * 1000]);
    assert.deepEqual(await receiver.pull({ waitSeconds: 5, signal: stop.signal }), [], 'an aborted wait returns at once');
    assert.equal(slept.length, 3);
  });
});
