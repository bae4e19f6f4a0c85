// `agent-pair mcp`: the MCP server on stdio for Claude Code, Cursor and other MCP clients.
// Identity, peers and sessions in flight live in the CLI's home directory (0600 files), so a
// client that starts a server per call finds its pairing again in the next one. This process
// runs its sessions and is their only writer: the person who confirms in a terminal
// (`agent-pair confirm SESSION`) hands the digits to it over the home's local channel
// (node/confirmChannel.ts). Nothing but protocol goes to stdout; logs go to stderr.

import { setMaxListeners } from 'node:events';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { PairingRunners } from '../core/pairing.js';
import type { RelayConnector } from '../core/ports.js';
import { SessionStore } from '../core/store.js';
import { createRelayConnector } from '../relay/client.js';
import { findServers, openConfirmChannel } from '../node/confirmChannel.js';
import { openHomeStores } from '../node/fileStore.js';
import { homeMailLock } from '../node/mailLock.js';
import { systemClock, systemRandom } from '../node/system.js';
import { createMcpServer } from './server.js';

export interface StdioOptions {
  home: string;
  relayUrl: string;
  /** How to reach relays; default plain HTTP (the CLI passes one that starts the local relay when needed). */
  relays?: RelayConnector;
  /** Every peer_send waits for the person's yes (`agent-pair mcp --confirm-sends`). */
  confirmSends?: boolean;
  /** The command the person runs to verify a session's SAS in a terminal, as this server was started. */
  confirmCommand?: (sessionId: string) => string;
}

/** Serves until the client closes stdin. */
export async function runStdioServer(options: StdioOptions): Promise<void> {
  const log = (line: string): void => {
    process.stderr.write(`agent-pair mcp: ${line}\n`);
  };
  const { vault, memory } = openHomeStores(options.home);
  const deps = { vault, memory, mailLock: homeMailLock(options.home), random: systemRandom, clock: systemClock, relays: options.relays ?? createRelayConnector() };
  const store = new SessionStore(deps);
  const runners = new PairingRunners({ store, clock: systemClock, log });
  setMaxListeners(0, runners.stopSignal);
  // Sessions another live server of this home runs are its own; the rest resume here.
  const others = new Set((await findServers(options.home)).flatMap((server) => server.listing.sessions.map((session) => session.session_id)));
  const restored = await store.restore(others);
  if (restored.restored.length > 0) log(`restored ${restored.restored.length} pairing(s) in flight`);
  for (const snapshot of restored.restored) runners.run(snapshot.sessionId);
  const channel = await openConfirmChannel(options.home, store, runners);
  const server = createMcpServer({ store, deps, runners, defaultRelayUrl: options.relayUrl, log, ...(options.confirmSends !== undefined && { confirmSends: options.confirmSends }), ...(options.confirmCommand && { confirmCommand: options.confirmCommand }) });
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = resolve;
    process.stdin.once('end', resolve);
  });
  await server.connect(transport);
  log(`serving on stdio (relay ${options.relayUrl}, home ${options.home})`);
  await closed;
  runners.dispose();
  await channel.close();
  await server.close();
}
