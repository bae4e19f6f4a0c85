// The commands that only read the home's stores (peers, whoami): no relay client, nothing of
// messaging or pairing. One file of its own in dist/ (cli-home.cjs), see ../run.ts.

import { PairError } from '../../core/errors.js';
import { loadIdentity } from '../../core/identity.js';
import { openHomeStores } from '../../node/fileStore.js';
import { invokedAs } from '../invocation.js';
import type { CommandsOf } from '../main.js';
import { peersCommand } from '../peers.js';
import { type CommandRuns, commandGroup } from '../run.js';
import { homeOption } from '../words.js';

const RUNS: CommandRuns<CommandsOf<'home'>> = {
  whoami: async ({ context, home, terminal }) => {
    const identity = await loadIdentity(openHomeStores(home));
    if (!identity) throw new PairError('identity_missing', `No identity in ${home} yet. Create one with: ${invokedAs()} init YOUR_HANDLE${homeOption(context)}`);
    terminal.result({ handle: identity.handle, fingerprint: identity.fingerprint, relay_url: identity.relay?.url ?? null }, `${identity.handle}  ${identity.fingerprint}${identity.relay ? `  inbox on ${identity.relay.url}` : ''}`);
    return 0;
  },
  peers: async ({ context, home, terminal }) => {
    await peersCommand(home, context, terminal);
    return 0;
  },
};

export const run = commandGroup(RUNS);
