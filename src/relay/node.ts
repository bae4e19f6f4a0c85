// The Node adapter: an `http` server in front of the socket-free Relay of server.ts. It reads
// request bodies under the size limit (a declared Content-Length over it is refused before a
// byte is read, a streamed body is cut off where it crosses it), turns dropped connections
// into abort signals so long polls let go of their slots, answers requests Node cannot parse
// with the protocol's JSON errors, takes the client address from X-Forwarded-For only from
// trusted proxies, serves /metrics when asked to, and closes gracefully.

import { type IncomingMessage, type Server, type ServerResponse, STATUS_CODES, createServer } from 'node:http';
import { type AddressInfo, BlockList, type Socket, isIP } from 'node:net';
import { METRICS_PATH, type RelayLimits, resolveLimits } from './contract.js';
import { trustedProxies } from './trustProxy.js';
import type { RelayMetrics } from './metrics.js';
import { type ClientGoneSignal, Relay, type RelayResponse, type RelayStats, errorResponse, routeLabel } from './server.js';
import type { RelayStore } from './store.js';
import { type StoreChoice, describeStore, parseStoreOption } from './storeUrl.js';
import { errorMessage } from '../core/errors.js';

export interface StartRelayOptions {
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** Port; 0 (the default) picks a free one. */
  port?: number;
  limits?: Partial<RelayLimits>;
  /** Milliseconds since the epoch for slot lifetimes and quarantines; long polls use real timers. */
  clock?: { now(): number };
  /** Where an unexpected failure (a relay bug, a listen socket error) is reported; default stderr. */
  log?: (line: string) => void;
  /**
   * Where state lives, as `--store` says it: `sqlite:PATH` (one file that survives restarts),
   * `redis://HOST:PORT[/DB]` (shared by relay processes), or `memory` (the default).
   */
  store?: string;
  /**
   * Proxies (CIDRs or addresses) whose X-Forwarded-For names the client: a request from one of
   * them is counted under the last address in the header that is not itself a trusted proxy.
   */
  trustProxy?: readonly string[];
  /** Serve `GET /metrics` (Prometheus text). */
  metrics?: boolean;
}

export interface RunningRelay {
  /** `http://host:port`, without a trailing slash. */
  url: string;
  /** Where its state lives, for a start-up line: "SQLite file /path", "Redis at redis://…" (no password). */
  storeDescription: string;
  host: string;
  port: number;
  server: Server;
  relay: Relay;
  stats(): RelayStats;
  /** Stops accepting, answers pending long polls, and resolves once every connection closed. */
  close(): Promise<void>;
}

/** Slow or stalled clients: the whole request head within 10 s, and its body within 30 s. */
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;
/** How often expired slots are swept when no request does it. */
const SWEEP_INTERVAL_MS = 1_000;
/** After close() has answered the long polls, connections get this long to finish before being cut. */
const CLOSE_GRACE_MS = 2_000;

export async function startRelay(options: StartRelayOptions = {}): Promise<RunningRelay> {
  const limits = resolveLimits(options.limits);
  const choice = parseStoreOption(options.store ?? '');
  const store = await openStore(choice, limits);
  let metrics: RelayMetrics | undefined;
  if (options.metrics === true) {
    const { createRelayMetrics } = await import('./metrics.js');
    metrics = createRelayMetrics();
  }
  const relay = new Relay({ limits, ...(options.clock && { clock: options.clock }), ...(store && { store: () => store }), ...(metrics && { observer: metrics.observer }) });
  metrics?.attach(relay);
  const proxies = trustedProxies(options.trustProxy ?? []);
  const log = options.log ?? ((line: string) => process.stderr.write(`relay: ${line}\n`));
  let closing = false;

  const server = createServer({ headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, connectionsCheckingInterval: 1_000 });
  const respond = (req: IncomingMessage, res: ServerResponse, response: RelayResponse): void => {
    if (metrics && !res.headersSent && !res.destroyed) metrics.observer.answered(routeLabel(req.method ?? 'GET', req.url ?? '/'), response.status);
    send(res, closing ? { ...response, headers: { ...response.headers, connection: 'close' } } : response);
  };
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const method = req.method ?? 'GET';
    const target = req.url ?? '/';
    if (metrics && (target === METRICS_PATH || target.startsWith(`${METRICS_PATH}?`))) {
      serveMetrics(metrics, req, (response) => {
        respond(req, res, response);
      });
      return;
    }
    const maxBodyBytes = relay.bodyLimit(method, target);
    if (declaredLength(req) > maxBodyBytes) {
      metrics?.observer.answered(routeLabel(method, target), 413);
      respondTooLarge(req, res, maxBodyBytes);
      return;
    }
    const failed = (error: unknown): void => {
      log(`request failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      if (!res.headersSent) respond(req, res, errorResponse('internal', 'The relay failed on this request; try again.'));
    };
    // Callbacks and one promise (the relay's answer) per request, not an async function awaiting
    // another: each await was a promise and a microtask more on every request.
    const serve = (body: Uint8Array | 'too_large'): void => {
      try {
        answer(body);
      } catch (error) {
        failed(error);
      }
    };
    const answer = (body: Uint8Array | 'too_large'): void => {
      if (body === 'too_large') {
        metrics?.observer.answered(routeLabel(method, target), 413);
        respondTooLarge(req, res, maxBodyBytes);
        return;
      }
      // Only a long poll (a GET with a query: ?after=…&wait=…) is held, so only it needs to hear
      // that the client went away; every other request is answered within a store call or two
      // (an abort signal per request cost 3% of the relay's CPU).
      const clientGone = method === 'GET' && target.includes('?') ? new ResponseClosed(res) : undefined;
      const response = relay.handle({ method, target, authorization: req.headers.authorization, body, clientAddress: clientAddress(req, proxies), signal: clientGone });
      // The memory engine answers most requests at once: then no promise between the request and its answer.
      if (response instanceof Promise) {
        response
          .then((answered) => {
            if (!clientGone?.aborted) respond(req, res, answered);
          })
          .catch(failed);
      } else if (!clientGone?.aborted) {
        respond(req, res, response);
      }
    };
    // A request without Content-Length or Transfer-Encoding has no body (RFC 9112 6.3): nothing
    // to wait for (most GETs and DELETEs, and every long poll).
    if (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined) serve(EMPTY_BODY);
    else readBody(req, maxBodyBytes, serve);
  };
  server.on('request', handle);
  // Every open connection, for close() to cut those that never sent a byte (see there).
  const connections = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
  });
  // A request Node cannot parse (malformed head, headers over the size limit, a head that took
  // too long) gets the protocol's JSON error instead of Node's empty answer, then the socket closes.
  server.on('clientError', (error: Error & { code?: string }, socket: Socket) => {
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 413 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    metrics?.observer.answered('malformed', status);
    answerUnparsed(socket, status, error.code);
  });
  // `Expect: 100-continue`: refuse an oversized body before the client even sends it.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    const maxBodyBytes = relay.bodyLimit(req.method ?? 'GET', req.url ?? '/');
    if (declaredLength(req) > maxBodyBytes) {
      respondTooLarge(req, res, maxBodyBytes);
      return;
    }
    res.writeContinue();
    handle(req, res);
  });

  try {
    await listen(server, options);
  } catch (error) {
    await relay.store.close();
    throw error;
  }
  // After listening, a socket error (say EMFILE on accept) is reported, never a crash.
  server.on('error', (error) => {
    log(`server error: ${error.message}`);
  });

  const sweeper = setInterval(() => {
    relay.sweep().catch((error: unknown) => {
      log(`sweep failed: ${errorMessage(error)}`);
    });
  }, SWEEP_INTERVAL_MS);
  sweeper.unref();

  const address = server.address() as AddressInfo;
  const host = urlHost(address.address);
  let closed: Promise<void> | undefined;
  return {
    url: `http://${host}:${address.port}`,
    storeDescription: describeStore(choice),
    host,
    port: address.port,
    server,
    relay,
    stats: () => relay.stats(),
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        closing = true;
        clearInterval(sweeper);
        server.close(() => {
          clearTimeout(force);
          void relay.store.close().then(resolve);
        });
        relay.shutdown();
        server.closeIdleConnections();
        // A connection that has sent nothing has no request to finish, as one kept alive between
        // requests has none (closeIdleConnections cut those), but Node counts it busy until its
        // first request ends: it held the close for the whole grace. Clients open one ahead of a
        // request (fetch keeps the connection it made for a request aborted while it connected).
        for (const socket of connections) if (socket.bytesRead === 0) socket.destroy();
        const force = setTimeout(() => {
          server.closeAllConnections();
        }, CLOSE_GRACE_MS);
        force.unref();
      });
      return closed;
    },
  };
}

/** The store engine `choice` names; each is loaded only when asked for (the memory relay loads neither SQLite nor the Redis client). */
async function openStore(choice: StoreChoice, limits: RelayLimits): Promise<RelayStore | undefined> {
  switch (choice.engine) {
    case 'memory':
      return undefined;
    case 'sqlite': {
      const { openSqliteStore } = await import('./sqliteStore.js');
      return openSqliteStore(choice.path, limits);
    }
    case 'redis': {
      const { connectRedisStore } = await import('./redisStore.js');
      return connectRedisStore(choice.url, limits);
    }
  }
}

function serveMetrics(metrics: RelayMetrics, req: IncomingMessage, respond: (response: RelayResponse) => void): void {
  req.resume();
  if (req.method !== 'GET') {
    respond(errorResponse('method_not_allowed', 'This route takes GET only.', { allow: 'GET' }));
    return;
  }
  void metrics.render().then(({ contentType, body }) => {
    respond({ status: 200, headers: { 'content-type': contentType, 'cache-control': 'no-store' }, body });
  });
}

/** Writes a JSON error on a socket whose request Node could not parse, and closes it. */
function answerUnparsed(socket: Socket, status: number, code: string | undefined): void {
  if (code === 'ECONNRESET' || !socket.writable || (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true) {
    socket.destroy();
    return;
  }
  const response =
    status === 413
      ? errorResponse('too_large', 'The request headers are over the size limit; the relay does not read them.')
      : status === 408
        ? errorResponse('bad_request', 'The request head did not arrive in time.')
        : errorResponse('bad_request', `The request is not valid HTTP/1.1${code === undefined ? '' : ` (${code})`}; expected a request line, headers and a body as RFC 9112 defines.`);
  const head = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`, ...Object.entries({ ...response.headers, connection: 'close', 'content-length': String(Buffer.byteLength(response.body)) }).map(([name, value]) => `${name}: ${value}`)];
  socket.end(`${head.join('\r\n')}\r\n\r\n${response.body}`);
}

function isTrusted(proxies: BlockList, address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped !== undefined) return proxies.check(mapped, 'ipv4') || proxies.check(address, 'ipv6');
  return proxies.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * The client's address: the connection's peer, or, when that peer is a trusted proxy, the last
 * address in X-Forwarded-For that is not a trusted proxy (entries left of it could be forged by
 * the client). A malformed entry stops the walk at the proxy that added it.
 */
export function clientAddress(req: IncomingMessage, proxies: BlockList): string {
  let address = req.socket.remoteAddress ?? 'unknown';
  const header = req.headers['x-forwarded-for'];
  if (header === undefined || !isTrusted(proxies, address)) return address;
  const hops = (Array.isArray(header) ? header.join(',') : header).split(',').map((hop) => hop.trim());
  for (let index = hops.length - 1; index >= 0; index--) {
    const hop = hops[index] ?? '';
    if (isIP(hop) === 0) break;
    address = hop;
    if (!isTrusted(proxies, hop)) break;
  }
  return address;
}

function listen(server: Server, options: StartRelayOptions): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function send(res: ServerResponse, response: RelayResponse): void {
  if (res.headersSent || res.destroyed) return;
  // A flat [name, value, …] list: no object copied per response for Node to walk again.
  const head: string[] = [];
  for (const name in response.headers) head.push(name, response.headers[name] ?? '');
  // RFC 9110 section 8.6: no Content-Length on a 204, which has no content (Node sends none either).
  if (response.status !== 204) head.push('content-length', String(Buffer.byteLength(response.body)));
  res.writeHead(response.status, head);
  res.end(response.body);
}

const EMPTY_BODY = new Uint8Array(0);

/**
 * Aborted once a response closes before it was sent (its client went away): what a long poll
 * listens to. An AbortController per poll cost more than the rest of the poll's own work, and
 * most polls of a busy relay are answered at once, so the response's 'close' is listened to
 * only once the poll waits (the first listener); until then `aborted` is read off the response.
 */
class ResponseClosed implements ClientGoneSignal {
  private closed = false;
  private listeners: (() => void)[] | undefined;

  constructor(private readonly res: ServerResponse) {}

  get aborted(): boolean {
    return this.closed || (this.res.destroyed && !this.res.writableFinished);
  }

  /** Each listener is called at most once, as with `{ once: true }` on an AbortSignal. */
  addEventListener(_type: 'abort', listener: () => void): void {
    if (this.listeners === undefined) {
      this.listeners = [];
      this.res.once('close', () => {
        if (this.res.writableFinished) return;
        this.closed = true;
        for (const waiting of this.listeners?.splice(0) ?? []) waiting();
      });
    }
    this.listeners.push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const index = this.listeners?.indexOf(listener) ?? -1;
    if (index >= 0) this.listeners?.splice(index, 1);
  }
}

/** The declared Content-Length (Node has already rejected malformed ones), or 0 without one. */
function declaredLength(req: IncomingMessage): number {
  const header = req.headers['content-length'];
  return header === undefined ? 0 : Number(header);
}

/**
 * 413 and close the connection: the rest of the body is never read, and closing is the only way
 * to stop a client that keeps sending it.
 */
function respondTooLarge(req: IncomingMessage, res: ServerResponse, maxBodyBytes: number): void {
  send(res, errorResponse('too_large', `The request body is over ${maxBodyBytes} bytes; the relay does not read it.`, { connection: 'close' }));
  res.once('finish', () => {
    req.socket.destroySoon();
  });
}

/**
 * Calls `done` once with the body, or 'too_large' once it crosses the limit (reading stops
 * there); never for a body its client gave up on ('end' never comes, and nothing was started
 * that would need ending). Most bodies come in one chunk, which is handed on as it is. Two
 * listeners, never removed (the request is done with either way; a flag keeps `done` to one
 * call): no 'error' listener, since Node emits a request's errors only to listeners.
 */
function readBody(req: IncomingMessage, maxBodyBytes: number, done: (result: Uint8Array | 'too_large') => void): void {
  let first: Buffer | undefined;
  let more: Buffer[] | undefined;
  let received = 0;
  let finished = false;
  const finish = (result: Uint8Array | 'too_large'): void => {
    if (finished) return;
    finished = true;
    done(result);
  };
  req.on('data', (chunk: Buffer) => {
    if (finished) return;
    received += chunk.length;
    if (received > maxBodyBytes) {
      req.pause();
      finish('too_large');
    } else if (first === undefined) {
      first = chunk;
    } else {
      (more ??= [first]).push(chunk);
    }
  });
  req.on('end', () => {
    finish(more === undefined ? (first ?? EMPTY_BODY) : Buffer.concat(more));
  });
}

/** The host part of the relay URL: a wildcard bind is reached over loopback; IPv6 in brackets. */
function urlHost(address: string): string {
  if (address === '0.0.0.0') return '127.0.0.1';
  if (address === '::') return '[::1]';
  return address.includes(':') ? `[${address}]` : address;
}
