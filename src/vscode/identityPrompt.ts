// Asking the person for a handle, and making sure an identity exists before a pairing starts
// (the pairing's last step signs and sends our card, so without one it could not finish).

import * as vscode from 'vscode';
import { type Identity, initSelfIdempotent, loadIdentity } from '../core/identity.js';
import { loginHandle } from '../node/system.js';
import type { ExtensionDeps } from './deps.js';
import { handleProblem } from './handle.js';
import { SETTINGS } from './ids.js';

/** The handle to suggest: the setting `agentPair.handle`, else the OS user name made valid. */
export function suggestedHandle(): string {
  const configured = vscode.workspace.getConfiguration(SETTINGS.section).get<string>(SETTINGS.handle, '').trim();
  if (configured !== '' && handleProblem(configured) === undefined) return configured;
  return loginHandle();
}

/** The person's handle from an input box checked as they type; undefined if they cancel. */
export async function askForHandle(suggestion: string, why: string): Promise<string | undefined> {
  const handle = await vscode.window.showInputBox({
    title: 'Agent Pair: Choose Your Handle',
    prompt: `${why} Peers see this name next to your fingerprint; it cannot be changed later without a new identity.`,
    value: suggestion,
    valueSelection: [0, suggestion.length],
    ignoreFocusOut: true,
    validateInput: (text) => handleProblem(text.trim()),
  });
  return handle?.trim();
}

/** The identity, set up first (asking for the handle) if there is none; undefined if cancelled. */
export async function ensureIdentity(deps: ExtensionDeps): Promise<Identity | undefined> {
  const existing = await loadIdentity(deps.core);
  if (existing) return existing;
  const handle = await askForHandle(deps.suggestedHandle(), 'Pairing needs an identity first.');
  if (handle === undefined) return undefined;
  const { identity, created } = await initSelfIdempotent(deps.core, handle);
  if (created) {
    deps.log.info(`Created the identity ${identity.handle} (fingerprint ${identity.fingerprint}).`);
    // A status bar line, not a notification: the pairing that asked for it shows its own next.
    vscode.window.setStatusBarMessage(`$(check) Agent Pair: you are ${identity.handle} (fingerprint ${identity.fingerprint})`, 10_000);
  }
  return identity;
}
