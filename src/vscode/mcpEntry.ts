// The MCP server as the extension runs it, bundled apart (dist/mcp.cjs) and loaded only when VS
// Code starts the server or a tool runs: the MCP SDK and zod are most of the extension's
// weight, and every window would otherwise load them at startup. The bundle holds no copy of the
// core: esbuild.mjs points its core and node imports at the modules the extension bundle shares
// (sharedModules.ts), so a PairError or a SessionStore is one class in both.

export { createMcpServer } from '../mcp/server.js';
export { startMcpHttpServer } from '../mcp/http.js';
