// The background driver through a real relay: two sides, each a real SessionStore, and a
// recording UI standing in for VS Code whose "person" types the digits the other side shows,
// the way the SAS panel hands them to the store.

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isPairError } from '../../src/core/errors.js';
import { MemoryKeyValueStore } from '../../src/core/routedStore.js';
import type { SessionDeps, SessionSnapshot } from '../../src/core/session.js';
import { SessionStore } from '../../src/core/store.js';
import { listPeers } from '../../src/core/trust.js';
import { systemClock, systemRandom } from '../../src/node/system.js';
import { createRelayConnector } from '../../src/relay/client.js';
import { type RunningRelay, startRelay } from '../../src/relay/node.js';
import { type DriveOrigin, PairingDriver, type PairingUi } from '../../src/vscode/pairingDriver.js';
import { makeSide, openPair } from '../helpers/sides.js';

type UiEvent = [kind: keyof PairingUi, state: string, detail?: string | undefined];

/** A PairingUi that records what the person would see and lets a test react to the SAS. */
class RecordingUi implements PairingUi {
  readonly events: UiEvent[] = [];
  onSasReady: (snapshot: SessionSnapshot, reveal: boolean) => void = () => undefined;
  private waiters: (() => void)[] = [];

  sasReady(snapshot: SessionSnapshot, reveal: boolean): void {
    this.record(['sasReady', snapshot.state, reveal ? 'reveal' : 'quiet']);
    this.onSasReady(snapshot, reveal);
  }
  paired(snapshot: SessionSnapshot): void {
    this.record(['paired', snapshot.state, snapshot.peer?.fingerprint]);
  }
  ended(snapshot: SessionSnapshot): void {
    this.record(['ended', snapshot.state, snapshot.abortCode]);
  }
  stopped(snapshot: SessionSnapshot, error: unknown): void {
    this.record(['stopped', snapshot.state, isPairError(error) ? error.code : String(error)]);
  }
  relayTrouble(snapshot: SessionSnapshot): void {
    this.record(['relayTrouble', snapshot.state]);
  }

  /** Resolves once an event of `kind` has been recorded. */
  async next(kind: keyof PairingUi, timeoutMs = 15_000): Promise<UiEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find((event) => event[0] === kind);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no ${kind} within ${timeoutMs} ms; saw ${JSON.stringify(this.events)}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }

  private record(event: UiEvent): void {
    this.events.push(event);
    for (const wake of this.waiters.splice(0)) wake();
  }
}

interface Driven {
  ui: RecordingUi;
  driver: PairingDriver;
  lost: string[];
}

/** Resolves once the driver has let go of the session (its loop ended). */
async function stopsDriving(driver: PairingDriver, sessionId: string): Promise<void> {
  const deadline = Date.now() + 2_000;
  while (driver.isDriving(sessionId)) {
    if (Date.now() > deadline) throw new Error('the driver still drives the session');
    await sleep(10);
  }
}

/** Every driver a test made, disposed after it so no loop outlives its test. */
const drivers: PairingDriver[] = [];

function driverFor(store: SessionStore, options: { retryMs?: { first: number; cap: number }; sliceMs?: number } = {}): Driven {
  const ui = new RecordingUi();
  const lost: string[] = [];
  const driver = new PairingDriver({
    store,
    ui,
    clock: systemClock,
    log: () => undefined,
    relayLost: (url) => {
      lost.push(url);
      return Promise.resolve();
    },
    sliceMs: 2_000,
    ...options,
  });
  drivers.push(driver);
  return { ui, driver, lost };
}

/**
 * The person at `side`: reads out their SAS when it shows, and once the other person has read
 * out theirs, types those digits and hands over to the driver, as the SAS panel does.
 */
function personTypesPeerSas(driven: Driven, store: SessionStore, readOut: Map<SessionStore, string>, peer: SessionStore): void {
  driven.ui.onSasReady = (snapshot) => {
    readOut.set(store, store.sasForPerson(snapshot.sessionId));
    void (async () => {
      while (!readOut.has(peer)) await sleep(20);
      await store.confirmSas(snapshot.sessionId, readOut.get(peer) ?? '');
      driven.driver.drive(snapshot.sessionId, 'started');
    })();
  };
}

describe('PairingDriver', () => {
  let relay: RunningRelay;
  before(async () => {
    relay = await startRelay({ port: 0, limits: { opensPerIpPerMinute: 10_000 } });
  });
  afterEach(() => {
    for (const driver of drivers.splice(0)) driver.dispose();
  });
  after(async () => {
    await relay.close();
  });

  it('drives a pairing from open to pinned on both sides; the person only types the SAS', async () => {
    const host = await makeSide(relay.url, 'alice');
    const guest = await makeSide(relay.url, 'bob');
    const hostDriven = driverFor(host.store);
    const guestDriven = driverFor(guest.store);
    const readOut = new Map<SessionStore, string>();
    personTypesPeerSas(hostDriven, host.store, readOut, guest.store);
    personTypesPeerSas(guestDriven, guest.store, readOut, host.store);

    const ids = await openPair(host, guest, relay.url);
    hostDriven.driver.drive(ids.hostId, 'started');
    guestDriven.driver.drive(ids.guestId, 'started');
    hostDriven.driver.drive(ids.hostId, 'started'); // a second call while driving changes nothing

    assert.deepEqual(await hostDriven.ui.next('paired'), ['paired', 'finalized', guest.fingerprint]);
    assert.deepEqual(await guestDriven.ui.next('paired'), ['paired', 'finalized', host.fingerprint]);
    assert.deepEqual(hostDriven.ui.events.map((event) => event[0]), ['sasReady', 'paired']);
    assert.deepEqual(hostDriven.ui.events[0], ['sasReady', 'sas_ready', 'reveal']);
    assert.deepEqual((await listPeers(host.deps)).map((peer) => peer.handle), ['bob']);
    assert.deepEqual((await listPeers(guest.deps)).map((peer) => peer.handle), ['alice']);
    await stopsDriving(hostDriven.driver, ids.hostId);
  });

  it('reports the end when the other side aborts while it waits', async () => {
    const host = await makeSide(relay.url, 'carol');
    const guest = await makeSide(relay.url, 'dave');
    const driven = driverFor(host.store);
    const ids = await openPair(host, guest, relay.url);
    driven.driver.drive(ids.hostId, 'started');
    await guest.store.abort(ids.guestId, 'wrong person');
    assert.deepEqual(await driven.ui.next('ended'), ['ended', 'aborted', 'peer_aborted']);
    assert.equal(host.store.status(ids.hostId).abortReason, 'peer aborted: wrong person');
  });

  it('tells the person at once when the other person types wrong digits while the SAS is shown', async () => {
    const host = await makeSide(relay.url, 'ivan');
    const guest = await makeSide(relay.url, 'judy');
    const driven = driverFor(host.store);
    const ids = await openPair(host, guest, relay.url);
    driven.driver.drive(ids.hostId, 'started');
    await guest.store.waitForSas(ids.guestId, 10_000);
    await driven.ui.next('sasReady');
    // The driver keeps watching the relay while the person compares the SAS.
    assert.ok(driven.driver.isDriving(ids.hostId));
    const sas = guest.store.sasForPerson(ids.guestId).replace(/\D/g, '');
    await assert.rejects(guest.store.confirmSas(ids.guestId, sas.slice(0, 5) + String((Number(sas[5]) + 1) % 10)), (error) => isPairError(error, 'sas_mismatch'));

    assert.deepEqual(await driven.ui.next('ended'), ['ended', 'aborted', 'peer_aborted']);
    assert.deepEqual(driven.ui.events.map((event) => event[0]), ['sasReady', 'ended'], 'the SAS was announced once, then the end');
    assert.equal(host.store.status(ids.hostId).abortReason, 'peer aborted: sas mismatch');
    await stopsDriving(driven.driver, ids.hostId);
  });

  it('finalizes straight from the watch when the person confirms the SAS while it is driven', async () => {
    const host = await makeSide(relay.url, 'kim');
    const guest = await makeSide(relay.url, 'lee');
    const driven = driverFor(host.store);
    const ids = await openPair(host, guest, relay.url);
    driven.driver.drive(ids.hostId, 'started');
    await guest.store.waitForSas(ids.guestId, 10_000);
    await driven.ui.next('sasReady');
    const sas = guest.store.sasForPerson(ids.guestId);
    // The panel confirms with the store; nobody calls drive again.
    await host.store.confirmSas(ids.hostId, sas);
    await guest.store.confirmSas(ids.guestId, sas);
    const guestDone = guest.store.finalize(ids.guestId, 10_000);
    assert.deepEqual(await driven.ui.next('paired', 5_000), ['paired', 'finalized', guest.fingerprint]);
    assert.equal((await guestDone).state, 'finalized');
    assert.deepEqual(driven.ui.events.map((event) => event[0]), ['sasReady', 'paired']);
    await stopsDriving(driven.driver, ids.hostId);
  });

  it('finalizes a session it was not driving once the person confirms (one an agent opened)', async () => {
    const host = await makeSide(relay.url, 'mia');
    const guest = await makeSide(relay.url, 'ned');
    const driven = driverFor(host.store);
    const ids = await openPair(host, guest, relay.url);
    await Promise.all([host.store.waitForSas(ids.hostId, 10_000), guest.store.waitForSas(ids.guestId, 10_000)]);
    const sas = host.store.sasForPerson(ids.hostId);
    await host.store.confirmSas(ids.hostId, sas);
    assert.ok(!driven.driver.isDriving(ids.hostId));
    driven.driver.drive(ids.hostId, 'started'); // what the SAS panel's onPersonConfirmed does
    await guest.store.confirmSas(ids.guestId, sas);
    const guestDone = guest.store.finalize(ids.guestId, 10_000);
    assert.deepEqual(await driven.ui.next('paired'), ['paired', 'finalized', guest.fingerprint]);
    assert.equal((await guestDone).state, 'finalized');
  });

  it('takes over a session an agent opened once it waits for its person: no panel, the peer\'s abort reaches the person', async () => {
    const host = await makeSide(relay.url, 'quinn');
    const guest = await makeSide(relay.url, 'rosa');
    const driven = driverFor(host.store);
    const stopWatching = driven.driver.watchWaiting();
    try {
      const ids = await openPair(host, guest, relay.url);
      // The agent's own calls (pair_host, then polls) reach sas_ready; nobody calls drive.
      assert.ok(!driven.driver.isDriving(ids.hostId));
      await Promise.all([host.store.waitForSas(ids.hostId, 10_000), guest.store.waitForSas(ids.guestId, 10_000)]);
      assert.deepEqual(await driven.ui.next('sasReady'), ['sasReady', 'sas_ready', 'quiet']);
      assert.ok(driven.driver.isDriving(ids.hostId));
      await guest.store.abort(ids.guestId, 'wrong person');
      assert.deepEqual(await driven.ui.next('ended'), ['ended', 'aborted', 'peer_aborted']);
      await stopsDriving(driven.driver, ids.hostId);
    } finally {
      stopWatching();
    }
  });

  it('takes over a session that already waits for its person when it starts watching, and finalizes it once confirmed', async () => {
    const host = await makeSide(relay.url, 'sam');
    const guest = await makeSide(relay.url, 'tia');
    const driven = driverFor(host.store);
    const ids = await openPair(host, guest, relay.url);
    await Promise.all([host.store.waitForSas(ids.hostId, 10_000), guest.store.waitForSas(ids.guestId, 10_000)]);
    const stopWatching = driven.driver.watchWaiting();
    try {
      assert.ok(driven.driver.isDriving(ids.hostId));
      const sas = host.store.sasForPerson(ids.hostId);
      await Promise.all([host.store.confirmSas(ids.hostId, sas), guest.store.confirmSas(ids.guestId, sas)]);
      const guestDone = guest.store.finalize(ids.guestId, 10_000);
      assert.deepEqual(await driven.ui.next('paired'), ['paired', 'finalized', guest.fingerprint]);
      assert.equal((await guestDone).state, 'finalized');
    } finally {
      stopWatching();
    }
  });

  it('lets go of its watch at once when disposed', { timeout: 8_000 }, async () => {
    const host = await makeSide(relay.url, 'olga');
    const guest = await makeSide(relay.url, 'pete');
    const driven = driverFor(host.store, { sliceMs: 20_000 });
    const ids = await openPair(host, guest, relay.url);
    driven.driver.drive(ids.hostId, 'started');
    await guest.store.waitForSas(ids.guestId, 10_000);
    await driven.ui.next('sasReady');
    driven.driver.dispose();
    await stopsDriving(driven.driver, ids.hostId);
    assert.equal(host.store.status(ids.hostId).state, 'sas_ready');
    await Promise.all([host.store.abort(ids.hostId, 'done'), guest.store.abort(ids.guestId, 'done')]);
  });

  it('waits quietly for a session restored in sas_ready, then finishes it after the person confirms', async () => {
    const host = await makeSide(relay.url, 'erin');
    const guest = await makeSide(relay.url, 'frank');
    const ids = await openPair(host, guest, relay.url);
    await Promise.all([host.store.waitForSas(ids.hostId, 10_000), guest.store.waitForSas(ids.guestId, 10_000)]);

    // The host's window reloads: a new store over the same storage.
    const reloaded = new SessionStore(host.deps);
    const { restored } = await reloaded.restore();
    assert.deepEqual(restored.map((snapshot) => snapshot.state), ['sas_ready']);
    const hostDriven = driverFor(reloaded);
    const guestDriven = driverFor(guest.store);
    // The host person already read out their SAS before the reload.
    const readOut = new Map<SessionStore, string>([[reloaded, reloaded.sasForPerson(ids.hostId)]]);
    personTypesPeerSas(guestDriven, guest.store, readOut, reloaded);
    hostDriven.driver.drive(ids.hostId, 'restored' satisfies DriveOrigin);
    guestDriven.driver.drive(ids.guestId, 'started');

    assert.deepEqual(await hostDriven.ui.next('sasReady'), ['sasReady', 'sas_ready', 'quiet']);
    // Later the person opens the panel from the status bar and types the guest's digits.
    while (!readOut.has(guest.store)) await sleep(20);
    await reloaded.confirmSas(ids.hostId, readOut.get(guest.store) ?? '');
    hostDriven.driver.drive(ids.hostId, 'started');
    assert.deepEqual(await hostDriven.ui.next('paired'), ['paired', 'finalized', guest.fingerprint]);
    assert.deepEqual(await guestDriven.ui.next('paired'), ['paired', 'finalized', host.fingerprint]);
  });

  it('keeps retrying through a relay outage, says so once, and offers to restore the relay', async () => {
    const ownRelay = await startRelay({ port: 0 });
    const deps: SessionDeps = { vault: new MemoryKeyValueStore(), memory: new MemoryKeyValueStore(), clock: systemClock, random: systemRandom, relays: createRelayConnector({ retries: 0, timeoutMs: 2_000 }) };
    const store = new SessionStore(deps);
    const driven = driverFor(store, { retryMs: { first: 20, cap: 40 } });
    const opened = await store.open('host', ownRelay.url);
    driven.driver.drive(opened.sessionId, 'started');
    await ownRelay.close();

    await driven.ui.next('relayTrouble');
    while (driven.lost.length < 3) await sleep(20);
    assert.ok(driven.lost.every((url) => url === ownRelay.url));
    assert.equal(driven.ui.events.filter((event) => event[0] === 'relayTrouble').length, 1);
    assert.ok(driven.driver.isDriving(opened.sessionId));

    // The person gives up; the loop notices at its next turn.
    await store.abort(opened.sessionId, 'relay is down');
    assert.deepEqual(await driven.ui.next('ended'), ['ended', 'aborted', 'aborted']);
  });

  it('stops, and says why, when finalizing needs something only the person can fix', async () => {
    // A host without an identity: finalize cannot seal a card.
    const deps: SessionDeps = { vault: new MemoryKeyValueStore(), memory: new MemoryKeyValueStore(), clock: systemClock, random: systemRandom, relays: createRelayConnector() };
    const host = { store: new SessionStore(deps) };
    const guest = await makeSide(relay.url, 'grace');
    const hostDriven = driverFor(host.store);
    const opened = await host.store.open('host', relay.url);
    const joined = await guest.store.open('guest', relay.url, opened.code);
    const guestSas = guest.store.waitForSas(joined.sessionId, 10_000).then(() => guest.store.sasForPerson(joined.sessionId));
    hostDriven.ui.onSasReady = (snapshot) => {
      void guestSas.then(async (readOut) => {
        await host.store.confirmSas(snapshot.sessionId, readOut);
        hostDriven.driver.drive(snapshot.sessionId, 'started');
      });
    };
    hostDriven.driver.drive(opened.sessionId, 'started');
    assert.deepEqual(await hostDriven.ui.next('stopped'), ['stopped', 'confirmed', 'identity_missing']);
    await stopsDriving(hostDriven.driver, opened.sessionId);
    await sleep(300);
    assert.equal(hostDriven.ui.events.length, 2, 'nothing happens after it stopped');
    await host.store.abort(opened.sessionId, 'no identity');
  });

  it('does nothing once disposed', async () => {
    const side = await makeSide(relay.url, 'heidi');
    const driven = driverFor(side.store);
    const opened = await side.store.open('host', relay.url);
    driven.driver.dispose();
    driven.driver.drive(opened.sessionId, 'started');
    assert.ok(!driven.driver.isDriving(opened.sessionId));
    await side.store.abort(opened.sessionId, 'done');
  });
});
