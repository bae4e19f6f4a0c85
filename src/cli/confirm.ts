// `agent-pair confirm SESSION` and `agent-pair sessions`: the person's side of a pairing an
// agent runs through `agent-pair mcp`. While a server runs the pairing it is its only writer;
// this command finds it through the home's local channel (node/confirmChannel.ts), shows the
// person the SAS its runner asks about, and hands their digits back to it. When no server runs
// it (a per-call MCP client's server has exited), this command takes the session's writer lock
// (node/sessionWriters.ts) and runs the pairing itself, to the pinned peer, with the same runner
// as host and join; the agent's next server restores how it ended.

import { PairError } from '../core/errors.js';
import type { SessionDeps } from '../core/session.js';
import { SessionStore } from '../core/store.js';
import { type ChannelSession, type LiveServer, askQuestion, findServers, sendDigits, toChannelSession } from '../node/confirmChannel.js';
import { SessionWriters } from '../node/sessionWriters.js';
import { drivePairingInTerminal, keyExchangeQuietMs } from './pair.js';
import { type Terminal, formatSecondsLeft } from './terminal.js';
import { CONFIRM_WORDS, type CliContext, PAIRING_WORDS, endedWords, stateWords } from './words.js';
import { isTerminal } from '../core/vocabulary.js';

/** How `confirm` ended: the digits matched (or the pairing finished), it ended otherwise, or a signal stopped it. */
export type ConfirmOutcome = 'confirmed' | 'ended' | 'interrupted';

/** Each wait for the runner's question; the command waits as long as the pairing lives. */
const QUESTION_WAIT_SECONDS = 20;

/** `deps`: the home's stores, for running the pairing here when no server runs it. */
export async function confirmFromTerminal(context: CliContext, sessionId: string, terminal: Terminal, deps: SessionDeps): Promise<ConfirmOutcome> {
  const quietMs = keyExchangeQuietMs();
  const server = await serverRunning(context.home, sessionId);
  if (server) {
    const answered = await confirmThroughServer(server, context, sessionId, terminal);
    if (answered !== 'gone') return answered ? 'confirmed' : 'ended';
    // The server exited meanwhile (a per-call client's call ended): the pairing is saved; run it here.
  }
  const writers = new SessionWriters(context.home);
  if (!writers.claim(sessionId)) {
    // Another process holds it: a server between taking the lock and opening its channel.
    const starting = await serverRunning(context.home, sessionId);
    const answered = starting ? await confirmThroughServer(starting, context, sessionId, terminal) : 'gone';
    if (answered !== 'gone') return answered ? 'confirmed' : 'ended';
    throw new PairError('invalid_state', CONFIRM_WORDS.heldElsewhere(sessionId, writers.holder(sessionId), context));
  }
  try {
    const store = new SessionStore(deps);
    await store.restore((id) => id === sessionId);
    if (!store.list().some((session) => session.sessionId === sessionId)) throw new PairError('not_found', CONFIRM_WORDS.notHere(sessionId, context));
    const before = store.status(sessionId);
    if (isTerminal(before.state)) {
      terminal.result({ session_id: sessionId, state: before.state }, CONFIRM_WORDS.alreadyEnded(stateWords(before)));
      return before.state === 'finalized' ? 'confirmed' : 'ended';
    }
    terminal.event({ event: 'running_here', session_id: sessionId });
    terminal.warn(CONFIRM_WORDS.runningHere);
    const outcome = await drivePairingInTerminal(store, context, terminal, quietMs, () => Promise.resolve(sessionId));
    return outcome === 'paired' ? 'confirmed' : outcome;
  } finally {
    writers.releaseAll();
  }
}

async function serverRunning(home: string, sessionId: string): Promise<LiveServer | undefined> {
  return (await findServers(home)).find((live) => live.listing.sessions.some((session) => session.session_id === sessionId));
}

/** Resolves true when the person's digits matched; 'gone' when the server stopped answering (it exited). */
async function confirmThroughServer(server: LiveServer, context: CliContext, sessionId: string, terminal: Terminal): Promise<boolean | 'gone'> {
  let shownSas = false;
  for (;;) {
    const reply = await askQuestion(server.path, sessionId, QUESTION_WAIT_SECONDS).catch(() => 'gone' as const);
    if (reply === 'gone') return 'gone';
    if (!reply) throw new PairError('not_found', CONFIRM_WORDS.notHere(sessionId, context));
    if ('session' in reply) {
      const done = settled(reply.session, context, terminal);
      if (done !== undefined) return done;
      terminal.spin(() => `${CONFIRM_WORDS.waitingForKeys}… ${formatSecondsLeft(reply.session.seconds_left)}`);
      continue;
    }
    const { question } = reply;
    if (question.again) {
      terminal.warn(PAIRING_WORDS.notSixDigits);
    } else if (!shownSas) {
      terminal.event({ event: 'sas', sas: question.sas, session_id: sessionId });
      terminal.say(PAIRING_WORDS.sas(question.sas));
    }
    shownSas = true;
    const typed = await terminal.ask(PAIRING_WORDS.prompt);
    if (typed === undefined) throw new PairError('cancelled', CONFIRM_WORDS.notAnswered);
    const answered = await sendDigits(server.path, sessionId, typed, Math.max(1_000, question.expires_at - Date.now())).catch(() => 'gone' as const);
    if (answered === 'gone') return 'gone';
    if (!answered) throw new PairError('not_found', CONFIRM_WORDS.notHere(sessionId, context));
    if ('again' in answered && answered.again) continue;
    const done = settled(answered.session, context, terminal);
    if (done !== undefined) return done;
  }
}

/** True or false once the session is past the question; undefined while it still waits. */
function settled(session: ChannelSession, context: CliContext, terminal: Terminal): boolean | undefined {
  switch (session.state) {
    case 'opened':
    case 'sas_ready':
      return undefined;
    case 'confirmed':
    case 'finalized':
      terminal.event({ event: 'confirmed', session_id: session.session_id });
      terminal.say(CONFIRM_WORDS.confirmed);
      return true;
    case 'aborted': {
      const code = session.error_code ?? 'aborted';
      terminal.event({ event: 'aborted', reason: session.abort_reason ?? '', code });
      terminal.warn(endedWords(code, session.abort_reason ?? '', context));
      return false;
    }
  }
}

/**
 * Lists the pairings of this home: those every live agent server runs, and those saved in the
 * home that no process runs any more (its per-call server exited, or it was killed), marked
 * abandoned: `confirm` takes one of those over, or it ends at its expiry.
 */
export async function listSessions(context: CliContext, terminal: Terminal, deps: SessionDeps): Promise<void> {
  const servers: LiveServer[] = await findServers(context.home);
  const live = servers.flatMap((server) => server.listing.sessions.map((session) => ({ session, pid: server.listing.pid })));
  const liveIds = new Set(live.map(({ session }) => session.session_id));
  // Saved sessions are read under their writer lock (a restore may mark one expired), never one a live process holds.
  const writers = new SessionWriters(context.home);
  const saved = new SessionStore(deps);
  try {
    await saved.restore((id) => !liveIds.has(id) && writers.claim(id));
  } finally {
    writers.releaseAll();
  }
  const orphans = saved.list().map((snapshot) => ({ session: toChannelSession(snapshot), pid: undefined }));
  const sessions = [...live, ...orphans];
  if (sessions.length === 0) {
    if (!terminal.json) terminal.say(CONFIRM_WORDS.none(context));
    return;
  }
  if (!terminal.json) terminal.say(CONFIRM_WORDS.heading(context));
  for (const { session, pid } of sessions) {
    const ended = isTerminal(session.state);
    const abandoned = pid === undefined && !ended;
    const state = stateWords({ state: session.state, peerJoined: session.peer_joined, ...(session.error_code !== undefined && { abortCode: session.error_code }) });
    const left = ended ? '' : `  ${formatSecondsLeft(session.seconds_left)}`;
    terminal.result(
      { ...session, ...(pid !== undefined && { server_pid: pid }), abandoned },
      `  ${session.session_id}  ${session.role} of ${session.nameplate}  ${abandoned ? CONFIRM_WORDS.abandoned(session.session_id, context) : `${state}${left}`}`,
    );
  }
}
