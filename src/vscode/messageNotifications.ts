// What the person hears of the pull, in the pulling window only (so once, whatever the number of
// windows): new messages (unless their conversation is open in front of them) with "Open" and
// "Ask the agent", and a warning when the relay may have lost messages. Messages from one peer
// that arrive together (a pull after VS Code was closed) make one notification, not one each.
// A peer's move to another relay asks the person (Accept / Refuse): only they may point this side
// at an address the peer chose. Drops and relay trouble go to the log only: a dropped envelope is
// never shown as coming from a peer. Peer strings are shown with their control characters escaped.

import * as vscode from 'vscode';
import type { MessagingEvent, PeerRef } from '../core/inbox.js';
import type { MailRecord } from '../core/mailbox.js';
import { showControls } from '../core/untrusted.js';
import type { ConversationPanels } from './conversationPanel.js';
import { COMMANDS } from './ids.js';
import { messagePreview, newMessageNotice } from './messageWords.js';
import { errorMessage } from '../core/errors.js';

export const OPEN_ACTION = 'Open';
export const ASK_AGENT_ACTION = 'Ask the agent';
export const ACCEPT_MOVE_ACTION = 'Accept';
export const REFUSE_MOVE_ACTION = 'Refuse';

/** What the notifier needs to answer a held move. */
export interface MoveDecider {
  decideMove(fingerprint: string, decision: 'accept' | 'refuse'): Promise<void>;
}
/** Messages from one peer stored within this long of each other make one notification. */
export const NOTIFY_COALESCE_MS = 250;

interface Pending {
  peer: PeerRef;
  records: MailRecord[];
  timer: NodeJS.Timeout;
}

export class MessageNotifier implements vscode.Disposable {
  private readonly pending = new Map<string, Pending>();

  /** Held moves a notification is showing now: the same move is not asked twice at once. */
  private readonly askingMoves = new Set<string>();

  constructor(
    private readonly conversations: ConversationPanels,
    private readonly moves: MoveDecider,
    private readonly log: { warn(line: string): void },
  ) {}

  handle(event: MessagingEvent): void {
    switch (event.type) {
      case 'message': {
        const { peer, record } = event;
        if (this.conversations.isVisible(peer.fingerprint)) return;
        const waiting = this.pending.get(peer.fingerprint);
        if (waiting) {
          waiting.records.push(record);
          return;
        }
        const timer = setTimeout(() => {
          this.flush(peer.fingerprint);
        }, NOTIFY_COALESCE_MS);
        this.pending.set(peer.fingerprint, { peer, records: [record], timer });
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
        await this.moves.decideMove(peer.fingerprint, action === ACCEPT_MOVE_ACTION ? 'accept' : 'refuse');
      } catch (error) {
        this.log.warn(`Messages: answering ${peer.handle}'s move failed: ${errorMessage(error)}`);
      }
    });
  }

  private flush(fingerprint: string): void {
    const waiting = this.pending.get(fingerprint);
    this.pending.delete(fingerprint);
    const last = waiting?.records.at(-1);
    if (!waiting || !last || this.conversations.isVisible(fingerprint)) return;
    const { peer, records } = waiting;
    const text = records.length === 1 ? newMessageNotice(peer.handle, last) : `Agent Pair: ${peer.handle} wrote ${records.length} messages; the last: “${messagePreview(last)}”`;
    void vscode.window.showInformationMessage(text, OPEN_ACTION, ASK_AGENT_ACTION).then((action) => {
      if (action === OPEN_ACTION) this.conversations.show(peer);
      if (action === ASK_AGENT_ACTION) void vscode.commands.executeCommand(COMMANDS.askAgent, peer.fingerprint, last.id);
    });
  }

  dispose(): void {
    for (const waiting of this.pending.values()) clearTimeout(waiting.timer);
    this.pending.clear();
  }
}
