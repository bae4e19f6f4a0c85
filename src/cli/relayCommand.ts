// `agent-pair relay`: a relay in this process until Ctrl-C, with the options `node dist/relay.mjs`
// takes (relay/options.ts). Apart from run.ts so no other command loads the relay's option table.

import { errorMessage } from '../core/errors.js';
import { DEFAULT_RELAY_HOST, DEFAULT_RELAY_PORT } from '../relay/embedded.js';
import { relaySettings } from '../relay/options.js';
import type { OptionValues } from './commandLine.js';
import type { Terminal } from './terminal.js';
import { EXIT_FAILED, EXIT_USAGE } from './usage.js';

export async function runRelay(options: Partial<OptionValues>, terminal: Terminal): Promise<number> {
  // The environment names the same as relay.mjs does (relay/options.ts); the command line wins.
  let settings;
  try {
    settings = relaySettings(['host', 'port', 'store', 'trust-proxy'], {}, process.env);
  } catch (error) {
    terminal.warn(`agent-pair: ${errorMessage(error)}`);
    return EXIT_USAGE;
  }
  const host = options.host ?? settings.host ?? DEFAULT_RELAY_HOST;
  const port = options.port ?? settings.port ?? DEFAULT_RELAY_PORT;
  const store = options.store ?? settings.store;
  const trustProxy = options['trust-proxy'] ?? settings['trust-proxy'] ?? [];
  const [{ startRelay }, { StoreUnavailableError }, { describeListenFailure }] = await Promise.all([
    import('../relay/node.js'),
    import('../relay/store.js'),
    import('../relay/embedded.js'),
  ]);
  let relay;
  try {
    relay = await startRelay({ host, port, trustProxy, metrics: true, ...(store !== undefined && { store }) });
  } catch (error) {
    terminal.warn(`agent-pair: ${error instanceof StoreUnavailableError ? error.message : describeListenFailure(host, port, error)}`);
    return EXIT_FAILED;
  }
  // The handlers go in before the line that tells anyone the relay runs: a signal sent on
  // reading it would otherwise end the process at once, without closing the store.
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  terminal.say(`Agent Pair relay listening on ${relay.url} (store: ${relay.storeDescription}); Ctrl-C stops it.`);
  await stopped;
  await relay.close();
  terminal.say('Relay stopped.');
  return 0;
}

