// Agent Pair: Show Identity. Who this side is: the handle and the fingerprint peers pin.

import * as vscode from 'vscode';
import { loadIdentity } from '../../core/identity.js';
import { COMMANDS } from '../ids.js';
import type { ExtensionDeps } from '../deps.js';
import { copyToClipboard, registerCommand } from '../ui.js';

export function registerShowIdentity(context: vscode.ExtensionContext, deps: ExtensionDeps): void {
  registerCommand(context, deps, COMMANDS.showIdentity, async () => {
    const identity = await loadIdentity(deps.core);
    if (!identity) {
      void vscode.window.showInformationMessage('Agent Pair: no identity yet. Set one up with a handle, or host or join a pairing (which asks for one).', 'Set Up Identity').then((chosen) => {
        if (chosen) void vscode.commands.executeCommand(COMMANDS.setUpIdentity);
      });
      return undefined;
    }
    const inbox = identity.relay ? ` Peers reach your inbox through ${identity.relay.url}.` : ' No inbox yet: your first pairing sets one up on its relay.';
    void vscode.window.showInformationMessage(`Agent Pair: you are ${identity.handle}, fingerprint ${identity.fingerprint}.${inbox}`, 'Copy Fingerprint').then(async (chosen) => {
      if (chosen) await copyToClipboard(identity.fingerprint, 'Copied the fingerprint');
    });
    return { handle: identity.handle, fingerprint: identity.fingerprint, relayUrl: identity.relay?.url };
  });
}
