// The MCP server over Streamable HTTP, for VS Code's MCP client (and Copilot agent mode) in the
// extension host. Loopback only; every request must carry the random 256-bit bearer token the
// extension hands VS Code in the server definition's headers; Host and Origin are checked so a
// web page cannot reach it through DNS rebinding.

import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';

/** JSON-RPC bodies larger than this are refused (413) without being parsed. */
export const MAX_MCP_BODY_BYTES = 1024 * 1024;
/** MCP sessions (connected clients) at once; each holds a server instance. */
export const MAX_MCP_SESSIONS = 32;
export const MCP_PATH = '/mcp';

export interface McpHttpOptions {
  createServer: () => McpServer;
  host?: '127.0.0.1';
  port?: number;
  token?: string;
}

export interface RunningMcpHttp {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

interface McpSession {
  transport: StreamableHTTPServerTransport;
  server: McpServer;
}

export async function startMcpHttpServer(options: McpHttpOptions): Promise<RunningMcpHttp> {
  const token = options.token ?? randomBytes(32).toString('hex');
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
    return origin === undefined || origin === `http://127.0.0.1:${port}` || origin === `http://localhost:${port}`;
  };

  const refuse = (res: ServerResponse, status: number, message: string): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!hostAllowed(req) || !originAllowed(req)) { refuse(res, 403, 'Forbidden: this server answers loopback clients only.'); return; }
    if (!authorised(req)) { refuse(res, 401, 'Unauthorized: a valid bearer token is required.'); return; }
    if (new URL(req.url ?? '/', 'http://localhost').pathname !== MCP_PATH) { refuse(res, 404, `Not found: the MCP endpoint is ${MCP_PATH}.`); return; }

    const sessionHeader = req.headers['mcp-session-id'];
    const existing = typeof sessionHeader === 'string' ? sessions.get(sessionHeader) : undefined;
    if (req.method !== 'POST') {
      if (!existing) { refuse(res, 400, 'Bad request: unknown or missing mcp-session-id.'); return; }
      await existing.transport.handleRequest(req, res);
      return;
    }
    const body = await readJson(req);
    if (body === 'too_large') { refuse(res, 413, `Payload too large: at most ${MAX_MCP_BODY_BYTES} bytes.`); return; }
    if (body === 'invalid') { refuse(res, 400, 'Bad request: the body is not JSON.'); return; }
    if (existing) {
      await existing.transport.handleRequest(req, res, body);
      return;
    }
    if (!isInitializeRequest(body)) { refuse(res, 400, 'Bad request: start with an initialize request, or send a valid mcp-session-id.'); return; }
    if (sessions.size >= MAX_MCP_SESSIONS) { refuse(res, 503, 'Too many MCP sessions; close one first.'); return; }
    const server = options.createServer();
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, { transport, server });
      },
    });
    transport.onclose = () => {
      if (transport.sessionId !== undefined) sessions.delete(transport.sessionId);
    };
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
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
      for (const session of sessions.values()) await session.server.close();
      sessions.clear();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => { resolve(); }));
    },
  };
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_MCP_BODY_BYTES) {
    req.resume();
    return 'too_large';
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_MCP_BODY_BYTES) return 'too_large';
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    return 'invalid';
  }
}
