// What every command and handler gets from the composition root (extension.ts).

import type * as vscode from 'vscode';
import type { SessionDeps } from '../core/session.js';
import type { SessionStore } from '../core/store.js';
import type { RelayChoice } from './embeddedRelay.js';
import type { PairingDriver } from './pairingDriver.js';
import type { SasPanels } from './sasPanel.js';

export interface ExtensionDeps {
  /** The one store of this window: commands, the webview, the status bar and MCP all use it. */
  store: SessionStore;
  /** The stores, clock, CSPRNG and relay connector, for identity and trust calls. */
  core: SessionDeps;
  relays: RelayChoice;
  driver: PairingDriver;
  panels: SasPanels;
  log: vscode.LogOutputChannel;
  /** `agentPair.handle`, or the OS user name sanitised: what the handle prompt suggests. */
  suggestedHandle: () => string;
}
