// Agent Pair: Show Pairings. A quick pick of every pairing with its state and time left (kept
// live while open); picking one offers what can be done with it now.

import * as vscode from 'vscode';
import type { SessionSnapshot } from '../../core/session.js';
import { COMMANDS } from '../ids.js';
import type { ExtensionDeps } from '../deps.js';
import { isInFlight, nextStepForPerson } from '../sessionView.js';
import { type SessionItem, hostCode, registerCommand, sessionItem } from '../ui.js';

const REFRESH_MS = 1_000;

interface ActionItem extends vscode.QuickPickItem {
  command: string;
}

export function registerShowSessions(context: vscode.ExtensionContext, deps: ExtensionDeps): void {
  registerCommand(context, deps, COMMANDS.showSessions, async () => {
    if (deps.store.list().length === 0) {
      const chosen = await vscode.window.showInformationMessage('Agent Pair: no pairings in this window. Host one and read the code to the other person, or join with theirs.', 'Host a Pairing', 'Join a Pairing');
      if (chosen === 'Host a Pairing') await vscode.commands.executeCommand(COMMANDS.host);
      if (chosen === 'Join a Pairing') await vscode.commands.executeCommand(COMMANDS.join);
      return;
    }
    const picked = await pickLive(deps);
    if (!picked) return;
    const snapshot = deps.store.status(picked);
    const actions = actionsFor(snapshot);
    if (actions.length === 0) {
      void vscode.window.showInformationMessage(`Agent Pair: pairing ${snapshot.nameplate}: ${nextStepForPerson(snapshot)}`);
      return;
    }
    const action = await vscode.window.showQuickPick(actions, { title: `Agent Pair: Pairing ${snapshot.nameplate}`, placeHolder: 'What to do with this pairing' });
    if (action) await vscode.commands.executeCommand(action.command, snapshot.sessionId);
  });
}

/** A quick pick whose rows follow the store (and the clock) while it is open. */
function pickLive(deps: ExtensionDeps): Promise<string | undefined> {
  const pick = vscode.window.createQuickPick<SessionItem>();
  pick.title = 'Agent Pair: Pairings';
  pick.placeholder = 'Pick a pairing to verify, finalize, abort or copy its code';
  pick.matchOnDescription = true;
  const refresh = (): void => {
    const activeId = pick.activeItems[0]?.sessionId;
    pick.items = deps.store.list().map(sessionItem);
    const active = pick.items.find((item) => item.sessionId === activeId);
    if (active) pick.activeItems = [active];
  };
  refresh();
  const unsubscribe = deps.store.onDidChange(refresh);
  const ticker = setInterval(refresh, REFRESH_MS);
  return new Promise((resolve) => {
    let chosen: string | undefined;
    pick.onDidAccept(() => {
      chosen = pick.selectedItems[0]?.sessionId;
      pick.hide();
    });
    pick.onDidHide(() => {
      clearInterval(ticker);
      unsubscribe();
      pick.dispose();
      resolve(chosen);
    });
    pick.show();
  });
}

function actionsFor(snapshot: SessionSnapshot): ActionItem[] {
  const actions: ActionItem[] = [];
  if (snapshot.state === 'sas_ready') actions.push({ label: '$(shield) Verify SAS', description: 'compare the 6 digits with the other person', command: COMMANDS.verifySas });
  if (snapshot.state === 'confirmed') actions.push({ label: '$(check) Finalize', description: 'exchange and pin identity cards', command: COMMANDS.finalize });
  if (hostCode(snapshot) !== undefined) {
    actions.push({ label: '$(copy) Copy Code', description: 'to read out or send to the other person', command: COMMANDS.copyCode });
    actions.push({ label: '$(link) Copy Join Link', description: 'opens VS Code on the other side and joins after they agree', command: COMMANDS.copyJoinLink });
  }
  if (isInFlight(snapshot)) actions.push({ label: '$(close) Abort', description: 'end this pairing for both sides', command: COMMANDS.abort });
  return actions;
}
