// `agent-pair mcp`: the MCP server on stdio for Claude Code, Cursor and other MCP clients.
// Identity, peers and sessions in flight live in the CLI's home directory (0600 files), so the
// person can verify a SAS in a terminal (`agent-pair confirm SESSION`) when the client cannot
// ask them itself. Nothing but protocol goes to stdout; logs go to stderr.

import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { SessionStore } from '../core/store.js';
import { createRelayConnector } from '../relay/client.js';
import { systemClock, systemRandom } from '../node/system.js';
import { openHomeStores } from '../cli/fileStore.js';
import { createMcpServer } from './server.js';

export interface StdioOptions {
  home: string;
  relayUrl: string;
  /** Every peer_send waits for the person's yes (`agent-pair mcp --confirm-sends`). */
  confirmSends?: boolean;
}

/** Serves until the client closes stdin. */
export async function runStdioServer(options: StdioOptions): Promise<void> {
  const log = (line: string): void => {
    process.stderr.write(`agent-pair mcp: ${line}\n`);
  };
  const { vault, memory } = openHomeStores(options.home);
  const deps = { vault, memory, random: systemRandom, clock: systemClock, relays: createRelayConnector() };
  const store = new SessionStore(deps);
  const restored = await store.restore();
  if (restored.restored.length > 0) log(`restored ${restored.restored.length} pairing(s) in flight`);
  const server = createMcpServer({ store, deps, defaultRelayUrl: options.relayUrl, sharedStorage: true, log, ...(options.confirmSends !== undefined && { confirmSends: options.confirmSends }) });
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = resolve;
    process.stdin.once('end', resolve);
  });
  await server.connect(transport);
  log(`serving on stdio (relay ${options.relayUrl}, home ${options.home})`);
  await closed;
  await server.close();
}
