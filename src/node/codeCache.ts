// Loads a CommonJS bundle the way `require` does, but with V8's code cache for it: most of the
// time a window spends loading the extension's window bundle (dist/extension-window.cjs) is V8
// compiling its 250 KB, the same work at every start. The first load compiles and, once the
// caller says the code has run (`saveCache`), keeps what V8 compiled in a file of `cacheDir`;
// later loads hand that to V8 instead of compiling again. The file's name holds a hash of the
// bundle's bytes and V8's version, so another build or another VS Code never reads it (V8 itself
// checks only the source's length); a file V8 refuses, or cannot be read or written, costs the
// plain compile and nothing else. The module is registered in require's cache under its path, so
// a bundle that requires it (mcp.cjs, extension-hpke.cjs) gets this same instance.

import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { Script } from 'node:vm';
import { nodeCrypto } from './lazyCrypto.js';

/** How the load went: the cache was `used`, or it was `absent` or `rejected` (by V8) and the bundle compiled. */
export type CodeCacheState = 'used' | 'absent' | 'rejected';

export interface CachedModule {
  exports: unknown;
  cache: CodeCacheState;
  /**
   * Writes the code cache if this load compiled: call it once the module's code has run, so the
   * functions it compiled then are kept too. Never throws; a write that fails is skipped.
   */
  saveCache: () => void;
}

/** The module's `require` cache entry, as Node's own loader fills it. */
interface CommonJsModule {
  exports: unknown;
  filename: string;
  paths: string[];
  loaded: boolean;
}

/** Node's Module class, with the parts of it `require` itself uses here. */
const NodeModule = Module as unknown as {
  new (id: string): CommonJsModule;
  wrap(source: string): string;
  _nodeModulePaths(directory: string): string[];
};

export function requireWithCodeCache(file: string, cacheDir: string): CachedModule {
  // The bundle's own require, for the bundle; its `cache` is require's one cache of modules.
  const requireThere = createRequire(file);
  const loaded = requireThere.cache[file];
  if (loaded) return { exports: loaded.exports, cache: 'used', saveCache: () => undefined };
  const source = readFileSync(file, 'utf8');
  const prefix = `${basename(file)}-`;
  const cacheFile = join(cacheDir, `${prefix}${nodeCrypto().createHash('sha256').update(source).digest('hex').slice(0, 16)}-v8-${process.versions.v8}.cache`);
  const cachedData = readOrUndefined(cacheFile);
  const script = new Script(NodeModule.wrap(source), { filename: file, ...(cachedData && { cachedData }) });
  const cache: CodeCacheState = cachedData === undefined ? 'absent' : script.cachedDataRejected === true ? 'rejected' : 'used';

  const module = new NodeModule(file);
  module.filename = file;
  module.paths = NodeModule._nodeModulePaths(dirname(file));
  requireThere.cache[file] = module as unknown as NodeJS.Module;
  try {
    const wrapper = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: CommonJsModule, filename: string, dirname: string) => void;
    wrapper.call(module.exports, module.exports, requireThere, module, file, dirname(file));
  } catch (error) {
    // As require does: a module that threw is not left in the cache half made.
    Reflect.deleteProperty(requireThere.cache, file);
    throw error;
  }
  module.loaded = true;
  return {
    exports: module.exports,
    cache,
    saveCache: () => {
      if (cache !== 'used') writeCache(script, cacheDir, prefix, cacheFile);
    },
  };
}

function readOrUndefined(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

/** Written whole (a temporary file renamed over), replacing the caches of this bundle's other builds. */
function writeCache(script: Script, cacheDir: string, prefix: string, cacheFile: string): void {
  try {
    mkdirSync(cacheDir, { recursive: true });
    for (const stale of readdirSync(cacheDir)) {
      if (stale.startsWith(prefix) && join(cacheDir, stale) !== cacheFile) rmSync(join(cacheDir, stale), { force: true });
    }
    const partial = `${cacheFile}.${process.pid}.partial`;
    writeFileSync(partial, script.createCachedData());
    renameSync(partial, cacheFile);
  } catch {
    // Only a speed-up: the next start compiles again.
  }
}
