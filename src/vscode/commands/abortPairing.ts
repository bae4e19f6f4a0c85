// Agent Pair: Abort a Pairing. Ends a pairing in flight for both sides.

import * as vscode from 'vscode';
import { COMMANDS } from '../ids.js';
import type { ExtensionDeps } from '../deps.js';
import { isInFlight } from '../sessionView.js';
import { chooseSession, registerCommand } from '../ui.js';
import { ABORTED_BY_PERSON_REASON } from '../../core/vocabulary.js';

export function registerAbortPairing(context: vscode.ExtensionContext, deps: ExtensionDeps): void {
  registerCommand(context, deps, COMMANDS.abort, async (sessionId?: unknown) => {
    const snapshot = await chooseSession(deps, sessionId, isInFlight, {
      placeholder: 'Which pairing do you want to abort?',
      none: 'Agent Pair: no pairing is in flight.',
    });
    if (!snapshot) return undefined;
    const aborted = await deps.store.abort(snapshot.sessionId, ABORTED_BY_PERSON_REASON);
    deps.log.info(`Aborted pairing ${aborted.nameplate}.`);
    vscode.window.setStatusBarMessage(`Agent Pair: pairing ${aborted.nameplate} aborted`, 5_000);
    return { sessionId: aborted.sessionId, state: aborted.state };
  });
}
