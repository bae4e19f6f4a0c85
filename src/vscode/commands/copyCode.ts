// Copy Code (from the host's notification and the sessions quick pick).

import * as vscode from 'vscode';
import { COMMANDS } from '../ids.js';
import type { ExtensionDeps } from '../deps.js';
import { chooseSession, copyToClipboard, hostCode, registerCommand } from '../ui.js';

export function registerCopyCode(context: vscode.ExtensionContext, deps: ExtensionDeps): void {
  registerCommand(context, deps, COMMANDS.copyCode, async (sessionId?: unknown) => {
    const snapshot = await chooseSession(deps, sessionId, (candidate) => hostCode(candidate) !== undefined, {
      placeholder: 'Whose code do you want to copy?',
      none: 'Agent Pair: no hosted pairing waits for the other person to join.',
    });
    if (!snapshot) return;
    const code = hostCode(snapshot);
    if (code === undefined) {
      void vscode.window.showInformationMessage(`Agent Pair: pairing ${snapshot.nameplate} has no code to share any more: the other person has joined, or it ended.`);
      return;
    }
    await copyToClipboard(code, 'Copied the code');
  });
}
