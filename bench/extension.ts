// The built extension: the size of dist/extension.cjs and of the window's bundle it opens after
// activation, dist/extension-window.cjs (as built by `npm run build`, which `npm run bench`
// runs first), their load times and the activation and opening time in fresh processes against
// a stub of the `vscode` module (see activationProcess.ts for what that does and does not
// include). Reports `built: false` when there is no bundle to measure.

import { existsSync, readFileSync, statSync } from 'node:fs';
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
      /** After activation: require of dist/extension-window.cjs, then its openWindow(). */
      windowLoad?: Summary;
      windowOpen?: Summary;
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
  const windowOpens: number[] = [];
  let activateError: string | undefined;
  for (let i = 0; i < runs; i++) {
    const run = await runJsonChild<ActivationRun>('activationProcess', [bundlePath]);
    loads.push(run.moduleLoadMs);
    if (run.activateMs !== undefined) activations.push(run.activateMs);
    if (run.windowLoadMs !== undefined) windowLoads.push(run.windowLoadMs);
    if (run.windowOpenMs !== undefined) windowOpens.push(run.windowOpenMs);
    activateError ??= run.activateError;
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
    ...(windowOpens.length > 0 && { windowOpen: summarize(windowOpens) }),
    ...(activateError !== undefined && { activateError }),
  };
}
