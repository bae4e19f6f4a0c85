// `agent-pair confirm SESSION` and `agent-pair sessions`: the person's side of a pairing an
// agent runs through `agent-pair mcp`. That server is the pairing's only writer; this command
// finds it through the home's local channel (node/confirmChannel.ts), shows the person the SAS
// its runner asks about, and hands their digits back to it.

import { PairError } from '../core/errors.js';
import { type ChannelSession, type LiveServer, askQuestion, findServers, sendDigits } from '../node/confirmChannel.js';
import { type Terminal, formatSecondsLeft } from './terminal.js';
import { CONFIRM_WORDS, type CliContext, PAIRING_WORDS, endedWords, stateWords } from './words.js';

/** Each wait for the runner's question; the command waits as long as the pairing lives. */
const QUESTION_WAIT_SECONDS = 20;

/** Resolves true when the person's digits matched. */
export async function confirmFromTerminal(context: CliContext, sessionId: string, terminal: Terminal): Promise<boolean> {
  const server = (await findServers(context.home)).find((live) => live.listing.sessions.some((session) => session.session_id === sessionId));
  if (!server) throw new PairError('not_found', CONFIRM_WORDS.notHere(sessionId, context));
  let shownSas = false;
  for (;;) {
    const reply = await askQuestion(server.path, sessionId, QUESTION_WAIT_SECONDS);
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
    const answered = await sendDigits(server.path, sessionId, typed, Math.max(1_000, question.expires_at - Date.now()));
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

/** Lists the pairings every live agent server of this home runs. */
export async function listSessions(context: CliContext, terminal: Terminal): Promise<void> {
  const servers: LiveServer[] = await findServers(context.home);
  const sessions = servers.flatMap((server) => server.listing.sessions.map((session) => ({ session, pid: server.listing.pid })));
  if (sessions.length === 0) {
    if (!terminal.json) terminal.say(CONFIRM_WORDS.none(context));
    return;
  }
  if (!terminal.json) terminal.say(CONFIRM_WORDS.heading(context));
  for (const { session, pid } of sessions) {
    const left = session.state === 'aborted' || session.state === 'finalized' ? '' : `  ${formatSecondsLeft(session.seconds_left)}`;
    terminal.result(
      { ...session, server_pid: pid },
      `  ${session.session_id}  ${session.role} of ${session.nameplate}  ${stateWords({ state: session.state, peerJoined: session.peer_joined, ...(session.error_code !== undefined && { abortCode: session.error_code }) })}${left}`,
    );
  }
}
