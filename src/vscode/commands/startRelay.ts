// Agent Pair: Start Local Relay. Makes sure the loopback relay (127.0.0.1:8771) answers,
// starting it in a process of its own if nothing does, and says where it runs. Pairings start it
// on their own when they need it; this is for hosting pairings from the CLI, or to see where the
// relay runs.

import * as vscode from 'vscode';
import { COMMANDS } from '../ids.js';
import type { ExtensionDeps } from '../deps.js';
import { formatMinutes } from '../relayWords.js';
import { registerCommand } from '../ui.js';

export function registerStartRelay(context: vscode.ExtensionContext, deps: ExtensionDeps): void {
  registerCommand(context, deps, COMMANDS.startRelay, async () => {
    const status = await deps.relays.ensureLocal();
    const where = status.process
      ? `in a process of its own (pid ${status.process.pid}) that outlives VS Code windows and exits after ${formatMinutes(deps.relays.idleExitSeconds)} with no pairing in flight`
      : 'in another process (a CLI pairing or `agent-pair relay`); it stops when that process ends';
    const configured = deps.relays.configured();
    const note = configured === undefined ? '' : ` Pairings use the relay in agentPair.relayUrl (${configured}), not this one.`;
    void vscode.window.showInformationMessage(`Agent Pair: ${status.started ? 'started the local relay at' : 'the local relay runs at'} ${status.url}, ${where}.${note}`);
    return status;
  });
}
