// `agent-pair host` and `agent-pair join`: one pairing from open to pinned, driven through the
// same SessionStore the MCP tools and the VS Code extension use. The person reads the code,
// compares the SAS and types the peer's digits; everything else runs on its own. While the
// person is at the digits prompt the relay is watched, so if the other side aborts (or the
// pairing expires) the prompt ends and the abort is reported at once, without anyone typing.

import { PairError, isPairError } from '../core/errors.js';
import { initSelfIdempotent, loadIdentity } from '../core/identity.js';
import type { Role } from '../core/ports.js';
import { MemoryKeyValueStore, routeSessionKeys } from '../core/routedStore.js';
import type { SessionDeps, SessionSnapshot } from '../core/session.js';
import { SessionStore } from '../core/store.js';
import { createRelayConnector } from '../relay/client.js';
import { DEFAULT_RELAY_URL, type LocalRelay, ensureLocalRelay } from '../relay/embedded.js';
import { loginHandle, systemClock, systemRandom } from '../node/system.js';
import { watchWhileAsked } from '../node/watch.js';
import { openHomeStores } from './fileStore.js';
import { invokedAs } from './invocation.js';
import { type Terminal, formatSecondsLeft } from './terminal.js';

/** Each long poll of the CLI's wait loops; short enough to redraw time left, long enough to be cheap. */
const WAIT_SLICE_MS = 20_000;
/**
 * A relay started by this process outlives our side of the pairing until the peer is done too
 * (the relay deletes a slot once both wrote `done`), at most this long.
 */
export const EMBEDDED_RELAY_LINGER_MS = 30_000;
const LINGER_CHECK_MS = 100;

export interface PairOptions {
  role: Role;
  code?: string;
  relayUrl?: string;
  handle?: string;
  home: string;
}

/** The pairing's deps: identity and peers in the home directory, the session itself in memory. */
export function interactiveDeps(home: string): SessionDeps {
  const files = openHomeStores(home);
  return {
    vault: routeSessionKeys(new MemoryKeyValueStore(), files.vault),
    memory: routeSessionKeys(new MemoryKeyValueStore(), files.memory),
    random: systemRandom,
    clock: systemClock,
    relays: createRelayConnector(),
  };
}

/** The relay to pair through: the given URL, or the loopback one (started here if none answers). */
export async function resolveRelay(relayUrl: string | undefined): Promise<LocalRelay> {
  if (relayUrl !== undefined && relayUrl !== DEFAULT_RELAY_URL) return { url: relayUrl };
  return ensureLocalRelay();
}

/** Uses the identity in `home`, creating it with `handle` (or the login name) the first time. */
export async function ensureIdentity(deps: SessionDeps, handle: string | undefined, terminal: Terminal): Promise<void> {
  const existing = await loadIdentity(deps);
  if (existing && (handle === undefined || handle === existing.handle)) return;
  const { identity, created } = await initSelfIdempotent(deps, handle ?? loginHandle());
  if (created) terminal.say(`Created identity ${identity.handle} (${identity.fingerprint}).`);
}

/** Runs one pairing to the end. Resolves true when the peer is pinned. */
export async function runPairing(options: PairOptions, terminal: Terminal): Promise<boolean> {
  const deps = interactiveDeps(options.home);
  const relay = await resolveRelay(options.relayUrl);
  if (relay.started) terminal.warn(`Started a relay at ${relay.url}; it runs until this pairing ends.`);
  const store = new SessionStore(deps);
  let sessionId: string | undefined;

  // Ctrl-C aborts the pairing at the relay, so the peer learns of it at once.
  const interrupt = (): void => {
    const id = sessionId;
    void (async () => {
      if (id !== undefined) await store.abort(id, 'cancelled by the person').catch(() => undefined);
      terminal.event({ event: 'aborted', reason: 'cancelled by the person', code: 'cancelled' });
      terminal.warn('Pairing cancelled.');
      terminal.close();
      await relay.started?.close();
      process.exit(130);
    })();
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);

  try {
    await ensureIdentity(deps, options.handle, terminal);
    let snapshot = await store.open(options.role, relay.url, options.code);
    sessionId = snapshot.sessionId;
    const id = snapshot.sessionId;
    if (options.role === 'host' && snapshot.code !== undefined) {
      terminal.event({ event: 'code', code: snapshot.code, relay_url: relay.url, session_id: id });
      const relayHint = relay.url === DEFAULT_RELAY_URL ? '' : ` --relay ${relay.url}`;
      terminal.say(`Your code: ${snapshot.code}\nRead it to the other person. They run: ${invokedAs()} join ${snapshot.code}${relayHint}`);
    }

    while (snapshot.state === 'opened') {
      const current = snapshot;
      terminal.spin(() => `${current.peerJoined ? 'Exchanging keys' : 'Waiting for the other person to join'}… ${formatSecondsLeft(store.status(id).secondsLeft)}`);
      snapshot = await store.waitForSas(id, WAIT_SLICE_MS);
    }
    terminal.stopSpinner();
    if (snapshot.state === 'aborted') return reportAborted(snapshot, terminal);

    const sas = store.sasForPerson(id);
    terminal.event({ event: 'sas', sas, session_id: id });
    terminal.say(`Your SAS: ${sas}\nRead it to the other person and listen to theirs. They must be the same.`);
    // Meanwhile watch the relay: a peer's abort or an expired slot withdraws the question.
    const watching = new AbortController();
    const ended = new AbortController();
    // Relay trouble pauses the watch and never ends the prompt: the person may still type.
    const watch = watchWhileAsked(() => store.watchPeer(id, WAIT_SLICE_MS, watching.signal), watching.signal).then((moved) => {
      if (moved) ended.abort();
    });
    let typed: string | undefined;
    try {
      typed = await terminal.ask('Type the 6 digits the other person reads out: ', ended.signal);
    } finally {
      watching.abort();
      await watch;
    }
    if (store.status(id).state === 'aborted') return reportAborted(store.status(id), terminal);
    if (typed === undefined) {
      await store.abort(id, 'no digits typed');
      return reportAborted(store.status(id), terminal);
    }
    try {
      await store.confirmSas(id, typed);
    } catch (error) {
      if (isPairError(error, 'sas_mismatch')) return reportAborted(store.status(id), terminal);
      throw error;
    }

    terminal.spin(() => `Exchanging identity cards… ${formatSecondsLeft(store.status(id).secondsLeft)}`);
    for (;;) {
      try {
        snapshot = await store.finalize(id, WAIT_SLICE_MS);
        break;
      } catch (error) {
        if (isPairError(error, 'timeout')) continue;
        if (store.status(id).state === 'aborted') return reportAborted(store.status(id), terminal);
        throw error;
      }
    }
    terminal.stopSpinner();
    const peer = snapshot.peer;
    if (!peer) throw new PairError('protocol_violation', 'The pairing finished without a peer.');
    terminal.event({ event: 'paired', peer_handle: peer.handle, peer_fingerprint: peer.fingerprint, peer_relay_url: peer.relayUrl });
    terminal.say(`Paired with ${peer.handle} (fingerprint ${peer.fingerprint}). Your agent now knows exactly who they are.`);
    return true;
  } finally {
    process.removeListener('SIGINT', interrupt);
    process.removeListener('SIGTERM', interrupt);
    terminal.close();
    await closeEmbeddedRelay(relay);
  }
}

/** Closes a relay this process started, once no pairing is left on it (or after the linger). */
async function closeEmbeddedRelay(relay: LocalRelay): Promise<void> {
  const started = relay.started;
  if (!started) return;
  const deadline = Date.now() + EMBEDDED_RELAY_LINGER_MS;
  while (started.stats().pairSlots > 0 && Date.now() < deadline) await systemClock.sleep(LINGER_CHECK_MS);
  await started.close();
}

function reportAborted(snapshot: SessionSnapshot, terminal: Terminal): false {
  terminal.stopSpinner();
  const reason = snapshot.abortReason ?? 'aborted';
  terminal.event({ event: 'aborted', reason, code: snapshot.abortCode ?? 'aborted' });
  terminal.warn(`Pairing aborted: ${reason}. ${snapshot.nextStep}`);
  return false;
}
