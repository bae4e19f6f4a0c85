// The unread count in the status bar: `$(mail) 2 unread`, hidden when nothing is unread. A
// click opens the conversation with the peer who wrote last (or asks which, if several wrote).
// Driven only by messaging's changes.

import * as vscode from 'vscode';
import { COMMANDS, UNREAD_ITEM_ID } from './ids.js';
import type { PeerRow, WindowMessaging } from './messaging.js';

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
  if (unread === 0) return { visible: false, text: '', tooltip: '' };
  const from = writers.map((row) => `${row.peer.handle} (${row.summary.unread})`).join(', ');
  const model: UnreadModel = { visible: true, text: `$(mail) ${unread} unread`, tooltip: `Agent Pair: ${unread} unread message${unread === 1 ? '' : 's'} from ${from}` };
  const [only] = writers;
  if (only && writers.length === 1) model.fingerprint = only.peer.fingerprint;
  return model;
}

export class UnreadStatusItem implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private readonly unsubscribe: () => void;

  constructor(private readonly messaging: WindowMessaging) {
    this.item = vscode.window.createStatusBarItem(UNREAD_ITEM_ID, vscode.StatusBarAlignment.Left, 99);
    this.item.name = 'Agent Pair: Unread Messages';
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
