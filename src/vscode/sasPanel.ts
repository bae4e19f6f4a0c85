// The webview where the person verifies the SAS: one panel per pairing, titled
// `Agent Pair: Verify <nameplate>`. It shows our SAS (sent to this webview only, and only while
// the session is `sas_ready`), takes the six digits the other person reads out, and shows the
// live state until the pairing ends.
//
// It is also VS Code's ConfirmPort: when an agent calls MCP `pair_confirm`, askForDigits opens
// (or focuses) the panel for that session and resolves with the digits the person types; the
// caller then confirms them with the store. Closing the panel or aborting rejects with
// `cancelled`. Digits typed with no agent waiting go to the store directly, and the pairing
// then finalizes in the background.

import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { PairError, isPairError } from '../core/errors.js';
import type { ConfirmPort } from '../core/ports.js';
import type { SessionSnapshot } from '../core/session.js';
import type { SessionStore } from '../core/store.js';
import { SAS_PANEL_VIEW_TYPE, sasPanelTitle } from './ids.js';
import { DIGITS_HINT, type HostToWebview, normaliseDigits, panelView, parseWebviewMessage } from './panelMessages.js';
import { panelHtml } from './panelHtml.js';

/** If an agent took the digits but never confirmed them, the panel accepts input again after this. */
const CHECKING_TIMEOUT_MS = 15_000;

export interface SasPanelsOptions {
  extensionUri: vscode.Uri;
  store: SessionStore;
  log: vscode.LogOutputChannel;
  /** The person confirmed the SAS in a panel with no agent waiting: the pairing should finalize. */
  onPersonConfirmed: (sessionId: string) => void;
}

interface PendingRequest {
  resolve: (digits: string) => void;
  reject: (error: PairError) => void;
  peerHint: string;
  timer: NodeJS.Timeout;
}

export class SasPanels implements ConfirmPort, vscode.Disposable {
  private readonly panels = new Map<string, SasPanel>();
  private readonly unsubscribe: () => void;
  private disposed = false;

  constructor(private readonly options: SasPanelsOptions) {
    this.unsubscribe = options.store.onDidChange(() => {
      for (const panel of this.panels.values()) panel.refresh();
    });
  }

  /** True while the session's panel is on screen: it then says what happens, nothing else needs to. */
  isVisible(sessionId: string): boolean {
    return this.panels.get(sessionId)?.visible ?? false;
  }

  /** Opens the panel for a session, or brings its panel to the front. */
  show(sessionId: string, options: { preserveFocus?: boolean } = {}): void {
    this.panelFor(sessionId, options.preserveFocus ?? false);
  }

  askForDigits(request: { sessionId: string; sas: string; peerHint: string; expiresAt: number }): Promise<string> {
    if (this.disposed) return Promise.reject(new PairError('confirm_unavailable', 'VS Code is closing this window; confirm the SAS again once it is open.'));
    let snapshot: SessionSnapshot;
    try {
      snapshot = this.options.store.status(request.sessionId);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    if (snapshot.state !== 'sas_ready') {
      return Promise.reject(new PairError('invalid_state', `There is no SAS to verify: the pairing is ${snapshot.state}.`));
    }
    return this.panelFor(request.sessionId, false).waitForPerson(request.peerHint, request.expiresAt);
  }

  dispose(): void {
    this.disposed = true;
    this.unsubscribe();
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
  private pending: PendingRequest | undefined;
  /** Digits were handed over (to the store or an agent) and the answer is not in yet. */
  private checking = false;
  private checkingTimer: NodeJS.Timeout | undefined;
  private error: string | undefined;
  private last: SessionSnapshot;
  private disposed = false;

  constructor(
    private readonly panel: vscode.WebviewPanel,
    media: vscode.Uri,
    snapshot: SessionSnapshot,
    private readonly options: SasPanelsOptions,
    private readonly onDisposed: () => void,
  ) {
    this.last = snapshot;
    const webview = panel.webview;
    webview.html = panelHtml({
      title: sasPanelTitle(snapshot.nameplate),
      cspSource: webview.cspSource,
      nonce: randomBytes(18).toString('base64'),
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(media, 'sasPanel.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(media, 'sasPanel.css')).toString(),
    });
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

  /** Waits for the person's digits on behalf of an agent (MCP `pair_confirm`). */
  waitForPerson(peerHint: string, expiresAt: number): Promise<string> {
    // A newer request replaces an older one for the same session; the older caller learns why.
    this.settle(new PairError('cancelled', 'A newer request to verify this SAS replaced this one.'));
    const promise = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.settle(new PairError('expired', 'The pairing expired before the person confirmed the SAS. Start a new pairing.'));
      }, Math.max(0, expiresAt - Date.now()));
      this.pending = { resolve, reject, peerHint, timer };
    });
    this.refresh();
    return promise;
  }

  /** Re-renders from the store; settles an agent's request if the session ended meanwhile. */
  refresh(): void {
    if (this.disposed) return;
    try {
      this.last = this.options.store.status(this.sessionId);
    } catch {
      // The store forgot the session (ended long ago): keep showing how it ended.
    }
    this.panel.title = panelTitle(this.last);
    if (this.last.state !== 'sas_ready') {
      this.stopChecking();
      if (this.last.state === 'aborted' || this.last.state === 'finalized') {
        this.settle(new PairError(this.last.abortCode ?? 'aborted', `The pairing ended before the SAS was confirmed: ${this.last.abortReason ?? this.last.state}.`));
      }
    }
    this.post();
  }

  private post(): void {
    const snapshot = this.last;
    let sas: string | undefined;
    if (snapshot.state === 'sas_ready') {
      try {
        sas = this.options.store.sasForPerson(this.sessionId);
      } catch {
        sas = undefined; // the state moved on between the two calls; the next refresh shows it
      }
    }
    const extra: Parameters<typeof panelView>[1] = { checking: this.checking };
    if (sas !== undefined) extra.sas = sas;
    if (this.pending) extra.agentRequest = { peerHint: this.pending.peerHint };
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
    const digits = normaliseDigits(typed);
    if (digits === undefined) {
      this.error = DIGITS_HINT;
      this.post();
      return;
    }
    if (this.last.state !== 'sas_ready' || this.checking) return;
    this.error = undefined;
    this.startChecking();
    const pending = this.pending;
    if (pending) {
      // An agent is waiting: it confirms the digits with the store and finalizes.
      this.pending = undefined;
      clearTimeout(pending.timer);
      pending.resolve(digits);
      this.post();
      return;
    }
    this.post();
    void this.options.store.confirmSas(this.sessionId, digits).then(
      () => {
        this.options.onPersonConfirmed(this.sessionId);
      },
      (error: unknown) => {
        // A mismatch has aborted the pairing; the state line says so. Anything else is shown here.
        if (!isPairError(error, 'sas_mismatch')) this.error = error instanceof Error ? error.message : String(error);
      },
    ).finally(() => {
      this.stopChecking();
      this.refresh();
    });
  }

  private async abort(): Promise<void> {
    this.settle(new PairError('cancelled', 'The person aborted the pairing in the SAS panel.'));
    if (this.last.state === 'aborted' || this.last.state === 'finalized') return;
    try {
      await this.options.store.abort(this.sessionId, 'aborted by the person');
      this.error = undefined;
    } catch (error) {
      this.error = error instanceof Error ? error.message : String(error);
    }
    this.refresh();
  }

  private startChecking(): void {
    this.checking = true;
    this.checkingTimer = setTimeout(() => {
      this.stopChecking();
      this.post();
    }, CHECKING_TIMEOUT_MS);
  }

  private stopChecking(): void {
    this.checking = false;
    if (this.checkingTimer) clearTimeout(this.checkingTimer);
    this.checkingTimer = undefined;
  }

  /** Rejects an agent's waiting request, if there is one. */
  private settle(error: PairError): void {
    const pending = this.pending;
    if (!pending) return;
    this.pending = undefined;
    clearTimeout(pending.timer);
    pending.reject(error);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.settle(new PairError('cancelled', 'The person closed the SAS panel without confirming.'));
    this.stopChecking();
    for (const disposable of this.disposables) disposable.dispose();
    this.panel.dispose();
    this.onDisposed();
  }
}
