// What the person hears of the pull, in the pulling window only (so once, whatever the number of
// windows): a new message (unless its conversation is open in front of them) with "Open" and
// "Ask the agent", and a warning when the relay may have lost messages. Drops and relay trouble
// go to the log only: a dropped envelope is never shown as coming from a peer.

import * as vscode from 'vscode';
import type { MessagingEvent } from '../core/inbox.js';
import type { ConversationPanels } from './conversationPanel.js';
import { COMMANDS } from './ids.js';
import { newMessageNotice } from './messageWords.js';

export const OPEN_ACTION = 'Open';
export const ASK_AGENT_ACTION = 'Ask the agent';

export function notifyMessagingEvent(event: MessagingEvent, conversations: ConversationPanels): void {
  switch (event.type) {
    case 'message': {
      const { peer, record } = event;
      if (conversations.isVisible(peer.fingerprint)) return;
      void vscode.window.showInformationMessage(newMessageNotice(peer.handle, record), OPEN_ACTION, ASK_AGENT_ACTION).then((action) => {
        if (action === OPEN_ACTION) conversations.show(peer);
        if (action === ASK_AGENT_ACTION) void vscode.commands.executeCommand(COMMANDS.askAgent, peer.fingerprint, record.id);
      });
      return;
    }
    case 'lost': {
      const { peer, count } = event;
      void vscode.window.showWarningMessage(`Agent Pair: the relay may have lost ${count} message${count === 1 ? '' : 's'} from ${peer.handle}. Ask them to send again what you have not seen.`, OPEN_ACTION).then((action) => {
        if (action === OPEN_ACTION) conversations.show(peer);
      });
      return;
    }
    default:
      return;
  }
}
