// Small pieces of VS Code UI the commands share: registering a command whose failures reach the
// person as a readable message, picking a session, copying a code or a join link.

import * as vscode from 'vscode';
import { isPairError, errorMessage } from '../core/errors.js';
import { isRelayChoiceError } from '../node/localRelay.js';
import { relayChoiceFailureWords } from './relayWords.js';
import type { SessionSnapshot } from '../core/session.js';
import type { ExtensionDeps } from './deps.js';
import { buildJoinLink } from './joinLink.js';
import { describeState, formatTimeLeft, isInFlight, sessionLabel } from './sessionView.js';

/**
 * Gives the command `id` its handler (the shell, extension.ts, registered the command with VS
 * Code and runs it from deps.commands). A PairError is shown as its message (written for people); anything else
 * is logged in full and shown briefly. The handler's result is the command's result, which
 * end-to-end tests read through executeCommand.
 */
export function registerCommand(context: vscode.ExtensionContext, deps: ExtensionDeps, id: string, handler: (...args: unknown[]) => Promise<unknown>): void {
  context.subscriptions.push(
    deps.commands.register(id, async (...args: unknown[]) => {
      try {
        return await handler(...args);
      } catch (error) {
        showError(deps, error);
        return undefined;
      }
    }),
  );
}

export function showError(deps: ExtensionDeps, error: unknown, prefix = 'Agent Pair'): void {
  if (isPairError(error)) {
    const message = isRelayChoiceError(error) ? relayChoiceFailureWords(error.failure) : error.message;
    deps.log.warn(`${prefix}: ${error.code}: ${message}`);
    void vscode.window.showErrorMessage(`${prefix}: ${message}`);
    return;
  }
  deps.log.error(error instanceof Error ? error : String(error));
  void vscode.window.showErrorMessage(`${prefix}: something went wrong (${errorMessage(error)}). The log has details.`);
}

/** An optional string argument (commands run from the palette get none; tests pass some). */
export function stringArgument(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export function sessionIcon(snapshot: SessionSnapshot): string {
  switch (snapshot.state) {
    case 'opened':
    case 'confirmed':
      return '$(sync~spin)';
    case 'sas_ready':
      return '$(warning)';
    case 'finalized':
      return '$(pass)';
    case 'aborted':
      return '$(error)';
  }
}

export interface SessionItem extends vscode.QuickPickItem {
  sessionId: string;
}

export function sessionItem(snapshot: SessionSnapshot): SessionItem {
  const timeLeft = isInFlight(snapshot) ? `, ${formatTimeLeft(snapshot.secondsLeft)}` : '';
  return {
    sessionId: snapshot.sessionId,
    label: `${sessionIcon(snapshot)} ${sessionLabel(snapshot)}`,
    description: `${describeState(snapshot)}${timeLeft}`,
    detail: `via ${snapshot.relayUrl}`,
  };
}

/**
 * The session a command acts on: the given id, else the only one that fits, else the person's
 * pick. Undefined if there is none (after saying so) or the person cancelled.
 */
export async function chooseSession(deps: ExtensionDeps, given: unknown, fits: (snapshot: SessionSnapshot) => boolean, what: { placeholder: string; none: string }): Promise<SessionSnapshot | undefined> {
  const id = stringArgument(given);
  if (id !== undefined) return deps.store.status(id);
  const candidates = deps.store.list().filter(fits);
  if (candidates.length === 0) {
    void vscode.window.showInformationMessage(what.none);
    return undefined;
  }
  if (candidates.length === 1) return candidates[0];
  const picked = await vscode.window.showQuickPick(candidates.map(sessionItem), { title: 'Agent Pair', placeHolder: what.placeholder, matchOnDescription: true });
  return picked ? deps.store.status(picked.sessionId) : undefined;
}

/** The host's code, while the pairing waits for the guest; undefined once they joined (it is spent) or it ended. */
export function hostCode(snapshot: SessionSnapshot): string | undefined {
  return snapshot.role === 'host' && snapshot.state === 'opened' && !snapshot.peerJoined ? snapshot.code : undefined;
}

/** A join link to the host's pairing, good until the pairing expires. */
export function joinLinkFor(context: vscode.ExtensionContext, code: string, snapshot: SessionSnapshot): string {
  return buildJoinLink(vscode.env.uriScheme, context.extension.id, code, snapshot.relayUrl, Date.parse(snapshot.expiresAt));
}

export async function copyToClipboard(text: string, confirmation: string): Promise<void> {
  await vscode.env.clipboard.writeText(text);
  vscode.window.setStatusBarMessage(`$(check) ${confirmation}`, 4_000);
}
