// Loads the built extension bundle in a fresh Node process against a stub of the `vscode`
// module and times (1) loading the module (require of dist/extension.cjs: parse, compile and
// top-level code) and (2) its activate() against a stub ExtensionContext. This is NOT a VS Code
// extension host: the stub answers every API call at once (an in-memory SecretStorage and
// Mementos, everything else a no-op), so (2) is the extension's own work during activation,
// without VS Code's. Prints one JSON line. Argument: the bundle path.

import { readFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

export interface ActivationRun {
  moduleLoadMs: number;
  /** Absent if activate() threw against the stub; `activateError` then says why. */
  activateMs?: number;
  activateError?: string;
}

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
 * its namespace object, so the names the bundle uses (`vscode.window`, ...) must be own
 * properties; they are read from the sources in the bundle's source map (the bundle itself is
 * minified, its names shortened).
 */
function vscodeStub(bundleText: string): unknown {
  const namespace: Record<string, unknown> = {};
  for (const match of bundleText.matchAll(/\bvscode\d*\.([A-Za-z_$][\w$]*)/g)) namespace[match[1]!] ??= deepStub();
  return new Proxy(namespace, { get: (target, property) => (typeof property === 'string' && property in target ? target[property] : deepStub()) });
}

const bundlePath = process.argv[2];
if (bundlePath === undefined) throw new Error('activationProcess: expected the path of dist/extension.cjs');
const sourceMap = JSON.parse(readFileSync(`${bundlePath}.map`, 'utf8')) as { sourcesContent?: (string | null)[] };
const vscodeStubModule = vscodeStub((sourceMap.sourcesContent ?? []).join('\n'));
const loader = Module as unknown as { _load: (request: string, parent: unknown, isMain: boolean) => unknown };
const originalLoad = loader._load.bind(Module);
loader._load = (request, parent, isMain) => (request === 'vscode' ? vscodeStubModule : originalLoad(request, parent, isMain));

const require = createRequire(import.meta.url);
const loadStarted = performance.now();
const extension = require(bundlePath) as { activate?: (context: unknown) => unknown; deactivate?: () => unknown };
const run: ActivationRun = { moduleLoadMs: performance.now() - loadStarted };
try {
  if (typeof extension.activate !== 'function') throw new Error('the bundle exports no activate()');
  const activateStarted = performance.now();
  await extension.activate(extensionContext(bundlePath.replace(/\/dist\/[^/]+$/, '')));
  run.activateMs = performance.now() - activateStarted;
} catch (error) {
  run.activateError = error instanceof Error ? error.message : String(error);
}
// Whatever activate() started (timers, a relay, watchers) ends with the process.
process.stdout.write(`${JSON.stringify(run)}\n`, () => process.exit(0));
