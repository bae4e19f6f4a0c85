// The local mailbox (PROTOCOL.md 6.2 and 6.4): what this side received and sent, kept over the
// Memory port (0600 files: in the home for the CLI and MCP, in the profile's extension storage
// directory for VS Code, see vscode/storage.ts). It knows no relay and no crypto: inbox.ts opens
// envelopes and hands accepted messages here, and only after `accept` resolves is the relay told
// to delete them.
//
// Storage keys (Memory; nothing here is secret: message text is the person's, not a key):
//   `mail.peer.<fp>`       PeerMail: counters, gaps in the peer's `n`, receipts owed, unhandled ids
//   `mail.ids.<fp>`        [id, ...]: the order messages with that peer were stored in, both
//                          directions (in `mail.peer.<fp>`'s `ids` before: moved out at its
//                          next write, so the record every message rewrites stays small)
//   `mail.msg.<fp>.<id>`   MailRecord: one message, either direction (a received id that
//                          names a message this side sent is dropped, never written over it)
//   `mail.seen.<id>`       {"peer","at"}: an id accepted or sent (to any peer) in the last 8 days
//                          (dedup; a peer's message reusing it is a duplicate); one key per id,
//                          so accepting a message costs the same however many came before
//   `mail.seenlog.<fp>`    {"first","next"}: the chunks of that peer's accepted ids, oldest first
//   `mail.seenlog.<fp>.<k>` [[id, at], ...]: one chunk (SEEN_CHUNK_IDS ids); whole chunks expire
//                          (8 days) or go when the peer has more than MAX_SEEN_PER_PEER
//   `mail.outbox`          [{"peer","id"}]: sends the relay refused for now, oldest first
//   `mail.out.<fp>.<id>`   OutboxEntry: when to try it again (the message is its `queued` record)
//   `mail.dropped`         {"<reason>": count}: envelopes dropped, by reason
//   `mail.acks.<slot>`     a number: how many times that own inbox was acknowledged at the relay
//                          (by any process of the identity); a long poll's page is read as it is
//                          only while this has not moved since the poll began
//   `mail.ackdue.<slot>`   a number: the seq through which a pull stored that inbox's messages and
//                          has yet to hear the relay acknowledge them; whoever holds the mailbox
//                          next acknowledges it first (see inbox.ts, readHeld)
//   `mail.seen`            (before per-id keys) the ids as one object: moved to per-id keys once
//
// Several processes of one identity (a CLI, an MCP server, VS Code windows) may share the
// mailbox: every write here, and every pull from reading the relay to storing what it read and
// marking it due for acknowledgement (`exclusive`), runs while no other one does, in this process
// (an async lock) and in any other (the MailLock port, a lock file in the home). Without it two
// pullers both read one envelope before either remembered its id, and the person saw the message
// twice. The acknowledgement itself goes to the relay after the mailbox is given back, so a
// receipt or a send waits for no relay round trip of the pull; a puller that finds one still due
// makes it first, before it reads.

import { PairError } from './errors.js';
import { type AsyncLock, lockPerStore } from './lock.js';
import { type Body, type DropReason, type Message, MessageRejected } from './messages.js';
import type { Clock, MailLock, Memory } from './ports.js';
import { LOSS_GRACE_MS } from './vocabulary.js';

export { LOSS_GRACE_MS };

/** Ids are remembered this long after acceptance, past the 7 days a message may be old. */
export const DEDUP_MEMORY_MS = 8 * 24 * 60 * 60 * 1000;
/** Handled received messages and delivered sent ones are pruned after this long. */
export const HANDLED_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;
/** At most this many messages are kept per peer; the oldest settled ones go first. */
export const MAX_MESSAGES_PER_PEER = 1000;
/**
 * A message whose `n` skips more than this many numbers past the highest seen from its peer is
 * dropped: no honest sender loses that many (a relay holds at most 1,000 per inbox), and
 * believing it would report absurd losses and end gap tracking for that peer.
 */
export const MAX_N_JUMP = 10_000;
/**
 * Received messages not yet handled (unread or read) kept per peer; past it the oldest is
 * dropped and reported (`overflow`), so a flooding peer cannot grow the mailbox without bound.
 */
export const MAX_UNHANDLED_PER_PEER = 1000;
/**
 * Gaps in a peer's `n` tracked at once; past it the oldest are due at once (reported lost by the
 * round's loss check) rather than waiting the grace, so a peer skipping numbers message after
 * message cannot grow its record.
 */
export const MAX_OPEN_GAPS = 100;
/** Accepted ids remembered per peer; past it the oldest chunk is forgotten early. */
export const MAX_SEEN_PER_PEER = 50_000;
/** Accepted ids are logged per peer in chunks of this many (what one acceptance rewrites at most). */
export const SEEN_CHUNK_IDS = 100;
/**
 * Receipts owed to one peer at most: a peer whose inbox refuses them (it never reads) would
 * otherwise grow this side's record of it with every message handled. Past it the oldest owed
 * ids are forgotten (that peer sees those messages as sent, not delivered).
 */
export const MAX_RECEIPTS_OWED_PER_PEER = 1000;
/** Sends waiting in the outbox at most, over every peer; past it a refused send fails at once. */
export const MAX_OUTBOX = 1000;
/** How long a mailbox write waits for another process of the identity to finish its own. */
export const MAIL_LOCK_WAIT_MS = 10_000;
/** The pause between two tries of the MailLock while another process holds it. */
export const MAIL_LOCK_RETRY_MS = 20;

export type ReceivedState = 'unread' | 'read' | 'handled';
/**
 * queued: the relay refused it for now, it waits in the outbox; sent: the peer's relay stored it;
 * delivered: the peer handed it over; failed: it stayed queued past OUTBOX_MAX_AGE_MS;
 * cancelled: the person took it back while queued.
 */
export type SentState = 'queued' | 'sent' | 'delivered' | 'failed' | 'cancelled';

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
  /**
   * Message ids in the order they were stored, in mail kept before `mail.ids.<fp>` held them:
   * read until that key exists, and left out of the record at its next write (readIds, writePeer).
   */
  ids?: string[];
  /** Ids handed over (handled) whose receipt has not been sent yet. */
  receiptsOwed: string[];
  /** Received ids not yet handled, oldest first (at most MAX_UNHANDLED_PER_PEER); absent in mail kept before it was. */
  unhandled?: string[];
  /** Unhandled messages dropped to stay within MAX_UNHANDLED_PER_PEER, so far. */
  overflowed?: number;
}

/** One send waiting in the outbox (`mail.out.<fp>.<id>`). */
export interface OutboxEntry {
  peer: string;
  /** The message's id: every try carries it (sealed again from its record), so the receiver dedups. */
  id: string;
  queuedAt: number;
  attempts: number;
  nextTryAt: number;
  /** The error code of the last refusal. */
  lastError: string;
}

export interface PeerMailSummary {
  peer: string;
  unread: number;
  lost: number;
  /** Unhandled messages dropped to stay within MAX_UNHANDLED_PER_PEER. */
  overflowed: number;
  /** Messages to this peer waiting in the outbox. */
  queued: number;
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
  maxUnhandledPerPeer?: number;
  maxSeenPerPeer?: number;
}

/** Every key the mailbox stores starts with this (VS Code keeps them apart from global state). */
export const MAIL_KEY_PREFIX = 'mail.';

const peerKey = (fingerprint: string): string => `mail.peer.${fingerprint}`;
const idsKey = (fingerprint: string): string => `mail.ids.${fingerprint}`;
const recordKey = (fingerprint: string, id: string): string => `mail.msg.${fingerprint}.${id}`;
const LEGACY_SEEN_KEY = 'mail.seen';
const seenKey = (id: string): string => `mail.seen.${id}`;
const seenLogKey = (owner: string): string => `mail.seenlog.${owner}`;
const seenChunkKey = (owner: string, chunk: number): string => `mail.seenlog.${owner}.${chunk}`;
/** The seen log of ids moved from the single `mail.seen` object, whose peers were not recorded. */
const LEGACY_SEEN_OWNER = 'legacy';
const OUTBOX_KEY = 'mail.outbox';
const outboxEntryKey = (fingerprint: string, id: string): string => `mail.out.${fingerprint}.${id}`;
const DROPPED_KEY = 'mail.dropped';
const acksKey = (slotId: string): string => `mail.acks.${slotId}`;
const ackDueKey = (slotId: string): string => `mail.ackdue.${slotId}`;

const mailboxLock: (store: Memory) => AsyncLock = lockPerStore();
/** Seen-log chunks kept parsed at most (two hot ones per peer: the newest and the oldest). */
const CACHED_SEEN_CHUNKS = 64;

function emptyPeerMail(): PeerMail {
  return { sentN: 0, highestN: 0, gaps: [], lost: 0, receiptsOwed: [] };
}

/** A copy whose lists and gaps can be changed apart from `mail`'s (whatever a damaged record holds in them). */
function copyPeerMail(mail: PeerMail): PeerMail {
  const copyList = <T>(list: T[]): T[] => (Array.isArray(list) ? [...list] : list);
  const copy: PeerMail = { ...mail, gaps: copyList(mail.gaps), receiptsOwed: copyList(mail.receiptsOwed) };
  if (mail.ids !== undefined) copy.ids = copyList(mail.ids);
  if (Array.isArray(copy.gaps)) copy.gaps = (copy.gaps as unknown[]).map((gap) => (typeof gap === 'object' && gap !== null ? { ...gap } : gap)) as Gap[];
  if (mail.unhandled !== undefined) copy.unhandled = copyList(mail.unhandled);
  return copy;
}

/** What a pull may do while it holds the mailbox (`Mailbox.exclusive`). */
export interface HeldMailbox {
  accept(message: Message): Promise<Accepted | 'duplicate'>;
  countDrop(reason: DropReason): Promise<void>;
  /**
   * Messages of own inbox `slotId` through `seq` are stored: due to be acknowledged at the relay,
   * which the puller does once it gives the mailbox back (or whoever holds it next, first).
   */
  acknowledgeLater(slotId: string, seq: number): Promise<void>;
  /**
   * The relay just deleted messages of own inbox `slotId` through `seq`: no longer due, and a page
   * read before now may hold some of them (see `acknowledgements`).
   */
  acknowledged(slotId: string, seq: number): Promise<void>;
  /** The next `n` towards `peer`, persisted before it resolves (`Mailbox.nextN` inside this section). */
  nextN(peer: string): Promise<number>;
  /** Gives `n` back if no later send used one (`Mailbox.releaseN` inside this section). */
  releaseN(peer: string, n: number): Promise<void>;
  /** `peer`'s queued sends are due at `now` at the latest: it told us a new inbox. */
  retryNow(peer: string, now: number): Promise<void>;
}

/** What `accept` made of an accepted message. */
export type Accepted =
  /** `overflowed`: older unhandled messages from that peer dropped to make room (MAX_UNHANDLED_PER_PEER). */
  | { kind: 'stored'; record: MailRecord; overflowed: number }
  | { kind: 'receipt'; delivered: string[] }
  | { kind: 'inbox' }
  /** Section 7's body that only carries receive keys: never kept, never receipted. */
  | { kind: 'keys' };

export class Mailbox {
  private readonly lock: AsyncLock;
  readonly lossGraceMs: number;
  private readonly retentionMs: number;
  private readonly maxMessagesPerPeer: number;
  private readonly maxUnhandledPerPeer: number;
  private readonly maxSeenPerPeer: number;
  /**
   * Each peer's record as last read or written here, with the text it was read from: a message
   * reads the record several times (its `n`, storing it, handing it over, its receipt), and
   * parsing its lists (unhandled and owed ids, up to 1,000 each while the person lets messages
   * wait) would cost more than the rest. Used only while the stored text is exactly
   * the same (another process's write is read afresh); callers get a copy they may change.
   */
  private readonly peerMail = new Map<string, { text: string; mail: PeerMail }>();
  /**
   * Each peer's `mail.ids.<fp>` as last read or written here: the stored text, and the same ids
   * as JSON that lists only strings (the text itself unless it was damaged). A new id is appended
   * to that JSON, never parsing or serialising again the ids before it (up to
   * MAX_MESSAGES_PER_PEER of them); used only while the stored text is exactly the same.
   */
  private readonly peerIds = new Map<string, { stored: string; json: string }>();
  /**
   * Seen-log chunks as last read or written here, by storage key, with the text they were read
   * from: every accepted or sent id appends to the newest chunk and looks at the oldest, and
   * parsing both (up to SEEN_CHUNK_IDS entries each) cost more than the rest of remembering it.
   * Used only while the stored text is exactly the same; the oldest entry goes past the bound.
   */
  private readonly seenChunks = new Map<string, { stored: string; chunk: SeenChunk }>();

  constructor(
    private readonly deps: MailboxDeps,
    options: MailboxOptions = {},
  ) {
    this.lock = mailboxLock(deps.memory);
    this.lossGraceMs = options.lossGraceMs ?? LOSS_GRACE_MS;
    this.retentionMs = options.retentionMs ?? HANDLED_RETENTION_MS;
    this.maxMessagesPerPeer = options.maxMessagesPerPeer ?? MAX_MESSAGES_PER_PEER;
    this.maxUnhandledPerPeer = options.maxUnhandledPerPeer ?? MAX_UNHANDLED_PER_PEER;
    this.maxSeenPerPeer = options.maxSeenPerPeer ?? MAX_SEEN_PER_PEER;
  }

  // -- Sending ---------------------------------------------------------------------------------

  /** The next `n` towards `peer`, persisted before it is used. */
  async nextN(peer: string): Promise<number> {
    return this.locked(() => this.nextNHeld(peer));
  }

  /** Gives `n` back after a send that the relay definitely refused, if no later send used one. */
  async releaseN(peer: string, n: number): Promise<void> {
    await this.locked(() => this.releaseNHeld(peer, n));
  }

  private async nextNHeld(peer: string): Promise<number> {
    const mail = await this.readPeer(peer);
    mail.sentN += 1;
    await this.writePeer(peer, mail);
    return mail.sentN;
  }

  private async releaseNHeld(peer: string, n: number): Promise<void> {
    const mail = await this.readPeer(peer);
    if (mail.sentN !== n) return;
    mail.sentN -= 1;
    await this.writePeer(peer, mail);
  }

  /** Keeps a record of a text or data message the relay stored for `peer`: state `sent`. */
  async recordSent(message: Message): Promise<MailRecord> {
    return this.locked(async () => {
      const record = this.sentRecord(message, 'sent');
      await this.storeRecord(record);
      await this.rememberSent(message);
      return record;
    });
  }

  /**
   * A sent id joins the accepted ids: any peer's message that reuses it (one this side sent to
   * another peer included) is a duplicate, never a second record under that id.
   */
  private async rememberSent(message: Message): Promise<void> {
    await this.remember(message.to, message.id, this.deps.clock.now());
  }

  private sentRecord(message: Message, state: SentState): MailRecord {
    const now = this.deps.clock.now();
    return { id: message.id, peer: message.to, direction: 'out', n: message.n, sentAt: message.sent_at, storedAt: now, body: message.body, state, changedAt: now, ...versionOf(message) };
  }

  // -- The outbox: sends the relay refused for now (full, busy, unreachable) ---------------------

  /**
   * Keeps a message the relay refused for now: its record (state `queued`, from which it is
   * sealed again) and when to post it again. Resolves undefined (nothing kept) when the outbox
   * already holds MAX_OUTBOX sends.
   */
  async queue(message: Message, lastError: string, nextTryAt: number): Promise<MailRecord | undefined> {
    return this.locked(async () => {
      const index = await this.readOutboxIndex();
      if (index.length >= MAX_OUTBOX) return undefined;
      const record = this.sentRecord(message, 'queued');
      const entry: OutboxEntry = { peer: message.to, id: message.id, queuedAt: record.storedAt, attempts: 1, nextTryAt, lastError };
      await this.deps.memory.set(outboxEntryKey(entry.peer, entry.id), JSON.stringify(entry));
      await this.storeRecord(record);
      await this.rememberSent(message);
      index.push({ peer: entry.peer, id: entry.id });
      await this.deps.memory.set(OUTBOX_KEY, JSON.stringify(index));
      return record;
    });
  }

  /** Every send waiting in the outbox, oldest first. */
  async outbox(): Promise<OutboxEntry[]> {
    const entries: OutboxEntry[] = [];
    for (const { peer, id } of await this.readOutboxIndex()) {
      const entry = parseObject(await this.deps.memory.get(outboxEntryKey(peer, id)));
      if (typeof entry['peer'] === 'string' && typeof entry['queuedAt'] === 'number' && typeof entry['nextTryAt'] === 'number') entries.push(entry as unknown as OutboxEntry);
    }
    return entries;
  }

  /** A queued send failed again: it is tried next at `nextTryAt`. */
  async retryLater(entry: OutboxEntry, lastError: string, nextTryAt: number): Promise<void> {
    await this.locked(async () => {
      if ((await this.deps.memory.get(outboxEntryKey(entry.peer, entry.id))) === undefined) return; // cancelled meanwhile
      const next: OutboxEntry = { ...entry, attempts: entry.attempts + 1, lastError, nextTryAt };
      await this.deps.memory.set(outboxEntryKey(entry.peer, entry.id), JSON.stringify(next));
    });
  }

  private async retryNowHeld(peer: string, now: number): Promise<void> {
    for (const entry of await this.outbox()) {
      if (entry.peer !== peer || entry.nextTryAt <= now) continue;
      await this.deps.memory.set(outboxEntryKey(peer, entry.id), JSON.stringify({ ...entry, nextTryAt: now }));
    }
  }

  /**
   * Ends a queued send: `sent` (the relay stored it at last), `failed` (refused for good or too
   * old) or `cancelled` (the person took it back). Resolves the record, or undefined if the send
   * was no longer queued (another process finished it).
   */
  async settleQueued(peer: string, id: string, state: 'sent' | 'failed' | 'cancelled'): Promise<MailRecord | undefined> {
    return this.locked(async () => {
      const index = await this.readOutboxIndex();
      const at = index.findIndex((entry) => entry.peer === peer && entry.id === id);
      if (at < 0) return undefined;
      index.splice(at, 1);
      await this.deps.memory.set(OUTBOX_KEY, JSON.stringify(index));
      await this.deps.memory.delete(outboxEntryKey(peer, id));
      const record = await this.readRecord(peer, id);
      if (!record || record.direction !== 'out') return undefined;
      record.state = state;
      record.changedAt = this.deps.clock.now();
      await this.deps.memory.set(recordKey(peer, id), JSON.stringify(record));
      return record;
    });
  }

  private async readOutboxIndex(): Promise<{ peer: string; id: string }[]> {
    const text = await this.deps.memory.get(OUTBOX_KEY);
    if (text === undefined) return [];
    try {
      const value = JSON.parse(text) as unknown;
      if (!Array.isArray(value)) return [];
      return value.filter((entry: unknown): entry is { peer: string; id: string } => {
        const fields = parseObject(JSON.stringify(entry ?? null));
        return typeof fields['peer'] === 'string' && typeof fields['id'] === 'string';
      });
    } catch {
      return [];
    }
  }

  // -- Receiving -------------------------------------------------------------------------------

  /** True if this id was accepted within the last 8 days. */
  async seen(id: string): Promise<boolean> {
    const entry = parseObject(await this.deps.memory.get(seenKey(id)));
    return typeof entry['at'] === 'number' && entry['at'] + DEDUP_MEMORY_MS > this.deps.clock.now();
  }

  /**
   * Stores one message that passed every check of 6.2, from `peer`; resolves `duplicate` (and
   * changes nothing) if its id was accepted before. Receipts mark sent messages delivered;
   * `inbox` bodies are the runner's to act on; everything else is kept `unread`. Rejects with
   * MessageRejected when the message cannot be taken as it is: its id is one this side sent to
   * that peer (it would take that record's place), or its `n` jumps past MAX_N_JUMP.
   */
  async accept(message: Message): Promise<Accepted | 'duplicate'> {
    return this.locked(() => this.acceptHeld(message));
  }

  private async acceptHeld(message: Message): Promise<Accepted | 'duplicate'> {
    const now = this.deps.clock.now();
    await this.moveLegacySeen(now);
    if (await this.seen(message.id)) return 'duplicate';
    const peer = message.from;
    const kept = await this.readRecord(peer, message.id);
    if (kept?.direction === 'out') {
      throw new MessageRejected('duplicate', `message ${message.id} has the id of a message this side sent; it cannot replace it`);
    }
    if (kept) {
      // Stored before a crash kept its id from being remembered: remembered now, stored once.
      await this.remember(peer, message.id, now);
      return { kind: 'stored', record: kept, overflowed: 0 };
    }
    const mail = await this.readPeer(peer);
    if (message.n - mail.highestN - 1 > MAX_N_JUMP) {
      throw new MessageRejected('bad_message', `message n ${message.n} skips more than ${MAX_N_JUMP} numbers past the highest seen from this peer (${mail.highestN})`);
    }
    trackN(mail, message.n, now);
    let accepted: Accepted;
    if (message.body.type === 'receipt') {
      accepted = { kind: 'receipt', delivered: await this.markDelivered(peer, (message.body as { ids: string[] }).ids, now) };
    } else if (message.body.type === 'inbox') {
      accepted = { kind: 'inbox' };
    } else if (message.v === 2 && message.body.type === 'keys') {
      accepted = { kind: 'keys' };
    } else {
      const unhandled = await this.unhandledOf(peer, mail);
      const record: MailRecord = { id: message.id, peer, direction: 'in', n: message.n, sentAt: message.sent_at, storedAt: now, body: message.body, state: 'unread', changedAt: now, ...versionOf(message) };
      await this.deps.memory.set(recordKey(peer, record.id), JSON.stringify(record));
      unhandled.push(record.id);
      // The oldest unhandled messages make room: reported, never silently.
      const overflow = unhandled.splice(0, Math.max(unhandled.length - this.maxUnhandledPerPeer, 0));
      for (const id of overflow) await this.deps.memory.delete(recordKey(peer, id));
      if (overflow.length > 0) {
        const gone = new Set(overflow);
        await this.writeIds(peer, [...(await this.readIds(peer)).filter((id) => !gone.has(id)), record.id]);
        mail.overflowed = (mail.overflowed ?? 0) + overflow.length;
      } else {
        await this.appendId(peer, record.id);
      }
      mail.unhandled = unhandled;
      accepted = { kind: 'stored', record, overflowed: overflow.length };
    }
    await this.writePeer(peer, mail);
    // The id is remembered last: a crash before this line re-reads the message, and the
    // record written above is simply written again.
    await this.remember(peer, message.id, now);
    return accepted;
  }

  /** The peer's unhandled ids; mail kept before they were listed is read once to list them. */
  private async unhandledOf(peer: string, mail: PeerMail): Promise<string[]> {
    if (mail.unhandled) return mail.unhandled;
    const unhandled: string[] = [];
    for (const id of await this.readIds(peer)) {
      const record = await this.readRecord(peer, id);
      if (record?.direction === 'in' && record.state !== 'handled') unhandled.push(id);
    }
    return unhandled;
  }

  /** Remembers an accepted id: its own key, and a line in the peer's seen log (bounded, expiring). */
  private async remember(owner: string, id: string, at: number): Promise<void> {
    const log = await this.readSeenLog(owner);
    const last = log.next > log.first ? await this.readChunk(seenChunkKey(owner, log.next - 1)) : undefined;
    const newChunk = last === undefined || last.length >= SEEN_CHUNK_IDS;
    if (newChunk) log.next += 1;
    const line = JSON.stringify([id, at]);
    // Appended to the chunk's text as it was last read or written, never parsed again.
    const chunk: SeenChunk = newChunk ? { text: `[${line}]`, length: 1, newest: at } : { text: last.text === '[]' ? `[${line}]` : `${last.text.slice(0, -1)},${line}]`, length: last.length + 1, newest: at };
    await this.deps.memory.set(seenKey(id), JSON.stringify({ peer: owner, at }));
    await this.writeChunk(seenChunkKey(owner, log.next - 1), chunk);
    if (newChunk) await this.deps.memory.set(seenLogKey(owner), JSON.stringify(log));
    await this.expireSeen(owner, log, at);
  }

  /**
   * Forgets whole chunks of a seen log, oldest first, once their newest id is past the dedup
   * memory or the owner has more than MAX_SEEN_PER_PEER: at most one chunk's deletions per call
   * beyond the expired ones, so accepting stays O(1) in what was seen before.
   */
  private async expireSeen(owner: string, log: SeenLog, now: number): Promise<void> {
    const start = log.first;
    const maxChunks = Math.max(Math.ceil(this.maxSeenPerPeer / SEEN_CHUNK_IDS), 1);
    while (log.next - log.first > 1) {
      const key = seenChunkKey(owner, log.first);
      const chunk = await this.readChunk(key);
      if (chunk.newest + DEDUP_MEMORY_MS > now && log.next - log.first <= maxChunks) break;
      for (const [id] of parseChunk(chunk.text)) await this.deps.memory.delete(seenKey(id));
      this.seenChunks.delete(key);
      await this.deps.memory.delete(key);
      log.first += 1;
    }
    if (log.first !== start) await this.deps.memory.set(seenLogKey(owner), JSON.stringify(log));
  }

  /**
   * A seen-log chunk: the entries of its stored text that are well formed, as JSON. Parsed only
   * when the stored text is not the one last read or written here (another process wrote it).
   */
  private async readChunk(key: string): Promise<SeenChunk> {
    const text = await this.deps.memory.get(key);
    const known = this.seenChunks.get(key);
    if (known !== undefined && known.stored === text) return known.chunk;
    const entries = parseChunk(text);
    const chunk: SeenChunk = { text: JSON.stringify(entries), length: entries.length, newest: entries.at(-1)?.[1] ?? 0 };
    this.rememberChunk(key, text, chunk);
    return chunk;
  }

  private async writeChunk(key: string, chunk: SeenChunk): Promise<void> {
    // Forgotten first: if the write fails, the next read parses what is stored.
    this.seenChunks.delete(key);
    await this.deps.memory.set(key, chunk.text);
    this.rememberChunk(key, chunk.text, chunk);
  }

  private rememberChunk(key: string, stored: string | undefined, chunk: SeenChunk): void {
    this.seenChunks.delete(key);
    if (stored === undefined) return;
    if (this.seenChunks.size >= CACHED_SEEN_CHUNKS) this.seenChunks.delete(this.seenChunks.keys().next().value ?? '');
    this.seenChunks.set(key, { stored, chunk });
  }

  private async readSeenLog(owner: string): Promise<SeenLog> {
    const stored = parseObject(await this.deps.memory.get(seenLogKey(owner)));
    const first = Number.isSafeInteger(stored['first']) ? (stored['first'] as number) : 0;
    const next = Number.isSafeInteger(stored['next']) ? (stored['next'] as number) : first;
    return { first, next: Math.max(next, first) };
  }

  /** The ids an earlier version kept as one `mail.seen` object move to per-id keys, once. */
  private async moveLegacySeen(now: number): Promise<void> {
    const text = await this.deps.memory.get(LEGACY_SEEN_KEY);
    if (text === undefined) return;
    for (const [id, at] of Object.entries(parseObject(text))) {
      if (typeof at === 'number' && at + DEDUP_MEMORY_MS > now) await this.remember(LEGACY_SEEN_OWNER, id, at);
    }
    await this.deps.memory.delete(LEGACY_SEEN_KEY);
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

  /**
   * How many times own inbox `slotId` was acknowledged at the relay, by any process of this
   * identity. Every acknowledgement is counted while the mailbox is held, once the relay answered
   * it, so a page read after this was looked at still holds only unacknowledged messages if the
   * count is the same, and no acknowledgement is due (`ackDue`), when the mailbox is held again.
   */
  async acknowledgements(slotId: string): Promise<number> {
    const count = Number(await this.deps.memory.get(acksKey(slotId)));
    return Number.isSafeInteger(count) ? count : 0;
  }

  /** The seq through which own inbox `slotId`'s stored messages still wait to be acknowledged at the relay, if any. */
  async ackDue(slotId: string): Promise<number | undefined> {
    const seq = Number(await this.deps.memory.get(ackDueKey(slotId)));
    return Number.isSafeInteger(seq) && seq > 0 ? seq : undefined;
  }

  /** Own inbox `slotId` is gone (a new one replaced it): nothing of it is due any more. */
  async forgetAckDue(slotId: string): Promise<void> {
    await this.locked(() => this.deps.memory.delete(ackDueKey(slotId)));
  }

  private async acknowledgeLaterHeld(slotId: string, seq: number): Promise<void> {
    await this.deps.memory.set(ackDueKey(slotId), String(Math.max(seq, (await this.ackDue(slotId)) ?? 0)));
  }

  private async acknowledgedHeld(slotId: string, seq: number): Promise<void> {
    const due = await this.ackDue(slotId);
    // A later pull may have stored more since: what it stored stays due.
    if (due !== undefined && due <= seq) await this.deps.memory.delete(ackDueKey(slotId));
    await this.deps.memory.set(acksKey(slotId), String((await this.acknowledgements(slotId)) + 1));
  }

  private async countDropHeld(reason: DropReason): Promise<void> {
    const counts = parseObject(await this.deps.memory.get(DROPPED_KEY)) as Record<string, number>;
    counts[reason] = (counts[reason] ?? 0) + 1;
    await this.deps.memory.set(DROPPED_KEY, JSON.stringify(counts));
  }

  // -- Reading and handling --------------------------------------------------------------------

  /** Messages with `peer` (or every listed peer), oldest first. */
  async list(peers: string[], filter: { unreadOnly?: boolean; direction?: 'in' | 'out' } = {}): Promise<MailRecord[]> {
    const records: MailRecord[] = [];
    for (const peer of peers) {
      for (const id of await this.readIds(peer)) {
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
    for (const id of await this.readIds(peer)) {
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
    const queued = (await this.readOutboxIndex()).filter((entry) => entry.peer === peer).length;
    return { peer, unread, lost: mail.lost, overflowed: mail.overflowed ?? 0, queued, ...(pending > 0 && { pendingGap: pending }), ...(lastIn && { lastIn }), ...(lastOut && { lastOut }) };
  }

  /** Drops settled messages past the retention and the oldest settled ones over the cap. */
  async prune(peer: string): Promise<number> {
    return this.locked(async () => {
      const now = this.deps.clock.now();
      const ids = await this.readIds(peer);
      const keep: string[] = [];
      const settled: string[] = [];
      for (const id of ids) {
        const record = await this.readRecord(peer, id);
        if (!record) continue;
        const isSettled = record.state === 'handled' || record.state === 'delivered' || record.state === 'sent' || record.state === 'failed' || record.state === 'cancelled';
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
      const removed = ids.length - keep.length;
      if (removed > 0) await this.writeIds(peer, keep);
      await this.expireSeen(peer, await this.readSeenLog(peer), now);
      await this.expireSeen(LEGACY_SEEN_OWNER, await this.readSeenLog(LEGACY_SEEN_OWNER), now);
      return removed;
    });
  }

  // -- Holding the mailbox ---------------------------------------------------------------------

  /**
   * Runs `operation` as one critical section of this identity's mailbox, across processes: a pull
   * reads the relay and stores what passed the checks through `held`, leaving its acknowledgement
   * due, which any other puller makes first before it looks. Rejects with `timeout` if another process kept the mailbox longer than
   * MAIL_LOCK_WAIT_MS.
   */
  async exclusive<T>(operation: (held: HeldMailbox) => Promise<T>): Promise<T> {
    return this.locked(() =>
      operation({
        accept: (message) => this.acceptHeld(message),
        countDrop: (reason) => this.countDropHeld(reason),
        acknowledgeLater: (slotId, seq) => this.acknowledgeLaterHeld(slotId, seq),
        acknowledged: (slotId, seq) => this.acknowledgedHeld(slotId, seq),
        nextN: (peer) => this.nextNHeld(peer),
        releaseN: (peer, n) => this.releaseNHeld(peer, n),
        retryNow: (peer, now) => this.retryNowHeld(peer, now),
      }),
    );
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
          mail.receiptsOwed.splice(0, Math.max(mail.receiptsOwed.length - MAX_RECEIPTS_OWED_PER_PEER, 0));
          mail.unhandled = (await this.unhandledOf(peer, mail)).filter((entry) => entry !== id);
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
    await this.appendId(record.peer, record.id);
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
    const text = await this.deps.memory.get(peerKey(peer));
    const known = this.peerMail.get(peer);
    if (known !== undefined && known.text === text) return copyPeerMail(known.mail);
    const mail: PeerMail = { ...emptyPeerMail(), ...(parseObject(text) as Partial<PeerMail>) };
    if (text === undefined) this.peerMail.delete(peer);
    else this.peerMail.set(peer, { text, mail: copyPeerMail(mail) });
    return mail;
  }

  /** Writes the record without the ids mail kept before `mail.ids.<fp>`, moving them there first if that key does not exist yet. */
  private async writePeer(peer: string, mail: PeerMail): Promise<void> {
    const { ids: legacyIds, ...kept } = mail;
    if (legacyIds !== undefined && (await this.deps.memory.get(idsKey(peer))) === undefined) await this.writeIds(peer, stringsOf(legacyIds));
    const text = JSON.stringify(kept);
    // Forgotten first: if the write fails, the next read parses what is stored.
    this.peerMail.delete(peer);
    await this.deps.memory.set(peerKey(peer), text);
    this.peerMail.set(peer, { text, mail: copyPeerMail(kept) });
  }

  /** The ids with `peer` in the order stored, as JSON (see peerIds): `mail.ids.<fp>`, or the ids mail kept before it in its record. */
  private async readIdsJson(peer: string): Promise<string> {
    const stored = await this.deps.memory.get(idsKey(peer));
    if (stored === undefined) {
      this.peerIds.delete(peer);
      return JSON.stringify(stringsOf((await this.readPeer(peer)).ids));
    }
    const known = this.peerIds.get(peer);
    if (known !== undefined && known.stored === stored) return known.json;
    let value: unknown;
    try {
      value = JSON.parse(stored);
    } catch {
      value = [];
    }
    const json = JSON.stringify(stringsOf(value));
    this.peerIds.set(peer, { stored, json });
    return json;
  }

  private async readIds(peer: string): Promise<string[]> {
    return JSON.parse(await this.readIdsJson(peer)) as string[];
  }

  /** One more id with `peer`, last in the order: appended to the list's JSON as it is. */
  private async appendId(peer: string, id: string): Promise<void> {
    const json = await this.readIdsJson(peer);
    const added = JSON.stringify(id);
    await this.writeIdsJson(peer, json === '[]' ? `[${added}]` : `${json.slice(0, -1)},${added}]`);
  }

  private async writeIds(peer: string, ids: string[]): Promise<void> {
    await this.writeIdsJson(peer, JSON.stringify(ids));
  }

  private async writeIdsJson(peer: string, json: string): Promise<void> {
    // Forgotten first: if the write fails, the next read parses what is stored.
    this.peerIds.delete(peer);
    await this.deps.memory.set(idsKey(peer), json);
    this.peerIds.set(peer, { stored: json, json });
  }
}

/** The strings of a list read from storage (a damaged one holds none, or only some). */
function stringsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((entry): entry is string => typeof entry === 'string') : [];
}

/** One chunk of a seen log: its entries' JSON text, how many, and the newest one's time. */
interface SeenChunk {
  text: string;
  length: number;
  newest: number;
}

interface SeenLog {
  /** The oldest chunk still kept. */
  first: number;
  /** The chunk after the newest (first === next: none). */
  next: number;
}

function parseChunk(text: string | undefined): [string, number][] {
  if (text === undefined) return [];
  try {
    const value = JSON.parse(text) as unknown;
    return Array.isArray(value) ? value.filter((entry): entry is [string, number] => Array.isArray(entry) && typeof entry[0] === 'string' && typeof entry[1] === 'number') : [];
  } catch {
    return [];
  }
}

/** A record says `v: 2` only for a section 7 message. */
function versionOf(message: Message): { v?: 2 } {
  return message.v === 2 ? { v: 2 } : {};
}

/**
 * Records `n` from a peer (at most MAX_N_JUMP past the highest seen, checked before): closes the
 * gap it fills, or opens one for the numbers it skipped, from 1 on (a lost first message shows).
 */
function trackN(mail: PeerMail, n: number, now: number): void {
  if (n > mail.highestN) {
    const skipped = n - mail.highestN - 1;
    if (skipped > 0) mail.gaps.push({ from: mail.highestN + 1, to: n - 1, since: now });
    for (const gap of mail.gaps.slice(0, Math.max(mail.gaps.length - MAX_OPEN_GAPS, 0))) gap.since = 0;
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
