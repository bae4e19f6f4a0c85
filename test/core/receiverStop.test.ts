// A stopped receiver returns within 1 s even while its relay is down (issue 20): the pause after
// relay trouble ends when the signal aborts, so a stop, a settings change or a window closing
// never waits out the backoff (up to 30 s). Real relay, stopped before the receiver runs.

import '../helpers/nativeCurves.js';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { PULL_RETRY_BASE_MS, ReceiveRunner } from '../../src/core/inbox.js';
import type { Clock } from '../../src/core/ports.js';
import { startRelay } from '../../src/relay/node.js';
import { makeSide } from '../helpers/sides.js';
import { until } from '../helpers/until.js';

/** The longest a stop may take to end `run`. */
const STOP_WITHIN_MS = 1000;

describe('a receiver whose relay is down', () => {
  it('returns from run within 1 s of the stop, in the middle of its pause', async () => {
    const relay = await startRelay({ host: '127.0.0.1', port: 0 });
    const alice = await makeSide(relay.url, 'alice');
    await relay.close();

    // A pause ends only when its signal aborts: without that, `run` would never return.
    const pauses: number[] = [];
    const clock: Clock = {
      now: () => Date.now(),
      sleep: (ms, signal) => {
        pauses.push(ms);
        return new Promise((resolve) => {
          if (signal?.aborted) resolve();
          signal?.addEventListener('abort', () => { resolve(); }, { once: true });
        });
      },
    };
    const stop = new AbortController();
    const troubles: string[] = [];
    const receiver = new ReceiveRunner({ ...alice.deps, clock });
    receiver.on((event) => {
      if (event.type === 'relayTrouble') troubles.push(event.code);
    });
    let returned = false;
    const running = receiver.run({ signal: stop.signal }).then(() => (returned = true));
    await until('the pause after relay trouble', () => pauses.includes(PULL_RETRY_BASE_MS));
    assert.ok(troubles.length > 0, 'the relay being down is reported');

    stop.abort();
    await Promise.race([running, sleep(STOP_WITHIN_MS)]);
    assert.equal(returned, true, `run returned within ${STOP_WITHIN_MS} ms of the stop`);
  });
});
