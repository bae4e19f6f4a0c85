// Finalize (from the sessions quick pick): resumes exchanging identity cards for a confirmed
// pairing, in the background, e.g. after setting up a missing identity.

import type * as vscode from 'vscode';
import { COMMANDS } from '../ids.js';
import type { ExtensionDeps } from '../deps.js';
import { chooseSession, registerCommand } from '../ui.js';

export function registerFinalizePairing(context: vscode.ExtensionContext, deps: ExtensionDeps): void {
  registerCommand(context, deps, COMMANDS.finalize, async (sessionId?: unknown) => {
    const snapshot = await chooseSession(deps, sessionId, (candidate) => candidate.state === 'confirmed', {
      placeholder: 'Which pairing do you want to finalize?',
      none: 'Agent Pair: no confirmed pairing waits to be finalized.',
    });
    if (snapshot) deps.pairings.start(snapshot.sessionId);
  });
}
