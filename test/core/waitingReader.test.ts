// A waiting reader (`pull({waitSeconds})`, what inbox_read with wait_seconds runs) returns the
// moment a message is accepted, whoever accepted it: its own pull, the runner's `run` loop in
// the same process, or another process of the identity that took the message first. Before,
// the last two left it waiting out the whole wait. The real relay, socketless
// (test/helpers/relays.ts), real sides.

import '../helpers/nativeCurves.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type MessagingEvent, ReceiveRunner } from '../../src/core/inbox.js';
import type { RelayConnector } from '../../src/core/ports.js';
import { pairedSides } from '../helpers/pairing.js';
import { type TestRelay, startTestRelay } from '../helpers/relays.js';
import { gate, until } from '../helpers/until.js';

const LIMITS = { opensPerIpPerMinute: 10_000 };
/** Far longer than a message takes: a reader still waiting when the test looks would have waited it out. */
const LONG_WAIT_SECONDS = 120;

let relay: TestRelay;
before(async () => {
  relay = await startTestRelay('socketless', { limits: LIMITS });
});
after(async () => {
  await relay.close();
});

/** Resolves what a pull gave, and lets a test see whether it has returned yet. */
function watch(pull: Promise<MessagingEvent[]>): { returned: () => MessagingEvent[] | undefined } {
  let result: MessagingEvent[] | undefined;
  void pull.then((events) => {
    result = events;
  });
  return { returned: () => result };
}

describe('a waiting reader', () => {
  it('returns the moment the runner\'s own run loop accepts a message, with that message', async () => {
    const { alice, bob } = await pairedSides(relay.url);
    const receiver = new ReceiveRunner(bob.deps);
    const stop = new AbortController();
    const running = receiver.run({ signal: stop.signal });
    try {
      const waiting = watch(receiver.pull({ waitSeconds: LONG_WAIT_SECONDS }));
      await sleep(200); // both are waiting at the relay (or would be, before the fix)
      const sent = await new ReceiveRunner(alice.deps).sender.send('bob', { type: 'text', text: 'wake up' });
      const events = await until('the waiting reader to return', waiting.returned, 20_000);
      const message = events.find((event) => event.type === 'message');
      assert.equal(message?.type === 'message' && message.record.id, sent.id);
      assert.equal((await receiver.mailbox.get(alice.fingerprint, sent.id))?.state, 'unread');
    } finally {
      stop.abort();
      await running;
    }
  });

  it('returns the moment another process of the identity accepted the message it woke for', async () => {
    const { alice, bob } = await pairedSides(relay.url);
    // The other process: its own runner over the same stores, pulling in a loop.
    const other = new ReceiveRunner(bob.deps);
    const storedElsewhere = gate();
    other.on((event) => {
      if (event.type === 'message') storedElsewhere.open();
    });
    // The reader hears the relay's news only once the other one stored it: it comes second.
    const late: RelayConnector = (url) => {
      const port = bob.deps.relays(url);
      return {
        ...port,
        url: port.url,
        readMessages: async (slotId, ownerToken, poll) => {
          const page = await port.readMessages(slotId, ownerToken, poll);
          if (poll.waitSeconds && page.messages.length > 0) await storedElsewhere.passed;
          return page;
        },
      };
    };
    const reader = new ReceiveRunner({ ...bob.deps, relays: late });
    const stop = new AbortController();
    const running = other.run({ signal: stop.signal });
    try {
      const waiting = watch(reader.pull({ waitSeconds: LONG_WAIT_SECONDS }));
      await sleep(200);
      const sent = await new ReceiveRunner(alice.deps).sender.send('bob', { type: 'text', text: 'taken elsewhere' });
      await until('the waiting reader to return', waiting.returned, 20_000);
      // It stored nothing itself; the message is in the shared mailbox, once.
      assert.equal((await reader.mailbox.get(alice.fingerprint, sent.id))?.state, 'unread');
      assert.equal((await reader.mailbox.summary(alice.fingerprint)).unread, 1);
    } finally {
      stop.abort();
      await running;
    }
  });

  it('still waits while nothing arrives, and a stop ends the wait', async () => {
    const { bob } = await pairedSides(relay.url);
    const receiver = new ReceiveRunner(bob.deps);
    const stopRun = new AbortController();
    const running = receiver.run({ signal: stopRun.signal });
    const stopWait = new AbortController();
    try {
      const waiting = watch(receiver.pull({ waitSeconds: LONG_WAIT_SECONDS, signal: stopWait.signal }));
      await sleep(300);
      assert.equal(waiting.returned(), undefined);
      stopWait.abort();
      assert.deepEqual(await until('the stopped reader to return', waiting.returned, 5_000), []);
    } finally {
      stopRun.abort();
      await running;
    }
  });
});
