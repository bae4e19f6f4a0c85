// What the person sees of a pairing driven in the background: the SAS panel when the SAS is
// ready, "Paired with X (fingerprint)" at the end, and a warning when it ended otherwise. When
// the pairing's panel is on screen it already says how the pairing ended, so the end is a
// status bar line instead of a second notification saying the same.

import * as vscode from 'vscode';
import { isPairError } from '../core/errors.js';
import { COMMANDS } from './ids.js';
import type { PairingUi } from './pairingDriver.js';
import type { SasPanels } from './sasPanel.js';
import { describeState } from './sessionView.js';

/** How long the status bar line at a pairing's end stays. */
const END_LINE_MS = 5_000;

export function createPairingUi(panels: SasPanels, log: vscode.LogOutputChannel): PairingUi {
  return {
    sasReady: (snapshot, reveal) => {
      log.info(`Pairing ${snapshot.nameplate}: the SAS is ready for the person to verify.`);
      if (reveal) panels.show(snapshot.sessionId);
    },
    paired: (snapshot) => {
      const peer = snapshot.peer;
      const text = peer ? `Paired with ${peer.handle} (${peer.fingerprint}).` : 'Paired.';
      log.info(`Pairing ${snapshot.nameplate}: ${text}`);
      if (panels.isVisible(snapshot.sessionId)) vscode.window.setStatusBarMessage(`$(pass) Agent Pair: ${text}`, END_LINE_MS);
      else void vscode.window.showInformationMessage(`Agent Pair: ${text}`);
    },
    ended: (snapshot) => {
      log.info(`Pairing ${snapshot.nameplate} ended: ${snapshot.abortCode ?? 'aborted'}: ${snapshot.abortReason ?? ''}`);
      if (snapshot.abortCode === 'aborted') {
        // This side aborted it, so the person knows; a quiet line is enough.
        vscode.window.setStatusBarMessage(`Agent Pair: pairing ${snapshot.nameplate} aborted`, END_LINE_MS);
        return;
      }
      if (panels.isVisible(snapshot.sessionId)) {
        vscode.window.setStatusBarMessage(`$(error) Agent Pair: pairing ${snapshot.nameplate} ended`, END_LINE_MS);
        return;
      }
      void vscode.window.showWarningMessage(`Agent Pair: pairing ${snapshot.nameplate}: ${describeState(snapshot)}. ${snapshot.nextStep}`);
    },
    stopped: (snapshot, error) => {
      const message = error instanceof Error ? error.message : String(error);
      log.warn(`Pairing ${snapshot.nameplate} stopped: ${message}`);
      const action = isPairError(error, 'identity_missing') ? 'Set Up Identity' : 'Show Pairings';
      void vscode.window.showErrorMessage(`Agent Pair: pairing ${snapshot.nameplate} stopped: ${message}`, action).then((chosen) => {
        if (chosen === 'Set Up Identity') void vscode.commands.executeCommand(COMMANDS.setUpIdentity);
        if (chosen === 'Show Pairings') void vscode.commands.executeCommand(COMMANDS.showSessions);
      });
    },
    relayTrouble: (snapshot) => {
      void vscode.window.showWarningMessage(`Agent Pair: the relay ${snapshot.relayUrl} does not answer; pairing ${snapshot.nameplate} keeps retrying while it lasts.`);
    },
  };
}
