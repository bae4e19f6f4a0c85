// The local mailbox (PROTOCOL.md 6.2 and 6.4): what this side received and sent, kept over the
// Memory port (0600 files: in the home for the CLI and MCP, in the profile's extension storage
// directory for VS Code, see vscode/storage.ts). It knows no relay and no crypto: inbox.ts opens
// envelopes and hands accepted messages here, and only after `accept` resolves is the relay told
// to delete them.
//
// Storage keys (Memory; nothing here is secret: message text is the person's, not a key):
//   `mail.peer.<fp>`       PeerMail: counters, gaps in the peer's `n`, message order, receipts owed
//   `mail.msg.<fp>.<id>`   MailRecord: one message, either direction
//   `mail.seen`            {"<id>": accepted at ms}: ids accepted in the last 8 days (dedup)
//   `mail.dropped`         {"<reason>": count}: envelopes dropped, by reason
//
// Several processes of one identity (a CLI, an MCP server, VS Code windows) may share the
// mailbox: every write here, and every pull from reading the relay to acknowledging what was
// stored (`exclusive`), runs while no other one does, in this process (an async lock) and in any
// other (the MailLock port, a lock file in the home). Without it two pullers both read one
// envelope before either remembered its id, and the person saw the message twice.

import { PairError } from './errors.js';
import { AsyncLock } from './lock.js';
import type { Body, DropReason, Message } from './messages.js';
import type { Clock, MailLock, Memory } from './ports.js';

/** Ids are remembered this long after acceptance, past the 7 days a message may be old. */
export const DEDUP_MEMORY_MS = 8 * 24 * 60 * 60 * 1000;
/** A gap in a peer's `n` is reported as lost once it stayed open this long (`--loss-grace`). */
export const LOSS_GRACE_MS = 10 * 60 * 1000;
/** Handled received messages and delivered sent ones are pruned after this long. */
export const HANDLED_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;
/** At most this many messages are kept per peer; the oldest settled ones go first. */
export const MAX_MESSAGES_PER_PEER = 1000;
/** A jump in `n` larger than this is counted lost at once instead of tracked number by number. */
export const MAX_TRACKED_GAP = 10_000;
/** How long a mailbox write waits for another process of the identity to finish its own. */
export const MAIL_LOCK_WAIT_MS = 10_000;
/** The pause between two tries of the MailLock while another process holds it. */
export const MAIL_LOCK_RETRY_MS = 20;

export type ReceivedState = 'unread' | 'read' | 'handled';
export type SentState = 'sent' | 'delivered';

export interface MailRecord {
  id: string;
  peer: string;
  direction: 'in' | 'out';
  n: number;
  sentAt: string;
  /** When this side stored it (ms since the epoch). */
  storedAt: number;
  body: Body;
  state: ReceivedState | SentState;
  /** When the state last changed (ms). */
  changedAt: number;
  /** 2: sealed to a receive key and signed (PROTOCOL.md section 7: forward secrecy); absent for section 6. */
  v?: 2;
}

interface Gap {
  from: number;
  to: number;
  /** When this side first noticed the numbers missing (ms). */
  since: number;
}

interface PeerMail {
  /** The last `n` used towards this peer. */
  sentN: number;
  /** The highest `n` accepted from this peer. */
  highestN: number;
  gaps: Gap[];
  /** Messages reported lost so far. */
  lost: number;
  /** Message ids in the order they were stored, both directions. */
  ids: string[];
  /** Ids handed over (handled) whose receipt has not been sent yet. */
  receiptsOwed: string[];
}

export interface PeerMailSummary {
  peer: string;
  unread: number;
  lost: number;
  /** Numbers missing from the peer's `n` that are still within the loss grace. */
  pendingGap?: number;
  lastIn?: MailRecord;
  lastOut?: MailRecord;
}

export interface MailboxDeps {
  memory: Memory;
  clock: Clock;
  /** Shared with the identity's other processes; without it, writes are serialised in this process only. */
  mailLock?: MailLock;
}

export interface MailboxOptions {
  lossGraceMs?: number;
  retentionMs?: number;
  maxMessagesPerPeer?: number;
}

/** Every key the mailbox stores starts with this (VS Code keeps them apart from global state). */
export const MAIL_KEY_PREFIX = 'mail.';

const peerKey = (fingerprint: string): string => `mail.peer.${fingerprint}`;
const recordKey = (fingerprint: string, id: string): string => `mail.msg.${fingerprint}.${id}`;
const SEEN_KEY = 'mail.seen';
const DROPPED_KEY = 'mail.dropped';

const mailboxLocks = new WeakMap<Memory, AsyncLock>();

function mailboxLock(memory: Memory): AsyncLock {
  let lock = mailboxLocks.get(memory);
  if (!lock) {
    lock = new AsyncLock();
    mailboxLocks.set(memory, lock);
  }
  return lock;
}

function emptyPeerMail(): PeerMail {
  return { sentN: 0, highestN: 0, gaps: [], lost: 0, ids: [], receiptsOwed: [] };
}

/** What a pull may do while it holds the mailbox (`Mailbox.exclusive`). */
export interface HeldMailbox {
  accept(message: Message): Promise<Accepted | 'duplicate'>;
  countDrop(reason: DropReason): Promise<void>;
}

/** What `accept` made of an accepted message. */
export type Accepted =
  | { kind: 'stored'; record: MailRecord }
  | { kind: 'receipt'; delivered: string[] }
  | { kind: 'inbox' }
  /** Section 7's body that only carries receive keys: never kept, never receipted. */
  | { kind: 'keys' };

export class Mailbox {
  private readonly lock: AsyncLock;
  readonly lossGraceMs: number;
  private readonly retentionMs: number;
  private readonly maxMessagesPerPeer: number;

  constructor(
    private readonly deps: MailboxDeps,
    options: MailboxOptions = {},
  ) {
    this.lock = mailboxLock(deps.memory);
    this.lossGraceMs = options.lossGraceMs ?? LOSS_GRACE_MS;
    this.retentionMs = options.retentionMs ?? HANDLED_RETENTION_MS;
    this.maxMessagesPerPeer = options.maxMessagesPerPeer ?? MAX_MESSAGES_PER_PEER;
  }

  // -- Sending ---------------------------------------------------------------------------------

  /** The next `n` towards `peer`, persisted before it is used. */
  async nextN(peer: string): Promise<number> {
    return this.locked(async () => {
      const mail = await this.readPeer(peer);
      mail.sentN += 1;
      await this.writePeer(peer, mail);
      return mail.sentN;
    });
  }

  /** Gives `n` back after a send that the relay definitely refused, if no later send used one. */
  async releaseN(peer: string, n: number): Promise<void> {
    await this.locked(async () => {
      const mail = await this.readPeer(peer);
      if (mail.sentN !== n) return;
      mail.sentN -= 1;
      await this.writePeer(peer, mail);
    });
  }

  /** Keeps a record of a text or data message the relay stored for `peer`: state `sent`. */
  async recordSent(message: Message): Promise<MailRecord> {
    return this.locked(async () => {
      const now = this.deps.clock.now();
      const record: MailRecord = { id: message.id, peer: message.to, direction: 'out', n: message.n, sentAt: message.sent_at, storedAt: now, body: message.body, state: 'sent', changedAt: now, ...versionOf(message) };
      await this.storeRecord(record);
      return record;
    });
  }

  // -- Receiving -------------------------------------------------------------------------------

  /** True if this id was accepted within the last 8 days. */
  async seen(id: string): Promise<boolean> {
    const seen = await this.readSeen();
    return id in seen;
  }

  /**
   * Stores one message that passed every check of 6.2, from `peer`; resolves `duplicate` (and
   * changes nothing) if its id was accepted before. Receipts mark sent messages delivered;
   * `inbox` bodies are the runner's to act on; everything else is kept `unread`.
   */
  async accept(message: Message): Promise<Accepted | 'duplicate'> {
    return this.locked(() => this.acceptHeld(message));
  }

  private async acceptHeld(message: Message): Promise<Accepted | 'duplicate'> {
    const now = this.deps.clock.now();
    const seen = await this.readSeen();
    if (message.id in seen) return 'duplicate';
    const peer = message.from;
    const mail = await this.readPeer(peer);
    trackN(mail, message.n, now);
    let accepted: Accepted;
    if (message.body.type === 'receipt') {
      accepted = { kind: 'receipt', delivered: await this.markDelivered(peer, (message.body as { ids: string[] }).ids, now) };
    } else if (message.body.type === 'inbox') {
      accepted = { kind: 'inbox' };
    } else if (message.v === 2 && message.body.type === 'keys') {
      accepted = { kind: 'keys' };
    } else {
      const record: MailRecord = { id: message.id, peer, direction: 'in', n: message.n, sentAt: message.sent_at, storedAt: now, body: message.body, state: 'unread', changedAt: now, ...versionOf(message) };
      await this.deps.memory.set(recordKey(peer, record.id), JSON.stringify(record));
      mail.ids.push(record.id);
      accepted = { kind: 'stored', record };
    }
    await this.writePeer(peer, mail);
    // The id is remembered last: a crash before this line re-reads the message, and the
    // record written above is simply written again.
    seen[message.id] = now;
    await this.writeSeen(seen, now);
    return accepted;
  }

  /** Gaps in each peer's `n` that stayed open past the grace: reported once, then forgotten. */
  async takeLosses(peers: string[]): Promise<{ peer: string; count: number }[]> {
    return this.locked(async () => {
      const now = this.deps.clock.now();
      const losses: { peer: string; count: number }[] = [];
      for (const peer of peers) {
        const mail = await this.readPeer(peer);
        const due = mail.gaps.filter((gap) => gap.since + this.lossGraceMs <= now);
        if (due.length === 0) continue;
        const count = due.reduce((sum, gap) => sum + gap.to - gap.from + 1, 0);
        mail.gaps = mail.gaps.filter((gap) => !due.includes(gap));
        mail.lost += count;
        await this.writePeer(peer, mail);
        losses.push({ peer, count });
      }
      return losses;
    });
  }

  /** Counts one dropped envelope by reason. */
  async countDrop(reason: DropReason): Promise<void> {
    await this.locked(() => this.countDropHeld(reason));
  }

  private async countDropHeld(reason: DropReason): Promise<void> {
    const counts = parseObject(await this.deps.memory.get(DROPPED_KEY)) as Record<string, number>;
    counts[reason] = (counts[reason] ?? 0) + 1;
    await this.deps.memory.set(DROPPED_KEY, JSON.stringify(counts));
  }

  async droppedCounts(): Promise<Partial<Record<DropReason, number>>> {
    const counts: Partial<Record<DropReason, number>> = parseObject(await this.deps.memory.get(DROPPED_KEY));
    return counts;
  }

  // -- Reading and handling --------------------------------------------------------------------

  /** Messages with `peer` (or every listed peer), oldest first. */
  async list(peers: string[], filter: { unreadOnly?: boolean; direction?: 'in' | 'out' } = {}): Promise<MailRecord[]> {
    const records: MailRecord[] = [];
    for (const peer of peers) {
      const mail = await this.readPeer(peer);
      for (const id of mail.ids) {
        const record = await this.readRecord(peer, id);
        if (!record) continue;
        if (filter.direction && record.direction !== filter.direction) continue;
        if (filter.unreadOnly && record.state !== 'unread') continue;
        records.push(record);
      }
    }
    return records.sort((a, b) => a.storedAt - b.storedAt);
  }

  async get(peer: string, id: string): Promise<MailRecord | undefined> {
    return this.readRecord(peer, id);
  }

  /** unread → read; read and handled stay. Resolves the records it changed. */
  async markRead(records: { peer: string; id: string }[]): Promise<MailRecord[]> {
    return this.changeReceived(records, (state) => (state === 'unread' ? 'read' : undefined));
  }

  /**
   * unread/read → handled, and a receipt is owed for each. Resolves the records it changed;
   * `receiptsOwed` then lists, per peer, what the runner must still send.
   */
  async markHandled(records: { peer: string; id: string }[]): Promise<MailRecord[]> {
    return this.changeReceived(records, (state) => (state === 'handled' ? undefined : 'handled'));
  }

  async receiptsOwed(peer: string): Promise<string[]> {
    return (await this.readPeer(peer)).receiptsOwed;
  }

  /** Forgets owed receipts once a receipt naming them was stored at the peer's relay. */
  async receiptsSent(peer: string, ids: string[]): Promise<void> {
    await this.locked(async () => {
      const mail = await this.readPeer(peer);
      mail.receiptsOwed = mail.receiptsOwed.filter((id) => !ids.includes(id));
      await this.writePeer(peer, mail);
    });
  }

  async summary(peer: string): Promise<PeerMailSummary> {
    const mail = await this.readPeer(peer);
    let unread = 0;
    let lastIn: MailRecord | undefined;
    let lastOut: MailRecord | undefined;
    for (const id of mail.ids) {
      const record = await this.readRecord(peer, id);
      if (!record) continue;
      if (record.direction === 'in') {
        lastIn = record;
        if (record.state === 'unread') unread++;
      } else {
        lastOut = record;
      }
    }
    const pending = mail.gaps.reduce((sum, gap) => sum + gap.to - gap.from + 1, 0);
    return { peer, unread, lost: mail.lost, ...(pending > 0 && { pendingGap: pending }), ...(lastIn && { lastIn }), ...(lastOut && { lastOut }) };
  }

  /** Drops settled messages past the retention and the oldest settled ones over the cap. */
  async prune(peer: string): Promise<number> {
    return this.locked(async () => {
      const now = this.deps.clock.now();
      const mail = await this.readPeer(peer);
      const keep: string[] = [];
      const settled: string[] = [];
      for (const id of mail.ids) {
        const record = await this.readRecord(peer, id);
        if (!record) continue;
        const isSettled = record.state === 'handled' || record.state === 'delivered' || record.state === 'sent';
        if (isSettled && record.changedAt + this.retentionMs <= now) {
          await this.deps.memory.delete(recordKey(peer, id));
          continue;
        }
        keep.push(id);
        if (isSettled) settled.push(id);
      }
      let excess = keep.length - this.maxMessagesPerPeer;
      // Unread and read messages are the person's to settle: only settled ones are pruned for room.
      for (const id of settled) {
        if (excess <= 0) break;
        await this.deps.memory.delete(recordKey(peer, id));
        keep.splice(keep.indexOf(id), 1);
        excess--;
      }
      const removed = mail.ids.length - keep.length;
      if (removed > 0) {
        mail.ids = keep;
        await this.writePeer(peer, mail);
      }
      return removed;
    });
  }

  // -- Holding the mailbox ---------------------------------------------------------------------

  /**
   * Runs `operation` as one critical section of this identity's mailbox, across processes: a pull
   * reads the relay, stores what passed the checks through `held` and acknowledges it before any
   * other puller may look. Rejects with `timeout` if another process kept the mailbox longer than
   * MAIL_LOCK_WAIT_MS.
   */
  async exclusive<T>(operation: (held: HeldMailbox) => Promise<T>): Promise<T> {
    return this.locked(() => operation({ accept: (message) => this.acceptHeld(message), countDrop: (reason) => this.countDropHeld(reason) }));
  }

  private async locked<T>(operation: () => Promise<T>): Promise<T> {
    return this.lock.run(async () => {
      const release = await this.acquireAcrossProcesses();
      try {
        return await operation();
      } finally {
        await release?.();
      }
    });
  }

  private async acquireAcrossProcesses(): Promise<(() => Promise<void>) | undefined> {
    const mailLock = this.deps.mailLock;
    if (!mailLock) return undefined;
    const deadline = this.deps.clock.now() + MAIL_LOCK_WAIT_MS;
    for (;;) {
      const release = await mailLock.tryLock();
      if (release) return release;
      if (this.deps.clock.now() >= deadline) {
        throw new PairError('timeout', `Another process of this identity kept its mailbox busy for ${MAIL_LOCK_WAIT_MS / 1000} s; try again.`);
      }
      await this.deps.clock.sleep(MAIL_LOCK_RETRY_MS);
    }
  }

  // -- Internals -------------------------------------------------------------------------------

  private async changeReceived(records: { peer: string; id: string }[], next: (state: MailRecord['state']) => ReceivedState | undefined): Promise<MailRecord[]> {
    return this.locked(async () => {
      const now = this.deps.clock.now();
      const changed: MailRecord[] = [];
      for (const { peer, id } of records) {
        const record = await this.readRecord(peer, id);
        if (!record || record.direction !== 'in') continue;
        const state = next(record.state);
        if (state === undefined) continue;
        record.state = state;
        record.changedAt = now;
        await this.deps.memory.set(recordKey(peer, id), JSON.stringify(record));
        if (state === 'handled') {
          const mail = await this.readPeer(peer);
          if (!mail.receiptsOwed.includes(id)) mail.receiptsOwed.push(id);
          await this.writePeer(peer, mail);
        }
        changed.push(record);
      }
      return changed;
    });
  }

  private async markDelivered(peer: string, ids: string[], now: number): Promise<string[]> {
    const delivered: string[] = [];
    for (const id of ids) {
      const record = await this.readRecord(peer, id);
      // A receipt only speaks for messages this side sent to that same peer.
      if (!record || record.direction !== 'out' || record.state === 'delivered') continue;
      record.state = 'delivered';
      record.changedAt = now;
      await this.deps.memory.set(recordKey(peer, id), JSON.stringify(record));
      delivered.push(id);
    }
    return delivered;
  }

  private async storeRecord(record: MailRecord): Promise<void> {
    await this.deps.memory.set(recordKey(record.peer, record.id), JSON.stringify(record));
    const mail = await this.readPeer(record.peer);
    mail.ids.push(record.id);
    await this.writePeer(record.peer, mail);
  }

  private async readRecord(peer: string, id: string): Promise<MailRecord | undefined> {
    const text = await this.deps.memory.get(recordKey(peer, id));
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as MailRecord;
    } catch {
      return undefined;
    }
  }

  private async readPeer(peer: string): Promise<PeerMail> {
    const stored = parseObject(await this.deps.memory.get(peerKey(peer))) as Partial<PeerMail>;
    return { ...emptyPeerMail(), ...stored };
  }

  private async writePeer(peer: string, mail: PeerMail): Promise<void> {
    await this.deps.memory.set(peerKey(peer), JSON.stringify(mail));
  }

  private async readSeen(): Promise<Record<string, number>> {
    return parseObject(await this.deps.memory.get(SEEN_KEY)) as Record<string, number>;
  }

  private async writeSeen(seen: Record<string, number>, now: number): Promise<void> {
    const kept = Object.entries(seen).filter(([, at]) => at + DEDUP_MEMORY_MS > now);
    await this.deps.memory.set(SEEN_KEY, JSON.stringify(Object.fromEntries(kept)));
  }
}

/** A record says `v: 2` only for a section 7 message. */
function versionOf(message: Message): { v?: 2 } {
  return message.v === 2 ? { v: 2 } : {};
}

/** Records `n` from a peer: closes the gap it fills, or opens one for the numbers it skipped. */
function trackN(mail: PeerMail, n: number, now: number): void {
  if (n > mail.highestN) {
    const skipped = n - mail.highestN - 1;
    if (skipped > MAX_TRACKED_GAP) mail.lost += skipped;
    else if (skipped > 0) mail.gaps.push({ from: mail.highestN + 1, to: n - 1, since: now });
    mail.highestN = n;
    return;
  }
  const index = mail.gaps.findIndex((gap) => gap.from <= n && n <= gap.to);
  if (index < 0) return; // a number already seen (several processes of the peer sending at once)
  const gap = mail.gaps[index] as Gap;
  const pieces: Gap[] = [];
  if (gap.from < n) pieces.push({ from: gap.from, to: n - 1, since: gap.since });
  if (n < gap.to) pieces.push({ from: n + 1, to: gap.to, since: gap.since });
  mail.gaps.splice(index, 1, ...pieces);
}

function parseObject(text: string | undefined): Record<string, unknown> {
  if (text === undefined) return {};
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
