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
  /**
   * The window's Agent Pair, opened on the first call. If its bundle cannot be loaded, nothing of
   * it ran, and the next call loads it again (a file being replaced by an update, a full disk
   * while writing the code cache). If it loaded but opening the window threw, that failure stays
   * until a reload: a half-opened window (views, status bar, pull) is not opened twice.
   */
  const agentPair = (): Promise<AgentPairWindow> => {
    if (closed) return Promise.reject(new Error('Agent Pair is shutting down in this window.'));
    opening ??= loadWindowModule(vscode.Uri.joinPath(context.globalStorageUri, CODE_CACHE_DIR).fsPath).then(
      ({ module, saveCodeCache }) => {
        try {
          const window = module.openWindow(context, { log, version });
          saveCodeCache();
          return window;
        } catch (error) {
          throw startFailed(error, 'Reload the window to try again.');
        }
      },
      (error: unknown) => {
        opening = undefined;
        throw startFailed(error, 'It tries again at your next Agent Pair command.');
      },
    );
    return opening;
  };
  /** Logs why the window's Agent Pair did not start and tells the person, in a notification. */
  const startFailed = (error: unknown, next: string): WindowStartFailed => {
    log.error('Agent Pair could not start in this window:', error);
    void vscode.window.showErrorMessage(`Agent Pair could not start in this window: ${startFailureWords(error)}. ${next}`, SHOW_LOG).then((choice) => {
      if (choice === SHOW_LOG) log.show();
    });
    return new WindowStartFailed(error);
  };
  /** The window's Agent Pair for a command or a join link; undefined if it could not start (the person was told). */
  const agentPairOrTold = (): Promise<AgentPairWindow | undefined> =>
    agentPair().catch((error: unknown) => {
      if (error instanceof WindowStartFailed) return undefined;
      throw error;
    });

  // A command run, a join link opened or an MCP server started before the window opened waits for it.
  for (const id of Object.values(COMMANDS)) {
    context.subscriptions.push(vscode.commands.registerCommand(id, async (...args: unknown[]) => (await agentPairOrTold())?.commands.run(id, args)));
  }
  context.subscriptions.push(vscode.window.registerUriHandler({ handleUri: async (uri) => (await agentPairOrTold())?.handleUri(uri) }));
  const mcp = registerMcpProvider(context, { version, log, start: async () => (await agentPair()).startMcp() });

  // Once activation is over: the window resumes the pairings it had in flight and starts to pull.
  const opensSoon = setImmediate(() => {
    agentPair().catch(() => undefined); // said above
  });
  shutdown = async () => {
    closed = true;
    clearImmediate(opensSoon);
    await Promise.all([mcp.close().catch(() => undefined), opening?.then((window) => window.dispose(), () => undefined)]);
  };
}

/** The window's Agent Pair did not start; the person was told why (startFailed). */
class WindowStartFailed extends Error {
  constructor(cause: unknown) {
    super(`Agent Pair could not start in this window: ${startFailureWords(cause)}.`, { cause });
  }
}

const SHOW_LOG = 'Show Log';

/** Why the window's bundle did not load or open, for the person: a file that could not be read is named. */
function startFailureWords(error: unknown): string {
  const { code, path } = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; path?: unknown };
  if (typeof code === 'string' && typeof path === 'string') return `its file ${path} could not be read (${code})`;
  // The sentence goes on after it: its own full stop is dropped.
  return (error instanceof Error ? error.message : String(error)).replace(/\.$/, '');
}

export async function deactivate(): Promise<void> {
  const closing = shutdown;
  shutdown = undefined;
  await closing?.();
}
