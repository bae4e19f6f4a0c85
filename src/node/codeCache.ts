// Loads a CommonJS bundle the way `require` does, but with V8's code cache for it: most of the
// time a process spends loading a bundle (the extension's window, dist/extension-window.cjs; a CLI
// command's group, dist/cli-GROUP.cjs) is V8 compiling it, the same work at every start. The
// first load compiles and, once the caller says the code has run (`saveCache`), keeps what V8
// compiled in a file of `cacheDir`; later loads hand that to V8 instead of compiling again. The
// file's name holds a hash of the bundle's bytes and V8's version, so another build or another
// VS Code or Node never reads it (V8 itself checks only the source's length); a file V8 refuses,
// or cannot be read or written, costs the plain compile and nothing else. What V8 loads from the
// cache runs as this process's code, so the directory is made 0700 and the files 0600, and a
// cache is read only from a directory and a file this user owns and no one else can write
// (`not-private` otherwise: compiled; this user's own directory is made private again when the
// cache is written, another user's is left unwritten). The module is registered in
// require's cache under its path, so a bundle that requires it (mcp.cjs, extension-hpke.cjs)
// gets this same instance.

import { type Stats, chmodSync, closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { Script } from 'node:vm';
import { nodeCrypto } from './lazyCrypto.js';

/**
 * How the load went: the cache was `used`; or it was `absent`, `rejected` (by V8), or
 * `not-private` (its directory or file is another user's, or others can write it: not read), and
 * the bundle compiled.
 */
export type CodeCacheState = 'used' | 'absent' | 'rejected' | 'not-private';

/** Group and others may not write the cache's directory or files. */
const NO_FOREIGN_WRITE = 0o022;
const CACHE_DIR_MODE = 0o700;
const CACHE_FILE_MODE = 0o600;

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

/**
 * `cacheName` names the cache file, the bundle's own name by default: a caller whose processes
 * run different parts of one bundle (the CLI: one command of a group) keeps a cache for each,
 * holding what that part compiled.
 */
export function requireWithCodeCache(file: string, cacheDir: string, cacheName = basename(file)): CachedModule {
  // The bundle's own require, for the bundle; its `cache` is require's one cache of modules.
  const requireThere = createRequire(file);
  const loaded = requireThere.cache[file];
  if (loaded) return { exports: loaded.exports, cache: 'used', saveCache: () => undefined };
  const source = readFileSync(file, 'utf8');
  const cacheFile = join(cacheDir, `${cacheName}-${nodeCrypto().createHash('sha256').update(source).digest('hex').slice(0, 16)}-v8-${process.versions.v8}.cache`);
  const cachedData = readPrivateCache(cacheDir, cacheFile);
  const script = new Script(NodeModule.wrap(source), { filename: file, ...(typeof cachedData !== 'string' && { cachedData }) });
  const cache: CodeCacheState = typeof cachedData === 'string' ? cachedData : script.cachedDataRejected === true ? 'rejected' : 'used';

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
      if (cache !== 'used') writeCache(script, cacheDir, cacheName, cacheFile);
    },
  };
}

/** Owned by this user and writable by no one else (where the platform has user ids: not Windows, whose profile directories are the user's by their ACLs). */
function isPrivate(stats: Stats): boolean {
  return typeof process.getuid !== 'function' || (stats.uid === process.getuid() && (stats.mode & NO_FOREIGN_WRITE) === 0);
}

/** The cache file's bytes if the directory and the file are private (the file opened without following a link, and checked as opened). */
function readPrivateCache(cacheDir: string, cacheFile: string): Buffer | 'absent' | 'not-private' {
  let descriptor: number | undefined;
  try {
    const directory = lstatSync(cacheDir);
    if (!directory.isDirectory() || !isPrivate(directory)) return 'not-private';
    // Windows has no O_NOFOLLOW (undefined there, which `|` reads as 0).
    descriptor = openSync(cacheFile, constants.O_RDONLY | constants.O_NOFOLLOW);
    const stats = fstatSync(descriptor);
    if (!stats.isFile() || !isPrivate(stats)) return 'not-private';
    return readFileSync(descriptor);
  } catch {
    return 'absent';
  } finally {
    if (descriptor !== undefined) closeSync(descriptor);
  }
}

/** The cache files of `cacheName`, of any build (and their partial writes): its name, then the build's hash. */
function cacheFilesOf(cacheName: string): RegExp {
  return new RegExp(`^${cacheName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-[0-9a-f]{16}-v8-`);
}

/** Written whole (a temporary file renamed over), replacing the caches of `cacheName`'s other builds. */
function writeCache(script: Script, cacheDir: string, cacheName: string, cacheFile: string): void {
  try {
    mkdirSync(cacheDir, { recursive: true, mode: CACHE_DIR_MODE });
    const directory = lstatSync(cacheDir);
    if (!directory.isDirectory()) return;
    // This user's directory made before it was kept private (an earlier build, a umask of 002):
    // made private again. A file someone else put there meanwhile is theirs, and never read.
    if (!isPrivate(directory) && directory.uid === process.getuid?.()) chmodSync(cacheDir, CACHE_DIR_MODE);
    else if (!isPrivate(directory)) return;
    const ofThisName = cacheFilesOf(cacheName);
    for (const stale of readdirSync(cacheDir)) {
      if (ofThisName.test(stale) && join(cacheDir, stale) !== cacheFile) rmSync(join(cacheDir, stale), { force: true });
    }
    const partial = `${cacheFile}.${process.pid}.partial`;
    writeFileSync(partial, script.createCachedData(), { mode: CACHE_FILE_MODE, flag: 'wx' });
    renameSync(partial, cacheFile);
  } catch {
    // Only a speed-up: the next start compiles again.
  }
}

/**
 * This OS user's directory for the code caches of `app`: in $XDG_CACHE_HOME when it is set to an
 * absolute path (the XDG rule), else in the platform's cache directory: ~/Library/Caches on macOS,
 * %LOCALAPPDATA% on Windows, ~/.cache elsewhere.
 */
export function userCodeCacheDir(app: string, env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, home: string = homedir()): string {
  const xdg = env['XDG_CACHE_HOME'];
  const localAppData = env['LOCALAPPDATA'];
  const base =
    xdg !== undefined && isAbsolute(xdg)
      ? xdg
      : platform === 'darwin'
        ? join(home, 'Library', 'Caches')
        : platform === 'win32'
          ? localAppData !== undefined && isAbsolute(localAppData)
            ? localAppData
            : join(home, 'AppData', 'Local')
          : join(home, '.cache');
  return join(base, app, 'code-cache');
}
