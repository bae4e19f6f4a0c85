// Agent Pair: Verify SAS. Opens the SAS panel of a pairing that waits for the person.

import type * as vscode from 'vscode';
import { COMMANDS } from '../ids.js';
import type { ExtensionDeps } from '../deps.js';
import { chooseSession, registerCommand } from '../ui.js';

export function registerVerifySas(context: vscode.ExtensionContext, deps: ExtensionDeps): void {
  registerCommand(context, deps, COMMANDS.verifySas, async (sessionId?: unknown) => {
    const snapshot = await chooseSession(deps, sessionId, (candidate) => candidate.state === 'sas_ready', {
      placeholder: 'Which pairing do you want to verify?',
      none: 'Agent Pair: no pairing waits for its SAS to be verified.',
    });
    // The panel also shows pairings in other states (it follows them to the end).
    if (snapshot) void deps.panels.show(snapshot.sessionId);
  });
}
