// The Node adapter: an `http` server in front of the socket-free Relay of server.ts. It reads
// request bodies under the size limit (a declared Content-Length over it is refused before a
// byte is read, a streamed body is cut off where it crosses it), turns dropped connections
// into abort signals so long polls let go of their slots, and closes gracefully.

import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RelayLimits } from './contract.js';
import { Relay, type RelayResponse, type RelayStats, errorResponse } from './server.js';

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
}

export interface RunningRelay {
  /** `http://host:port`, without a trailing slash. */
  url: string;
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
  const relay = new Relay({ ...(options.limits && { limits: options.limits }), ...(options.clock && { clock: options.clock }) });
  const log = options.log ?? ((line: string) => process.stderr.write(`relay: ${line}\n`));
  let closing = false;

  const server = createServer({ headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, connectionsCheckingInterval: 1_000 });
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const respond = (response: RelayResponse): void => {
      send(res, closing ? { ...response, headers: { ...response.headers, connection: 'close' } } : response);
    };
    const maxBodyBytes = relay.bodyLimit(req.method ?? 'GET', req.url ?? '/');
    if (declaredLength(req) > maxBodyBytes) {
      respondTooLarge(req, res, maxBodyBytes);
      return;
    }
    void readBody(req, maxBodyBytes).then(async (body) => {
      if (body === 'too_large') {
        respondTooLarge(req, res, maxBodyBytes);
        return;
      }
      if (body === 'aborted') return;
      const method = req.method ?? 'GET';
      // Only a GET can be held (a long poll); any other request is answered in the same turn of
      // the event loop, so it needs no abort signal (one per request cost 3% of the relay's CPU).
      const clientGone = method === 'GET' ? new AbortController() : undefined;
      if (clientGone) {
        res.once('close', () => {
          if (!res.writableFinished) clientGone.abort();
        });
      }
      const response = await relay.handle({
        method,
        target: req.url ?? '/',
        authorization: req.headers.authorization,
        body,
        clientAddress: req.socket.remoteAddress ?? 'unknown',
        ...(clientGone && { signal: clientGone.signal }),
      });
      if (!clientGone?.signal.aborted) respond(response);
    }).catch((error: unknown) => {
      log(`request failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      if (!res.headersSent) respond(errorResponse('internal', 'The relay failed on this request; try again.'));
    });
  };
  server.on('request', handle);
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

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  // After listening, a socket error (say EMFILE on accept) is reported, never a crash.
  server.on('error', (error) => {
    log(`server error: ${error.message}`);
  });

  const sweeper = setInterval(() => {
    relay.sweep();
  }, SWEEP_INTERVAL_MS);
  sweeper.unref();

  const address = server.address() as AddressInfo;
  const host = urlHost(address.address);
  let closed: Promise<void> | undefined;
  return {
    url: `http://${host}:${address.port}`,
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
          resolve();
        });
        relay.shutdown();
        server.closeIdleConnections();
        const force = setTimeout(() => {
          server.closeAllConnections();
        }, CLOSE_GRACE_MS);
        force.unref();
      });
      return closed;
    },
  };
}

function send(res: ServerResponse, response: RelayResponse): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(response.status, { ...response.headers, 'content-length': String(Buffer.byteLength(response.body)) });
  res.end(response.body);
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

/** The body, or 'too_large' once it crosses the limit (reading stops there), or 'aborted'. */
function readBody(req: IncomingMessage, maxBodyBytes: number): Promise<Uint8Array | 'too_large' | 'aborted'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const finish = (result: Uint8Array | 'too_large' | 'aborted'): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAborted);
      req.off('close', onClose);
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > maxBodyBytes) {
        req.pause();
        finish('too_large');
      } else {
        chunks.push(chunk);
      }
    };
    const onEnd = (): void => {
      finish(Buffer.concat(chunks));
    };
    const onAborted = (): void => {
      finish('aborted');
    };
    const onClose = (): void => {
      if (!req.complete) finish('aborted');
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onAborted);
    req.on('close', onClose);
  });
}

/** The host part of the relay URL: a wildcard bind is reached over loopback; IPv6 in brackets. */
function urlHost(address: string): string {
  if (address === '0.0.0.0') return '127.0.0.1';
  if (address === '::') return '[::1]';
  return address.includes(':') ? `[${address}]` : address;
}
