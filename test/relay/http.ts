// Helpers for the relay tests: plain HTTP calls against a real relay on loopback, and a clock
// the tests move forward to reach slot lifetimes and quarantines without waiting.

import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';

export class TestClock {
  ms = Date.UTC(2026, 10, 25, 12, 0, 0);
  readonly now = (): number => this.ms;
  advanceSeconds(seconds: number): void {
    this.ms += seconds * 1000;
  }
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body, or undefined if it is not JSON. */
  json: unknown;
}

/**
 * The tests' requests go through node:http with keep-alive, as the CLI's do (src/relay/transport.ts),
 * not the global fetch: a request through undici's fetch cost about three times the CPU (3,000
 * opens against an in-process relay: 3.3 CPU-s through fetch, 1.0 through node:http, both sides
 * counted), and the relay suites make thousands. Idle sockets are unreferenced, so they keep no
 * test process alive.
 */
const keptAlive = new Agent({ keepAlive: true });

/** Methods that carry a body: sent without one, they say Content-Length 0, as fetch does. */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

export async function call(
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; raw?: string | Uint8Array; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
  let body: string | Uint8Array | undefined = options.raw;
  if (body === undefined && options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  if (body === undefined && BODY_METHODS.has(method)) body = '';
  if (body !== undefined) headers['content-length'] = String(typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength);
  const { status, rawHeaders, bytes } = await new Promise<{ status: number; rawHeaders: string[]; bytes: Buffer }>((resolve, reject) => {
    const outgoing = request(baseUrl + path, { method, headers, agent: keptAlive }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.once('error', reject);
      response.once('end', () => {
        resolve({ status: response.statusCode ?? 0, rawHeaders: response.rawHeaders, bytes: Buffer.concat(chunks) });
      });
    });
    outgoing.once('error', reject);
    outgoing.end(body);
  });
  const answerHeaders = new Headers();
  for (let i = 0; i < rawHeaders.length; i += 2) answerHeaders.append(rawHeaders[i] ?? '', rawHeaders[i + 1] ?? '');
  const text = bytes.toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status, headers: answerHeaders, text, json };
}

/** Asserts a protocol error answer: the status, `{"error":{"code","message"}}`, and optionally words in the message. */
export function assertError(answer: Answer, status: number, code: string, messageIncludes?: RegExp): void {
  assert.equal(answer.status, status, `expected ${status} ${code}, got ${answer.status}: ${answer.text}`);
  assert.match(answer.headers.get('content-type') ?? '', /^application\/json/);
  const body = answer.json as { error?: { code?: unknown; message?: unknown } } | undefined;
  assert.deepEqual(Object.keys(body ?? {}), ['error']);
  const error = body?.error;
  assert.equal(error?.code, code);
  const message = error.message;
  assert.equal(typeof message, 'string');
  assert.ok((message as string).length > 0);
  if (messageIncludes) assert.match(message as string, messageIncludes);
}

export interface Opened {
  pair_id: string;
  nameplate: string;
  token: string;
  expires_at: string;
}
export interface Joined {
  pair_id: string;
  token: string;
  expires_at: string;
}
export interface View {
  version: number;
  expires_at: string;
  self: Record<string, string>;
  peer: Record<string, string>;
}

export async function openHost(baseUrl: string): Promise<Opened> {
  const answer = await call(baseUrl, 'POST', '/v1/pair', { body: { role: 'host' } });
  assert.equal(answer.status, 201, answer.text);
  return answer.json as Opened;
}

export async function joinGuest(baseUrl: string, nameplate: string): Promise<Joined> {
  const answer = await call(baseUrl, 'POST', '/v1/pair', { body: { role: 'guest', nameplate } });
  assert.equal(answer.status, 201, answer.text);
  return answer.json as Joined;
}

export async function openPair(baseUrl: string): Promise<{ host: Opened; guest: Joined }> {
  const host = await openHost(baseUrl);
  return { host, guest: await joinGuest(baseUrl, host.nameplate) };
}

export async function view(baseUrl: string, pairId: string, token: string, query = ''): Promise<View> {
  const answer = await call(baseUrl, 'GET', `/v1/pair/${pairId}${query}`, { token });
  assert.equal(answer.status, 200, answer.text);
  return answer.json as View;
}

export async function put(baseUrl: string, pairId: string, token: string, field: string, value: unknown): Promise<Answer> {
  return call(baseUrl, 'PUT', `/v1/pair/${pairId}/${field}`, { token, body: { value } });
}
