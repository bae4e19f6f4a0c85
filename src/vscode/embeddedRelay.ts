// Which relay a new pairing goes through. With the setting `agentPair.relayUrl` empty it is
// the loopback relay at 127.0.0.1:8771, shared by every window (and the CLI) on this machine:
// the first that needs it finds nothing answering GET /healthz and starts it in its own
// extension host; the others find it answering. Two starting at once race for the port and
// the loser uses the winner's. When the window that runs it closes, the relay goes with it; the
// others notice on their next use (the probe fails) and one of them starts a new one.
//
// Nothing here imports `vscode`: the setting comes in as a function, so this is tested with a
// real relay on a free port.

import { PairError, badInput, isPairError } from '../core/errors.js';
import { normaliseRelayUrl } from '../relay/client.js';
import { DEFAULT_RELAY_HOST, DEFAULT_RELAY_PORT, type LocalRelay, ensureLocalRelay, relayAnswers } from '../relay/embedded.js';
import type { RunningRelay } from '../relay/node.js';
import type { RelayConnector, RelayPort } from '../core/ports.js';

export interface RelayChoiceOptions {
  /** The current value of `agentPair.relayUrl` (read on every use, so a change applies at once). */
  configuredUrl: () => string;
  /** The loopback port of the shared relay; tests pass a free one. */
  port?: number;
  log: (line: string) => void;
}

export interface LocalRelayStatus {
  url: string;
  /** True if this window runs it (and so stops it when it closes). */
  runsHere: boolean;
}

export class RelayChoice {
  private readonly port: number;
  readonly localUrl: string;
  private running: RunningRelay | undefined;
  /** One probe-or-start at a time, so concurrent pairings never race each other for the port. */
  private ensuring: Promise<LocalRelayStatus> | undefined;

  constructor(private readonly options: RelayChoiceOptions) {
    this.port = options.port ?? DEFAULT_RELAY_PORT;
    this.localUrl = `http://${DEFAULT_RELAY_HOST}:${this.port}`;
  }

  /** The configured relay, normalised, or undefined when the setting is empty (use the local one). */
  configured(): string | undefined {
    const value = this.options.configuredUrl().trim();
    if (value === '') return undefined;
    try {
      return normaliseRelayUrl(value);
    } catch (error) {
      if (isPairError(error, 'bad_input')) throw badInput('The setting agentPair.relayUrl', 'is not a relay URL', 'an http:// or https:// URL like https://relay.example.com, or empty for the local relay');
      throw error;
    }
  }

  /**
   * The relay for a new pairing: the configured one, else the local one. Opening a pairing on
   * the local one starts it if needed (see startingLocalRelay).
   */
  forNewPairing(): string {
    return this.configured() ?? this.localUrl;
  }

  /** True if `url` is the shared loopback relay (which this window may restart). */
  isLocal(url: string): boolean {
    return normaliseRelayUrl(url) === this.localUrl;
  }

  /** Makes sure the loopback relay answers: probes it, and starts it here if nothing does. */
  ensureLocal(): Promise<LocalRelayStatus> {
    this.ensuring ??= this.probeOrStart().finally(() => {
      this.ensuring = undefined;
    });
    return this.ensuring;
  }

  /** The loopback relay if it answers, without starting one. */
  async localStatus(): Promise<LocalRelayStatus | undefined> {
    if (this.running) return { url: this.running.url, runsHere: true };
    return (await relayAnswers(this.localUrl)) ? { url: this.localUrl, runsHere: false } : undefined;
  }

  /** Stops the relay if this window runs it; false if it does not. */
  async stopLocal(): Promise<boolean> {
    const running = this.running;
    if (!running) return false;
    this.running = undefined;
    await running.close();
    this.options.log(`Stopped the local relay at ${running.url}.`);
    return true;
  }

  dispose(): Promise<void> {
    return this.stopLocal().then(() => undefined);
  }

  private async probeOrStart(): Promise<LocalRelayStatus> {
    if (this.running) return { url: this.running.url, runsHere: true };
    let local: LocalRelay;
    try {
      local = await ensureLocalRelay(this.port);
    } catch (error) {
      if (isPairError(error)) throw error;
      throw new PairError('relay_unreachable', `The local relay could not be started at ${this.localUrl}.`, { cause: error });
    }
    if (local.started) {
      this.running = local.started;
      this.options.log(`Started the local relay at ${local.url}; it runs while this window is open.`);
      return { url: local.url, runsHere: true };
    }
    this.options.log(`Using the local relay at ${local.url}, run by another window or process.`);
    return { url: local.url, runsHere: false };
  }
}

/**
 * A connector whose ports to the loopback relay make sure it runs before anything that starts
 * a pairing or an inbox there (open, join, allocate), whoever calls it: a command, an agent over
 * MCP, or a finalize binding the identity's inbox. Later calls of a pairing go straight through;
 * if the relay vanished meanwhile they fail, and the pairing driver restarts it.
 */
export function startingLocalRelay(inner: RelayConnector, relays: RelayChoice): RelayConnector {
  return (url) => {
    const port = inner(url);
    if (!relays.isLocal(port.url)) return port;
    const ensure = async (): Promise<void> => {
      await relays.ensureLocal();
    };
    const wrapped: RelayPort = {
      url: port.url,
      openHost: async () => (await ensure(), port.openHost()),
      joinGuest: async (nameplate) => (await ensure(), port.joinGuest(nameplate)),
      allocateSlot: async () => (await ensure(), port.allocateSlot()),
      put: (pairId, token, field, value) => port.put(pairId, token, field, value),
      get: (pairId, token, poll) => port.get(pairId, token, poll),
      grant: (slotId, ownerToken) => port.grant(slotId, ownerToken),
    };
    return wrapped;
  };
}
