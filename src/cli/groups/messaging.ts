// The commands that use the home's inbox, peers and identity with its relays: send, inbox, sent,
// cancel, forget, accept-move, refuse-move, rule and init. One file of its own in dist/
// (cli-messaging.cjs), see ../run.ts.

import { join } from 'node:path';
import { PairError, isPairError } from '../../core/errors.js';
import { IDENTITY_KEYS, initSelfIdempotent, loadIdentity } from '../../core/identity.js';
import { type MessagingDeps, resolvePeer } from '../../core/inbox.js';
import { type PinnedPeer, setPeerRule } from '../../core/trust.js';
import { AUTO_HANDOVERS_ENV, AUTO_HANDOVERS_PER_PEER_PER_HOUR, type PeerRule, parsePeerRule } from '../../core/vocabulary.js';
import { keyToFileName } from '../../node/fileStore.js';
import type { OptionValues } from '../commandLine.js';
import { homeDeps } from '../homeDeps.js';
import { invokedAs } from '../invocation.js';
import type { CommandsOf } from '../main.js';
import { cancelCommand, decideMoveCommand, forgetCommand, inboxCommand, readMessageText, sendCommand, sentCommand } from '../messages.js';
import { type CommandRuns, type Invocation, budgetOption, commandGroup } from '../run.js';
import { EXEC_TIMEOUT_SECONDS, UsageError } from '../usage.js';
import { type CliContext, homeOption, identityConflictWords } from '../words.js';

const RUNS: CommandRuns<CommandsOf<'messaging'>> = {
  init: async ({ args: [handle = ''], options, context, home, terminal }) => {
    const deps = homeDeps(home);
    const { identity, created } = await initSelfIdempotent(deps, handle, options.relay === undefined ? undefined : deps.relays(options.relay)).catch(async (error: unknown) => {
      const existing = isPairError(error, 'identity_conflict') ? await loadIdentity(deps) : undefined;
      if (!existing) throw error;
      const files = { card: join(home, 'state', keyToFileName(IDENTITY_KEYS.card)), privateKey: join(home, 'secrets', keyToFileName(IDENTITY_KEYS.privateKey)) };
      throw new PairError('identity_conflict', identityConflictWords(existing, handle, files, context));
    });
    terminal.result({ handle: identity.handle, fingerprint: identity.fingerprint, created }, `${created ? 'Created' : 'Already set up:'} ${identity.handle} (${identity.fingerprint})`);
    return 0;
  },
  rule: async ({ args: [peerRef = '', rule], context, home, terminal }) => {
    const deps = homeDeps(home);
    const peer = await pinnedPeerIn(deps, peerRef, context);
    const now = rule === undefined ? peer : await setPeerRule(deps, peer.fingerprint, parsePeerRule(rule));
    if (!now) throw new PairError('not_found', `${peer.handle} (${peer.fingerprint}) was forgotten meanwhile.`);
    terminal.result(
      { event: 'rule', peer: { fingerprint: now.fingerprint, handle: now.handle }, rule: now.rule, changed: rule !== undefined },
      `${rule === undefined ? '' : 'Set: '}${now.handle} (${now.fingerprint}): ${now.rule}, ${RULE_WORDS[now.rule]}`,
    );
    return 0;
  },
  forget: ({ args: [peer = ''], context, home, terminal }) => forgetCommand(homeDeps(home), peer, terminal).catch(namingHome(context)),
  send: async ({ args: [peer = '', text], options, context, home, terminal }) => {
    const given = [text !== undefined, options.file !== undefined, options.data !== undefined].filter(Boolean).length;
    if (given !== 1) throw new UsageError(`send takes one of TEXT, - (stdin), --file PATH or --data JSON${given === 0 ? '' : ', not several'}; see ${invokedAs()} send --help`);
    const fromStdin = text === '-';
    const body =
      options.data !== undefined
        ? { data: options.data }
        : { text: fromStdin || options.file !== undefined ? await readMessageText(options.file !== undefined ? { file: options.file } : { stdin: process.stdin }) : (text ?? '') };
    return sendCommand(homeDeps(home), context, peer, { ...body, ...(options['reply-to'] !== undefined && { replyTo: options['reply-to'] }) }, terminal).catch(namingHome(context));
  },
  inbox: ({ options, context, home, terminal }) =>
    inboxCommand(homeDeps(home), context, { waitSeconds: options.wait ?? 0, follow: options.follow ?? false, ...(options['loss-grace'] !== undefined && { lossGraceSeconds: options['loss-grace'] }), ...execOptions(options) }, terminal),
  sent: ({ args: [peer], context, home, terminal }) => sentCommand(homeDeps(home), peer, terminal).catch(namingHome(context)),
  cancel: ({ args: [id = ''], home, terminal }) => cancelCommand(homeDeps(home), id, terminal),
  'accept-move': (invocation) => decideMove(invocation, 'accept'),
  'refuse-move': (invocation) => decideMove(invocation, 'refuse'),
};

/** The pinned peer `peerRef` names in this home; if none, the error names the home it looked in. */
function pinnedPeerIn(deps: MessagingDeps, peerRef: string, context: CliContext): Promise<PinnedPeer> {
  return resolvePeer(deps, peerRef).catch(namingHome(context));
}

/** accept-move and refuse-move: the peer is looked up first, so only "no such peer" names the home; accept-move's RELAY_URL, when given, must be the address inbox showed (the peer may have asked again since). */
async function decideMove({ args: [peerRef = '', shownRelayUrl], context, home, terminal }: Invocation, decision: 'accept' | 'refuse'): Promise<number> {
  const deps = homeDeps(home);
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

export const run = commandGroup(RUNS);
