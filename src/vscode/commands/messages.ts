// The messaging commands: Open Conversation and Send a Message (palette, Peers view rows, the
// unread status item, notifications), Ask the Agent (a notification's or a panel's button: it
// opens Chat with the peer's message quoted as data, only when the person clicks) and the
// Peers view's refresh. A peer argument is a fingerprint or a Peers view row; without one the
// person picks.

import * as vscode from 'vscode';
import { PairError } from '../../core/errors.js';
import type { PinnedPeer } from '../../core/trust.js';
import type { ConversationPanels } from '../conversationPanel.js';
import type { ExtensionDeps } from '../deps.js';
import { COMMANDS } from '../ids.js';
import { openChat } from '../chat.js';
import { agentQuery } from '../messageWords.js';
import type { WindowMessaging } from '../messaging.js';
import { fingerprintArgument } from '../peersView.js';
import { registerCommand, stringArgument } from '../ui.js';

export interface MessagingParts {
  messaging: WindowMessaging;
  conversations: ConversationPanels;
}

export function registerMessageCommands(context: vscode.ExtensionContext, deps: ExtensionDeps, parts: MessagingParts): void {
  const { messaging, conversations } = parts;

  registerCommand(context, deps, COMMANDS.openConversation, async (peerArgument?: unknown) => {
    const peer = await choosePeer(messaging, peerArgument, 'Whose conversation do you want to open?');
    if (!peer) return false;
    conversations.show(peer);
    return true;
  });

  registerCommand(context, deps, COMMANDS.sendMessage, async (peerArgument?: unknown, textArgument?: unknown) => {
    const peer = await choosePeer(messaging, peerArgument, 'Who do you want to write to?');
    if (!peer) return undefined;
    const text =
      stringArgument(textArgument) ??
      (await vscode.window.showInputBox({
        title: `Agent Pair: Message to ${peer.handle}`,
        prompt: `End-to-end encrypted to ${peer.handle} (${peer.fingerprint}).`,
        placeHolder: 'Your message',
        ignoreFocusOut: true,
        validateInput: (value) => (value.trim() === '' ? 'Write a message first.' : undefined),
      }));
    if (text === undefined || text.trim() === '') return undefined;
    const sent = await messaging.sendText(peer, text);
    vscode.window.setStatusBarMessage(`$(check) Agent Pair: sent to ${peer.handle}`, 5_000);
    return { id: sent.id, peer: sent.peer, state: sent.record?.state };
  });

  registerCommand(context, deps, COMMANDS.askAgent, async (peerArgument?: unknown, idArgument?: unknown) => {
    const fingerprint = fingerprintArgument(peerArgument);
    const id = stringArgument(idArgument);
    if (fingerprint === undefined || id === undefined) throw new PairError('bad_input', 'Ask the agent needs a peer fingerprint and a message id (it is run from a message notification or a conversation).');
    const record = await messaging.record(fingerprint, id);
    if (!record || record.direction !== 'in') throw new PairError('not_found', 'That message is no longer kept.');
    const peer = await messaging.peer(fingerprint);
    const query = agentQuery(peer ?? { handle: fingerprint, fingerprint }, [record], 'ask');
    await messaging.markRead(fingerprint, id);
    // Filled, not sent: the person sees the quoted message in Chat and sends it themselves.
    await openChat(query, 'ask');
    return true;
  });

  registerCommand(context, deps, COMMANDS.refreshPeers, () => {
    messaging.changed();
    return Promise.resolve(true);
  });
}

export async function choosePeer(messaging: WindowMessaging, given: unknown, placeHolder: string): Promise<PinnedPeer | undefined> {
  const fingerprint = fingerprintArgument(given);
  if (fingerprint !== undefined) {
    const peer = await messaging.peer(fingerprint);
    if (!peer) throw new PairError('not_found', `No pinned peer has the fingerprint ${fingerprint.slice(0, 16)}.`);
    return peer;
  }
  const rows = (await messaging.rows()).sort((a, b) => b.lastActivity - a.lastActivity);
  if (rows.length === 0) {
    void vscode.window.showInformationMessage('Agent Pair: no pinned peers yet. Pair with someone to write to them.');
    return undefined;
  }
  if (rows.length === 1) return rows[0]?.peer;
  const picked = await vscode.window.showQuickPick(
    rows.map((row) => ({ label: `$(${row.summary.unread > 0 ? 'mail' : 'account'}) ${row.peer.handle}`, description: row.peer.fingerprint, ...(row.summary.unread > 0 && { detail: `${row.summary.unread} unread` }), peer: row.peer })),
    { title: 'Agent Pair', placeHolder, matchOnDescription: true },
  );
  return picked?.peer;
}
