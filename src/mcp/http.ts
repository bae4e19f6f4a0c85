// The MCP server over Streamable HTTP, for VS Code's MCP client (and Copilot agent mode) in the
// extension host. Loopback only; every request must carry the random 256-bit bearer token the
// extension hands VS Code in the server definition's headers; Host and Origin are checked so a
// web page cannot reach it through DNS rebinding. One McpServer per MCP session (keyed by the
// mcp-session-id header), as the SDK's stateful examples do: each client gets its own
// capabilities (elicitation or not) while all of them share the caller's SessionStore.

import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { badInput } from '../core/errors.js';

/** JSON-RPC bodies larger than this are refused (413) without being parsed. */
export const MAX_MCP_BODY_BYTES = 1024 * 1024;
/** MCP sessions held at once; past this the least recently used idle one is closed. */
export const MAX_MCP_SESSIONS = 32;
export const MCP_PATH = '/mcp';
/**
 * Browser origins allowed besides the server's own: VS Code's workbench renderer. Its MCP
 * client runs in the (Node) extension host today and sends no Origin at all; should a
 * version connect from the renderer, it still needs the token. Webviews (vscode-webview://)
 * show arbitrary content and are refused, like every web page.
 */
const VSCODE_APP_ORIGIN = 'vscode-file://vscode-app';

export interface McpHttpOptions {
  createServer: () => McpServer;
  host?: '127.0.0.1';
  port?: number;
  /** The bearer token clients must send; by default 32 random bytes in hex. */
  token?: string;
}

export interface RunningMcpHttp {
  /** The endpoint, like http://127.0.0.1:PORT/mcp. */
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

interface McpSession {
  transport: StreamableHTTPServerTransport;
  server: McpServer;
  lastUsed: number;
  /** Requests of this session being handled right now (an open SSE stream counts until it ends). */
  active: number;
}

export async function startMcpHttpServer(options: McpHttpOptions): Promise<RunningMcpHttp> {
  const token = options.token ?? randomBytes(32).toString('hex');
  if (token.length < 32) throw badInput('token', `has ${token.length} characters`, 'at least 32 random characters (128 bits)');
  const expected = Buffer.from(`Bearer ${token}`);
  const sessions = new Map<string, McpSession>();
  let port = 0;

  const authorised = (req: IncomingMessage): boolean => {
    const given = Buffer.from(req.headers.authorization ?? '');
    return given.length === expected.length && timingSafeEqual(given, expected);
  };
  const hostAllowed = (req: IncomingMessage): boolean => {
    const host = req.headers.host;
    return host === `127.0.0.1:${port}` || host === `localhost:${port}`;
  };
  const originAllowed = (req: IncomingMessage): boolean => {
    const origin = req.headers.origin;
    // Node clients (VS Code's extension host) send no Origin; a browser page always does.
    return origin === undefined || origin === `http://127.0.0.1:${port}` || origin === `http://localhost:${port}` || origin === VSCODE_APP_ORIGIN;
  };

  const refuse = (res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }));
  };

  /** Makes room for one more session by closing the least recently used idle one; false if all are busy. */
  const makeRoom = async (): Promise<boolean> => {
    if (sessions.size < MAX_MCP_SESSIONS) return true;
    let oldest: [string, McpSession] | undefined;
    for (const entry of sessions) {
      if (entry[1].active === 0 && (!oldest || entry[1].lastUsed < oldest[1].lastUsed)) oldest = entry;
    }
    if (!oldest) return false;
    sessions.delete(oldest[0]);
    await oldest[1].server.close();
    return true;
  };

  const serve = async (session: McpSession, req: IncomingMessage, res: ServerResponse, body?: unknown): Promise<void> => {
    session.active++;
    session.lastUsed = Date.now();
    try {
      await session.transport.handleRequest(req, res, body);
    } finally {
      session.active--;
      session.lastUsed = Date.now();
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!hostAllowed(req) || !originAllowed(req)) { refuse(res, 403, 'Forbidden: this server answers loopback clients only.'); return; }
    if (!authorised(req)) { refuse(res, 401, 'Unauthorized: a valid bearer token is required.', { 'www-authenticate': 'Bearer' }); return; }
    if (new URL(req.url ?? '/', 'http://localhost').pathname !== MCP_PATH) { refuse(res, 404, `Not found: the MCP endpoint is ${MCP_PATH}.`); return; }

    const sessionHeader = req.headers['mcp-session-id'];
    const sessionId = typeof sessionHeader === 'string' ? sessionHeader : undefined;
    const existing = sessionId === undefined ? undefined : sessions.get(sessionId);
    // An unknown session (closed, evicted, or from before a restart) gets 404, which tells the
    // client to initialize a new one (MCP Streamable HTTP, "Session Management").
    if (sessionId !== undefined && !existing) { refuse(res, 404, 'Session not found: initialize a new MCP session.'); return; }
    if (req.method !== 'POST') {
      if (!existing) { refuse(res, 400, 'Bad request: an mcp-session-id header is required.'); return; }
      await serve(existing, req, res);
      return;
    }
    const body = await readJson(req);
    if (body === 'too_large') { refuse(res, 413, `Payload too large: at most ${MAX_MCP_BODY_BYTES} bytes.`, { connection: 'close' }); return; }
    if (body === 'invalid') { refuse(res, 400, 'Bad request: the body is not JSON.'); return; }
    if (existing) {
      await serve(existing, req, res, body);
      return;
    }
    if (!isInitializeRequest(body)) { refuse(res, 400, 'Bad request: start with an initialize request, or send a valid mcp-session-id.'); return; }
    if (!(await makeRoom())) { refuse(res, 503, `Too many MCP sessions busy at once (${MAX_MCP_SESSIONS}); try again shortly.`); return; }
    const server = options.createServer();
    const session: McpSession = {
      server,
      lastUsed: Date.now(),
      active: 0,
      transport: new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          sessions.set(id, session);
        },
      }),
    };
    // Set before connect: the server chains its own close handling onto this one.
    session.transport.onclose = () => {
      const id = session.transport.sessionId;
      if (id !== undefined && sessions.get(id) === session) sessions.delete(id);
    };
    await server.connect(session.transport);
    await serve(session, req, res, body);
  };

  const http = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) refuse(res, 500, 'Internal error.');
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      http.off('error', reject);
      resolve();
    });
  });
  port = (http.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}${MCP_PATH}`,
    port,
    token,
    close: async () => {
      const open = [...sessions.values()];
      sessions.clear();
      for (const session of open) await session.server.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => { resolve(); }));
    },
  };
}

/** The parsed JSON body, or why there is none; never buffers more than MAX_MCP_BODY_BYTES. */
function readJson(req: IncomingMessage): Promise<unknown> {
  if (Number(req.headers['content-length'] ?? 0) > MAX_MCP_BODY_BYTES) {
    req.resume();
    return Promise.resolve('too_large');
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= MAX_MCP_BODY_BYTES) {
        chunks.push(chunk);
        return;
      }
      // Answer at once and let the rest drain unread; the 413 closes the connection.
      req.off('data', onData);
      req.resume();
      resolve('too_large');
    };
    req.on('data', onData);
    req.once('error', reject);
    req.once('end', () => {
      if (size > MAX_MCP_BODY_BYTES) return;
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown);
      } catch {
        resolve('invalid');
      }
    });
  });
}
