// What the person hears of the pull, in the pulling window only (so once, whatever the number of
// windows): new messages (unless their conversation is open in front of them) with "Open" and
// "Ask the agent", and a warning when the relay may have lost messages. Messages from one peer
// that arrive together (a pull after VS Code was closed) make one notification, not one each.
// Drops and relay trouble go to the log only: a dropped envelope is never shown as coming from a
// peer.

import * as vscode from 'vscode';
import type { MessagingEvent, PeerRef } from '../core/inbox.js';
import type { MailRecord } from '../core/mailbox.js';
import type { ConversationPanels } from './conversationPanel.js';
import { COMMANDS } from './ids.js';
import { messagePreview, newMessageNotice } from './messageWords.js';

export const OPEN_ACTION = 'Open';
export const ASK_AGENT_ACTION = 'Ask the agent';
/** Messages from one peer stored within this long of each other make one notification. */
export const NOTIFY_COALESCE_MS = 250;

interface Pending {
  peer: PeerRef;
  records: MailRecord[];
  timer: NodeJS.Timeout;
}

export class MessageNotifier implements vscode.Disposable {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly conversations: ConversationPanels) {}

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
      default:
        return;
    }
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
