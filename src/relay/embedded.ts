// The default relay is a loopback one at 127.0.0.1:8771, shared by everything on this machine:
// whoever needs it first starts it, and the others find it answering. A VS Code window, the CLI
// and `agent-pair mcp` start it as a process of its own that outlives them (node/localRelay.ts,
// running dist/relay.mjs); run from the sources, where there is no bundle, the CLI starts it
// in-process (ensureLocalRelay). Two starting at once race for the port; the loser uses the
// winner's.

import { PairError, errorMessage } from '../core/errors.js';
import { httpFetch, readCapped } from './transport.js';
import type { RunningRelay } from './node.js';

export const DEFAULT_RELAY_HOST = '127.0.0.1';
export const DEFAULT_RELAY_PORT = 8771;
export const DEFAULT_RELAY_URL = `http://${DEFAULT_RELAY_HOST}:${DEFAULT_RELAY_PORT}`;
/**
 * The exit status of a relay process whose store another relay process holds (a SQLite file is
 * written by one process): for the local relay, a racing window's process that will answer soon.
 */
export const EXIT_STORE_IN_USE = 3;
/** How long a health probe waits before deciding nothing answers. */
export const RELAY_PROBE_TIMEOUT_MS = 1500;

/**
 * What a relay process started with `--record FILE` (main.ts) writes there once it listens, and
 * removes when it exits gracefully: how another process finds it to stop it.
 */
export interface RelayProcessRecord {
  pid: number;
  url: string;
  /** RFC 3339. */
  startedAt: string;
}

export interface LocalRelay {
  url: string;
  /** Set when this process started the relay (and so must close it). */
  started?: RunningRelay;
}

/** The answer of a healthy relay's `GET /healthz`, and the most of an answer read to compare. */
const HEALTHY_ANSWER = 'ok';
const MAX_HEALTH_ANSWER_BYTES = 64;

/**
 * True if an Agent Pair relay answers `GET /healthz` at `url`. Over node:http (transport.ts):
 * host and join probe the local relay before anything else, and the global fetch would compile
 * undici for that one request.
 */
export async function relayAnswers(url: string): Promise<boolean> {
  try {
    const response = await httpFetch(new URL('/healthz', url).href, { method: 'GET', headers: {}, redirect: 'manual', signal: AbortSignal.timeout(RELAY_PROBE_TIMEOUT_MS) });
    return response.status === 200 && (await readCapped(response, MAX_HEALTH_ANSWER_BYTES)).trim() === HEALTHY_ANSWER;
  } catch {
    return false;
  }
}

/** Uses the loopback relay if one answers, else starts one in this process. */
export async function ensureLocalRelay(port = DEFAULT_RELAY_PORT): Promise<LocalRelay> {
  const url = `http://${DEFAULT_RELAY_HOST}:${port}`;
  if (await relayAnswers(url)) return { url };
  try {
    // Imported here, not above: the CLI reads this module's defaults for every command's help.
    const { startRelay } = await import('./node.js');
    const started = await startRelay({ host: DEFAULT_RELAY_HOST, port });
    return { url: started.url, started };
  } catch (error) {
    if (isAddressInUse(error) && (await relayAnswers(url))) return { url };
    throw new PairError('relay_unreachable', `No relay answers at ${url} and one could not be started there (${errorMessage(error)}). Free port ${port}, or pass a relay URL.`, { cause: error });
  }
}

/** The port is taken (by another relay that won the race, or by something else). */
export function isAddressInUse(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === 'EADDRINUSE';
}

/**
 * Why a relay could not listen, in the words both `agent-pair relay` and `node dist/relay.mjs`
 * print: a taken port says so and what to do, anything else keeps the system's reason.
 */
export function describeListenFailure(host: string, port: number, error: unknown): string {
  if (isAddressInUse(error)) return `${host}:${port} is already in use (a relay or another program listens there); stop it, or choose another port with --port`;
  return `could not listen on ${host}:${port}: ${errorMessage(error)}`;
}
