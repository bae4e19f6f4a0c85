// What the person sees of the pairings this window runs: the core's pairing runners drive them
// (a command's, a restored one, an agent's over MCP), and this renders their events: the SAS
// panel when the SAS is ready for a pairing the person started here, "Paired with X" at the
// end, a warning when it ended otherwise or the relay stopped answering. When the pairing's
// panel is on screen it already says how the pairing ended, so the end is a status bar line
// instead of a second notification saying the same. Words: sessionView.ts.

import * as vscode from 'vscode';
import type { PairingEvent, PairingRunners } from '../core/pairing.js';
import type { SessionSnapshot } from '../core/session.js';
import { COMMANDS } from './ids.js';
import type { SasPanels } from './sasPanel.js';
import { endedNotice, pairedNotice, relayTroubleNotice } from './sessionView.js';

/** How long the status bar line at a pairing's end stays. */
const END_LINE_MS = 5_000;

/**
 * How a pairing came to run here. `started`: the person started it in this window, so the SAS
 * panel opens when the SAS is ready. `restored`: a reload left it in flight; one restored in
 * `sas_ready` waits quietly (the status bar says so). `agent`: an agent opened it over MCP and
 * brings the panel up itself (pair_confirm).
 */
export type PairingOrigin = 'started' | 'restored' | 'agent';

export class PairingPresenter implements vscode.Disposable {
  private readonly origins = new Map<string, PairingOrigin>();
  /** Restored sessions whose SAS was ready before the reload: not announced again. */
  private readonly quiet = new Set<string>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly runners: PairingRunners,
    private readonly panels: SasPanels,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.unsubscribe = runners.onEvent((event) => {
      this.render(event);
    });
  }

  /** Runs a pairing the person started here (or wants finalized). */
  start(sessionId: string): void {
    this.origins.set(sessionId, 'started');
    this.runners.run(sessionId);
  }

  /** Runs a pairing a reload left in flight. */
  resume(snapshot: SessionSnapshot): void {
    this.origins.set(snapshot.sessionId, 'restored');
    if (snapshot.state === 'sas_ready') this.quiet.add(snapshot.sessionId);
    this.runners.run(snapshot.sessionId);
  }

  private render(event: PairingEvent): void {
    const { session } = event;
    const origin = this.origins.get(session.sessionId) ?? 'agent';
    switch (event.type) {
      case 'code':
      case 'confirmed':
      case 'relayBack':
        return;
      case 'sasReady':
        if (event.again) return;
        this.log.info(`Pairing ${session.nameplate}: the SAS is ready for the person to verify.`);
        if (origin !== 'agent' && !this.quiet.delete(session.sessionId)) void this.panels.show(session.sessionId);
        return;
      case 'relayTrouble':
        if (event.attempt > 1) return; // said once per outage
        this.log.warn(`Pairing ${session.nameplate}: the relay ${session.relayUrl} failed (${event.code}); retrying in ${event.retryMs / 1000} s.`);
        void vscode.window.showWarningMessage(relayTroubleNotice(session));
        return;
      case 'paired':
        this.log.info(`Pairing ${session.nameplate}: paired with ${event.peer.handle} (${event.peer.fingerprint}).`);
        if (this.panels.isVisible(session.sessionId)) vscode.window.setStatusBarMessage(`$(pass) ${pairedNotice(event.peer)}`, END_LINE_MS);
        else void vscode.window.showInformationMessage(pairedNotice(event.peer));
        return;
      case 'ended': {
        this.log.info(`Pairing ${session.nameplate} ended: ${event.code}: ${event.reason}`);
        if (event.code === 'aborted') {
          // This side aborted it, so the person knows; a quiet line is enough.
          vscode.window.setStatusBarMessage(`Agent Pair: pairing ${session.nameplate} aborted`, END_LINE_MS);
          return;
        }
        if (this.panels.isVisible(session.sessionId)) {
          vscode.window.setStatusBarMessage(`$(error) Agent Pair: pairing ${session.nameplate} ended`, END_LINE_MS);
          return;
        }
        const notice = endedNotice(session);
        void vscode.window.showWarningMessage(notice.text, ...(notice.setUpIdentity ? ['Set Up Identity'] : [])).then((chosen) => {
          if (chosen === 'Set Up Identity') void vscode.commands.executeCommand(COMMANDS.setUpIdentity);
        });
        return;
      }
    }
  }

  dispose(): void {
    this.unsubscribe();
  }
}
