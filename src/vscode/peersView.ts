// The Peers view: one row per pinned peer with its rule when it is not the default ("→ agent":
// its messages go to the agent on their own; "muted"), its unread count and last activity, the
// fingerprint and inbox on hover, a click that opens the conversation, inline Send and Forget
// actions and a "Messages" submenu that sets the rule (package.json menus, matched by the row's
// contextValue, peerItemContext). The activity bar badge counts unread messages. It re-reads the
// mailbox whenever messaging says something changed.

import * as vscode from 'vscode';
import { COMMANDS, PEERS_VIEW_ID, peerItemContext } from './ids.js';
import type { PeerRow, WindowMessaging } from './messaging.js';
import { RULE_WORDS } from './ruleWords.js';

/** What a row's inline and context commands receive: the tree passes the element itself. */
export interface PeerNode {
  fingerprint: string;
  handle: string;
}

/**
 * The fingerprint a command was given: a string (palette, tests), a PeerNode (a row's click), or
 * the tree element itself, a PeerRow `{peer, summary, lastActivity}` (a row's inline Send and
 * Forget, and its context menu).
 */
export function fingerprintArgument(value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value !== 'object' || value === null) return undefined;
  const node = 'peer' in value ? value.peer : value;
  if (typeof node === 'object' && node !== null && 'fingerprint' in node && typeof node.fingerprint === 'string') return node.fingerprint;
  return undefined;
}

/** "just now", "5 min ago", "3 h ago", "2 days ago". */
export function formatAgo(then: number, now: number): string {
  const seconds = Math.max(0, Math.round((now - then) / 1000));
  if (seconds < 60) return 'just now';
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.floor(hours / 24)} days ago`;
}

export function peerTreeItem(row: PeerRow, now: number): vscode.TreeItem {
  const { peer, summary } = row;
  const item = new vscode.TreeItem(peer.handle, vscode.TreeItemCollapsibleState.None);
  item.id = peer.fingerprint;
  const rule = RULE_WORDS[peer.rule];
  const parts = [];
  if (rule.rowNote !== '') parts.push(rule.rowNote);
  if (summary.unread > 0) parts.push(`${summary.unread} unread`);
  parts.push(formatAgo(row.lastActivity, now));
  item.description = parts.join(' · ');
  item.iconPath = new vscode.ThemeIcon(summary.unread > 0 ? 'mail' : peer.rule === 'notify' ? 'account' : rule.icon);
  const lines = [`**${peer.handle}**`, '', `Messages: ${rule.label.toLowerCase()}. ${rule.detail}`, '', `Fingerprint \`${peer.fingerprint}\``, '', `Inbox on \`${peer.relayUrl}\``, '', `Pinned ${peer.pinnedAt}`];
  if (summary.lost > 0) lines.push('', `The relay may have lost ${summary.lost} message${summary.lost === 1 ? '' : 's'} from ${peer.handle}.`);
  const tooltip = new vscode.MarkdownString(lines.join('\n'));
  tooltip.supportHtml = false;
  item.tooltip = tooltip;
  item.contextValue = peerItemContext(peer.rule);
  item.accessibilityInformation = { label: `${peer.handle}, ${item.description}, fingerprint ${peer.fingerprint}` };
  const node: PeerNode = { fingerprint: peer.fingerprint, handle: peer.handle };
  item.command = { command: COMMANDS.openConversation, title: 'Open Conversation', arguments: [node] };
  return item;
}

export class PeersView implements vscode.TreeDataProvider<PeerRow>, vscode.Disposable {
  private readonly changes = new vscode.EventEmitter<undefined>();
  readonly onDidChangeTreeData = this.changes.event;
  private readonly view: vscode.TreeView<PeerRow>;
  private readonly unsubscribe: () => void;
  /** The rows read for the latest change, until VS Code asks for them once (see getChildren). */
  private announced: PeerRow[] | undefined;
  /** Changes seen so far: a read that a later change overtook is not announced. */
  private changesSeen = 0;

  constructor(private readonly messaging: WindowMessaging) {
    this.view = vscode.window.createTreeView(PEERS_VIEW_ID, { treeDataProvider: this, showCollapseAll: false });
    this.unsubscribe = messaging.onDidChange(() => {
      void this.readThenAnnounce();
    });
  }

  getTreeItem(row: PeerRow): vscode.TreeItem {
    return peerTreeItem(row, Date.now());
  }

  /**
   * Answers VS Code's question after a change at once, with the rows read before the change was
   * announced. VS Code lets go of the old rows when it asks, and a click on a row's action
   * (Send, Forget) before the answer came ran that action with no row: Send asked whom to write
   * to. Any other question reads the rows afresh.
   */
  getChildren(row?: PeerRow): PeerRow[] | Promise<PeerRow[]> {
    if (row) return [];
    const announced = this.announced;
    this.announced = undefined;
    return announced ?? this.readRows();
  }

  private async readThenAnnounce(): Promise<void> {
    const change = ++this.changesSeen;
    this.announced = undefined;
    let rows: PeerRow[] | undefined;
    try {
      rows = await this.readRows();
    } catch {
      // Announced all the same: VS Code's question then reads again, and shows the error.
    }
    if (change !== this.changesSeen) return;
    this.announced = rows;
    this.changes.fire(undefined);
  }

  private async readRows(): Promise<PeerRow[]> {
    const rows = (await this.messaging.rows()).sort((a, b) => b.lastActivity - a.lastActivity);
    const unread = rows.reduce((sum, entry) => sum + entry.summary.unread, 0);
    this.view.badge = unread > 0 ? { value: unread, tooltip: `${unread} unread message${unread === 1 ? '' : 's'}` } : undefined;
    return rows;
  }

  dispose(): void {
    this.unsubscribe();
    this.changes.dispose();
    this.view.dispose();
  }
}
