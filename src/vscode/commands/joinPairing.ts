// Agent Pair: Join a Pairing. Takes the code the host read out (checked as it is typed), joins,
// and drives the rest in the background like the host does. Also the end of a join link.

import * as vscode from 'vscode';
import { parseCode } from '../../core/codePhrase.js';
import { codeInputProblem } from '../codeInput.js';
import { COMMANDS } from '../ids.js';
import type { ExtensionDeps } from '../deps.js';
import { ensureIdentity } from '../identityPrompt.js';
import { registerCommand, stringArgument } from '../ui.js';

export interface JoinResult {
  sessionId: string;
  nameplate: string;
  relayUrl: string;
}

export function registerJoinPairing(context: vscode.ExtensionContext, deps: ExtensionDeps): void {
  // Arguments (code, relay URL) let tests and join links skip the input box.
  registerCommand(context, deps, COMMANDS.join, async (codeArgument?: unknown, relayArgument?: unknown): Promise<JoinResult | undefined> => {
    const code = stringArgument(codeArgument) ?? (await askForCode());
    if (code === undefined) return undefined;
    return joinWithCode(deps, code, stringArgument(relayArgument));
  });
}

/** Joins with `code` through `relayUrl` (default: the configured or local relay). */
export async function joinWithCode(deps: ExtensionDeps, code: string, relayUrl?: string): Promise<JoinResult | undefined> {
  const parsed = parseCode(code); // a malformed code fails before anything else happens
  if (!(await ensureIdentity(deps))) return undefined;
  // In the status bar, and only while joining: from then on the status bar item and the SAS
  // panel say where the pairing is, so nothing is left saying "exchanging keys" beside them.
  const snapshot = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `Agent Pair: joining pairing ${parsed.nameplate}…` }, async () =>
    deps.store.open('guest', relayUrl ?? deps.relays.forNewPairing(), parsed.code),
  );
  deps.pairings.start(snapshot.sessionId);
  deps.log.info(`Joined pairing ${snapshot.nameplate} through ${snapshot.relayUrl}.`);
  return { sessionId: snapshot.sessionId, nameplate: snapshot.nameplate, relayUrl: snapshot.relayUrl };
}

async function askForCode(): Promise<string | undefined> {
  const typed = await vscode.window.showInputBox({
    title: 'Agent Pair: Join a Pairing',
    prompt: 'The code the other person read out to you.',
    placeHolder: '47-UE2BZG',
    ignoreFocusOut: true,
    validateInput: (text) => {
      const problem = codeInputProblem(text);
      if (!problem) return undefined;
      return { message: problem.message, severity: problem.severity === 'info' ? vscode.InputBoxValidationSeverity.Info : vscode.InputBoxValidationSeverity.Error };
    },
  });
  return typed?.trim();
}
