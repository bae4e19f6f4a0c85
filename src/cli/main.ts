// `agent-pair`: argv in, one command out. No protocol logic lives here: every command is a thin
// call into the core (sessions, identity, trust), the relay, or the MCP server.

import packageJson from '../../package.json' with { type: 'json' };
import { PairError, isPairError } from '../core/errors.js';
import { initSelfIdempotent, loadIdentity } from '../core/identity.js';
import { forgetPeer, listPeers } from '../core/trust.js';
import { SAS_MISMATCH_REASON } from '../core/session.js';
import { SessionStore } from '../core/store.js';
import { createRelayConnector } from '../relay/client.js';
import { DEFAULT_RELAY_HOST, DEFAULT_RELAY_PORT, describeListenFailure } from '../relay/embedded.js';
import { startRelay } from '../relay/node.js';
import { defaultHome, systemClock, systemRandom } from '../node/system.js';
import { ARGS, type CommandSpec, type OptionValues, parseCommandLine } from './commandLine.js';
import { openHomeStores } from './fileStore.js';
import { invokedAs } from './invocation.js';
import { resolveRelay, runPairing } from './pair.js';
import { Terminal } from './terminal.js';

/** Exit statuses: 0 paired or done, 1 the operation failed, 2 the command line was wrong, 130 interrupted. */
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

/** What a command gets: its checked arguments and options, the home directory and the terminal. */
interface Invocation {
  args: string[];
  options: Partial<OptionValues>;
  home: string;
  terminal: Terminal;
}

interface Command extends CommandSpec {
  run(invocation: Invocation): Promise<number>;
}

/** Every command: its help, its arguments and options (checked before it runs), and what it does. */
const COMMANDS: readonly Command[] = [
  {
    name: 'host',
    summary: 'Host a pairing: print a code phrase to read out, then verify the SAS the other person reads back',
    args: [],
    options: ['relay', 'handle', 'home', 'json'],
    examples: [
      { args: '', why: 'pair through the local relay (started here if none runs); the other person is on this machine' },
      { args: '--relay https://relay.example.com', why: 'pair through a relay both people can reach' },
      { args: '--home /tmp/alice --handle alice', why: 'a first try on one machine: one identity per --home' },
    ],
    run: async ({ options, home, terminal }) => ((await runPairing({ role: 'host', home, ...pairingOptions(options) }, terminal)) ? 0 : EXIT_FAILED),
  },
  {
    name: 'join',
    summary: 'Join a pairing with the code phrase the other person read out, then verify the SAS',
    args: [ARGS.code],
    options: ['relay', 'handle', 'home', 'json'],
    examples: [
      { args: '47-UE2BZG', why: 'join through the local relay' },
      { args: '47-UE2BZG --relay https://relay.example.com', why: 'join through the relay the host named' },
      { args: '47-UE2BZG --home /tmp/bob --handle bob', why: 'the second person of a one-machine try' },
    ],
    run: async ({ args: [code = ''], options, home, terminal }) => ((await runPairing({ role: 'guest', home, code, ...pairingOptions(options) }, terminal)) ? 0 : EXIT_FAILED),
  },
  {
    name: 'confirm',
    summary: 'Verify the SAS of a pairing your agent started over MCP',
    details: 'The agent never sees the SAS; it gives you this command with the session id, and you type the digits the other person reads out.',
    args: [ARGS.sessionId],
    options: ['home', 'json'],
    examples: [{ args: '0f3c9a1e5b7d4c2a8e6f1b3d5a7c9e0f', why: 'the session id your agent printed' }],
    run: async ({ args: [sessionId = ''], home, terminal }) => confirmFromTerminal(home, sessionId, terminal),
  },
  {
    name: 'whoami',
    summary: 'Show this identity: handle and fingerprint',
    args: [],
    options: ['home', 'json'],
    examples: [
      { args: '', why: 'the identity in ~/.agent-pair' },
      { args: '--home /tmp/bob --json', why: 'another home, as JSON' },
    ],
    run: async ({ home, terminal }) => {
      const identity = await loadIdentity(homeDeps(home));
      if (!identity) throw new PairError('identity_missing', `No identity in ${home} yet. Create one with: ${invokedAs()} init YOUR_HANDLE`);
      terminal.result({ handle: identity.handle, fingerprint: identity.fingerprint, relay_url: identity.relay?.url ?? null }, `${identity.handle}  ${identity.fingerprint}${identity.relay ? `  inbox on ${identity.relay.url}` : ''}`);
      return 0;
    },
  },
  {
    name: 'init',
    summary: 'Set up this identity with a handle (does nothing if it exists with that handle)',
    details: 'host and join set one up on first use with your login name (or --handle), so init is optional.',
    args: [ARGS.handle],
    options: ['relay', 'home', 'json'],
    examples: [
      { args: 'alice', why: 'create the identity alice in ~/.agent-pair' },
      { args: 'bob --home /tmp/bob', why: 'a second identity on this machine' },
    ],
    run: async ({ args: [handle = ''], options, home, terminal }) => {
      const deps = homeDeps(home);
      const { identity, created } = await initSelfIdempotent(deps, handle, options.relay === undefined ? undefined : deps.relays(options.relay));
      terminal.result({ handle: identity.handle, fingerprint: identity.fingerprint, created }, `${created ? 'Created' : 'Already set up:'} ${identity.handle} (${identity.fingerprint})`);
      return 0;
    },
  },
  {
    name: 'peers',
    summary: 'List the peers pinned by pairing',
    args: [],
    options: ['home', 'json'],
    examples: [{ args: '', why: 'fingerprint, handle and when each was pinned' }],
    run: async ({ home, terminal }) => {
      const peers = await listPeers(homeDeps(home));
      if (peers.length === 0 && !terminal.json) terminal.say(`No pinned peers yet. Pair with: ${invokedAs()} host`);
      for (const peer of peers) {
        terminal.result({ handle: peer.handle, fingerprint: peer.fingerprint, relay_url: peer.relayUrl, pinned_at: peer.pinnedAt }, `${peer.fingerprint}  ${peer.handle}  pinned ${peer.pinnedAt}`);
      }
      return 0;
    },
  },
  {
    name: 'forget',
    summary: 'Unpin a peer',
    args: [ARGS.fingerprint],
    options: ['home', 'json'],
    examples: [{ args: '3f2a9c0d1e4b5a68', why: 'a fingerprint from the peers command' }],
    run: async ({ args: [fingerprint = ''], home, terminal }) => {
      const removed = await forgetPeer(homeDeps(home), fingerprint);
      if (!removed) throw new PairError('not_found', `No pinned peer has fingerprint ${fingerprint}. List them with: ${invokedAs()} peers`);
      terminal.say(`Forgot ${fingerprint}.`);
      return 0;
    },
  },
  {
    name: 'relay',
    summary: 'Run a relay until Ctrl-C',
    details: 'The relay is untrusted by design: it never sees the code\'s secret, the SAS or the key. Put it behind a TLS proxy to use it over the internet.',
    args: [],
    options: ['host', 'port'],
    examples: [
      { args: '', why: `the local relay, on ${DEFAULT_RELAY_HOST}:${DEFAULT_RELAY_PORT}, which outlives single pairings and MCP calls` },
      { args: '--host 0.0.0.0 --port 8771', why: 'a relay people on other machines can reach' },
    ],
    run: async ({ options, terminal }) => runRelay(options.host ?? DEFAULT_RELAY_HOST, options.port ?? DEFAULT_RELAY_PORT, terminal),
  },
  {
    name: 'mcp',
    summary: 'Run the MCP server on stdio, for MCP clients outside VS Code (Claude Code, Cursor, the MCP Inspector)',
    details: 'The agent gets tools to host, join and finalize pairings; it never sees the SAS. The person confirms it through the client\'s prompt, or with the confirm command.',
    args: [],
    options: ['relay', 'home'],
    examples: [
      { args: '', why: 'what an MCP client runs (give it the absolute path of dist/cli.mjs)' },
      { args: '--relay https://relay.example.com', why: 'pair through a shared relay' },
    ],
    run: async ({ options, home }) => {
      const relay = await resolveRelay(options.relay);
      const { runStdioServer } = await import('../mcp/stdio.js');
      await runStdioServer({ home, relayUrl: relay.url });
      return 0;
    },
  },
];

export async function main(argv: string[]): Promise<number> {
  const line = parseCommandLine(argv, COMMANDS, invokedAs());
  switch (line.kind) {
    case 'version':
      process.stdout.write(`${packageJson.version}\n`);
      return 0;
    case 'help':
      (line.exitCode === 0 ? process.stdout : process.stderr).write(line.text);
      return line.exitCode;
    case 'error':
      if (line.json) process.stdout.write(`${JSON.stringify({ event: 'error', code: line.error.code, message: line.error.message })}\n`);
      process.stderr.write(`agent-pair: ${line.error.message}\n`);
      return EXIT_USAGE;
    case 'run':
      break;
  }
  const { command, args, options } = line;
  const terminal = new Terminal(options.json ?? false);
  const home = options.home ?? defaultHome();
  try {
    return await command.run({ args, options, home, terminal });
  } catch (error) {
    const code = isPairError(error) ? error.code : 'relay_error';
    const message = error instanceof Error ? error.message : String(error);
    terminal.event({ event: 'error', code, message });
    terminal.warn(`agent-pair: ${message}`);
    if (!isPairError(error) && process.env['AGENT_PAIR_DEBUG'] === '1' && error instanceof Error) terminal.warn(error.stack ?? '');
    return EXIT_FAILED;
  } finally {
    terminal.close();
  }
}

function pairingOptions(options: Partial<OptionValues>): { relayUrl?: string; handle?: string } {
  return { ...(options.relay !== undefined && { relayUrl: options.relay }), ...(options.handle !== undefined && { handle: options.handle }) };
}

function homeDeps(home: string) {
  const { vault, memory } = openHomeStores(home);
  return { vault, memory, random: systemRandom, clock: systemClock, relays: createRelayConnector() };
}

/**
 * The person's half of an agent's pairing: the MCP stdio server persisted the session in the
 * home directory; this process restores it without network I/O, shows the SAS and takes the
 * digits. The MCP server sees the confirmation on its next call.
 */
async function confirmFromTerminal(home: string, sessionId: string, terminal: Terminal): Promise<number> {
  const store = new SessionStore(homeDeps(home));
  await store.restore();
  let snapshot = await store.trySas(sessionId);
  if (snapshot.state === 'opened') snapshot = await store.waitForSas(sessionId, 30_000);
  if (snapshot.state !== 'sas_ready') {
    throw new PairError('invalid_state', `Pairing ${sessionId} is ${snapshot.state}${snapshot.abortReason ? ` (${snapshot.abortReason})` : ''}: there is no SAS to verify. ${snapshot.nextStep}`);
  }
  const sas = store.sasForPerson(sessionId);
  terminal.event({ event: 'sas', sas, session_id: sessionId });
  terminal.say(`Your SAS: ${sas}\nRead it to the other person and listen to theirs. They must be the same.`);
  const typed = await terminal.ask('Type the 6 digits the other person reads out: ');
  if (typed === undefined) throw new PairError('cancelled', 'No digits were typed; the pairing still waits for the SAS.');
  try {
    await store.confirmSas(sessionId, typed);
  } catch (error) {
    if (!isPairError(error, 'sas_mismatch')) throw error;
    terminal.event({ event: 'aborted', reason: SAS_MISMATCH_REASON, code: 'sas_mismatch' });
    terminal.warn(error.message);
    return EXIT_FAILED;
  }
  terminal.say('Confirmed. Your agent can finalize the pairing now.');
  return 0;
}

async function runRelay(host: string, port: number, terminal: Terminal): Promise<number> {
  let relay;
  try {
    relay = await startRelay({ host, port });
  } catch (error) {
    terminal.warn(`agent-pair: ${describeListenFailure(host, port, error)}`);
    return EXIT_FAILED;
  }
  terminal.say(`Agent Pair relay listening on ${relay.url} (Ctrl-C stops it).`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await relay.close();
  terminal.say('Relay stopped.');
  return 0;
}

const exitCode = await main(process.argv.slice(2));
process.exitCode = exitCode;
