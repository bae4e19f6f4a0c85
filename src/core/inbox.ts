// The two messaging runners (PROTOCOL.md 6.4): every adapter (CLI, MCP, VS Code) sends and
// receives through these and renders their events; none writes its own poll or retry loop.
//
// Public API (what a front end needs):
//
//   const sender = new SendRunner(deps);
//   await sender.send(peerRef, body)          peerRef: a fingerprint or an unambiguous handle;
//                                             body: {type:'text',text,reply_to?} | {type:'data',data,reply_to?}.
//                                             Resolves once the peer's relay stored it:
//                                             {id, seq, peer, record} (record.state 'sent').
//                                             Rejects with a PairError: not_found / bad_input (peer,
//                                             body), too_large, inbox_full, revoked, inbox_gone,
//                                             relay_unreachable... Network errors, 429 and 503 are
//                                             retried with the same envelope (same id).
//
//   const receiver = new ReceiveRunner(deps, { sender, lossGraceMs });
//   receiver.on((event) => ...)               every event below, as it happens
//   await receiver.pull({ waitSeconds, signal })   one round over every own inbox (long-polls up
//                                             to waitSeconds, any length, while nothing happens);
//                                             resolves the events of that round
//   await receiver.run({ signal })            pulls until the signal aborts; relay trouble is an
//                                             event and a pause, never the end
//   await receiver.markRead(refs)             unread → read (no receipt)
//   await receiver.markHandled(refs)          → handled, then sends one receipt per peer
//   receiver.mailbox                          list(), summary(peer) for views (unread counts,
//                                             last message each way, delivered, lost)
//   await forgetAndRevoke(deps, fingerprint)  what "forget" does in every front end
//
// Events (MessagingEvent):
//   message      {record, peer}       a text/data (or unsupported-type) message, stored unread
//   receipt      {peer, ids}          the peer handed these sent messages over: now 'delivered'
//   dropped      {reason, detail, relayUrl, seq}   an envelope that failed a check; never shown
//                                     as from a peer; counted, logged, still acknowledged
//   lost         {peer, count}        the relay may have lost `count` messages from that peer
//   peerMoved    {peer, relayUrl}     the peer sent its new inbox; its coordinates were replaced
//   inboxMoved   {relayUrl, told}     our inbox there was gone; a new one was made, peers told
//   sent         {record|undefined, peer, id, seq}   a message (or a receipt, record undefined) stored at the peer's relay
//   relayTrouble {relayUrl, code, message, peer?}   a relay call failed (with `peer`: telling that
//                                     peer about a new inbox failed); the runner retries later
//
// `refs` are {peer, id} pairs as found in `record.peer` / `record.id`.

import { fromBase64, toBase64, wipe } from './bytes.js';
import { type ErrorCode, PairError, isPairError, isRelayTrouble } from './errors.js';
import { loadIdentity, loadSigningKey } from './identity.js';
import { IDENTITY_KID, type MessageV2, type ParsedEnvelopeV2, openEnvelopeV2, parseEnvelopeV2, sealEnvelopeV2 } from './messagesV2.js';
import { ReceiveKeys, type SendRoute } from './receiveKeys.js';
import { type OwnInbox, firstInbox, inboxOn, listOwnInboxes, replaceInbox } from './inboxes.js';
import { type HeldMailbox, type MailRecord, Mailbox, type MailboxOptions } from './mailbox.js';
import {
  type DropReason,
  type Message,
  MAX_RECEIPT_IDS,
  MessageRejected,
  checkOutgoingBody,
  encodeMessage,
  newMessageId,
  openEnvelope,
  parseMessage,
  sealEnvelope,
  sentAtOf,
  x25519PublicFromEd25519,
  x25519SecretFromSeed,
} from './messages.js';
import type { Clock, MailLock, Memory, Random, RelayConnector, RelayPort, Vault } from './ports.js';
import { type PinnedPeer, findPeers, forgetPeer, getPeer, listPeers, loadPeerSendToken, pendingRevocations, rememberRevocation, revocationsDone, updatePeer } from './trust.js';

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

export interface PeerRef {
  fingerprint: string;
  handle: string;
}

export type MessagingEvent =
  | { type: 'message'; record: MailRecord; peer: PeerRef }
  | { type: 'receipt'; peer: PeerRef; ids: string[] }
  | { type: 'dropped'; reason: DropReason; detail: string; relayUrl: string; seq: number }
  | { type: 'lost'; peer: PeerRef; count: number }
  | { type: 'peerMoved'; peer: PeerRef; relayUrl: string }
  | { type: 'inboxMoved'; relayUrl: string; told: PeerRef[] }
  | { type: 'sent'; record: MailRecord | undefined; peer: PeerRef; id: string; seq: number }
  | { type: 'relayTrouble'; relayUrl: string; code: ErrorCode; message: string; peer?: PeerRef };

export type MessagingListener = (event: MessagingEvent) => void;

/** Tries of one send when the relay is unreachable, erring or asks us to slow down. */
export const SEND_ATTEMPTS = 4;
/** The first pause between send tries; it doubles each time. */
export const SEND_RETRY_BASE_MS = 500;
/** The longest long poll the relay allows (section 6.3). */
export const MAX_WAIT_SECONDS = 25;
/** The pause after a failed pull before the next one, doubling up to the maximum. */
export const PULL_RETRY_BASE_MS = 1000;
export const PULL_RETRY_MAX_MS = 30_000;
/** How often a receiver retries telling peers about a grant they have not heard of yet and sending receipts that failed, and prunes the mailbox. */
export const HEAL_INTERVAL_MS = 60_000;

/** Sleeps `ms` on the clock, or less if `signal` aborts first. */
async function sleepUnlessAborted(clock: Clock, ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return clock.sleep(ms);
  if (signal.aborted) return;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<void>((resolve) => {
    onAbort = resolve;
    signal.addEventListener('abort', onAbort, { once: true });
  });
  await Promise.race([clock.sleep(ms), aborted]);
  if (onAbort) signal.removeEventListener('abort', onAbort);
}

const refOf = (peer: PinnedPeer): PeerRef => ({ fingerprint: peer.fingerprint, handle: peer.handle });
const publicKeyOf = (peer: PinnedPeer): Uint8Array => fromBase64(peer.card.key, 'card key', 32);

class Emitter {
  private readonly listeners = new Set<MessagingListener>();

  on(listener: MessagingListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: MessagingEvent, collected?: MessagingEvent[]): void {
    collected?.push(event);
    for (const listener of this.listeners) listener(event);
  }
}

// ---------------------------------------------------------------------------------------------
// Sending.

export interface Sent {
  id: string;
  seq: number;
  peer: PeerRef;
  /** The kept record of a text or data message; undefined for receipts and inbox moves. */
  record: MailRecord | undefined;
}

/** Resolves a fingerprint or an unambiguous handle to one pinned peer. */
export async function resolvePeer(deps: Pick<MessagingDeps, 'vault' | 'memory'>, reference: string): Promise<PinnedPeer> {
  const found = await findPeers(deps, reference);
  if (found.length === 1) return found[0] as PinnedPeer;
  if (found.length === 0) throw new PairError('not_found', `No pinned peer is called ${JSON.stringify(reference)}; expected a fingerprint or handle from the peers list.`);
  throw new PairError('bad_input', `${found.length} pinned peers share the handle ${JSON.stringify(reference)} (${found.map((peer) => peer.fingerprint).join(', ')}); name one by its fingerprint.`);
}

export class SendRunner {
  private readonly emitter = new Emitter();
  readonly mailbox: Mailbox;
  /** Section 7's receive keys: the pool each peer gave (spent here) and the keys given to it. */
  readonly keys: ReceiveKeys;

  constructor(
    private readonly deps: MessagingDeps,
    mailbox?: Mailbox,
  ) {
    this.mailbox = mailbox ?? new Mailbox(deps);
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

  /** Seals and posts one body; `keep` records it in the mailbox (text and data). */
  async sendBody(peer: PinnedPeer, body: Message['body'], keep: boolean): Promise<Sent> {
    const identity = await loadIdentity(this.deps);
    if (!identity) throw new PairError('identity_missing', 'This side has no identity yet: set one up and pair first.');
    const sendToken = await loadPeerSendToken(this.deps, peer.fingerprint);
    if (sendToken === undefined) throw new PairError('not_found', `${peer.handle} (${peer.fingerprint}) is no longer pinned.`);
    // Choosing (and spending) the peer's key is one critical section of the identity, like `n`:
    // two processes never seal to one one-time key (PROTOCOL.md 7.2).
    const route = await this.mailbox.exclusive(() => this.keys.route(peer.fingerprint));
    const n = await this.mailbox.nextN(peer.fingerprint);
    const message: Message = {
      v: route.v,
      id: newMessageId(this.deps.random.bytes(16)),
      from: identity.fingerprint,
      to: peer.fingerprint,
      n,
      sent_at: sentAtOf(this.deps.clock.now()),
      body,
    };
    const seed = await loadSigningKey(this.deps);
    let envelope: string;
    let upgrade: string | undefined;
    try {
      envelope = toBase64(await this.seal(seed, peer, message, route));
      // The peer gave no keys yet: it gets the keys to upgrade with under kid "id", numbered like
      // the message it precedes, so a peer that drops it (section 6 only) sees no gap in `n`.
      if (route.v === 1 && route.upgrade) upgrade = toBase64(await this.seal(seed, peer, { ...message, v: 2, id: newMessageId(this.deps.random.bytes(16)), body: { type: 'keys' } }, { v: 2, kid: IDENTITY_KID, pub: x25519PublicFromEd25519(publicKeyOf(peer)), keys: route.upgrade }));
    } catch (error) {
      await this.mailbox.releaseN(peer.fingerprint, n);
      throw error;
    } finally {
      wipe(seed);
    }
    if (upgrade !== undefined) await this.post(peer, sendToken, upgrade, n);
    const seq = await this.post(peer, sendToken, envelope, n);
    const record = keep ? await this.mailbox.recordSent(message) : undefined;
    const sent: Sent = { id: message.id, seq, peer: refOf(peer), record };
    this.emitter.emit({ type: 'sent', ...sent });
    return sent;
  }

  /** Section 6 (AuthSeal to the identity key) or section 7 (signed, sealed to the key `route` chose, carrying its top-up). */
  private async seal(seed: Uint8Array, peer: PinnedPeer, message: Message, route: SendRoute): Promise<Uint8Array> {
    if (route.v === 1) return sealEnvelope({ senderSeed: seed, recipientPublic: publicKeyOf(peer), recipientSlotId: peer.slotId, plaintext: encodeMessage(message) });
    return sealEnvelopeV2({ senderSeed: seed, recipientKey: route.pub, kid: route.kid, recipientSlotId: peer.slotId, message: { ...message, v: 2, keys: route.keys } });
  }

  /** POSTs with retries on relay trouble; every try carries the same envelope (same id). */
  private async post(peer: PinnedPeer, sendToken: string, envelope: string, n: number): Promise<number> {
    const relay = this.deps.relays(peer.relayUrl);
    for (let attempt = 1; ; attempt++) {
      try {
        return (await relay.postMessage(peer.slotId, sendToken, envelope)).seq;
      } catch (error) {
        if (isRelayTrouble(error) && attempt < SEND_ATTEMPTS) {
          await this.deps.clock.sleep(SEND_RETRY_BASE_MS * 2 ** (attempt - 1));
          continue;
        }
        // Refused for good: the number goes back, so the peer sees no gap for a message that never left.
        if (!isRelayTrouble(error)) await this.mailbox.releaseN(peer.fingerprint, n);
        if (isPairError(error, 'inbox_gone')) {
          throw new PairError('inbox_gone', `${peer.handle}'s inbox at ${peer.relayUrl} is gone (the relay restarted or forgot it). They get a new one the next time they read their messages, and tell you; send again after that.`);
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

export interface ReceiveOptions extends MailboxOptions {
  sender?: SendRunner;
}

export class ReceiveRunner {
  private readonly emitter = new Emitter();
  readonly mailbox: Mailbox;
  readonly sender: SendRunner;
  /** Inboxes (slot → seq) whose last acknowledgement failed: acknowledged again before the next read. */
  private readonly unacked = new Map<string, number>();
  /** When grants were last healed (a move another process saw, an announcement that failed); after a move, at once. */
  private healedAt: number | undefined;

  constructor(
    private readonly deps: MessagingDeps,
    options: ReceiveOptions = {},
  ) {
    this.mailbox = new Mailbox(deps, options);
    this.sender = options.sender ?? new SendRunner(deps, this.mailbox);
  }

  on(listener: MessagingListener): () => void {
    return this.emitter.on(listener);
  }

  /**
   * One round over every own inbox: reads (long-polling up to `waitSeconds` while all are
   * empty), checks and stores each envelope, acknowledges what was stored, reports losses.
   */
  async pull(options: { waitSeconds?: number; signal?: AbortSignal } = {}): Promise<MessagingEvent[]> {
    const deadline = this.deps.clock.now() + Math.max(options.waitSeconds ?? 0, 0) * 1000;
    if ((await listOwnInboxes(this.deps)).length === 0) {
      // Nothing to read yet (no pairing made an inbox): the wait still passes, so `run` does not spin.
      const waitMs = Math.min(deadline - this.deps.clock.now(), MAX_WAIT_SECONDS * 1000);
      if (waitMs > 0) await sleepUnlessAborted(this.deps.clock, waitMs, options.signal);
      return [];
    }
    // Waits longer than one long poll are several long polls, until something happens.
    for (;;) {
      const leftSeconds = Math.max(deadline - this.deps.clock.now(), 0) / 1000;
      const events = await this.pullRound(Math.min(leftSeconds, MAX_WAIT_SECONDS), options.signal);
      if (events.length > 0 || leftSeconds <= MAX_WAIT_SECONDS || options.signal?.aborted) return events;
    }
  }

  private async pullRound(waitSeconds: number, outerSignal: AbortSignal | undefined): Promise<MessagingEvent[]> {
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
    const inboxes = await listOwnInboxes(this.deps);
    if (inboxes.length === 0) return events;
    // Every inbox is long-polled at once; the first one with news ends the others' waits.
    const settle = new AbortController();
    const signal = outerSignal ? AbortSignal.any([outerSignal, settle.signal]) : settle.signal;
    await Promise.all(
      inboxes.map(async (inbox) => {
        const got = await this.pullInbox(inbox, waitSeconds, signal, events);
        if (got) settle.abort();
      }),
    );
    for (const loss of await this.mailbox.takeLosses((await listPeers(this.deps)).map((peer) => peer.fingerprint))) {
      const peer = await getPeer(this.deps, loss.peer);
      this.emitter.emit({ type: 'lost', peer: peer ? refOf(peer) : { fingerprint: loss.peer, handle: loss.peer }, count: loss.count }, events);
    }
    return events;
  }

  /** Pulls until `signal` aborts; relay trouble pauses (doubling) and never ends the loop. */
  async run(options: { signal: AbortSignal; waitSeconds?: number }): Promise<void> {
    let pauseMs = 0;
    while (!options.signal.aborted) {
      const events = await this.pull({ waitSeconds: options.waitSeconds ?? MAX_WAIT_SECONDS, signal: options.signal });
      pauseMs = events.some((event) => event.type === 'relayTrouble') ? Math.min(Math.max(pauseMs * 2, PULL_RETRY_BASE_MS), PULL_RETRY_MAX_MS) : 0;
      if (pauseMs > 0) await this.deps.clock.sleep(pauseMs);
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

  /** Reads one inbox; true if it had messages. */
  private async pullInbox(inbox: OwnInbox, waitSeconds: number, signal: AbortSignal, events: MessagingEvent[]): Promise<boolean> {
    const relay = this.deps.relays(inbox.relayUrl);
    try {
      const unacked = this.unacked.get(inbox.slotId);
      if (unacked !== undefined) {
        await relay.ackMessages(inbox.slotId, inbox.ownerToken, unacked);
        this.unacked.delete(inbox.slotId);
      }
      const until = this.deps.clock.now() + waitSeconds * 1000;
      for (;;) {
        const leftSeconds = Math.max(until - this.deps.clock.now(), 0) / 1000;
        // The long poll only waits for news, holding nothing: another process of this identity
        // may be waiting on the same inbox and take the news first.
        if (leftSeconds > 0 && (await relay.readMessages(inbox.slotId, inbox.ownerToken, { after: 0, waitSeconds: leftSeconds, signal })).messages.length === 0) return false;
        const got = await this.readHeld(inbox, relay, events);
        // Nothing left when our turn came (another process took it): wait on for the rest of the round.
        if (got || leftSeconds === 0 || signal.aborted) return got;
      }
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
   * Reads, stores and acknowledges one inbox as one critical section of the mailbox, across
   * processes: whoever comes second reads only what the first left at the relay. True if there
   * were messages.
   */
  private async readHeld(inbox: OwnInbox, relay: RelayPort, events: MessagingEvent[]): Promise<boolean> {
    return this.mailbox.exclusive(async (held) => {
      // Always from the start: whatever is still there was not acknowledged. A relay that
      // invents seqs cannot make this side skip a real message that later takes that number.
      const page = await relay.readMessages(inbox.slotId, inbox.ownerToken, { after: 0 });
      if (page.messages.length === 0) return false;
      const peers = await listPeers(this.deps);
      let last = 0;
      for (const stored of [...page.messages].sort((a, b) => a.seq - b.seq)) {
        await this.receiveOne(held, inbox, stored.seq, stored.value, stored.grantId, peers, events);
        last = stored.seq;
      }
      // Deleted at the relay only now that every one of them is stored (or dropped) here.
      this.unacked.set(inbox.slotId, last);
      await relay.ackMessages(inbox.slotId, inbox.ownerToken, last);
      this.unacked.delete(inbox.slotId);
      return true;
    });
  }

  private async receiveOne(held: HeldMailbox, inbox: OwnInbox, seq: number, value: string, grantId: string, peers: PinnedPeer[], events: MessagingEvent[]): Promise<void> {
    const identity = await loadIdentity(this.deps);
    if (!identity) throw new PairError('identity_missing', 'This side has no identity; it cannot read its inbox.');
    try {
      let envelope: Uint8Array;
      try {
        envelope = fromBase64(value, 'envelope');
      } catch {
        throw new MessageRejected('bad_envelope', 'the stored value is not base64');
      }
      const v2 = parseEnvelopeV2(envelope);
      const { peer, message } = v2 ? await this.openV2FromGrant(inbox, grantId, v2, peers, identity.fingerprint) : await this.openV1(inbox, grantId, envelope, peers, identity.fingerprint);
      const accepted = await held.accept(message);
      // Section 7.4, after the message is stored: the one-time key's secret goes, the keys it
      // carries join the peer's pool, and section 6 envelopes from the peer are refused from now on.
      if (v2) await this.sender.keys.accepted(peer.fingerprint, v2.kid, accepted === 'duplicate' ? [] : (message as MessageV2).keys);
      if (accepted === 'duplicate') throw new MessageRejected('duplicate', `message ${message.id} was accepted before (a replay)`);
      if (accepted.kind === 'stored') this.emitter.emit({ type: 'message', record: accepted.record, peer: refOf(peer) }, events);
      else if (accepted.kind === 'receipt') {
        if (accepted.delivered.length > 0) this.emitter.emit({ type: 'receipt', peer: refOf(peer), ids: accepted.delivered }, events);
      } else if (message.body.type === 'inbox') {
        const body = message.body as { relay_url: string; slot_id: string; send_token: string };
        await updatePeer(this.deps, peer.fingerprint, { inbox: { relayUrl: body.relay_url, slotId: body.slot_id, sendToken: body.send_token } });
        this.emitter.emit({ type: 'peerMoved', peer: refOf(peer), relayUrl: body.relay_url }, events);
      }
    } catch (error) {
      if (!(error instanceof MessageRejected)) throw error;
      await held.countDrop(error.reason);
      this.deps.log?.(`dropped message seq ${seq} at ${inbox.relayUrl}: ${error.reason}: ${error.message}`);
      this.emitter.emit({ type: 'dropped', reason: error.reason, detail: error.message, relayUrl: inbox.relayUrl, seq }, events);
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
    const named = peers.find((peer) => peer.grant?.grantId === grantId && peer.grant.slotId === inbox.slotId);
    const open = async (peer: PinnedPeer): Promise<MessageV2> => {
      let secret: Uint8Array | undefined;
      if (envelope.kid === IDENTITY_KID) {
        const seed = await loadSigningKey(this.deps);
        secret = x25519SecretFromSeed(seed);
        wipe(seed);
      } else {
        secret = await this.sender.keys.secretFor(peer.fingerprint, envelope.kid);
      }
      try {
        return await openEnvelopeV2({ envelope, recipientSecret: secret, ownSlotId: inbox.slotId, senderPublic: publicKeyOf(peer), expect: { from: peer.fingerprint, to: self, now: this.deps.clock.now() } });
      } finally {
        if (secret) wipe(secret);
      }
    };
    if (named) return { peer: named, message: await open(named) };
    const first = await firstInbox(this.deps);
    const unknown = peers.filter((peer) => (peer.grant ? peer.grant.grantId === undefined && peer.grant.slotId === inbox.slotId : first?.slotId === inbox.slotId));
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
   * The peer the grant names opens the envelope. A peer pinned before grants were remembered
   * has no grant id: each such peer given this inbox is tried, and the one whose key opens it
   * is known by that grant id from then on (Auth mode: only the sender's key opens).
   */
  private async openFromGrant(inbox: OwnInbox, grantId: string, envelope: Uint8Array, peers: PinnedPeer[]): Promise<{ peer: PinnedPeer; plaintext: Uint8Array }> {
    const seed = await loadSigningKey(this.deps);
    try {
      const named = peers.find((peer) => peer.grant?.grantId === grantId && peer.grant.slotId === inbox.slotId);
      if (named) return { peer: named, plaintext: await openEnvelope({ recipientSeed: seed, senderPublic: publicKeyOf(named), ownSlotId: inbox.slotId, envelope }) };
      const first = await firstInbox(this.deps);
      const unknown = peers.filter((peer) => (peer.grant ? peer.grant.grantId === undefined && peer.grant.slotId === inbox.slotId : first?.slotId === inbox.slotId));
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
    this.unacked.delete(gone.slotId);
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

/**
 * For each pinned peer whose grant points at an inbox this identity no longer has (or whose
 * new grant was not yet announced): a new grant on the current inbox at that relay, sent to the
 * peer in an `inbox` message. Safe to call at any time; resolves the peers told.
 */
export async function healGrants(deps: MessagingDeps, sender: SendRunner, onTrouble?: (error: PairError, relayUrl: string, peer: PeerRef) => void): Promise<PeerRef[]> {
  const told: PeerRef[] = [];
  const inboxes = await listOwnInboxes(deps);
  const first = await firstInbox(deps);
  for (const peer of await listPeers(deps)) {
    const given = peer.grant ?? (first && { ...first, announced: true });
    if (!given) continue;
    const current = inboxes.find((inbox) => inbox.relayUrl === given.relayUrl);
    if (current?.slotId === given.slotId && given.announced) continue;
    const relay = deps.relays(given.relayUrl);
    try {
      const inbox = current ?? (await inboxOn(deps, relay));
      // An earlier grant that never reached the peer is withdrawn before a new one is made.
      if (!given.announced && given.grantId !== undefined && given.slotId === inbox.slotId) {
        await relay.revokeGrant(inbox.slotId, inbox.ownerToken, given.grantId).catch(() => undefined);
      }
      const grant = await relay.grant(inbox.slotId, inbox.ownerToken);
      const record = { relayUrl: inbox.relayUrl, slotId: inbox.slotId, grantId: grant.grantId };
      await updatePeer(deps, peer.fingerprint, { grant: { ...record, announced: false } });
      await sender.sendBody(peer, { type: 'inbox', relay_url: inbox.relayUrl, slot_id: inbox.slotId, send_token: grant.sendToken }, false);
      await updatePeer(deps, peer.fingerprint, { grant: { ...record, announced: true } });
      told.push(refOf(peer));
    } catch (error) {
      if (!isPairError(error)) throw error;
      onTrouble?.(error, given.relayUrl, refOf(peer));
    }
  }
  return told;
}

/**
 * Revokes the grants this side no longer stands behind (a peer paired again, or forgotten while
 * the relay was unreachable). What the relay cannot be reached for stays for the next time.
 */
export async function revokePending(deps: MessagingDeps): Promise<void> {
  const pending = await pendingRevocations(deps);
  if (pending.length === 0) return;
  const inboxes = await listOwnInboxes(deps);
  const done: string[] = [];
  for (const grant of pending) {
    const inbox = inboxes.find((entry) => entry.relayUrl === grant.relayUrl && entry.slotId === grant.slotId);
    try {
      if (inbox) await deps.relays(inbox.relayUrl).revokeGrant(inbox.slotId, inbox.ownerToken, grant.grantId);
      done.push(grant.grantId);
    } catch (error) {
      if (!isPairError(error)) throw error;
      if (!isRelayTrouble(error)) done.push(grant.grantId);
    }
  }
  await revocationsDone(deps, done);
}

/**
 * Forgets a peer: revokes the grant this side gave it (so its sends get 401), then unpins it and
 * deletes its send token. The revocation is best effort (the relay may be down or have restarted);
 * `revoked` says whether the relay confirmed it.
 */
export async function forgetAndRevoke(deps: MessagingDeps, fingerprint: string): Promise<{ forgotten: boolean; revoked: boolean }> {
  const peer = await getPeer(deps, fingerprint);
  let revoked = false;
  const grant = peer?.grant;
  if (grant?.grantId !== undefined) {
    const inbox = (await listOwnInboxes(deps)).find((entry) => entry.relayUrl === grant.relayUrl && entry.slotId === grant.slotId);
    if (inbox) {
      try {
        await deps.relays(inbox.relayUrl).revokeGrant(inbox.slotId, inbox.ownerToken, grant.grantId);
        revoked = true;
      } catch (error) {
        if (!isPairError(error)) throw error;
        deps.log?.(`could not revoke the grant of ${fingerprint} at ${inbox.relayUrl}: ${error.code}`);
        // Tried again by the receive runner once the relay answers; a gone inbox needs nothing.
        if (isRelayTrouble(error)) await rememberRevocation(deps, { relayUrl: inbox.relayUrl, slotId: inbox.slotId, grantId: grant.grantId });
      }
    }
  }
  const forgotten = await forgetPeer(deps, fingerprint);
  await new Mailbox(deps).exclusive(() => new ReceiveKeys(deps).forget(fingerprint));
  return { forgotten, revoked };
}

