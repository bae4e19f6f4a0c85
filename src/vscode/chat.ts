// VS Code's Chat, as this extension opens it: "Ask the agent" fills the input with a peer's
// message quoted as data for the person to send; a hand-over (the peer's rule is `agent`)
// submits it in agent mode, so the agent works on it without the person relaying it.

import * as vscode from 'vscode';

/** VS Code's command that opens Chat: `query` fills the input, `isPartialQuery: false` submits it, `mode` picks the chat mode. */
export const CHAT_OPEN_COMMAND = 'workbench.action.chat.open';

/** The argument CHAT_OPEN_COMMAND gets: filled for the person (`ask`), or submitted to the agent (`handover`). */
export function chatOpenOptions(query: string, purpose: 'ask' | 'handover'): { query: string; isPartialQuery: boolean; mode?: 'agent' } {
  return purpose === 'ask' ? { query, isPartialQuery: true } : { query, mode: 'agent', isPartialQuery: false };
}

export async function openChat(query: string, purpose: 'ask' | 'handover'): Promise<void> {
  await vscode.commands.executeCommand(CHAT_OPEN_COMMAND, chatOpenOptions(query, purpose));
}
