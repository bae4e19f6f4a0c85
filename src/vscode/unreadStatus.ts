// The messages item in the status bar: the unread count (`$(mail) 2 unread`) and the peers whose
// messages go to the agent on their own (`$(hubot) bob → agent`, or `$(hubot) 2 peers → agent`,
// named in the tooltip); hidden when there is neither. A click opens the conversation with the one peer
// concerned (or asks which, if several are). Driven only by messaging's changes.

import * as vscode from 'vscode';
import { COMMANDS, UNREAD_ITEM_ID } from './ids.js';
import type { PeerRow, WindowMessaging } from './messaging.js';
import { RULE_WORDS } from './ruleWords.js';

export interface UnreadModel {
  visible: boolean;
  text: string;
  tooltip: string;
  /** The peer the click opens, when only one has unread messages. */
  fingerprint?: string;
}

export function unreadModel(rows: PeerRow[]): UnreadModel {
  const writers = rows.filter((row) => row.summary.unread > 0);
  const unread = writers.reduce((sum, row) => sum + row.summary.unread, 0);
  const toAgent = rows.filter((row) => row.peer.rule === 'agent');
  if (unread === 0 && toAgent.length === 0) return { visible: false, text: '', tooltip: '' };
  const text: string[] = [];
  const tooltip: string[] = [];
  if (unread > 0) {
    text.push(`$(mail) ${unread} unread`);
    tooltip.push(`Agent Pair: ${unread} unread message${unread === 1 ? '' : 's'} from ${writers.map((row) => `${row.peer.handle} (${row.summary.unread})`).join(', ')}`);
  }
  const [onlyToAgent] = toAgent;
  if (onlyToAgent) {
    text.push(`$(${RULE_WORDS.agent.icon}) ${toAgent.length === 1 ? onlyToAgent.peer.handle : `${toAgent.length} peers`} ${RULE_WORDS.agent.rowNote}`);
    tooltip.push(`${unread > 0 ? '' : 'Agent Pair: '}messages from ${toAgent.map((row) => row.peer.handle).join(', ')} go to the agent on their own`);
  }
  const model: UnreadModel = { visible: true, text: text.join('  '), tooltip: tooltip.join('; ') };
  const concerned = writers.length > 0 ? writers : toAgent;
  const [only] = concerned;
  if (only && concerned.length === 1) model.fingerprint = only.peer.fingerprint;
  return model;
}

export class UnreadStatusItem implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private readonly unsubscribe: () => void;

  constructor(private readonly messaging: WindowMessaging) {
    this.item = vscode.window.createStatusBarItem(UNREAD_ITEM_ID, vscode.StatusBarAlignment.Left, 99);
    this.item.name = 'Agent Pair: Messages';
    this.unsubscribe = messaging.onDidChange(() => {
      void this.render();
    });
  }

  private async render(): Promise<void> {
    const model = unreadModel(await this.messaging.rows());
    if (!model.visible) {
      this.item.hide();
      return;
    }
    this.item.text = model.text;
    this.item.tooltip = model.tooltip;
    this.item.accessibilityInformation = { label: model.tooltip, role: 'button' };
    this.item.command = { command: COMMANDS.openConversation, title: 'Open Conversation', arguments: model.fingerprint === undefined ? [] : [model.fingerprint] };
    this.item.show();
  }

  dispose(): void {
    this.unsubscribe();
    this.item.dispose();
  }
}
