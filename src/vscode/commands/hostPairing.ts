// Agent Pair: Host a Pairing. Opens a pairing, shows the code to read out (with Copy Code and
// Copy Join Link), and drives the rest in the background: the SAS panel opens when the SAS is
// ready, and the pairing finalizes once the person confirms.

import * as vscode from 'vscode';
import { COMMANDS } from '../ids.js';
import type { ExtensionDeps } from '../deps.js';
import { ensureIdentity } from '../identityPrompt.js';
import { copyToClipboard, joinLinkFor, registerCommand } from '../ui.js';

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
    const snapshot = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Agent Pair: opening a pairing…' }, async () =>
      deps.store.open('host', deps.relays.forNewPairing()),
    );
    deps.pairings.start(snapshot.sessionId);
    deps.log.info(`Hosting pairing ${snapshot.nameplate} through ${snapshot.relayUrl}.`);
    const code = snapshot.code ?? '';
    void showCode(context, code, snapshot.relayUrl);
    return { sessionId: snapshot.sessionId, nameplate: snapshot.nameplate, code, relayUrl: snapshot.relayUrl };
  });
}

async function showCode(context: vscode.ExtensionContext, code: string, relayUrl: string): Promise<void> {
  const chosen = await vscode.window.showInformationMessage(
    `Agent Pair code: ${code}. Read it to the other person; it works for one join within 10 minutes.`,
    'Copy Code',
    'Copy Join Link',
  );
  if (chosen === 'Copy Code') await copyToClipboard(code, 'Copied the code');
  if (chosen === 'Copy Join Link') await copyToClipboard(joinLinkFor(context, code, relayUrl), 'Copied the join link');
}
