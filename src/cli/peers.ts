// `agent-pair peers`: the pinned peers of a home, one line (or JSON object) each. A module of
// its own so the command loads what it reads: the home's stores, no relay client, nothing of
// messaging or pairing.

import { ReceiveKeys } from '../core/receiveKeys.js';
import { openHomeStores } from '../node/fileStore.js';
import { systemClock, systemRandom } from '../node/system.js';
import { listPeers } from '../core/trust.js';
import { invokedAs } from './invocation.js';
import type { Terminal } from './terminal.js';
import { type CliContext, FORWARD_SECRECY_WORDS, homeOption } from './words.js';

export async function peersCommand(home: string, context: CliContext, terminal: Terminal): Promise<void> {
  const deps = { ...openHomeStores(home), random: systemRandom, clock: systemClock };
  const peers = await listPeers(deps);
  if (peers.length === 0 && !terminal.json) terminal.say(`No pinned peers yet in ${context.home}. Pair with: ${invokedAs()} host${homeOption(context)}`);
  const keys = new ReceiveKeys(deps);
  for (const peer of peers) {
    const secrecy = await keys.forwardSecrecy(peer.fingerprint);
    terminal.result(
      { handle: peer.handle, fingerprint: peer.fingerprint, relay_url: peer.relayUrl, pinned_at: peer.pinnedAt, forward_secrecy: secrecy.state, rule: peer.rule },
      `${peer.fingerprint}  ${peer.handle}  rule ${peer.rule}  pinned ${peer.pinnedAt}  ${FORWARD_SECRECY_WORDS[secrecy.state]}`,
    );
  }
}
