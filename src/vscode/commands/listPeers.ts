// Agent Pair: List Peers. The pinned peers, by handle and fingerprint; picking one offers to
// copy its fingerprint or forget it.

import * as vscode from 'vscode';
import { listPeers } from '../../core/trust.js';
import { COMMANDS } from '../ids.js';
import type { ExtensionDeps } from '../deps.js';
import { copyToClipboard, registerCommand } from '../ui.js';

export function registerListPeers(context: vscode.ExtensionContext, deps: ExtensionDeps): void {
  registerCommand(context, deps, COMMANDS.listPeers, async () => {
    const peers = await listPeers(deps.core);
    const summary = peers.map((peer) => ({ handle: peer.handle, fingerprint: peer.fingerprint, relayUrl: peer.relayUrl, pinnedAt: peer.pinnedAt }));
    if (peers.length === 0) {
      void vscode.window.showInformationMessage('Agent Pair: no pinned peers yet. Pair with someone to pin them.');
      return summary;
    }
    void pickPeer(summary);
    return summary;
  });
}

async function pickPeer(peers: { handle: string; fingerprint: string; relayUrl: string; pinnedAt: string }[]): Promise<void> {
  const picked = await vscode.window.showQuickPick(
    peers.map((peer) => ({ label: `$(person) ${peer.handle}`, description: peer.fingerprint, detail: `pinned ${peer.pinnedAt}, inbox on ${peer.relayUrl}`, fingerprint: peer.fingerprint })),
    { title: 'Agent Pair: Pinned Peers', placeHolder: 'Pick a peer to copy its fingerprint or forget it', matchOnDescription: true },
  );
  if (!picked) return;
  const action = await vscode.window.showQuickPick(['Copy Fingerprint', 'Forget This Peer'], { title: `Agent Pair: ${picked.label.replace('$(person) ', '')}` });
  if (action === 'Copy Fingerprint') await copyToClipboard(picked.fingerprint, 'Copied the fingerprint');
  if (action === 'Forget This Peer') await vscode.commands.executeCommand(COMMANDS.forgetPeer, picked.fingerprint);
}
