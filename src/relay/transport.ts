// How the relay client's requests travel: what it asks of a fetch (RelayFetch), a lighter one
// than the global fetch for the CLI (httpFetch), and the capped reading of an answer's body.
//
// httpFetch is node:http (node:https for an https relay) instead of the global fetch, whose
// first call compiles undici, all of it: about as long again as Node's own start-up, paid by
// every `send`, `inbox`, `host` and `join` before its first request (bench/cliStart.ts and
// bench/joining.ts). It does only what RelayFetch asks: one request, no redirect followed, the
// status, the headers and the body as bytes, and the signal ending the request, or the reading
// of its body, with the signal's reason (a timeout's is a TimeoutError, as fetch's is). Sockets
// are kept alive by an agent of this module's (as by Node's global one), unreferenced while idle,
// so a process with nothing left to do still exits. node:http itself loads at the first request
// or after connectAhead: the CLI's entry imports relay/embedded.ts, which probes with httpFetch, for
// its defaults, and `--version` makes no request.

import type { Agent, ClientRequest, ClientRequestArgs, IncomingHttpHeaders, IncomingMessage, RequestOptions } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/**
 * What the client asks of a fetch, and all it reads of the answer: the global fetch is one, and
 * httpFetch below a lighter one for the CLI. No redirect is followed (see send()); the signal
 * ends the request, or the reading of its body, with the signal's reason.
 */
export type RelayFetch = (url: string, init: RelayRequestInit) => Promise<RelayResponse>;

export interface RelayRequestInit {
  method: string;
  headers: Record<string, string>;
  body?: string;
  redirect: 'manual';
  signal: AbortSignal;
}

export interface RelayResponse {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  /** Leaving its iteration early (a break, a throw, return()) discards the rest. */
  readonly body: AsyncIterable<Uint8Array> | null;
}

/**
 * Opens a connection to the relay at `url` now, for the first request to it to take: a command
 * about to make one (send) calls this as soon as it knows the relay, and the connection (over
 * TLS, the handshake too) goes on while the command reads and writes its files and seals its
 * message, instead of after. Only node:net (node:tls) loads here; node:http loads at the
 * request, while the disk syncs what the command wrote before it. Only a head start: a
 * connection that failed or closed before a request took it is dropped, and the request opens
 * its own and reports a failure as always; one no request takes does not keep the process alive.
 */
export async function connectAhead(url: string): Promise<void> {
  const target = new URL(url);
  if (target.protocol !== 'http:' && target.protocol !== 'https:') return;
  const { protocol } = target;
  // As a request names its host: an IPv6 address without its brackets.
  const host = target.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = target.port === '' ? defaultPortOf(protocol) : Number(target.port);
  const key = aheadKey(protocol, host, port);
  if (openedAhead.has(key)) return;
  const net = process.getBuiltinModule('node:net');
  const socket =
    protocol === 'https:'
      ? // A name for TLS's SNI, as Node's agent gives one: never an IP address.
        process.getBuiltinModule('node:tls').connect({ host, port, ...(net.isIP(host) === 0 && { servername: host }) })
      : net.connect({ host, port });
  // Until a request takes it, its failure is no one's to report (the request's own connection reports it).
  socket.on('error', ignoreError);
  socket.unref();
  socket.once('close', () => {
    if (openedAhead.get(key) === socket) openedAhead.delete(key);
  });
  openedAhead.set(key, socket);
  // node:http, for the request, at the first moment the process waits (the disk's sync).
  setImmediate(() => {
    agentFor(protocol);
  });
  // Node connects at its next tick: once it has, the caller goes on.
  await new Promise<void>((resolve) => {
    process.nextTick(resolve);
  });
}

const ignoreError = (): void => undefined;

/** Connections opened ahead, by scheme and origin, until a request takes them. */
const openedAhead = new Map<string, Socket>();

const defaultPortOf = (protocol: 'http:' | 'https:'): number => (protocol === 'https:' ? 443 : 80);

/** The scheme and `host:port`, as connectAhead and a request's connection options name them. */
function aheadKey(protocol: 'http:' | 'https:', host: string | null | undefined, port: number | string | null | undefined): string {
  return `${protocol}//${host ?? 'localhost'}:${Number(port ?? defaultPortOf(protocol))}`;
}

const agents = new Map<'http:' | 'https:', Agent>();

function agentFor(protocol: 'http:' | 'https:'): Agent {
  let agent = agents.get(protocol);
  if (agent === undefined) {
    agent = createAgent(protocol);
    agents.set(protocol, agent);
  }
  return agent;
}

function createAgent(protocol: 'http:' | 'https:'): Agent {
  const Base: typeof Agent = protocol === 'https:' ? process.getBuiltinModule('node:https').Agent : process.getBuiltinModule('node:http').Agent;
  /** An agent whose first connection to an origin may have been opened ahead (connectAhead). */
  class TakingAheadAgent extends Base {
    override createConnection(options: ClientRequestArgs, callback?: (error: Error | null, stream: Duplex) => void): Duplex | null | undefined {
      const key = aheadKey(protocol, options.host, options.port);
      const socket = openedAhead.get(key);
      openedAhead.delete(key);
      if (socket === undefined || socket.destroyed) return super.createConnection(options, callback);
      socket.off('error', ignoreError);
      socket.ref();
      return socket;
    }
  }
  // As Node's global agent: sockets kept for the next request, unreferenced while idle.
  return new TakingAheadAgent({ keepAlive: true, scheduling: 'lifo', timeout: 5000 });
}

export const httpFetch: RelayFetch = (url, init) =>
  new Promise<RelayResponse>((resolve, reject) => {
    const { signal } = init;
    const abortReason = (): Error => (signal.reason instanceof Error ? signal.reason : new DOMException('This operation was aborted', 'AbortError'));
    if (signal.aborted) {
      reject(abortReason());
      return;
    }
    const target = new URL(url);
    const headers = init.body === undefined ? init.headers : { ...init.headers, 'content-length': String(Buffer.byteLength(init.body)) };
    // node:https (and TLS) load only for a relay that needs them.
    const protocol = target.protocol === 'https:' ? 'https:' : 'http:';
    const options: RequestOptions = { method: init.method, headers, agent: agentFor(protocol) };
    const outgoing: ClientRequest = process.getBuiltinModule(protocol === 'https:' ? 'node:https' : 'node:http').request(target, options);
    let answer: IncomingMessage | undefined;
    const onAbort = (): void => {
      if (answer === undefined) {
        outgoing.destroy();
        reject(abortReason());
      } else {
        // The body's reader sees the reason, as a fetch body's does.
        answer.destroy(abortReason());
      }
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const done = (): void => {
      signal.removeEventListener('abort', onAbort);
    };
    outgoing.once('error', (error) => {
      done();
      // As fetch does: the system error (ECONNREFUSED, ...) is the cause, where the client looks for its code.
      reject(new Error(`the request to ${target.origin} failed`, { cause: error }));
    });
    outgoing.once('response', (response) => {
      answer = response;
      response.once('close', done);
      resolve({ status: response.statusCode ?? 0, headers: { get: (name) => headerValue(response.headers, name) }, body: response });
    });
    outgoing.end(init.body);
  });

function headerValue(headers: IncomingHttpHeaders, name: string): string | null {
  const value = headers[name.toLowerCase()];
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Reads a response body up to `limit` bytes; a longer one is cut off and rejected. */
export async function readCapped(response: RelayResponse, limit: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (response.body === null) {
    if (declared > limit) throw new ResponseTooLarge(limit);
    return '';
  }
  if (declared > limit) {
    await response.body[Symbol.asyncIterator]().return?.();
    throw new ResponseTooLarge(limit);
  }
  const chunks: Uint8Array[] = [];
  let received = 0;
  // Leaving the loop by the throw discards the rest of the body.
  for await (const chunk of response.body) {
    received += chunk.length;
    if (received > limit) throw new ResponseTooLarge(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export class ResponseTooLarge extends Error {
  constructor(limit: number) {
    super(`the answer is over ${limit} bytes`);
  }
}
