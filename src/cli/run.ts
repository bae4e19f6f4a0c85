// What each `agent-pair` command does, once main.ts has checked its command line: the home,
// the terminal, the command's own code (each loaded when its command runs, `await import`, in
// chunks of its own), and every error worded for the person. The first module of the command
// side (dist/cli-run-*.mjs, see esbuild.mjs): main.ts, the entry, shares no object with it.

import { join, resolve } from 'node:path';
import { PairError, isPairError, errorMessage } from '../core/errors.js';
import type { MessagingDeps } from '../core/inbox.js';
import type { PinnedPeer } from '../core/trust.js';
import { AGENT_SENDS_ENV, AUTO_HANDOVERS_ENV, AUTO_HANDOVERS_PER_PEER_PER_HOUR, type PeerRule, parseBudgetPerHour, parsePeerRule } from '../core/vocabulary.js';
import { showControls } from '../core/untrusted.js';
import type { CommandSpec, OptionValues } from './commandLine.js';
import { EXEC_TIMEOUT_SECONDS, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, UsageError } from './usage.js';
import { invokedAs, invokedAsFromAnywhere, shellWord } from './invocation.js';
import type { CommandName } from './main.js';
import { Terminal } from './terminal.js';
import { installNativeCurves } from '../node/nativeCurves.js';
import { defaultHome } from '../node/system.js';
import { checkHomeIsPrivate } from '../node/homeCheck.js';
import { type CliContext, homeOption, identityConflictWords } from './words.js';

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

/** What each command of main.ts's COMMANDS does. */
const RUNS: { readonly [Name in CommandName]: (invocation: Invocation) => Promise<number> } = {
  host: async ({ options, context, home, terminal }) => {
    const { runPairing } = await import('./pair.js');
    return PAIR_EXIT[await runPairing({ role: 'host', home, context, ...pairingOptions(options) }, terminal)];
  },
  join: async ({ args: [code = ''], options, context, home, terminal }) => {
    const { runPairing } = await import('./pair.js');
    return PAIR_EXIT[await runPairing({ role: 'guest', home, code, context, ...pairingOptions(options) }, terminal)];
  },
  confirm: async ({ args: [sessionId = ''], context, home, terminal }) => {
    const { confirmFromTerminal } = await import('./confirm.js');
    return CONFIRM_EXIT[await confirmFromTerminal(context, sessionId, terminal, await homeDeps(home))];
  },
  sessions: async ({ context, home, terminal }) => {
    const { listSessions } = await import('./confirm.js');
    await listSessions(context, terminal, await homeDeps(home));
    return 0;
  },
  whoami: async ({ context, home, terminal }) => {
    const { loadIdentity } = await import('../core/identity.js');
    const identity = await loadIdentity(await homeDeps(home));
    if (!identity) throw new PairError('identity_missing', `No identity in ${home} yet. Create one with: ${invokedAs()} init YOUR_HANDLE${homeOption(context)}`);
    terminal.result({ handle: identity.handle, fingerprint: identity.fingerprint, relay_url: identity.relay?.url ?? null }, `${identity.handle}  ${identity.fingerprint}${identity.relay ? `  inbox on ${identity.relay.url}` : ''}`);
    return 0;
  },
  init: async ({ args: [handle = ''], options, context, home, terminal }) => {
    const [{ IDENTITY_KEYS, initSelfIdempotent, loadIdentity }, { keyToFileName }] = await Promise.all([import('../core/identity.js'), import('../node/fileStore.js')]);
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
  peers: async ({ context, home, terminal }) => {
    const { peersCommand } = await import('./peers.js');
    await peersCommand(home, context, terminal);
    return 0;
  },
  rule: async ({ args: [peerRef = '', rule], context, home, terminal }) => {
    const { setPeerRule } = await import('../core/trust.js');
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
  forget: async ({ args: [peer = ''], context, home, terminal }) => {
    const { forgetCommand } = await import('./messages.js');
    return forgetCommand(await homeDeps(home), peer, terminal).catch(namingHome(context));
  },
  send: async ({ args: [peer = '', text], options, context, home, terminal }) => {
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
  inbox: async ({ options, context, home, terminal }) => {
    const { inboxCommand } = await import('./messages.js');
    return inboxCommand(await homeDeps(home), context, { waitSeconds: options.wait ?? 0, follow: options.follow ?? false, ...(options['loss-grace'] !== undefined && { lossGraceSeconds: options['loss-grace'] }), ...execOptions(options) }, terminal);
  },
  sent: async ({ args: [peer], context, home, terminal }) => {
    const { sentCommand } = await import('./messages.js');
    return sentCommand(await homeDeps(home), peer, terminal).catch(namingHome(context));
  },
  cancel: async ({ args: [id = ''], home, terminal }) => {
    const { cancelCommand } = await import('./messages.js');
    return cancelCommand(await homeDeps(home), id, terminal);
  },
  'accept-move': (invocation) => decideMove(invocation, 'accept'),
  'refuse-move': (invocation) => decideMove(invocation, 'refuse'),
  relay: async ({ options, terminal }) => {
    const { runRelay } = await import('./relayCommand.js');
    return runRelay(options, terminal);
  },
  mcp: async ({ options, context, home }) => {
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
};

/** Runs the command main.ts checked; resolves its exit status. */
export async function runCommand(command: CommandSpec & { name: CommandName }, args: string[], options: Partial<OptionValues>): Promise<number> {
  // Ed25519 and X25519 on node:crypto instead of noble's JavaScript.
  installNativeCurves();
  const terminal = new Terminal(options.json ?? false);
  const home = options.home ?? defaultHome();
  // What the CLI's words need to name: the command as the person invoked it, and the home it used.
  const context: CliContext = { command: invokedAs(), home, defaultHome: home === defaultHome() };
  try {
    if (command.options.includes('home')) {
      // Side by side with the command's own import, not after it: each import is a round of file reads.
      if (!READS_STORES_ONLY.has(command.name)) homeDepsModule ??= import('./homeDeps.js');
      checkHomeIsPrivate(home);
    }
    return await RUNS[command.name]({ args, options, context, home, terminal });
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

/** accept-move and refuse-move: the peer is looked up first, so only "no such peer" names the home; accept-move's RELAY_URL, when given, must be the address inbox showed (the peer may have asked again since). */
async function decideMove({ args: [peerRef = '', shownRelayUrl], context, home, terminal }: Invocation, decision: 'accept' | 'refuse'): Promise<number> {
  const { decideMoveCommand } = await import('./messages.js');
  const deps = await homeDeps(home);
  const peer = await pinnedPeerIn(deps, peerRef, context);
  return decideMoveCommand(deps, peer.fingerprint, decision, terminal, shownRelayUrl);
}

/** A peer that is not pinned in this home: the error names the home it looked in, and how to look in another. */
function namingHome(context: CliContext): (error: unknown) => never {
  return (error) => {
    if (isPairError(error, 'not_found')) {
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

/** homeDeps.ts, loaded once; runCommand starts loading it before the command's own module. */
let homeDepsModule: Promise<typeof import('./homeDeps.js')> | undefined;

/** Commands that only read the home's stores: they reach no relay, so they load no relay client (see peers.ts). */
const READS_STORES_ONLY: ReadonlySet<CommandName> = new Set(['peers']);

async function homeDeps(home: string): Promise<MessagingDeps> {
  homeDepsModule ??= import('./homeDeps.js');
  return (await homeDepsModule).homeDeps(home);
}
