// Agent Pair: Forget a Peer. Unpins a peer (after asking) and revokes the grant this side gave
// it at the relay, so its messages are refused: the agent no longer recognises them until the
// two pair again. Run from the palette, List Peers or a Peers view row.

import * as vscode from 'vscode';
import { forgetAndRevoke } from '../../core/grants.js';
import { getPeer, listPeers } from '../../core/trust.js';
import { COMMANDS } from '../ids.js';
import type { ExtensionDeps } from '../deps.js';
import { fingerprintArgument } from '../peersView.js';
import { registerCommand } from '../ui.js';

export function registerForgetPeer(context: vscode.ExtensionContext, deps: ExtensionDeps): void {
  registerCommand(context, deps, COMMANDS.forgetPeer, async (peerArgument?: unknown) => {
    const given = fingerprintArgument(peerArgument);
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
      { modal: true, detail: 'Your agent will no longer recognise this peer, their messages are refused, and their send token is deleted. Pairing again pins them anew.' },
      'Forget',
    );
    if (answer !== 'Forget') return false;
    const { forgotten, revoked } = await forgetAndRevoke({ ...deps.core, log: (line) => { deps.log.warn(line); } }, peer.fingerprint);
    deps.log.info(`Forgot the peer ${peer.handle} (${peer.fingerprint})${revoked ? '' : '; the relay did not confirm revoking their access'}.`);
    await vscode.commands.executeCommand(COMMANDS.refreshPeers);
    vscode.window.setStatusBarMessage(`Agent Pair: forgot ${peer.handle}`, 5_000);
    return forgotten;
  });
}
