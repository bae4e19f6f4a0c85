// Agent Pair: Start Local Relay. Makes sure the loopback relay (127.0.0.1:8771) answers,
// starting it in this window if nothing does. Pairings start it on their own when they need it;
// this is for hosting pairings from the CLI or another machine's view of this one.

import * as vscode from 'vscode';
import { COMMANDS } from '../ids.js';
import type { ExtensionDeps } from '../deps.js';
import { registerCommand } from '../ui.js';

export function registerStartRelay(context: vscode.ExtensionContext, deps: ExtensionDeps): void {
  registerCommand(context, deps, COMMANDS.startRelay, async () => {
    const status = await deps.relays.ensureLocal();
    const where = status.runsHere ? 'in this window; it stops when the window closes' : 'by another window or process';
    const configured = deps.relays.configured();
    const note = configured === undefined ? '' : ` Pairings use the relay in agentPair.relayUrl (${configured}), not this one.`;
    void vscode.window.showInformationMessage(`Agent Pair: the local relay runs at ${status.url}, ${where}.${note}`);
    return status;
  });
}
