// Everything the CLI says to the person about a pairing, in one table: keyed by the runner's
// events, the session states and the error codes. The core returns codes and data; the words
// are here, for a person at a terminal (who can run commands, so commands are offered).

import type { ErrorCode } from '../core/errors.js';
import type { SessionSnapshot } from '../core/session.js';
import type { RelayChoiceFailure } from '../node/localRelay.js';
import { shellWord } from './invocation.js';
import type { ForwardSecrecy } from '../core/receiveKeys.js';
import { jsonQuote, showControls } from '../core/untrusted.js';
import { CANCELLED_REASON, OWN_KEY_REASON, SAS_MISMATCH_REASON } from '../core/vocabulary.js';
import type { PeerSummary } from '../core/sessionRecord.js';

/** What the words need to know of where the person runs the command. */
export interface CliContext {
  /** The command as the person invoked it, like `agent-pair` or `node dist/cli.cjs`. */
  command: string;
  /** The identity home in use. */
  home: string;
  /** True when `home` is the default (no --home, no AGENT_PAIR_HOME): hints then need no --home. */
  defaultHome?: boolean;
}

export const PAIRING_WORDS = {
  code: (code: string, joinCommand: string): string => `Your code: ${code}\nRead it to the other person. They run: ${joinCommand}`,
  waitingForPeer: 'Waiting for the other person to join',
  exchangingKeys: 'Exchanging keys',
  exchangingCards: 'Exchanging identity cards',
  keyExchangeQuiet:
    'Still waiting for the other side\'s next key-exchange message. If their agent pairs through an MCP client that starts agent-pair mcp for each call, their side moves only while the agent is in a call (pair_status) or while their person runs agent-pair confirm; it keeps waiting until the pairing expires.',
  sas: (sas: string): string => `Your SAS: ${sas}\nRead it to the other person and listen to theirs. They must be the same.`,
  prompt: 'Type the 6 digits the other person reads out: ',
  notSixDigits: 'That was not 6 digits, so nothing was checked. Type the 6 digits the other person reads out, like 594-376.',
  relayTrouble: (relayUrl: string, code: ErrorCode, retryMs: number): string =>
    `The relay ${relayUrl} does not answer (${code}); trying again in ${Math.ceil(retryMs / 1000)} s. The pairing goes on once it answers; if the relay is gone for good, start a new pairing.`,
  relayBack: (relayUrl: string): string => `The relay ${relayUrl} answers again.`,
  paired: (peer: PeerSummary): string => `Paired with ${peer.handle} (fingerprint ${peer.fingerprint}). Your agent now knows exactly who they are.`,
  cancelled: 'Pairing cancelled; the other side was told.',
  joiningOwnHost: (pid: number, context: CliContext): string =>
    `This code is for a pairing that ${context.home} itself hosts (pid ${pid}): joining it from the same home would pair the identity with itself. Nothing was sent. The guest needs a home of its own, like: ${context.command} join CODE --home /tmp/bob`,
  startedRelay: (url: string): string => `Started the local relay at ${url} in a process of its own; it exits after 10 minutes with no pairing in flight.`,
} as const;

/** Why a pairing ended, in one sentence or two: the reason said once, then what to do. */
export function endedWords(code: ErrorCode, reason: string, context: CliContext): string {
  switch (code) {
    case 'wrong_code':
      return 'The two sides used different codes: the code was misheard or mistyped, or someone guessed at this nameplate. Nothing was exchanged. Start a new pairing and read the code out again.';
    case 'sas_mismatch':
      return 'The digits you typed do not match your SAS. A digit may have been misheard, or someone may be intercepting this pairing, so both sides stopped. Start a new pairing.';
    case 'expired':
      return 'The pairing expired (10 minutes), or the relay no longer knows it (it finished, restarted or exited). Start a new pairing.';
    case 'commitment_mismatch':
      return 'The other side revealed a key-exchange message that does not match its commitment: the relay or the other side is misbehaving. Start a new pairing.';
    case 'own_key':
      return sameHome(context);
    case 'peer_aborted':
      if (reason === SAS_MISMATCH_REASON) return 'The other person typed digits that do not match their SAS. A digit may have been misheard, or someone may be intercepting this pairing, so both sides stopped. Start a new pairing.';
      if (reason === CANCELLED_REASON) return 'The other person cancelled the pairing. Start a new one when you are both ready.';
      if (reason === OWN_KEY_REASON) return sameHome(context);
      // The peer's own words: quoted, control characters shown, so they cannot drive the terminal.
      return `The other side aborted the pairing: ${jsonQuote(showControls(reason))}. Start a new pairing.`;
    case 'aborted':
      return reason === CANCELLED_REASON ? PAIRING_WORDS.cancelled : `Pairing aborted: ${reason}.`;
    default:
      return `The pairing stopped (${code}): ${reason}. The other side was told. Start a new pairing.`;
  }
}

function sameHome(context: CliContext): string {
  return `Both sides presented the same identity: they use the same identity home (${context.home}). To try a pairing on one machine, give one side another home, like: ${context.command} join CODE --home /tmp/bob`;
}

/** ` --home DIR` when the command ran on a home other than the default, so a hint runs on the same one. */
export function homeOption(context: CliContext): string {
  return context.defaultHome === true ? '' : ` --home ${shellWord(context.home)}`;
}

/** The state of a session in a few words, for `sessions` and `confirm`. */
export function stateWords(session: Pick<SessionSnapshot, "state" | "peerJoined" | "abortCode" | "peer">): string {
  switch (session.state) {
    case 'opened':
      return session.peerJoined ? 'exchanging keys' : 'waiting for the other person to join';
    case 'sas_ready':
      return 'waiting for you to verify the SAS';
    case 'confirmed':
      return 'SAS verified; exchanging identity cards';
    case 'finalized':
      return session.peer ? `paired with ${session.peer.handle}` : 'paired';
    case 'aborted':
      return `ended (${session.abortCode ?? 'aborted'})`;
  }
}

/** `init NEW` when this home already has another identity: what it is, and how to start over. */
export function identityConflictWords(existing: { handle: string; fingerprint: string }, wanted: string, files: { card: string; privateKey: string }, context: CliContext): string {
  return (
    `${context.home} already has the identity ${existing.handle} (fingerprint ${existing.fingerprint}), and peers pin its key, so it is never replaced silently. ` +
    `Keep it (pair as ${existing.handle}), or use another home for ${wanted}: ${context.command} init ${wanted} --home DIR. ` +
    `To replace it for good (its peers will no longer recognise you), delete its card and private key: rm ${files.card} ${files.privateKey} && ${context.command} init ${wanted}${homeOption(context)}`
  );
}

/** `host --handle carol` on a home that already is alice: --handle only names a new identity. */
export function handleForNewHomeWords(existing: { handle: string; fingerprint: string }, wanted: string, context: CliContext): string {
  return (
    `--handle ${wanted} names a new identity, but ${context.home} already is ${existing.handle} (fingerprint ${existing.fingerprint}), and a home keeps its identity. ` +
    `Drop --handle to pair as ${existing.handle}, or give ${wanted} a home of its own: add --home DIR (like --home /tmp/${wanted}).`
  );
}

export const CONFIRM_WORDS = {
  notHere: (sessionId: string, context: CliContext): string =>
    `No agent's pairing ${sessionId} is in flight in ${context.home}: no agent-pair mcp server using this home runs it, and none is saved there. \`${context.command} sessions${homeOption(context)}\` lists the pairings there; if your agent's server uses another home, add --home DIR.`,
  heldElsewhere: (sessionId: string, pid: number | undefined, context: CliContext): string =>
    `Pairing ${sessionId} is being run by another process of ${context.home}${pid === undefined ? '' : ` (pid ${pid})`} that does not answer; try again in a moment.`,
  runningHere: 'No agent-pair mcp server runs this pairing now, so it runs here until the peer is pinned; your agent sees the result on its next call.',
  alreadyEnded: (state: string): string => `This pairing is over: ${state}. Nothing to confirm.`,
  waitingForKeys: 'The key exchange is still running; waiting for the SAS',
  confirmed: 'Confirmed. Your agent\'s pairing exchanges identity cards on its own now.',
  alreadyConfirmed: 'This pairing is already confirmed; nothing to do.',
  notAnswered: 'No digits were typed; the pairing still waits for the SAS.',
  none: (context: CliContext): string => `No agent's pairing is in flight in ${context.home}.`,
  heading: (context: CliContext): string => `Agents' pairings in ${context.home}:`,
  abandoned: (sessionId: string, context: CliContext): string =>
    `abandoned: no process runs it (its agent's server exited); ${context.command} confirm ${sessionId}${homeOption(context)} takes it over, else it expires`,
} as const;

/** The shared local relay could not be started (node/localRelay.ts says why, as data). */
export function localRelayFailureWords(failure: RelayChoiceFailure, command: string): string {
  const instead = `run a relay yourself (${command} relay, in a terminal of its own) and pass its URL with --relay URL`;
  switch (failure.reason) {
    case 'bad_configured_url':
      return `${JSON.stringify(failure.value)} is not a relay URL; expected an http:// or https:// URL like https://relay.example.com.`;
    case 'state_dir':
      return `No relay answers at ${failure.url}, and the local relay could not be started: its state directory ${failure.stateDir} could not be created (${failure.detail}). Use another --home, or ${instead}.`;
    case 'process_ended':
      return `No relay answers at ${failure.url}, and the local relay process could not start there (${failure.detail}). If another program holds port ${failure.port}, free it, or ${instead}.`;
    case 'no_answer':
      return `The local relay process did not answer at ${failure.url} within ${failure.waitedMs / 1000} s. Try again, or ${instead}.`;
  }
}

/** Whether a peer's messages have forward secrecy yet (PROTOCOL.md section 7), for the peers list. */
export const FORWARD_SECRECY_WORDS: Record<ForwardSecrecy['state'], string> = {
  on: 'forward secrecy: on',
  upgrading: 'forward secrecy: upgrading (on once both sides sent a message)',
  off: 'forward secrecy: not yet (their app speaks only the older message format)',
};
