// `agent-pair`: argv in, one command out. No protocol logic lives here: every command is a thin
// call into the core (sessions, identity, trust), the relay, or the MCP server.
//
// Start-up: this module and the command-line table are all that load for every command; each
// command imports what it needs when it runs (`await import`, split into chunks of their own by
// esbuild.mjs), so `--version`, `--help` and `peers` never parse the crypto, the relay server or
// the MCP SDK. Only types and light modules are imported statically here.

import packageJson from '../../package.json' with { type: 'json' };
import { join, resolve } from 'node:path';
import { PairError, isPairError, errorMessage } from '../core/errors.js';
import type { MessagingDeps } from '../core/inbox.js';
import type { PinnedPeer } from '../core/trust.js';
import { DEFAULT_RELAY_HOST, DEFAULT_RELAY_PORT } from '../relay/embedded.js';
import { relaySettings } from '../relay/options.js';
import { AGENT_SENDS_ENV, AUTO_HANDOVERS_ENV, AUTO_HANDOVERS_PER_PEER_PER_HOUR, MAX_ENVELOPE_BYTES, MAX_TEXT_BYTES, PEER_RULES, type PeerRule, parseBudgetPerHour } from '../core/vocabulary.js';
import { showControls } from '../core/untrusted.js';
import { ARGS, type CommandSpec, EXEC_TIMEOUT_SECONDS, type OptionValues, UsageError, parseCommandLine } from './commandLine.js';
import { invokedAs, invokedAsFromAnywhere, shellWord } from './invocation.js';
import { Terminal } from './terminal.js';
import type { CliContext } from './words.js';

/** Exit statuses: 0 paired or done, 1 the operation failed, 2 the command line was wrong, 130 interrupted. */
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
const EXIT_INTERRUPTED = 130;
const PAIR_EXIT = { paired: 0, ended: EXIT_FAILED, interrupted: EXIT_INTERRUPTED } as const;
const CONFIRM_EXIT = { confirmed: 0, ended: EXIT_FAILED, interrupted: EXIT_INTERRUPTED } as const;

/** What a command gets: its checked arguments and options, the home directory (and how the person named it) and the terminal. */
interface Invocation {
  args: string[];
  options: Partial<OptionValues>;
  home: string;
  context: CliContext;
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
    run: async ({ options, context, home, terminal }) => {
      const { runPairing } = await import('./pair.js');
      return PAIR_EXIT[await runPairing({ role: 'host', home, context, ...pairingOptions(options) }, terminal)];
    },
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
    run: async ({ args: [code = ''], options, context, home, terminal }) => {
      const { runPairing } = await import('./pair.js');
      return PAIR_EXIT[await runPairing({ role: 'guest', home, code, context, ...pairingOptions(options) }, terminal)];
    },
  },
  {
    name: 'confirm',
    summary: 'Verify the SAS of a pairing your agent started over MCP',
    details: 'The agent never sees the SAS; it gives you this command with the session id, and you type the digits the other person reads out. When no agent-pair mcp server runs the pairing (a client that starts one per call), confirm runs it itself until the peer is pinned; Ctrl-C then cancels it and tells the other side.',
    args: [ARGS.sessionId],
    options: ['home', 'json'],
    examples: [{ args: '0f3c9a1e5b7d4c2a8e6f1b3d5a7c9e0f', why: 'the session id your agent printed' }],
    run: async ({ args: [sessionId = ''], context, home, terminal }) => {
      const { confirmFromTerminal } = await import('./confirm.js');
      return CONFIRM_EXIT[await confirmFromTerminal(context, sessionId, terminal, await homeDeps(home))];
    },
  },
  {
    name: 'sessions',
    summary: 'List your agents\' pairings (run by their MCP servers, or abandoned when no process runs them), with their session ids',
    args: [],
    options: ['home', 'json'],
    examples: [
      { args: '', why: 'the session id to give the confirm command' },
      { args: '--home /tmp/bob', why: 'the pairings of an agent whose server uses another home' },
    ],
    run: async ({ context, home, terminal }) => {
      const { listSessions } = await import('./confirm.js');
      await listSessions(context, terminal, await homeDeps(home));
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
    run: async ({ context, home, terminal }) => {
      const [{ loadIdentity }, { homeOption }] = await Promise.all([import('../core/identity.js'), import('./words.js')]);
      const identity = await loadIdentity(await homeDeps(home));
      if (!identity) throw new PairError('identity_missing', `No identity in ${home} yet. Create one with: ${invokedAs()} init YOUR_HANDLE${homeOption(context)}`);
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
    run: async ({ args: [handle = ''], options, context, home, terminal }) => {
      const [{ IDENTITY_KEYS, initSelfIdempotent, loadIdentity }, { keyToFileName }, { identityConflictWords }] = await Promise.all([
        import('../core/identity.js'),
        import('../node/fileStore.js'),
        import('./words.js'),
      ]);
      const deps = await homeDeps(home);
      const { identity, created } = await initSelfIdempotent(deps, handle, options.relay === undefined ? undefined : deps.relays(options.relay)).catch(async (error: unknown) => {
        const existing = isPairError(error, 'identity_conflict') ? await loadIdentity(deps) : undefined;
        if (!existing) throw error;
        const files = { card: join(home, 'state', keyToFileName(IDENTITY_KEYS.card)), privateKey: join(home, 'secrets', keyToFileName(IDENTITY_KEYS.privateKey)) };
        throw new PairError('identity_conflict', identityConflictWords(existing, handle, files, context));
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
    examples: [{ args: '', why: 'fingerprint, handle, rule and when each was pinned' }],
    run: async ({ context, home, terminal }) => {
      const [{ listPeers }, { ReceiveKeys }, { homeOption, FORWARD_SECRECY_WORDS }] = await Promise.all([import('../core/trust.js'), import('../core/receiveKeys.js'), import('./words.js')]);
      const deps = await homeDeps(home);
      const peers = await listPeers(deps);
      if (peers.length === 0 && !terminal.json) terminal.say(`No pinned peers yet in ${home}. Pair with: ${invokedAs()} host${homeOption(context)}`);
      const keys = new ReceiveKeys(deps);
      for (const peer of peers) {
        const secrecy = await keys.forwardSecrecy(peer.fingerprint);
        terminal.result(
          { handle: peer.handle, fingerprint: peer.fingerprint, relay_url: peer.relayUrl, pinned_at: peer.pinnedAt, forward_secrecy: secrecy.state, rule: peer.rule },
          `${peer.fingerprint}  ${peer.handle}  rule ${peer.rule}  pinned ${peer.pinnedAt}  ${FORWARD_SECRECY_WORDS[secrecy.state]}`,
        );
      }
      return 0;
    },
  },
  {
    name: 'rule',
    summary: `Show or set what happens with a peer's messages: ${PEER_RULES.join(', ')}`,
    details:
      'notify (the default) tells you of each message; agent hands each message to your running agent on its own (a Claude Code channel, an MCP client that subscribes, inbox --follow --exec, VS Code Chat), ' +
      `at most --auto-handovers-per-hour per peer (default ${AUTO_HANDOVERS_PER_PEER_PER_HOUR}), the rest waiting for you; mute keeps them quietly. Only you set a rule: no agent tool can.`,
    args: [ARGS.peer, ARGS.rule],
    options: ['home', 'json'],
    examples: [
      { args: 'bob', why: 'print bob\'s rule' },
      { args: 'bob agent', why: 'let bob\'s messages reach your agent without you relaying them' },
      { args: '3f2a9c0d1e4b5a68 mute', why: 'keep a peer\'s messages without being told of each' },
    ],
    run: async ({ args: [peerRef = '', rule], context, home, terminal }) => {
      const [{ setPeerRule }, { parsePeerRule }] = await Promise.all([import('../core/trust.js'), import('../core/vocabulary.js')]);
      const deps = await homeDeps(home);
      const peer = await pinnedPeerIn(deps, peerRef, context);
      const now = rule === undefined ? peer : await setPeerRule(deps, peer.fingerprint, parsePeerRule(rule));
      if (!now) throw new PairError('not_found', `${peer.handle} (${peer.fingerprint}) was forgotten meanwhile.`);
      terminal.result(
        { event: 'rule', peer: { fingerprint: now.fingerprint, handle: now.handle }, rule: now.rule, changed: rule !== undefined },
        `${rule === undefined ? '' : 'Set: '}${now.handle} (${now.fingerprint}): ${now.rule}, ${RULE_WORDS[now.rule]}`,
      );
      return 0;
    },
  },
  {
    name: 'forget',
    summary: 'Unpin a peer and revoke its access to your inbox',
    args: [ARGS.peer],
    options: ['home', 'json'],
    examples: [
      { args: 'bob', why: 'a handle, as send takes it' },
      { args: '3f2a9c0d1e4b5a68', why: 'a fingerprint from the peers command (when two peers share a handle)' },
    ],
    run: async ({ args: [peer = ''], context, home, terminal }) => {
      const { forgetCommand } = await import('./messages.js');
      return forgetCommand(await homeDeps(home), peer, terminal).catch(namingHome(context));
    },
  },
  {
    name: 'send',
    summary: 'Send a message to a pinned peer, end-to-end encrypted',
    details: `It returns once the peer's relay stored the message; it is delivered once their side has shown it to them (inbox then prints the receipt). A text is at most ${MAX_TEXT_BYTES / 1024} KiB of UTF-8 and not empty or only spaces; --data JSON is sealed into an envelope of at most ${MAX_ENVELOPE_BYTES / 1024} KiB.`,
    args: [ARGS.peer, ARGS.text],
    options: ['file', 'data', 'reply-to', 'home', 'json'],
    examples: [
      { args: 'bob "the tests pass on my side" --home /tmp/alice', why: 'a text for the person or agent on the other side (from the first pairing\'s alice)' },
      { args: 'bob --file notes.md', why: 'a longer text from a file' },
      { args: 'bob - < notes.md', why: 'the text from standard input' },
      { args: 'bob --data \'{"pr":12,"status":"green"}\'', why: 'structured data for the other agent' },
      { args: '3f2a9c0d1e4b5a68 "yes" --reply-to 5f1c2a9b0d3e4f60718293a4b5c6d7e8', why: 'answer a message, naming the peer by fingerprint' },
    ],
    run: async ({ args: [peer = '', text], options, context, home, terminal }) => {
      const given = [text !== undefined, options.file !== undefined, options.data !== undefined].filter(Boolean).length;
      if (given !== 1) throw new UsageError(`send takes one of TEXT, - (stdin), --file PATH or --data JSON${given === 0 ? '' : ', not several'}; see ${invokedAs()} send --help`);
      const { readMessageText, sendCommand } = await import('./messages.js');
      const fromStdin = text === '-';
      const body =
        options.data !== undefined
          ? { data: options.data }
          : { text: fromStdin || options.file !== undefined ? await readMessageText(options.file !== undefined ? { file: options.file } : { stdin: process.stdin }) : (text ?? '') };
      return sendCommand(await homeDeps(home), context, peer, { ...body, ...(options['reply-to'] !== undefined && { replyTo: options['reply-to'] }) }, terminal).catch(namingHome(context));
    },
  },
  {
    name: 'inbox',
    summary: 'Print new messages from your peers, mark them handled and send the receipts',
    details:
      'It also reports receipts for what you sent, envelopes dropped because they failed a check, and messages the relay may have lost. ' +
      'With --follow, messages from peers whose rule is mute are kept quietly (inbox without --follow lists them). ' +
      '--exec wires your own agent: each message from a peer whose rule is agent (set with the rule command: you choose who may reach your agent) runs CMD, one at a time, ' +
      'within --auto-handovers-per-hour per peer; past it, and whenever CMD fails, hangs or crashes, the message waits unread for you. Messages from notify peers are printed as usual.',
    args: [],
    options: ['wait', 'follow', 'exec', 'exec-timeout', 'auto-handovers-per-hour', 'loss-grace', 'home', 'json'],
    examples: [
      { args: '', why: 'what arrived since the last look' },
      { args: '--wait 30', why: 'wait up to 30 s for a message when none is there yet' },
      { args: '--follow --json', why: 'one JSON event per line as messages come, until Ctrl-C' },
      { args: '--follow --exec \'./answer.sh\'', why: 'hand each message from an agent-rule peer to your script, as JSON on its stdin' },
    ],
    run: async ({ options, context, home, terminal }) => {
      const { inboxCommand } = await import('./messages.js');
      return inboxCommand(await homeDeps(home), context, { waitSeconds: options.wait ?? 0, follow: options.follow ?? false, ...(options['loss-grace'] !== undefined && { lossGraceSeconds: options['loss-grace'] }), ...execOptions(options) }, terminal);
    },
  },
  {
    name: 'sent',
    summary: 'List the messages you sent, with what became of each: queued, sent, delivered, failed or cancelled',
    details: 'A message the peer\'s relay refused for now (full, busy, unreachable) is queued and sent again with the next send or inbox, for up to 7 days; cancel takes it back.',
    args: [{ ...ARGS.peer, optional: true }],
    options: ['home', 'json'],
    examples: [
      { args: '', why: 'everything you sent, oldest first' },
      { args: 'bob --json', why: 'what you sent to bob, one JSON line each' },
    ],
    run: async ({ args: [peer], context, home, terminal }) => {
      const { sentCommand } = await import('./messages.js');
      return sentCommand(await homeDeps(home), peer, terminal).catch(namingHome(context));
    },
  },
  {
    name: 'cancel',
    summary: 'Take back a queued message before its relay takes it',
    args: [ARGS.messageId],
    options: ['home', 'json'],
    examples: [{ args: '5f1c2a9b0d3e4f60718293a4b5c6d7e8', why: 'an id the sent command lists as queued' }],
    run: async ({ args: [id = ''], home, terminal }) => {
      const { cancelCommand } = await import('./messages.js');
      return cancelCommand(await homeDeps(home), id, terminal);
    },
  },
  {
    name: 'accept-move',
    summary: 'Send to a peer at the other relay it asked to move to (inbox lists such requests)',
    details: 'A peer\'s move to another relay is held until you accept it: it makes this side send to an address the peer chose.',
    args: [ARGS.peer, ARGS.shownRelayUrl],
    options: ['home', 'json'],
    examples: [{ args: 'bob https://relay.example.com', why: 'bob moved to a relay you both use now' }],
    run: (invocation) => decideMove(invocation, 'accept'),
  },
  {
    name: 'refuse-move',
    summary: 'Keep sending to a peer where you did before, refusing its move to another relay',
    args: [ARGS.peer],
    options: ['home', 'json'],
    examples: [{ args: 'bob', why: 'you did not expect bob to move' }],
    run: (invocation) => decideMove(invocation, 'refuse'),
  },
  {
    name: 'relay',
    summary: 'Run a relay until Ctrl-C',
    details: 'The relay is untrusted by design: it never sees the code\'s secret, the SAS or the key. Put it behind a TLS proxy to use it over the internet.',
    args: [],
    options: ['host', 'port', 'store', 'trust-proxy'],
    examples: [
      // Not the local relay that host, send, inbox and mcp start: that one keeps a SQLite file; this one forgets on exit.
      { args: '', why: `a relay on ${DEFAULT_RELAY_HOST}:${DEFAULT_RELAY_PORT} in memory, to try things: a restart forgets its inboxes (add --store sqlite:PATH to keep them)` },
      { args: '--host 0.0.0.0 --port 8771 --store sqlite:relay.sqlite', why: 'a relay people on other machines can reach, keeping inboxes and queued messages in a file across restarts' },
      { args: '--store redis://127.0.0.1:6379/0 --trust-proxy 127.0.0.1', why: 'one of several relay processes behind a TLS proxy, sharing Redis' },
    ],
    run: async ({ options, terminal }) => runRelay(options, terminal),
  },
  {
    name: 'mcp',
    summary: 'Run the MCP server on stdio, for MCP clients outside VS Code (Claude Code, Cursor, the MCP Inspector)',
    details:
      'The agent gets tools to host, join and finalize pairings; it never sees the SAS. The person confirms it through the client\'s prompt, or with the confirm command. ' +
      'While it runs it receives: each message from a peer whose rule is agent is pushed to the client (a claude/channel notification for Claude Code, resources/updated for clients that subscribe to agent-pair://inbox), within --auto-handovers-per-hour per peer. ' +
      'The agent may send at most --agent-sends-per-hour messages per peer without you; past it you are asked, or the send is refused.',
    args: [],
    options: ['relay', 'confirm-sends', 'agent-sends-per-hour', 'auto-handovers-per-hour', 'home'],
    examples: [
      { args: '', why: 'what an MCP client runs (give it the absolute path of dist/cli.mjs)' },
      { args: '--relay https://relay.example.com', why: 'pair through a shared relay' },
      { args: '--confirm-sends', why: 'ask you before every message the agent sends to a peer' },
    ],
    run: async ({ options, context, home }) => {
      const [{ homeRelayConnector, resolveRelay }, { runStdioServer }] = await Promise.all([import('./pair.js'), import('../mcp/stdio.js')]);
      const relay = await resolveRelay(options.relay);
      // The person runs `confirm` in a terminal of their own, maybe elsewhere: name the command so it runs from anywhere, with this home.
      const homeArgs = context.defaultHome ? '' : ` --home ${shellWord(resolve(home))}`;
      const personCommand = (args: string): string => `${invokedAsFromAnywhere()} ${args}${homeArgs}`;
      const agentSends = budgetOption(options, 'agent-sends-per-hour', AGENT_SENDS_ENV);
      const autoHandovers = budgetOption(options, 'auto-handovers-per-hour', AUTO_HANDOVERS_ENV);
      const budgets = { ...(agentSends !== undefined && { agentSends }), ...(autoHandovers !== undefined && { autoHandovers }) };
      await runStdioServer({ home, relayUrl: relay.url, relays: homeRelayConnector(), confirmSends: options['confirm-sends'] ?? false, personCommand, budgets });
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
  const usesHome = command.options.includes('home');
  // Side by side, not one after another: each import is a round of file reads. A command with a
  // home also needs homeDeps' modules (or pair.js's, the same ones), so they load in this round.
  const [{ installNativeCurves }, { defaultHome }, homeCheck] = await Promise.all([
    import('../node/nativeCurves.js'),
    import('../node/system.js'),
    usesHome ? import('../node/homeCheck.js') : undefined,
    usesHome ? homeModules() : undefined,
  ]);
  // Ed25519 and X25519 on node:crypto instead of noble's JavaScript.
  installNativeCurves();
  const terminal = new Terminal(options.json ?? false);
  const home = options.home ?? defaultHome();
  // What the CLI's words need to name: the command as the person invoked it, and the home it used.
  const context: CliContext = { command: invokedAs(), home, defaultHome: home === defaultHome() };
  try {
    homeCheck?.checkHomeIsPrivate(home);
    return await command.run({ args, options, context, home, terminal });
  } catch (error) {
    if (error instanceof UsageError) {
      // A combination of options the table cannot express (send: TEXT or --data), caught by the command before any effect.
      terminal.event({ event: 'error', code: error.code, message: error.message });
      terminal.warn(`agent-pair: ${error.message}`);
      return EXIT_USAGE;
    }
    const code = isPairError(error) ? error.code : 'relay_error';
    const message = errorMessage(error);
    terminal.event({ event: 'error', code, message });
    // An error may quote a relay's or a peer's words: their control characters are shown, not obeyed.
    terminal.warn(`agent-pair: ${showControls(message)}`);
    if (!isPairError(error) && process.env['AGENT_PAIR_DEBUG'] === '1' && error instanceof Error) terminal.warn(error.stack ?? '');
    return EXIT_FAILED;
  } finally {
    terminal.close();
  }
}

/** The pinned peer `peerRef` names in this home; if none, the error names the home it looked in. */
async function pinnedPeerIn(deps: MessagingDeps, peerRef: string, context: CliContext): Promise<PinnedPeer> {
  const { resolvePeer } = await import('../core/inbox.js');
  return resolvePeer(deps, peerRef).catch(namingHome(context));
}

/** accept-move and refuse-move: the peer is looked up first, so only "no such peer" names the home. */
/** accept-move and refuse-move; accept-move's RELAY_URL, when given, must be the address inbox showed (the peer may have asked again since). */
async function decideMove({ args: [peerRef = '', shownRelayUrl], context, home, terminal }: Invocation, decision: 'accept' | 'refuse'): Promise<number> {
  const { decideMoveCommand } = await import('./messages.js');
  const deps = await homeDeps(home);
  const peer = await pinnedPeerIn(deps, peerRef, context);
  return decideMoveCommand(deps, peer.fingerprint, decision, terminal, shownRelayUrl);
}

/** A peer that is not pinned in this home: the error names the home it looked in, and how to look in another. */
function namingHome(context: CliContext): (error: unknown) => Promise<never> {
  return async (error) => {
    if (isPairError(error, 'not_found')) {
      const { homeOption } = await import('./words.js');
      throw new PairError('not_found', `${error.message.replace(/\.$/, '')} (in ${context.home}; \`${context.command} peers${homeOption(context)}\` lists them; another identity: --home DIR).`, { cause: error });
    }
    throw error;
  };
}

/** What each rule means, for the rule command's line. */
const RULE_WORDS: Record<PeerRule, string> = {
  notify: 'you are told of each message',
  agent: 'each message goes to your agent on its own, within the hourly limit',
  mute: 'messages are kept quietly, without telling you',
};

/** A budget from its flag, else its environment variable, else the default (undefined). */
function budgetOption(options: Partial<OptionValues>, name: 'auto-handovers-per-hour' | 'agent-sends-per-hour', env: string): number | undefined {
  const given = options[name];
  if (given !== undefined) return given;
  const text = process.env[env];
  if (text === undefined || text.trim() === '') return undefined;
  try {
    return parseBudgetPerHour(text, env);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message.replace(/\.$/, '') : String(error));
  }
}

/** inbox's --exec and its companions, checked together (the table cannot say "needs --follow"). */
function execOptions(options: Partial<OptionValues>): { exec?: { command: string; timeoutSeconds: number; autoHandoversPerHour: number } } {
  if (options.exec === undefined) {
    const stray = (['exec-timeout', 'auto-handovers-per-hour'] as const).find((name) => options[name] !== undefined);
    if (stray) throw new UsageError(`--${stray} needs --exec CMD; see ${invokedAs()} inbox --help`);
    return {};
  }
  if (options.follow !== true) throw new UsageError(`--exec needs --follow: it hands over messages as they come; see ${invokedAs()} inbox --help`);
  return {
    exec: {
      command: options.exec,
      timeoutSeconds: options['exec-timeout'] ?? EXEC_TIMEOUT_SECONDS,
      autoHandoversPerHour: budgetOption(options, 'auto-handovers-per-hour', AUTO_HANDOVERS_ENV) ?? AUTO_HANDOVERS_PER_PEER_PER_HOUR,
    },
  };
}

function pairingOptions(options: Partial<OptionValues>): { relayUrl?: string; handle?: string } {
  return { ...(options.relay !== undefined && { relayUrl: options.relay }), ...(options.handle !== undefined && { handle: options.handle }) };
}

/** The modules behind homeDeps, loaded once (main starts loading them before the command runs). */
let homeModulesLoaded: Promise<[typeof import('../node/fileStore.js'), typeof import('../node/mailLock.js'), typeof import('../node/system.js'), typeof import('./homeRelays.js')]> | undefined;

function homeModules(): NonNullable<typeof homeModulesLoaded> {
  homeModulesLoaded ??= Promise.all([import('../node/fileStore.js'), import('../node/mailLock.js'), import('../node/system.js'), import('./homeRelays.js')]);
  return homeModulesLoaded;
}

async function homeDeps(home: string): Promise<MessagingDeps> {
  const [{ openHomeStores }, { homeMailLock }, { systemClock, systemRandom }, { homeRelayConnector }] = await homeModules();
  const { vault, memory } = openHomeStores(home);
  return { vault, memory, mailLock: homeMailLock(home), random: systemRandom, clock: systemClock, relays: homeRelayConnector() };
}

async function runRelay(options: Partial<OptionValues>, terminal: Terminal): Promise<number> {
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

const exitCode = await main(process.argv.slice(2));
process.exitCode = exitCode;
