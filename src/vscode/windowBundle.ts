// In the shipped extension, in place of windowModule.ts (esbuild.mjs): the window's module from
// dist/extension-window.cjs, beside the shell's bundle, loaded with V8's code cache kept in
// `codeCacheDir` (node/codeCache.ts), so a window compiles the bundle only at the first start of
// each build.

import { join } from 'node:path';
import type { LoadedWindowModule } from './windowModule.js';

/** The window's bundle, beside the shell's (esbuild.mjs). */
const WINDOW_BUNDLE = 'extension-window.cjs';

export async function loadWindowModule(codeCacheDir: string): Promise<LoadedWindowModule> {
  // Imported here, not above: the loader's node:vm, node:module and node:fs would otherwise be
  // loaded with the shell, while VS Code waits for activate().
  const { requireWithCodeCache } = await import('../node/codeCache.js');
  const loaded = requireWithCodeCache(join(__dirname, WINDOW_BUNDLE), codeCacheDir);
  return { module: loaded.exports as LoadedWindowModule['module'], saveCodeCache: loaded.saveCache };
}
