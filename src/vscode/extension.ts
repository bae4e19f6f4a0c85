// The extension's entry (package.json's main): what activation must do before it returns, and
// nothing more. It registers every command, the join link handler and the MCP server definition
// provider, each of which forwards to the window's Agent Pair (window.ts), and opens that right
// after activation from a bundle of its own (dist/extension-window.cjs, esbuild.mjs), through
// V8's code cache (windowModule.ts, windowBundle.ts), so that only a build's first start
// compiles it: the store, the pairing and messaging code, the curves and the mailbox run then,
// not while VS Code waits for activate(). This module imports only `vscode`, modules that keep
// no state (ids.ts, mcpProvider.ts) and the loader (node/codeCache.ts), never src/core or
// src/relay: those exist once, in the window's bundle (test/vscode/bundles.test.ts checks).

import * as vscode from 'vscode';
import { COMMANDS } from './ids.js';
import { registerMcpProvider } from './mcpProvider.js';
import type { AgentPairWindow } from './window.js';
import { loadWindowModule } from './windowModule.js';

/** Under the extension's global storage: V8's code cache of the window's bundle (windowBundle.ts). */
const CODE_CACHE_DIR = 'code-cache';

/** Work that must finish before the window goes: closing the MCP server and the pull (never the local relay). */
let shutdown: (() => Promise<void>) | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Agent Pair', { log: true });
  context.subscriptions.push(log);
  const declared = (context.extension.packageJSON as { version?: unknown }).version;
  const version = typeof declared === 'string' ? declared : '0.0.0';

  let closed = false;
  let opening: Promise<AgentPairWindow> | undefined;
  /** The window's Agent Pair, opened on the first call. */
  const agentPair = (): Promise<AgentPairWindow> => {
    if (closed) return Promise.reject(new Error('Agent Pair is shutting down in this window.'));
    opening ??= loadWindowModule(vscode.Uri.joinPath(context.globalStorageUri, CODE_CACHE_DIR).fsPath)
      .then(({ module, saveCodeCache }) => {
        const window = module.openWindow(context, { log, version });
        saveCodeCache();
        return window;
      })
      .catch((error: unknown) => {
        log.error('Agent Pair could not start in this window:', error);
        throw error;
      });
    return opening;
  };

  // A command run, a join link opened or an MCP server started before the window opened waits for it.
  for (const id of Object.values(COMMANDS)) {
    context.subscriptions.push(vscode.commands.registerCommand(id, async (...args: unknown[]) => (await agentPair()).commands.run(id, args)));
  }
  context.subscriptions.push(vscode.window.registerUriHandler({ handleUri: async (uri) => (await agentPair()).handleUri(uri) }));
  const mcp = registerMcpProvider(context, { version, log, start: async () => (await agentPair()).startMcp() });

  // Once activation is over: the window resumes the pairings it had in flight and starts to pull.
  const opensSoon = setImmediate(() => {
    agentPair().catch(() => undefined); // logged above
  });
  shutdown = async () => {
    closed = true;
    clearImmediate(opensSoon);
    await Promise.all([mcp.close().catch(() => undefined), opening?.then((window) => window.dispose(), () => undefined)]);
  };
}

export async function deactivate(): Promise<void> {
  const closing = shutdown;
  shutdown = undefined;
  await closing?.();
}
