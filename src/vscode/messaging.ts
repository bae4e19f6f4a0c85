// This window's side of messaging (PROTOCOL.md 6.4): one ReceiveRunner and its SendRunner over
// the window's stores. The mailbox lives in the profile's files under the mailbox lock
// (storage.ts), so every window of the profile reads and writes the same mail; one window pulls
// (mailLease.ts says which and why) and runs `receiver.run`, the core's one receive loop. The
// others send, mark handled and render; they learn what the puller stored when their window
// gains focus and on a slow refresh tick, which also lets one of them take over the pull once
// the puller's window is gone.
//
// Views (the Peers view, conversation panels, the unread status item) subscribe to
// `onDidChange`; new messages, losses and moves reach the person through `onEvent`, which the
// composition root turns into notifications (in the pulling window only, so once).
//
// Nothing here imports `vscode`: settings and the log come in as functions.

import { isPairError, errorMessage } from '../core/errors.js';
import { type MessagingDeps, type MessagingEvent, type PeerRef, ReceiveRunner, type Sent, decidePeerMove, heldMoves } from '../core/inbox.js';
import { forgetAndRevoke } from '../core/grants.js';
import type { MessageReceiver } from '../mcp/messageTools.js';
import { listOwnInboxes } from '../core/inboxes.js';
import { loadIdentity } from '../core/identity.js';
import { LOSS_GRACE_MS, type MailRecord, type PeerMailSummary } from '../core/mailbox.js';
import type { ForwardSecrecy } from '../core/receiveKeys.js';
import { type BudgetLimits, type Handover, PeerBudgets, decideHandover } from '../core/rules.js';
import { type PinnedPeer, getPeer, listPeers, setPeerRule } from '../core/trust.js';
import { MAX_BUDGET_PER_HOUR, type PeerRule } from '../core/vocabulary.js';
import { type MailLease, takeMailLease } from './mailLease.js';

/** The loss grace setting (`agentPair.messages.lossGraceMinutes`): its default is the core's LOSS_GRACE_MS. */
export const LOSS_GRACE_DEFAULT_MINUTES = LOSS_GRACE_MS / 60_000;
export const LOSS_GRACE_MIN_MINUTES = 1;
export const LOSS_GRACE_MAX_MINUTES = 7 * 24 * 60;

/** The setting's value in ms; anything not a number in range is the default. */
export function lossGraceSettingMs(minutes: unknown): number {
  if (typeof minutes !== 'number' || !Number.isFinite(minutes) || minutes < LOSS_GRACE_MIN_MINUTES || minutes > LOSS_GRACE_MAX_MINUTES) return LOSS_GRACE_MS;
  return Math.round(minutes * 60_000);
}

/**
 * A budget setting (`agentPair.agents.*PerPeerPerHour`, per peer per hour) as the core takes it:
 * a whole number from 0 to MAX_BUDGET_PER_HOUR; anything else (settings.json is not checked
 * against the manifest's range) is undefined, and so the core's default.
 */
export function budgetSetting(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_BUDGET_PER_HOUR ? value : undefined;
}

/** How often a window that does not pull re-reads the mailbox and tries to take the pull over. */
export const FOLLOWER_REFRESH_MS = 10_000;

export interface PeerRow {
  peer: PinnedPeer;
  summary: PeerMailSummary;
  /** The last message either way (ms), else when the peer was pinned. */
  lastActivity: number;
}

export interface WindowMessagingOptions {
  deps: MessagingDeps;
  /** The Agent Pair home, where the pull lease lives. */
  home: string;
  /** The loss grace the person set (ms); read when the pull starts. */
  lossGraceMs: () => number;
  /** The hourly budgets the person set (unset ones, or none at all, are the core's defaults); read at each use. */
  budgetLimits?: () => Partial<BudgetLimits>;
  log: { info(line: string): void; warn(line: string): void };
  /** Every event of this window's pull, after the views were told. */
  onEvent?: (event: MessagingEvent) => void;
  /**
   * Whether a message from this `agent`-rule peer would go to the agent without asking the person
   * first (they said yes for this pinning): its hand-over is then decided, and spent, as the pull
   * stores it (the `message` event's `handover`). Without it, nothing is decided in the pull.
   */
  wantsHandover?: (peer: PinnedPeer) => boolean;
  /** For tests: the lease's pid check. */
  takeLease?: (home: string, fingerprint: string) => MailLease | undefined;
}

interface Pull {
  lease: MailLease;
  abort: AbortController;
  done: Promise<void>;
}

export class WindowMessaging {
  private receiver: ReceiveRunner;
  private pull: Pull | undefined;
  private readonly listeners = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  private disposed = false;
  private stopEvents: (() => void) | undefined;

  private stopSentEvents: () => void;

  /** How many changes the views were told of: a wait reading the mailbox sees one it missed. */
  private changeCount = 0;

  constructor(private readonly options: WindowMessagingOptions) {
    this.receiver = this.newReceiver();
    this.stopSentEvents = this.watchSends();
  }

  /** Whoever sent (a command, a panel, an agent over MCP), the views show it, queued or not. */
  private watchSends(): () => void {
    return this.receiver.sender.on((event) => {
      if ((event.type === 'sent' && event.record) || event.type === 'queued' || event.type === 'sendFailed') this.changed();
    });
  }

  /**
   * The runner the MCP messaging tools use in this window: they send, read and acknowledge
   * through the window's mailbox, and their `pull` waits for the window's own pull (here or in
   * the window holding the lease) to store a new unread message, up to the wait asked, instead
   * of reading the relay a second time. Resolves no events: the person hears of losses from the
   * window.
   */
  forTools(): MessageReceiver {
    const receiver = this.receiver;
    return {
      mailbox: receiver.mailbox,
      sender: receiver.sender,
      pull: async (options) => {
        const waitMs = Math.max(options?.waitSeconds ?? 0, 0) * 1000;
        // Taken before the wake, so a message its pull stores already counts as new.
        const held = waitMs > 0 ? await this.unreadKeys() : undefined;
        await this.wake();
        if (held) await this.untilNewUnread(held, waitMs, options?.signal);
        return [];
      },
      markRead: async (refs) => {
        const changed = await receiver.markRead(refs);
        this.changed();
        return changed;
      },
      markHandled: async (refs) => {
        const changed = await receiver.markHandled(refs);
        this.changed();
        return changed;
      },
    };
  }

  /**
   * Resolves once the mailbox holds an unread message that `held` did not, after `ms`, or when
   * `signal` aborts. Every change the views hear of is a reason to look, not an answer: most are
   * the refresh tick, a receipt or a send. A window that does not pull learns of new mail only
   * through its refresh tick, so waiting for a `message` event would not do either.
   */
  private async untilNewUnread(held: Set<string>, ms: number, signal: AbortSignal | undefined): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      const changesBefore = this.changeCount;
      if ([...(await this.unreadKeys())].some((key) => !held.has(key))) return;
      const left = deadline - Date.now();
      if (left <= 0 || signal?.aborted) return;
      // A change while the mailbox was read is looked at again at once, not missed.
      if (this.changeCount === changesBefore) await this.nextChange(left, signal);
    }
  }

  /** Every unread message this window's mailbox holds, as `peer id`. */
  private async unreadKeys(): Promise<Set<string>> {
    const peers = (await listPeers(this.options.deps)).map((peer) => peer.fingerprint);
    const unread = await this.receiver.mailbox.list(peers, { direction: 'in', unreadOnly: true });
    return new Set(unread.map((record) => `${record.peer} ${record.id}`));
  }

  /** Resolves on the next change the views hear of, after `ms`, or when `signal` aborts. */
  private nextChange(ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        stop();
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      const stop = this.onDidChange(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** True while this window holds the pull. */
  get pulling(): boolean {
    return this.pull !== undefined;
  }

  /** Starts the refresh tick and, if this window can, the pull. */
  start(): void {
    if (this.disposed) return;
    this.timer = setInterval(() => {
      void this.wake();
    }, FOLLOWER_REFRESH_MS);
    void this.wake();
  }

  /**
   * Something may have changed elsewhere (the window gained focus, a pairing finished, the tick):
   * take the pull if nobody holds it, send receipts still owed, and re-render the views.
   */
  async wake(): Promise<void> {
    if (this.disposed) return;
    try {
      await this.startPull();
      if (this.pull) await this.receiver.sendReceipts();
    } catch (error) {
      this.options.log.warn(`Messages: ${describe(error)}`);
    }
    this.changed();
  }

  onDidChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Tells every view to re-read the mailbox. */
  changed(): void {
    this.changeCount += 1;
    for (const listener of [...this.listeners]) listener();
  }

  async rows(): Promise<PeerRow[]> {
    const rows: PeerRow[] = [];
    for (const peer of await listPeers(this.options.deps)) {
      const summary = await this.receiver.mailbox.summary(peer.fingerprint);
      const last = Math.max(summary.lastIn?.storedAt ?? 0, summary.lastOut?.storedAt ?? 0);
      rows.push({ peer, summary, lastActivity: last > 0 ? last : Date.parse(peer.pinnedAt) });
    }
    return rows;
  }

  async peer(fingerprint: string): Promise<PinnedPeer | undefined> {
    return getPeer(this.options.deps, fingerprint);
  }

  async peers(): Promise<PinnedPeer[]> {
    return listPeers(this.options.deps);
  }

  async conversation(fingerprint: string): Promise<{ records: MailRecord[]; summary: PeerMailSummary; forwardSecrecy: ForwardSecrecy['state'] }> {
    const mailbox = this.receiver.mailbox;
    return { records: await mailbox.list([fingerprint]), summary: await mailbox.summary(fingerprint), forwardSecrecy: (await this.receiver.sender.keys.forwardSecrecy(fingerprint)).state };
  }

  async record(fingerprint: string, id: string): Promise<MailRecord | undefined> {
    return this.receiver.mailbox.get(fingerprint, id);
  }

  /** Sends text to a peer; resolves once the peer's relay stored it (state `sent`). */
  async sendText(peer: PinnedPeer, text: string, replyTo?: string): Promise<Sent> {
    return this.receiver.sender.send(peer, { type: 'text', text, ...(replyTo !== undefined && { reply_to: replyTo }) });
  }

  /**
   * The person saw these messages (a conversation panel showed them): they are handled, and the
   * peer gets a receipt, which turns them `delivered` on its side.
   */
  async markShown(fingerprint: string): Promise<void> {
    const mailbox = this.receiver.mailbox;
    const shown = (await mailbox.list([fingerprint], { direction: 'in' })).filter((record) => record.state !== 'handled');
    if (shown.length === 0) return;
    await this.receiver.markHandled(shown.map((record) => ({ peer: record.peer, id: record.id })));
    this.changed();
  }

  async markRead(fingerprint: string, id: string): Promise<void> {
    if ((await this.receiver.markRead([{ peer: fingerprint, id }])).length > 0) this.changed();
  }

  /** Handled without the person seeing them (handed to the agent): the peer gets its receipt. */
  async markHandled(refs: { peer: string; id: string }[]): Promise<void> {
    if ((await this.receiver.markHandled(refs)).length > 0) this.changed();
  }

  /** The person's rule for a peer's messages (only the person sets it); the views show it at once. */
  async setRule(fingerprint: string, rule: PeerRule): Promise<PinnedPeer | undefined> {
    const peer = await setPeerRule(this.options.deps, fingerprint, rule);
    this.changed();
    return peer;
  }

  /** The per-peer hourly budgets (core/rules.ts), counted in the profile's mailbox under its lock, with the person's limits. */
  budgets(): PeerBudgets {
    return new PeerBudgets(this.options.deps, this.receiver.mailbox, this.options.budgetLimits?.() ?? {});
  }

  /** What becomes of a message from this peer now: its rule, and for `agent` one hand-over spent (or over budget). */
  async decideHandover(fingerprint: string): Promise<Handover> {
    return decideHandover(this.options.deps, this.budgets(), fingerprint);
  }

  /** Takes back a message waiting in the outbox. */
  async cancelQueued(id: string): Promise<void> {
    await this.receiver.sender.cancel(id);
    this.changed();
  }

  /** Moves to another relay that peers asked for, waiting for the person. */
  async heldMoves(): Promise<{ peer: PeerRef; relayUrl: string }[]> {
    return heldMoves(this.options.deps);
  }

  /**
   * The person's answer to a peer's move to another relay, at the address they were shown
   * (conflict if the peer asked for another one since: that one is asked about on its own).
   */
  async decideMove(fingerprint: string, decision: 'accept' | 'refuse', shownRelayUrl: string): Promise<void> {
    await decidePeerMove(this.options.deps, fingerprint, decision, shownRelayUrl);
    this.changed();
  }

  /** Unpins a peer and revokes the grant this side gave it. */
  async forget(fingerprint: string): Promise<{ forgotten: boolean; revoked: boolean }> {
    const result = await forgetAndRevoke(this.options.deps, fingerprint);
    this.changed();
    return result;
  }

  /** The loss grace changed: the pull starts again with it. */
  async restart(): Promise<void> {
    await this.stopPull();
    this.stopSentEvents();
    this.receiver = this.newReceiver();
    this.stopSentEvents = this.watchSends();
    await this.wake();
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.listeners.clear();
    this.stopSentEvents();
    await this.stopPull();
  }

  private newReceiver(): ReceiveRunner {
    const receiver = new ReceiveRunner(this.options.deps, { lossGraceMs: this.options.lossGraceMs() });
    const wantsHandover = this.options.wantsHandover;
    if (wantsHandover) {
      // The budgets are read at each message: the person may change the limit in the settings.
      const budgetsNow = (): PeerBudgets => this.budgets();
      receiver.setHandover({
        get budgets() {
          return budgetsNow();
        },
        wantsHandover,
      });
    }
    return receiver;
  }

  /** Runs the core's receive loop if this identity has an inbox and no other window pulls it. */
  private async startPull(): Promise<void> {
    if (this.pull || this.disposed) return;
    const identity = await loadIdentity(this.options.deps);
    if (!identity || (await listOwnInboxes(this.options.deps)).length === 0) return;
    // Another wake may have started the pull while this one read the stores.
    if (!this.stillIdle()) return;
    const lease = (this.options.takeLease ?? takeMailLease)(this.options.home, identity.fingerprint);
    if (!lease) return;
    const abort = new AbortController();
    const receiver = this.receiver;
    this.stopEvents = receiver.on((event) => {
      this.render(event);
    });
    this.options.log.info(`Messages: this window pulls the messages of ${identity.handle} (${identity.fingerprint}).`);
    const done = receiver.run({ signal: abort.signal }).catch((error: unknown) => {
      // The runner treats relay trouble as a pause; anything reaching here is a bug or broken storage.
      this.options.log.warn(`Messages: pulling stopped: ${describe(error)}`);
    }).finally(() => {
      this.stopEvents?.();
      this.stopEvents = undefined;
      lease.release();
      if (this.pull?.abort === abort) this.pull = undefined;
    });
    this.pull = { lease, abort, done };
    // A move a peer asked for earlier (the person closed its notification, or another window pulled then) is asked again.
    for (const held of await heldMoves(this.options.deps)) this.options.onEvent?.({ type: 'peerMoveHeld', peer: held.peer, relayUrl: held.relayUrl });
  }

  private stillIdle(): boolean {
    return this.pull === undefined && !this.disposed;
  }

  private async stopPull(): Promise<void> {
    const pull = this.pull;
    if (!pull) return;
    pull.abort.abort();
    await pull.done;
  }

  private render(event: MessagingEvent): void {
    switch (event.type) {
      case 'message':
      case 'receipt':
      case 'lost':
      case 'overflow':
      case 'peerMoved':
      case 'peerMoveHeld':
      case 'queued':
      case 'sendFailed':
        this.changed();
        break;
      case 'inboxMoved':
        this.options.log.info(`Messages: the inbox at ${event.relayUrl} was gone; a new one was made and ${event.told.length} peer(s) told.`);
        break;
      case 'sent':
      case 'dropped':
      case 'relayTrouble':
        // Logged by the runner (deps.log); the views have nothing new to show.
        break;
    }
    this.options.onEvent?.(event);
  }
}

function describe(error: unknown): string {
  if (isPairError(error)) return `${error.code}: ${error.message}`;
  return errorMessage(error);
}
