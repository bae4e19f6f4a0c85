// The two messaging runners (PROTOCOL.md 6.4): every adapter (CLI, MCP, VS Code) sends and
// receives through these and renders their events; none writes its own poll or retry loop.
//
// Public API (what a front end needs):
//
//   const sender = new SendRunner(deps);
//   await sender.send(peerRef, body)          peerRef: a fingerprint or an unambiguous handle;
//                                             body: {type:'text',text,reply_to?} | {type:'data',data,reply_to?}.
//                                             Resolves once the peer's relay stored it:
//                                             {id, peer, record, queued: false} (record.state
//                                             'sent'); or, when the relay refused it for now (507,
//                                             429, 503, unreachable, after a few quick tries), once
//                                             it waits in the outbox: queued: true, record.state
//                                             'queued'. Rejects with a PairError: not_found /
//                                             bad_input (peer, body), too_large, revoked, inbox_gone...
//   await sender.flushOutbox()                posts the queued sends that are due (same envelope,
//                                             same id), backing off, until stored or 7 days old;
//                                             every receive round calls it
//   await sender.cancel(id)                   takes a queued send back (state 'cancelled')
//
//   const receiver = new ReceiveRunner(deps, { sender, lossGraceMs });
//   receiver.on((event) => ...)               every event below, as it happens
//   receiver.setHandover({budgets, wantsHandover})   decide each message's hand-over to an agent
//                                             as it is stored (see rules.ts)
//   await receiver.pull({ waitSeconds, signal })   one round over every own inbox (long-polls up
//                                             to waitSeconds, any length, while nothing happens);
//                                             resolves the events of that round the moment a
//                                             message is accepted (here, or by another process:
//                                             then with no events; read the mailbox). While `run`
//                                             goes on, a wait waits for the loop's next news
//   await receiver.run({ signal })            pulls until the signal aborts; relay trouble is an
//                                             event and a pause, never the end
//   await receiver.markRead(refs)             unread → read (no receipt)
//   await receiver.markHandled(refs)          → handled, then sends one receipt per peer
//   await decidePeerMove(deps, fp, decision, shownRelayUrl?)  the person accepts or refuses a
//                                             held move (the one at the address they were shown);
//                                             accepted, the peer's queued sends are due at once
//   receiver.mailbox                          list(), summary(peer) for views (unread counts,
//                                             last message each way, delivered, lost)
//   await forgetAndRevoke(deps, fingerprint)  what "forget" does in every front end (grants.ts)
//
// Events (MessagingEvent):
//   message      {record, peer, handover?}   a text/data (or unsupported-type) message, stored
//                                     unread; with a hand-over policy (setHandover), `handover`:
//                                     what the peer's rule and budget made of it, decided (and
//                                     spent) while it was stored; absent when this process would
//                                     not hand it over (it waits unread)
//   receipt      {peer, ids}          the peer handed these sent messages over: now 'delivered'
//   dropped      {reason, detail, relayUrl, seq}   an envelope that failed a check, or that could
//                                     not be stored or counted; never shown as from a peer;
//                                     counted, logged, still acknowledged: no message stops the pull
//   overflow     {peer, count}        older unhandled messages from that peer were dropped to keep
//                                     at most MAX_UNHANDLED_PER_PEER
//   lost         {peer, count}        the relay may have lost `count` messages from that peer
//   peerMoved    {peer, relayUrl}     the peer sent its new inbox on the same relay; its coordinates were replaced
//   peerMoveHeld {peer, relayUrl}     the peer asks to be written to on another relay: held until
//                                     the person accepts (decidePeerMove); an agent never does
//   inboxMoved   {relayUrl, told}     our inbox there was gone; a new one was made, peers told
//   sent         {record|undefined, peer, id}        a message (or a receipt, record undefined) stored
//                                     at the peer's relay, at once or from the outbox
//   queued       {record, peer, code, message}   the relay refused a send for now: in the outbox
//   sendFailed   {record, peer, code, message}   a queued send was refused for good or aged out
//   relayTrouble {relayUrl, code, message, peer?}   a relay call failed (with `peer`: telling that
//                                     peer about a new inbox failed); the runner retries later
//
// `refs` are {peer, id} pairs as found in `record.peer` / `record.id`.

import { fromBase64, toBase64, wipe } from './bytes.js';
import { type ErrorCode, PairError, isPairError, isRelayTrouble } from './errors.js';
import { loadIdentity, loadIdentityWithKey, loadSigningKey } from './identity.js';
import { IDENTITY_KID, type MessageV2, type ParsedEnvelopeV2, openEnvelopeV2, parseEnvelopeV2, sealEnvelopeV2 } from './messagesV2.js';
import { ReceiveKeys, type SendRoute } from './receiveKeys.js';
import { type OwnInbox, firstInbox, listOwnInboxes, pendingGrantIds, replaceInbox } from './inboxes.js';
import { type HeldMailbox, type MailRecord, Mailbox, type MailboxOptions, type OutboxEntry } from './mailbox.js';
import {
  type DropReason,
  type InboxBody,
  type Message,
  MAX_RECEIPT_IDS,
  MessageRejected,
  checkOutgoingBody,
  encodeMessage,
  newMessageId,
  openEnvelope,
  parseMessage,
  sealEnvelope,
  x25519PublicFromEd25519,
  x25519SecretFromSeed,
} from './messages.js';
import type { Clock, InboxMessage, InboxPage, MailLock, Memory, Random, RelayConnector, RelayPort, Vault } from './ports.js';
import { healGrants, revokePending } from './grants.js';
import { type Handover, type PeerBudgets, handoverOf } from './rules.js';
import { type PeerRef, type PinnedPeer, decideMove, findPeers, getPeer, heldMove, holdMove, listPeers, loadPeerSendToken, peerRefOf, updatePeer } from './trust.js';
import { relayOrigin } from './untrusted.js';
import { MAX_LONG_POLL_SECONDS, formatTimestamp } from './vocabulary.js';

export interface MessagingDeps {
  vault: Vault;
  memory: Memory;
  random: Random;
  clock: Clock;
  relays: RelayConnector;
  /** The identity's mailbox lock, shared with its other processes (see MailLock). */
  mailLock?: MailLock;
  /** One line per dropped envelope or relay trouble (never a secret, never message text). */
  log?: (line: string) => void;
}

export type { PeerRef };

export type MessagingEvent =
  | { type: 'message'; record: MailRecord; peer: PeerRef; handover?: Handover }
  | { type: 'receipt'; peer: PeerRef; ids: string[] }
  | { type: 'dropped'; reason: DropReason; detail: string; relayUrl: string; seq: number }
  | { type: 'overflow'; peer: PeerRef; count: number }
  | { type: 'lost'; peer: PeerRef; count: number }
  | { type: 'peerMoved'; peer: PeerRef; relayUrl: string }
  | { type: 'peerMoveHeld'; peer: PeerRef; relayUrl: string }
  | { type: 'inboxMoved'; relayUrl: string; told: PeerRef[] }
  | { type: 'sent'; record: MailRecord | undefined; peer: PeerRef; id: string }
  | { type: 'queued'; record: MailRecord; peer: PeerRef; code: ErrorCode; message: string }
  | { type: 'sendFailed'; record: MailRecord; peer: PeerRef; code: ErrorCode; message: string }
  | { type: 'relayTrouble'; relayUrl: string; code: ErrorCode; message: string; peer?: PeerRef };

export type MessagingListener = (event: MessagingEvent) => void;

/**
 * How a process that hands messages to an agent on its own (an MCP server, `inbox --follow
 * --exec`, the pulling VS Code window) has the receive runner decide each hand-over while it
 * still holds the mailbox (ReceiveRunner.setHandover).
 */
export interface HandoverPolicy {
  /** The hourly budgets, with the person's limits: one auto-handover is spent per message that goes. */
  budgets: PeerBudgets;
  /** Whether this process would hand a message from this `agent`-rule peer to an agent now; when not, nothing is spent and it waits unread. */
  wantsHandover(peer: PinnedPeer): boolean;
}

/** Tries of one send when the relay is unreachable, erring or asks us to slow down. */
export const SEND_ATTEMPTS = 4;
/** The first pause between send tries; it doubles each time. */
export const SEND_RETRY_BASE_MS = 500;
/** The pause after a failed pull before the next one, doubling up to the maximum. */
export const PULL_RETRY_BASE_MS = 1000;
export const PULL_RETRY_MAX_MS = 30_000;
/** The first pause before a queued send is tried again; it doubles each try up to the maximum. */
export const OUTBOX_RETRY_BASE_MS = 30_000;
export const OUTBOX_RETRY_MAX_MS = 30 * 60_000;
/** A queued send older than this fails: the receiver would drop it as stale anyway (7 days). */
export const OUTBOX_MAX_AGE_MS = 7 * 24 * 60 * 60 * 1000;
/** While a pairing that made a grant is in flight, a message under it waits: the pull looks again this often. */
export const PENDING_PAIRING_RECHECK_MS = 1000;
/** How often a receiver retries telling peers about a grant they have not heard of yet and sending receipts that failed, and prunes the mailbox. */
export const HEAL_INTERVAL_MS = 60_000;

const refOf = peerRefOf;
/**
 * Why a round ends the other inboxes' long polls once one had news: made once, as abort() without
 * a reason builds a DOMException, stack and all, in every round that had news.
 */
const ROUND_SETTLED = new DOMException('another inbox of this round had news', 'AbortError');
const publicKeyOf = (peer: PinnedPeer): Uint8Array => fromBase64(peer.card.key, 'card key', 32);

class Emitter {
  private readonly listeners = new Set<MessagingListener>();

  constructor(private readonly log?: (line: string) => void) {}

  on(listener: MessagingListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A listener that fails (a front end that cannot show an event) is logged, never stops the runner. */
  emit(event: MessagingEvent, collected?: MessagingEvent[]): void {
    collected?.push(event);
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.log?.(`showing a ${event.type} event failed: ${describeFailure(error)}`);
      }
    }
  }
}

/** A failure in a few words for a log line (never a stack, never message text). */
function describeFailure(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message.slice(0, 200)}`;
  return typeof error;
}

/**
 * A refusal that may pass (relay down, busy, slowing us down, the peer's inbox full, or gone until
 * the peer tells us its new one): the send waits in the outbox.
 */
function refusedForNow(error: unknown): boolean {
  return isRelayTrouble(error) || isPairError(error, 'inbox_full') || isPairError(error, 'inbox_gone');
}

// ---------------------------------------------------------------------------------------------
// Sending.

export interface Sent {
  id: string;
  peer: PeerRef;
  /** The kept record of a text or data message; undefined for receipts and inbox moves. */
  record: MailRecord | undefined;
  /** True when the relay refused it for now and it waits in the outbox (record.state 'queued'). */
  queued: boolean;
}

/** Resolves a fingerprint or an unambiguous handle to one pinned peer. */
export async function resolvePeer(deps: Pick<MessagingDeps, 'vault' | 'memory'>, reference: string): Promise<PinnedPeer> {
  const found = await findPeers(deps, reference);
  if (found.length === 1) return found[0] as PinnedPeer;
  if (found.length === 0) throw new PairError('not_found', `No pinned peer is called ${JSON.stringify(reference)}; expected a fingerprint or handle from the peers list.`);
  throw new PairError('bad_input', `${found.length} pinned peers share the handle ${JSON.stringify(reference)} (${found.map((peer) => peer.fingerprint).join(', ')}); name one by its fingerprint.`);
}

export class SendRunner {
  private readonly emitter: Emitter;
  readonly mailbox: Mailbox;
  /** Section 7's receive keys: the pool each peer gave (spent here) and the keys given to it. */
  readonly keys: ReceiveKeys;

  constructor(
    private readonly deps: MessagingDeps,
    mailbox?: Mailbox,
  ) {
    this.mailbox = mailbox ?? new Mailbox(deps);
    this.emitter = new Emitter(deps.log);
    this.keys = new ReceiveKeys(deps);
  }

  on(listener: MessagingListener): () => void {
    return this.emitter.on(listener);
  }

  /** Sends a text or data body to a pinned peer; see the API at the top of this file. */
  async send(peerRef: string | PinnedPeer, body: unknown): Promise<Sent> {
    const checked = checkOutgoingBody(body);
    if (checked.type !== 'text' && checked.type !== 'data') throw new PairError('bad_input', 'message body type must be text or data; receipts and inbox moves are sent by the runners.');
    const peer = typeof peerRef === 'string' ? await resolvePeer(this.deps, peerRef) : peerRef;
    return this.sendBody(peer, checked, true);
  }

  /**
   * Seals and posts one body; `keep` records it in the mailbox (text and data) and, when the
   * relay refuses it for now, keeps it in the outbox instead of failing.
   */
  async sendBody(peer: PinnedPeer, body: Message['body'], keep: boolean): Promise<Sent> {
    const loaded = await loadIdentityWithKey(this.deps);
    if (!loaded) throw new PairError('identity_missing', 'This side has no identity yet: set one up and pair first.');
    try {
      return await this.sendAs(loaded.identity.fingerprint, loaded.privateSeed, peer, body, keep);
    } finally {
      wipe(loaded.privateSeed);
    }
  }

  private async sendAs(self: string, seed: Uint8Array, peer: PinnedPeer, body: Message['body'], keep: boolean): Promise<Sent> {
    const sendToken = await loadPeerSendToken(this.deps, peer.fingerprint);
    if (sendToken === undefined) throw new PairError('not_found', `${peer.handle} (${peer.fingerprint}) is no longer pinned.`);
    if (keep) await this.flushOutbox();
    const { route, n } = await this.chooseRouteAndN(peer);
    const message: Message = {
      v: route.v,
      id: newMessageId(this.deps.random.bytes(16)),
      from: self,
      to: peer.fingerprint,
      n,
      sent_at: formatTimestamp(this.deps.clock.now()),
      body,
    };
    let envelopes: string[];
    try {
      envelopes = await this.sealForRoute(seed, peer, message, route);
    } catch (error) {
      await this.mailbox.releaseN(peer.fingerprint, n);
      throw error;
    }
    try {
      for (const envelope of envelopes) await this.post(peer, sendToken, envelope);
    } catch (error) {
      const record = keep && isPairError(error) && refusedForNow(error) ? await this.mailbox.queue(message, error.code, this.deps.clock.now() + OUTBOX_RETRY_BASE_MS) : undefined;
      if (record && isPairError(error)) {
        this.deps.log?.(`send ${message.id} to ${peer.fingerprint} queued: ${error.code}`);
        this.emitter.emit({ type: 'queued', record, peer: refOf(peer), code: error.code, message: error.message });
        return { id: message.id, peer: refOf(peer), record, queued: true };
      }
      // Refused for good: the number goes back, so the peer sees no gap for a message that never left.
      if (!isRelayTrouble(error)) await this.mailbox.releaseN(peer.fingerprint, n);
      throw error;
    }
    const record = keep ? await this.mailbox.recordSent(message) : undefined;
    const sent: Sent = { id: message.id, peer: refOf(peer), record, queued: false };
    this.emitter.emit({ type: 'sent', ...sent });
    return sent;
  }

  /**
   * Chooses (and spends) the peer's receive key: one critical section of the identity, like `n`,
   * so two processes never seal to one one-time key (PROTOCOL.md 7.2).
   */
  private async chooseRoute(peer: PinnedPeer): Promise<SendRoute> {
    return this.mailbox.exclusive(() => this.keys.route(peer.fingerprint));
  }

  /**
   * The route and the next `n` of a new message, in one critical section. Each is written to
   * disk before it resolves, and the two writes are independent files, so they go to the disk
   * together: a send waits for one fsync'd write instead of two in a row (and takes the lock
   * once). If choosing the route fails, `n` goes back, so the peer sees no gap for a message
   * that was never sealed; a key spent on a route whose `n` failed is only a key unused.
   */
  private async chooseRouteAndN(peer: PinnedPeer): Promise<{ route: SendRoute; n: number }> {
    return this.mailbox.exclusive(async (held) => {
      const [route, n] = await Promise.allSettled([this.keys.route(peer.fingerprint), held.nextN(peer.fingerprint)]);
      if (route.status === 'rejected') {
        if (n.status === 'fulfilled') await held.releaseN(peer.fingerprint, n.value);
        throw route.reason;
      }
      if (n.status === 'rejected') throw n.reason;
      return { route: route.value, n: n.value };
    });
  }

  /**
   * The envelopes that carry `message` on `route`, in the order to post them: when the peer gave
   * no keys yet, first the keys to upgrade with under kid "id", numbered like the message it
   * precedes so a peer that drops it (section 6 only) sees no gap in `n`.
   */
  private async sealForRoute(seed: Uint8Array, peer: PinnedPeer, message: Message, route: SendRoute): Promise<string[]> {
    const envelopes: string[] = [];
    if (route.v === 1 && route.upgrade) {
      const keysMessage: Message = { ...message, v: 2, id: newMessageId(this.deps.random.bytes(16)), body: { type: 'keys' } };
      envelopes.push(toBase64(await this.seal(seed, peer, keysMessage, { v: 2, kid: IDENTITY_KID, pub: x25519PublicFromEd25519(publicKeyOf(peer)), keys: route.upgrade })));
    }
    envelopes.push(toBase64(await this.seal(seed, peer, message, route)));
    return envelopes;
  }

  /** Section 6 (AuthSeal to the identity key) or section 7 (signed, sealed to the key `route` chose, carrying its top-up). */
  private async seal(seed: Uint8Array, peer: PinnedPeer, message: Message, route: SendRoute): Promise<Uint8Array> {
    if (route.v === 1) return sealEnvelope({ senderSeed: seed, recipientPublic: publicKeyOf(peer), recipientSlotId: peer.slotId, plaintext: encodeMessage(message) });
    return sealEnvelopeV2({ senderSeed: seed, recipientKey: route.pub, kid: route.kid, recipientSlotId: peer.slotId, message: { ...message, v: 2, keys: route.keys } });
  }

  /**
   * Posts the queued sends that are due, each once: stored ones turn `sent`, refused-for-now ones
   * wait longer (doubling up to OUTBOX_RETRY_MAX_MS), refused-for-good and week-old ones turn
   * `failed`. Each is sealed again from its record (same id, same n, same sent_at) for the
   * peer's inbox as it is now: a peer that moved gets it at its new inbox.
   */
  async flushOutbox(): Promise<void> {
    const now = this.deps.clock.now();
    // Every send and every pull round comes here: with nothing due, the identity is not read.
    const due = (await this.mailbox.outbox()).filter((entry) => entry.nextTryAt <= now);
    if (due.length === 0) return;
    const loaded = await loadIdentityWithKey(this.deps);
    if (!loaded) return;
    try {
      for (const entry of due) {
        const peer = await getPeer(this.deps, entry.peer);
        const sendToken = peer && (await loadPeerSendToken(this.deps, peer.fingerprint));
        const record = await this.mailbox.get(entry.peer, entry.id);
        if (!peer || sendToken === undefined || !record) {
          await this.failQueued(entry, peer, 'not_found', 'The peer is no longer pinned.');
          continue;
        }
        if (now - entry.queuedAt >= OUTBOX_MAX_AGE_MS) {
          await this.failQueued(entry, peer, 'timeout', `The relay did not take it for ${OUTBOX_MAX_AGE_MS / 86_400_000} days.`);
          continue;
        }
        // Sealed again on the route the peer's keys give now (a one-time key spent per try).
        const route = await this.chooseRoute(peer);
        const message: Message = { v: route.v, id: record.id, from: loaded.identity.fingerprint, to: peer.fingerprint, n: record.n, sent_at: record.sentAt, body: record.body };
        try {
          for (const envelope of await this.sealForRoute(loaded.privateSeed, peer, message, route)) await this.deps.relays(peer.relayUrl).postMessage(peer.slotId, sendToken, envelope);
          const settled = await this.mailbox.settleQueued(entry.peer, entry.id, 'sent');
          if (settled) this.emitter.emit({ type: 'sent', record: settled, peer: refOf(peer), id: entry.id });
        } catch (error) {
          if (!isPairError(error)) throw error;
          if (refusedForNow(error)) await this.mailbox.retryLater(entry, error.code, now + Math.min(OUTBOX_RETRY_BASE_MS * 2 ** entry.attempts, OUTBOX_RETRY_MAX_MS));
          else await this.failQueued(entry, peer, error.code, error.message);
        }
      }
    } finally {
      wipe(loaded.privateSeed);
    }
  }

  private async failQueued(entry: OutboxEntry, peer: PinnedPeer | undefined, code: ErrorCode, reason: string): Promise<void> {
    const record = await this.mailbox.settleQueued(entry.peer, entry.id, 'failed');
    this.deps.log?.(`queued send ${entry.id} to ${entry.peer} failed: ${code}`);
    if (record) this.emitter.emit({ type: 'sendFailed', record, peer: peer ? refOf(peer) : { fingerprint: entry.peer, handle: entry.peer }, code, message: reason });
  }

  /** Takes a queued send back before the relay stored it; rejects with not_found if it is not queued. */
  async cancel(id: string): Promise<MailRecord> {
    const entry = (await this.mailbox.outbox()).find((queued) => queued.id === id);
    const record = entry && (await this.mailbox.settleQueued(entry.peer, id, 'cancelled'));
    if (!record) throw new PairError('not_found', `No message ${JSON.stringify(id)} waits in the outbox: it was sent, failed or cancelled already, or never queued.`);
    return record;
  }

  /** POSTs with quick retries on relay trouble; every try carries the same envelope (same id). */
  private async post(peer: PinnedPeer, sendToken: string, envelope: string): Promise<void> {
    const relay = this.deps.relays(peer.relayUrl);
    for (let attempt = 1; ; attempt++) {
      try {
        await relay.postMessage(peer.slotId, sendToken, envelope);
        return;
      } catch (error) {
        if (isRelayTrouble(error) && attempt < SEND_ATTEMPTS) {
          await this.deps.clock.sleep(SEND_RETRY_BASE_MS * 2 ** (attempt - 1));
          continue;
        }
        if (isPairError(error, 'inbox_gone')) {
          throw new PairError('inbox_gone', `${peer.handle}'s inbox at ${peer.relayUrl} is gone (the relay restarted or forgot it). They get a new one the next time they read their messages, and tell you; what waits for them goes there then.`);
        }
        if (isPairError(error, 'revoked')) {
          throw new PairError('revoked', `The relay refused to deliver to ${peer.handle} (${peer.fingerprint}): they forgot you or revoked your access. Pair again to talk to them.`);
        }
        throw error;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Receiving.

/** A page a long poll returned, and how many times its inbox had been acknowledged when the poll began. */
interface PolledPage {
  page: InboxPage;
  acknowledgements: number;
}

/** What one round of a pull did: its events, and whether anything happened (here or in another process). */
interface Round {
  events: MessagingEvent[];
  news: boolean;
}

export interface ReceiveOptions extends MailboxOptions {
  sender?: SendRunner;
}

export class ReceiveRunner {
  private readonly emitter: Emitter;
  readonly mailbox: Mailbox;
  readonly sender: SendRunner;
  /** When grants were last healed (a move another process saw, an announcement that failed); after a move, at once. */
  private healedAt: number | undefined;
  /** `run` loops going on now: while one does, `pull` waits for its news instead of reading. */
  private runs = 0;
  /** Readers waiting (pull with a wait) for the running loop's next news. */
  private readonly waiters = new Set<(events: MessagingEvent[]) => void>();
  private handover: HandoverPolicy | undefined;

  constructor(
    private readonly deps: MessagingDeps,
    options: ReceiveOptions = {},
  ) {
    this.mailbox = new Mailbox(deps, options);
    this.sender = options.sender ?? new SendRunner(deps, this.mailbox);
    this.emitter = new Emitter(deps.log);
    // A waiting reader returns the moment the running loop accepts a message (or has other news).
    this.emitter.on((event) => {
      this.wakeWaiters([event]);
    });
  }

  on(listener: MessagingListener): () => void {
    return this.emitter.on(listener);
  }

  /**
   * From now on each message stored here carries its hand-over (`message` event, `handover`),
   * decided by `policy` in the critical section that stored it; undefined: none any more.
   */
  setHandover(policy: HandoverPolicy | undefined): void {
    this.handover = policy;
  }

  /**
   * One round over every own inbox: reads (long-polling up to `waitSeconds` while all are
   * empty), checks and stores each envelope, acknowledges what was stored, reports losses. It
   * returns the moment something happened: a message this round accepted, or one another
   * process of the identity accepted first (the round's events are then empty, and the caller
   * finds it in the mailbox). While `run` pulls in this process, a wait is a wait for the loop's
   * next news (two long polls of one runner would only race each other); without a wait it still
   * reads what is there now, so the caller sees everything that arrived before it asked.
   */
  async pull(options: { waitSeconds?: number; signal?: AbortSignal } = {}): Promise<MessagingEvent[]> {
    if (this.runs > 0 && (options.waitSeconds ?? 0) > 0) return this.nextNewsOfRun(options);
    return (await this.pullUntilNews(options)).events;
  }

  private async pullUntilNews(options: { waitSeconds?: number; signal?: AbortSignal }): Promise<Round> {
    const deadline = this.deps.clock.now() + Math.max(options.waitSeconds ?? 0, 0) * 1000;
    if ((await listOwnInboxes(this.deps)).length === 0) {
      // Nothing to read yet (no pairing made an inbox): the wait still passes, so `run` does not spin.
      const waitMs = Math.min(deadline - this.deps.clock.now(), MAX_LONG_POLL_SECONDS * 1000);
      if (waitMs > 0 && !options.signal?.aborted) await this.deps.clock.sleep(waitMs, options.signal);
      return { events: [], news: false };
    }
    // Waits longer than one long poll are several long polls, until something happens.
    for (;;) {
      const leftSeconds = Math.max(deadline - this.deps.clock.now(), 0) / 1000;
      const round = await this.pullRound(Math.min(leftSeconds, MAX_LONG_POLL_SECONDS), options.signal);
      if (round.news || leftSeconds <= MAX_LONG_POLL_SECONDS || options.signal?.aborted) return round;
    }
  }

  /** A reader's wait while `run` pulls: up to `waitSeconds`, ended by the loop's next event or news. */
  private async nextNewsOfRun(options: { waitSeconds?: number; signal?: AbortSignal }): Promise<MessagingEvent[]> {
    const waitMs = Math.max(options.waitSeconds ?? 0, 0) * 1000;
    const woken = new AbortController();
    let news: MessagingEvent[] = [];
    const waiter = (events: MessagingEvent[]): void => {
      news = events;
      woken.abort();
    };
    this.waiters.add(waiter);
    try {
      await this.deps.clock.sleep(waitMs, options.signal ? AbortSignal.any([options.signal, woken.signal]) : woken.signal);
    } finally {
      this.waiters.delete(waiter);
    }
    return news;
  }

  private wakeWaiters(events: MessagingEvent[]): void {
    for (const waiter of [...this.waiters]) waiter(events);
  }

  private async pullRound(waitSeconds: number, outerSignal: AbortSignal | undefined): Promise<Round> {
    const events: MessagingEvent[] = [];
    const now = this.deps.clock.now();
    if (this.healedAt === undefined || now - this.healedAt >= HEAL_INTERVAL_MS) {
      this.healedAt = now;
      await this.healGrants(events);
      await revokePending(this.deps);
      await this.sendReceipts();
      for (const peer of await listPeers(this.deps)) {
        await this.mailbox.prune(peer.fingerprint);
        await this.mailbox.exclusive(() => this.sender.keys.prune(peer.fingerprint));
      }
    }
    // Queued sends go out with the pull, whichever front end runs it; what became of them is
    // this round's news too.
    const stopForwarding = this.sender.on((event) => {
      if (event.type === 'sent' || event.type === 'sendFailed') this.emitter.emit(event, events);
    });
    try {
      await this.sender.flushOutbox();
    } catch (error) {
      if (!isPairError(error)) throw error;
      this.deps.log?.(`outbox: ${error.code}: ${error.message}`);
    } finally {
      stopForwarding();
    }
    const inboxes = await listOwnInboxes(this.deps);
    if (inboxes.length === 0) return { events, news: events.length > 0 };
    // Every inbox is long-polled at once; the first one with news ends the others' waits.
    const settle = new AbortController();
    const signal = outerSignal ? AbortSignal.any([outerSignal, settle.signal]) : settle.signal;
    const got = await Promise.all(
      inboxes.map(async (inbox) => {
        const news = await this.pullInbox(inbox, waitSeconds, signal, events);
        if (news) settle.abort(ROUND_SETTLED);
        return news;
      }),
    );
    for (const loss of await this.mailbox.takeLosses((await listPeers(this.deps)).map((peer) => peer.fingerprint))) {
      const peer = await getPeer(this.deps, loss.peer);
      this.emitter.emit({ type: 'lost', peer: peer ? refOf(peer) : { fingerprint: loss.peer, handle: loss.peer }, count: loss.count }, events);
    }
    return { events, news: got.includes(true) || events.length > 0 };
  }

  /**
   * Pulls until `signal` aborts; relay trouble pauses (doubling) and never ends the loop. While
   * it runs, `pull` waits for its news (see pull).
   */
  async run(options: { signal: AbortSignal; waitSeconds?: number }): Promise<void> {
    let pauseMs = 0;
    this.runs += 1;
    try {
      while (!options.signal.aborted) {
        const round = await this.pullUntilNews({ waitSeconds: options.waitSeconds ?? MAX_LONG_POLL_SECONDS, signal: options.signal });
        // Events woke the waiting readers as they happened; news from another process wakes them here.
        if (round.news && round.events.length === 0) this.wakeWaiters([]);
        pauseMs = round.events.some((event) => event.type === 'relayTrouble') ? Math.min(Math.max(pauseMs * 2, PULL_RETRY_BASE_MS), PULL_RETRY_MAX_MS) : 0;
        // The stop ends the pause too: a window closing must not wait out a 30 s backoff.
        if (pauseMs > 0) await this.deps.clock.sleep(pauseMs, options.signal);
      }
    } finally {
      this.runs -= 1;
      // Nobody pulls for them any more.
      if (this.runs === 0) this.wakeWaiters([]);
    }
  }

  async markRead(refs: { peer: string; id: string }[]): Promise<MailRecord[]> {
    return this.mailbox.markRead(refs);
  }

  /** Marks messages handled and sends each peer a receipt for what it handed over. */
  async markHandled(refs: { peer: string; id: string }[]): Promise<MailRecord[]> {
    const changed = await this.mailbox.markHandled(refs);
    await this.sendReceipts([...new Set(changed.map((record) => record.peer))]);
    return changed;
  }

  /** Sends owed receipts (at most 100 ids each); what fails stays owed for the next call. */
  async sendReceipts(peers?: string[]): Promise<void> {
    for (const peer of peers ?? (await listPeers(this.deps)).map((entry) => entry.fingerprint)) {
      const pinned = await getPeer(this.deps, peer);
      if (!pinned) continue;
      let owed = await this.mailbox.receiptsOwed(peer);
      while (owed.length > 0) {
        const ids = owed.slice(0, MAX_RECEIPT_IDS);
        try {
          await this.sender.sendBody(pinned, { type: 'receipt', ids }, false);
        } catch (error) {
          if (!isPairError(error)) throw error;
          this.trouble(pinned.relayUrl, error);
          break;
        }
        await this.mailbox.receiptsSent(peer, ids);
        owed = owed.slice(ids.length);
      }
    }
  }

  /** Reads one inbox; true if it had messages (stored here, or by another process after they woke this one). */
  private async pullInbox(inbox: OwnInbox, waitSeconds: number, signal: AbortSignal, events: MessagingEvent[]): Promise<boolean> {
    const relay = this.deps.relays(inbox.relayUrl);
    try {
      // An acknowledgement still due (it failed, or its process ended first) is made before the
      // long poll, which would otherwise return at once with what was stored already.
      if ((await this.mailbox.ackDue(inbox.slotId)) !== undefined) await this.mailbox.exclusive((held) => this.acknowledgeDue(held, inbox, relay));
      let polled: PolledPage | undefined;
      if (waitSeconds > 0) {
        // The long poll only waits for news, holding nothing: another process of this identity
        // may be waiting on the same inbox and take the news first (readHeld looks).
        const acknowledgements = await this.mailbox.acknowledgements(inbox.slotId);
        const page = await relay.readMessages(inbox.slotId, inbox.ownerToken, { after: 0, waitSeconds, signal });
        if (page.messages.length === 0) return false;
        polled = { page, acknowledgements };
      }
      const { got, storedThrough } = await this.readHeld(inbox, relay, events, polled);
      if (storedThrough > 0) {
        // Deleted at the relay only now that every one of them is stored (or dropped) here, and
        // outside the critical section: a receipt for what was just stored need not wait for it.
        // Nor does it go out behind the acknowledgement, which no one waits on: a handover that
        // this round's events started seals and posts its receipt before the next turn.
        await this.deps.clock.sleep(0, signal);
        await relay.ackMessages(inbox.slotId, inbox.ownerToken, storedThrough);
        await this.mailbox.exclusive((held) => held.acknowledged(inbox.slotId, storedThrough));
      }
      if (got === 'waiting') {
        // A message under the grant of a pairing still in flight: it is read once the peer is pinned.
        await this.deps.clock.sleep(PENDING_PAIRING_RECHECK_MS, signal);
        return false;
      }
      // Nothing left when our turn came after the relay woke us: another process of this
      // identity stored it first, which is news for whoever waits here too (it is in the mailbox).
      return got || waitSeconds > 0;
    } catch (error) {
      if (isPairError(error, 'cancelled')) return false;
      // Another process of this identity held the mailbox all along: it is pulling this news.
      if (isPairError(error, 'timeout')) return false;
      if (isPairError(error, 'inbox_gone')) {
        await this.moveInbox(inbox, events);
        return true;
      }
      if (!isPairError(error)) throw error;
      this.trouble(inbox.relayUrl, error, events);
      return false;
    }
  }

  /**
   * Reads and stores one inbox as one critical section of the mailbox, across processes, and
   * marks what it stored due for acknowledgement (the caller makes it at the relay once the
   * mailbox is given back). Whoever comes next first acknowledges what is still due, so it reads
   * only what the first left at the relay. `got`: true if there were messages; `waiting` if the
   * first one left is under the grant of a pairing still in flight (it and everything after it
   * stay at the relay until the pairing finishes or ends). `storedThrough`: the seq to
   * acknowledge, 0 for none. `polled`: what the long poll just returned, read as it is unless the
   * inbox was acknowledged since the poll began, or is due to be (here or in another process):
   * then some of it may be gone (stored by that one), and the relay is asked again. Either way
   * one page, from the start.
   */
  private async readHeld(inbox: OwnInbox, relay: RelayPort, events: MessagingEvent[], polled?: PolledPage): Promise<{ got: boolean | 'waiting'; storedThrough: number }> {
    return this.mailbox.exclusive(async (held) => {
      const wasDue = await this.acknowledgeDue(held, inbox, relay);
      // Always from the start: whatever is still there was not acknowledged. A relay that
      // invents seqs cannot make this side skip a real message that later takes that number.
      const unchanged = polled !== undefined && !wasDue && (await this.mailbox.acknowledgements(inbox.slotId)) === polled.acknowledgements;
      const page = unchanged ? polled.page : await relay.readMessages(inbox.slotId, inbox.ownerToken, { after: 0 });
      if (page.messages.length === 0) return { got: false, storedThrough: 0 };
      const identity = await loadIdentity(this.deps);
      if (!identity) throw new PairError('identity_missing', 'This side has no identity; it cannot read its inbox.');
      const peers = await listPeers(this.deps);
      const inFlight = await pendingGrantIds(this.deps, this.deps.clock.now());
      const pinnedGrants = new Set(peers.map((peer) => peer.grant?.grantId));
      let last = 0;
      let waiting = false;
      for (const stored of [...page.messages].sort((a, b) => a.seq - b.seq)) {
        if (inFlight.has(stored.grantId) && !pinnedGrants.has(stored.grantId)) {
          waiting = true;
          break;
        }
        await this.receiveOne(held, inbox, stored, identity.fingerprint, peers, events);
        last = stored.seq;
      }
      if (last > 0) await held.acknowledgeLater(inbox.slotId, last);
      return { got: waiting && last === 0 ? 'waiting' : true, storedThrough: last };
    });
  }

  /** Makes the acknowledgement still due for `inbox` at the relay, if one is (true then), while the mailbox is held. */
  private async acknowledgeDue(held: HeldMailbox, inbox: OwnInbox, relay: RelayPort): Promise<boolean> {
    const due = await this.mailbox.ackDue(inbox.slotId);
    if (due === undefined) return false;
    await relay.ackMessages(inbox.slotId, inbox.ownerToken, due);
    await held.acknowledged(inbox.slotId, due);
    return true;
  }

  /**
   * Checks, stores and announces one envelope. Whatever goes wrong with this one message (a
   * failed check, or anything thrown while storing or counting it) drops it with a reason, and
   * the pull goes on to acknowledge it: no message can stop the pull. Only this side's own
   * storage failing or staying busy (storage_failed, timeout) ends the round, leaving everything
   * at the relay for the next one.
   */
  private async receiveOne(held: HeldMailbox, inbox: OwnInbox, stored: InboxMessage, self: string, peers: PinnedPeer[], events: MessagingEvent[]): Promise<void> {
    const { seq, value, grantId } = stored;
    try {
      let envelope: Uint8Array;
      try {
        envelope = fromBase64(value, 'envelope');
      } catch {
        throw new MessageRejected('bad_envelope', 'the stored value is not base64');
      }
      await this.sendersOf(inbox, grantId, peers);
      const v2 = parseEnvelopeV2(envelope);
      const { peer, message } = v2 ? await this.openV2FromGrant(inbox, grantId, v2, peers, self) : await this.openV1(inbox, grantId, envelope, peers, self);
      const accepted = await held.accept(message);
      // Section 7.4, after the message is stored: the one-time key's secret goes, the keys it
      // carries join the peer's pool, and section 6 envelopes from the peer are refused from now on.
      if (v2) await this.sender.keys.accepted(peer.fingerprint, v2.kid, accepted === 'duplicate' ? [] : (message as MessageV2).keys, Date.parse(message.sent_at));
      if (accepted === 'duplicate') throw new MessageRejected('duplicate', `message ${message.id} was accepted before (a replay)`);
      if (accepted.kind === 'stored') {
        const handover = await this.handoverIn(held, peer, accepted.record);
        this.emitter.emit({ type: 'message', record: accepted.record, peer: refOf(peer), ...(handover && { handover }) }, events);
        if (accepted.overflowed > 0) this.emitter.emit({ type: 'overflow', peer: refOf(peer), count: accepted.overflowed }, events);
      } else if (accepted.kind === 'receipt') {
        if (accepted.delivered.length > 0) this.emitter.emit({ type: 'receipt', peer: refOf(peer), ids: accepted.delivered }, events);
      } else if (message.body.type === 'inbox') {
        await this.peerMoves(held, peer, message.body as InboxBody, events);
      }
    } catch (error) {
      if (isPairError(error, 'storage_failed') || isPairError(error, 'timeout')) throw error;
      const rejected = error instanceof MessageRejected ? error : new MessageRejected('unprocessable', `handling it failed (${describeFailure(error)})`);
      try {
        await held.countDrop(rejected.reason);
      } catch (countError) {
        this.deps.log?.(`could not count a dropped message: ${describeFailure(countError)}`);
      }
      this.deps.log?.(`dropped message seq ${seq} at ${inbox.relayUrl}: ${rejected.reason}: ${rejected.message}`);
      this.emitter.emit({ type: 'dropped', reason: rejected.reason, detail: rejected.message, relayUrl: inbox.relayUrl, seq }, events);
    }
  }

  /**
   * With a hand-over policy: what becomes of a message just stored from `peer` (its rule as read
   * in this critical section), one auto-handover spent here when it goes to an agent. A decision
   * that cannot be made (the budget's storage failing) is none: the message is stored, and waits.
   */
  private async handoverIn(held: HeldMailbox, peer: PinnedPeer, record: MailRecord): Promise<Handover | undefined> {
    const policy = this.handover;
    if (!policy || (peer.rule === 'agent' && !policy.wantsHandover(peer))) return undefined;
    try {
      return await handoverOf(peer, policy.budgets, held);
    } catch (error) {
      this.deps.log?.(`deciding the hand-over of message ${record.id} failed: ${describeFailure(error)}`);
      return undefined;
    }
  }

  /** A section 6 envelope: opened with the key of the peer the grant names, refused from a peer that spoke v2. */
  private async openV1(inbox: OwnInbox, grantId: string, envelope: Uint8Array, peers: PinnedPeer[], self: string): Promise<{ peer: PinnedPeer; message: Message }> {
    const { peer, plaintext } = await this.openFromGrant(inbox, grantId, envelope, peers);
    if (await this.sender.keys.spokeV2(peer.fingerprint)) throw new MessageRejected('downgrade', `${peer.fingerprint} already spoke v2; a section 6 envelope from it is refused`);
    return { peer, message: parseMessage(plaintext, { from: peer.fingerprint, to: self, now: this.deps.clock.now() }) };
  }

  /**
   * A section 7 envelope: the peer the grant names, the secret of the key this side gave it (or
   * the identity's for kid "id"), and every check of 7.4. A peer pinned before grants were
   * remembered is known by its signature, as openFromGrant knows it by its key.
   */
  private async openV2FromGrant(inbox: OwnInbox, grantId: string, envelope: ParsedEnvelopeV2, peers: PinnedPeer[], self: string): Promise<{ peer: PinnedPeer; message: MessageV2 }> {
    const { named, unknown } = await this.sendersOf(inbox, grantId, peers);
    const open = async (peer: PinnedPeer): Promise<MessageV2> => {
      // The identity's secret is derived here and wiped after; a receive key's bytes are
      // ReceiveKeys', wiped there once the key is deleted (a one-time key: once this message is stored).
      let derived: Uint8Array | undefined;
      let secret: Uint8Array | undefined;
      if (envelope.kid === IDENTITY_KID) {
        const seed = await loadSigningKey(this.deps);
        derived = secret = x25519SecretFromSeed(seed);
        wipe(seed);
      } else {
        secret = await this.sender.keys.secretFor(peer.fingerprint, envelope.kid);
      }
      try {
        return await openEnvelopeV2({ envelope, recipientSecret: secret, ownSlotId: inbox.slotId, senderPublic: publicKeyOf(peer), expect: { from: peer.fingerprint, to: self, now: this.deps.clock.now() } });
      } finally {
        if (derived) wipe(derived);
      }
    };
    if (named) return { peer: named, message: await open(named) };
    for (const peer of unknown) {
      try {
        const message = await open(peer);
        await updatePeer(this.deps, peer.fingerprint, { grant: { relayUrl: inbox.relayUrl, slotId: inbox.slotId, grantId, announced: true } });
        return { peer, message };
      } catch (error) {
        if (!(error instanceof MessageRejected)) throw error;
      }
    }
    throw new MessageRejected('unknown_grant', `the relay reports grant ${grantId}, which this side gave no pinned peer`);
  }

  /**
   * Who may have sent under `grantId`: the peer it was given to, else the peers pinned before
   * grants were remembered that were given this inbox (each is tried). Neither: `unknown_grant`,
   * whatever the bytes are, so nothing from a stranger is parsed.
   */
  private async sendersOf(inbox: OwnInbox, grantId: string, peers: PinnedPeer[]): Promise<{ named: PinnedPeer | undefined; unknown: PinnedPeer[] }> {
    const named = peers.find((peer) => peer.grant?.grantId === grantId && peer.grant.slotId === inbox.slotId);
    if (named) return { named, unknown: [] };
    const first = await firstInbox(this.deps);
    const unknown = peers.filter((peer) => (peer.grant ? peer.grant.grantId === undefined && peer.grant.slotId === inbox.slotId : first?.slotId === inbox.slotId));
    if (unknown.length === 0) throw new MessageRejected('unknown_grant', `the relay reports grant ${grantId}, which this side gave no pinned peer`);
    return { named, unknown };
  }

  /**
   * The peer names a new inbox (PROTOCOL.md 6.2). On the same relay it applies at once; on
   * another relay it would make this side send where the peer chose, so it waits for the person.
   */
  private async peerMoves(held: HeldMailbox, peer: PinnedPeer, body: InboxBody, events: MessagingEvent[]): Promise<void> {
    const move = { relayUrl: body.relay_url, slotId: body.slot_id, sendToken: body.send_token };
    if (relayOrigin(move.relayUrl) === relayOrigin(peer.relayUrl)) {
      await updatePeer(this.deps, peer.fingerprint, { inbox: move });
      // What waited in the outbox for this peer (its old inbox gone) goes to the new one next.
      await held.retryNow(peer.fingerprint, this.deps.clock.now());
      this.emitter.emit({ type: 'peerMoved', peer: refOf(peer), relayUrl: move.relayUrl }, events);
      return;
    }
    await holdMove(this.deps, peer.fingerprint, { ...move, at: this.deps.clock.now() });
    this.emitter.emit({ type: 'peerMoveHeld', peer: refOf(peer), relayUrl: move.relayUrl }, events);
  }

  /**
   * The peer the grant names opens the envelope. A peer pinned before grants were remembered
   * has no grant id: each such peer given this inbox is tried, and the one whose key opens it
   * is known by that grant id from then on (Auth mode: only the sender's key opens).
   */
  private async openFromGrant(inbox: OwnInbox, grantId: string, envelope: Uint8Array, peers: PinnedPeer[]): Promise<{ peer: PinnedPeer; plaintext: Uint8Array }> {
    const seed = await loadSigningKey(this.deps);
    try {
      const { named, unknown } = await this.sendersOf(inbox, grantId, peers);
      if (named) return { peer: named, plaintext: await openEnvelope({ recipientSeed: seed, senderPublic: publicKeyOf(named), ownSlotId: inbox.slotId, envelope }) };
      for (const peer of unknown) {
        try {
          const plaintext = await openEnvelope({ recipientSeed: seed, senderPublic: publicKeyOf(peer), ownSlotId: inbox.slotId, envelope });
          await updatePeer(this.deps, peer.fingerprint, { grant: { relayUrl: inbox.relayUrl, slotId: inbox.slotId, grantId, announced: true } });
          return { peer, plaintext };
        } catch (error) {
          if (!(error instanceof MessageRejected) || error.reason === 'bad_envelope') throw error;
        }
      }
      throw new MessageRejected('unknown_grant', `the relay reports grant ${grantId}, which this side gave no pinned peer`);
    } finally {
      wipe(seed);
    }
  }

  /** Our inbox at a relay is gone: a new one there, and every peer given the old one is told. */
  private async moveInbox(gone: OwnInbox, events: MessagingEvent[]): Promise<void> {
    try {
      await replaceInbox(this.deps, this.deps.relays(gone.relayUrl), gone.slotId);
    } catch (error) {
      if (!isPairError(error)) throw error;
      this.trouble(gone.relayUrl, error, events);
      return;
    }
    await this.mailbox.forgetAckDue(gone.slotId);
    const told = await this.healGrants(events);
    this.emitter.emit({ type: 'inboxMoved', relayUrl: gone.relayUrl, told }, events);
  }

  /** Gives a new grant to every peer whose grant is on an inbox we no longer have, and tells it. */
  async healGrants(events?: MessagingEvent[]): Promise<PeerRef[]> {
    return healGrants(this.deps, this.sender, (error, relayUrl, peer) => {
      this.trouble(relayUrl, error, events, peer);
    });
  }

  private trouble(relayUrl: string, error: PairError, events?: MessagingEvent[], peer?: PeerRef): void {
    this.deps.log?.(`relay ${relayUrl}: ${error.code}: ${error.message}`);
    this.emitter.emit({ type: 'relayTrouble', relayUrl, code: error.code, message: error.message, ...(peer && { peer }) }, events);
  }
}

/** Moves to another relay that peers asked for and that wait for the person's answer. */
export async function heldMoves(deps: Pick<MessagingDeps, 'vault' | 'memory'>): Promise<{ peer: PeerRef; relayUrl: string; at: number }[]> {
  const held: { peer: PeerRef; relayUrl: string; at: number }[] = [];
  for (const peer of await listPeers(deps)) {
    const move = await heldMove(deps, peer.fingerprint);
    if (move) held.push({ peer: refOf(peer), relayUrl: move.relayUrl, at: move.at });
  }
  return held;
}

/**
 * The person accepts or refuses the move a peer asked for (never an agent: it would make this
 * side send to an address the peer chose). Rejects with not_found if that peer asked for none,
 * and with conflict if `shownRelayUrl` (the address the person was shown) is no longer the one
 * it asks for (it asked again meanwhile).
 */
export async function decidePeerMove(deps: Pick<MessagingDeps, 'vault' | 'memory' | 'clock' | 'mailLock'>, peerRef: string, decision: 'accept' | 'refuse', shownRelayUrl?: string): Promise<{ peer: PeerRef; relayUrl: string }> {
  const peer = await resolvePeer(deps, peerRef);
  const move = await decideMove(deps, peer.fingerprint, decision, shownRelayUrl);
  if (!move) throw new PairError('not_found', `${peer.handle} (${peer.fingerprint}) has not asked to move to another relay.`);
  // What waited in the outbox for this peer (its old inbox gone or unreachable) goes to the new
  // relay at the next send or pull, as after a move on the same relay, not at its backoff's end.
  if (decision === 'accept') await new Mailbox(deps).exclusive((held) => held.retryNow(peer.fingerprint, deps.clock.now()));
  return { peer: refOf(peer), relayUrl: move.relayUrl };
}
