// The sessions of one process, keyed by relay pair_id. Each session has its own lock, so a
// long wait on one pairing never delays another; no lock spans sessions. Every public
// operation first sweeps expired sessions (skipping any that is mid-operation), and every
// change is persisted before the operation returns: the public record to `memory`, the
// secrets to `vault`, so a reloaded window resumes without network I/O.
//
// While a session waits in `sas_ready` for its person, `watchPeer` long-polls the relay so a
// peer's abort or a vanished slot ends it there and then. A watcher holds no lock while it
// polls; whatever moves the session on in this process (the person's confirmation, an abort,
// expiry) wakes every watcher of that session by cancelling its poll.
//
// The process that runs a session is its only writer: nothing here re-reads what another
// process persisted. A restore reads each record back checked field by field.

import { PairError, badInput, isPairError, isRelayTrouble } from './errors.js';
import { AsyncLock } from './lock.js';
import type { Role, SlotView } from './ports.js';
import type { ErrorCode } from './errors.js';
import { PairingSession, type SessionDeps, type SessionSnapshot, openPairing } from './session.js';
import { jsonQuote } from './untrusted.js';
import { isTerminal } from './vocabulary.js';
import { parseSessionRecord, parseSessionSecrets } from './sessionRecord.js';

/** Sessions in flight at once in one store; more is refused with a clear error. */
export const MAX_OPEN_SESSIONS = 100;
/** How long an ended session stays listable (so a person can see why it ended). */
export const ENDED_RETENTION_MS = 10 * 60_000;
/** The longest single wait a caller may ask for (`wait_for_sas`, `finalize`). */
export const MAX_WAIT_MS = 10 * 60_000;

const INDEX_KEY = 'sessions.index';
/** Every key the store writes starts with `session`; adapters route these apart from identity keys. */
export const SESSION_KEY_PREFIX = 'session';
const recordKey = (id: string): string => `session.${id}`;
const secretsKey = (id: string): string => `session.${id}.secrets`;
const PAIR_ID = /^[0-9a-f]{32}$/;

interface Entry {
  session: PairingSession;
  lock: AsyncLock;
  /** One per wait in progress, each with what it waits for; woken once that happened here. */
  waiters: Set<Waiter>;
}

interface Waiter {
  wake: AbortController;
  done: (session: PairingSession) => boolean;
}

function newEntry(session: PairingSession): Entry {
  return { session, lock: new AsyncLock(), waiters: new Set() };
}

export interface RestoreResult {
  restored: SessionSnapshot[];
  /** Persisted sessions that could not be rebuilt (missing or corrupt records); they were cleared. */
  dropped: string[];
}

export class SessionStore {
  private readonly entries = new Map<string, Entry>();
  private readonly listeners = new Set<() => void>();
  /** Serialises writes of the persisted index only; never held across a session operation. */
  private readonly indexLock = new AsyncLock();

  constructor(private readonly deps: SessionDeps) {}

  /** Called whenever any session changes, appears or goes. */
  onDidChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Rebuilds every persisted session, without network I/O: those in flight, and those that
   * ended less than ENDED_RETENTION_MS ago (so a later process can tell how they ended).
   * `mayRun`: false for a session another live process runs (it is its only writer), left alone.
   */
  async restore(mayRun: (sessionId: string) => boolean = () => true): Promise<RestoreResult> {
    const ids = await this.readIndex();
    const result: RestoreResult = { restored: [], dropped: [] };
    for (const id of ids) {
      if (this.entries.has(id) || !mayRun(id)) continue;
      let session: PairingSession | undefined;
      try {
        const record = parseSessionRecord(parseJson(await this.deps.memory.get(recordKey(id))), id);
        const secrets = parseSessionSecrets(parseJson(await this.deps.vault.get(secretsKey(id))));
        // An ended session keeps its record only: its secrets went when it ended.
        const ended = record !== undefined && isTerminal(record.state);
        if (record && (secrets || ended)) session = new PairingSession(this.deps, record, ended ? undefined : secrets);
      } catch {
        session = undefined; // a corrupt record cannot be resumed; it is cleared below
      }
      if (!session) {
        result.dropped.push(id);
        await this.clearPersisted(id);
        continue;
      }
      const entry = newEntry(session);
      this.entries.set(id, entry);
      await this.expireIfDue(entry);
      result.restored.push(session.snapshot());
    }
    this.emit();
    return result;
  }

  async open(role: Role, relayUrl: string, code?: string): Promise<SessionSnapshot> {
    const given: unknown = role; // adapters pass what callers sent; check it at run time too
    if (given !== 'host' && given !== 'guest') throw badInput('role', `is ${JSON.stringify(given)}`, '"host" or "guest"');
    await this.sweepExpired();
    const inFlight = [...this.entries.values()].filter((entry) => !entry.session.isEnded).length;
    if (inFlight >= MAX_OPEN_SESSIONS) {
      throw new PairError('bad_input', `There are already ${inFlight} pairings in flight (at most ${MAX_OPEN_SESSIONS}). Finish or abort some first.`);
    }
    const session = await openPairing(this.deps, role, relayUrl, code);
    const entry = newEntry(session);
    this.entries.set(session.id, entry);
    await entry.lock.run(async () => {
      await this.persist(entry);
      // The commitment can go out at once; if the relay hiccups, the next poll sends it.
      await this.stepQuietly(entry);
    });
    this.emit();
    return session.snapshot();
  }

  /**
   * Polls until `sas_ready` or the end, or until `maxWaitMs` passes or `signal` aborts (then
   * returns the state as it is).
   */
  async waitForSas(id: string, maxWaitMs: number, signal?: AbortSignal): Promise<SessionSnapshot> {
    const entry = await this.entry(id);
    if (entry.session.state === 'opened') await this.drive(entry, checkWait(maxWaitMs), (session) => session.state !== 'opened', signal);
    return entry.session.snapshot();
  }

  /**
   * While the session is `sas_ready`, long-polls the relay so that a peer's abort or a vanished
   * slot ends it (persisted and announced like any step). Returns as soon as the state leaves
   * `sas_ready`, for any reason: this side's confirmation or abort, or expiry wake it at once.
   * After `maxWaitMs`, or once `signal` aborts, it returns the state as it is. In any other
   * state it returns at once, without network I/O.
   */
  async watchPeer(id: string, maxWaitMs: number, signal?: AbortSignal): Promise<SessionSnapshot> {
    const entry = await this.entry(id);
    const wait = checkWait(maxWaitMs);
    if (entry.session.state !== 'sas_ready' || wait === 0 || signal?.aborted === true) return entry.session.snapshot();
    await this.drive(entry, wait, (session) => session.state !== 'sas_ready', signal);
    return entry.session.snapshot();
  }

  /**
   * The person's typed digits. Six digits that differ abort the pairing for good; anything that
   * is not six digits is refused (`bad_input`) and changes nothing, so the person is asked again.
   */
  async confirmSas(id: string, typed: string): Promise<SessionSnapshot> {
    const entry = await this.entry(id);
    await this.locked(entry, () => entry.session.confirmSas(typed));
    return entry.session.snapshot();
  }

  /**
   * Exchanges bootstraps and pins the peer, waiting at most `timeoutMs` for the other side.
   * A timeout leaves the session confirmed; calling again resumes where it stopped.
   */
  async finalize(id: string, timeoutMs: number, signal?: AbortSignal): Promise<SessionSnapshot> {
    const entry = await this.entry(id);
    const wait = checkWait(timeoutMs);
    const state = entry.session.state;
    if (state === 'finalized') return entry.session.snapshot();
    if (state === 'aborted') {
      const snapshot = entry.session.snapshot();
      // The reason may be the peer's own words: quoted, never part of this side's sentence.
      throw new PairError('aborted', `This pairing has ended (reason ${jsonQuote(snapshot.abortReason ?? 'aborted')}). Start a new pairing.`);
    }
    if (state !== 'confirmed') {
      throw new PairError('invalid_state', state === 'sas_ready'
        ? 'The person has not confirmed the SAS yet; only they can, by typing the digits the other person reads out.'
        : 'The key exchange has not finished yet; poll until the SAS is ready and the person has confirmed it.');
    }
    await this.drive(entry, wait, (session) => session.state !== 'confirmed', signal);
    const snapshot = entry.session.snapshot();
    if (snapshot.state === 'confirmed') {
      throw new PairError('timeout', `The other side has not finished yet (they may still be confirming the SAS). Finalize again to keep waiting; the pairing stays open for ${snapshot.secondsLeft} more seconds.`);
    }
    if (snapshot.state === 'aborted') {
      throw new PairError(snapshot.abortCode ?? 'aborted', `The pairing was aborted (reason ${jsonQuote(snapshot.abortReason ?? 'unknown')}).`);
    }
    return snapshot;
  }

  async abort(id: string, reason: string): Promise<SessionSnapshot> {
    const entry = await this.entry(id);
    await this.locked(entry, () => entry.session.abort(reason));
    return entry.session.snapshot();
  }

  /**
   * Ends a session after a failure this side cannot get past (a bad bootstrap, a missing
   * identity, storage): the peer reads `reason` as this side's abort, instead of waiting for
   * a finalize that will never come.
   */
  async fail(id: string, code: ErrorCode, reason: string): Promise<SessionSnapshot> {
    const entry = await this.entry(id);
    await this.locked(entry, () => entry.session.end(code, reason, true));
    return entry.session.snapshot();
  }

  /** Every session this store knows, newest first. */
  list(): SessionSnapshot[] {
    return [...this.entries.values()].map((entry) => entry.session.snapshot()).sort((a, b) => b.openedAt.localeCompare(a.openedAt));
  }

  status(id: string): SessionSnapshot {
    return this.lookup(id).session.snapshot();
  }

  /** The SAS, for the person's eyes only: the CLI's terminal, the webview, an elicitation. */
  sasForPerson(id: string): string {
    return this.lookup(id).session.sasForPerson();
  }

  /** Marks sessions past their TTL as expired and forgets ended ones after retention. */
  async sweepExpired(): Promise<void> {
    const now = this.deps.clock.now();
    let changed = false;
    for (const [id, entry] of this.entries) {
      if (entry.lock.busy) continue; // mid-operation: it checks its own expiry
      const session = entry.session;
      if (session.isEnded) {
        if ((session.endedAt ?? 0) + ENDED_RETENTION_MS <= now) {
          this.entries.delete(id);
          await this.clearPersisted(id);
          changed = true;
        }
      } else if (now >= session.expiresAt) {
        await this.expireIfDue(entry);
        changed = true;
      }
    }
    if (changed) this.emit();
  }

  private async expireIfDue(entry: Entry): Promise<void> {
    if (entry.session.isEnded || this.deps.clock.now() < entry.session.expiresAt) return;
    await entry.lock.run(async () => {
      await entry.session.end('expired', 'expired', false);
      await this.persist(entry);
    });
    this.wakeWatchers(entry);
  }

  /** Wakes every wait of a session whose state moved on here (each cancels its long poll). */
  private wakeWatchers(entry: Entry): void {
    for (const waiter of entry.waiters) if (entry.session.isEnded || waiter.done(entry.session)) waiter.wake.abort();
  }

  private async entry(id: string): Promise<Entry> {
    if (typeof id !== 'string' || !PAIR_ID.test(id)) throw badInput('session_id', 'is not a session id', '32 lowercase hex characters, as returned when the pairing was opened');
    await this.sweepExpired();
    return this.lookup(id);
  }

  private lookup(id: string): Entry {
    const entry = this.entries.get(id);
    if (!entry) throw new PairError('not_found', `No pairing ${id} is known here; it may have ended more than ${ENDED_RETENTION_MS / 60_000} minutes ago.`);
    return entry;
  }

  /** Runs one operation under the session's lock, then persists and announces the result. */
  private async locked(entry: Entry, operation: () => Promise<unknown>): Promise<void> {
    try {
      await entry.lock.run(async () => {
        try {
          await operation();
        } finally {
          await this.persist(entry);
        }
      });
    } finally {
      this.wakeWatchers(entry);
      this.emit();
    }
  }

  private async stepQuietly(entry: Entry): Promise<void> {
    try {
      await entry.session.step(entry.session.lastAppliedView);
    } catch (error) {
      if (!isRelayTrouble(error)) throw error;
    } finally {
      await this.persist(entry);
    }
  }

  /**
   * Steps until `done` or the end, holding the lock only to apply a view: the long polls in
   * between run unlocked, so an abort or a status call never waits behind them. Each poll asks
   * for news after the version already applied, so a quiet slot costs one request per poll.
   * `signal` ends the wait early; so does any operation here that ends the session or does what
   * the wait waits for (an abort, the person's confirmation).
   */
  private async drive(entry: Entry, maxWaitMs: number, done: (session: PairingSession) => boolean, stop?: AbortSignal): Promise<void> {
    const waiter: Waiter = { wake: new AbortController(), done };
    const signal = stop ? AbortSignal.any([stop, waiter.wake.signal]) : waiter.wake.signal;
    entry.waiters.add(waiter);
    try {
      await this.driveUntil(entry, maxWaitMs, done, signal);
    } finally {
      entry.waiters.delete(waiter);
    }
  }

  private async driveUntil(entry: Entry, maxWaitMs: number, done: (session: PairingSession) => boolean, signal: AbortSignal): Promise<void> {
    const deadline = this.deps.clock.now() + maxWaitMs;
    // Start from the last view this session applied, if any: a step makes whatever writes the
    // person's action since allowed (the bootstrap after confirming), and anything newer at the
    // relay ends the first long poll at once. A plain read first would cost a round trip.
    let view: SlotView | undefined = entry.session.lastAppliedView;
    for (;;) {
      const current = view;
      await this.locked(entry, async () => {
        // Another operation may have moved the session on while this one polled.
        if (!done(entry.session)) await entry.session.step(current);
      });
      if (entry.session.isEnded || done(entry.session) || isAborted(signal)) return;
      const now = this.deps.clock.now();
      if (deadline - now <= 0) return;
      // Never wait past the session's expiry: the step after the poll applies it.
      const waitMs = Math.max(1, Math.min(deadline, entry.session.expiresAt) - now);
      try {
        view = await entry.session.fetchView(Math.ceil(waitMs / 1000), signal);
      } catch (error) {
        // Woken: this side moved the session on, or the caller stopped waiting.
        if (isAborted(signal)) return;
        // A vanished slot is applied by the next step (which ends the session as expired).
        if (!isPairError(error, 'expired') && !isPairError(error, 'aborted')) throw error;
        view = undefined;
      }
    }
  }

  private async persist(entry: Entry): Promise<void> {
    const session = entry.session;
    const id = session.id;
    if (session.isEnded) {
      // The secrets go at once; the record stays (until ENDED_RETENTION_MS) so a process that
      // restores later, like the next per-call MCP server, can say how the pairing ended.
      await this.deps.vault.delete(secretsKey(id));
      await this.deps.memory.set(recordKey(id), JSON.stringify(session.persistedRecord()));
      await this.updateIndex((ids) => (ids.includes(id) ? ids : [...ids, id]));
      return;
    }
    const secrets = session.persistedSecrets();
    // Secrets first, then the record, then the index: a crash in between leaves at worst an
    // orphan that restore ignores, never a record that points at missing secrets.
    if (secrets) await this.deps.vault.set(secretsKey(id), JSON.stringify(secrets));
    await this.deps.memory.set(recordKey(id), JSON.stringify(session.persistedRecord()));
    await this.updateIndex((ids) => (ids.includes(id) ? ids : [...ids, id]));
  }

  private async clearPersisted(id: string): Promise<void> {
    await this.updateIndex((ids) => ids.filter((other) => other !== id));
    await this.deps.memory.delete(recordKey(id));
    await this.deps.vault.delete(secretsKey(id));
  }

  private async readIndex(): Promise<string[]> {
    const ids = parseJson(await this.deps.memory.get(INDEX_KEY));
    return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === 'string' && PAIR_ID.test(id)) : [];
  }

  private async updateIndex(change: (ids: string[]) => string[]): Promise<void> {
    await this.indexLock.run(async () => {
      const before = await this.readIndex();
      const after = change(before);
      if (after.length !== before.length || after.some((id, i) => id !== before[i])) await this.deps.memory.set(INDEX_KEY, JSON.stringify(after));
    });
  }

  private emit(): void {
    for (const listener of this.listeners) listener();
  }
}

/** A function, not a property read, so a check after an await is not narrowed away. */
function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

function checkWait(ms: number): number {
  if (!Number.isFinite(ms) || ms < 0 || ms > MAX_WAIT_MS) throw badInput('wait', `is ${String(ms)} ms`, `0 to ${MAX_WAIT_MS} milliseconds`);
  return ms;
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
