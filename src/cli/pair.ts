// `agent-pair host` and `agent-pair join`: one pairing from open to pinned, run by the core's
// pairing runner (the same one the MCP tools and the VS Code extension use). This file only
// renders the runner's events in the terminal (words.ts) and supplies the person's digits from
// the prompt. Ctrl-C, a kill or a closed terminal aborts the pairing at the relay, so the peer
// learns of it at once. `agent-pair confirm` runs an agent's pairing here the same way when no
// agent-pair mcp server runs it.
//
// The default relay is the shared loopback one; if none answers it is started in a process of
// its own (dist/relay.mjs, as VS Code does), so it keeps serving the other side and any later
// pairing while this command returns the person's prompt as soon as its own pairing ends.

import { PairError } from '../core/errors.js';
import { initSelfIdempotent, loadIdentity } from '../core/identity.js';
import { type PairingEvent, runPairing as runPairingFlow } from '../core/pairing.js';
import type { ConfirmPort, Role } from '../core/ports.js';
import { MemoryKeyValueStore, routeSessionKeys } from '../core/routedStore.js';
import type { SessionDeps } from '../core/session.js';
import { homeMailLock } from '../node/mailLock.js';
import { SessionStore } from '../core/store.js';
import { parseCode } from '../core/codePhrase.js';
import { hostOf, markHosting } from '../node/sessionWriters.js';
import { DEFAULT_RELAY_HOST, DEFAULT_RELAY_URL, ensureLocalRelay } from '../relay/embedded.js';
import type { RunningRelay } from '../relay/node.js';
import { openHomeStores } from '../node/fileStore.js';
import { isRelayChoiceError } from '../node/localRelay.js';
import { cliRelayConnector, localRelayChoice, localRelayPort } from './homeRelays.js';

export { LOCAL_RELAY_PORT_ENV, homeRelayConnector, localRelayChoice } from './homeRelays.js';
import { loginHandle, systemClock, systemRandom } from '../node/system.js';
import { type Terminal, formatSecondsLeft } from './terminal.js';
import { invokedAs } from './invocation.js';
import { type CliContext, PAIRING_WORDS, endedWords, handleForNewHomeWords, localRelayFailureWords } from './words.js';
import { CANCELLED_REASON } from '../core/vocabulary.js';

export interface PairOptions {
  role: Role;
  code?: string;
  relayUrl?: string;
  handle?: string;
  home: string;
  context: CliContext;
}

export type PairOutcome = 'paired' | 'ended' | 'interrupted';

/** The pairing's deps: identity and peers in the home directory, the session itself in memory. */
export function interactiveDeps(home: string): SessionDeps {
  const files = openHomeStores(home);
  return {
    vault: routeSessionKeys(new MemoryKeyValueStore(), files.vault),
    memory: routeSessionKeys(new MemoryKeyValueStore(), files.memory),
    random: systemRandom,
    clock: systemClock,
    relays: cliRelayConnector(),
    mailLock: homeMailLock(home),
  };
}

export interface ResolvedRelay {
  url: string;
  /** This process started the local relay as a process of its own. */
  startedProcess?: boolean;
  /** Only when the relay bundle is not beside this one (running from sources): closed on exit. */
  inProcess?: RunningRelay;
}

/**
 * The relay to pair through: the given URL, or the shared loopback one, started in a process of
 * its own if none answers (the relay bundle beside this one; from sources, in this process).
 */
export async function resolveRelay(relayUrl: string | undefined): Promise<ResolvedRelay> {
  const port = localRelayPort();
  const localUrl = `http://${DEFAULT_RELAY_HOST}:${port}`;
  if (relayUrl !== undefined && relayUrl !== DEFAULT_RELAY_URL && relayUrl !== localUrl) return { url: relayUrl };
  const choice = localRelayChoice();
  if (choice === undefined) {
    const local = await ensureLocalRelay(port);
    return { url: local.url, ...(local.started && { inProcess: local.started }) };
  }
  let status;
  try {
    status = await choice.ensureLocal();
  } catch (error) {
    if (isRelayChoiceError(error)) throw new PairError(error.code, localRelayFailureWords(error.failure, invokedAs()), { cause: error });
    throw error;
  }
  return { url: status.url, ...(status.started && { startedProcess: true }) };
}


/**
 * Uses the identity in `home`, creating it with `handle` (or the login name) the first time, and
 * its inbox on `relayUrl` if it has none yet: before the pairing, so that nothing else writes the
 * home while the pairing runs (another process may pair from the same home meanwhile).
 */
export async function ensureIdentity(deps: SessionDeps, handle: string | undefined, relayUrl: string, terminal: Terminal, context: CliContext): Promise<void> {
  const existing = await loadIdentity(deps);
  // --handle names a new identity only: a home keeps the one it has (peers pin its key).
  if (existing && handle !== undefined && handle !== existing.handle) throw new PairError('identity_conflict', handleForNewHomeWords(existing, handle, context));
  if (existing?.relay && (handle === undefined || handle === existing.handle)) return;
  const { identity, created } = await initSelfIdempotent(deps, handle ?? existing?.handle ?? loginHandle(), deps.relays(relayUrl));
  if (created) terminal.say(`Created identity ${identity.handle} (${identity.fingerprint}).`);
}

/** Runs one pairing to the end. */
export async function runPairing(options: PairOptions, terminal: Terminal): Promise<PairOutcome> {
  const quietMs = keyExchangeQuietMs();
  const deps = interactiveDeps(options.home);
  const relay = await resolveRelay(options.relayUrl);
  if (relay.startedProcess === true || relay.inProcess) {
    terminal.event({ event: 'relay_started', relay_url: relay.url, in_process: relay.inProcess !== undefined });
    terminal.warn(PAIRING_WORDS.startedRelay(relay.url));
  }
  const store = new SessionStore(deps);
  let unmark = (): void => undefined;
  try {
    return await drivePairingInTerminal(store, options.context, terminal, quietMs, async () => {
      if (options.code !== undefined) {
        const host = hostOf(options.home, relay.url, parseCode(options.code).nameplate);
        if (host !== undefined) throw new PairError('own_key', PAIRING_WORDS.joiningOwnHost(host, options.context));
      }
      await ensureIdentity(deps, options.handle, relay.url, terminal, options.context);
      const opened = await store.open(options.role, relay.url, options.code);
      if (options.role === 'host') unmark = markHosting(options.home, relay.url, opened.nameplate);
      return opened.sessionId;
    });
  } finally {
    unmark();
    await relay.inProcess?.close();
  }
}

/**
 * Signals that end a pairing run from a terminal: Ctrl-C, a kill, and the terminal closing
 * (SIGHUP). Each aborts the pairing at the relay, so the peer learns of it at once.
 */
const ENDING_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * After this long in the key exchange with the other side joined, the terminal says what it
 * waits for: the other side's next message, which an agent on a per-call MCP client sends only
 * while it is in a call (or while its person runs `confirm`).
 */
export const KEY_EXCHANGE_QUIET_MS = 15_000;
/** Sets that wait in whole seconds instead, for a terminal that should say it sooner or later (and tests that need not wait 15 s). */
export const KEY_EXCHANGE_QUIET_ENV = 'AGENT_PAIR_KEY_EXCHANGE_QUIET_SECONDS';
/** The longest wait the variable may set: an hour, past any pairing's lifetime. */
export const MAX_KEY_EXCHANGE_QUIET_SECONDS = 3_600;

/** The quiet wait: KEY_EXCHANGE_QUIET_ENV if set (1 to MAX_KEY_EXCHANGE_QUIET_SECONDS), else KEY_EXCHANGE_QUIET_MS. */
export function keyExchangeQuietMs(env: NodeJS.ProcessEnv = process.env): number {
  const text = env[KEY_EXCHANGE_QUIET_ENV];
  if (text === undefined || text === '') return KEY_EXCHANGE_QUIET_MS;
  const seconds = /^\d{1,4}$/.test(text) ? Number(text) : Number.NaN;
  if (!(seconds >= 1 && seconds <= MAX_KEY_EXCHANGE_QUIET_SECONDS)) {
    throw new PairError('bad_input', `${KEY_EXCHANGE_QUIET_ENV} is ${JSON.stringify(text.slice(0, 20))}; expected whole seconds, 1 to ${MAX_KEY_EXCHANGE_QUIET_SECONDS}.`);
  }
  return seconds * 1000;
}

/**
 * Runs a pairing of `store` to its end in this terminal, through the core's runner: renders its
 * events and asks the person for the digits. `start` opens the session (host, join) or names
 * one already in the store (`confirm` running an agent's pairing); a signal before it returns
 * exits at once, after it aborts the pairing at the relay. `quietMs`: keyExchangeQuietMs(), read by
 * the command before it starts anything, so a wrong value changes nothing.
 */
export async function drivePairingInTerminal(store: SessionStore, context: CliContext, terminal: Terminal, quietMs: number, start: () => Promise<string>): Promise<PairOutcome> {
  let sessionId: string | undefined;
  let stopQuietWatch = (): void => undefined;
  const interruption = { seen: false };
  // The runner ends once the abort is applied, and its `ended` event is the one thing said about it.
  const interrupt = (signal: NodeJS.Signals): void => {
    if (signal === 'SIGHUP') {
      // The terminal is gone: writing to it fails (EIO), which must not stop the abort going out.
      for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
    }
    if (interruption.seen) return;
    interruption.seen = true;
    const id = sessionId;
    if (id === undefined) {
      terminal.warn(PAIRING_WORDS.cancelled);
      terminal.close();
      process.exit(130);
    }
    void store.abort(id, CANCELLED_REASON).catch(() => undefined);
  };
  for (const signal of ENDING_SIGNALS) process.once(signal, interrupt);
  try {
    sessionId = await start();
    const id = sessionId;
    const opened = store.status(id);
    const timeLeft = (): string => formatSecondsLeft(store.status(id).secondsLeft);
    const exchanging = (): void => {
      terminal.spin(() => `${PAIRING_WORDS.exchangingKeys}… ${timeLeft()}`);
    };
    // Said once, if the exchange stalls with the other side joined; the spinner keeps its time.
    const quietWatch = setInterval(() => {
      const now = store.status(id);
      if (now.state !== 'opened' || (now.role === 'host' && !now.peerJoined)) return;
      clearInterval(quietWatch);
      terminal.event({ event: 'waiting_for_peer', session_id: id });
      terminal.warn(PAIRING_WORDS.keyExchangeQuiet);
      exchanging();
    }, quietMs);
    stopQuietWatch = () => {
      clearInterval(quietWatch);
    };
    const render = (event: PairingEvent): void => {
      switch (event.type) {
        case 'code': {
          const relayUrl = event.session.relayUrl;
          terminal.event({ event: 'code', code: event.code, relay_url: relayUrl, session_id: id });
          const relayHint = relayUrl === DEFAULT_RELAY_URL ? '' : ` --relay ${relayUrl}`;
          terminal.say(PAIRING_WORDS.code(event.code, `${context.command} join ${event.code}${relayHint}`));
          terminal.spin(() => `${event.session.peerJoined || store.status(id).peerJoined ? PAIRING_WORDS.exchangingKeys : PAIRING_WORDS.waitingForPeer}… ${timeLeft()}`);
          return;
        }
        case 'sasReady':
          stopQuietWatch();
          return; // the prompt (the ConfirmPort below) shows the SAS
        case 'relayTrouble':
          if (event.attempt > 1) return; // said once per outage
          terminal.event({ event: 'relay_trouble', code: event.code, relay_url: event.session.relayUrl });
          terminal.warn(PAIRING_WORDS.relayTrouble(event.session.relayUrl, event.code, event.retryMs));
          return;
        case 'relayBack':
          terminal.event({ event: 'relay_back', relay_url: event.session.relayUrl });
          terminal.warn(PAIRING_WORDS.relayBack(event.session.relayUrl));
          return;
        case 'confirmed':
          terminal.spin(() => `${PAIRING_WORDS.exchangingCards}… ${timeLeft()}`);
          return;
        case 'paired':
          terminal.event({ event: 'paired', peer: { fingerprint: event.peer.fingerprint, handle: event.peer.handle, relay_url: event.peer.relayUrl } });
          terminal.say(PAIRING_WORDS.paired(event.peer));
          return;
        case 'ended':
          terminal.event({ event: 'aborted', reason: event.reason, code: event.code });
          terminal.warn(endedWords(event.code, event.reason, context));
          return;
      }
    };
    if (opened.state === 'opened' && (opened.code === undefined || opened.peerJoined)) exchanging();
    const final = await runPairingFlow(id, { store, clock: systemClock, confirm: terminalConfirmPort(terminal), onEvent: render });
    if (interruption.seen) return 'interrupted';
    return final.state === 'finalized' ? 'paired' : 'ended';
  } finally {
    stopQuietWatch();
    for (const signal of ENDING_SIGNALS) process.removeListener(signal, interrupt);
    terminal.close();
  }
}

/** The person at this terminal: shows the SAS and reads the digits they type. */
export function terminalConfirmPort(terminal: Terminal): ConfirmPort {
  return {
    askForDigits: async (request) => {
      if (request.again) {
        terminal.warn(PAIRING_WORDS.notSixDigits);
      } else {
        terminal.event({ event: 'sas', sas: request.sas, session_id: request.sessionId });
        terminal.say(PAIRING_WORDS.sas(request.sas));
      }
      const typed = await terminal.ask(PAIRING_WORDS.prompt, request.signal);
      if (typed === undefined) throw new PairError('cancelled', 'The terminal closed its input before the digits were typed.');
      return typed;
    },
  };
}
