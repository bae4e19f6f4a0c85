// The built extension: the size of dist/extension.cjs and of the window's bundle it opens after
// activation, dist/extension-window.cjs (as built by `npm run build`, which `npm run bench`
// runs first), their load times and the activation and opening time in fresh processes against
// a stub of the `vscode` module (see activationProcess.ts for what that does and does not
// include). The window's bundle loads through V8's code cache as in the shipped extension: each
// run times a first start of the build (no cache yet; it writes one) and a later start (the
// cache a start before wrote). Reports `built: false` when there is no bundle to measure.

import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { ActivationRun } from './activationProcess.js';
import { runJsonChild } from './processes.js';
import { type Summary, summarize } from './stats.js';

export type ExtensionBench =
  | { built: false; bundlePath: string }
  | {
      built: true;
      bundlePath: string;
      bundleBytes: number;
      bundleGzipBytes: number;
      windowBundleBytes: number;
      moduleLoad: Summary;
      activate?: Summary;
      /** After activation: the load of dist/extension-window.cjs at a build's first start (compiled), then its openWindow(). */
      windowLoad?: Summary;
      /** The same load at a later start, from the code cache. */
      windowLoadCached?: Summary;
      windowOpen?: Summary;
      /** Writing the code cache at a build's first start, after the window opened. */
      codeCacheSave?: Summary;
      activateError?: string;
    };

export async function benchExtension(runs = 7): Promise<ExtensionBench> {
  const bundlePath = fileURLToPath(new URL('../dist/extension.cjs', import.meta.url));
  if (!existsSync(bundlePath)) return { built: false, bundlePath };
  const bundleBytes = statSync(bundlePath).size;
  const bundleGzipBytes = gzipSync(readFileSync(bundlePath), { level: 9 }).length;
  const loads: number[] = [];
  const activations: number[] = [];
  const windowLoads: number[] = [];
  const cachedWindowLoads: number[] = [];
  const windowOpens: number[] = [];
  const cacheSaves: number[] = [];
  let activateError: string | undefined;
  const warmCache = mkdtempSync(join(tmpdir(), 'agent-pair-bench-code-cache-'));
  try {
    // A first start writes the cache every later start of the run reads.
    await runJsonChild<ActivationRun>('activationProcess', [bundlePath, warmCache]);
    for (let i = 0; i < runs; i++) {
      const coldCache = mkdtempSync(join(tmpdir(), 'agent-pair-bench-code-cache-'));
      try {
        const first = await runJsonChild<ActivationRun>('activationProcess', [bundlePath, coldCache]);
        const later = await runJsonChild<ActivationRun>('activationProcess', [bundlePath, warmCache]);
        for (const run of [first, later]) {
          loads.push(run.moduleLoadMs);
          if (run.activateMs !== undefined) activations.push(run.activateMs);
          if (run.windowOpenMs !== undefined) windowOpens.push(run.windowOpenMs);
          activateError ??= run.activateError;
        }
        if (first.windowLoadMs !== undefined) windowLoads.push(first.windowLoadMs);
        if (first.codeCacheSaveMs !== undefined) cacheSaves.push(first.codeCacheSaveMs);
        if (later.windowLoadMs !== undefined && later.windowCodeCache === 'used') cachedWindowLoads.push(later.windowLoadMs);
        else if (later.windowCodeCache !== undefined) activateError ??= `a later start did not use the code cache (${later.windowCodeCache})`;
      } finally {
        rmSync(coldCache, { recursive: true, force: true });
      }
    }
  } finally {
    rmSync(warmCache, { recursive: true, force: true });
  }
  return {
    built: true,
    bundlePath,
    bundleBytes,
    bundleGzipBytes,
    windowBundleBytes: statSync(fileURLToPath(new URL('../dist/extension-window.cjs', import.meta.url))).size,
    moduleLoad: summarize(loads),
    ...(activations.length > 0 && { activate: summarize(activations) }),
    ...(windowLoads.length > 0 && { windowLoad: summarize(windowLoads) }),
    ...(cachedWindowLoads.length > 0 && { windowLoadCached: summarize(cachedWindowLoads) }),
    ...(windowOpens.length > 0 && { windowOpen: summarize(windowOpens) }),
    ...(cacheSaves.length > 0 && { codeCacheSave: summarize(cacheSaves) }),
    ...(activateError !== undefined && { activateError }),
  };
}
