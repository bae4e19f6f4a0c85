// Test fixtures: one "side" of a pairing is a real SessionStore over in-memory stores, the real
// CSPRNG, an adjustable clock and the real relay client (over HTTP, or in process to a socketless
// relay: helpers/relays.ts). Nothing here fakes the relay.

import { initSelfIdempotent } from '../../src/core/identity.js';
import type { Clock, RelayConnector, RelayPort } from '../../src/core/ports.js';
import { MemoryKeyValueStore } from '../../src/core/routedStore.js';
import type { SessionDeps } from '../../src/core/session.js';
import { SessionStore } from '../../src/core/store.js';
import { systemClock, systemRandom } from '../../src/node/system.js';
import { testRelayConnector } from './relays.js';

/** The real clock, plus an offset a test can move forward to reach a TTL without waiting. */
export class ShiftableClock implements Clock {
  offsetMs = 0;
  now(): number {
    return Date.now() + this.offsetMs;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return systemClock.sleep(ms, signal);
  }
}

/** Counts the calls a side makes to its relay (the calls still go to the real relay). */
export function countingConnector(inner: RelayConnector, counts: Map<string, number>): RelayConnector {
  return (url) => {
    const port = inner(url);
    const count = (name: string): void => {
      counts.set(name, (counts.get(name) ?? 0) + 1);
    };
    const counted: RelayPort = {
      url: port.url,
      openHost: () => (count('openHost'), port.openHost()),
      joinGuest: (nameplate) => (count('joinGuest'), port.joinGuest(nameplate)),
      put: (pairId, token, field, value) => (count(`put:${field}`), port.put(pairId, token, field, value)),
      get: (pairId, token, poll) => (count(poll ? 'get:wait' : 'get'), port.get(pairId, token, poll)),
      allocateSlot: () => (count('allocateSlot'), port.allocateSlot()),
      grant: (slotId, ownerToken) => (count('grant'), port.grant(slotId, ownerToken)),
      revokeGrant: (slotId, ownerToken, grantId) => (count('revokeGrant'), port.revokeGrant(slotId, ownerToken, grantId)),
      postMessage: (slotId, sendToken, envelope) => (count('postMessage'), port.postMessage(slotId, sendToken, envelope)),
      readMessages: (slotId, ownerToken, poll) => (count(poll.waitSeconds ? 'readMessages:wait' : 'readMessages'), port.readMessages(slotId, ownerToken, poll)),
      ackMessages: (slotId, ownerToken, through) => (count('ackMessages'), port.ackMessages(slotId, ownerToken, through)),
    };
    return counted;
  };
}

export interface Side {
  store: SessionStore;
  deps: SessionDeps;
  vault: MemoryKeyValueStore;
  memory: MemoryKeyValueStore;
  clock: ShiftableClock;
  calls: Map<string, number>;
  fingerprint: string;
}

export async function makeSide(relayUrl: string, handle: string, shared?: { vault: MemoryKeyValueStore; memory: MemoryKeyValueStore; clock: ShiftableClock }): Promise<Side> {
  const vault = shared?.vault ?? new MemoryKeyValueStore();
  const memory = shared?.memory ?? new MemoryKeyValueStore();
  const clock = shared?.clock ?? new ShiftableClock();
  const calls = new Map<string, number>();
  const deps: SessionDeps = { vault, memory, clock, random: systemRandom, relays: countingConnector(testRelayConnector(), calls) };
  const { identity } = await initSelfIdempotent(deps, handle, deps.relays(relayUrl));
  return { store: new SessionStore(deps), deps, vault, memory, clock, calls, fingerprint: identity.fingerprint };
}

/** Host opens, guest joins with the host's code; returns both session ids. */
export async function openPair(host: Pick<Side, 'store'>, guest: Pick<Side, 'store'>, relayUrl: string, guestCode?: string): Promise<{ hostId: string; guestId: string; code: string }> {
  const opened = await host.store.open('host', relayUrl);
  const code = opened.code;
  if (code === undefined) throw new Error('host snapshot carries no code');
  const joined = await guest.store.open('guest', relayUrl, guestCode ?? code);
  return { hostId: opened.sessionId, guestId: joined.sessionId, code };
}

/** Waits on both sides at once until each leaves `opened`. */
export async function bothWaitForSas(host: Pick<Side, 'store'>, guest: Pick<Side, 'store'>, ids: { hostId: string; guestId: string }, maxWaitMs = 10_000) {
  return Promise.all([host.store.waitForSas(ids.hostId, maxWaitMs), guest.store.waitForSas(ids.guestId, maxWaitMs)]);
}
