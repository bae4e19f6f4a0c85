// The pairing runner: one pairing from open to pinned (or to its end), as one linear flow over
// the store, like magic-wormhole's `Wormhole::connect`:
//
//   wait for the SAS  →  ask the person (watching the relay meanwhile)  →  confirm  →  finalize
//
// Every front end runs its pairings through this and only renders the events and supplies the
// person's answer (a ConfirmPort): the CLI's terminal, the MCP tools, the VS Code panel. Waits,
// retries, backoff and the watch while the person is asked are defined here once. Events carry
// codes and data, never sentences: each adapter words them for its audience.
//
// Failures: relay trouble (down, erring, overloaded) is retried with backoff and announced once
// per outage, until the session's own expiry ends it. Past the key exchange, any other failure
// ends the session with its code and tells the peer (an abort with a reason), so the peer never
// waits out its ten minutes for a finalize that cannot come.

import { type ErrorCode, PairError, isPairError, isRelayTrouble, errorMessage } from './errors.js';
import type { Clock, ConfirmPort, DigitsRequest } from './ports.js';
import { type SessionSnapshot, normaliseSasDigits } from './session.js';
import type { SessionStore } from './store.js';
import { isTerminal, clipAbortReason, CANCELLED_REASON, PERSON_UNREACHABLE_REASON } from './vocabulary.js';
import type { PeerSummary } from './sessionRecord.js';

/** The runner's timing, defined once for every front end. */
export const PAIRING_TIMING = {
  /** The longest single wait (a long poll of the relay, a finalize); short enough to notice a stop. */
  sliceMs: 20_000,
  /** After relay trouble, the first pause before trying again; it doubles up to `retryCapMs`. */
  retryFirstMs: 1_000,
  retryCapMs: 15_000,
};
export type PairingTiming = typeof PAIRING_TIMING;

/** What a front end renders. Each carries the session as it is after the event. */
export type PairingEvent =
  /** Host only: the code phrase to read out. */
  | { type: 'code'; code: string; session: SessionSnapshot }
  /** The SAS waits for the person; `again` when their last answer was not six digits. */
  | { type: 'sasReady'; again: boolean; session: SessionSnapshot }
  /**
   * The relay failed (`code`) since `since` (epoch ms); the next try is in `retryMs`. Emitted
   * before every retry of an outage, `attempt` counting from 1: a front end that speaks once per
   * outage renders attempt 1, one that reports state keeps the latest.
   */
  | { type: 'relayTrouble'; code: ErrorCode; retryMs: number; since: number; attempt: number; session: SessionSnapshot }
  /** The relay answers again after trouble. */
  | { type: 'relayBack'; session: SessionSnapshot }
  /** The person's digits matched; identity cards are being exchanged. */
  | { type: 'confirmed'; session: SessionSnapshot }
  | { type: 'paired'; peer: PeerSummary; session: SessionSnapshot }
  /** The pairing ended without a peer; `code` says why (`peer_aborted`, `sas_mismatch`, `expired`, ...). */
  | { type: 'ended'; code: ErrorCode; reason: string; session: SessionSnapshot };

export interface PairingRunOptions {
  store: SessionStore;
  clock: Clock;
  /** Where the person's digits come from. Asked once per question, with a signal that withdraws it. */
  confirm: ConfirmPort;
  onEvent: (event: PairingEvent) => void;
  /** Stops driving (the window or process goes); the session stays as it is, to be resumed. */
  signal?: AbortSignal;
  /** Relay trouble at `relayUrl`: a chance to restart a local relay before the retry. */
  relayLost?: (relayUrl: string) => Promise<void>;
  timing?: Partial<PairingTiming>;
}

/**
 * Runs one pairing already in the store (just opened, or restored in any state) to its end.
 * Resolves with the last snapshot: finalized, aborted, or as it was when `signal` stopped it.
 */
export async function runPairing(sessionId: string, options: PairingRunOptions): Promise<SessionSnapshot> {
  return new PairingRun(sessionId, options).run();
}

class PairingRun {
  private readonly timing: PairingTiming;
  private retryMs: number;
  /** The current outage: when it began and how many retries it has had. */
  private trouble: { since: number; attempts: number } | undefined;

  constructor(
    private readonly id: string,
    private readonly options: PairingRunOptions,
  ) {
    this.timing = { ...PAIRING_TIMING, ...options.timing };
    this.retryMs = this.timing.retryFirstMs;
  }

  /** The session as it is now (a method, so checks after an await are not narrowed away). */
  private get session(): SessionSnapshot {
    return this.options.store.status(this.id);
  }

  private stateNow(): SessionSnapshot['state'] {
    return this.options.store.status(this.id).state;
  }

  private get stopped(): boolean {
    return this.options.signal?.aborted === true;
  }

  async run(): Promise<SessionSnapshot> {
    const { store } = this.options;
    const opened = this.session;
    if (opened.code !== undefined && !opened.peerJoined) this.emit({ type: 'code', code: opened.code, session: opened });

    // 1. The key exchange: commit, reveal, confirm MACs, until the SAS is ready.
    await this.whileIn('opened', () => store.waitForSas(this.id, this.timing.sliceMs, this.options.signal));
    // 2. The person compares the SAS and types the peer's digits; the relay is watched meanwhile.
    if (this.session.state === 'sas_ready' && !this.stopped) await this.askThePerson();
    // 3. Identity cards, sealed under the key; the peer is pinned.
    if (this.session.state === 'confirmed' && !this.stopped) {
      this.emit({ type: 'confirmed', session: this.session });
      await this.whileIn('confirmed', () => store.finalize(this.id, this.timing.sliceMs, this.options.signal));
    }
    return this.finish();
  }

  /** Runs `step` while the session stays in `state`, through relay trouble and finalize timeouts. */
  private async whileIn(state: SessionSnapshot['state'], step: () => Promise<unknown>): Promise<void> {
    while (this.session.state === state && !this.stopped) await this.attempt(step);
  }

  /**
   * One attempt at `step`. Relay trouble backs off and returns (the caller tries again); a
   * timeout returns; any other failure past the key exchange ends the session and tells the peer.
   */
  private async attempt(step: () => Promise<unknown>, signal = this.options.signal): Promise<void> {
    try {
      await step();
      this.relayAnswered();
    } catch (error) {
      if (this.stopped || isTerminal(this.session.state)) return;
      if (isPairError(error, 'timeout')) return;
      if (isRelayTrouble(error)) {
        await this.backOff(error, signal);
        return;
      }
      const code: ErrorCode = isPairError(error) ? error.code : 'protocol_violation';
      const detail = errorMessage(error);
      await this.options.store.fail(this.id, code, clipAbortReason(`${code}: ${detail}`));
    }
  }

  private relayAnswered(): void {
    this.retryMs = this.timing.retryFirstMs;
    if (!this.trouble) return;
    this.trouble = undefined;
    this.emit({ type: 'relayBack', session: this.session });
  }

  /** Says so (with the outage's start and this retry's number), then pauses until the retry, or until `signal` aborts. */
  private async backOff(error: PairError, signal: AbortSignal | undefined): Promise<void> {
    const session = this.session;
    this.trouble ??= { since: this.options.clock.now(), attempts: 0 };
    this.trouble.attempts += 1;
    this.emit({ type: 'relayTrouble', code: error.code, retryMs: this.retryMs, since: this.trouble.since, attempt: this.trouble.attempts, session });
    await this.options.relayLost?.(session.relayUrl).catch(() => undefined);
    await this.options.clock.sleep(this.retryMs, signal);
    this.retryMs = Math.min(this.retryMs * 2, this.timing.retryCapMs);
  }

  /**
   * Asks the person until their six digits are checked or the session moves on. Input that is
   * not six digits is asked again; six digits that differ abort. Meanwhile the relay is watched,
   * so a peer's abort or an expired slot withdraws the question at once.
   */
  private async askThePerson(): Promise<void> {
    const { store, confirm } = this.options;
    let again = false;
    while (this.session.state === 'sas_ready' && !this.stopped) {
      this.emit({ type: 'sasReady', again, session: this.session });
      const question = new AbortController();
      const watching = this.watchWhileAsked(question);
      let typed: string;
      try {
        typed = await confirm.askForDigits(this.digitsRequest(again, question.signal));
      } catch (error) {
        if (question.signal.aborted || this.stateNow() !== 'sas_ready') return;
        // The person walked away from the prompt (end of input, a closed window): say so to the peer.
        await store.abort(this.id, isPairError(error, 'cancelled') ? CANCELLED_REASON : PERSON_UNREACHABLE_REASON);
        return;
      } finally {
        question.abort();
        await watching;
      }
      if (this.stateNow() !== 'sas_ready') return;
      if (normaliseSasDigits(typed) === undefined) {
        again = true;
        continue;
      }
      await store.confirmSas(this.id, typed).catch((error: unknown) => {
        if (!isPairError(error, 'sas_mismatch')) throw error;
      });
    }
  }

  private digitsRequest(again: boolean, signal: AbortSignal): DigitsRequest {
    const session = this.session;
    return {
      sessionId: this.id,
      sas: this.options.store.sasForPerson(this.id),
      nameplate: session.nameplate,
      expiresAt: Date.parse(session.expiresAt),
      again,
      signal,
    };
  }

  /** Watches the relay until `question` is withdrawn; withdraws it once the session leaves `sas_ready`. */
  private async watchWhileAsked(question: AbortController): Promise<void> {
    const stop = this.options.signal ? AbortSignal.any([question.signal, this.options.signal]) : question.signal;
    while (!stop.aborted && this.session.state === 'sas_ready') {
      await this.attempt(() => this.options.store.watchPeer(this.id, this.timing.sliceMs, stop), stop);
    }
    if (this.session.state !== 'sas_ready') question.abort();
  }

  private finish(): SessionSnapshot {
    const session = this.session;
    if (session.state === 'finalized' && session.peer) this.emit({ type: 'paired', peer: session.peer, session });
    if (session.state === 'aborted') this.emit({ type: 'ended', code: session.abortCode ?? 'aborted', reason: session.abortReason ?? '', session });
    return session;
  }

  private emit(event: PairingEvent): void {
    this.options.onEvent(event);
  }
}

/**
 * A ConfirmPort for front ends where the person answers somewhere else than where the runner
 * asks: the VS Code panel, an MCP `pair_confirm`, or `agent-pair confirm` handing digits to the
 * MCP server. The runner's question waits here until `answer` (from any of them) or until the
 * runner withdraws it; `question` tells a front end what is being asked now.
 */
export class PersonQuestions implements ConfirmPort {
  private readonly open = new Map<string, { request: DigitsRequest; resolve: (digits: string) => void; reject: (error: PairError) => void }>();
  private readonly listeners = new Set<(sessionId: string) => void>();

  askForDigits(request: DigitsRequest): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      const withdraw = (): void => {
        if (this.open.get(request.sessionId)?.request !== request) return;
        this.open.delete(request.sessionId);
        reject(new PairError('cancelled', 'The question was withdrawn.'));
        this.changed(request.sessionId);
      };
      if (request.signal.aborted) {
        withdraw();
        return;
      }
      this.open.get(request.sessionId)?.reject(new PairError('cancelled', 'A newer question replaced this one.'));
      this.open.set(request.sessionId, { request, resolve, reject });
      request.signal.addEventListener('abort', withdraw, { once: true });
      this.changed(request.sessionId);
    });
  }

  /** The question open for a session, if any (its SAS is for the person's eyes only). */
  question(sessionId: string): Omit<DigitsRequest, 'signal'> | undefined {
    const open = this.open.get(sessionId);
    if (!open) return undefined;
    const { sas, nameplate, expiresAt, again } = open.request;
    return { sessionId, sas, nameplate, expiresAt, again };
  }

  /** Hands the person's digits to the runner. False if no question is open for the session. */
  answer(sessionId: string, digits: string): boolean {
    const open = this.open.get(sessionId);
    if (!open) return false;
    this.open.delete(sessionId);
    open.resolve(digits);
    this.changed(sessionId);
    return true;
  }

  /** Called whenever a question opens, is answered or is withdrawn. Returns the unsubscribe. */
  onDidChange(listener: (sessionId: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(sessionId: string): void {
    for (const listener of this.listeners) listener(sessionId);
  }
}

/** A runner's relay outage, as a front end reports it: the failure, since when, and the next try (epoch ms). */
export interface RelayTroubleState {
  code: ErrorCode;
  since: number;
  nextRetryAt: number;
  /** Retries so far in this outage (1 after the first failure). */
  attempt: number;
}

export interface PairingRunnersOptions {
  store: SessionStore;
  clock: Clock;
  relayLost?: (relayUrl: string) => Promise<void>;
  timing?: Partial<PairingTiming>;
  /** Said when a runner stops on a failure nobody caught (a bug): for the log. */
  log?: (line: string) => void;
}

/**
 * The runners of one process whose person answers elsewhere than where the runner asks (the
 * MCP server, the VS Code window): one runner per session, started once, all asking through
 * one `PersonQuestions`. Front ends listen to the events and answer the questions.
 */
export class PairingRunners {
  readonly questions = new PersonQuestions();
  private readonly running = new Set<string>();
  private readonly listeners = new Set<(event: PairingEvent) => void>();
  private readonly stop = new AbortController();
  /** The relay trouble of each session whose runner is in an outage right now. */
  private readonly troubles = new Map<string, RelayTroubleState>();

  constructor(private readonly options: PairingRunnersOptions) {}

  /** Aborted on dispose; every runner listens on it (an adapter may lift its listener limit). */
  get stopSignal(): AbortSignal {
    return this.stop.signal;
  }

  /** Runs a session of the store to its end, unless a runner already runs it. */
  run(sessionId: string): void {
    if (this.stop.signal.aborted || this.running.has(sessionId)) return;
    this.running.add(sessionId);
    const { store, clock, relayLost, timing } = this.options;
    void runPairing(sessionId, {
      store,
      clock,
      confirm: this.questions,
      signal: this.stop.signal,
      onEvent: (event) => {
        this.noteTrouble(sessionId, event);
        for (const listener of this.listeners) listener(event);
      },
      ...(relayLost && { relayLost }),
      ...(timing && { timing }),
    })
      .catch((error: unknown) => {
        this.options.log?.(`Pairing ${sessionId}: the runner stopped: ${errorMessage(error)}`);
      })
      .finally(() => {
        this.running.delete(sessionId);
        this.troubles.delete(sessionId);
      });
  }

  /** The relay trouble of a session's runner now, or undefined while its relay answers. */
  relayTrouble(sessionId: string): RelayTroubleState | undefined {
    return this.troubles.get(sessionId);
  }

  private noteTrouble(sessionId: string, event: PairingEvent): void {
    if (event.type === 'relayTrouble') {
      this.troubles.set(sessionId, { code: event.code, since: event.since, nextRetryAt: this.options.clock.now() + event.retryMs, attempt: event.attempt });
    } else if (event.type !== 'code' && event.type !== 'sasReady') {
      this.troubles.delete(sessionId); // the relay answered (relayBack, confirmed), or the pairing ended
    }
  }

  isRunning(sessionId: string): boolean {
    return this.running.has(sessionId);
  }

  /** Every event of every runner. Returns the unsubscribe. */
  onEvent(listener: (event: PairingEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Waits until the session's state is no longer `state`, or a new question opens for it, at
   * most `maxWaitMs` (or until `signal` aborts); then returns the session as it is.
   */
  async waitForChange(sessionId: string, state: SessionSnapshot['state'], maxWaitMs: number, signal?: AbortSignal): Promise<SessionSnapshot> {
    const { store } = this.options;
    if (store.status(sessionId).state !== state || maxWaitMs <= 0) return store.status(sessionId);
    const changed = new AbortController();
    const unsubscribeStore = store.onDidChange(() => {
      if (sessionStateOf(store, sessionId) !== state) changed.abort();
    });
    const unsubscribeQuestions = this.questions.onDidChange((id) => {
      if (id === sessionId && this.questions.question(id) !== undefined) changed.abort();
    });
    try {
      await this.options.clock.sleep(maxWaitMs, signal ? AbortSignal.any([signal, changed.signal]) : changed.signal);
    } finally {
      unsubscribeStore();
      unsubscribeQuestions();
    }
    return store.status(sessionId);
  }

  /** Stops every runner (the process or window goes); sessions stay as they are. */
  dispose(): void {
    this.stop.abort();
  }
}

function sessionStateOf(store: SessionStore, sessionId: string): SessionSnapshot['state'] | undefined {
  try {
    return store.status(sessionId).state;
  } catch {
    return undefined;
  }
}
