// The conversation with one pinned peer: one webview panel per peer, titled
// `Agent Pair: <handle>`. It shows every kept message both ways (the peer's as text, never as
// HTML), marks ours `queued` (with Cancel), `sent`, `delivered`, `failed` or `cancelled`, warns of messages the relay may have lost, and sends
// what the person writes. Its header shows the peer's rule and lets the person change it. While the panel is visible, the peer's messages in it count as handed
// to the person: they are marked handled and the peer gets its receipt ("delivered").

import * as vscode from 'vscode';
import { errorMessage } from '../core/errors.js';
import { DEFAULT_PEER_RULE } from '../core/vocabulary.js';
import { conversationHtml } from './conversationHtml.js';
import { type HostToConversation, conversationView, parseConversationMessage } from './conversationMessages.js';
import { COMMANDS, CONVERSATION_VIEW_TYPE, conversationTitle } from './ids.js';
import type { WindowMessaging } from './messaging.js';
import { pageAssets } from './webviewAssets.js';

export interface ConversationPanelsOptions {
  extensionUri: vscode.Uri;
  messaging: WindowMessaging;
  log: vscode.LogOutputChannel;
}

export class ConversationPanels implements vscode.Disposable {
  private readonly panels = new Map<string, ConversationPanel>();
  private readonly unsubscribe: () => void;

  constructor(private readonly options: ConversationPanelsOptions) {
    this.unsubscribe = options.messaging.onDidChange(() => {
      for (const panel of this.panels.values()) void panel.refresh();
    });
  }

  /** Opens the conversation with a peer, or brings its panel to the front. */
  show(peer: { fingerprint: string; handle: string }, options: { preserveFocus?: boolean } = {}): void {
    const existing = this.panels.get(peer.fingerprint);
    if (existing) {
      existing.reveal(options.preserveFocus ?? false);
      return;
    }
    const media = vscode.Uri.joinPath(this.options.extensionUri, 'media');
    const webviewPanel = vscode.window.createWebviewPanel(
      CONVERSATION_VIEW_TYPE,
      conversationTitle(peer.handle),
      { viewColumn: vscode.ViewColumn.Active, preserveFocus: options.preserveFocus ?? false },
      { enableScripts: true, localResourceRoots: [media], enableFindWidget: true, retainContextWhenHidden: false },
    );
    this.panels.set(peer.fingerprint, new ConversationPanel(webviewPanel, media, peer, this.options, () => this.panels.delete(peer.fingerprint)));
  }

  /** True if the conversation with this peer is open and visible: its new messages need no notification. */
  isVisible(fingerprint: string): boolean {
    return this.panels.get(fingerprint)?.visible === true;
  }

  dispose(): void {
    this.unsubscribe();
    for (const panel of [...this.panels.values()]) panel.dispose();
  }
}

class ConversationPanel {
  private readonly disposables: vscode.Disposable[] = [];
  private sending = false;
  private error: string | undefined;
  private ready = false;
  private disposed = false;
  /** Renders run one after another, so a slow older one never overwrites a newer view. */
  private rendering: Promise<void> = Promise.resolve();

  constructor(
    private readonly panel: vscode.WebviewPanel,
    media: vscode.Uri,
    private readonly peer: { fingerprint: string; handle: string },
    private readonly options: ConversationPanelsOptions,
    private readonly onDisposed: () => void,
  ) {
    const webview = panel.webview;
    webview.html = conversationHtml(pageAssets(webview, media, 'conversation', conversationTitle(peer.handle)));
    this.disposables.push(
      webview.onDidReceiveMessage((message: unknown) => {
        this.receive(message);
      }),
      panel.onDidChangeViewState(() => {
        void this.refresh();
      }),
      panel.onDidDispose(() => {
        this.dispose();
      }),
    );
  }

  get visible(): boolean {
    return !this.disposed && this.panel.visible;
  }

  reveal(preserveFocus: boolean): void {
    this.panel.reveal(undefined, preserveFocus);
  }

  /** Re-renders from the mailbox; what a visible panel shows is handled. */
  refresh(): Promise<void> {
    this.rendering = this.rendering.then(() => this.render());
    return this.rendering;
  }

  private async render(): Promise<void> {
    if (this.disposed || !this.ready) return;
    const messaging = this.options.messaging;
    try {
      const pinned = await messaging.peer(this.peer.fingerprint);
      if (pinned && this.panel.visible) await messaging.markShown(this.peer.fingerprint);
      const { records, summary, forwardSecrecy } = await messaging.conversation(this.peer.fingerprint);
      const view = conversationView(pinned ?? this.peer, records, summary, { sending: this.sending, canSend: pinned !== undefined, forwardSecrecy, rule: pinned?.rule ?? DEFAULT_PEER_RULE, ...(this.error !== undefined && { error: this.error }) });
      this.post({ type: 'view', view });
    } catch (error) {
      this.options.log.warn(`Conversation with ${this.peer.handle}: ${errorMessage(error)}`);
    }
  }

  private post(message: HostToConversation): void {
    if (!this.disposed) void this.panel.webview.postMessage(message);
  }

  private receive(raw: unknown): void {
    const message = parseConversationMessage(raw);
    if (!message) {
      this.options.log.warn('A conversation panel sent a message of an unknown shape; it was ignored.');
      return;
    }
    switch (message.type) {
      case 'ready':
        this.ready = true;
        void this.refresh();
        return;
      case 'send':
        void this.send(message.text);
        return;
      case 'askAgent':
        void vscode.commands.executeCommand(COMMANDS.askAgent, this.peer.fingerprint, message.id);
        return;
      case 'cancel':
        void this.cancel(message.id);
        return;
      case 'setRule':
        // The same command as the Peers view's "Messages" submenu, so the person's choice is handled once.
        void vscode.commands.executeCommand(COMMANDS.setPeerRule, this.peer.fingerprint, message.rule);
        return;
    }
  }

  /** Takes back a message still waiting in the outbox. */
  private async cancel(id: string): Promise<void> {
    try {
      await this.options.messaging.cancelQueued(id);
      this.error = undefined;
    } catch (error) {
      this.error = errorMessage(error);
    }
    await this.refresh();
  }

  private async send(text: string): Promise<void> {
    if (this.sending) return;
    const messaging = this.options.messaging;
    this.sending = true;
    this.error = undefined;
    await this.refresh();
    try {
      const pinned = await messaging.peer(this.peer.fingerprint);
      if (!pinned) throw new Error(`${this.peer.handle} is no longer pinned: pair again to write to them.`);
      await messaging.sendText(pinned, text);
      this.post({ type: 'sent' });
    } catch (error) {
      this.error = errorMessage(error);
    } finally {
      this.sending = false;
    }
    await this.refresh();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const disposable of this.disposables) disposable.dispose();
    this.panel.dispose();
    this.onDisposed();
  }
}
