// What the person hears of the pull, in the pulling window only (so once, whatever the number of
// windows): new messages by the peer's rule (read when they arrive: the person may just have
// changed it): `notify` shows a notification (unless their conversation is open in front of
// them) with "Open" and "Ask the agent", `mute` nothing (they are counted as unread), `agent`
// hands them to the agent (agentHandover.ts). And a warning when the relay may have lost
// messages. Messages from one peer that arrive together (a pull after VS Code was closed) make
// one notification or one hand-over, not one each.
// A peer's move to another relay asks the person (Accept / Refuse): only they may point this side
// at an address the peer chose. Drops and relay trouble go to the log only: a dropped envelope is
// never shown as coming from a peer. Peer strings are shown with their control characters escaped.

import * as vscode from 'vscode';
import type { MessagingEvent, PeerRef } from '../core/inbox.js';
import type { MailRecord } from '../core/mailbox.js';
import type { Clock } from '../core/ports.js';
import type { Handover } from '../core/rules.js';
import type { PinnedPeer } from '../core/trust.js';
import { showControls } from '../core/untrusted.js';
import type { AgentHandover } from './agentHandover.js';
import type { ConversationPanels } from './conversationPanel.js';
import { COMMANDS } from './ids.js';
import { messagePreview, newMessageNotice } from './messageWords.js';
import { errorMessage } from '../core/errors.js';

export const OPEN_ACTION = 'Open';
export const ASK_AGENT_ACTION = 'Ask the agent';
export const ACCEPT_MOVE_ACTION = 'Accept';
export const REFUSE_MOVE_ACTION = 'Refuse';

/** What the notifier needs of messaging: a peer's rule as it is now, and the answer to a held move. */
export interface NotifierMessaging {
  peer(fingerprint: string): Promise<PinnedPeer | undefined>;
  decideMove(fingerprint: string, decision: 'accept' | 'refuse', shownRelayUrl: string): Promise<void>;
}
/**
 * Messages from one peer stored within this long of each other make one notification (or one
 * hand-over to the agent). A second, not less: on a loaded machine storing one message of a burst
 * pulled together took over 250 ms, and the person got one notification per message. Waited on
 * the window's clock (tests hold it or let it pass at once).
 */
export const NOTIFY_COALESCE_MS = 1_000;

interface Pending {
  peer: PeerRef;
  records: MailRecord[];
  /** The hand-overs the pull decided as it stored them, by message id. */
  handovers: Map<string, Handover>;
  /** Ends the wait for the peer's next message early: that message waits anew, or the window closes. */
  wait: AbortController;
}

export class MessageNotifier implements vscode.Disposable {
  private readonly pending = new Map<string, Pending>();

  /** Held moves a notification is showing now: the same move is not asked twice at once. */
  private readonly askingMoves = new Set<string>();

  constructor(
    private readonly conversations: ConversationPanels,
    private readonly messaging: NotifierMessaging,
    private readonly handover: Pick<AgentHandover, 'handOver'>,
    private readonly log: { warn(line: string): void },
    /** What the gathering waits NOTIFY_COALESCE_MS on. */
    private readonly clock: Pick<Clock, 'sleep'>,
  ) {}

  handle(event: MessagingEvent): void {
    switch (event.type) {
      case 'message': {
        const { peer, record } = event;
        const waiting = this.pending.get(peer.fingerprint);
        // Each message waits the coalescing time again: a burst ends when its peer pauses, however
        // long storing it took (a pull after VS Code was closed, a loaded machine).
        waiting?.wait.abort();
        const wait = new AbortController();
        void this.clock.sleep(NOTIFY_COALESCE_MS, wait.signal).then(() => {
          if (wait.signal.aborted) return;
          this.flush(peer.fingerprint).catch((error: unknown) => {
            this.log.warn(`Messages: telling you of ${peer.handle}'s messages failed: ${errorMessage(error)}`);
          });
        });
        const handovers = waiting?.handovers ?? new Map<string, Handover>();
        if (event.handover) handovers.set(record.id, event.handover);
        this.pending.set(peer.fingerprint, { peer, records: [...(waiting?.records ?? []), record], handovers, wait });
        return;
      }
      case 'lost': {
        const { peer, count } = event;
        void vscode.window.showWarningMessage(`Agent Pair: the relay may have lost ${count} message${count === 1 ? '' : 's'} from ${peer.handle}. Ask them to send again what you have not seen.`, OPEN_ACTION).then((action) => {
          if (action === OPEN_ACTION) this.conversations.show(peer);
        });
        return;
      }
      case 'overflow': {
        const { peer, count } = event;
        void vscode.window.showWarningMessage(`Agent Pair: ${count} older unread message${count === 1 ? '' : 's'} from ${peer.handle} ${count === 1 ? 'was' : 'were'} dropped to keep the limit of messages waiting per peer.`, OPEN_ACTION).then((action) => {
          if (action === OPEN_ACTION) this.conversations.show(peer);
        });
        return;
      }
      case 'sendFailed': {
        const { peer } = event;
        void vscode.window.showWarningMessage(`Agent Pair: a queued message to ${peer.handle} could not be sent (${showControls(event.message, { oneLine: true })}).`, OPEN_ACTION).then((action) => {
          if (action === OPEN_ACTION) this.conversations.show(peer);
        });
        return;
      }
      case 'peerMoveHeld':
        this.askMove(event.peer, event.relayUrl);
        return;
      default:
        return;
    }
  }

  private askMove(peer: PeerRef, relayUrl: string): void {
    const key = `${peer.fingerprint} ${relayUrl}`;
    if (this.askingMoves.has(key)) return;
    this.askingMoves.add(key);
    const text =
      `Agent Pair: ${peer.handle} (${peer.fingerprint}) asks you to send to them on another relay, ${showControls(relayUrl, { oneLine: true })}. ` +
      'Accept only if you expected them to move: your messages and receipts to them would go to that address.';
    void vscode.window.showWarningMessage(text, { modal: false }, ACCEPT_MOVE_ACTION, REFUSE_MOVE_ACTION).then(async (action) => {
      this.askingMoves.delete(key);
      if (action === undefined) return; // dismissed: asked again when this window next starts pulling
      try {
        await this.messaging.decideMove(peer.fingerprint, action === ACCEPT_MOVE_ACTION ? 'accept' : 'refuse', relayUrl);
      } catch (error) {
        this.log.warn(`Messages: answering ${peer.handle}'s move failed: ${errorMessage(error)}`);
      }
    });
  }

  private async flush(fingerprint: string): Promise<void> {
    const waiting = this.pending.get(fingerprint);
    this.pending.delete(fingerprint);
    if (!waiting) return;
    const peer = await this.messaging.peer(fingerprint);
    // Forgotten since: its messages went with it.
    if (!peer) return;
    switch (peer.rule) {
      case 'notify':
        this.notify(peer, waiting.records);
        return;
      case 'agent':
        await this.handover.handOver(peer, waiting.records, waiting.handovers);
        return;
      case 'mute':
        return;
    }
  }

  /** A notification of new messages from a peer (one for a burst), unless their conversation is in front of the person. */
  notify(peer: PeerRef, records: MailRecord[]): void {
    const last = records.at(-1);
    if (!last || this.conversations.isVisible(peer.fingerprint)) return;
    const text = records.length === 1 ? newMessageNotice(peer.handle, last) : `Agent Pair: ${peer.handle} wrote ${records.length} messages; the last: “${messagePreview(last)}”`;
    void vscode.window.showInformationMessage(text, OPEN_ACTION, ASK_AGENT_ACTION).then((action) => {
      if (action === OPEN_ACTION) this.conversations.show(peer);
      if (action === ASK_AGENT_ACTION) void vscode.commands.executeCommand(COMMANDS.askAgent, peer.fingerprint, last.id);
    });
  }

  dispose(): void {
    for (const waiting of this.pending.values()) waiting.wait.abort();
    this.pending.clear();
  }
}
