// Agent Pair: Stop Local Relay. Stops the loopback relay if this window runs it. Pairings in
// flight through it end (its slots live in memory only), so it asks first when there are any.

import * as vscode from 'vscode';
import { COMMANDS } from '../ids.js';
import type { ExtensionDeps } from '../deps.js';
import { isInFlight } from '../sessionView.js';
import { registerCommand } from '../ui.js';

export function registerStopRelay(context: vscode.ExtensionContext, deps: ExtensionDeps): void {
  registerCommand(context, deps, COMMANDS.stopRelay, async () => {
    const status = await deps.relays.localStatus();
    if (!status) {
      void vscode.window.showInformationMessage(`Agent Pair: no local relay answers at ${deps.relays.localUrl}.`);
      return false;
    }
    if (!status.runsHere) {
      void vscode.window.showInformationMessage(`Agent Pair: the local relay at ${status.url} runs in another window or process; stop it there.`);
      return false;
    }
    const affected = deps.store.list().filter((snapshot) => isInFlight(snapshot) && deps.relays.isLocal(snapshot.relayUrl)).length;
    if (affected > 0) {
      const answer = await vscode.window.showWarningMessage(
        `Stop the local relay? ${affected} pairing${affected === 1 ? '' : 's'} in flight use${affected === 1 ? 's' : ''} it.`,
        { modal: true, detail: 'Their slots live in the relay\'s memory, so they end, here and on the other side.' },
        'Stop Relay',
      );
      if (answer !== 'Stop Relay') return false;
    }
    await deps.relays.stopLocal();
    void vscode.window.showInformationMessage(`Agent Pair: stopped the local relay at ${status.url}.`);
    return true;
  });
}
