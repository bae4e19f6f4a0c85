// How the relay client's requests travel: what it asks of a fetch (RelayFetch), a lighter one
// than the global fetch for the CLI (httpFetch), and the capped reading of an answer's body.
//
// httpFetch is node:http (node:https for an https relay) instead of the global fetch, whose
// first call compiles undici, all of it: about as long again as Node's own start-up, paid by
// every `send`, `inbox`, `host` and `join` before its first request (bench/cliStart.ts and
// bench/joining.ts). It does only what RelayFetch asks: one request, no redirect followed, the
// status, the headers and the body as bytes, and the signal ending the request, or the reading
// of its body, with the signal's reason (a timeout's is a TimeoutError, as fetch's is). Sockets
// are kept alive by Node's global agent, unreferenced while idle, so a process with nothing
// left to do still exits. node:http itself loads at the first request: the CLI's entry imports
// relay/embedded.ts, which probes with httpFetch, for its defaults, and `--version` makes no
// request.

import type { ClientRequest, IncomingHttpHeaders, IncomingMessage, RequestOptions } from 'node:http';

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
 * Loads node:http at this process's next idle moment instead of at its first request: a command
 * about to make one (send) calls this first, and Node compiles node:http (a few ms) while the
 * disk syncs what the command writes before its request, instead of after.
 */
export function loadHttpWhenIdle(): void {
  setImmediate(() => process.getBuiltinModule('node:http'));
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
    const options: RequestOptions = { method: init.method, headers };
    // node:https (and TLS) load only for a relay that needs them.
    const outgoing: ClientRequest = process.getBuiltinModule(target.protocol === 'https:' ? 'node:https' : 'node:http').request(target, options);
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
