// How the shell (extension.ts) gets the window's module: here, run from the sources (the tests),
// an import of window.ts. The shipped extension has windowBundle.ts in this module's place
// (esbuild.mjs): the same module from its own bundle, through V8's code cache.

import type * as WindowModule from './window.js';

export interface LoadedWindowModule {
  module: typeof WindowModule;
  /** Keeps what V8 compiled for the next start; called once the window opened. */
  saveCodeCache: () => void;
}

export async function loadWindowModule(_codeCacheDir: string): Promise<LoadedWindowModule> {
  return { module: await import('./window.js'), saveCodeCache: () => undefined };
}
