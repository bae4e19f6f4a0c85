// Agent Pair: Set Up Identity. Creates this side's identity with a handle; with the handle it
// already has, changes nothing; with another, refuses (peers pinned the existing key).

import * as vscode from 'vscode';
import { initSelfIdempotent, loadIdentity } from '../../core/identity.js';
import { COMMANDS } from '../ids.js';
import type { ExtensionDeps } from '../deps.js';
import { askForHandle } from '../identityPrompt.js';
import { registerCommand, stringArgument } from '../ui.js';

export function registerSetUpIdentity(context: vscode.ExtensionContext, deps: ExtensionDeps): void {
  registerCommand(context, deps, COMMANDS.setUpIdentity, async (handleArgument?: unknown) => {
    const existing = await loadIdentity(deps.core);
    const handle = stringArgument(handleArgument) ?? (await askForHandle(existing?.handle ?? deps.suggestedHandle(), existing ? `You are already ${existing.handle}.` : 'Set up your identity.'));
    if (handle === undefined) return undefined;
    const { identity, created } = await initSelfIdempotent(deps.core, handle);
    if (created) deps.log.info(`Created the identity ${identity.handle} (fingerprint ${identity.fingerprint}).`);
    void vscode.window.showInformationMessage(
      created ? `Agent Pair: you are ${identity.handle} (fingerprint ${identity.fingerprint}).` : `Agent Pair: you already are ${identity.handle} (fingerprint ${identity.fingerprint}); nothing changed.`,
    );
    return { handle: identity.handle, fingerprint: identity.fingerprint, created };
  });
}
