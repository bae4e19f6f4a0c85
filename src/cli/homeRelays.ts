// The relays of a home, as the commands that use its inbox and peers reach them (send, inbox,
// peers, forget, `agent-pair mcp`): apart from pair.ts so those commands load the relay client
// and the local relay's starter, not the pairing runner, SPAKE2 and the session machine.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { RelayConnector } from '../core/ports.js';
import { RelayChoice, localRelayPort, localRelayStateDir, nodeScriptCommand, startingLocalRelay } from '../node/localRelay.js';
import { httpFetch } from '../relay/transport.js';
import { createRelayConnector } from '../relay/client.js';

export { LOCAL_RELAY_PORT_ENV, localRelayPort } from '../node/localRelay.js';

/**
 * The shared local relay as the CLI and `agent-pair mcp` start it: dist/relay.mjs beside this
 * bundle, its record in this OS user's state directory (beside its SQLite file, whichever home
 * started it). Undefined when run from sources, where there is no bundle.
 */
export function localRelayChoice(): RelayChoice | undefined {
  const script = join(import.meta.dirname, 'relay.mjs');
  if (!existsSync(script)) return undefined;
  return new RelayChoice({ configuredUrl: () => '', port: localRelayPort(), stateDir: localRelayStateDir(), relayCommand: nodeScriptCommand(script) });
}

/**
 * The relay connector of a command that uses the home's inbox and peers (send, inbox, forget,
 * `agent-pair mcp`): the local relay is started whenever a call finds it not answering.
 */
export function homeRelayConnector(): RelayConnector {
  const choice = localRelayChoice();
  const relays = cliRelayConnector();
  return choice === undefined ? relays : startingLocalRelay(relays, choice);
}

/** The CLI's relay clients, on node:http rather than the global fetch: see relay/transport.ts. */
export function cliRelayConnector(): RelayConnector {
  return createRelayConnector({ fetch: httpFetch });
}
