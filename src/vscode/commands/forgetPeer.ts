// Agent Pair: Forget a Peer. Unpins a peer (after asking): the agent no longer recognises them
// until the two pair again.

import * as vscode from 'vscode';
import { forgetPeer, getPeer, listPeers } from '../../core/trust.js';
import { COMMANDS } from '../ids.js';
import type { ExtensionDeps } from '../deps.js';
import { registerCommand, stringArgument } from '../ui.js';

export function registerForgetPeer(context: vscode.ExtensionContext, deps: ExtensionDeps): void {
  registerCommand(context, deps, COMMANDS.forgetPeer, async (fingerprintArgument?: unknown) => {
    const given = stringArgument(fingerprintArgument);
    let peer;
    if (given !== undefined) {
      peer = await getPeer(deps.core, given);
      if (!peer) {
        void vscode.window.showInformationMessage(`Agent Pair: no pinned peer has the fingerprint ${given.slice(0, 16)}.`);
        return false;
      }
    } else {
      const peers = await listPeers(deps.core);
      if (peers.length === 0) {
        void vscode.window.showInformationMessage('Agent Pair: no pinned peers to forget.');
        return false;
      }
      const picked = await vscode.window.showQuickPick(
        peers.map((candidate) => ({ label: candidate.handle, description: candidate.fingerprint, peer: candidate })),
        { title: 'Agent Pair: Forget a Peer', placeHolder: 'Which peer do you want to forget?', matchOnDescription: true },
      );
      if (!picked) return false;
      peer = picked.peer;
    }
    const answer = await vscode.window.showWarningMessage(
      `Forget ${peer.handle} (${peer.fingerprint})?`,
      { modal: true, detail: 'Your agent will no longer recognise this peer, and their send token is deleted. Pairing again pins them anew.' },
      'Forget',
    );
    if (answer !== 'Forget') return false;
    const forgotten = await forgetPeer(deps.core, peer.fingerprint);
    deps.log.info(`Forgot the peer ${peer.handle} (${peer.fingerprint}).`);
    vscode.window.setStatusBarMessage(`Agent Pair: forgot ${peer.handle}`, 5_000);
    return forgotten;
  });
}
