// The status bar item: `$(link) Agent Pair: 2 pairing`, on the warning background when a SAS
// waits for the person, with a tooltip listing each pairing and its time left; a click opens
// the sessions quick pick. It is driven only by the store's changes and, while something is in
// flight, a one-second ticker for the time left; no command ever calls it. Hidden when nothing
// is in flight (see statusModel).

import * as vscode from 'vscode';
import type { SessionStore } from '../core/store.js';
import { STATUS_ITEM_ID } from './ids.js';
import { statusModel } from './sessionView.js';

const TICK_MS = 1_000;

export class SessionStatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private readonly unsubscribe: () => void;
  private ticker: NodeJS.Timeout | undefined;
  private lastTooltip = '';

  constructor(private readonly store: SessionStore, clickCommand: string) {
    this.item = vscode.window.createStatusBarItem(STATUS_ITEM_ID, vscode.StatusBarAlignment.Left, 100);
    this.item.name = 'Agent Pair';
    this.item.command = clickCommand;
    this.unsubscribe = store.onDidChange(() => {
      this.render();
    });
    this.render();
  }

  private render(): void {
    const model = statusModel(this.store.list());
    if (!model.visible) {
      this.item.hide();
      this.stopTicker();
      return;
    }
    this.item.text = model.text;
    this.item.accessibilityInformation = { label: model.accessibilityLabel, role: 'button' };
    this.item.backgroundColor = model.warning ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    // A new MarkdownString every second would flicker an open tooltip; only replace it on change.
    if (model.tooltip !== this.lastTooltip) {
      this.item.tooltip = new vscode.MarkdownString(model.tooltip);
      this.lastTooltip = model.tooltip;
    }
    this.item.show();
    this.ticker ??= setInterval(() => {
      this.render();
    }, TICK_MS);
  }

  private stopTicker(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
    this.lastTooltip = '';
  }

  dispose(): void {
    this.stopTicker();
    this.unsubscribe();
    this.item.dispose();
  }
}
