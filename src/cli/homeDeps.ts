// What a command that uses a home gets: its stores, its mail lock, the clock and randomness, and
// its relays (the local relay started when needed). Loaded by run.ts for those commands only.

import type { MessagingDeps } from '../core/inbox.js';
import { openHomeStores } from '../node/fileStore.js';
import { homeMailLock } from '../node/mailLock.js';
import { systemClock, systemRandom } from '../node/system.js';
import { homeRelayConnector } from './homeRelays.js';

export function homeDeps(home: string): MessagingDeps {
  const { vault, memory } = openHomeStores(home);
  return { vault, memory, mailLock: homeMailLock(home), random: systemRandom, clock: systemClock, relays: homeRelayConnector() };
}
