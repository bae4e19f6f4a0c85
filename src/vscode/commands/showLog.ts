// Agent Pair: Show Log. The output channel, where pairings, relay changes and failures are
// recorded (never codes, SAS digits, tokens or keys).

import type * as vscode from 'vscode';
import { COMMANDS } from '../ids.js';
import type { ExtensionDeps } from '../deps.js';
import { registerCommand } from '../ui.js';

export function registerShowLog(context: vscode.ExtensionContext, deps: ExtensionDeps): void {
  registerCommand(context, deps, COMMANDS.showLog, () => {
    deps.log.show(true);
    return Promise.resolve();
  });
}
