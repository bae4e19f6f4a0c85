// A session that nobody polls (one waiting for the person to type the SAS, or one an agent left)
// would only be marked expired by the store's next operation. This timer sweeps the store just
// after the earliest session in flight runs out, so the status bar and the panel say "expired"
// on time. Rescheduled on every change; no timer runs while nothing is in flight.

import type { SessionStore } from '../core/store.js';
import { isInFlight } from './sessionView.js';
import { errorMessage } from '../core/errors.js';

/** A little after the deadline, so the store's own clock agrees it has passed. */
const SWEEP_SLACK_MS = 250;

export function watchExpiry(store: SessionStore, log: (line: string) => void): { dispose(): void } {
  let timer: NodeJS.Timeout | undefined;
  let disposed = false;
  const schedule = (): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (disposed) return;
    const inFlight = store.list().filter(isInFlight);
    if (inFlight.length === 0) return;
    const soonestSeconds = Math.min(...inFlight.map((snapshot) => snapshot.secondsLeft));
    timer = setTimeout(() => {
      timer = undefined;
      store.sweepExpired().catch((error: unknown) => {
        log(`Sweeping expired pairings failed: ${errorMessage(error)}`);
      }).finally(schedule);
    }, soonestSeconds * 1000 + SWEEP_SLACK_MS);
  };
  const unsubscribe = store.onDidChange(schedule);
  schedule();
  return {
    dispose: () => {
      disposed = true;
      unsubscribe();
      if (timer) clearTimeout(timer);
    },
  };
}
