// Agent Pair: Stop Local Relay. Stops the loopback relay's process, whichever window started it
// (the record in this user's Agent Pair home names it). Pairings in flight through it end,
// in every window and a CLI too (its slots live in memory only), so it asks first when this
// window has any, and then aborts them before stopping: their peers learn why instead of
// finding the pairing expired, and this window's driver does not start the relay again.
// A relay some other process runs (a CLI, `agent-pair relay`) is left to it.

import * as vscode from 'vscode';
import { COMMANDS } from '../ids.js';
import type { ExtensionDeps } from '../deps.js';
import { isInFlight } from '../sessionView.js';
import { registerCommand } from '../ui.js';
import { RELAY_STOPPED_REASON } from '../../core/vocabulary.js';

export function registerStopRelay(context: vscode.ExtensionContext, deps: ExtensionDeps): void {
  registerCommand(context, deps, COMMANDS.stopRelay, async () => {
    const status = await deps.relays.localStatus();
    if (!status) {
      void vscode.window.showInformationMessage(`Agent Pair: no local relay answers at ${deps.relays.localUrl}.`);
      return false;
    }
    if (!status.process) {
      void vscode.window.showInformationMessage(otherProcess(status.url));
      return false;
    }
    const inFlight = deps.store.list().filter((snapshot) => isInFlight(snapshot) && deps.relays.isLocal(snapshot.relayUrl));
    const affected = inFlight.length;
    if (affected > 0) {
      const answer = await vscode.window.showWarningMessage(
        `Stop the local relay? ${affected} pairing${affected === 1 ? '' : 's'} in flight in this window use${affected === 1 ? 's' : ''} it.`,
        { modal: true, detail: 'Their slots live in the relay\'s memory, so they end, here and on the other side, as do pairings through it in other windows.' },
        'Stop Relay',
      );
      if (answer !== 'Stop Relay') return false;
      await Promise.allSettled(inFlight.map((snapshot) => deps.store.abort(snapshot.sessionId, RELAY_STOPPED_REASON)));
    }
    const result = await deps.relays.stopLocal();
    switch (result.outcome) {
      case 'stopped':
        void vscode.window.showInformationMessage(`Agent Pair: stopped the local relay at ${status.url}.`);
        return true;
      case 'not_running':
        void vscode.window.showInformationMessage(`Agent Pair: the local relay at ${status.url} had stopped already.`);
        return false;
      case 'other_process':
        void vscode.window.showInformationMessage(otherProcess(status.url));
        return false;
      case 'still_running':
        void vscode.window.showWarningMessage(`Agent Pair: the local relay at ${status.url} (pid ${result.process.pid}) was asked to stop but still answers. Try again, or end process ${result.process.pid}.`);
        return false;
    }
  });
}

function otherProcess(url: string): string {
  return `Agent Pair: the local relay at ${url} runs in another process, not one a VS Code window started: a CLI pairing (it stops when the pairing ends) or \`agent-pair relay\` (Ctrl-C in its terminal stops it).`;
}
