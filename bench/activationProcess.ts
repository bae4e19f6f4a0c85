// Loads the built extension in a fresh Node process against a stub of the `vscode` module and
// times (1) loading the module VS Code loads (require of dist/extension.cjs: parse, compile and
// top-level code), (2) its activate() against a stub ExtensionContext, and what runs once
// activation is over: (3) loading the window's bundle (dist/extension-window.cjs, beside it) as
// the shell does, through V8's code cache in the directory of the second argument (absent: the
// first start of a build; present: every start after), (4) opening the window's Agent Pair from
// it (openWindow, which activate() schedules) and (5) writing the code cache when the load did
// not use one. This is
// NOT a VS Code extension host: the stub answers every API call at once (an in-memory
// SecretStorage and Mementos, everything else a no-op), so (2) and (4) are the extension's own
// work, without VS Code's. Prints one JSON line. Arguments: the path of dist/extension.cjs, the
// code cache's directory.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Module, { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { type CodeCacheState, requireWithCodeCache } from '../src/node/codeCache.js';

export interface ActivationRun {
  moduleLoadMs: number;
  /** Absent if activate() or opening the window threw against the stub; `activateError` then says why. */
  activateMs?: number;
  windowLoadMs?: number;
  /** Whether the window's load used the code cache. */
  windowCodeCache?: CodeCacheState;
  windowOpenMs?: number;
  /** Writing the code cache, when the load did not use one. */
  codeCacheSaveMs?: number;
  activateError?: string;
}

/** The window's bundle, beside dist/extension.cjs (esbuild.mjs). */
const WINDOW_BUNDLE = 'extension-window.cjs';

/**
 * Any property, call or construction yields another stub, so code that registers commands,
 * creates status bar items or reads configuration runs through; assigned properties read back.
 * Not thenable, so awaiting a stub resolves to it instead of hanging.
 */
function deepStub(): unknown {
  const cache = new Map<PropertyKey, unknown>();
  const target = function stub(): void {
    // Called: answered by the apply trap.
  };
  const proxy: unknown = new Proxy(target, {
    get: (_, property) => {
      if (property === 'then') return undefined;
      if (property === Symbol.toPrimitive) return () => '';
      if (property === Symbol.iterator) return function* empty(): Generator<never> {
        // Iterates as empty.
      };
      if (!cache.has(property)) cache.set(property, deepStub());
      return cache.get(property);
    },
    // Assignments (item.text = ..., item.name = ...) are kept and read back.
    set: (_, property, value) => {
      cache.set(property, value);
      return true;
    },
    apply: () => deepStub(),
    construct: () => deepStub() as object,
  });
  return proxy;
}

function memento(): unknown {
  const values = new Map<string, unknown>();
  return {
    keys: () => [...values.keys()],
    get: (key: string, fallback?: unknown) => (values.has(key) ? values.get(key) : fallback),
    update: (key: string, value: unknown) => {
      if (value === undefined) values.delete(key);
      else values.set(key, value);
      return Promise.resolve();
    },
    setKeysForSync: () => undefined,
  };
}

function extensionContext(extensionPath: string): unknown {
  const secrets = new Map<string, string>();
  const context = {
    subscriptions: [] as unknown[],
    extensionPath,
    extensionUri: { fsPath: extensionPath, path: extensionPath, scheme: 'file', toString: () => `file://${extensionPath}` },
    globalStorageUri: { fsPath: '/tmp/agent-pair-bench/global', path: '/tmp/agent-pair-bench/global', scheme: 'file' },
    storageUri: { fsPath: '/tmp/agent-pair-bench/workspace', path: '/tmp/agent-pair-bench/workspace', scheme: 'file' },
    logUri: { fsPath: '/tmp/agent-pair-bench/log', path: '/tmp/agent-pair-bench/log', scheme: 'file' },
    extensionMode: 1,
    globalState: memento(),
    workspaceState: memento(),
    secrets: {
      get: (key: string) => Promise.resolve(secrets.get(key)),
      store: (key: string, value: string) => {
        secrets.set(key, value);
        return Promise.resolve();
      },
      delete: (key: string) => {
        secrets.delete(key);
        return Promise.resolve();
      },
      onDidChange: () => ({ dispose: () => undefined }),
    },
    asAbsolutePath: (relative: string) => `${extensionPath}/${relative}`,
  };
  return new Proxy(context, { get: (target, property) => (property in target ? target[property as keyof typeof target] : deepStub()) });
}

/**
 * The `vscode` module. esbuild's CommonJS interop copies the module's own property names onto
 * its namespace object, so the names the bundles use (`vscode.window`, ...) must be own
 * properties; they are read from the sources in the bundles' source maps (the bundles themselves
 * are minified, their names shortened).
 */
function vscodeStub(bundleText: string): unknown {
  const namespace: Record<string, unknown> = {};
  for (const match of bundleText.matchAll(/\bvscode\d*\.([A-Za-z_$][\w$]*)/g)) namespace[match[1]!] ??= deepStub();
  return new Proxy(namespace, { get: (target, property) => (typeof property === 'string' && property in target ? target[property] : deepStub()) });
}

const [bundlePath, codeCacheDir] = process.argv.slice(2);
if (bundlePath === undefined || codeCacheDir === undefined) throw new Error('activationProcess: expected the path of dist/extension.cjs and a code cache directory');
const windowBundlePath = join(dirname(bundlePath), WINDOW_BUNDLE);
const sourcesOf = (bundle: string): string => ((JSON.parse(readFileSync(`${bundle}.map`, 'utf8')) as { sourcesContent?: (string | null)[] }).sourcesContent ?? []).join('\n');
const vscodeStubModule = vscodeStub(`${sourcesOf(bundlePath)}\n${sourcesOf(windowBundlePath)}`);
const loader = Module as unknown as { _load: (request: string, parent: unknown, isMain: boolean) => unknown };
const originalLoad = loader._load.bind(Module);
loader._load = (request, parent, isMain) => (request === 'vscode' ? vscodeStubModule : originalLoad(request, parent, isMain));

const require = createRequire(import.meta.url);
const loadStarted = performance.now();
const extension = require(bundlePath) as { activate?: (context: unknown) => unknown; deactivate?: () => unknown };
const run: ActivationRun = { moduleLoadMs: performance.now() - loadStarted };
const extensionPath = bundlePath.replace(/\/dist\/[^/]+$/, '');
try {
  if (typeof extension.activate !== 'function' || typeof extension.deactivate !== 'function') throw new Error('the bundle exports no activate() or deactivate()');
  const activateStarted = performance.now();
  await extension.activate(extensionContext(extensionPath));
  run.activateMs = performance.now() - activateStarted;
  // activate() opens the window once it returned; timed here in its two steps instead, in a
  // context of its own (the shell, deactivated, opens nothing).
  await extension.deactivate();
  const windowLoadStarted = performance.now();
  const loaded = requireWithCodeCache(windowBundlePath, codeCacheDir);
  run.windowLoadMs = performance.now() - windowLoadStarted;
  run.windowCodeCache = loaded.cache;
  const window = loaded.exports as { openWindow?: (context: unknown, shell: unknown) => unknown };
  if (typeof window.openWindow !== 'function') throw new Error(`${WINDOW_BUNDLE} exports no openWindow()`);
  const openStarted = performance.now();
  window.openWindow(extensionContext(extensionPath), { log: deepStub(), version: '0.0.0' });
  run.windowOpenMs = performance.now() - openStarted;
  if (loaded.cache !== 'used') {
    const saveStarted = performance.now();
    loaded.saveCache();
    run.codeCacheSaveMs = performance.now() - saveStarted;
  }
} catch (error) {
  run.activateError = error instanceof Error ? error.message : String(error);
}
// Whatever activate() started (timers, a relay, watchers) ends with the process.
process.stdout.write(`${JSON.stringify(run)}\n`, () => process.exit(0));
