// Watching a pairing while its person is being asked for the SAS digits: the CLI's prompt and
// MCP pair_confirm run this beside their question, so a peer's abort or an expired slot ends
// the question instead of waiting for an answer that can no longer count.

import { setTimeout as sleep } from 'node:timers/promises';
import { type PairError, isRelayTrouble } from '../core/errors.js';
import type { SessionSnapshot } from '../core/session.js';

/** After the relay failed during a watch, the first and the longest pause before watching again. */
export const WATCH_RETRY_MS = { first: 1_000, cap: 15_000 };

/**
 * Runs `watchSlice` (one bounded watch of a `sas_ready` session) again and again until `signal`
 * aborts. Resolves with the snapshot once the session left `sas_ready`, or undefined once
 * `signal` aborted. Relay trouble pauses the watch with backoff (`onTrouble` hears of it) and
 * never ends it, since the person may still answer; any other failure ends it quietly.
 */
export async function watchWhileAsked(
  watchSlice: () => Promise<SessionSnapshot>,
  signal: AbortSignal,
  onTrouble: (error: PairError, retryMs: number) => void = () => undefined,
): Promise<SessionSnapshot | undefined> {
  // A function, not a property read, so the check after an await is not narrowed away.
  const stopped = (): boolean => signal.aborted;
  let retryMs = WATCH_RETRY_MS.first;
  while (!stopped()) {
    try {
      const snapshot = await watchSlice();
      if (snapshot.state !== 'sas_ready') return snapshot;
      retryMs = WATCH_RETRY_MS.first;
    } catch (error) {
      if (stopped() || !isRelayTrouble(error)) return undefined;
      onTrouble(error, retryMs);
      await sleep(retryMs, undefined, { signal }).catch(() => undefined);
      retryMs = Math.min(retryMs * 2, WATCH_RETRY_MS.cap);
    }
  }
  return undefined;
}
