// Offers the in-process MCP server to VS Code's MCP client (Copilot agent mode and any chat
// that uses MCP tools), so an agent's `pair_*` tools act on the same in-memory store the
// commands, status bar and SAS panel show. The server speaks Streamable HTTP on 127.0.0.1 with
// a bearer token; it starts only when VS Code first resolves the definition to start the server
// (providing definitions happens eagerly at startup and must stay cheap), and stops with the
// window.

import * as vscode from 'vscode';
import { MCP_PROVIDER_ID, MCP_SERVER_LABEL } from './ids.js';

/** Stands in for the URL until the server runs; resolveMcpServerDefinition replaces it. */
const NOT_STARTED_URL = 'http://127.0.0.1:1/agent-pair-mcp-not-started';

export interface McpEndpoint {
  url: string;
  token: string;
  close(): Promise<void>;
}

export interface McpProviderOptions {
  /** Changes of it make VS Code offer to refresh the cached tool list. */
  version: string;
  /** Starts the server; logs why when it cannot. */
  start: () => Promise<McpEndpoint>;
  log: vscode.LogOutputChannel;
}

export class McpProvider implements vscode.McpServerDefinitionProvider<vscode.McpHttpServerDefinition> {
  private endpoint: McpEndpoint | undefined;
  private starting: Promise<McpEndpoint> | undefined;
  private closed = false;

  constructor(private readonly options: McpProviderOptions) {}

  provideMcpServerDefinitions(): vscode.McpHttpServerDefinition[] {
    return [this.definition(this.endpoint)];
  }

  async resolveMcpServerDefinition(server: vscode.McpHttpServerDefinition): Promise<vscode.McpHttpServerDefinition | undefined> {
    if (server.label !== MCP_SERVER_LABEL) return server;
    const endpoint = await this.ensureStarted();
    server.uri = vscode.Uri.parse(endpoint.url);
    server.headers = authorization(endpoint);
    return server;
  }

  async close(): Promise<void> {
    this.closed = true;
    const endpoint = this.endpoint ?? (await this.starting?.catch(() => undefined));
    this.endpoint = undefined;
    await endpoint?.close();
  }

  private ensureStarted(): Promise<McpEndpoint> {
    if (this.closed) return Promise.reject(new Error('Agent Pair is shutting down in this window.'));
    if (this.endpoint) return Promise.resolve(this.endpoint);
    this.starting ??= this.options.start().then(
      (endpoint) => {
        this.endpoint = endpoint;
        this.options.log.info(`MCP server listening at ${endpoint.url}.`);
        return endpoint;
      },
      (error: unknown) => {
        this.starting = undefined; // the next start tries again (`start` logged why this one failed)
        throw error;
      },
    );
    return this.starting;
  }

  private definition(endpoint: McpEndpoint | undefined): vscode.McpHttpServerDefinition {
    return new vscode.McpHttpServerDefinition(MCP_SERVER_LABEL, vscode.Uri.parse(endpoint?.url ?? NOT_STARTED_URL), endpoint ? authorization(endpoint) : {}, this.options.version);
  }
}

function authorization(endpoint: McpEndpoint): Record<string, string> {
  return { Authorization: `Bearer ${endpoint.token}` };
}

export function registerMcpProvider(context: vscode.ExtensionContext, options: McpProviderOptions): McpProvider {
  const provider = new McpProvider(options);
  context.subscriptions.push(vscode.lm.registerMcpServerDefinitionProvider(MCP_PROVIDER_ID, provider));
  return provider;
}
