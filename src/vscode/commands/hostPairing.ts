// Agent Pair: Host a Pairing. Opens a pairing, shows the code to read out (with Copy Code and
// Copy Join Link) until it is spent, and drives the rest in the background: the SAS panel opens when the SAS is
// ready, and the pairing finalizes once the person confirms.

import * as vscode from 'vscode';
import { COMMANDS } from '../ids.js';
import type { ExtensionDeps } from '../deps.js';
import { ensureIdentity } from '../identityPrompt.js';
import { showHostCode } from '../codeNotification.js';
import { registerCommand } from '../ui.js';

/** The command's result, for tests that drive it through executeCommand. */
export interface HostResult {
  sessionId: string;
  nameplate: string;
  code: string;
  relayUrl: string;
}

export function registerHostPairing(context: vscode.ExtensionContext, deps: ExtensionDeps): void {
  registerCommand(context, deps, COMMANDS.host, async (): Promise<HostResult | undefined> => {
    if (!(await ensureIdentity(deps))) return undefined;
    // In the status bar, not a notification: the code's notification follows in a moment.
    const snapshot = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Agent Pair: opening a pairing…' }, async () =>
      deps.store.open('host', deps.relays.forNewPairing()),
    );
    deps.pairings.start(snapshot.sessionId);
    deps.log.info(`Hosting pairing ${snapshot.nameplate} through ${snapshot.relayUrl}.`);
    context.subscriptions.push(showHostCode(deps.store, snapshot));
    return { sessionId: snapshot.sessionId, nameplate: snapshot.nameplate, code: snapshot.code ?? '', relayUrl: snapshot.relayUrl };
  });
}
