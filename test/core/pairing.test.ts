// The pairing runner through real relays (in-process on port 0, or a relay process a test kills):
// the order of its events, a slip at the SAS prompt asked again, a failure after the key exchange
// reaching the peer as an abort, relay trouble shown while the people are asked, and the
// PersonQuestions port the MCP server and the VS Code panel answer through.

import '../helpers/nativeCurves.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PairError } from '../../src/core/errors.js';
import { IDENTITY_KEYS } from '../../src/core/identity.js';
import { type PairingEvent, PersonQuestions, runPairing } from '../../src/core/pairing.js';
import type { ConfirmPort, DigitsRequest } from '../../src/core/ports.js';
import { type TestRelay, startTestRelay } from '../helpers/relays.js';
import { Pids, runRelayMain } from '../helpers/relayProcess.js';
import { type Side, makeSide, openPair } from '../helpers/sides.js';
import { CANCELLED_REASON } from '../../src/core/vocabulary.js';
import { until } from '../helpers/until.js';

let relay: TestRelay;
const pids = new Pids();
before(async () => {
  relay = await startTestRelay('socketless', { limits: { opensPerIpPerMinute: 10_000 } });
});
after(async () => {
  pids.killAll();
  await relay.close();
});

/** Two people on a call: each answers with what the other one's prompt showed, after `slips`. */
function people(slips: { host?: string[]; guest?: string[] } = {}): { host: ConfirmPort; guest: ConfirmPort; asked: Record<'host' | 'guest', DigitsRequest[]> } {
  const asked: Record<'host' | 'guest', DigitsRequest[]> = { host: [], guest: [] };
  const heard: Record<'host' | 'guest', (sas: string) => void> = { host: () => undefined, guest: () => undefined };
  const readOut = {
    host: new Promise<string>((resolve) => (heard.host = resolve)),
    guest: new Promise<string>((resolve) => (heard.guest = resolve)),
  };
  const person = (me: 'host' | 'guest', other: 'host' | 'guest'): ConfirmPort => ({
    askForDigits: async (request) => {
      asked[me].push(request);
      heard[me](request.sas);
      const slip = slips[me]?.shift();
      return slip ?? readOut[other];
    },
  });
  return { host: person('host', 'guest'), guest: person('guest', 'host'), asked };
}

function run(side: Side, id: string, confirm: ConfirmPort, events: PairingEvent['type'][], signal?: AbortSignal) {
  return runPairing(id, {
    store: side.store,
    clock: side.clock,
    confirm,
    onEvent: (event) => events.push(event.type),
    timing: { retryFirstMs: 50, retryCapMs: 200 },
    ...(signal && { signal }),
  });
}

describe('runPairing', () => {
  it('runs open → SAS → the person → confirm → finalize, emitting typed events in order', async () => {
    const [host, guest] = await Promise.all([makeSide(relay.url, 'alice'), makeSide(relay.url, 'bob')]);
    const ids = await openPair(host, guest, relay.url);
    const person = people();
    const hostEvents: PairingEvent['type'][] = [];
    const guestEvents: PairingEvent['type'][] = [];
    const [hostEnd, guestEnd] = await Promise.all([run(host, ids.hostId, person.host, hostEvents), run(guest, ids.guestId, person.guest, guestEvents)]);
    assert.deepEqual([hostEnd.state, guestEnd.state], ['finalized', 'finalized']);
    assert.equal(hostEnd.peer?.fingerprint, guest.fingerprint);
    // The host had not seen the guest yet when its runner started: the code comes first.
    assert.deepEqual(hostEvents, ['code', 'sasReady', 'confirmed', 'paired']);
    assert.deepEqual(guestEvents, ['sasReady', 'confirmed', 'paired']);
  });

  it('asks again after a slip (an empty line, five digits) without checking it; only six digits that differ abort', async () => {
    const [host, guest] = await Promise.all([makeSide(relay.url, 'alice'), makeSide(relay.url, 'bob')]);
    const ids = await openPair(host, guest, relay.url);
    const person = people({ host: ['', '12345'] });
    const events: PairingEvent['type'][] = [];
    const [hostEnd] = await Promise.all([run(host, ids.hostId, person.host, events), run(guest, ids.guestId, person.guest, [])]);
    assert.equal(hostEnd.state, 'finalized');
    assert.deepEqual(person.asked.host.map((request) => request.again), [false, true, true]);
    assert.deepEqual(person.asked.guest.map((request) => request.again), [false]);

    const [carol, dave] = await Promise.all([makeSide(relay.url, 'carol'), makeSide(relay.url, 'dave')]);
    const next = await openPair(carol, dave, relay.url);
    const wrong = people({ host: ['000-000'] });
    const [carolEnd, daveEnd] = await Promise.all([run(carol, next.hostId, wrong.host, []), run(dave, next.guestId, wrong.guest, [])]);
    // 000-000 is the SAS one time in a million; then this pairing just succeeds.
    if (carolEnd.state === 'aborted') {
      assert.equal(carolEnd.abortCode, 'sas_mismatch');
      assert.deepEqual([daveEnd.abortCode, daveEnd.abortReason], ['peer_aborted', 'sas mismatch']);
    }
  });

  it('ends a side whose finalize fails (no identity) and tells the peer why, at once', async () => {
    const [host, guest] = await Promise.all([makeSide(relay.url, 'alice'), makeSide(relay.url, 'bob')]);
    const ids = await openPair(host, guest, relay.url);
    // Bob's identity goes missing (a deleted home) before the cards are exchanged.
    for (const key of Object.values(IDENTITY_KEYS)) {
      await guest.vault.delete(key);
      await guest.memory.delete(key);
    }
    const person = people();
    const guestEvents: PairingEvent[] = [];
    const [hostEnd, guestEnd] = await Promise.all([
      run(host, ids.hostId, person.host, []),
      runPairing(ids.guestId, { store: guest.store, clock: guest.clock, confirm: person.guest, onEvent: (event) => guestEvents.push(event) }),
    ]);
    assert.deepEqual([guestEnd.state, guestEnd.abortCode], ['aborted', 'identity_missing']);
    assert.deepEqual([hostEnd.state, hostEnd.abortCode], ['aborted', 'peer_aborted']);
    // The reason the peer reads starts with the failure's code.
    assert.equal(hostEnd.abortReason?.split(': ')[0], 'identity_missing');
    const ended = guestEvents.at(-1);
    assert.ok(ended?.type === 'ended');
    assert.equal(ended.code, 'identity_missing');
  });

  it('shows relay trouble while both people are asked, and withdraws the question once the pairing expires', { timeout: 20_000 }, async () => {
    const relayProcess = await runRelayMain(['--port', '0'], pids);
    const [host, guest] = await Promise.all([makeSide(relayProcess.url, 'alice'), makeSide(relayProcess.url, 'bob')]);
    const ids = await openPair(host, guest, relayProcess.url);
    const withdrawn: boolean[] = [];
    let asked = 0;
    const nobody: ConfirmPort = {
      askForDigits: (request) =>
        new Promise<string>((_resolve, reject) => {
          asked++;
          request.signal.addEventListener('abort', () => {
            withdrawn.push(true);
            reject(new Error('withdrawn'));
          });
        }),
    };
    const events: PairingEvent[] = [];
    const hostRun = runPairing(ids.hostId, { store: host.store, clock: host.clock, confirm: nobody, onEvent: (event) => events.push(event), timing: { retryFirstMs: 50, retryCapMs: 200 } });
    const guestRun = runPairing(ids.guestId, { store: guest.store, clock: guest.clock, confirm: nobody, onEvent: () => undefined, timing: { retryFirstMs: 50, retryCapMs: 200 } });
    // Both people asked before the relay goes (the host's sasReady alone left the guest sometimes never asked).
    await until('both people asked', () => asked === 2);
    relayProcess.child.kill('SIGKILL');
    await until('relayTrouble', () => events.some((event) => event.type === 'relayTrouble'));
    const trouble = events.find((event) => event.type === 'relayTrouble');
    assert.equal(trouble?.type === 'relayTrouble' ? trouble.code : '', 'relay_unreachable');
    assert.equal(events.filter((event) => event.type === 'relayTrouble' && event.attempt === 1).length, 1, 'one outage');
    // The relay does not come back; the pairing's ten minutes run out.
    host.clock.offsetMs = guest.clock.offsetMs = 601_000;
    const [hostEnd, guestEnd] = await Promise.all([hostRun, guestRun]);
    assert.deepEqual([hostEnd.abortCode, guestEnd.abortCode], ['expired', 'expired']);
    assert.deepEqual(withdrawn, [true, true]);
  });

  it('aborts with the person\'s reason when the prompt is given up (end of input), and the peer reads it', async () => {
    const [host, guest] = await Promise.all([makeSide(relay.url, 'alice'), makeSide(relay.url, 'bob')]);
    const ids = await openPair(host, guest, relay.url);
    const walkedAway: ConfirmPort = { askForDigits: () => Promise.reject(new PairError('cancelled', 'input ended')) };
    const waiting: ConfirmPort = {
      askForDigits: (request) =>
        new Promise<string>((_resolve, reject) => {
          request.signal.addEventListener('abort', () => {
            reject(new Error('withdrawn'));
          });
        }),
    };
    const [hostEnd, guestEnd] = await Promise.all([run(host, ids.hostId, walkedAway, []), run(guest, ids.guestId, waiting, [])]);
    assert.deepEqual([hostEnd.abortCode, hostEnd.abortReason], ['aborted', CANCELLED_REASON]);
    assert.deepEqual([guestEnd.abortCode, guestEnd.abortReason], ['peer_aborted', CANCELLED_REASON]);
  });
});

describe('PersonQuestions', () => {
  function request(sessionId: string, signal: AbortSignal): DigitsRequest {
    return { sessionId, sas: '594-376', nameplate: '47', expiresAt: 1, again: false, signal };
  }

  it('holds the runner\'s question until someone answers it, and tells listeners', async () => {
    const questions = new PersonQuestions();
    const changes: string[] = [];
    questions.onDidChange((id) => changes.push(id));
    assert.equal(questions.answer('a', '594376'), false, 'nothing asked yet');
    const asked = questions.askForDigits(request('a', new AbortController().signal));
    assert.deepEqual(questions.question('a'), { sessionId: 'a', sas: '594-376', nameplate: '47', expiresAt: 1, again: false });
    assert.equal(questions.answer('a', '594376'), true);
    assert.equal(await asked, '594376');
    assert.equal(questions.question('a'), undefined);
    assert.deepEqual(changes, ['a', 'a']);
  });

  it('withdraws a question when its signal aborts', async () => {
    const questions = new PersonQuestions();
    const withdraw = new AbortController();
    const asked = questions.askForDigits(request('b', withdraw.signal));
    withdraw.abort();
    await assert.rejects(asked, (error: unknown) => error instanceof Error && 'code' in error && error.code === 'cancelled');
    assert.equal(questions.question('b'), undefined);
    assert.equal(questions.answer('b', '594376'), false);
  });
});
