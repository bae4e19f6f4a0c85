// `agent-pair mcp`: the MCP server on stdio for Claude Code, Cursor and other MCP clients.
// Identity, peers and sessions in flight live in the CLI's home directory (0600 files), so a
// client that starts a server per call finds its pairing again in the next one. This process
// runs its sessions and is their only writer (it holds each one's writer lock,
// node/sessionWriters.ts): the person who confirms in a terminal (`agent-pair confirm SESSION`)
// hands the digits to it over the home's local channel (node/confirmChannel.ts). Once it exits (a
// per-call client closes it), `confirm` takes the lock and runs the pairing itself, and the next
// server restores how it ended. Nothing but protocol goes to stdout; logs go to stderr.

import { once, setMaxListeners } from 'node:events';
import type { Writable } from 'node:stream';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { PairingRunners } from '../core/pairing.js';
import type { RelayConnector } from '../core/ports.js';
import type { BudgetLimits } from '../core/rules.js';
import { SessionStore } from '../core/store.js';
import { escapeHiddenCharacters } from '../core/untrusted.js';
import { createRelayConnector } from '../relay/client.js';
import { openConfirmChannel } from '../node/confirmChannel.js';
import { openHomeStores } from '../node/fileStore.js';
import { homeMailLock } from '../node/mailLock.js';
import { SessionWriters } from '../node/sessionWriters.js';
import { systemClock, systemRandom } from '../node/system.js';
import { createMcpServer } from './server.js';

export interface StdioOptions {
  home: string;
  relayUrl: string;
  /** How to reach relays; default plain HTTP (the CLI passes one that starts the local relay when needed). */
  relays?: RelayConnector;
  /** Every peer_send waits for the person's yes (`agent-pair mcp --confirm-sends`). */
  confirmSends?: boolean;
  /** A CLI command line for the person (`confirm ID`, `send ...`), as this server was started and with its home. */
  personCommand?: (args: string) => string;
  /** The hourly budgets the person set (flags or environment); the core's defaults otherwise. */
  budgets?: Partial<BudgetLimits>;
}

/**
 * The SDK's stdio transport, writing each message with U+2028, U+2029 and U+0085 escaped (the
 * same JSON value): a peer's text reaches the client raw in structuredContent and in channel
 * pushes too, and must not cut the line for a client that splits lines on more than newline.
 */
export class LineSafeStdioServerTransport extends StdioServerTransport {
  constructor(private readonly output: Writable = process.stdout) {
    super(process.stdin, output);
  }

  override async send(message: JSONRPCMessage): Promise<void> {
    if (!this.output.write(`${escapeHiddenCharacters(JSON.stringify(message))}\n`)) await once(this.output, 'drain');
  }
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
  // Sessions another live process of this home runs are its own; the rest resume here, and
  // every session this server opens is its own from the start.
  const writers = new SessionWriters(options.home);
  const releaseWriters = (): void => {
    writers.releaseAll();
  };
  process.once('exit', releaseWriters);
  store.onDidChange(() => {
    for (const session of store.list()) writers.claim(session.sessionId);
  });
  const restored = await store.restore((sessionId) => writers.claim(sessionId));
  const inFlight = restored.restored.filter((snapshot) => snapshot.state !== 'finalized' && snapshot.state !== 'aborted');
  if (inFlight.length > 0) log(`restored ${inFlight.length} pairing(s) in flight`);
  for (const snapshot of inFlight) runners.run(snapshot.sessionId);
  const channel = await openConfirmChannel(options.home, store, runners);
  const server = createMcpServer({ store, deps, runners, defaultRelayUrl: options.relayUrl, log, ...(options.confirmSends !== undefined && { confirmSends: options.confirmSends }), ...(options.personCommand && { personCommand: options.personCommand }), runByAnother: (sessionId) => writers.holder(sessionId), receiveWhileConnected: true, ...(options.budgets && { budgets: options.budgets }) });
  const transport = new LineSafeStdioServerTransport();
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
  releaseWriters();
  process.removeListener('exit', releaseWriters);
}
