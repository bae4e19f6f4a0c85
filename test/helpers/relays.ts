// Test relays of two kinds, so each test says which it needs:
// - `socketless`: the real Relay (server.ts: routes, validation, tokens, limits, long polls, the
//   memory store) reached through `relayFetch`, a fetch that hands the request to the relay's
//   handler in this process. No port, no socket, no HTTP parsing: core and MCP tests exercise
//   the protocol without paying for Node's HTTP stack on every request (and without its timing
//   under load). Its URL (`http://socketless-N.relay.invalid`) resolves nowhere, so a request
//   that bypassed relayFetch fails loudly instead of reaching something else; once closed, it
//   is refused at once, as a stopped relay's port is.
// - `socket`: node.ts's Node http server on a real loopback port (startRelay), for tests about
//   sockets, processes, proxies, redirects, and relays killed and restarted.
// The HTTP server keeps its own tests (test/relay) on real sockets.

import { Relay, type RelayStats, errorResponse } from '../../src/relay/server.js';
import { type RunningRelay, type StartRelayOptions, startRelay } from '../../src/relay/node.js';
import { createRelayConnector } from '../../src/relay/client.js';
import { type RelayFetch, httpFetch } from '../../src/relay/transport.js';
import type { Clock, RelayConnector } from '../../src/core/ports.js';
import { utf8 } from '../../src/core/bytes.js';

/** What a test uses of a relay, whichever kind it is. */
export interface TestRelay {
  /** The URL clients are given. */
  url: string;
  relay: Relay;
  stats(): RelayStats;
  close(): Promise<void>;
}

/** Socketless relays by origin, for relayFetch. */
const inProcess = new Map<string, Relay>();
/** Their host names end so; a closed one is refused as a stopped relay's port would be. */
const SOCKETLESS_DOMAIN = '.relay.invalid';
let socketlessCount = 0;

/** A relay reached in process through relayFetch (memory store); `clock` and `limits` as startRelay takes them. */
export function startSocketlessRelay(options: Pick<StartRelayOptions, 'limits' | 'clock'> = {}): TestRelay {
  const relay = new Relay({ ...(options.limits && { limits: options.limits }), ...(options.clock && { clock: options.clock }) });
  const url = `http://socketless-${++socketlessCount}${SOCKETLESS_DOMAIN}`;
  inProcess.set(url, relay);
  return {
    url,
    relay,
    stats: () => relay.stats(),
    close: async () => {
      inProcess.delete(url);
      relay.shutdown();
      await relay.store.close();
    },
  };
}

/** A relay of either kind; `socket` is startRelay on a loopback port. */
export async function startTestRelay(kind: 'socketless', options?: Pick<StartRelayOptions, 'limits' | 'clock'>): Promise<TestRelay>;
export async function startTestRelay(kind: 'socket', options?: StartRelayOptions): Promise<RunningRelay>;
export async function startTestRelay(kind: 'socketless' | 'socket', options: StartRelayOptions = {}): Promise<TestRelay> {
  return kind === 'socketless' ? startSocketlessRelay(options) : startRelay({ host: '127.0.0.1', port: 0, ...options });
}

/**
 * The relay client's fetch (RelayFetch), except that a request to a socketless relay is handed to
 * its handler in this process, as node.ts would after reading the request (the body limit of the
 * route, the caller's signal for long polls); a request anywhere else goes over the network by
 * httpFetch, node:http as the CLI sends it (the global fetch compiled undici at its first request,
 * about a tenth of a CPU-second in each test file whose sides talk to a relay on a socket).
 * The in-process answer is made as RelayFetch asks, the status, the headers and the body in one
 * chunk, not as a WHATWG Request and Response: their streams cost more CPU than the relay's
 * handler (a sixth of core/inbox's).
 */
export const relayFetch: RelayFetch = async (input, init) => {
  const url = new URL(input);
  const relay = inProcess.get(url.origin);
  if (relay === undefined && url.hostname.endsWith(SOCKETLESS_DOMAIN)) throw new TypeError('fetch failed', { cause: Object.assign(new Error(`connect ECONNREFUSED ${url.host}`), { code: 'ECONNREFUSED' }) });
  if (relay === undefined) return httpFetch(input, init);
  init.signal.throwIfAborted();
  const target = url.pathname + url.search;
  const body = init.body === undefined ? new Uint8Array() : utf8(init.body);
  const maxBodyBytes = relay.bodyLimit(init.method, target);
  const answer =
    body.byteLength > maxBodyBytes
      ? errorResponse('too_large', `The request body is over ${maxBodyBytes} bytes; the relay does not read it.`)
      : await abortable(Promise.resolve(relay.handle({ method: init.method, target, authorization: init.headers['authorization'], body, clientAddress: '127.0.0.1', signal: init.signal })), init.signal);
  return {
    status: answer.status,
    headers: { get: (name) => answer.headers[name.toLowerCase()] ?? null },
    body: answer.status === 204 ? null : oneChunk(utf8(answer.body)),
  };
};

/** The answer's body as a reader of RelayResponse iterates it: one chunk, there already. */
// eslint-disable-next-line @typescript-eslint/require-await -- the body is whole already; a reader iterates it with for await
async function* oneChunk(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

/** Rejects with the signal's reason once it aborts, as fetch does, whatever the relay is still doing. */
function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      reject(signal.reason instanceof Error ? signal.reason : new DOMException('This operation was aborted', 'AbortError'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    void work.then(resolve, reject).finally(() => {
      signal.removeEventListener('abort', onAbort);
    });
  });
}

/**
 * The pauses between a test side's attempts at one relay call (the backoff after a refused
 * connection, a 503's Retry-After) end at once: the retries are made as the product makes them,
 * without the quarter of a second to two seconds of real time each call spent waiting (a relay
 * that stays unreachable cost a call 1 to 1.75 s). test/relay/client.test.ts times the real pauses.
 */
const pausesEndAtOnce: Pick<Clock, 'sleep'> = { sleep: () => Promise.resolve() };

/** The relay connector tests give their sides: socketless relays in process, any other URL over the network. */
export function testRelayConnector(): RelayConnector {
  return createRelayConnector({ fetch: relayFetch, clock: pausesEndAtOnce });
}
