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
// or connectWhenIdle: the CLI's entry imports relay/embedded.ts, which probes with httpFetch, for
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
 * Opens a connection to the relay at `url` at this process's next idle moment, for the first
 * request to it to take: a command about to make one (send) calls this first, and Node loads
 * node:http, runs its client's code for the first time and connects while the disk syncs what
 * the command writes before its request, instead of after it (over TLS, the handshake too). Only
 * a head start: a connection that failed or closed before a request took it is dropped, and the
 * request opens its own and reports a failure as always; one no request takes does not keep the
 * process alive.
 */
export function connectWhenIdle(url: string): void {
  setImmediate(() => {
    const target = new URL(url);
    if (target.protocol === 'http:' || target.protocol === 'https:') agentFor(target.protocol).connectAhead(target);
  });
}

/** An agent whose first connection to an origin may have been opened ahead (connectWhenIdle). */
interface AgentConnectingAhead extends Agent {
  connectAhead(target: URL): void;
}

const agents = new Map<'http:' | 'https:', AgentConnectingAhead>();

function agentFor(protocol: 'http:' | 'https:'): AgentConnectingAhead {
  let agent = agents.get(protocol);
  if (agent === undefined) {
    agent = createAgent(protocol);
    agents.set(protocol, agent);
  }
  return agent;
}

function createAgent(protocol: 'http:' | 'https:'): AgentConnectingAhead {
  const Base: typeof Agent = protocol === 'https:' ? process.getBuiltinModule('node:https').Agent : process.getBuiltinModule('node:http').Agent;
  const defaultPort = protocol === 'https:' ? 443 : 80;
  /** `host:port` as a request's connection options name them, and connectAhead's target. */
  const originOf = (host: string | null | undefined, port: number | string | null | undefined): string => `${host ?? 'localhost'}:${Number(port ?? defaultPort)}`;
  const ignoreError = (): void => undefined;
  class ConnectingAheadAgent extends Base implements AgentConnectingAhead {
    /** Connections opened ahead, by origin, until a request takes them. */
    private readonly ahead = new Map<string, Duplex>();

    connectAhead(target: URL): void {
      // As a request names its host: an IPv6 address without its brackets.
      const host = target.hostname.replace(/^\[(.*)\]$/, '$1');
      const port = target.port === '' ? defaultPort : Number(target.port);
      const origin = originOf(host, port);
      if (this.ahead.has(origin)) return;
      // A name for TLS's SNI, as Node's agent gives one: never an IP address.
      const servername = protocol === 'https:' && process.getBuiltinModule('node:net').isIP(host) === 0 ? host : undefined;
      const socket = super.createConnection({ host, port, ...(servername !== undefined && { servername }) });
      if (!socket) return;
      // Until a request takes it, its failure is no one's to report (the request's own connection reports it).
      socket.on('error', ignoreError);
      (socket as Partial<Socket>).unref?.();
      socket.once('close', () => {
        if (this.ahead.get(origin) === socket) this.ahead.delete(origin);
      });
      this.ahead.set(origin, socket);
    }

    override createConnection(options: ClientRequestArgs, callback?: (error: Error | null, stream: Duplex) => void): Duplex | null | undefined {
      const origin = originOf(options.host, options.port);
      const socket = this.ahead.get(origin);
      this.ahead.delete(origin);
      if (socket === undefined || socket.destroyed) return super.createConnection(options, callback);
      socket.off('error', ignoreError);
      (socket as Partial<Socket>).ref?.();
      return socket;
    }
  }
  // As Node's global agent: sockets kept for the next request, unreferenced while idle.
  return new ConnectingAheadAgent({ keepAlive: true, scheduling: 'lifo', timeout: 5000 });
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
