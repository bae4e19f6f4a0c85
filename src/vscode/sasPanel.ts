// The webview where the person verifies the SAS: one panel per pairing, titled
// `Agent Pair: Verify <nameplate>`. It shows our SAS (sent to this webview only, and only while
// the session is `sas_ready`), takes the six digits the other person reads out, and shows the
// live state until the pairing ends.
//
// The digits the person types answer the pairing runner's question (PersonQuestions): the
// runner checks them and goes on to finalize, whoever started the pairing (a command, a
// restore, or an agent whose MCP `pair_confirm` brought the panel up).

import * as vscode from 'vscode';
import type { PersonQuestions } from '../core/pairing.js';
import type { SessionSnapshot } from '../core/session.js';
import type { SessionStore } from '../core/store.js';
import { SAS_PANEL_VIEW_TYPE, sasPanelTitle } from './ids.js';
import { DIGITS_HINT, type HostToWebview, normaliseDigits, panelView, parseWebviewMessage } from './panelMessages.js';
import { panelHtml } from './panelHtml.js';
import { pageAssets } from './webviewAssets.js';
import { errorMessage } from '../core/errors.js';
import { isTerminal, ABORTED_BY_PERSON_REASON } from '../core/vocabulary.js';

export interface SasPanelsOptions {
  extensionUri: vscode.Uri;
  store: SessionStore;
  /** The runners' questions: the panel shows the SAS asked about and answers with the digits. */
  questions: PersonQuestions;
  log: vscode.LogOutputChannel;
}

export class SasPanels implements vscode.Disposable {
  private readonly panels = new Map<string, SasPanel>();
  private readonly unsubscribe: (() => void)[];

  constructor(private readonly options: SasPanelsOptions) {
    const refreshAll = (): void => {
      for (const panel of this.panels.values()) panel.refresh();
    };
    this.unsubscribe = [options.store.onDidChange(refreshAll), options.questions.onDidChange(refreshAll)];
  }

  /** True while the session's panel is on screen: it then says what happens, nothing else needs to. */
  isVisible(sessionId: string): boolean {
    return this.panels.get(sessionId)?.visible ?? false;
  }

  /**
   * Opens the panel for a session, or brings its panel to the front. `forAgent`: an agent asked
   * for this verification (MCP `pair_confirm`), which the panel says. Resolves once the panel
   * is closed.
   */
  show(sessionId: string, options: { preserveFocus?: boolean; forAgent?: boolean } = {}): Promise<void> {
    const panel = this.panelFor(sessionId, options.preserveFocus ?? false);
    if (options.forAgent === true) panel.markAgentRequest();
    return panel.closed;
  }

  dispose(): void {
    for (const unsubscribe of this.unsubscribe) unsubscribe();
    for (const panel of [...this.panels.values()]) panel.dispose();
  }

  private panelFor(sessionId: string, preserveFocus: boolean): SasPanel {
    const existing = this.panels.get(sessionId);
    if (existing) {
      existing.reveal(preserveFocus);
      return existing;
    }
    const snapshot = this.options.store.status(sessionId);
    const media = vscode.Uri.joinPath(this.options.extensionUri, 'media');
    const webviewPanel = vscode.window.createWebviewPanel(
      SAS_PANEL_VIEW_TYPE,
      sasPanelTitle(snapshot.nameplate),
      { viewColumn: vscode.ViewColumn.Active, preserveFocus },
      { enableScripts: true, localResourceRoots: [media], enableFindWidget: false, retainContextWhenHidden: false },
    );
    const panel = new SasPanel(webviewPanel, media, snapshot, this.options, () => this.panels.delete(sessionId));
    this.panels.set(sessionId, panel);
    return panel;
  }
}

/** The tab's title: what to do while in flight, how it ended once it has. */
export function panelTitle(snapshot: SessionSnapshot): string {
  if (snapshot.state === 'finalized') return `Agent Pair: Paired with ${snapshot.peer?.handle ?? 'the peer'}`;
  if (snapshot.state === 'aborted') return `Agent Pair: Pairing ${snapshot.nameplate} ended`;
  return sasPanelTitle(snapshot.nameplate);
}

class SasPanel {
  private readonly disposables: vscode.Disposable[] = [];
  /** An agent asked for this verification (MCP `pair_confirm`). */
  private agentRequest = false;
  /** Digits were handed to the runner and its verdict is not in yet. */
  private checking = false;
  private error: string | undefined;
  private last: SessionSnapshot;
  private disposed = false;
  private markClosed: () => void = () => undefined;
  /** Resolves once the panel is closed. */
  readonly closed = new Promise<void>((resolve) => {
    this.markClosed = resolve;
  });

  constructor(
    private readonly panel: vscode.WebviewPanel,
    media: vscode.Uri,
    snapshot: SessionSnapshot,
    private readonly options: SasPanelsOptions,
    private readonly onDisposed: () => void,
  ) {
    this.last = snapshot;
    const webview = panel.webview;
    webview.html = panelHtml(pageAssets(webview, media, 'sasPanel', sasPanelTitle(snapshot.nameplate)));
    this.disposables.push(
      webview.onDidReceiveMessage((message: unknown) => {
        this.receive(message);
      }),
      panel.onDidDispose(() => {
        this.dispose();
      }),
    );
  }

  private get sessionId(): string {
    return this.last.sessionId;
  }

  get visible(): boolean {
    return !this.disposed && this.panel.visible;
  }

  reveal(preserveFocus: boolean): void {
    this.panel.reveal(undefined, preserveFocus);
  }

  markAgentRequest(): void {
    this.agentRequest = true;
    this.refresh();
  }

  /** Re-renders from the store and the runner's question. */
  refresh(): void {
    if (this.disposed) return;
    try {
      this.last = this.options.store.status(this.sessionId);
    } catch {
      // The store forgot the session (ended long ago): keep showing how it ended.
    }
    this.panel.title = panelTitle(this.last);
    const question = this.options.questions.question(this.sessionId);
    if (this.last.state !== 'sas_ready') {
      this.checking = false;
      this.agentRequest = false;
    } else if (question && this.checking) {
      // The runner asks again: what was sent was not six digits.
      this.checking = false;
      if (question.again) this.error = DIGITS_HINT;
    }
    this.post();
  }

  private post(): void {
    const snapshot = this.last;
    const sas = snapshot.state === 'sas_ready' ? this.options.questions.question(this.sessionId)?.sas : undefined;
    const extra: Parameters<typeof panelView>[1] = { checking: this.checking };
    if (sas !== undefined) extra.sas = sas;
    if (this.agentRequest) extra.agentRequest = { peerHint: `nameplate ${snapshot.nameplate}` };
    if (this.error !== undefined) extra.error = this.error;
    const message: HostToWebview = { type: 'view', view: panelView(snapshot, extra) };
    void this.panel.webview.postMessage(message);
  }

  private receive(raw: unknown): void {
    const message = parseWebviewMessage(raw);
    if (!message) {
      this.options.log.warn('The SAS panel sent a message of an unknown shape; it was ignored.');
      return;
    }
    switch (message.type) {
      case 'ready':
        this.refresh();
        return;
      case 'confirm':
        this.confirm(message.digits);
        return;
      case 'abort':
        void this.abort();
        return;
    }
  }

  private confirm(typed: string): void {
    // Checked here too, so a slip is pointed out at once, without a round trip to the runner.
    const digits = normaliseDigits(typed);
    if (digits === undefined) {
      this.error = DIGITS_HINT;
      this.post();
      return;
    }
    if (this.last.state !== 'sas_ready' || this.checking) return;
    this.error = undefined;
    this.checking = this.options.questions.answer(this.sessionId, digits);
    this.refresh();
  }

  private async abort(): Promise<void> {
    if (isTerminal(this.last.state)) return;
    try {
      await this.options.store.abort(this.sessionId, ABORTED_BY_PERSON_REASON);
      this.error = undefined;
    } catch (error) {
      this.error = errorMessage(error);
    }
    this.refresh();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const disposable of this.disposables) disposable.dispose();
    this.panel.dispose();
    this.onDisposed();
    this.markClosed();
  }
}
