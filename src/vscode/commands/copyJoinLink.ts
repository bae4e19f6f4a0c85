// Copy Join Link (from the host's notification and the sessions quick pick): a link that opens
// the other person's editor and, once they agree, joins with the code.

import * as vscode from 'vscode';
import { COMMANDS } from '../ids.js';
import type { ExtensionDeps } from '../deps.js';
import { chooseSession, copyToClipboard, hostCode, joinLinkFor, registerCommand } from '../ui.js';

export function registerCopyJoinLink(context: vscode.ExtensionContext, deps: ExtensionDeps): void {
  registerCommand(context, deps, COMMANDS.copyJoinLink, async (sessionId?: unknown) => {
    const snapshot = await chooseSession(deps, sessionId, (candidate) => hostCode(candidate) !== undefined, {
      placeholder: 'Whose join link do you want to copy?',
      none: 'Agent Pair: no hosted pairing waits for the other person to join.',
    });
    if (!snapshot) return undefined;
    const code = hostCode(snapshot);
    if (code === undefined) {
      void vscode.window.showInformationMessage(`Agent Pair: pairing ${snapshot.nameplate} has no code to share any more: the other person has joined, or it ended.`);
      return undefined;
    }
    const link = joinLinkFor(context, code, snapshot);
    await copyToClipboard(link, 'Copied the join link');
    return link;
  });
}
