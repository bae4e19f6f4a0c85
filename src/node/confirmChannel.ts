// How `agent-pair confirm` reaches the process that runs an agent's pairing. The MCP stdio server
// is the only writer of its sessions; a person confirming in a terminal does not write them
// too, but hands their digits to that server over a local channel: an HTTP server on a unix
// socket in the identity home (`<home>/run/mcp-<pid>.sock`, the directory 0700 and the socket
// 0600, so only this OS user can connect; no browser can reach a unix socket).
//
//   GET  /sessions                         the pairings this server runs (no secrets)
//   GET  /sessions/<id>/question?wait=S    the runner's open question: the SAS, for the person
//   POST /sessions/<id>/digits {"digits"}  answers it; replies once the runner checked them
//
// The client half finds every live server of a home (a socket nobody answers on is stale and
// removed) and asks the one that runs the session.

import { chmod, mkdir, readdir, unlink } from 'node:fs/promises';
import { type IncomingMessage, type ServerResponse, createServer, request } from 'node:http';
import { join } from 'node:path';
import type { ErrorCode } from '../core/errors.js';
import type { PairingRunners } from '../core/pairing.js';
import type { SessionSnapshot } from '../core/session.js';
import type { SessionStore } from '../core/store.js';

/** Request bodies larger than this are refused: the only body is six digits in JSON. */
export const MAX_CHANNEL_BODY_BYTES = 1024;
/** The longest a question request waits for the runner to ask (the key exchange may still run). */
export const MAX_QUESTION_WAIT_SECONDS = 25;
/** How long the client waits for a server's answer to a listing before calling it stale. */
export const CHANNEL_PROBE_TIMEOUT_MS = 1_500;
/** Unix socket paths are limited to about 104 bytes on some systems; stay under it. */
const MAX_SOCKET_PATH_BYTES = 100;
const SOCKET_PREFIX = 'mcp-';
const SOCKET_SUFFIX = '.sock';

/** One pairing as the channel lists it. */
export interface ChannelSession {
  session_id: string;
  role: SessionSnapshot['role'];
  state: SessionSnapshot['state'];
  nameplate: string;
  seconds_left: number;
  peer_joined: boolean;
  error_code?: ErrorCode;
  abort_reason?: string;
}
export interface ChannelListing {
  pid: number;
  sessions: ChannelSession[];
}
/** The runner's question, for the person's terminal. */
export interface ChannelQuestion {
  sas: string;
  nameplate: string;
  expires_at: number;
  again: boolean;
}
export type QuestionReply = { question: ChannelQuestion } | { session: ChannelSession };
export interface DigitsReply {
  /** True when the digits were not six digits: nothing was checked, the question is open again. */
  again: boolean;
  session: ChannelSession;
}

export function runDirectory(home: string): string {
  return join(home, 'run');
}

export function toChannelSession(snapshot: SessionSnapshot): ChannelSession {
  return {
    session_id: snapshot.sessionId,
    role: snapshot.role,
    state: snapshot.state,
    nameplate: snapshot.nameplate,
    seconds_left: snapshot.secondsLeft,
    peer_joined: snapshot.peerJoined,
    ...(snapshot.abortCode !== undefined && { error_code: snapshot.abortCode }),
    ...(snapshot.abortReason !== undefined && { abort_reason: snapshot.abortReason }),
  };
}

export interface OpenChannel {
  path: string;
  close(): Promise<void>;
}

/** Serves the channel of this process's pairings in `home`. */
export async function openConfirmChannel(home: string, store: SessionStore, runners: PairingRunners): Promise<OpenChannel> {
  const directory = runDirectory(home);
  await mkdir(directory, { recursive: true, mode: 0o700 });
  await chmod(directory, 0o700);
  const path = join(directory, `${SOCKET_PREFIX}${process.pid}${SOCKET_SUFFIX}`);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) throw new Error(`the identity home's path is too long for a local socket (${path})`);
  await unlink(path).catch(() => undefined); // a socket left by a process that had this pid
  const server = createServer((req, res) => {
    void handle(req, res, store, runners).catch(() => {
      if (!res.headersSent) send(res, 500, { error: 'internal' });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(path, 0o600);
  return {
    path,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => {
        resolve();
      }));
      await unlink(path).catch(() => undefined);
    },
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, store: SessionStore, runners: PairingRunners): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://channel');
  const parts = url.pathname.split('/').filter((part) => part !== '');
  if (req.method === 'GET' && parts.length === 1 && parts[0] === 'sessions') {
    await store.sweepExpired();
    const listing: ChannelListing = { pid: process.pid, sessions: store.list().map(toChannelSession) };
    send(res, 200, listing);
    return;
  }
  const id = parts[1];
  if (parts[0] !== 'sessions' || id === undefined || !/^[0-9a-f]{32}$/.test(id) || parts.length !== 3) {
    send(res, 404, { error: 'not_found' });
    return;
  }
  let snapshot: SessionSnapshot;
  try {
    await store.sweepExpired();
    snapshot = store.status(id);
  } catch {
    send(res, 404, { error: 'not_found' });
    return;
  }
  if (req.method === 'GET' && parts[2] === 'question') {
    const wait = Math.min(Number(url.searchParams.get('wait') ?? '0') || 0, MAX_QUESTION_WAIT_SECONDS);
    runners.run(id);
    if (runners.questions.question(id) === undefined && (snapshot.state === 'opened' || snapshot.state === 'sas_ready')) {
      await runners.waitForChange(id, snapshot.state, wait * 1000);
    }
    const question = runners.questions.question(id);
    const reply: QuestionReply = question ? { question: { sas: question.sas, nameplate: question.nameplate, expires_at: question.expiresAt, again: question.again } } : { session: toChannelSession(store.status(id)) };
    send(res, 200, reply);
    return;
  }
  if (req.method === 'POST' && parts[2] === 'digits') {
    const body = await readBody(req);
    const digits = body?.['digits'];
    if (typeof digits !== 'string') {
      send(res, 400, { error: 'bad_input' });
      return;
    }
    const question = runners.questions.question(id);
    if (!question || !runners.questions.answer(id, digits)) {
      send(res, 409, { session: toChannelSession(store.status(id)) });
      return;
    }
    const after = await runners.waitForChange(id, 'sas_ready', Math.max(0, question.expiresAt - Date.now()));
    const reply: DigitsReply = { again: after.state === 'sas_ready' && runners.questions.question(id)?.again === true, session: toChannelSession(after) };
    send(res, 200, reply);
    return;
  }
  send(res, 404, { error: 'not_found' });
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_CHANNEL_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  try {
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

// ---- The client half.

export interface LiveServer {
  path: string;
  listing: ChannelListing;
}

/** Every live server of `home`, with its pairings; stale sockets are removed. */
export async function findServers(home: string): Promise<LiveServer[]> {
  let names: string[];
  try {
    names = await readdir(runDirectory(home));
  } catch {
    return [];
  }
  const servers: LiveServer[] = [];
  for (const name of names) {
    if (!name.startsWith(SOCKET_PREFIX) || !name.endsWith(SOCKET_SUFFIX)) continue;
    const path = join(runDirectory(home), name);
    try {
      const { status, body } = await call(path, 'GET', '/sessions', undefined, CHANNEL_PROBE_TIMEOUT_MS);
      if (status === 200 && isListing(body)) servers.push({ path, listing: body });
    } catch (error) {
      if (isRefused(error)) await unlink(path).catch(() => undefined);
    }
  }
  return servers;
}

export async function askQuestion(path: string, sessionId: string, waitSeconds: number): Promise<QuestionReply | undefined> {
  const { status, body } = await call(path, 'GET', `/sessions/${sessionId}/question?wait=${waitSeconds}`, undefined, (waitSeconds + 10) * 1000);
  return status === 200 ? (body as QuestionReply) : undefined;
}

export async function sendDigits(path: string, sessionId: string, digits: string, timeoutMs: number): Promise<DigitsReply | { session: ChannelSession } | undefined> {
  const { status, body } = await call(path, 'POST', `/sessions/${sessionId}/digits`, { digits }, timeoutMs);
  if (status === 200) return body as DigitsReply;
  if (status === 409) return body as { session: ChannelSession };
  return undefined;
}

function call(socketPath: string, method: string, path: string, body: unknown, timeoutMs: number): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request({ socketPath, method, path, headers: payload === undefined ? {} : { 'content-type': 'application/json' }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown });
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(payload);
  });
}

function isRefused(error: unknown): boolean {
  const code = typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
  return code === 'ECONNREFUSED' || code === 'ENOENT';
}

function isListing(value: unknown): value is ChannelListing {
  return typeof value === 'object' && value !== null && Array.isArray((value as Partial<ChannelListing>).sessions) && typeof (value as Partial<ChannelListing>).pid === 'number';
}
