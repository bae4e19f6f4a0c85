// Runs the pairings a person started from VS Code (or that a reload left in flight) in the
// background, so commands return at once: polls while the key exchange runs, hands over to the
// person when the SAS is ready (announced once per run), and while they compare it keeps
// watching the relay, so a peer's abort or an expired slot reaches the person at once instead
// of after they type. Their confirmation in the panel wakes that watch, and the same loop goes
// on to finalize and announce the peer. Sessions an agent opened over MCP are the agent's to
// drive through the key exchange; once one waits for its person (`watchWaiting`), it is driven
// here too, without opening the panel (the agent's pair_confirm does that), so a peer's abort
// reaches the person and their confirmation finalizes it even if the agent stopped calling.
// `drive` starts a loop for a session not driven yet, and leaves a session already driven to
// its loop.
//
// No `vscode` import: the UI is a small interface, so a whole pairing through a real relay is
// tested with a recording fake.

import { setMaxListeners } from 'node:events';
import { isPairError, isRelayTrouble } from '../core/errors.js';
import type { Clock } from '../core/ports.js';
import type { SessionSnapshot } from '../core/session.js';
import type { SessionStore } from '../core/store.js';

/** What the person sees of a driven pairing. */
export interface PairingUi {
  /** The SAS is ready. `reveal`: open the panel now; otherwise the status bar says it waits. */
  sasReady(snapshot: SessionSnapshot, reveal: boolean): void;
  paired(snapshot: SessionSnapshot): void;
  ended(snapshot: SessionSnapshot): void;
  /** Driving stopped on an error the person must act on (a missing identity, storage). */
  stopped(snapshot: SessionSnapshot, error: unknown): void;
  /** The relay stopped answering; driving goes on, retrying. Said once per outage. */
  relayTrouble(snapshot: SessionSnapshot, error: unknown): void;
}

export interface PairingDriverOptions {
  store: SessionStore;
  ui: PairingUi;
  clock: Clock;
  log: (line: string) => void;
  /** A session's relay does not answer: gives the caller a chance to restart the local relay. */
  relayLost: (relayUrl: string) => Promise<void>;
  /** The longest single wait; short enough to notice disposal, long enough to be cheap. */
  sliceMs?: number;
  /** Retry delays after the relay failed, doubling from the first up to the cap. */
  retryMs?: { first: number; cap: number };
}

/**
 * How a session came to be driven. `started`: the person started it here, so the SAS panel
 * opens when the SAS is ready. `restored`: a reload left it in flight; one restored in
 * `sas_ready` waits quietly (the status bar says so). `agent`: an agent opened it over MCP and
 * asks the person itself, so the panel never opens by itself.
 */
export type DriveOrigin = 'started' | 'restored' | 'agent';

const DEFAULT_SLICE_MS = 20_000;
const DEFAULT_RETRY_MS = { first: 1_000, cap: 15_000 };

export class PairingDriver {
  private readonly driving = new Set<string>();
  private disposed = false;
  /** Aborted on dispose: wakes the loops watching a session in `sas_ready`. */
  private readonly stop = new AbortController();
  private readonly sliceMs: number;
  private readonly retryMs: { first: number; cap: number };

  constructor(private readonly options: PairingDriverOptions) {
    this.sliceMs = options.sliceMs ?? DEFAULT_SLICE_MS;
    this.retryMs = options.retryMs ?? DEFAULT_RETRY_MS;
    // Every session waiting for its person listens on it; that is not a leak.
    setMaxListeners(0, this.stop.signal);
  }

  /** Starts driving a session in the background; a session already driven is left as it is. */
  drive(sessionId: string, origin: DriveOrigin): void {
    if (this.disposed || this.driving.has(sessionId)) return;
    this.driving.add(sessionId);
    void this.run(sessionId, origin)
      .catch((error: unknown) => {
        this.options.log(`Pairing ${sessionId}: driving failed: ${describe(error)}`);
      })
      .finally(() => this.driving.delete(sessionId));
  }

  isDriving(sessionId: string): boolean {
    return this.driving.has(sessionId);
  }

  /**
   * From now on drives every session of the store that waits for its person and is not driven
   * yet (one an agent opened), as `agent`. Returns the unsubscribe.
   */
  watchWaiting(): () => void {
    const adopt = (): void => {
      for (const snapshot of this.options.store.list()) {
        if (snapshot.state === 'sas_ready' && !this.driving.has(snapshot.sessionId)) this.drive(snapshot.sessionId, 'agent');
      }
    };
    adopt();
    return this.options.store.onDidChange(adopt);
  }

  /** Stops every loop: a watch in progress is woken, any other long poll runs out on its own. */
  dispose(): void {
    this.disposed = true;
    this.stop.abort();
  }

  private async run(id: string, origin: DriveOrigin): Promise<void> {
    const { store, ui } = this.options;
    let first = true;
    let announced = false;
    let retryMs = this.retryMs.first;
    let troubleSaid = false;
    while (!this.disposed) {
      const snapshot = this.current(id);
      if (!snapshot) return;
      try {
        switch (snapshot.state) {
          case 'opened':
            await store.waitForSas(id, this.sliceMs);
            break;
          case 'sas_ready':
            // Announced once per run; a session restored in sas_ready waits quietly (the status
            // bar says so). Then watch the relay until the person confirms (which wakes the
            // watch) or the session ends, and take the next turn from there.
            if (!announced) ui.sasReady(snapshot, origin === 'started' || (origin === 'restored' && !first));
            announced = true;
            await store.watchPeer(id, this.sliceMs, this.stop.signal);
            break;
          case 'confirmed':
            await store.finalize(id, this.sliceMs);
            break;
          case 'finalized':
            ui.paired(snapshot);
            return;
          case 'aborted':
            ui.ended(snapshot);
            return;
        }
        retryMs = this.retryMs.first;
        troubleSaid = false;
      } catch (error) {
        const now = this.current(id);
        // Disposed meanwhile (the window goes): never restart a relay on the way out.
        if (!now || this.stop.signal.aborted) return;
        // An abort or expiry surfaces as an error from finalize; the next turn reports the end.
        if (now.state === 'aborted' || now.state === 'finalized' || isPairError(error, 'timeout')) continue;
        if (!isRelayTrouble(error)) {
          ui.stopped(now, error);
          return;
        }
        this.options.log(`Pairing ${now.nameplate}: the relay ${now.relayUrl} failed (${describe(error)}); retrying in ${retryMs / 1000} s.`);
        if (!troubleSaid) ui.relayTrouble(now, error);
        troubleSaid = true;
        await this.options.relayLost(now.relayUrl).catch((lost: unknown) => {
          this.options.log(`Could not restore the relay ${now.relayUrl}: ${describe(lost)}`);
        });
        await this.options.clock.sleep(retryMs);
        retryMs = Math.min(retryMs * 2, this.retryMs.cap);
      } finally {
        first = false;
      }
    }
  }

  private current(id: string): SessionSnapshot | undefined {
    try {
      return this.options.store.status(id);
    } catch {
      return undefined; // forgotten by the store (ended long ago): nothing left to drive
    }
  }
}


function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
