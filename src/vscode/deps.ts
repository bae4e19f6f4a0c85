// What every command and handler gets from the composition root (window.ts, which the shell, extension.ts, opens after activation).

import type * as vscode from 'vscode';
import type { MessagingDeps } from '../core/inbox.js';
import type { SessionDeps } from '../core/session.js';
import type { SessionStore } from '../core/store.js';
import type { RelayChoice } from '../node/localRelay.js';
import type { PairingRunners } from '../core/pairing.js';
import type { CommandTable } from './commandTable.js';
import type { PairingPresenter } from './pairingUi.js';
import type { SasPanels } from './sasPanel.js';

export interface ExtensionDeps {
  /** The one store of this window: commands, the webview, the status bar and MCP all use it. */
  store: SessionStore;
  /** The stores, clock, CSPRNG and relay connector, for identity and trust calls; the mailbox lock for messaging. */
  core: SessionDeps & Pick<MessagingDeps, 'mailLock'>;
  relays: RelayChoice;
  /** The runners of this window's pairings (MCP tools use them too). */
  runners: PairingRunners;
  /** Runs a pairing the person started and shows its events. */
  pairings: PairingPresenter;
  panels: SasPanels;
  log: vscode.LogOutputChannel;
  /** `agentPair.handle`, or the OS user name sanitised: what the handle prompt suggests. */
  suggestedHandle: () => string;
  /** Where the commands' handlers go (ui.ts's registerCommand): the shell's registrations run them. */
  commands: CommandTable;
}
