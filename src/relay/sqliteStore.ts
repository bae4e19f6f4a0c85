// The SQLite engine of the relay store (`--store sqlite:PATH`): inboxes, grants, queued messages
// and their seq numbers in one file, so a relay that is killed or restarted keeps what it
// acknowledged. The local relay's default (a file in the per-user state directory) and a
// single-node relay's. Pair slots, nameplates and rate windows stay in this process's memory
// (a MemoryStore inside): a pairing lives 600 s from its start whatever happens, and a restart
// mid-pairing reads as `expired` (PROTOCOL.md section 3), as on the memory engine.
//
// The binding is node-sqlite3-wasm: SQLite compiled to WebAssembly with a Node `fs` file system.
// It needs no compiler and no download at install, and runs the same under the CLI's Node
// (20.19+, which has no node:sqlite) and under VS Code's Electron-as-Node, which starts the local
// relay; a native build (better-sqlite3, sqlite3) is built for one Node ABI or fetched at install.
//
// Crash safety: WAL with synchronous=FULL, so a message is on disk before the relay answers 201,
// and a SIGKILL or power cut mid-write leaves the last committed state. The WAL index lives in
// this process's heap (locking_mode=EXCLUSIVE), since a WASM build has no shared memory; that
// also means one process only, which a pid lock (PATH.pid) makes explicit: a second relay on the
// same file is refused with a message naming the holder. SQLite's own lock (a PATH.lock
// directory, this VFS's way) that a killed relay left behind is removed once the pid lock is ours.
//
// Operations run in transactions (BEGIN IMMEDIATE … COMMIT), synchronously, so SQLite calls never
// interleave and counts kept here (the inbox table's size, totals for stats) stay exact. The
// operations queued in one turn of the event loop share one transaction (group commit): one
// fsync for all the requests that arrived together, none answered before it.

import { createHash, timingSafeEqual } from 'node:crypto';
import { readdirSync, readlinkSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
// First: it sets how V8 compiles the WebAssembly below.
import './sqliteCompiler.js';
// Bundled (esbuild.mjs copies its .wasm next to the bundle); this module is imported only when a
// relay runs on this engine, so no other process compiles SQLite.
import sqlite3 from 'node-sqlite3-wasm';
import type { PairField } from '../core/ports.js';
// CommonJS: its exports are the default import's properties under Node's ESM loader.
const { Database } = sqlite3;
type Database = InstanceType<typeof Database>;
type Statement = ReturnType<Database['prepare']>;
import type { RelayLimits } from './contract.js';
import { MemoryStore } from './memoryStore.js';
import { claimPidFile, processAlive, readPidFile, releasePidFile } from '../node/pidFile.js';
import { errorMessage } from '../core/errors.js';
import {
  type AllocateResult,
  type GrantResult,
  type JoinResult,
  type OpenResult,
  type OwnerRefusal,
  type OwnerResult,
  type PostResult,
  type RateHit,
  type ReadResult,
  type RelayStore,
  type StoreStats,
  type StoredMessage,
  type StoredPair,
  type WriteResult,
  StoreUnavailableError,
  inboxChannel,
} from './store.js';

/** The schema version in `PRAGMA user_version`; a file with another one is refused, never guessed at. */
export const SQLITE_SCHEMA_VERSION = 1;
/** A slot's last use is written again only once it moved this much: a read costs no commit, and the 30-day rule is exact to a minute. */
const LAST_USE_RESOLUTION_MS = 60_000;
/** How often the sweep deletes messages past their lifetime across every inbox. */
const MESSAGE_SWEEP_INTERVAL_MS = 60_000;
/** Idle inboxes deleted per sweep or allocation, so one transaction never runs long. */
const IDLE_INBOXES_PER_SWEEP = 200;
/** How long a statement waits for SQLite's lock; only this process writes, so only a stray one makes it wait. */
const BUSY_TIMEOUT_MS = 2_000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS inboxes (
  slot_id TEXT PRIMARY KEY,
  owner_hash BLOB NOT NULL,
  address TEXT NOT NULL,
  last_seq INTEGER NOT NULL,
  last_used_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  used INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS inboxes_by_last_use ON inboxes (last_used_at);
CREATE INDEX IF NOT EXISTS inboxes_unused ON inboxes (used, created_at);
CREATE INDEX IF NOT EXISTS inboxes_by_address ON inboxes (address);
CREATE TABLE IF NOT EXISTS grants (
  slot_id TEXT NOT NULL,
  grant_id TEXT NOT NULL,
  token_hash BLOB NOT NULL,
  PRIMARY KEY (slot_id, grant_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS messages (
  slot_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  grant_id TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (slot_id, seq)
);
CREATE INDEX IF NOT EXISTS messages_by_grant ON messages (slot_id, grant_id, bytes);
CREATE INDEX IF NOT EXISTS messages_by_age ON messages (received_at);
`;

type Row = Record<string, unknown>;

/** Another relay process holds the store file. */
export class StoreInUseError extends StoreUnavailableError {
  constructor(message: string) {
    super(message);
    this.name = 'StoreInUseError';
  }
}

/** The pid lock of a store file: who writes it. */
export function sqliteLockPath(path: string): string {
  return `${path}.pid`;
}

/**
 * Opens (or creates) the store file, holding it for this process, or throws
 * StoreUnavailableError naming what is wrong: another relay holds it, or it cannot be opened.
 */
export function openSqliteStore(path: string, limits: RelayLimits): SqliteStore {
  const lock = sqliteLockPath(path);
  let claimed: boolean;
  try {
    claimed = claimPidFile(lock, { pid: process.pid, alive: (pid) => holdsFile(pid, path), ownFileIsOurs: false });
  } catch (error) {
    throw new StoreUnavailableError(`cannot open the SQLite store ${path}: ${errorMessage(error)}`, { cause: error });
  }
  if (!claimed) {
    const holder = readPidFile(lock);
    throw new StoreInUseError(`the SQLite store ${path} is in use by another relay${holder === undefined ? '' : ` (process ${holder})`}; one relay process writes a file: stop that one, or use another file`);
  }
  try {
    // SQLite's own lock, left by a relay that was killed: the pid lock says nobody holds it now.
    rmSync(`${path}.lock`, { recursive: true, force: true });
    const db = new Database(path);
    try {
      return new SqliteStore(db, path, limits);
    } catch (error) {
      db.close();
      throw error;
    }
  } catch (error) {
    releasePidFile(lock, process.pid);
    if (error instanceof StoreUnavailableError) throw error;
    throw new StoreUnavailableError(`cannot open the SQLite store ${path}: ${errorMessage(error)}`, { cause: error });
  }
}

export class SqliteStore implements RelayStore {
  readonly engine = 'sqlite';
  /** Pair slots, nameplates and rate windows: they need not outlive the process. */
  private readonly ephemeral: MemoryStore;
  private readonly listeners: ((channel: string) => void)[] = [];
  private inboxCount = 0;
  private messageCount = 0;
  private messageBytes = 0;
  private lastMessageSweep = Number.NEGATIVE_INFINITY;
  private closed = false;
  private readonly sql: PreparedStatements;
  /** Operations waiting for the next batch (see run). */
  private readonly pending: { body: () => unknown; resolve: (value: unknown) => void; reject: (error: unknown) => void }[] = [];

  constructor(
    private readonly db: Database,
    readonly path: string,
    private readonly limits: RelayLimits,
  ) {
    this.ephemeral = new MemoryStore(limits);
    this.sql = new PreparedStatements(db);
    // Order matters: EXCLUSIVE before WAL, so the WAL index lives in this process's heap.
    db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.exec('PRAGMA locking_mode = EXCLUSIVE');
    const journal = db.get('PRAGMA journal_mode = WAL') as Row | null;
    // WAL where the binding supports it, else a rollback journal; synchronous=FULL either way.
    if (journal?.['journal_mode'] !== 'wal') db.exec('PRAGMA journal_mode = DELETE');
    db.exec('PRAGMA synchronous = FULL');
    const version = Number((db.get('PRAGMA user_version') as Row | null)?.['user_version'] ?? 0);
    if (version !== 0 && version !== SQLITE_SCHEMA_VERSION) {
      throw new StoreUnavailableError(`the SQLite store ${path} has schema version ${version}, and this relay reads version ${SQLITE_SCHEMA_VERSION}; use a relay of the version that wrote it, or another file`);
    }
    this.transaction(() => {
      db.exec(SCHEMA);
      db.exec(`PRAGMA user_version = ${SQLITE_SCHEMA_VERSION}`);
    });
    this.inboxCount = this.number('SELECT COUNT(*) AS n FROM inboxes', []);
    this.messageCount = this.number('SELECT COUNT(*) AS n FROM messages', []);
    this.messageBytes = this.number('SELECT COALESCE(SUM(bytes), 0) AS n FROM messages', []);
    this.ephemeral.onChange((channel) => {
      this.emit(channel);
    });
  }

  // -- Pair slots: in memory, answered at once ---------------------------------------------

  openPair(pair: { pairId: string; hostToken: string; expiresAt: number; address: string }, rate: RateHit, now: number): OpenResult {
    return this.ephemeral.openPair(pair, rate, now);
  }
  joinPair(nameplate: string, guestToken: string, rate: RateHit, now: number): JoinResult {
    return this.ephemeral.joinPair(nameplate, guestToken, rate, now);
  }
  getPair(pairId: string, now: number): StoredPair | undefined {
    return this.ephemeral.getPair(pairId, now);
  }
  writeField(pairId: string, token: string, field: PairField, value: string, pakeCommit: string | undefined, now: number): WriteResult {
    return this.ephemeral.writeField(pairId, token, field, value, pakeCommit, now);
  }
  takeRate(key: string, limit: number, windowMs: number, now: number): number | undefined {
    return this.ephemeral.takeRate(key, limit, windowMs, now);
  }

  // -- Inbox slots: in the file -------------------------------------------------------------

  allocateInbox(inbox: { slotId: string; ownerToken: string; address: string }, rate: RateHit, now: number): Promise<AllocateResult> {
    // Rate windows live in memory on this engine, as pair slots do: the hit is taken at once, before the file is touched.
    const refused = this.ephemeral.refusedRate(rate, now);
    if (refused) return Promise.resolve(refused);
    return this.run((): AllocateResult => {
      this.sweepIdleInboxes(now);
      if (this.number('SELECT COUNT(*) AS n FROM inboxes WHERE address = ?', [inbox.address]) >= this.limits.maxInboxSlotsPerAddress) return 'address_cap';
      if (this.inboxCount >= this.limits.maxInboxSlots) {
        // Full: the oldest inbox its owner never used makes room, as on the other engines.
        const unused = this.sql.get('SELECT slot_id FROM inboxes WHERE used = 0 ORDER BY created_at LIMIT 1');
        if (unused === null) return 'capacity';
        this.removeInbox(String(unused['slot_id']));
      }
      this.sql.run('INSERT INTO inboxes (slot_id, owner_hash, address, last_seq, last_used_at, created_at, used) VALUES (?, ?, ?, 0, ?, ?, 0)', [inbox.slotId, sha256(inbox.ownerToken), inbox.address, now, now]);
      this.inboxCount++;
      return 'allocated';
    });
  }

  useInbox(slotId: string, ownerToken: string, now: number): Promise<OwnerResult> {
    return this.run(() => {
      const slot = this.usedInbox(slotId, ownerToken, now);
      return typeof slot === 'string' ? slot : 'ok';
    });
  }

  /**
   * Inside a transaction: the slot's row once its owner token is checked and the use counted
   * (useInbox), or why not. An owner's request does this and its own work in one transaction.
   */
  private usedInbox(slotId: string, ownerToken: string, now: number): Row | OwnerRefusal {
    const slot = this.liveInbox(slotId, now);
    if (slot === undefined) return 'not_found';
    if (!sameHash(slot['owner_hash'], sha256(ownerToken))) return 'unauthorized';
    if (Number(slot['used']) === 0 || now - Number(slot['last_used_at']) >= LAST_USE_RESOLUTION_MS) {
      this.sql.run('UPDATE inboxes SET last_used_at = ?, used = 1 WHERE slot_id = ?', [now, slotId]);
    }
    return slot;
  }

  addGrant(slotId: string, ownerToken: string, grant: { grantId: string; sendToken: string }, rate: RateHit, now: number): Promise<GrantResult> {
    return this.run((): GrantResult => {
      const slot = this.usedInbox(slotId, ownerToken, now);
      if (typeof slot === 'string') return slot;
      // The window is in memory: a hit taken here stays taken even if the transaction fails.
      const refused = this.ephemeral.refusedRate(rate, now);
      if (refused) return refused;
      if (this.number('SELECT COUNT(*) AS n FROM grants WHERE slot_id = ?', [slotId]) >= this.limits.maxGrantsPerSlot) return 'full';
      this.sql.run('INSERT OR REPLACE INTO grants (slot_id, grant_id, token_hash) VALUES (?, ?, ?)', [slotId, grant.grantId, sha256(grant.sendToken)]);
      return 'granted';
    });
  }

  revokeGrant(slotId: string, ownerToken: string, grantId: string, now: number): Promise<OwnerResult> {
    return this.run(() => {
      const slot = this.usedInbox(slotId, ownerToken, now);
      if (typeof slot === 'string') return slot;
      if (this.sql.run('DELETE FROM grants WHERE slot_id = ? AND grant_id = ?', [slotId, grantId]).changes === 0) return 'ok';
      // Its queued messages go too (nobody reads a revoked peer's), which frees its share.
      const removed = this.sql.all('DELETE FROM messages WHERE slot_id = ? AND grant_id = ? RETURNING bytes', [slotId, grantId]);
      this.forget(removed);
      if (removed.length > 0) this.emit(inboxChannel(slotId));
      return 'ok';
    });
  }

  postMessage(slotId: string, message: { grantId: string; sendToken: string; value: string; bytes: number }, rate: RateHit | undefined, now: number): Promise<PostResult> {
    const refused = this.ephemeral.refusedRate(rate, now);
    if (refused) return Promise.resolve(refused);
    const posted = this.run((): PostResult => {
      const slot = this.liveInbox(slotId, now);
      if (slot === undefined) return { kind: 'not_found' };
      const grant = this.sql.get('SELECT token_hash FROM grants WHERE slot_id = ? AND grant_id = ?', [slotId, message.grantId]);
      if (grant === null || !sameHash(grant['token_hash'], sha256(message.sendToken))) return { kind: 'unauthorized' };
      this.dropExpiredMessages(slotId, now);
      const held = this.sql.get(
        `SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS b, COALESCE(SUM(grant_id = ?), 0) AS gn, COALESCE(SUM(CASE WHEN grant_id = ? THEN bytes ELSE 0 END), 0) AS gb
         FROM messages WHERE slot_id = ?`,
        [message.grantId, message.grantId, slotId],
      ) as Row;
      if (Number(held['n']) >= this.limits.maxInboxMessages || Number(held['b']) + message.bytes > this.limits.maxInboxBytes) return { kind: 'full' };
      if (Number(held['gn']) >= this.limits.maxInboxMessagesPerGrant || Number(held['gb']) + message.bytes > this.limits.maxInboxBytesPerGrant) return { kind: 'grant_full' };
      const seq = Number(slot['last_seq']) + 1;
      this.sql.run('UPDATE inboxes SET last_seq = ? WHERE slot_id = ?', [seq, slotId]);
      this.sql.run('INSERT INTO messages (slot_id, seq, grant_id, received_at, bytes, value) VALUES (?, ?, ?, ?, ?, ?)', [slotId, seq, message.grantId, now, message.bytes, message.value]);
      this.messageCount++;
      this.messageBytes += message.bytes;
      return { kind: 'posted' };
    });
    // Announced once committed: a long poll woken now reads the message.
    return posted.then((result) => {
      if (result.kind === 'posted') this.emit(inboxChannel(slotId));
      return result;
    });
  }

  readMessages(slotId: string, ownerToken: string | undefined, after: number, limit: number, now: number): Promise<ReadResult> {
    return this.run((): ReadResult => {
      const slot = ownerToken === undefined ? (this.liveInbox(slotId, now) ?? 'not_found') : this.usedInbox(slotId, ownerToken, now);
      if (typeof slot === 'string') return slot;
      this.dropExpiredMessages(slotId, now);
      const rows = this.sql.all('SELECT seq, value, grant_id, received_at, bytes FROM messages WHERE slot_id = ? AND seq > ? ORDER BY seq LIMIT ?', [slotId, after, limit]);
      const messages: StoredMessage[] = rows.map((row) => ({ seq: Number(row['seq']), value: String(row['value']), grantId: String(row['grant_id']), receivedAt: Number(row['received_at']), bytes: Number(row['bytes']) }));
      return { messages, lastSeq: Number(slot['last_seq']) };
    });
  }

  ackMessages(slotId: string, ownerToken: string, through: number, now: number): Promise<OwnerResult> {
    return this.run(() => {
      const slot = this.usedInbox(slotId, ownerToken, now);
      if (typeof slot === 'string') return slot;
      this.forget(this.sql.all('DELETE FROM messages WHERE slot_id = ? AND seq <= ? RETURNING bytes', [slotId, through]));
      return 'ok';
    });
  }

  /** The slot's row if it is live; one idle past `inboxIdleSeconds` is deleted on the spot. */
  private liveInbox(slotId: string, now: number): Row | undefined {
    const slot = this.sql.get('SELECT owner_hash, last_seq, last_used_at, used FROM inboxes WHERE slot_id = ?', [slotId]);
    if (slot === null) return undefined;
    if (Number(slot['last_used_at']) + this.limits.inboxIdleSeconds * 1000 > now) return slot;
    this.removeInbox(slotId);
    return undefined;
  }

  private dropExpiredMessages(slotId: string, now: number): void {
    const receivedBefore = now - this.limits.messageLifetimeSeconds * 1000;
    this.forget(this.sql.all('DELETE FROM messages WHERE slot_id = ? AND received_at <= ? RETURNING bytes', [slotId, receivedBefore]));
  }

  /** Takes deleted messages (rows with `bytes`) off the totals. */
  private forget(removed: Row[]): void {
    for (const row of removed) {
      this.messageCount--;
      this.messageBytes -= Number(row['bytes']);
    }
  }

  /** Deletes an inbox slot with its grants and messages; its long polls wake and answer 404. */
  private removeInbox(slotId: string): void {
    if (this.sql.run('DELETE FROM inboxes WHERE slot_id = ?', [slotId]).changes === 0) return;
    this.inboxCount--;
    this.sql.run('DELETE FROM grants WHERE slot_id = ?', [slotId]);
    this.forget(this.sql.all('DELETE FROM messages WHERE slot_id = ? RETURNING bytes', [slotId]));
    this.emit(inboxChannel(slotId));
  }

  private sweepIdleInboxes(now: number): void {
    const idleBefore = now - this.limits.inboxIdleSeconds * 1000;
    const idle = this.sql.all('SELECT slot_id FROM inboxes WHERE last_used_at <= ? ORDER BY last_used_at LIMIT ?', [idleBefore, IDLE_INBOXES_PER_SWEEP]);
    for (const row of idle) this.removeInbox(String(row['slot_id']));
  }

  // -- Changes, upkeep ----------------------------------------------------------------------

  onChange(listener: (channel: string) => void): void {
    this.listeners.push(listener);
  }

  private emit(channel: string): void {
    for (const listener of this.listeners) listener(channel);
  }

  async sweep(now: number): Promise<void> {
    await this.ephemeral.sweep(now);
    // Nothing to delete is the common case: checked first, so an idle relay commits nothing.
    const idleBefore = now - this.limits.inboxIdleSeconds * 1000;
    const sweepMessages = now - this.lastMessageSweep >= MESSAGE_SWEEP_INTERVAL_MS;
    const receivedBefore = now - this.limits.messageLifetimeSeconds * 1000;
    await this.run(() => {
      if (this.sql.get('SELECT 1 FROM inboxes WHERE last_used_at <= ? LIMIT 1', [idleBefore]) !== null) this.sweepIdleInboxes(now);
      if (sweepMessages) {
        this.lastMessageSweep = now;
        if (this.sql.get('SELECT 1 FROM messages WHERE received_at <= ? LIMIT 1', [receivedBefore]) !== null) {
          this.forget(this.sql.all('DELETE FROM messages WHERE received_at <= ? RETURNING bytes', [receivedBefore]));
        }
      }
    });
  }

  stats(): StoreStats {
    return { ...this.ephemeral.stats(), inboxSlots: this.inboxCount, inboxMessages: this.messageCount, inboxBytes: this.messageBytes };
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.flush();
    this.closed = true;
    try {
      this.sql.finalize();
      this.db.close();
    } finally {
      releasePidFile(sqliteLockPath(this.path), process.pid);
    }
    return Promise.resolve();
  }

  // -- Transactions -------------------------------------------------------------------------

  /**
   * Queues `body` and resolves with its result once committed. Everything queued in one turn of
   * the event loop (the requests that arrived together) runs in one transaction, in order, each
   * seeing what the ones before it wrote: one commit, one fsync, for all of them. A SQLite failure
   * (disk full, I/O error) rolls the whole batch back and rejects every one of them with
   * StoreUnavailableError (503): nothing is acknowledged that is not on disk, nothing half-written.
   */
  private run<T>(body: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new StoreUnavailableError('the store is closed'));
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ body, resolve: resolve as (value: unknown) => void, reject });
      if (this.pending.length === 1) setImmediate(() => {
        this.flush();
      });
    });
  }

  private flush(): void {
    const batch = this.pending.splice(0);
    if (batch.length === 0) return;
    const counts = { inboxCount: this.inboxCount, messageCount: this.messageCount, messageBytes: this.messageBytes };
    const results: unknown[] = [];
    try {
      this.transaction(() => {
        for (const job of batch) results.push(job.body());
      });
    } catch (error) {
      ({ inboxCount: this.inboxCount, messageCount: this.messageCount, messageBytes: this.messageBytes } = counts);
      const failure = error instanceof StoreUnavailableError ? error : new StoreUnavailableError(`the SQLite store ${this.path} failed: ${errorMessage(error)}`, { cause: error });
      for (const job of batch) job.reject(failure);
      return;
    }
    batch.forEach((job, index) => {
      job.resolve(results[index]);
    });
  }

  private transaction<T>(body: () => T): T {
    if (this.closed) throw new StoreUnavailableError('the store is closed');
    this.sql.run('BEGIN IMMEDIATE');
    try {
      const result = body();
      this.sql.run('COMMIT');
      return result;
    } catch (error) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      // A statement whose step failed reports that failure again at its next reset.
      this.sql.finalize();
      throw error;
    }
  }

  private number(sql: string, values: (string | number)[]): number {
    return Number(this.sql.get(sql, values)?.['n'] ?? 0);
  }
}

/**
 * The store's SQL, each text prepared once and kept: node-sqlite3-wasm's db.get, all and run
 * prepare and finalize a statement per call, and parsing SQL in WebAssembly cost more than
 * running most of these. A query runs to completion (all), so no statement is left part-read,
 * holding a read transaction open.
 */
class PreparedStatements {
  private readonly prepared = new Map<string, Statement>();

  constructor(private readonly db: Database) {}

  all(sql: string, values: (string | number | Uint8Array)[] = []): Row[] {
    return this.statement(sql).all(values);
  }

  get(sql: string, values: (string | number | Uint8Array)[] = []): Row | null {
    return this.all(sql, values)[0] ?? null;
  }

  run(sql: string, values: (string | number | Uint8Array)[] = []): { changes: number } {
    return this.statement(sql).run(values);
  }

  /**
   * Finalizes every statement, so the next use prepares its own afresh: before the database
   * closes, and after a failure (a statement whose step failed would report it again, once, at
   * its next use; its finalize reports it too, which is not news).
   */
  finalize(): void {
    for (const statement of this.prepared.values()) {
      try {
        statement.finalize();
      } catch {
        // The failure its last step had, already thrown to the transaction that ran it.
      }
    }
    this.prepared.clear();
  }

  private statement(sql: string): Statement {
    let statement = this.prepared.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      this.prepared.set(sql, statement);
    }
    return statement;
  }
}

/**
 * Whether process `pid` still holds the store file. On Linux, whether it has the file open (a pid
 * reused after a reboot by something else does not, so the lock is not stuck); elsewhere, whether
 * it runs.
 */
function holdsFile(pid: number, path: string): boolean {
  if (process.platform !== 'linux') return processAlive(pid);
  const target = resolve(path);
  let descriptors: string[];
  try {
    descriptors = readdirSync(`/proc/${pid}/fd`);
  } catch (error) {
    // Another user's process (EACCES) may hold it; a gone one (ENOENT) does not.
    return (error as NodeJS.ErrnoException).code !== 'ENOENT' && processAlive(pid);
  }
  return descriptors.some((descriptor) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${descriptor}`) === target;
    } catch {
      return false;
    }
  });
}

function sha256(text: string): Uint8Array {
  return createHash('sha256').update(text).digest();
}

/** Compares a stored hash with a computed one in constant time. */
function sameHash(stored: unknown, computed: Uint8Array): boolean {
  return stored instanceof Uint8Array && stored.length === computed.length && timingSafeEqual(stored, computed);
}
