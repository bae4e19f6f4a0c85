// `agent-pair`: argv in, one command out. No protocol logic lives here: every command is a thin
// call into the core (sessions, identity, trust), the relay, or the MCP server.

import packageJson from '../../package.json' with { type: 'json' };
import { join, resolve } from 'node:path';
import { PairError, isPairError } from '../core/errors.js';
import { IDENTITY_KEYS, initSelfIdempotent, loadIdentity } from '../core/identity.js';
import { ReceiveKeys } from '../core/receiveKeys.js';
import { listPeers } from '../core/trust.js';
import { createRelayConnector } from '../relay/client.js';
import { DEFAULT_RELAY_HOST, DEFAULT_RELAY_PORT, describeListenFailure } from '../relay/embedded.js';
import { startRelay, trustedProxies } from '../relay/node.js';
import { StoreUnavailableError } from '../relay/store.js';
import { defaultHome, systemClock, systemRandom } from '../node/system.js';
import { ARGS, type CommandSpec, type OptionValues, UsageError, parseCommandLine } from './commandLine.js';
import { keyToFileName, openHomeStores } from '../node/fileStore.js';
import { homeMailLock } from '../node/mailLock.js';
import { confirmFromTerminal, listSessions } from './confirm.js';
import { invokedAs, invokedAsFromAnywhere, shellWord } from './invocation.js';
import { forgetCommand, inboxCommand, sendCommand } from './messages.js';
import { resolveRelay, runPairing } from './pair.js';
import { Terminal } from './terminal.js';
import { type CliContext, FORWARD_SECRECY_WORDS, identityConflictWords } from './words.js';

/** Exit statuses: 0 paired or done, 1 the operation failed, 2 the command line was wrong, 130 interrupted. */
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
const EXIT_INTERRUPTED = 130;
const PAIR_EXIT = { paired: 0, ended: EXIT_FAILED, interrupted: EXIT_INTERRUPTED } as const;

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
    run: async ({ options, home, terminal }) => PAIR_EXIT[await runPairing({ role: 'host', home, context: cliContext(home), ...pairingOptions(options) }, terminal)],
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
    run: async ({ args: [code = ''], options, home, terminal }) => PAIR_EXIT[await runPairing({ role: 'guest', home, code, context: cliContext(home), ...pairingOptions(options) }, terminal)],
  },
  {
    name: 'confirm',
    summary: 'Verify the SAS of a pairing your agent started over MCP',
    details: 'The agent never sees the SAS; it gives you this command with the session id, and you type the digits the other person reads out.',
    args: [ARGS.sessionId],
    options: ['home', 'json'],
    examples: [{ args: '0f3c9a1e5b7d4c2a8e6f1b3d5a7c9e0f', why: 'the session id your agent printed' }],
    run: async ({ args: [sessionId = ''], home, terminal }) => ((await confirmFromTerminal(cliContext(home), sessionId, terminal)) ? 0 : EXIT_FAILED),
  },
  {
    name: 'sessions',
    summary: 'List the pairings your agents have in flight (their MCP servers run them), with their session ids',
    args: [],
    options: ['home', 'json'],
    examples: [
      { args: '', why: 'the session id to give the confirm command' },
      { args: '--home /tmp/bob', why: 'the pairings of an agent whose server uses another home' },
    ],
    run: async ({ home, terminal }) => {
      await listSessions(cliContext(home), terminal);
      return 0;
    },
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
      const { identity, created } = await initSelfIdempotent(deps, handle, options.relay === undefined ? undefined : deps.relays(options.relay)).catch(async (error: unknown) => {
        const existing = isPairError(error, 'identity_conflict') ? await loadIdentity(deps) : undefined;
        if (!existing) throw error;
        const files = { card: join(home, 'state', keyToFileName(IDENTITY_KEYS.card)), privateKey: join(home, 'secrets', keyToFileName(IDENTITY_KEYS.privateKey)) };
        throw new PairError('identity_conflict', identityConflictWords(existing, handle, files, cliContext(home)));
      });
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
      const deps = homeDeps(home);
      const peers = await listPeers(deps);
      if (peers.length === 0 && !terminal.json) terminal.say(`No pinned peers yet. Pair with: ${invokedAs()} host`);
      const keys = new ReceiveKeys(deps);
      for (const peer of peers) {
        const secrecy = await keys.forwardSecrecy(peer.fingerprint);
        terminal.result(
          { handle: peer.handle, fingerprint: peer.fingerprint, relay_url: peer.relayUrl, pinned_at: peer.pinnedAt, forward_secrecy: secrecy.state },
          `${peer.fingerprint}  ${peer.handle}  pinned ${peer.pinnedAt}  ${FORWARD_SECRECY_WORDS[secrecy.state]}`,
        );
      }
      return 0;
    },
  },
  {
    name: 'forget',
    summary: 'Unpin a peer and revoke its access to your inbox',
    args: [ARGS.fingerprint],
    options: ['home', 'json'],
    examples: [{ args: '3f2a9c0d1e4b5a68', why: 'a fingerprint from the peers command' }],
    run: async ({ args: [fingerprint = ''], home, terminal }) => forgetCommand(homeDeps(home), fingerprint, terminal),
  },
  {
    name: 'send',
    summary: 'Send a message to a pinned peer, end-to-end encrypted',
    details: 'It returns once the peer\'s relay stored the message; it shows as delivered once they have read it (inbox prints the receipt).',
    args: [ARGS.peer, ARGS.text],
    options: ['data', 'reply-to', 'home', 'json'],
    examples: [
      { args: 'bob "the tests pass on my side"', why: 'a text for the person or agent on the other side' },
      { args: 'bob --data \'{"pr":12,"status":"green"}\'', why: 'structured data for the other agent' },
      { args: '3f2a9c0d1e4b5a68 "yes" --reply-to 5f1c2a9b0d3e4f60718293a4b5c6d7e8', why: 'answer a message, naming the peer by fingerprint' },
    ],
    run: async ({ args: [peer = '', text], options, home, terminal }) => {
      if ((text === undefined) === (options.data === undefined)) {
        throw new UsageError(`send takes either TEXT or --data JSON${text === undefined ? '' : ', not both'}; see ${invokedAs()} send --help`);
      }
      return sendCommand(homeDeps(home), peer, { ...(text !== undefined && { text }), ...(options.data !== undefined && { data: options.data }), ...(options['reply-to'] !== undefined && { replyTo: options['reply-to'] }) }, terminal);
    },
  },
  {
    name: 'inbox',
    summary: 'Print new messages from your peers, mark them handled and send the receipts',
    details: 'It also reports receipts for what you sent, envelopes dropped because they failed a check, and messages the relay may have lost.',
    args: [],
    options: ['wait', 'follow', 'loss-grace', 'home', 'json'],
    examples: [
      { args: '', why: 'what arrived since the last look' },
      { args: '--wait 30', why: 'wait up to 30 s for a message when none is there yet' },
      { args: '--follow --json', why: 'one JSON event per line as messages come, until Ctrl-C' },
    ],
    run: async ({ options, home, terminal }) =>
      inboxCommand(homeDeps(home), { waitSeconds: options.wait ?? 0, follow: options.follow ?? false, ...(options['loss-grace'] !== undefined && { lossGraceSeconds: options['loss-grace'] }) }, terminal),
  },
  {
    name: 'relay',
    summary: 'Run a relay until Ctrl-C',
    details: 'The relay is untrusted by design: it never sees the code\'s secret, the SAS or the key. Put it behind a TLS proxy to use it over the internet.',
    args: [],
    options: ['host', 'port', 'store', 'trust-proxy'],
    examples: [
      { args: '', why: `the local relay, on ${DEFAULT_RELAY_HOST}:${DEFAULT_RELAY_PORT}, which outlives single pairings and MCP calls` },
      { args: '--host 0.0.0.0 --port 8771', why: 'a relay people on other machines can reach' },
      { args: '--store redis://127.0.0.1:6379/0 --trust-proxy 127.0.0.1', why: 'one of several relay processes behind a TLS proxy, sharing Redis' },
    ],
    run: async ({ options, terminal }) => runRelay(options, terminal),
  },
  {
    name: 'mcp',
    summary: 'Run the MCP server on stdio, for MCP clients outside VS Code (Claude Code, Cursor, the MCP Inspector)',
    details: 'The agent gets tools to host, join and finalize pairings; it never sees the SAS. The person confirms it through the client\'s prompt, or with the confirm command.',
    args: [],
    options: ['relay', 'confirm-sends', 'home'],
    examples: [
      { args: '', why: 'what an MCP client runs (give it the absolute path of dist/cli.mjs)' },
      { args: '--relay https://relay.example.com', why: 'pair through a shared relay' },
      { args: '--confirm-sends', why: 'ask you before every message the agent sends to a peer' },
    ],
    run: async ({ options, home }) => {
      const relay = await resolveRelay(options.relay, home);
      const { runStdioServer } = await import('../mcp/stdio.js');
      // The person runs `confirm` in a terminal of their own, maybe elsewhere: name the command so it runs from anywhere, with this home.
      const homeArgs = home === defaultHome() ? '' : ` --home ${shellWord(resolve(home))}`;
      const confirmCommand = (sessionId: string): string => `${invokedAsFromAnywhere()} confirm ${sessionId}${homeArgs}`;
      await runStdioServer({ home, relayUrl: relay.url, confirmSends: options['confirm-sends'] ?? false, confirmCommand });
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
    if (error instanceof UsageError) {
      // A combination of options the table cannot express (send: TEXT or --data), caught by the command before any effect.
      terminal.event({ event: 'error', code: error.code, message: error.message });
      terminal.warn(`agent-pair: ${error.message}`);
      return EXIT_USAGE;
    }
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
  return { vault, memory, mailLock: homeMailLock(home), random: systemRandom, clock: systemClock, relays: createRelayConnector() };
}

/** What the CLI's words need to name: the command as the person invoked it, and the home it used. */
function cliContext(home: string): CliContext {
  return { command: invokedAs(), home };
}

async function runRelay(options: Partial<OptionValues>, terminal: Terminal): Promise<number> {
  const host = options.host ?? DEFAULT_RELAY_HOST;
  const port = options.port ?? DEFAULT_RELAY_PORT;
  // The environment names the same as relay.mjs does; an option on the command line wins.
  const store = options.store ?? nonEmpty(process.env['AGENT_PAIR_RELAY_STORE']);
  const trustProxy = options['trust-proxy'] ?? (nonEmpty(process.env['AGENT_PAIR_RELAY_TRUST_PROXY'])?.split(',') ?? []);
  let relay;
  try {
    trustedProxies(trustProxy);
    relay = await startRelay({ host, port, trustProxy, metrics: true, ...(store !== undefined && { store }) });
  } catch (error) {
    terminal.warn(`agent-pair: ${error instanceof StoreUnavailableError ? error.message : describeListenFailure(host, port, error)}`);
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

function nonEmpty(text: string | undefined): string | undefined {
  return text === undefined || text.trim() === '' ? undefined : text;
}

const exitCode = await main(process.argv.slice(2));
process.exitCode = exitCode;
