// `agent-pair host` and `agent-pair join`: one pairing from open to pinned, run by the core's
// pairing runner (the same one the MCP tools and the VS Code extension use). This file only
// renders the runner's events in the terminal (words.ts) and supplies the person's digits from
// the prompt. Ctrl-C aborts the pairing at the relay, so the peer learns of it at once.
//
// The default relay is the shared loopback one; if none answers it is started in a process of
// its own (dist/relay.mjs, as VS Code does), so it keeps serving the other side and any later
// pairing while this command returns the person's prompt as soon as its own pairing ends.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PairError } from '../core/errors.js';
import { initSelfIdempotent, loadIdentity } from '../core/identity.js';
import { type PairingEvent, runPairing as runPairingFlow } from '../core/pairing.js';
import type { ConfirmPort, Role } from '../core/ports.js';
import { MemoryKeyValueStore, routeSessionKeys } from '../core/routedStore.js';
import type { SessionDeps } from '../core/session.js';
import { homeMailLock } from '../node/mailLock.js';
import { SessionStore } from '../core/store.js';
import { createRelayConnector } from '../relay/client.js';
import { DEFAULT_RELAY_HOST, DEFAULT_RELAY_URL, ensureLocalRelay } from '../relay/embedded.js';
import type { RunningRelay } from '../relay/node.js';
import { openHomeStores } from '../node/fileStore.js';
import { RelayChoice, isRelayChoiceError, nodeScriptCommand } from '../node/localRelay.js';
import { loginHandle, systemClock, systemRandom } from '../node/system.js';
import { type Terminal, formatSecondsLeft } from './terminal.js';
import { invokedAs } from './invocation.js';
import { type CliContext, PAIRING_WORDS, endedWords, localRelayFailureWords } from './words.js';

/** Overrides the local relay's port (default 8771): for tests, and for a machine where 8771 is taken. */
export const LOCAL_RELAY_PORT_ENV = 'AGENT_PAIR_LOCAL_RELAY_PORT';

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
    relays: createRelayConnector(),
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
export async function resolveRelay(relayUrl: string | undefined, home: string): Promise<ResolvedRelay> {
  const port = localRelayPort();
  const localUrl = `http://${DEFAULT_RELAY_HOST}:${port}`;
  if (relayUrl !== undefined && relayUrl !== DEFAULT_RELAY_URL && relayUrl !== localUrl) return { url: relayUrl };
  const script = fileURLToPath(new URL('./relay.mjs', import.meta.url));
  if (!existsSync(script)) {
    const local = await ensureLocalRelay(port);
    return { url: local.url, ...(local.started && { inProcess: local.started }) };
  }
  const choice = new RelayChoice({ configuredUrl: () => '', port, stateDir: home, relayCommand: nodeScriptCommand(script) });
  let status;
  try {
    status = await choice.ensureLocal();
  } catch (error) {
    if (isRelayChoiceError(error)) throw new PairError(error.code, localRelayFailureWords(error.failure, invokedAs()), { cause: error });
    throw error;
  }
  return { url: status.url, ...(status.started && { startedProcess: true }) };
}

function localRelayPort(): number {
  const text = process.env[LOCAL_RELAY_PORT_ENV];
  if (text === undefined || text === '') return Number(new URL(DEFAULT_RELAY_URL).port);
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65_535) throw new PairError('bad_input', `${LOCAL_RELAY_PORT_ENV} is ${JSON.stringify(text)}; expected a port, 1 to 65535.`);
  return port;
}

/**
 * Uses the identity in `home`, creating it with `handle` (or the login name) the first time, and
 * its inbox on `relayUrl` if it has none yet: before the pairing, so that nothing else writes the
 * home while the pairing runs (another process may pair from the same home meanwhile).
 */
export async function ensureIdentity(deps: SessionDeps, handle: string | undefined, relayUrl: string, terminal: Terminal): Promise<void> {
  const existing = await loadIdentity(deps);
  if (existing?.relay && (handle === undefined || handle === existing.handle)) return;
  const { identity, created } = await initSelfIdempotent(deps, handle ?? existing?.handle ?? loginHandle(), deps.relays(relayUrl));
  if (created) terminal.say(`Created identity ${identity.handle} (${identity.fingerprint}).`);
}

/** Runs one pairing to the end. */
export async function runPairing(options: PairOptions, terminal: Terminal): Promise<PairOutcome> {
  const deps = interactiveDeps(options.home);
  const relay = await resolveRelay(options.relayUrl, options.home);
  if (relay.startedProcess === true || relay.inProcess) {
    terminal.event({ event: 'relay_started', relay_url: relay.url, in_process: relay.inProcess !== undefined });
    terminal.warn(PAIRING_WORDS.startedRelay(relay.url));
  }
  const store = new SessionStore(deps);
  let sessionId: string | undefined;
  const interruption = { seen: false };

  // Ctrl-C aborts the pairing at the relay, so the peer learns of it at once; the runner then
  // ends, and its `ended` event is the one thing said about it.
  const interrupt = (): void => {
    if (interruption.seen) return;
    interruption.seen = true;
    const id = sessionId;
    if (id === undefined) {
      terminal.warn(PAIRING_WORDS.cancelled);
      terminal.close();
      process.exit(130);
    }
    void store.abort(id, 'cancelled by the person').catch(() => undefined);
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);

  try {
    await ensureIdentity(deps, options.handle, relay.url, terminal);
    const opened = await store.open(options.role, relay.url, options.code);
    sessionId = opened.sessionId;
    const id = opened.sessionId;
    const timeLeft = (): string => formatSecondsLeft(store.status(id).secondsLeft);
    const render = (event: PairingEvent): void => {
      switch (event.type) {
        case 'code': {
          terminal.event({ event: 'code', code: event.code, relay_url: relay.url, session_id: id });
          const relayHint = relay.url === DEFAULT_RELAY_URL ? '' : ` --relay ${relay.url}`;
          terminal.say(PAIRING_WORDS.code(event.code, `${options.context.command} join ${event.code}${relayHint}`));
          terminal.spin(() => `${event.session.peerJoined || store.status(id).peerJoined ? PAIRING_WORDS.exchangingKeys : PAIRING_WORDS.waitingForPeer}… ${timeLeft()}`);
          return;
        }
        case 'sasReady':
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
          terminal.event({ event: 'paired', peer_handle: event.peer.handle, peer_fingerprint: event.peer.fingerprint, peer_relay_url: event.peer.relayUrl });
          terminal.say(PAIRING_WORDS.paired(event.peer));
          return;
        case 'ended':
          terminal.event({ event: 'aborted', reason: event.reason, code: event.code });
          terminal.warn(endedWords(event.code, event.reason, options.context));
          return;
      }
    };
    if (opened.code === undefined) terminal.spin(() => `${PAIRING_WORDS.exchangingKeys}… ${timeLeft()}`);
    const final = await runPairingFlow(id, { store, clock: systemClock, confirm: terminalConfirmPort(terminal), onEvent: render });
    if (interruption.seen) return 'interrupted';
    return final.state === 'finalized' ? 'paired' : 'ended';
  } finally {
    process.removeListener('SIGINT', interrupt);
    process.removeListener('SIGTERM', interrupt);
    terminal.close();
    await relay.inProcess?.close();
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
