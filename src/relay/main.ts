// The standalone relay (`node dist/relay.mjs [--host H] [--port P]`), for running one on a server.
// Configuration by flags or AGENT_PAIR_RELAY_HOST / AGENT_PAIR_RELAY_PORT.

import { parseArgs } from 'node:util';
import { DEFAULT_RELAY_HOST, DEFAULT_RELAY_PORT } from './embedded.js';
import { startRelay } from './node.js';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: process.env['AGENT_PAIR_RELAY_HOST'] ?? DEFAULT_RELAY_HOST },
    port: { type: 'string', default: process.env['AGENT_PAIR_RELAY_PORT'] ?? String(DEFAULT_RELAY_PORT) },
  },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  process.stderr.write(`relay: --port ${values.port} is not a port; expected 0 to 65535\n`);
  process.exit(2);
}
const relay = await startRelay({ host: values.host, port });
process.stdout.write(`Agent Pair relay listening on ${relay.url}\n`);
const stop = (): void => {
  void relay.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
